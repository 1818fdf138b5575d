//! OTLP → Log Analytics rows: one flat JSON object per span, log record or metric data
//! point (pure; no I/O). The columns of each signal are listed in [`TRACE_COLUMNS`],
//! [`LOG_COLUMNS`] and [`METRIC_COLUMNS`] (name, Log Analytics type), which the ARM
//! template in `deploy/azure/` matches (a test checks it).
//!
//! | OTLP | column |
//! |---|---|
//! | span start / log time (else observed time) / point time | `TimeGenerated` (RFC 3339, ns) |
//! | trace id, span id, parent span id | `TraceId`, `SpanId`, `ParentId` (lowercase hex; empty when absent) |
//! | span kind | `Kind`: `Unspecified`, `Internal`, `Server`, `Client`, `Producer`, `Consumer` |
//! | span end − start | `DurationMs` (real, ms) |
//! | span status | `StatusCode`: `Unset`, `Ok`, `Error`; `StatusMessage` |
//! | resource `service.name` | `ServiceName` |
//! | attributes, resource attributes | `Attributes`, `Resource` (dynamic: JSON objects) |
//! | span events, links | `Events`, `Links` (dynamic: arrays) |
//! | log body | `Body` (a string body as is, any other value as its JSON text) |
//! | gauge / sum value | `Value`; `Count` 1 |
//! | histogram, exponential histogram, summary | `Value` = `Sum` = sum, `Count`, `Min`, `Max` (when present) |
//!
//! Attribute values keep their JSON types: strings, booleans, integers, doubles
//! (non-finite ones become `null`), arrays, maps as objects, bytes as base64.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::fmt::Write as _;

use base64::Engine as _;
use stratus_core::Payload;
use stratus_core::jsonw::{self, integer};
use stratus_core::pdata::common::{AnyValue, InstrumentationScope, KeyValue, any_value};
use stratus_core::pdata::logs::LogRecord;
use stratus_core::pdata::metrics::{Metric, NumberDataPoint, metric::Data, number_data_point};
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::Span;

/// Columns of a span row: (name, Log Analytics column type).
pub const TRACE_COLUMNS: &[(&str, &str)] = &[
    ("TimeGenerated", "datetime"),
    ("TraceId", "string"),
    ("SpanId", "string"),
    ("ParentId", "string"),
    ("TraceState", "string"),
    ("Name", "string"),
    ("Kind", "string"),
    ("EndTime", "datetime"),
    ("DurationMs", "real"),
    ("StatusCode", "string"),
    ("StatusMessage", "string"),
    ("ServiceName", "string"),
    ("ScopeName", "string"),
    ("Attributes", "dynamic"),
    ("Resource", "dynamic"),
    ("Events", "dynamic"),
    ("Links", "dynamic"),
];

/// Columns of a log record row: (name, Log Analytics column type).
pub const LOG_COLUMNS: &[(&str, &str)] = &[
    ("TimeGenerated", "datetime"),
    ("ObservedTime", "datetime"),
    ("TraceId", "string"),
    ("SpanId", "string"),
    ("SeverityText", "string"),
    ("SeverityNumber", "int"),
    ("Body", "string"),
    ("ServiceName", "string"),
    ("ScopeName", "string"),
    ("Attributes", "dynamic"),
    ("Resource", "dynamic"),
];

/// Columns of a metric data point row: (name, Log Analytics column type).
pub const METRIC_COLUMNS: &[(&str, &str)] = &[
    ("TimeGenerated", "datetime"),
    ("StartTime", "datetime"),
    ("Name", "string"),
    ("Description", "string"),
    ("Unit", "string"),
    ("Type", "string"),
    ("Value", "real"),
    ("Count", "long"),
    ("Sum", "real"),
    ("Min", "real"),
    ("Max", "real"),
    ("ServiceName", "string"),
    ("ScopeName", "string"),
    ("Attributes", "dynamic"),
    ("Resource", "dynamic"),
];

/// Appends `unix_nano` as a JSON string in RFC 3339 with nanoseconds
/// (`"2024-05-01T10:00:00.000000000Z"`); `0` means unknown and gives now.
fn time(out: &mut String, unix_nano: u64) {
    let t = if unix_nano == 0 {
        SystemTime::now()
    } else {
        UNIX_EPOCH + Duration::from_nanos(unix_nano)
    };
    let _ = write!(out, "\"{}\"", humantime::format_rfc3339_nanos(t));
}

/// Appends `s` as a JSON string, escaped as `serde_json` escapes it: `"`, `\` and
/// control characters; everything else as is.
fn string(out: &mut String, s: &str) {
    jsonw::string(out, s, &jsonw::Escapes::JSON);
}

/// Appends a double as JSON; a non-finite one is `null`.
fn number(out: &mut String, d: f64) {
    jsonw::float(out, d);
}

/// Appends an OTLP value as JSON: strings, booleans, integers, doubles (non-finite ones
/// `null`), arrays, maps as objects, bytes as base64; an empty value is `null`.
fn value(out: &mut String, v: Option<&AnyValue>) {
    match v.and_then(|v| v.value.as_ref()) {
        None => out.push_str("null"),
        Some(any_value::Value::StringValue(s)) => string(out, s),
        Some(any_value::Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(any_value::Value::IntValue(i)) => integer(out, *i),
        Some(any_value::Value::DoubleValue(d)) => number(out, *d),
        Some(any_value::Value::ArrayValue(a)) => {
            out.push('[');
            for (i, v) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                value(out, Some(v));
            }
            out.push(']');
        }
        Some(any_value::Value::KvlistValue(kv)) => attributes(out, &kv.values),
        Some(any_value::Value::BytesValue(b)) => {
            out.push('"');
            base64::engine::general_purpose::STANDARD.encode_string(b, out);
            out.push('"');
        }
        // A string-table index (profiles only): no table here.
        Some(_) => out.push_str("null"),
    }
}

/// Appends attributes as one JSON object; of keys given twice, the later one wins.
fn attributes(out: &mut String, kvs: &[KeyValue]) {
    out.push('{');
    let mut first = true;
    for (i, kv) in kvs.iter().enumerate() {
        if superseded(kvs, i) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        string(out, &kv.key);
        out.push(':');
        value(out, kv.value.as_ref());
    }
    out.push('}');
}

/// Whether a later attribute has the key of `kvs[i]`. Attribute lists are short and
/// rarely repeat a key, so a scan of the rest costs less than building a set.
fn superseded(kvs: &[KeyValue], i: usize) -> bool {
    let key = kvs[i].key.as_bytes();
    kvs[i + 1..].iter().any(|kv| kv.key.as_bytes() == key)
}

/// Appends an id as a JSON string of lowercase hex; all zeros (or none) is `""`.
fn id(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    if bytes.iter().any(|b| *b != 0) {
        for b in bytes {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out.push('"');
}

/// One row being written: `"Key":` before each column, commas between them.
struct Row<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Row<'a> {
    fn new(out: &'a mut String) -> Self {
        out.clear();
        out.push('{');
        Row { out, first: true }
    }

    /// Starts column `key` (a column name: no escaping needed) and returns the buffer
    /// to write its value into.
    fn col(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        self.out
    }

    fn str(&mut self, key: &str, v: &str) {
        string(self.col(key), v);
    }

    fn end(self) {
        self.out.push('}');
    }
}

/// What every row of one resource and scope shares, written once as JSON.
struct Common {
    service: String,
    resource: String,
    scope: String,
}

fn common(resource: Option<&Resource>, scope: Option<&InstrumentationScope>) -> Common {
    let attrs = resource
        .map(|r| r.attributes.as_slice())
        .unwrap_or_default();
    let mut service = String::new();
    match attrs
        .iter()
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| kv.value.as_ref())
    {
        None => string(&mut service, ""),
        Some(AnyValue {
            value: Some(any_value::Value::StringValue(s)),
        }) => string(&mut service, s),
        // Another kind of value: its JSON text, as a string.
        Some(v) => {
            let mut text = String::new();
            value(&mut text, Some(v));
            string(&mut service, &text);
        }
    }
    let mut resource = String::new();
    attributes(&mut resource, attrs);
    let mut scope_name = String::new();
    string(&mut scope_name, scope.map_or("", |s| s.name.as_str()));
    Common {
        service,
        resource,
        scope: scope_name,
    }
}

impl Common {
    /// The columns every row ends with: service, scope, the item's attributes and the
    /// resource.
    fn finish(&self, mut row: Row<'_>, attrs: &[KeyValue]) {
        row.col("ServiceName").push_str(&self.service);
        row.col("ScopeName").push_str(&self.scope);
        attributes(row.col("Attributes"), attrs);
        row.col("Resource").push_str(&self.resource);
        row.end();
    }
}

fn kind_name(kind: i32) -> &'static str {
    match kind {
        1 => "Internal",
        2 => "Server",
        3 => "Client",
        4 => "Producer",
        5 => "Consumer",
        _ => "Unspecified",
    }
}

/// One serialised row (a JSON object) per item of the payload, in payload order.
pub fn rows(payload: &Payload) -> Vec<String> {
    let mut out = Vec::with_capacity(payload.item_count());
    let mut buf = String::new();
    for_each_row(payload, &mut buf, |row| out.push(row.to_owned()));
    out
}

/// Writes one row per item of the payload into `buf` and calls `f` with it, in
/// payload order.
fn for_each_row(payload: &Payload, buf: &mut String, mut f: impl FnMut(&str)) {
    match payload {
        Payload::Traces(rs) => {
            for r in rs {
                for ss in &r.scope_spans {
                    let c = common(r.resource.as_ref(), ss.scope.as_ref());
                    for s in &ss.spans {
                        span_row(buf, s, &c);
                        f(buf);
                    }
                }
            }
        }
        Payload::Logs(rs) => {
            for r in rs {
                for sl in &r.scope_logs {
                    let c = common(r.resource.as_ref(), sl.scope.as_ref());
                    for l in &sl.log_records {
                        log_row(buf, l, &c);
                        f(buf);
                    }
                }
            }
        }
        Payload::Metrics(rs) => {
            for r in rs {
                for sm in &r.scope_metrics {
                    let c = common(r.resource.as_ref(), sm.scope.as_ref());
                    for m in &sm.metrics {
                        metric_rows(buf, m, &c, &mut f);
                    }
                }
            }
        }
    }
}

fn span_row(buf: &mut String, s: &Span, c: &Common) {
    let mut row = Row::new(buf);
    time(row.col("TimeGenerated"), s.start_time_unix_nano);
    id(row.col("TraceId"), &s.trace_id);
    id(row.col("SpanId"), &s.span_id);
    id(row.col("ParentId"), &s.parent_span_id);
    row.str("TraceState", &s.trace_state);
    row.str("Name", &s.name);
    row.str("Kind", kind_name(s.kind));
    time(row.col("EndTime"), s.end_time_unix_nano);
    let ns = s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano);
    number(row.col("DurationMs"), ns as f64 / 1e6);
    let (code, message) = match &s.status {
        Some(st) => (
            match st.code {
                1 => "Ok",
                2 => "Error",
                _ => "Unset",
            },
            st.message.as_str(),
        ),
        None => ("Unset", ""),
    };
    row.str("StatusCode", code);
    row.str("StatusMessage", message);
    let out = row.col("Events");
    out.push('[');
    for (i, e) in s.events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut event = Row {
            out: &mut *out,
            first: true,
        };
        event.out.push('{');
        time(event.col("Time"), e.time_unix_nano);
        event.str("Name", &e.name);
        attributes(event.col("Attributes"), &e.attributes);
        event.end();
    }
    out.push(']');
    let out = row.col("Links");
    out.push('[');
    for (i, l) in s.links.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut link = Row {
            out: &mut *out,
            first: true,
        };
        link.out.push('{');
        id(link.col("TraceId"), &l.trace_id);
        id(link.col("SpanId"), &l.span_id);
        attributes(link.col("Attributes"), &l.attributes);
        link.end();
    }
    out.push(']');
    c.finish(row, &s.attributes);
}

fn log_row(buf: &mut String, l: &LogRecord, c: &Common) {
    let mut row = Row::new(buf);
    let at = if l.time_unix_nano != 0 {
        l.time_unix_nano
    } else {
        l.observed_time_unix_nano
    };
    time(row.col("TimeGenerated"), at);
    time(row.col("ObservedTime"), l.observed_time_unix_nano.max(at));
    id(row.col("TraceId"), &l.trace_id);
    id(row.col("SpanId"), &l.span_id);
    row.str("SeverityText", &l.severity_text);
    integer(row.col("SeverityNumber"), l.severity_number);
    match l.body.as_ref() {
        Some(AnyValue {
            value: Some(any_value::Value::StringValue(s)),
        }) => row.str("Body", s),
        None | Some(AnyValue { value: None }) => row.str("Body", ""),
        // Any other body: its JSON text, as a string.
        Some(other) => {
            let mut text = String::new();
            value(&mut text, Some(other));
            row.str("Body", &text);
        }
    }
    c.finish(row, &l.attributes);
}

struct Point<'a> {
    time: u64,
    start: u64,
    attrs: &'a [KeyValue],
    value: f64,
    count: u64,
    sum: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
}

impl<'a> Point<'a> {
    /// A gauge or sum point: its value, count 1.
    fn number(p: &'a NumberDataPoint) -> Self {
        let value = match p.value {
            Some(number_data_point::Value::AsDouble(d)) => d,
            Some(number_data_point::Value::AsInt(i)) => i as f64,
            None => 0.0,
        };
        Point {
            time: p.time_unix_nano,
            start: p.start_time_unix_nano,
            attrs: &p.attributes,
            value,
            count: 1,
            sum: None,
            min: None,
            max: None,
        }
    }

    /// A histogram, exponential histogram or summary point: value = sum.
    fn aggregate(
        time: u64,
        start: u64,
        attrs: &'a [KeyValue],
        sum: f64,
        count: u64,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Self {
        Point {
            time,
            start,
            attrs,
            value: sum,
            count,
            sum: Some(sum),
            min,
            max,
        }
    }
}

fn metric_rows(buf: &mut String, m: &Metric, c: &Common, f: &mut impl FnMut(&str)) {
    let (kind, points): (&str, Vec<Point<'_>>) = match &m.data {
        None => return,
        Some(Data::Gauge(g)) => ("Gauge", g.data_points.iter().map(Point::number).collect()),
        Some(Data::Sum(s)) => ("Sum", s.data_points.iter().map(Point::number).collect()),
        Some(Data::Histogram(h)) => (
            "Histogram",
            h.data_points
                .iter()
                .map(|p| {
                    let (time, start) = (p.time_unix_nano, p.start_time_unix_nano);
                    Point::aggregate(
                        time,
                        start,
                        &p.attributes,
                        p.sum.unwrap_or(0.0),
                        p.count,
                        p.min,
                        p.max,
                    )
                })
                .collect(),
        ),
        Some(Data::ExponentialHistogram(h)) => (
            "ExponentialHistogram",
            h.data_points
                .iter()
                .map(|p| {
                    let (time, start) = (p.time_unix_nano, p.start_time_unix_nano);
                    Point::aggregate(
                        time,
                        start,
                        &p.attributes,
                        p.sum.unwrap_or(0.0),
                        p.count,
                        p.min,
                        p.max,
                    )
                })
                .collect(),
        ),
        Some(Data::Summary(s)) => (
            "Summary",
            s.data_points
                .iter()
                .map(|p| {
                    let (time, start) = (p.time_unix_nano, p.start_time_unix_nano);
                    Point::aggregate(time, start, &p.attributes, p.sum, p.count, None, None)
                })
                .collect(),
        ),
    };
    for p in points {
        let mut row = Row::new(buf);
        time(row.col("TimeGenerated"), p.time);
        if p.start != 0 {
            time(row.col("StartTime"), p.start);
        }
        row.str("Name", &m.name);
        row.str("Description", &m.description);
        row.str("Unit", &m.unit);
        row.str("Type", kind);
        number(row.col("Value"), p.value);
        integer(row.col("Count"), p.count);
        for (key, v) in [("Sum", p.sum), ("Min", p.min), ("Max", p.max)] {
            if let Some(v) = v {
                number(row.col(key), v);
            }
        }
        c.finish(row, p.attrs);
        f(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use stratus_core::pdata::trace::status::StatusCode;
    use stratus_testkit::otlp::{
        SeverityNumber, SpanKind, gauge, histogram, log, logs, metrics, span, traces,
    };

    fn one(p: &Payload) -> Value {
        let r = rows(p);
        assert_eq!(r.len(), 1);
        serde_json::from_str(&r[0]).unwrap()
    }

    fn json_of(v: &AnyValue) -> Value {
        let mut out = String::new();
        value(&mut out, Some(v));
        serde_json::from_str(&out).unwrap()
    }

    fn keys_are_columns(row: &Value, columns: &[(&str, &str)]) {
        for (k, v) in row.as_object().unwrap() {
            let (_, ty) = columns
                .iter()
                .find(|(c, _)| c == k)
                .unwrap_or_else(|| panic!("{k}"));
            let ok = match *ty {
                "string" | "datetime" => v.is_string(),
                "real" => v.is_number(),
                "int" | "long" => v.is_i64() || v.is_u64(),
                "dynamic" => v.is_object() || v.is_array(),
                _ => false,
            };
            assert!(ok, "{k}: {v} is not {ty}");
        }
    }

    #[test]
    fn span_row() {
        let p = traces()
            .resource([("service.name", "api"), ("cloud.region", "westeurope")])
            .scope("http")
            .span(
                span("GET /a")
                    .kind(SpanKind::Server)
                    .trace_id(0x4bf92f3577b34da6a3ce929d0e0e4736)
                    .span_id(0x00f067aa0ba902b7)
                    .parent(0x1111)
                    .start(1_714_557_600_000_000_000)
                    .end(1_714_557_600_012_500_000)
                    .status(StatusCode::Error, "boom")
                    .attr("http.response.status_code", 500)
                    .attr("ok", false)
                    .event("cache.miss"),
            )
            .payload();
        let r = one(&p);
        keys_are_columns(&r, TRACE_COLUMNS);
        assert_eq!(r["TimeGenerated"], "2024-05-01T10:00:00.000000000Z");
        assert_eq!(r["EndTime"], "2024-05-01T10:00:00.012500000Z");
        assert_eq!(r["TraceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(r["SpanId"], "00f067aa0ba902b7");
        assert_eq!(r["ParentId"], "0000000000001111");
        assert_eq!(r["Kind"], "Server");
        assert_eq!(r["DurationMs"], 12.5);
        assert_eq!(
            (r["StatusCode"].as_str(), r["StatusMessage"].as_str()),
            (Some("Error"), Some("boom"))
        );
        assert_eq!(r["ServiceName"], "api");
        assert_eq!(r["ScopeName"], "http");
        assert_eq!(
            r["Attributes"],
            json!({"http.response.status_code": 500, "ok": false})
        );
        assert_eq!(
            r["Resource"],
            json!({"service.name": "api", "cloud.region": "westeurope"})
        );
        assert_eq!(r["Events"][0]["Name"], "cache.miss");
        assert_eq!(r["Links"], json!([]));
    }

    #[test]
    fn log_row() {
        let p = logs()
            .resource([("service.name", "worker")])
            .record(
                log("disk almost full")
                    .severity(SeverityNumber::Warn)
                    .time(1_714_557_601_000_000_000)
                    .attr("disk", "/dev/sda")
                    .attr("ratio", 0.93),
            )
            .payload();
        let r = one(&p);
        keys_are_columns(&r, LOG_COLUMNS);
        assert_eq!(r["TimeGenerated"], "2024-05-01T10:00:01.000000000Z");
        assert_eq!(r["Body"], "disk almost full");
        assert_eq!(r["SeverityNumber"], 13);
        assert_eq!(r["TraceId"], "");
        assert_eq!(r["Attributes"], json!({"disk": "/dev/sda", "ratio": 0.93}));
        assert_eq!(r["ServiceName"], "worker");
        // A non-string body is its JSON text.
        let r = one(&logs().record(log(42)).payload());
        assert_eq!(r["Body"], "42");
    }

    #[test]
    fn metric_rows() {
        let p = metrics()
            .metric(gauge("queue.depth").point(3))
            .metric(histogram("latency").bounds([1.0, 5.0]).point([1, 2, 0]))
            .payload();
        let r: Vec<Value> = rows(&p)
            .iter()
            .map(|s| serde_json::from_str(s).unwrap())
            .collect();
        assert_eq!(r.len(), 2);
        for row in &r {
            keys_are_columns(row, METRIC_COLUMNS);
        }
        assert_eq!(
            (r[0]["Name"].as_str(), r[0]["Type"].as_str()),
            (Some("queue.depth"), Some("Gauge"))
        );
        assert_eq!(
            (r[0]["Value"].as_f64(), r[0]["Count"].as_u64()),
            (Some(3.0), Some(1))
        );
        assert_eq!(r[1]["Type"], "Histogram");
        assert_eq!(r[1]["Count"], 3);
        assert_eq!(r[1]["Value"], r[1]["Sum"]);
    }

    #[test]
    fn values_keep_their_json_types() {
        use stratus_core::pdata::common::{ArrayValue, KeyValueList};
        let s = |v: &str| AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        };
        let arr = AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: vec![
                    s("a"),
                    AnyValue {
                        value: Some(any_value::Value::IntValue(2)),
                    },
                ],
            })),
        };
        assert_eq!(json_of(&arr), json!(["a", 2]));
        let kv = AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: vec![KeyValue {
                    key: "k".into(),
                    value: Some(s("v")),
                    ..Default::default()
                }],
            })),
        };
        assert_eq!(json_of(&kv), json!({"k": "v"}));
        assert_eq!(
            json_of(&AnyValue {
                value: Some(any_value::Value::DoubleValue(f64::NAN))
            }),
            Value::Null
        );
        assert_eq!(
            json_of(&AnyValue {
                value: Some(any_value::Value::BytesValue(vec![1, 2]))
            }),
            json!("AQI=")
        );
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for s in [
            "",
            "plain",
            "quote \" and backslash \\",
            "line\nfeed\r\ttab",
            "\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}\u{7f}",
            "ünïcødé ✓ 🚀",
            "</script>",
        ] {
            let mut out = String::new();
            string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn numbers_are_written_as_serde_json_writes_them() {
        for d in [
            0.0,
            -0.0,
            1.0,
            12.5,
            0.1,
            1e-7,
            1e21,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let mut out = String::new();
            number(&mut out, d);
            assert_eq!(out, serde_json::to_string(&d).unwrap(), "{d}");
        }
        for d in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut out = String::new();
            number(&mut out, d);
            assert_eq!(out, "null");
        }
    }

    #[test]
    fn a_later_duplicate_attribute_wins_and_keys_are_escaped() {
        let p = logs()
            .record(
                log("x")
                    .attr("a", 1)
                    .attr("b \"quoted\"", "two")
                    .attr("a", 3),
            )
            .payload();
        let text = &rows(&p)[0];
        let r: Value = serde_json::from_str(text).unwrap();
        assert_eq!(r["Attributes"], json!({"b \"quoted\"": "two", "a": 3}));
        assert_eq!(text.matches("\"a\":").count(), 1, "{text}");
    }

    #[test]
    fn span_events_and_links_are_arrays_of_objects() {
        let p = traces()
            .span(
                span("s")
                    .event("first")
                    .event("second")
                    .link(stratus_testkit::otlp::link(0xabc_u128, 0xdef_u64)),
            )
            .payload();
        let r = one(&p);
        assert_eq!(r["Events"][0]["Name"], "first");
        assert_eq!(r["Events"][1]["Name"], "second");
        assert_eq!(r["Events"][1]["Attributes"], json!({}));
        assert_eq!(
            r["Links"],
            json!([{"TraceId": "00000000000000000000000000000abc",
                    "SpanId": "0000000000000def", "Attributes": {}}])
        );
        assert_eq!(r["ServiceName"], "");
        assert_eq!(r["Resource"], json!({}));
    }
}
