//! The paths and enum symbols of each context, and reading a path from an item.

use stratus_core::pdata::logs::LogRecord;
use stratus_core::pdata::metrics::{Metric, metric::Data, number_data_point};
use stratus_core::pdata::trace::Span;

use crate::item::{Context, Item, Point};
use crate::value::{Value, lookup};

/// What a path reads, before any `[key]` beyond the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    ResourceAttrs,
    ScopeName,
    ScopeVersion,
    ScopeAttrs,
    SpanAttrs,
    SpanName,
    SpanKind,
    SpanStatusCode,
    SpanStatusMessage,
    SpanTraceId,
    SpanSpanId,
    SpanParentSpanId,
    SpanTraceState,
    SpanStart,
    SpanEnd,
    EventAttrs,
    EventName,
    EventTime,
    LogAttrs,
    LogBody,
    LogSeverityNumber,
    LogSeverityText,
    LogTime,
    LogObservedTime,
    LogTraceId,
    LogSpanId,
    LogEventName,
    LogFlags,
    MetricName,
    MetricDescription,
    MetricUnit,
    MetricType,
    MetricTemporality,
    MetricMonotonic,
    PointAttrs,
    PointStart,
    PointTime,
    PointValueInt,
    PointValueDouble,
    PointCount,
    PointSum,
    Request,
}

/// Whether a path takes `["key"]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keys {
    /// No key: `name`.
    None,
    /// A string key is required: `attributes["k"]`; more keys index into maps and arrays.
    Map,
    /// Keys are optional and index into the value: `body`, `body["k"]`.
    Optional,
}

/// One path a context accepts.
pub(crate) struct PathDef {
    pub text: &'static str,
    pub base: Base,
    pub keys: Keys,
}

const fn p(text: &'static str, base: Base, keys: Keys) -> PathDef {
    PathDef { text, base, keys }
}

const COMMON: &[PathDef] = &[
    p("resource.attributes", Base::ResourceAttrs, Keys::Map),
    p("instrumentation_scope.name", Base::ScopeName, Keys::None),
    p(
        "instrumentation_scope.version",
        Base::ScopeVersion,
        Keys::None,
    ),
    p(
        "instrumentation_scope.attributes",
        Base::ScopeAttrs,
        Keys::Map,
    ),
];

const RESOURCE: &[PathDef] = &[p("attributes", Base::ResourceAttrs, Keys::Map)];

const SPAN: &[PathDef] = &[
    p("attributes", Base::SpanAttrs, Keys::Map),
    p("name", Base::SpanName, Keys::None),
    p("kind", Base::SpanKind, Keys::None),
    p("status.code", Base::SpanStatusCode, Keys::None),
    p("status.message", Base::SpanStatusMessage, Keys::None),
    p("trace_id.string", Base::SpanTraceId, Keys::None),
    p("span_id.string", Base::SpanSpanId, Keys::None),
    p("parent_span_id.string", Base::SpanParentSpanId, Keys::None),
    p("trace_state", Base::SpanTraceState, Keys::None),
    p("start_time_unix_nano", Base::SpanStart, Keys::None),
    p("end_time_unix_nano", Base::SpanEnd, Keys::None),
];

/// The parent span's paths in the span event context.
const EVENT_SPAN: &[PathDef] = &[
    p("span.attributes", Base::SpanAttrs, Keys::Map),
    p("span.name", Base::SpanName, Keys::None),
    p("span.kind", Base::SpanKind, Keys::None),
    p("span.status.code", Base::SpanStatusCode, Keys::None),
    p("span.status.message", Base::SpanStatusMessage, Keys::None),
    p("span.trace_id.string", Base::SpanTraceId, Keys::None),
    p("span.span_id.string", Base::SpanSpanId, Keys::None),
    p(
        "span.parent_span_id.string",
        Base::SpanParentSpanId,
        Keys::None,
    ),
    p("span.trace_state", Base::SpanTraceState, Keys::None),
    p("span.start_time_unix_nano", Base::SpanStart, Keys::None),
    p("span.end_time_unix_nano", Base::SpanEnd, Keys::None),
];

const EVENT: &[PathDef] = &[
    p("attributes", Base::EventAttrs, Keys::Map),
    p("name", Base::EventName, Keys::None),
    p("time_unix_nano", Base::EventTime, Keys::None),
];

const LOG: &[PathDef] = &[
    p("attributes", Base::LogAttrs, Keys::Map),
    p("body", Base::LogBody, Keys::Optional),
    p("severity_number", Base::LogSeverityNumber, Keys::None),
    p("severity_text", Base::LogSeverityText, Keys::None),
    p("time_unix_nano", Base::LogTime, Keys::None),
    p("observed_time_unix_nano", Base::LogObservedTime, Keys::None),
    p("trace_id.string", Base::LogTraceId, Keys::None),
    p("span_id.string", Base::LogSpanId, Keys::None),
    p("event_name", Base::LogEventName, Keys::None),
    p("flags", Base::LogFlags, Keys::None),
];

const METRIC: &[PathDef] = &[
    p("name", Base::MetricName, Keys::None),
    p("description", Base::MetricDescription, Keys::None),
    p("unit", Base::MetricUnit, Keys::None),
    p("type", Base::MetricType, Keys::None),
    p(
        "aggregation_temporality",
        Base::MetricTemporality,
        Keys::None,
    ),
    p("is_monotonic", Base::MetricMonotonic, Keys::None),
];

/// The metric's paths in the data point context.
const POINT_METRIC: &[PathDef] = &[
    p("metric.name", Base::MetricName, Keys::None),
    p("metric.description", Base::MetricDescription, Keys::None),
    p("metric.unit", Base::MetricUnit, Keys::None),
    p("metric.type", Base::MetricType, Keys::None),
    p(
        "metric.aggregation_temporality",
        Base::MetricTemporality,
        Keys::None,
    ),
    p("metric.is_monotonic", Base::MetricMonotonic, Keys::None),
];

const POINT: &[PathDef] = &[
    p("attributes", Base::PointAttrs, Keys::Map),
    p("start_time_unix_nano", Base::PointStart, Keys::None),
    p("time_unix_nano", Base::PointTime, Keys::None),
    p("value_int", Base::PointValueInt, Keys::None),
    p("value_double", Base::PointValueDouble, Keys::None),
    p("count", Base::PointCount, Keys::None),
    p("sum", Base::PointSum, Keys::None),
];

const REQUEST: &[PathDef] = &[p("request", Base::Request, Keys::Map)];

/// The path tables of a context, in the order the README and error messages list them.
pub(crate) fn tables(ctx: Context) -> &'static [&'static [PathDef]] {
    match ctx {
        Context::Resource => &[RESOURCE],
        Context::Span => &[SPAN, COMMON],
        Context::SpanEvent => &[EVENT, EVENT_SPAN, COMMON],
        Context::Log => &[LOG, COMMON],
        Context::Metric => &[METRIC, COMMON],
        Context::DataPoint => &[POINT, POINT_METRIC, COMMON],
        Context::Request => &[REQUEST],
    }
}

/// Every path of a context as a user writes it (`attributes["…"]`), for messages.
pub(crate) fn path_list(ctx: Context) -> Vec<String> {
    tables(ctx)
        .iter()
        .flat_map(|t| t.iter())
        .map(|d| match d.keys {
            Keys::None => d.text.to_string(),
            Keys::Map => format!("{}[\"…\"]", d.text),
            Keys::Optional => format!("{}, {}[\"…\"]", d.text, d.text),
        })
        .collect()
}

/// The definition of `dotted` (segments joined by `.`) in `ctx`. A leading context name
/// (`span.name` in the span context, `resource.attributes` in the resource context) and
/// `scope.` for `instrumentation_scope.` are accepted, as upstream accepts them.
pub(crate) fn find(ctx: Context, dotted: &str) -> Option<&'static PathDef> {
    let own = ctx.as_str();
    let mut name = dotted;
    if let Some(rest) = name.strip_prefix(own).and_then(|r| r.strip_prefix('.')) {
        name = rest;
    }
    let scoped;
    if let Some(rest) = name.strip_prefix("scope.") {
        scoped = format!("instrumentation_scope.{rest}");
        name = &scoped;
    }
    tables(ctx)
        .iter()
        .flat_map(|t| t.iter())
        .find(|d| d.text == name)
}

/// Upstream's enum symbols and their values, per context.
const SPAN_ENUMS: &[(&str, i64)] = &[
    ("SPAN_KIND_UNSPECIFIED", 0),
    ("SPAN_KIND_INTERNAL", 1),
    ("SPAN_KIND_SERVER", 2),
    ("SPAN_KIND_CLIENT", 3),
    ("SPAN_KIND_PRODUCER", 4),
    ("SPAN_KIND_CONSUMER", 5),
    ("STATUS_CODE_UNSET", 0),
    ("STATUS_CODE_OK", 1),
    ("STATUS_CODE_ERROR", 2),
];

const LOG_ENUMS: &[(&str, i64)] = &[
    ("SEVERITY_NUMBER_UNSPECIFIED", 0),
    ("SEVERITY_NUMBER_TRACE", 1),
    ("SEVERITY_NUMBER_TRACE2", 2),
    ("SEVERITY_NUMBER_TRACE3", 3),
    ("SEVERITY_NUMBER_TRACE4", 4),
    ("SEVERITY_NUMBER_DEBUG", 5),
    ("SEVERITY_NUMBER_DEBUG2", 6),
    ("SEVERITY_NUMBER_DEBUG3", 7),
    ("SEVERITY_NUMBER_DEBUG4", 8),
    ("SEVERITY_NUMBER_INFO", 9),
    ("SEVERITY_NUMBER_INFO2", 10),
    ("SEVERITY_NUMBER_INFO3", 11),
    ("SEVERITY_NUMBER_INFO4", 12),
    ("SEVERITY_NUMBER_WARN", 13),
    ("SEVERITY_NUMBER_WARN2", 14),
    ("SEVERITY_NUMBER_WARN3", 15),
    ("SEVERITY_NUMBER_WARN4", 16),
    ("SEVERITY_NUMBER_ERROR", 17),
    ("SEVERITY_NUMBER_ERROR2", 18),
    ("SEVERITY_NUMBER_ERROR3", 19),
    ("SEVERITY_NUMBER_ERROR4", 20),
    ("SEVERITY_NUMBER_FATAL", 21),
    ("SEVERITY_NUMBER_FATAL2", 22),
    ("SEVERITY_NUMBER_FATAL3", 23),
    ("SEVERITY_NUMBER_FATAL4", 24),
];

const METRIC_ENUMS: &[(&str, i64)] = &[
    ("METRIC_DATA_TYPE_NONE", 0),
    ("METRIC_DATA_TYPE_GAUGE", 1),
    ("METRIC_DATA_TYPE_SUM", 2),
    ("METRIC_DATA_TYPE_HISTOGRAM", 3),
    ("METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM", 4),
    ("METRIC_DATA_TYPE_SUMMARY", 5),
    ("AGGREGATION_TEMPORALITY_UNSPECIFIED", 0),
    ("AGGREGATION_TEMPORALITY_DELTA", 1),
    ("AGGREGATION_TEMPORALITY_CUMULATIVE", 2),
];

/// The enum symbols a context knows.
pub(crate) fn enums(ctx: Context) -> &'static [(&'static str, i64)] {
    match ctx {
        Context::Span | Context::SpanEvent => SPAN_ENUMS,
        Context::Log => LOG_ENUMS,
        Context::Metric | Context::DataPoint => METRIC_ENUMS,
        Context::Resource | Context::Request => &[],
    }
}

fn int(n: u64) -> Value<'static> {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn metric_type(m: &Metric) -> i64 {
    match m.data {
        None => 0,
        Some(Data::Gauge(_)) => 1,
        Some(Data::Sum(_)) => 2,
        Some(Data::Histogram(_)) => 3,
        Some(Data::ExponentialHistogram(_)) => 4,
        Some(Data::Summary(_)) => 5,
    }
}

fn temporality(m: &Metric) -> Value<'static> {
    match &m.data {
        Some(Data::Sum(s)) => Value::Int(i64::from(s.aggregation_temporality)),
        Some(Data::Histogram(h)) => Value::Int(i64::from(h.aggregation_temporality)),
        Some(Data::ExponentialHistogram(h)) => Value::Int(i64::from(h.aggregation_temporality)),
        _ => Value::Nil,
    }
}

/// Reads `base` (with its first key, for attribute maps) from `item`. A part of the item
/// that is absent (no resource, no scope) reads as nil; so does a base the item does not
/// have (which a parsed condition never asks for: the parser only accepts the paths of
/// its context, and eval checks the item's context first).
#[inline]
pub(crate) fn read<'a>(base: Base, key: &str, item: &Item<'a>) -> Value<'a> {
    use Base as B;
    let span = || item.span();
    let record = || -> Option<&'a LogRecord> {
        match *item {
            Item::Log { record, .. } => Some(record),
            _ => None,
        }
    };
    let event = || match *item {
        Item::SpanEvent { event, .. } => Some(event),
        _ => None,
    };
    let point = || match *item {
        Item::DataPoint { point, .. } => Some(point),
        _ => None,
    };
    let metric = || item.metric();
    let s = |f: fn(&'a Span) -> Value<'a>| span().map_or(Value::Nil, f);
    let l = |f: fn(&'a LogRecord) -> Value<'a>| record().map_or(Value::Nil, f);
    let m = |f: fn(&'a Metric) -> Value<'a>| metric().map_or(Value::Nil, f);
    let pt = |f: fn(Point<'a>) -> Value<'a>| point().map_or(Value::Nil, f);
    match base {
        B::ResourceAttrs => item
            .resource()
            .map_or(Value::Nil, |r| lookup(&r.attributes, key)),
        B::ScopeName => item.scope().map_or(Value::Str(""), |s| Value::Str(&s.name)),
        B::ScopeVersion => item
            .scope()
            .map_or(Value::Str(""), |s| Value::Str(&s.version)),
        B::ScopeAttrs => item
            .scope()
            .map_or(Value::Nil, |s| lookup(&s.attributes, key)),
        B::SpanAttrs => span().map_or(Value::Nil, |s| lookup(&s.attributes, key)),
        B::SpanName => s(|s| Value::Str(&s.name)),
        B::SpanKind => s(|s| Value::Int(i64::from(s.kind))),
        B::SpanStatusCode => {
            s(|s| Value::Int(s.status.as_ref().map_or(0, |st| i64::from(st.code))))
        }
        B::SpanStatusMessage => s(|s| Value::Str(s.status.as_ref().map_or("", |st| &st.message))),
        B::SpanTraceId => s(|s| Value::Id(&s.trace_id, 16)),
        B::SpanSpanId => s(|s| Value::Id(&s.span_id, 8)),
        B::SpanParentSpanId => s(|s| Value::Id(&s.parent_span_id, 8)),
        B::SpanTraceState => s(|s| Value::Str(&s.trace_state)),
        B::SpanStart => s(|s| int(s.start_time_unix_nano)),
        B::SpanEnd => s(|s| int(s.end_time_unix_nano)),
        B::EventAttrs => event().map_or(Value::Nil, |e| lookup(&e.attributes, key)),
        B::EventName => event().map_or(Value::Nil, |e| Value::Str(&e.name)),
        B::EventTime => event().map_or(Value::Nil, |e| int(e.time_unix_nano)),
        B::LogAttrs => record().map_or(Value::Nil, |r| lookup(&r.attributes, key)),
        B::LogBody => l(|r| Value::of_any(r.body.as_ref())),
        B::LogSeverityNumber => l(|r| Value::Int(i64::from(r.severity_number))),
        B::LogSeverityText => l(|r| Value::Str(&r.severity_text)),
        B::LogTime => l(|r| int(r.time_unix_nano)),
        B::LogObservedTime => l(|r| int(r.observed_time_unix_nano)),
        B::LogTraceId => l(|r| Value::Id(&r.trace_id, 16)),
        B::LogSpanId => l(|r| Value::Id(&r.span_id, 8)),
        B::LogEventName => l(|r| Value::Str(&r.event_name)),
        B::LogFlags => l(|r| Value::Int(i64::from(r.flags))),
        B::MetricName => m(|m| Value::Str(&m.name)),
        B::MetricDescription => m(|m| Value::Str(&m.description)),
        B::MetricUnit => m(|m| Value::Str(&m.unit)),
        B::MetricType => m(|m| Value::Int(metric_type(m))),
        B::MetricTemporality => m(temporality),
        B::MetricMonotonic => m(|m| match &m.data {
            Some(Data::Sum(s)) => Value::Bool(s.is_monotonic),
            _ => Value::Nil,
        }),
        B::PointAttrs => point().map_or(Value::Nil, |p| lookup(p.attributes(), key)),
        B::PointStart => pt(|p| int(p.start_time())),
        B::PointTime => pt(|p| int(p.time())),
        B::PointValueInt => pt(|p| match p {
            Point::Number(n) => Value::Int(match n.value {
                Some(number_data_point::Value::AsInt(i)) => i,
                _ => 0,
            }),
            _ => Value::Nil,
        }),
        B::PointValueDouble => pt(|p| match p {
            Point::Number(n) => Value::Float(match n.value {
                Some(number_data_point::Value::AsDouble(d)) => d,
                _ => 0.0,
            }),
            _ => Value::Nil,
        }),
        B::PointCount => pt(|p| match p {
            Point::Number(_) => Value::Nil,
            Point::Histogram(h) => int(h.count),
            Point::ExponentialHistogram(h) => int(h.count),
            Point::Summary(s) => int(s.count),
        }),
        B::PointSum => pt(|p| match p {
            Point::Number(_) => Value::Nil,
            Point::Histogram(h) => Value::Float(h.sum.unwrap_or(0.0)),
            Point::ExponentialHistogram(h) => Value::Float(h.sum.unwrap_or(0.0)),
            Point::Summary(s) => Value::Float(s.sum),
        }),
        B::Request => Value::Nil,
    }
}
