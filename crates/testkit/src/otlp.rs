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

use std::convert::identity;

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
/// and `f32` (stored as `double`) and [`AnyValue`] itself; [`array()`], [`kvlist`] and
/// [`bytes()`] make the other kinds.
pub trait IntoAnyValue {
    /// The OTLP value.
    fn into_any_value(self) -> AnyValue;
}

fn value(v: any_value::Value) -> AnyValue {
    AnyValue { value: Some(v) }
}

/// `IntoAnyValue` for each type listed: `$convert` makes its value of kind `$kind`.
macro_rules! any_values {
    ($($($t:ty),+ => $kind:ident($convert:expr);)*) => {$($(
        impl IntoAnyValue for $t {
            fn into_any_value(self) -> AnyValue {
                value(any_value::Value::$kind(($convert)(self)))
            }
        }
    )+)*};
}

any_values! {
    &str => StringValue(str::to_string);
    String => StringValue(identity);
    &String => StringValue(String::clone);
    bool => BoolValue(identity);
    f64 => DoubleValue(identity);
    f32 => DoubleValue(f64::from);
    i8, i16, i32, i64, u8, u16, u32, u64, usize, isize => IntValue(saturating_i64);
}

/// An integer as OTLP's `int`. Test values fit; the largest u64/usize values saturate.
fn saturating_i64(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

impl IntoAnyValue for AnyValue {
    fn into_any_value(self) -> AnyValue {
        self
    }
}

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

/// An id of `$n` bytes, from those bytes or an `$int` (big-endian).
macro_rules! id_type {
    ($(#[$doc:meta])* $id:ident([u8; $n:literal]) from $int:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $id(pub [u8; $n]);

        impl From<$int> for $id {
            fn from(n: $int) -> Self {
                $id(n.to_be_bytes())
            }
        }

        impl From<[u8; $n]> for $id {
            fn from(b: [u8; $n]) -> Self {
                $id(b)
            }
        }
    };
}

id_type!(
    /// A trace id: from a `u128` (big-endian) or 16 bytes.
    TraceId([u8; 16]) from u128
);
id_type!(
    /// A span id: from a `u64` (big-endian) or 8 bytes.
    SpanId([u8; 8]) from u64
);

/// Reads an 8-byte id (a span id, or the first half of a trace id) as a big-endian
/// `u64`: the inverse of `span_id(n)`. Panics when `id` is shorter than 8 bytes.
pub fn id_u64(id: &[u8]) -> u64 {
    let first: [u8; 8] = id
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .unwrap_or_else(|| panic!("id {id:02x?} is shorter than 8 bytes"));
    u64::from_be_bytes(first)
}

/// A builder's `attr` (and, named so, `attrs`) adding to `self.$item.attributes`.
macro_rules! attr_methods {
    ($item:tt $(, $attrs:ident)?) => {
        /// Adds an attribute.
        pub fn attr(mut self, key: impl Into<String>, v: impl $crate::otlp::IntoAnyValue) -> Self {
            self.$item.attributes.push($crate::otlp::kv(key, v));
            self
        }

        $(
            /// Adds attributes of one value type.
            pub fn $attrs<K: Into<String>, V: $crate::otlp::IntoAnyValue>(
                mut self,
                pairs: impl IntoIterator<Item = (K, V)>,
            ) -> Self {
                self.$item.attributes.extend($crate::otlp::attributes(pairs));
                self
            }
        )?
    };
}
use attr_methods;

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

    attr_methods!(0);

    /// The scope.
    pub fn build(self) -> InstrumentationScope {
        self.0
    }
}

/// Text (`&str`, `String`) converts to what `$new` makes of it.
macro_rules! from_text {
    ($($builder:ident => $new:ident),*) => {$(
        impl From<&str> for $builder {
            fn from(text: &str) -> Self {
                $new(text)
            }
        }

        impl From<String> for $builder {
            fn from(text: String) -> Self {
                $new(text)
            }
        }
    )*};
}
use from_text;

from_text!(ScopeBuilder => scope);

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

/// A signal's batch builder: the struct over [`Groups`] of `$item`, its constructor
/// `$new`, resources and scopes, adding several items through `$one`, and every end
/// (resource groups, payload, batch, export request, protobuf bytes).
macro_rules! batch_builder {
    (
        $builder:ident($item:ty) = $new:ident(), $items:literal, $many:ident($one:ident: $Into:ty),
        $variant:ident($resources:ident: $Resource:ident.$scopes:ident: $Scope:ident.$list:ident),
        $Request:ident
    ) => {
        #[doc = concat!(
            "A ", stringify!($new), " batch under construction: see [`", stringify!($new), "`]."
        )]
        #[derive(Debug, Clone, Default)]
        pub struct $builder {
            groups: $crate::otlp::Groups<$item>,
        }

        #[doc = concat!(
            "Starts a ", stringify!($new), " batch; ", $items, " added before any [`",
            stringify!($builder), "::resource`] or [`", stringify!($builder),
            "::scope`] go into a resource and scope of their own with none set."
        )]
        pub fn $new() -> $builder {
            $builder::default()
        }

        impl $builder {
            #[doc = concat!(
                "Starts a new resource with these attributes; later ", $items, " go under it."
            )]
            pub fn resource<K: Into<String>, V: $crate::otlp::IntoAnyValue>(
                mut self,
                attrs: impl IntoIterator<Item = (K, V)>,
            ) -> Self {
                self.groups.resource($crate::otlp::resource_of(attrs));
                self
            }

            #[doc = concat!(
                "Starts a new scope in the current resource; later ", $items, " go under it."
            )]
            pub fn scope(mut self, scope: impl Into<$crate::otlp::ScopeBuilder>) -> Self {
                self.groups.scope(scope.into().build());
                self
            }

            #[doc = concat!("Adds several ", $items, ".")]
            pub fn $many<I: Into<$Into>>(self, $many: impl IntoIterator<Item = I>) -> Self {
                $many.into_iter().fold(self, $builder::$one)
            }

            #[doc = concat!("The OTLP resource groups ([`", stringify!($Resource), "`]).")]
            pub fn $resources(self) -> Vec<$Resource> {
                self.groups
                    .resources
                    .into_iter()
                    .map(|g| $Resource {
                        resource: g.resource,
                        $scopes: g
                            .scopes
                            .into_iter()
                            .map(|(scope, $list)| $Scope {
                                scope,
                                $list,
                                ..Default::default()
                            })
                            .collect(),
                        ..Default::default()
                    })
                    .collect()
            }

            /// The payload.
            pub fn payload(self) -> ::stratus_core::Payload {
                ::stratus_core::Payload::$variant(self.$resources())
            }

            /// The batch, with no metadata.
            pub fn build(self) -> ::stratus_core::Telemetry {
                ::stratus_core::Telemetry::new(self.payload())
            }

            /// The batch with request metadata.
            pub fn build_with(
                self,
                metadata: ::stratus_core::Metadata,
            ) -> ::stratus_core::Telemetry {
                ::stratus_core::Telemetry::with_metadata(self.payload(), metadata)
            }

            /// The OTLP export request.
            pub fn request(self) -> $Request {
                $Request {
                    $resources: self.$resources(),
                }
            }

            /// The export request in protobuf, as an OTLP/HTTP body.
            pub fn encode(self) -> Vec<u8> {
                ::prost::Message::encode_to_vec(&self.request())
            }
        }

        impl From<$builder> for ::stratus_core::Telemetry {
            fn from(b: $builder) -> Self {
                b.build()
            }
        }

        impl From<$builder> for ::stratus_core::Payload {
            fn from(b: $builder) -> Self {
                b.payload()
            }
        }
    };
}
use batch_builder;

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

/// [`PayloadExt`] methods that read every item of one signal, each named `$name`.
macro_rules! items_of {
    ($(
        $(#[$doc:meta])* $name:ident -> $item:ty: $variant:ident.$scopes:ident.$items:ident;
    )*) => {$(
        $(#[$doc])*
        fn $name(&self) -> Vec<&$item> {
            match self.payload_ref() {
                Payload::$variant(r) => r
                    .iter()
                    .flat_map(|r| &r.$scopes)
                    .flat_map(|s| &s.$items)
                    .collect(),
                _ => Vec::new(),
            }
        }
    )*};
}

/// Reads the items of a batch back out, in order, across resources and scopes.
pub trait PayloadExt {
    /// The payload read.
    fn payload_ref(&self) -> &Payload;

    items_of! {
        /// Every span (none unless traces).
        spans -> Span: Traces.scope_spans.spans;
        /// Every metric (none unless metrics).
        metrics -> Metric: Metrics.scope_metrics.metrics;
        /// Every log record (none unless logs).
        log_records -> LogRecord: Logs.scope_logs.log_records;
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
