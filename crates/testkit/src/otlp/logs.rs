//! Log records and the logs builder.

use prost::Message;
use stratus_core::pdata::ExportLogsServiceRequest;
use stratus_core::pdata::logs::{LogRecord, ResourceLogs, ScopeLogs};
use stratus_core::{Metadata, Payload, Telemetry};

use super::{Groups, IntoAnyValue, ScopeBuilder, SeverityNumber, SpanId, TraceId, kv, resource_of};

/// A logs batch under construction: see [`logs`].
#[derive(Debug, Clone, Default)]
pub struct LogsBuilder {
    groups: Groups<LogRecord>,
}

/// Starts a logs batch. Records added before any [`LogsBuilder::resource`] or
/// [`LogsBuilder::scope`] go into a resource and scope of their own with none set.
pub fn logs() -> LogsBuilder {
    LogsBuilder::default()
}

impl LogsBuilder {
    /// Starts a new resource with these attributes; later records go under it.
    pub fn resource<K: Into<String>, V: IntoAnyValue>(
        mut self,
        attrs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.groups.resource(resource_of(attrs));
        self
    }

    /// Starts a new scope in the current resource; later records go under it.
    pub fn scope(mut self, scope: impl Into<ScopeBuilder>) -> Self {
        self.groups.scope(scope.into().build());
        self
    }

    /// Adds a record: a [`log`] builder, a body (`"line"`) or a [`LogRecord`].
    pub fn record(mut self, record: impl Into<LogBuilder>) -> Self {
        self.groups.push(record.into().0);
        self
    }

    /// Adds several records.
    pub fn records<R: Into<LogBuilder>>(self, records: impl IntoIterator<Item = R>) -> Self {
        records.into_iter().fold(self, LogsBuilder::record)
    }

    /// The OTLP resource logs.
    pub fn resource_logs(self) -> Vec<ResourceLogs> {
        self.groups
            .resources
            .into_iter()
            .map(|g| ResourceLogs {
                resource: g.resource,
                scope_logs: g
                    .scopes
                    .into_iter()
                    .map(|(scope, log_records)| ScopeLogs {
                        scope,
                        log_records,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect()
    }

    /// The payload.
    pub fn payload(self) -> Payload {
        Payload::Logs(self.resource_logs())
    }

    /// The batch, with no metadata.
    pub fn build(self) -> Telemetry {
        Telemetry::new(self.payload())
    }

    /// The batch with request metadata.
    pub fn build_with(self, metadata: Metadata) -> Telemetry {
        Telemetry::with_metadata(self.payload(), metadata)
    }

    /// The OTLP export request.
    pub fn request(self) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: self.resource_logs(),
        }
    }

    /// The export request in protobuf, as an OTLP/HTTP body.
    pub fn encode(self) -> Vec<u8> {
        self.request().encode_to_vec()
    }
}

impl From<LogsBuilder> for Telemetry {
    fn from(b: LogsBuilder) -> Self {
        b.build()
    }
}

impl From<LogsBuilder> for Payload {
    fn from(b: LogsBuilder) -> Self {
        b.payload()
    }
}

/// A log record under construction: see [`log`].
#[derive(Debug, Clone, PartialEq)]
pub struct LogBuilder(LogRecord);

/// A log record with this body (a string, or any [`IntoAnyValue`]) and otherwise
/// prost defaults.
pub fn log(body: impl IntoAnyValue) -> LogBuilder {
    LogBuilder(LogRecord {
        body: Some(body.into_any_value()),
        ..Default::default()
    })
}

/// The short severity text for a severity number (`WARN`, `ERROR2`), as SDKs write it.
fn severity_text(s: SeverityNumber) -> String {
    let n = s as i32;
    if n <= 0 {
        return String::new();
    }
    let names = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
    let (group, step) = (((n - 1) / 4) as usize, (n - 1) % 4);
    let name = names.get(group).copied().unwrap_or("FATAL");
    if step == 0 {
        name.to_string()
    } else {
        format!("{name}{}", step + 1)
    }
}

impl LogBuilder {
    /// Sets the severity number and its usual text (`Warn` → `WARN`).
    pub fn severity(mut self, s: SeverityNumber) -> Self {
        self.0.severity_number = s as i32;
        self.0.severity_text = severity_text(s);
        self
    }

    /// Sets the severity text alone.
    pub fn severity_text(mut self, text: impl Into<String>) -> Self {
        self.0.severity_text = text.into();
        self
    }

    /// Adds an attribute.
    pub fn attr(mut self, key: impl Into<String>, v: impl IntoAnyValue) -> Self {
        self.0.attributes.push(kv(key, v));
        self
    }

    /// Adds attributes of one value type.
    pub fn attrs<K: Into<String>, V: IntoAnyValue>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.0.attributes.extend(super::attributes(pairs));
        self
    }

    /// Sets the time, Unix nanoseconds.
    pub fn time(mut self, unix_nanos: u64) -> Self {
        self.0.time_unix_nano = unix_nanos;
        self
    }

    /// Sets the observed time, Unix nanoseconds.
    pub fn observed(mut self, unix_nanos: u64) -> Self {
        self.0.observed_time_unix_nano = unix_nanos;
        self
    }

    /// Ties the record to a span.
    pub fn trace(mut self, trace_id: impl Into<TraceId>, span_id: impl Into<SpanId>) -> Self {
        self.0.trace_id = trace_id.into().0.to_vec();
        self.0.span_id = span_id.into().0.to_vec();
        self
    }

    /// Sets the flags.
    pub fn flags(mut self, flags: u32) -> Self {
        self.0.flags = flags;
        self
    }

    /// Sets the event name.
    pub fn event_name(mut self, name: impl Into<String>) -> Self {
        self.0.event_name = name.into();
        self
    }

    /// Changes anything else on the record.
    pub fn with(mut self, f: impl FnOnce(&mut LogRecord)) -> Self {
        f(&mut self.0);
        self
    }

    /// The record.
    pub fn build(self) -> LogRecord {
        self.0
    }
}

impl From<&str> for LogBuilder {
    fn from(body: &str) -> Self {
        log(body)
    }
}

impl From<String> for LogBuilder {
    fn from(body: String) -> Self {
        log(body)
    }
}

impl From<LogRecord> for LogBuilder {
    fn from(r: LogRecord) -> Self {
        LogBuilder(r)
    }
}

impl From<LogBuilder> for LogRecord {
    fn from(b: LogBuilder) -> Self {
        b.build()
    }
}
