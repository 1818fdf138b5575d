//! Application Insights envelope contract types (the Track API `TelemetryItem`).
//!
//! Field order follows the JSON Microsoft's exporter sends, so serialised envelopes compare
//! byte for byte in the common case.

use serde::Serialize;
use std::collections::BTreeMap;

/// One telemetry item (`TelemetryItem` in the Track API).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// `Microsoft.ApplicationInsights.<Type>`.
    pub name: String,
    /// Event time, RFC 3339 with microseconds and `Z`.
    pub time: String,
    /// Instrumentation key.
    #[serde(rename = "iKey")]
    pub ikey: String,
    /// Context tags (`ai.operation.id`, `ai.cloud.role`, ...).
    pub tags: BTreeMap<String, String>,
    /// Typed payload.
    pub data: MonitorBase,
}

/// The `data` object: type name and payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MonitorBase {
    /// `RequestData`, `RemoteDependencyData`, ...
    pub base_type: String,
    /// The payload.
    pub base_data: serde_json::Value,
}
