//! Builders for OTLP test data, on the prost types `stratus_core::pdata` re-exports.
//!
//! One builder per signal ([`traces`], [`metrics`], [`logs`]) groups items into
//! resources and scopes and ends in a [`Telemetry`] ([`TracesBuilder::build`]), a
//! [`Payload`], the signal's export request or its protobuf bytes. Items have builders
//! of their own ([`span`], [`gauge`], [`sum`], [`histogram`], [`exp_histogram`],
//! [`summary`], [`log`]); a plain `&str` is a span or log record of that name or body.
//!
//! ```
//! use stratus_testkit::otlp::*;
//!
//! let batch = traces()
//!     .resource([("service.name", "api")])
//!     .scope("http-server")
//!     .span(span("GET /").attr("http.method", "GET").event("cache.miss").kind(SpanKind::Server))
//!     .span(span("SELECT").parent(1).error("timeout"))
//!     .build();
//! assert_eq!(batch.item_count(), 2);
//!
//! let points = metrics()
//!     .resource([("service.name", "api")])
//!     .metric(gauge("queue.depth").point(3).point(number_point(4.5).attr("queue", "b")))
//!     .metric(sum("requests").delta().point(7))
//!     .metric(histogram("latency").bounds([1.0, 5.0]).point(histogram_point([1, 2, 0]).sum(7.5)))
//!     .payload();
//! assert_eq!(points.item_count(), 4);
//!
//! let records = logs()
//!     .record(log("disk almost full").severity(SeverityNumber::Warn).attr("disk", "/dev/sda"))
//!     .request();
//! assert_eq!(records.resource_logs[0].scope_logs[0].log_records[0].severity_text, "WARN");
//! ```
//!
//! What a builder does not set keeps the prost default (zero times, no kind), with
//! two exceptions that keep the data valid OTLP: a span's trace id defaults to
//! [`DEFAULT_TRACE_ID`], and a span added to a [`TracesBuilder`] without a span id
//! gets its 1-based position in the builder. [`sample`] makes ready-made batches
//! with every field a destination usually needs.
//!
//! [`PayloadExt`] reads the items back out of a batch (`batch.spans()`).

mod logs;
mod metrics;
mod traces;

use stratus_core::pdata::common::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use stratus_core::pdata::logs::LogRecord;
use stratus_core::pdata::metrics::Metric;
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::Span;
use stratus_core::{Payload, Signal, Telemetry};

pub use logs::{LogBuilder, LogsBuilder, log, logs};
pub use metrics::{
    ExpHistogramBuilder, ExpHistogramPoint, GaugeBuilder, HistogramBuilder, HistogramPoint,
    MetricsBuilder, NumberPoint, NumberValue, SumBuilder, SummaryBuilder, SummaryPoint,
    exp_histogram, exp_histogram_point, gauge, histogram, histogram_point, metrics, number_point,
    sum, summary, summary_point,
};
pub use stratus_core::pdata::logs::SeverityNumber;
pub use stratus_core::pdata::trace::span::SpanKind;
pub use stratus_core::pdata::trace::status::StatusCode;
pub use traces::{
    EventBuilder, LinkBuilder, SpanBuilder, TracesBuilder, event, link, span, traces,
};

/// The trace id of a span whose builder was given none.
pub const DEFAULT_TRACE_ID: u128 = 0x5b8e_fff7_9803_8103_d269_b633_813f_c60c;

/// A fixed instant, 2023-11-14T22:13:20Z in Unix nanoseconds, that [`sample`] data uses.
pub const SAMPLE_TIME_NS: u64 = 1_700_000_000_000_000_000;

/// A value an attribute, a log body or an array element can hold.
///
/// Implemented for strings, `bool`, the integer types (stored as OTLP `int`), `f64`
/// and `f32` (stored as `double`) and [`AnyValue`] itself; [`array`], [`kvlist`] and
/// [`bytes`] make the other kinds.
pub trait IntoAnyValue {
    /// The OTLP value.
    fn into_any_value(self) -> AnyValue;
}

fn value(v: any_value::Value) -> AnyValue {
    AnyValue { value: Some(v) }
}

impl IntoAnyValue for AnyValue {
    fn into_any_value(self) -> AnyValue {
        self
    }
}

impl IntoAnyValue for &str {
    fn into_any_value(self) -> AnyValue {
        value(any_value::Value::StringValue(self.to_string()))
    }
}

impl IntoAnyValue for String {
    fn into_any_value(self) -> AnyValue {
        value(any_value::Value::StringValue(self))
    }
}

impl IntoAnyValue for &String {
    fn into_any_value(self) -> AnyValue {
        value(any_value::Value::StringValue(self.clone()))
    }
}

impl IntoAnyValue for bool {
    fn into_any_value(self) -> AnyValue {
        value(any_value::Value::BoolValue(self))
    }
}

impl IntoAnyValue for f64 {
    fn into_any_value(self) -> AnyValue {
        value(any_value::Value::DoubleValue(self))
    }
}

impl IntoAnyValue for f32 {
    fn into_any_value(self) -> AnyValue {
        value(any_value::Value::DoubleValue(f64::from(self)))
    }
}

macro_rules! int_values {
    ($($t:ty),*) => {$(
        impl IntoAnyValue for $t {
            fn into_any_value(self) -> AnyValue {
                // Test values fit; the largest u64/usize values saturate.
                value(any_value::Value::IntValue(i64::try_from(self).unwrap_or(i64::MAX)))
            }
        }
    )*};
}
int_values!(i8, i16, i32, i64, u8, u16, u32, u64, usize, isize);

/// An array value: `array([1, 2, 3])`, `array(["a", "b"])`.
pub fn array<V: IntoAnyValue>(values: impl IntoIterator<Item = V>) -> AnyValue {
    value(any_value::Value::ArrayValue(ArrayValue {
        values: values
            .into_iter()
            .map(IntoAnyValue::into_any_value)
            .collect(),
    }))
}

/// A key-value list value: `kvlist([("a", 1), ("b", 2)])`.
pub fn kvlist<K: Into<String>, V: IntoAnyValue>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> AnyValue {
    value(any_value::Value::KvlistValue(KeyValueList {
        values: attributes(pairs),
    }))
}

/// A bytes value.
pub fn bytes(b: impl Into<Vec<u8>>) -> AnyValue {
    value(any_value::Value::BytesValue(b.into()))
}

/// One attribute.
pub fn kv(key: impl Into<String>, v: impl IntoAnyValue) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(v.into_any_value()),
        ..Default::default()
    }
}

/// Attributes from pairs of one value type: `attributes([("a", "x"), ("b", "y")])`.
pub fn attributes<K: Into<String>, V: IntoAnyValue>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> Vec<KeyValue> {
    pairs.into_iter().map(|(k, v)| kv(k, v)).collect()
}

/// A trace id: from a `u128` (big-endian) or 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceId(pub [u8; 16]);

impl From<u128> for TraceId {
    fn from(n: u128) -> Self {
        TraceId(n.to_be_bytes())
    }
}

impl From<[u8; 16]> for TraceId {
    fn from(b: [u8; 16]) -> Self {
        TraceId(b)
    }
}

/// A span id: from a `u64` (big-endian) or 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanId(pub [u8; 8]);

impl From<u64> for SpanId {
    fn from(n: u64) -> Self {
        SpanId(n.to_be_bytes())
    }
}

impl From<[u8; 8]> for SpanId {
    fn from(b: [u8; 8]) -> Self {
        SpanId(b)
    }
}

/// Reads an 8-byte id (a span id, or the first half of a trace id) as a big-endian
/// `u64`: the inverse of `span_id(n)`. Panics when `id` is shorter than 8 bytes.
pub fn id_u64(id: &[u8]) -> u64 {
    let first: [u8; 8] = id
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .unwrap_or_else(|| panic!("id {id:02x?} is shorter than 8 bytes"));
    u64::from_be_bytes(first)
}

/// An instrumentation scope: `scope("lib").version("1.0").attr("k", "v")`. A `&str`
/// converts to a scope of that name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopeBuilder(InstrumentationScope);

/// A scope named `name`.
pub fn scope(name: impl Into<String>) -> ScopeBuilder {
    ScopeBuilder(InstrumentationScope {
        name: name.into(),
        ..Default::default()
    })
}

impl ScopeBuilder {
    /// Sets the version.
    pub fn version(mut self, v: impl Into<String>) -> Self {
        self.0.version = v.into();
        self
    }

    /// Adds an attribute.
    pub fn attr(mut self, key: impl Into<String>, v: impl IntoAnyValue) -> Self {
        self.0.attributes.push(kv(key, v));
        self
    }

    /// The scope.
    pub fn build(self) -> InstrumentationScope {
        self.0
    }
}

impl From<&str> for ScopeBuilder {
    fn from(name: &str) -> Self {
        scope(name)
    }
}

impl From<String> for ScopeBuilder {
    fn from(name: String) -> Self {
        scope(name)
    }
}

impl From<InstrumentationScope> for ScopeBuilder {
    fn from(s: InstrumentationScope) -> Self {
        ScopeBuilder(s)
    }
}

/// Items grouped by resource, then by scope, in the order they were added.
#[derive(Debug, Clone)]
struct Groups<T> {
    resources: Vec<Group<T>>,
}

#[derive(Debug, Clone)]
struct Group<T> {
    resource: Option<Resource>,
    scopes: Vec<(Option<InstrumentationScope>, Vec<T>)>,
}

impl<T> Default for Groups<T> {
    fn default() -> Self {
        Groups {
            resources: Vec::new(),
        }
    }
}

impl<T> Groups<T> {
    fn resource(&mut self, resource: Resource) {
        self.resources.push(Group {
            resource: Some(resource),
            scopes: Vec::new(),
        });
    }

    fn current(&mut self) -> &mut Group<T> {
        if self.resources.is_empty() {
            self.resources.push(Group {
                resource: None,
                scopes: Vec::new(),
            });
        }
        let last = self.resources.len() - 1;
        &mut self.resources[last]
    }

    fn scope(&mut self, scope: InstrumentationScope) {
        self.current().scopes.push((Some(scope), Vec::new()));
    }

    fn push(&mut self, item: T) {
        let group = self.current();
        if group.scopes.is_empty() {
            group.scopes.push((None, Vec::new()));
        }
        let last = group.scopes.len() - 1;
        group.scopes[last].1.push(item);
    }

    fn count(&self) -> usize {
        self.resources
            .iter()
            .flat_map(|g| &g.scopes)
            .map(|(_, items)| items.len())
            .sum()
    }
}

fn resource_of<K: Into<String>, V: IntoAnyValue>(
    attrs: impl IntoIterator<Item = (K, V)>,
) -> Resource {
    Resource {
        attributes: attributes(attrs),
        ..Default::default()
    }
}

/// A ready-made batch of `n` items of `signal`, for tests that need "some data":
/// see [`sample_spans`], [`sample_metrics`] and [`sample_logs`].
pub fn sample(signal: Signal, n: usize) -> Telemetry {
    match signal {
        Signal::Traces => sample_spans(n),
        Signal::Metrics => sample_metrics(n),
        Signal::Logs => sample_logs(n),
    }
}

fn sample_resource() -> [(&'static str, &'static str); 1] {
    [("service.name", "stratus-testkit")]
}

/// `n` server spans named `span-{i}` (i from 0) with span ids 1..=n, one trace, start
/// and end times from [`SAMPLE_TIME_NS`], status ok, an `i` attribute, under resource
/// `service.name=stratus-testkit` and scope `stratus-testkit`.
pub fn sample_spans(n: usize) -> Telemetry {
    let start = SAMPLE_TIME_NS;
    traces()
        .resource(sample_resource())
        .scope(scope("stratus-testkit").version("1.0"))
        .spans((0..n).map(|i| {
            let offset = u64::try_from(i).unwrap_or(u64::MAX);
            span(format!("span-{i}"))
                .kind(SpanKind::Server)
                .start(start + offset * 1_000)
                .end(start + offset * 1_000 + 500_000)
                .attr("i", i)
                .ok()
        }))
        .build()
}

/// One cumulative monotonic sum `stratus_testkit.requests` (unit `1`) with `n`
/// points, values 0..n, each with an `i` attribute, timed at [`SAMPLE_TIME_NS`]; same
/// resource and scope as [`sample_spans`].
pub fn sample_metrics(n: usize) -> Telemetry {
    let mut requests = sum("stratus_testkit.requests").unit("1");
    for i in 0..n {
        requests = requests.point(
            number_point(i64::try_from(i).unwrap_or(i64::MAX))
                .attr("i", i)
                .start(SAMPLE_TIME_NS - 60_000_000_000)
                .time(SAMPLE_TIME_NS),
        );
    }
    let builder = metrics()
        .resource(sample_resource())
        .scope(scope("stratus-testkit").version("1.0"));
    if n == 0 {
        builder.build()
    } else {
        builder.metric(requests).build()
    }
}

/// `n` info log records with bodies `line {i}`, timed at [`SAMPLE_TIME_NS`], each with
/// an `i` attribute; same resource and scope as [`sample_spans`].
pub fn sample_logs(n: usize) -> Telemetry {
    logs()
        .resource(sample_resource())
        .scope(scope("stratus-testkit").version("1.0"))
        .records((0..n).map(|i| {
            log(format!("line {i}"))
                .severity(SeverityNumber::Info)
                .time(SAMPLE_TIME_NS)
                .attr("i", i)
        }))
        .build()
}

/// Reads the items of a batch back out, in order, across resources and scopes.
pub trait PayloadExt {
    /// The payload read.
    fn payload_ref(&self) -> &Payload;

    /// Every span (none unless traces).
    fn spans(&self) -> Vec<&Span> {
        match self.payload_ref() {
            Payload::Traces(r) => r
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Every metric (none unless metrics).
    fn metrics(&self) -> Vec<&Metric> {
        match self.payload_ref() {
            Payload::Metrics(r) => r
                .iter()
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| &s.metrics)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Every log record (none unless logs).
    fn log_records(&self) -> Vec<&LogRecord> {
        match self.payload_ref() {
            Payload::Logs(r) => r
                .iter()
                .flat_map(|r| &r.scope_logs)
                .flat_map(|s| &s.log_records)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The names of every span.
    fn span_names(&self) -> Vec<String> {
        self.spans().iter().map(|s| s.name.clone()).collect()
    }

    /// The span ids of every span, read with [`id_u64`].
    fn span_ids(&self) -> Vec<u64> {
        self.spans().iter().map(|s| id_u64(&s.span_id)).collect()
    }
}

impl PayloadExt for Payload {
    fn payload_ref(&self) -> &Payload {
        self
    }
}

impl PayloadExt for Telemetry {
    fn payload_ref(&self) -> &Payload {
        &self.payload
    }
}

#[cfg(test)]
mod tests;
