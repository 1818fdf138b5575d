//! Text renderings of a batch: one line per item (`normal`) and every field (`detailed`),
//! in the layout the collector's debug exporter prints.

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use stratus_core::Payload;
use stratus_core::pdata::common::{AnyValue, InstrumentationScope, KeyValue, any_value};
use stratus_core::pdata::logs::ResourceLogs;
use stratus_core::pdata::metrics::exemplar::Value as ExemplarValue;
use stratus_core::pdata::metrics::number_data_point::Value as NumberValue;
use stratus_core::pdata::metrics::{
    HistogramDataPoint as HistogramPoint, Metric, ResourceMetrics, metric::Data,
};
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::ResourceSpans;

/// Items counted per batch, as the collector's basic output names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counts {
    /// `resource spans`, `spans`.
    Traces {
        /// Resources.
        resources: usize,
        /// Spans.
        spans: usize,
    },
    /// `resource metrics`, `metrics`, `data points`.
    Metrics {
        /// Resources.
        resources: usize,
        /// Metrics.
        metrics: usize,
        /// Data points.
        points: usize,
    },
    /// `resource logs`, `log records`.
    Logs {
        /// Resources.
        resources: usize,
        /// Log records.
        records: usize,
    },
}

/// Counts what a batch holds.
pub fn counts(payload: &Payload) -> Counts {
    match payload {
        Payload::Traces(r) => Counts::Traces {
            resources: r.len(),
            spans: payload.item_count(),
        },
        Payload::Metrics(r) => Counts::Metrics {
            resources: r.len(),
            metrics: r
                .iter()
                .flat_map(|rm| &rm.scope_metrics)
                .map(|sm| sm.metrics.len())
                .sum(),
            points: payload.item_count(),
        },
        Payload::Logs(r) => Counts::Logs {
            resources: r.len(),
            records: payload.item_count(),
        },
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Counts::Traces { resources, spans } => {
                write!(f, "Traces: resource spans: {resources}, spans: {spans}")
            }
            Counts::Metrics {
                resources,
                metrics,
                points,
            } => write!(
                f,
                "Metrics: resource metrics: {resources}, metrics: {metrics}, data points: {points}"
            ),
            Counts::Logs { resources, records } => {
                write!(
                    f,
                    "Logs: resource logs: {resources}, log records: {records}"
                )
            }
        }
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A Unix-nanosecond time as the collector prints it: `2024-05-01 10:00:00.001 +0000 UTC`.
pub fn timestamp(nanos: u64) -> String {
    let t = UNIX_EPOCH + Duration::from_nanos(nanos);
    let since = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let mut out = format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    );
    let frac = since.subsec_nanos();
    if frac > 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// A value with its type, as the collector prints it: `Str(GET)`, `Int(3)`.
pub fn any(value: &Option<AnyValue>) -> String {
    use any_value::Value as V;
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(V::StringValue(s)) => format!("Str({s})"),
        Some(V::BoolValue(b)) => format!("Bool({b})"),
        Some(V::IntValue(i)) => format!("Int({i})"),
        Some(V::DoubleValue(d)) => format!("Double({d})"),
        Some(V::BytesValue(b)) => format!("Bytes({})", hex::encode(b)),
        Some(V::ArrayValue(a)) => format!(
            "Slice({})",
            serde_json::Value::Array(a.values.iter().map(raw_json).collect())
        ),
        Some(V::KvlistValue(kv)) => format!("Map({})", kv_json(&kv.values)),
        Some(V::StringValueStrindex(i)) => format!("StrIndex({i})"),
        None => "Empty()".into(),
    }
}

fn raw_json(v: &AnyValue) -> serde_json::Value {
    use any_value::Value as V;
    match &v.value {
        Some(V::StringValue(s)) => s.clone().into(),
        Some(V::BoolValue(b)) => (*b).into(),
        Some(V::IntValue(i)) => (*i).into(),
        Some(V::DoubleValue(d)) => (*d).into(),
        Some(V::BytesValue(b)) => hex::encode(b).into(),
        Some(V::ArrayValue(a)) => serde_json::Value::Array(a.values.iter().map(raw_json).collect()),
        Some(V::KvlistValue(kv)) => kv_json(&kv.values),
        Some(V::StringValueStrindex(i)) => (*i).into(),
        None => serde_json::Value::Null,
    }
}

fn kv_json(kvs: &[KeyValue]) -> serde_json::Value {
    serde_json::Value::Object(
        kvs.iter()
            .map(|kv| {
                let v = kv.value.as_ref().map(raw_json).unwrap_or_default();
                (kv.key.clone(), v)
            })
            .collect(),
    )
}

/// A value without its type: `GET`, `3`.
fn plain(value: &Option<AnyValue>) -> String {
    match value.as_ref().map(raw_json) {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// `k1=v1 k2=v2`.
fn flat_attrs(attrs: &[KeyValue], sep: &str) -> String {
    attrs
        .iter()
        .map(|kv| format!("{}={}", kv.key, plain(&kv.value)))
        .collect::<Vec<_>>()
        .join(sep)
}

fn resource_line(out: &mut String, kind: &str, i: usize, r: &Option<Resource>, schema: &str) {
    let _ = write!(out, "{kind} #{i}");
    if !schema.is_empty() {
        let _ = write!(out, " [{schema}]");
    }
    if let Some(r) = r
        && !r.attributes.is_empty()
    {
        let _ = write!(out, " {}", flat_attrs(&r.attributes, " "));
    }
    out.push('\n');
}

fn scope_line(
    out: &mut String,
    kind: &str,
    i: usize,
    s: &Option<InstrumentationScope>,
    schema: &str,
) {
    let _ = write!(out, "{kind} #{i}");
    if let Some(s) = s {
        if !s.name.is_empty() {
            let _ = write!(out, " {}", s.name);
        }
        if !s.version.is_empty() {
            let _ = write!(out, "@{}", s.version);
        }
    }
    if !schema.is_empty() {
        let _ = write!(out, " [{schema}]");
    }
    out.push('\n');
}

/// One line per span, data point or log record, under a line per resource and scope.
pub fn normal(payload: &Payload) -> String {
    let mut out = String::new();
    match payload {
        Payload::Traces(r) => normal_traces(&mut out, r),
        Payload::Metrics(r) => normal_metrics(&mut out, r),
        Payload::Logs(r) => normal_logs(&mut out, r),
    }
    out
}

fn normal_traces(out: &mut String, resources: &[ResourceSpans]) {
    for (i, rs) in resources.iter().enumerate() {
        resource_line(out, "ResourceSpans", i, &rs.resource, &rs.schema_url);
        for (j, ss) in rs.scope_spans.iter().enumerate() {
            scope_line(out, "ScopeSpans", j, &ss.scope, &ss.schema_url);
            for span in &ss.spans {
                let _ = write!(
                    out,
                    "{} {} {}",
                    span.name,
                    hex::encode(&span.trace_id),
                    hex::encode(&span.span_id)
                );
                if !span.attributes.is_empty() {
                    let _ = write!(out, " {}", flat_attrs(&span.attributes, " "));
                }
                out.push('\n');
            }
        }
    }
}

fn number(v: &Option<NumberValue>) -> String {
    match v {
        Some(NumberValue::AsInt(i)) => i.to_string(),
        Some(NumberValue::AsDouble(d)) => d.to_string(),
        None => String::new(),
    }
}

fn normal_metrics(out: &mut String, resources: &[ResourceMetrics]) {
    for (i, rm) in resources.iter().enumerate() {
        resource_line(out, "ResourceMetrics", i, &rm.resource, &rm.schema_url);
        for (j, sm) in rm.scope_metrics.iter().enumerate() {
            scope_line(out, "ScopeMetrics", j, &sm.scope, &sm.schema_url);
            for m in &sm.metrics {
                for (attrs, value) in points(m) {
                    let _ = writeln!(out, "{}{{{}}} {value}", m.name, flat_attrs(attrs, ","));
                }
            }
        }
    }
}

/// Every data point of a metric as (attributes, value text).
fn points(m: &Metric) -> Vec<(&[KeyValue], String)> {
    let hist = |h: &HistogramPoint| {
        format!(
            "count={} sum={} bounds={:?} counts={:?}",
            h.count,
            h.sum.map(|s| s.to_string()).unwrap_or_default(),
            h.explicit_bounds,
            h.bucket_counts
        )
    };
    match &m.data {
        Some(Data::Gauge(g)) => g
            .data_points
            .iter()
            .map(|p| (p.attributes.as_slice(), number(&p.value)))
            .collect(),
        Some(Data::Sum(s)) => s
            .data_points
            .iter()
            .map(|p| (p.attributes.as_slice(), number(&p.value)))
            .collect(),
        Some(Data::Histogram(h)) => h
            .data_points
            .iter()
            .map(|p| (p.attributes.as_slice(), hist(p)))
            .collect(),
        Some(Data::ExponentialHistogram(h)) => h
            .data_points
            .iter()
            .map(|p| {
                let text = format!(
                    "count={} sum={} scale={} zero_count={}",
                    p.count,
                    p.sum.map(|s| s.to_string()).unwrap_or_default(),
                    p.scale,
                    p.zero_count
                );
                (p.attributes.as_slice(), text)
            })
            .collect(),
        Some(Data::Summary(s)) => s
            .data_points
            .iter()
            .map(|p| {
                let q: Vec<String> = p
                    .quantile_values
                    .iter()
                    .map(|q| format!("q{}={}", q.quantile, q.value))
                    .collect();
                let text = format!("count={} sum={} {}", p.count, p.sum, q.join(" "));
                (p.attributes.as_slice(), text.trim_end().to_string())
            })
            .collect(),
        None => Vec::new(),
    }
}

fn normal_logs(out: &mut String, resources: &[ResourceLogs]) {
    for (i, rl) in resources.iter().enumerate() {
        resource_line(out, "ResourceLog", i, &rl.resource, &rl.schema_url);
        for (j, sl) in rl.scope_logs.iter().enumerate() {
            scope_line(out, "ScopeLog", j, &sl.scope, &sl.schema_url);
            for r in &sl.log_records {
                let _ = write!(out, "{}", plain(&r.body));
                if !r.attributes.is_empty() {
                    let _ = write!(out, " {}", flat_attrs(&r.attributes, " "));
                }
                out.push('\n');
            }
        }
    }
}

/// Every field of every item, as a readable tree.
pub fn detailed(payload: &Payload) -> String {
    let mut out = Tree(String::new());
    match payload {
        Payload::Traces(r) => out.traces(r),
        Payload::Metrics(r) => out.metrics(r),
        Payload::Logs(r) => out.logs(r),
    }
    out.0
}

struct Tree(String);

const SPAN_KINDS: [&str; 6] = [
    "Unspecified",
    "Internal",
    "Server",
    "Client",
    "Producer",
    "Consumer",
];
const STATUS_CODES: [&str; 3] = ["Unset", "Ok", "Error"];
const TEMPORALITIES: [&str; 3] = ["Unspecified", "Delta", "Cumulative"];

fn name_of(names: &[&str], v: i32) -> String {
    usize::try_from(v)
        .ok()
        .and_then(|i| names.get(i))
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("Unknown({v})"))
}

fn severity(n: i32) -> String {
    let name = match n {
        0 => return "Unspecified(0)".into(),
        1..=4 => "Trace",
        5..=8 => "Debug",
        9..=12 => "Info",
        13..=16 => "Warn",
        17..=20 => "Error",
        21..=24 => "Fatal",
        _ => return format!("Unknown({n})"),
    };
    let step = (n - 1) % 4;
    if step == 0 {
        format!("{name}({n})")
    } else {
        format!("{name}{}({n})", step + 1)
    }
}

impl Tree {
    fn line(&mut self, text: impl AsRef<str>) {
        self.0.push_str(text.as_ref());
        self.0.push('\n');
    }

    fn attrs(&mut self, title: &str, attrs: &[KeyValue], indent: &str) {
        if attrs.is_empty() {
            return;
        }
        self.line(title);
        for kv in attrs {
            self.line(format!("{indent}     -> {}: {}", kv.key, any(&kv.value)));
        }
    }

    fn resource(&mut self, kind: &str, i: usize, r: &Option<Resource>, schema: &str) {
        self.line(format!("{kind} #{i}"));
        self.line(format!("Resource SchemaURL: {schema}"));
        if let Some(r) = r {
            self.attrs("Resource attributes:", &r.attributes, "");
        }
    }

    fn scope(&mut self, kind: &str, i: usize, s: &Option<InstrumentationScope>, schema: &str) {
        self.line(format!("{kind} #{i}"));
        self.line(format!("{kind} SchemaURL: {schema}"));
        let (name, version) = s
            .as_ref()
            .map(|s| (s.name.as_str(), s.version.as_str()))
            .unwrap_or_default();
        self.line(format!("InstrumentationScope {name} {version}"));
        if let Some(s) = s {
            self.attrs("InstrumentationScope attributes:", &s.attributes, "");
        }
    }

    fn traces(&mut self, resources: &[ResourceSpans]) {
        for (i, rs) in resources.iter().enumerate() {
            self.resource("ResourceSpans", i, &rs.resource, &rs.schema_url);
            for (j, ss) in rs.scope_spans.iter().enumerate() {
                self.scope("ScopeSpans", j, &ss.scope, &ss.schema_url);
                for (k, span) in ss.spans.iter().enumerate() {
                    self.line(format!("Span #{k}"));
                    self.line(format!(
                        "    Trace ID       : {}",
                        hex::encode(&span.trace_id)
                    ));
                    self.line(format!(
                        "    Parent ID      : {}",
                        hex::encode(&span.parent_span_id)
                    ));
                    self.line(format!(
                        "    ID             : {}",
                        hex::encode(&span.span_id)
                    ));
                    self.line(format!("    Name           : {}", span.name));
                    self.line(format!(
                        "    Kind           : {}",
                        name_of(&SPAN_KINDS, span.kind)
                    ));
                    if !span.trace_state.is_empty() {
                        self.line(format!("    TraceState     : {}", span.trace_state));
                    }
                    self.line(format!(
                        "    Start time     : {}",
                        timestamp(span.start_time_unix_nano)
                    ));
                    self.line(format!(
                        "    End time       : {}",
                        timestamp(span.end_time_unix_nano)
                    ));
                    let (code, message) = span
                        .status
                        .as_ref()
                        .map(|s| (s.code, s.message.as_str()))
                        .unwrap_or_default();
                    self.line(format!(
                        "    Status code    : {}",
                        name_of(&STATUS_CODES, code)
                    ));
                    self.line(format!("    Status message : {message}"));
                    self.attrs("Attributes:", &span.attributes, "");
                    if !span.events.is_empty() {
                        self.line("Events:");
                        for (e, event) in span.events.iter().enumerate() {
                            self.line(format!("SpanEvent #{e}"));
                            self.line(format!("     -> Name: {}", event.name));
                            self.line(format!(
                                "     -> Timestamp: {}",
                                timestamp(event.time_unix_nano)
                            ));
                            self.line(format!(
                                "     -> DroppedAttributesCount: {}",
                                event.dropped_attributes_count
                            ));
                            self.attrs("     -> Attributes::", &event.attributes, "     ");
                        }
                    }
                    if !span.links.is_empty() {
                        self.line("Links:");
                        for (l, link) in span.links.iter().enumerate() {
                            self.line(format!("SpanLink #{l}"));
                            self.line(format!("     -> Trace ID: {}", hex::encode(&link.trace_id)));
                            self.line(format!("     -> ID: {}", hex::encode(&link.span_id)));
                            self.line(format!("     -> TraceState: {}", link.trace_state));
                            self.line(format!(
                                "     -> DroppedAttributesCount: {}",
                                link.dropped_attributes_count
                            ));
                            self.attrs("     -> Attributes::", &link.attributes, "     ");
                        }
                    }
                }
            }
        }
    }

    fn metrics(&mut self, resources: &[ResourceMetrics]) {
        for (i, rm) in resources.iter().enumerate() {
            self.resource("ResourceMetrics", i, &rm.resource, &rm.schema_url);
            for (j, sm) in rm.scope_metrics.iter().enumerate() {
                self.scope("ScopeMetrics", j, &sm.scope, &sm.schema_url);
                for (k, m) in sm.metrics.iter().enumerate() {
                    self.metric(k, m);
                }
            }
        }
    }

    fn metric(&mut self, k: usize, m: &Metric) {
        self.line(format!("Metric #{k}"));
        self.line("Descriptor:");
        self.line(format!("     -> Name: {}", m.name));
        self.line(format!("     -> Description: {}", m.description));
        self.line(format!("     -> Unit: {}", m.unit));
        let data_type = match &m.data {
            Some(Data::Gauge(_)) => "Gauge",
            Some(Data::Sum(_)) => "Sum",
            Some(Data::Histogram(_)) => "Histogram",
            Some(Data::ExponentialHistogram(_)) => "ExponentialHistogram",
            Some(Data::Summary(_)) => "Summary",
            None => "Empty",
        };
        self.line(format!("     -> DataType: {data_type}"));
        match &m.data {
            Some(Data::Sum(s)) => {
                self.line(format!("     -> IsMonotonic: {}", s.is_monotonic));
                self.line(format!(
                    "     -> AggregationTemporality: {}",
                    name_of(&TEMPORALITIES, s.aggregation_temporality)
                ));
            }
            Some(Data::Histogram(h)) => self.line(format!(
                "     -> AggregationTemporality: {}",
                name_of(&TEMPORALITIES, h.aggregation_temporality)
            )),
            Some(Data::ExponentialHistogram(h)) => self.line(format!(
                "     -> AggregationTemporality: {}",
                name_of(&TEMPORALITIES, h.aggregation_temporality)
            )),
            _ => {}
        }
        let numbers = match &m.data {
            Some(Data::Gauge(g)) => Some(&g.data_points),
            Some(Data::Sum(s)) => Some(&s.data_points),
            _ => None,
        };
        for (p, point) in numbers.into_iter().flatten().enumerate() {
            self.line(format!("NumberDataPoints #{p}"));
            self.attrs("Data point attributes:", &point.attributes, "");
            self.times(point.start_time_unix_nano, point.time_unix_nano);
            self.line(format!("Value: {}", number(&point.value)));
            for (e, ex) in point.exemplars.iter().enumerate() {
                let value = match ex.value {
                    Some(ExemplarValue::AsInt(i)) => i.to_string(),
                    Some(ExemplarValue::AsDouble(d)) => d.to_string(),
                    None => String::new(),
                };
                self.line(format!(
                    "Exemplar #{e}: {} trace {} span {}",
                    value,
                    hex::encode(&ex.trace_id),
                    hex::encode(&ex.span_id)
                ));
            }
        }
        match &m.data {
            Some(Data::Histogram(h)) => {
                for (p, point) in h.data_points.iter().enumerate() {
                    self.line(format!("HistogramDataPoints #{p}"));
                    self.attrs("Data point attributes:", &point.attributes, "");
                    self.times(point.start_time_unix_nano, point.time_unix_nano);
                    self.line(format!("Count: {}", point.count));
                    if let Some(sum) = point.sum {
                        self.line(format!("Sum: {sum}"));
                    }
                    if let Some(min) = point.min {
                        self.line(format!("Min: {min}"));
                    }
                    if let Some(max) = point.max {
                        self.line(format!("Max: {max}"));
                    }
                    for (b, bound) in point.explicit_bounds.iter().enumerate() {
                        self.line(format!("ExplicitBounds #{b}: {bound}"));
                    }
                    for (b, count) in point.bucket_counts.iter().enumerate() {
                        self.line(format!("Buckets #{b}, Count: {count}"));
                    }
                }
            }
            Some(Data::ExponentialHistogram(h)) => {
                for (p, point) in h.data_points.iter().enumerate() {
                    self.line(format!("ExponentialHistogramDataPoints #{p}"));
                    self.attrs("Data point attributes:", &point.attributes, "");
                    self.times(point.start_time_unix_nano, point.time_unix_nano);
                    self.line(format!("Count: {}", point.count));
                    if let Some(sum) = point.sum {
                        self.line(format!("Sum: {sum}"));
                    }
                    self.line(format!("Scale: {}", point.scale));
                    self.line(format!("ZeroCount: {}", point.zero_count));
                    for (side, buckets) in
                        [("Positive", &point.positive), ("Negative", &point.negative)]
                    {
                        if let Some(b) = buckets {
                            self.line(format!(
                                "{side} offset {} counts {:?}",
                                b.offset, b.bucket_counts
                            ));
                        }
                    }
                }
            }
            Some(Data::Summary(s)) => {
                for (p, point) in s.data_points.iter().enumerate() {
                    self.line(format!("SummaryDataPoints #{p}"));
                    self.attrs("Data point attributes:", &point.attributes, "");
                    self.times(point.start_time_unix_nano, point.time_unix_nano);
                    self.line(format!("Count: {}", point.count));
                    self.line(format!("Sum: {}", point.sum));
                    for (q, qv) in point.quantile_values.iter().enumerate() {
                        self.line(format!(
                            "QuantileValue #{q}: Quantile {}, Value {}",
                            qv.quantile, qv.value
                        ));
                    }
                }
            }
            _ => {}
        }
    }

    fn times(&mut self, start: u64, time: u64) {
        self.line(format!("StartTimestamp: {}", timestamp(start)));
        self.line(format!("Timestamp: {}", timestamp(time)));
    }

    fn logs(&mut self, resources: &[ResourceLogs]) {
        for (i, rl) in resources.iter().enumerate() {
            self.resource("ResourceLog", i, &rl.resource, &rl.schema_url);
            for (j, sl) in rl.scope_logs.iter().enumerate() {
                self.scope("ScopeLogs", j, &sl.scope, &sl.schema_url);
                for (k, r) in sl.log_records.iter().enumerate() {
                    self.line(format!("LogRecord #{k}"));
                    self.line(format!(
                        "ObservedTimestamp: {}",
                        timestamp(r.observed_time_unix_nano)
                    ));
                    self.line(format!("Timestamp: {}", timestamp(r.time_unix_nano)));
                    self.line(format!("SeverityText: {}", r.severity_text));
                    self.line(format!("SeverityNumber: {}", severity(r.severity_number)));
                    if !r.event_name.is_empty() {
                        self.line(format!("EventName: {}", r.event_name));
                    }
                    self.line(format!("Body: {}", any(&r.body)));
                    self.attrs("Attributes:", &r.attributes, "");
                    self.line(format!("Trace ID: {}", hex::encode(&r.trace_id)));
                    self.line(format!("Span ID: {}", hex::encode(&r.span_id)));
                    self.line(format!("Flags: {}", r.flags));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_values() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            timestamp(1_714_557_600_001_000_000),
            "2024-05-01 10:00:00.001 +0000 UTC"
        );
        assert_eq!(severity(9), "Info(9)");
        assert_eq!(severity(14), "Warn2(14)");
        assert_eq!(severity(99), "Unknown(99)");
        let v = |v| Some(AnyValue { value: Some(v) });
        assert_eq!(any(&v(any_value::Value::StringValue("a".into()))), "Str(a)");
        assert_eq!(any(&v(any_value::Value::IntValue(-3))), "Int(-3)");
        assert_eq!(any(&None), "Empty()");
        assert_eq!(name_of(&SPAN_KINDS, 2), "Server");
        assert_eq!(name_of(&SPAN_KINDS, 9), "Unknown(9)");
    }
}
