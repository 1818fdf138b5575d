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
