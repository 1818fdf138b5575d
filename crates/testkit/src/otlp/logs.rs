//! Log records and the logs builder.

use stratus_core::pdata::ExportLogsServiceRequest;
use stratus_core::pdata::logs::{LogRecord, ResourceLogs, ScopeLogs};

use super::{IntoAnyValue, SeverityNumber, SpanId, TraceId};

super::batch_builder!(LogsBuilder(LogRecord) = logs(), "records", records(record: LogBuilder),
    Logs(resource_logs: ResourceLogs.scope_logs: ScopeLogs.log_records), ExportLogsServiceRequest);

impl LogsBuilder {
    /// Adds a record: a [`log`] builder, a body (`"line"`) or a [`LogRecord`].
    pub fn record(mut self, record: impl Into<LogBuilder>) -> Self {
        self.groups.push(record.into().0);
        self
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

    super::attr_methods!(0, attrs);

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

super::from_text!(LogBuilder => log);

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
