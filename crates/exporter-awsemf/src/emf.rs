//! The EMF log event as typed structs, written as JSON the way upstream's
//! `translateCWMetricToEMF` marshals its `map[string]any` (keys sorted, numbers
//! and strings encoded as Go's `encoding/json` does). The document is written
//! straight into its message string, each string escaped in one pass
//! ([`gojson::push_str`]), instead of through serde and a formatter.
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

use stratus_aws_common::gojson::{self, GoValue, push_finite, sort_keep_last};
use stratus_core::jsonw;

use crate::config::DimensionRollupOption;
use crate::labels::LabelSet;
use crate::util::OTEL_LIB_DIMENSION_KEY;
#[cfg(doc)]
use crate::util::dimension_rollup;

/// A value that cannot be written (NaN or ±Inf), with Go's error text.
pub(crate) type WriteError = serde_json::Error;

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

impl MetricValue {
    fn write(&self, out: &mut String) -> Result<(), WriteError> {
        match self {
            MetricValue::Number(v) => push_finite(out, *v),
            MetricValue::Count(v) => {
                jsonw::integer(out, *v);
                Ok(())
            }
            MetricValue::Stats(v) => v.write(out),
            MetricValue::Histogram(v) => v.write(out),
        }
    }
}

/// A CloudWatch statistic set (upstream `cWMetricStats`; field order as upstream).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StatisticSet {
    /// Largest value.
    pub max: f64,
    /// Smallest value.
    pub min: f64,
    /// Number of values.
    pub count: u64,
    /// Sum of the values.
    pub sum: f64,
}

/// CloudWatch values and counts (upstream `cWMetricHistogram`; field order as
/// upstream). CloudWatch takes the sample count from `Counts`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValuesAndCounts {
    /// Bucket midpoints.
    pub values: Vec<f64>,
    /// How many values fell in each bucket.
    pub counts: Vec<f64>,
    /// Largest value (or bucket bound).
    pub max: f64,
    /// Smallest value (or bucket bound).
    pub min: f64,
    /// Number of values.
    pub count: u64,
    /// Sum of the values.
    pub sum: f64,
}

/// One `CloudWatchMetrics` directive (upstream `cWMeasurement`), borrowing its
/// names from the group and the config.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Measurement<'a> {
    /// CloudWatch namespace.
    pub(crate) namespace: &'a str,
    /// Dimension sets, each a sorted list of label names.
    pub(crate) dimensions: Dimensions<'a>,
    /// The metrics extracted with these dimensions.
    pub(crate) metrics: Vec<MetricDirective<'a>>,
}

/// A directive's dimension sets.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Dimensions<'a> {
    /// Sets listed one by one (from metric declarations).
    Sets(Vec<Vec<&'a str>>),
    /// Without declarations: every label name as one set (when `all`), then the
    /// rollups of `option` over those names, as [`dimension_rollup`] lists them.
    /// Written straight from the labels, without building the sets.
    Rollup {
        labels: &'a LabelSet,
        all: bool,
        option: DimensionRollupOption,
    },
}

impl Dimensions<'_> {
    fn write(&self, out: &mut String) {
        fn set<'n>(out: &mut String, names: impl Iterator<Item = &'n str>) {
            out.push('[');
            for (k, name) in names.enumerate() {
                if k > 0 {
                    out.push(',');
                }
                string(out, name);
            }
            out.push(']');
        }
        out.push('[');
        match self {
            Dimensions::Sets(sets) => {
                for (j, s) in sets.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    set(out, s.iter().copied());
                }
            }
            Dimensions::Rollup {
                labels,
                all,
                option,
            } => {
                let names = || labels.iter().map(|(k, _)| k);
                let has_otel = labels.get(OTEL_LIB_DIMENSION_KEY).is_some();
                let zero = has_otel.then_some(OTEL_LIB_DIMENSION_KEY);
                let mut others = names().filter(|n| *n != OTEL_LIB_DIMENSION_KEY).peekable();
                let mut first = true;
                let mut next = |out: &mut String| {
                    if !std::mem::take(&mut first) {
                        out.push(',');
                    }
                };
                if *all {
                    next(out);
                    set(out, names());
                }
                if *option == DimensionRollupOption::ZeroAndSingleDimensionRollup
                    && others.peek().is_some()
                {
                    next(out);
                    set(out, zero.into_iter());
                }
                if *option != DimensionRollupOption::NoDimensionRollup {
                    for name in others {
                        next(out);
                        // The set sorted: OTelLib and the name, in byte order.
                        match zero {
                            Some(z) if z < name => set(out, [z, name].into_iter()),
                            Some(z) => set(out, [name, z].into_iter()),
                            None => set(out, std::iter::once(name)),
                        }
                    }
                }
            }
        }
        out.push(']');
    }
}

/// One entry of `Metrics` (upstream `cWMetricInfo`, no `omitempty`: `Unit` is
/// written even when empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetricDirective<'a> {
    /// The field holding the value.
    pub(crate) name: &'a str,
    /// CloudWatch unit, or `""`.
    pub(crate) unit: &'a str,
    /// Seconds: 60 (standard) unless the label `aws.emf.storage_resolution` says 1.
    pub(crate) storage_resolution: i64,
}

/// The `_aws` object of EMF version 1 (a Go map: keys in this order).
#[derive(Debug)]
pub(crate) struct AwsMetadata<'a> {
    pub(crate) cloudwatch_metrics: &'a [Measurement<'a>],
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

impl FinishedDocument<'_> {
    /// Appends the document as JSON; on error `out` holds part of it.
    pub(crate) fn write(&self, out: &mut String) -> Result<(), WriteError> {
        out.push('{');
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            key(out, k);
            v.write(out)?;
        }
        out.push('}');
        Ok(())
    }
}

/// A string as Go's `json.Marshal` writes it.
fn string(out: &mut String, s: &str) {
    gojson::push_str(out, s, true);
}

/// An object key and its colon.
fn key(out: &mut String, k: &str) {
    string(out, k);
    out.push(':');
}

impl Field<'_> {
    fn write(&self, out: &mut String) -> Result<(), WriteError> {
        match self {
            Field::Str(v) => string(out, v),
            Field::String(v) => string(out, v),
            Field::Json(v) => {
                let json = gojson::to_string(&GoValue(v), true)?;
                out.push_str(&json);
            }
            Field::Metric(v) => v.write(out)?,
            Field::Aws(v) => v.write(out),
            Field::Measurements(v) => measurements(out, v),
        }
        Ok(())
    }
}

/// `"Max":..,"Min":..,"Count":..,"Sum":..}`, the statistics both value kinds end with.
fn statistics(
    out: &mut String,
    max: f64,
    min: f64,
    count: u64,
    sum: f64,
) -> Result<(), WriteError> {
    out.push_str("\"Max\":");
    push_finite(out, max)?;
    out.push_str(",\"Min\":");
    push_finite(out, min)?;
    out.push_str(",\"Count\":");
    jsonw::integer(out, count);
    out.push_str(",\"Sum\":");
    push_finite(out, sum)?;
    out.push('}');
    Ok(())
}

impl StatisticSet {
    fn write(&self, out: &mut String) -> Result<(), WriteError> {
        out.push('{');
        statistics(out, self.max, self.min, self.count, self.sum)
    }
}

impl ValuesAndCounts {
    fn write(&self, out: &mut String) -> Result<(), WriteError> {
        fn list(out: &mut String, values: &[f64]) -> Result<(), WriteError> {
            out.push('[');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_finite(out, *v)?;
            }
            out.push(']');
            Ok(())
        }
        out.push_str("{\"Values\":");
        list(out, &self.values)?;
        out.push_str(",\"Counts\":");
        list(out, &self.counts)?;
        out.push(',');
        statistics(out, self.max, self.min, self.count, self.sum)
    }
}

impl AwsMetadata<'_> {
    fn write(&self, out: &mut String) {
        out.push_str("{\"CloudWatchMetrics\":");
        measurements(out, self.cloudwatch_metrics);
        out.push_str(",\"Timestamp\":");
        jsonw::integer(out, self.timestamp);
        out.push('}');
    }
}

/// A list of `CloudWatchMetrics` directives.
fn measurements(out: &mut String, list: &[Measurement<'_>]) {
    out.push('[');
    for (i, m) in list.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"Namespace\":");
        string(out, m.namespace);
        out.push_str(",\"Dimensions\":");
        m.dimensions.write(out);
        out.push_str(",\"Metrics\":[");
        for (j, d) in m.metrics.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push_str("{\"Name\":");
            string(out, d.name);
            out.push_str(",\"Unit\":");
            string(out, d.unit);
            out.push_str(",\"StorageResolution\":");
            jsonw::integer(out, d.storage_resolution);
            out.push('}');
        }
        out.push_str("]}");
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::dimension_rollup;

    fn written(d: &Dimensions<'_>) -> String {
        let mut out = String::new();
        d.write(&mut out);
        out
    }

    #[test]
    fn rollups_are_written_as_dimension_rollup_lists_them() {
        let label_sets: &[&[&str]] = &[
            &[],
            &["OTelLib"],
            &["a"],
            &["OTelLib", "a"],
            &["A", "OTelLib"],
            &["A", "OTelLib", "Zeta", "b", "service.name"],
            &["OTelLia", "OTelLib", "OTelLibs", "x<y"],
            &["instance", "operation", "service.name"],
        ];
        for names in label_sets {
            let labels = LabelSet::from_pairs(names.iter().map(|n| (*n, "v")));
            let sorted: Vec<&str> = labels.iter().map(|(k, _)| k).collect();
            for option in [
                DimensionRollupOption::ZeroAndSingleDimensionRollup,
                DimensionRollupOption::SingleDimensionRollupOnly,
                DimensionRollupOption::NoDimensionRollup,
            ] {
                for all in [true, false] {
                    let mut sets = Vec::new();
                    if all {
                        sets.push(sorted.clone());
                    }
                    sets.extend(dimension_rollup(option, &sorted));
                    let want = written(&Dimensions::Sets(sets));
                    let got = written(&Dimensions::Rollup {
                        labels: &labels,
                        all,
                        option,
                    });
                    assert_eq!(got, want, "{names:?} {option:?} all={all}");
                }
            }
        }
        assert_eq!(
            written(&Dimensions::Rollup {
                labels: &LabelSet::from_pairs([("OTelLib", "x"), ("a", "1")]),
                all: true,
                option: DimensionRollupOption::ZeroAndSingleDimensionRollup,
            }),
            r#"[["OTelLib","a"],["OTelLib"],["OTelLib","a"]]"#
        );
    }
}
