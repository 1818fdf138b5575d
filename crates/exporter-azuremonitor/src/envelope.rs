//! Application Insights envelope contract types (the Track API `TelemetryItem` and its
//! `baseData` payloads).
//!
//! Field order follows the JSON Microsoft's `azure-monitor-opentelemetry-exporter` sends, and
//! string maps keep insertion order, so our output reads like theirs. Optional fields are left
//! out rather than sent as `null`.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// Envelope name of a request (`RequestData`).
pub const REQUEST_NAME: &str = "Microsoft.ApplicationInsights.Request";
/// Envelope name of a dependency (`RemoteDependencyData`).
pub const REMOTE_DEPENDENCY_NAME: &str = "Microsoft.ApplicationInsights.RemoteDependency";
/// Envelope name of an exception (`ExceptionData`).
pub const EXCEPTION_NAME: &str = "Microsoft.ApplicationInsights.Exception";
/// Envelope name of a trace message (`MessageData`).
pub const MESSAGE_NAME: &str = "Microsoft.ApplicationInsights.Message";
/// Envelope name of a metric (`MetricData`).
pub const METRIC_NAME: &str = "Microsoft.ApplicationInsights.Metric";
/// Envelope name of a custom event (`EventData`).
pub const EVENT_NAME: &str = "Microsoft.ApplicationInsights.Event";

/// Schema version written as `ver` in every `baseData`.
pub const DOMAIN_VERSION: u32 = 2;

/// A string-to-string map that serialises in insertion order (tags, properties).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrMap(pub Vec<(String, String)>);

impl StrMap {
    /// An empty map.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Sets `key` to `value`, replacing an earlier value of the same key in place.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Sets `key` only if it is not set yet.
    pub fn insert_if_absent(&mut self, key: &str, value: impl Into<String>) {
        if !self.contains(key) {
            self.0.push((key.to_owned(), value.into()));
        }
    }

    /// Whether `key` is set.
    pub fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for StrMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A string-to-number map that serialises in insertion order (`measurements`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NumMap(pub Vec<(String, f64)>);

impl Serialize for NumMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One telemetry item (`TelemetryItem` in the Track API).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope<'a> {
    /// `Microsoft.ApplicationInsights.<Type>`.
    pub name: &'static str,
    /// Instrumentation key (the exporter's, borrowed for every envelope).
    #[serde(rename = "iKey")]
    pub ikey: &'a str,
    /// Context tags (`ai.operation.id`, `ai.cloud.role`, ...).
    pub tags: StrMap,
    /// Event time, RFC 3339 with microseconds and `Z`.
    pub time: String,
    /// Sampling percentage (100 = not sampled); left out when the item carries none.
    #[serde(rename = "sampleRate", skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<f64>,
    /// Typed payload.
    pub data: MonitorBase,
}

/// The `data` object: payload and its type name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonitorBase {
    /// The payload.
    #[serde(rename = "baseData")]
    pub base_data: BaseData,
    /// `RequestData`, `RemoteDependencyData`, ...
    #[serde(rename = "baseType")]
    pub base_type: &'static str,
}

/// The typed payloads.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BaseData {
    /// `RequestData`.
    Request(RequestData),
    /// `RemoteDependencyData`.
    RemoteDependency(RemoteDependencyData),
    /// `ExceptionData`.
    Exception(ExceptionData),
    /// `MessageData`.
    Message(MessageData),
    /// `MetricData`.
    Metric(MetricsData),
    /// `EventData`.
    Event(EventData),
}

impl BaseData {
    /// The `baseType` string and envelope name of this payload.
    pub fn kind(&self) -> (&'static str, &'static str) {
        match self {
            BaseData::Request(_) => ("RequestData", REQUEST_NAME),
            BaseData::RemoteDependency(_) => ("RemoteDependencyData", REMOTE_DEPENDENCY_NAME),
            BaseData::Exception(_) => ("ExceptionData", EXCEPTION_NAME),
            BaseData::Message(_) => ("MessageData", MESSAGE_NAME),
            BaseData::Metric(_) => ("MetricData", METRIC_NAME),
            BaseData::Event(_) => ("EventData", EVENT_NAME),
        }
    }
}

/// An incoming request (SERVER / CONSUMER span).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestData {
    /// Schema version, 2.
    pub ver: u32,
    /// Request name (≤ 1024 chars).
    pub name: String,
    /// Span id, 16 hex digits.
    pub id: String,
    /// Duration, `D.HH:MM:SS.ffffff`.
    pub duration: String,
    /// Response code (HTTP status, `"0"` otherwise; ≤ 1024 chars).
    pub response_code: String,
    /// Whether the request succeeded.
    pub success: bool,
    /// Custom dimensions.
    pub properties: StrMap,
    /// Custom measurements.
    pub measurements: NumMap,
    /// Request URL (≤ 2048 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Source of the request (messaging: `peer/destination`; ≤ 1024 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// An outgoing call or in-process operation (CLIENT / PRODUCER / INTERNAL span).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteDependencyData {
    /// Schema version, 2.
    pub ver: u32,
    /// Dependency name (≤ 1024 chars).
    pub name: String,
    /// Span id, 16 hex digits.
    pub id: String,
    /// Result code (HTTP status, `"0"` otherwise; ≤ 1024 chars).
    pub result_code: String,
    /// Duration, `D.HH:MM:SS.ffffff`.
    pub duration: String,
    /// Whether the call succeeded.
    pub success: bool,
    /// Custom dimensions.
    pub properties: StrMap,
    /// Custom measurements.
    pub measurements: NumMap,
    /// Dependency type (`HTTP`, `postgresql`, `InProc`, ...; ≤ 1024 chars).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Command: URL, statement, ... (≤ 8192 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Target host / system (≤ 1024 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// An exception (span `exception` event or a log record with `exception.*`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionData {
    /// Schema version, 2.
    pub ver: u32,
    /// Severity, 0 Verbose .. 4 Critical (logs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity_level: Option<u8>,
    /// Custom dimensions.
    pub properties: StrMap,
    /// Custom measurements.
    pub measurements: NumMap,
    /// The exception chain (one entry).
    pub exceptions: Vec<ExceptionDetails>,
}

/// One exception of an [`ExceptionData`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionDetails {
    /// Exception type (≤ 1024 chars).
    pub type_name: String,
    /// Message (≤ 32768 chars).
    pub message: String,
    /// Whether `stack` is present.
    pub has_full_stack: bool,
    /// Stack trace text (≤ 32768 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
}

/// A trace message (log record, or span event when enabled).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageData {
    /// Schema version, 2.
    pub ver: u32,
    /// Message text (≤ 32768 chars).
    pub message: String,
    /// Severity, 0 Verbose .. 4 Critical (logs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity_level: Option<u8>,
    /// Custom dimensions.
    pub properties: StrMap,
    /// Custom measurements.
    pub measurements: NumMap,
}

/// A custom event (log record with `microsoft.custom_event.name`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventData {
    /// Schema version, 2.
    pub ver: u32,
    /// Event name (≤ 512 chars).
    pub name: String,
    /// Custom dimensions.
    pub properties: StrMap,
    /// Custom measurements.
    pub measurements: NumMap,
}

/// Metric data: one data point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsData {
    /// Schema version, 2.
    pub ver: u32,
    /// Custom dimensions (the data point's attributes).
    pub properties: StrMap,
    /// The data point (one entry).
    pub metrics: Vec<MetricDataPoint>,
}

/// A number: integers stay integers on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Number {
    /// An integer value.
    Int(i64),
    /// A floating-point value (finite).
    Float(f64),
}

/// One metric value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricDataPoint {
    /// Metric name (≤ 1024 chars).
    pub name: String,
    /// Value (sum for histograms).
    pub value: Number,
    /// Number of measurements aggregated (1 for sums and gauges).
    pub count: u64,
    /// Minimum (histograms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Maximum (histograms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// Writing an envelope as JSON straight into a `String`: byte for byte what
/// `serde_json` writes for the derived `Serialize` (the `writes_what_serde_json_writes`
/// test holds them together), with each string escaped in one pass and no
/// serializer state in between.
mod write {
    use super::*;
    use stratus_core::jsonw::{self, Array, Escapes};

    type Object<'o> = jsonw::Object<'o>;

    fn object(out: &mut String) -> Object<'_> {
        Object::new(out, &Escapes::JSON)
    }

    fn str_map(out: &mut String, map: &StrMap) {
        let mut o = object(out);
        for (k, v) in &map.0 {
            // Keys come from attributes: escaped.
            jsonw::string(o.escaped_key(k), v, &Escapes::JSON);
        }
        o.end();
    }

    fn num_map(out: &mut String, map: &NumMap) {
        let mut o = object(out);
        for (k, v) in &map.0 {
            jsonw::float(o.escaped_key(k), *v);
        }
        o.end();
    }

    /// `properties` and `measurements`, every payload's pair.
    fn custom(o: &mut Object<'_>, properties: &StrMap, measurements: &NumMap) {
        str_map(o.key("properties"), properties);
        num_map(o.key("measurements"), measurements);
    }

    fn base_data(out: &mut String, data: &BaseData) {
        let mut o = object(out);
        match data {
            BaseData::Request(r) => {
                o.int("ver", r.ver);
                o.str("name", &r.name);
                o.str("id", &r.id);
                o.str("duration", &r.duration);
                o.str("responseCode", &r.response_code);
                o.bool("success", r.success);
                custom(&mut o, &r.properties, &r.measurements);
                o.opt_str("url", r.url.as_deref());
                o.opt_str("source", r.source.as_deref());
            }
            BaseData::RemoteDependency(d) => {
                o.int("ver", d.ver);
                o.str("name", &d.name);
                o.str("id", &d.id);
                o.str("resultCode", &d.result_code);
                o.str("duration", &d.duration);
                o.bool("success", d.success);
                custom(&mut o, &d.properties, &d.measurements);
                o.opt_str("type", d.kind.as_deref());
                o.opt_str("data", d.data.as_deref());
                o.opt_str("target", d.target.as_deref());
            }
            BaseData::Exception(e) => {
                o.int("ver", e.ver);
                if let Some(level) = e.severity_level {
                    o.int("severityLevel", level);
                }
                custom(&mut o, &e.properties, &e.measurements);
                let mut a = Array::new(o.key("exceptions"));
                for x in &e.exceptions {
                    let mut d = object(a.item());
                    d.str("typeName", &x.type_name);
                    d.str("message", &x.message);
                    d.bool("hasFullStack", x.has_full_stack);
                    d.opt_str("stack", x.stack.as_deref());
                    d.end();
                }
                a.end();
            }
            BaseData::Message(m) => {
                o.int("ver", m.ver);
                o.str("message", &m.message);
                if let Some(level) = m.severity_level {
                    o.int("severityLevel", level);
                }
                custom(&mut o, &m.properties, &m.measurements);
            }
            BaseData::Metric(m) => {
                o.int("ver", m.ver);
                str_map(o.key("properties"), &m.properties);
                let mut a = Array::new(o.key("metrics"));
                for p in &m.metrics {
                    let mut d = object(a.item());
                    d.str("name", &p.name);
                    match p.value {
                        Number::Int(v) => jsonw::integer(d.key("value"), v),
                        Number::Float(v) => jsonw::float(d.key("value"), v),
                    }
                    d.int("count", p.count);
                    d.opt_float("min", p.min);
                    d.opt_float("max", p.max);
                    d.end();
                }
                a.end();
            }
            BaseData::Event(e) => {
                o.int("ver", e.ver);
                o.str("name", &e.name);
                custom(&mut o, &e.properties, &e.measurements);
            }
        }
        o.end();
    }

    impl Envelope<'_> {
        /// Appends the envelope as JSON.
        pub fn write_json(&self, out: &mut String) {
            let mut o = object(out);
            o.str("name", self.name);
            o.str("iKey", self.ikey);
            str_map(o.key("tags"), &self.tags);
            o.str("time", &self.time);
            o.opt_float("sampleRate", self.sample_rate);
            let mut data = object(o.key("data"));
            base_data(data.key("baseData"), &self.data.base_data);
            data.str("baseType", self.data.base_type);
            data.end();
            o.end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> StrMap {
        StrMap(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let props = map(&[("a\"b", "line\nbreak \u{1} <&> é"), ("", "")]);
        let meas = NumMap(vec![
            ("x".into(), 1.0),
            ("y\\".into(), 1.5e-7),
            ("nan".into(), f64::NAN),
        ]);
        let payloads = vec![
            BaseData::Request(RequestData {
                ver: 2,
                name: "GET /a".into(),
                id: "0102030405060708".into(),
                duration: "0.00:00:00.005000".into(),
                response_code: "200".into(),
                success: true,
                properties: props.clone(),
                measurements: meas.clone(),
                url: Some("http://x/a?b=\"c\"".into()),
                source: None,
            }),
            BaseData::RemoteDependency(RemoteDependencyData {
                ver: 2,
                name: "SELECT".into(),
                id: "0102030405060708".into(),
                result_code: "0".into(),
                duration: "1.02:03:04.000005".into(),
                success: false,
                properties: StrMap::new(),
                measurements: NumMap::default(),
                kind: Some("postgresql".into()),
                data: None,
                target: Some("db:5432".into()),
            }),
            BaseData::Exception(ExceptionData {
                ver: 2,
                severity_level: Some(3),
                properties: props.clone(),
                measurements: NumMap::default(),
                exceptions: vec![
                    ExceptionDetails {
                        type_name: "E".into(),
                        message: "boom\t!".into(),
                        has_full_stack: true,
                        stack: Some("at a\nat b".into()),
                    },
                    ExceptionDetails {
                        type_name: "F".into(),
                        message: String::new(),
                        has_full_stack: false,
                        stack: None,
                    },
                ],
            }),
            BaseData::Message(MessageData {
                ver: 2,
                message: "hello".into(),
                severity_level: None,
                properties: StrMap::new(),
                measurements: meas,
            }),
            BaseData::Metric(MetricsData {
                ver: 2,
                properties: props,
                metrics: vec![
                    MetricDataPoint {
                        name: "m".into(),
                        value: Number::Int(-3),
                        count: 1,
                        min: None,
                        max: None,
                    },
                    MetricDataPoint {
                        name: "h".into(),
                        value: Number::Float(2.5),
                        count: 7,
                        min: Some(0.0),
                        max: Some(f64::INFINITY),
                    },
                ],
            }),
            BaseData::Event(EventData {
                ver: 2,
                name: "checkout".into(),
                properties: StrMap::new(),
                measurements: NumMap::default(),
            }),
        ];
        for (i, data) in payloads.into_iter().enumerate() {
            let (base_type, name) = data.kind();
            let envelope = Envelope {
                name,
                ikey: "00000000-0000-0000-0000-000000000000",
                tags: map(&[("ai.operation.id", "abc"), ("ai.cloud.role", "r\u{2028}")]),
                time: "2024-05-01T10:00:00.001000Z".into(),
                sample_rate: (i % 2 == 0).then_some(33.3),
                data: MonitorBase {
                    base_data: data,
                    base_type,
                },
            };
            let mut out = String::new();
            envelope.write_json(&mut out);
            assert_eq!(
                out,
                serde_json::to_string(&envelope).unwrap(),
                "{base_type}"
            );
        }
    }
}
