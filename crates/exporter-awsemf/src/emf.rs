//! The EMF log event as typed structs, serialised with serde the way upstream's
//! `translateCWMetricToEMF` marshals its `map[string]any` (keys sorted, numbers
//! and strings encoded as Go's `encoding/json` does).
//!
//! ```json
//! {"OTelLib":"io.opentelemetry.http","Version":"1",
//!  "_aws":{"CloudWatchMetrics":[{"Namespace":"OTLP/Metrics",
//!          "Dimensions":[["operation","service.name"]],
//!          "Metrics":[{"Name":"http.server.duration","Unit":"Milliseconds","StorageResolution":60}]}],
//!          "Timestamp":1668387032641},
//!  "http.server.duration":{"Max":9,"Min":1,"Count":3,"Sum":15},
//!  "operation":"GET","service.name":"checkout"}
//! ```

use serde::Serialize;
use serde::ser::SerializeMap;

use stratus_aws_common::gojson::{GoValue, finite, finite_seq, sort_keep_last};

/// A metric's value in an event: the field named after the metric.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    /// A gauge or sum value (a float64 upstream).
    Number(f64),
    /// A count (the `_count` point of a detailed summary, a uint64 upstream).
    Count(u64),
    /// A statistic set (histograms, summaries).
    Stats(StatisticSet),
    /// Values and counts (exponential histograms).
    Histogram(ValuesAndCounts),
}

impl Serialize for MetricValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MetricValue::Number(v) => finite(v, s),
            MetricValue::Count(v) => s.serialize_u64(*v),
            MetricValue::Stats(v) => v.serialize(s),
            MetricValue::Histogram(v) => v.serialize(s),
        }
    }
}

/// A CloudWatch statistic set (upstream `cWMetricStats`; field order as upstream).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct StatisticSet {
    /// Largest value.
    #[serde(rename = "Max", serialize_with = "finite")]
    pub max: f64,
    /// Smallest value.
    #[serde(rename = "Min", serialize_with = "finite")]
    pub min: f64,
    /// Number of values.
    #[serde(rename = "Count")]
    pub count: u64,
    /// Sum of the values.
    #[serde(rename = "Sum", serialize_with = "finite")]
    pub sum: f64,
}

/// CloudWatch values and counts (upstream `cWMetricHistogram`; field order as
/// upstream). CloudWatch takes the sample count from `Counts`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ValuesAndCounts {
    /// Bucket midpoints.
    #[serde(rename = "Values", serialize_with = "finite_seq")]
    pub values: Vec<f64>,
    /// How many values fell in each bucket.
    #[serde(rename = "Counts", serialize_with = "finite_seq")]
    pub counts: Vec<f64>,
    /// Largest value (or bucket bound).
    #[serde(rename = "Max", serialize_with = "finite")]
    pub max: f64,
    /// Smallest value (or bucket bound).
    #[serde(rename = "Min", serialize_with = "finite")]
    pub min: f64,
    /// Number of values.
    #[serde(rename = "Count")]
    pub count: u64,
    /// Sum of the values.
    #[serde(rename = "Sum", serialize_with = "finite")]
    pub sum: f64,
}

/// One `CloudWatchMetrics` directive (upstream `cWMeasurement`), borrowing its
/// names from the group and the config.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Measurement<'a> {
    /// CloudWatch namespace.
    #[serde(rename = "Namespace")]
    pub(crate) namespace: &'a str,
    /// Dimension sets, each a sorted list of label names.
    #[serde(rename = "Dimensions")]
    pub(crate) dimensions: Vec<Vec<&'a str>>,
    /// The metrics extracted with these dimensions.
    #[serde(rename = "Metrics")]
    pub(crate) metrics: Vec<MetricDirective<'a>>,
}

/// One entry of `Metrics` (upstream `cWMetricInfo`, no `omitempty`: `Unit` is
/// written even when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct MetricDirective<'a> {
    /// The field holding the value.
    #[serde(rename = "Name")]
    pub(crate) name: &'a str,
    /// CloudWatch unit, or `""`.
    #[serde(rename = "Unit")]
    pub(crate) unit: &'a str,
    /// Seconds: 60 (standard) unless the label `aws.emf.storage_resolution` says 1.
    #[serde(rename = "StorageResolution")]
    pub(crate) storage_resolution: i64,
}

/// The `_aws` object of EMF version 1 (a Go map: keys in this order).
#[derive(Debug, Serialize)]
pub(crate) struct AwsMetadata<'a> {
    #[serde(rename = "CloudWatchMetrics")]
    pub(crate) cloudwatch_metrics: &'a [Measurement<'a>],
    #[serde(rename = "Timestamp")]
    pub(crate) timestamp: i64,
}

/// A top-level field's value.
#[derive(Debug)]
pub(crate) enum Field<'a> {
    /// A label (or another string).
    Str(&'a str),
    /// An owned string (the version 0 `Timestamp`).
    String(String),
    /// A label value decoded from JSON (`parse_json_encoded_attr_values`).
    Json(serde_json::Value),
    /// A metric.
    Metric(&'a MetricValue),
    /// `_aws`.
    Aws(AwsMetadata<'a>),
    /// The version 0 top-level `CloudWatchMetrics`.
    Measurements(&'a [Measurement<'a>]),
}

impl Serialize for Field<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Str(v) => s.serialize_str(v),
            Field::String(v) => s.serialize_str(v),
            Field::Json(v) => GoValue(v).serialize(s),
            Field::Metric(v) => v.serialize(s),
            Field::Aws(v) => v.serialize(s),
            Field::Measurements(v) => v.serialize(s),
        }
    }
}

/// An EMF event's JSON object: fields assigned in order, later ones replacing
/// earlier ones of the same name, written sorted by name as Go writes a map.
#[derive(Debug, Default)]
pub(crate) struct EmfDocument<'a> {
    fields: Vec<(&'a str, Field<'a>)>,
}

impl<'a> EmfDocument<'a> {
    pub(crate) fn with_capacity(n: usize) -> Self {
        EmfDocument {
            fields: Vec::with_capacity(n),
        }
    }

    /// Sets a field.
    pub(crate) fn set(&mut self, name: &'a str, value: Field<'a>) {
        self.fields.push((name, value));
    }

    /// The current value of a string field.
    pub(crate) fn get_str(&self, name: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| match v {
                Field::Str(s) => Some(*s),
                _ => None,
            })
    }

    /// Sorts the fields and drops replaced ones; done before serialising.
    pub(crate) fn finish(mut self) -> FinishedDocument<'a> {
        sort_keep_last(&mut self.fields);
        FinishedDocument(self.fields)
    }
}

/// A document ready to serialise.
#[derive(Debug)]
pub(crate) struct FinishedDocument<'a>(Vec<(&'a str, Field<'a>)>);

impl Serialize for FinishedDocument<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}
