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

use base64::Engine as _;
use serde_json::{Map, Value};
use stratus_core::Payload;
use stratus_core::pdata::common::{AnyValue, InstrumentationScope, KeyValue, any_value};
use stratus_core::pdata::metrics::{Metric, NumberDataPoint, metric::Data, number_data_point};
use stratus_core::pdata::resource::Resource;

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

/// RFC 3339 with nanoseconds (`2024-05-01T10:00:00.000000000Z`); `0` means unknown and
/// gives now.
pub fn time(unix_nano: u64) -> String {
    let t = if unix_nano == 0 {
        SystemTime::now()
    } else {
        UNIX_EPOCH + Duration::from_nanos(unix_nano)
    };
    humantime::format_rfc3339_nanos(t).to_string()
}

/// An OTLP value as JSON.
pub fn value(v: &AnyValue) -> Value {
    match &v.value {
        None => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
        Some(any_value::Value::IntValue(i)) => Value::from(*i),
        Some(any_value::Value::DoubleValue(d)) => number(*d),
        Some(any_value::Value::ArrayValue(a)) => Value::Array(a.values.iter().map(value).collect()),
        Some(any_value::Value::KvlistValue(kv)) => attributes(&kv.values),
        Some(any_value::Value::BytesValue(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        // A string-table index (profiles only): no table here.
        Some(_) => Value::Null,
    }
}

fn number(d: f64) -> Value {
    serde_json::Number::from_f64(d).map_or(Value::Null, Value::Number)
}

/// Attributes as one JSON object (a later duplicate key wins).
pub fn attributes(kvs: &[KeyValue]) -> Value {
    let mut map = Map::with_capacity(kvs.len());
    for kv in kvs {
        map.insert(kv.key.clone(), kv.value.as_ref().map_or(Value::Null, value));
    }
    Value::Object(map)
}

fn id(bytes: &[u8]) -> Value {
    if bytes.iter().all(|b| *b == 0) {
        Value::String(String::new())
    } else {
        Value::String(hex::encode(bytes))
    }
}

/// What every row of one resource and scope shares.
struct Common {
    service: Value,
    resource: Value,
    scope: Value,
}

fn common(resource: Option<&Resource>, scope: Option<&InstrumentationScope>) -> Common {
    let attrs = resource
        .map(|r| r.attributes.as_slice())
        .unwrap_or_default();
    let service = attrs
        .iter()
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| kv.value.as_ref())
        .map_or(Value::String(String::new()), |v| match value(v) {
            Value::String(s) => Value::String(s),
            other => Value::String(other.to_string()),
        });
    Common {
        service,
        resource: attributes(attrs),
        scope: Value::String(scope.map(|s| s.name.clone()).unwrap_or_default()),
    }
}

fn put(row: &mut Map<String, Value>, key: &str, v: Value) {
    row.insert(key.to_string(), v);
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

/// One serialised row per item of the payload, in payload order.
pub fn rows(payload: &Payload) -> Vec<String> {
    let mut out = Vec::with_capacity(payload.item_count());
    for_each_row(payload, |row| {
        out.push(Value::Object(row).to_string());
    });
    out
}

/// Calls `f` with one row per item of the payload, in payload order.
pub fn for_each_row(payload: &Payload, mut f: impl FnMut(Map<String, Value>)) {
    match payload {
        Payload::Traces(rs) => {
            for r in rs {
                for ss in &r.scope_spans {
                    let c = common(r.resource.as_ref(), ss.scope.as_ref());
                    for s in &ss.spans {
                        let mut row = Map::with_capacity(TRACE_COLUMNS.len());
                        put(
                            &mut row,
                            "TimeGenerated",
                            Value::String(time(s.start_time_unix_nano)),
                        );
                        put(&mut row, "TraceId", id(&s.trace_id));
                        put(&mut row, "SpanId", id(&s.span_id));
                        put(&mut row, "ParentId", id(&s.parent_span_id));
                        put(&mut row, "TraceState", Value::String(s.trace_state.clone()));
                        put(&mut row, "Name", Value::String(s.name.clone()));
                        put(&mut row, "Kind", Value::String(kind_name(s.kind).into()));
                        put(
                            &mut row,
                            "EndTime",
                            Value::String(time(s.end_time_unix_nano)),
                        );
                        let ns = s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano);
                        put(&mut row, "DurationMs", number(ns as f64 / 1e6));
                        let (code, message) = match &s.status {
                            Some(st) => (
                                match st.code {
                                    1 => "Ok",
                                    2 => "Error",
                                    _ => "Unset",
                                },
                                st.message.clone(),
                            ),
                            None => ("Unset", String::new()),
                        };
                        put(&mut row, "StatusCode", Value::String(code.into()));
                        put(&mut row, "StatusMessage", Value::String(message));
                        put(&mut row, "ServiceName", c.service.clone());
                        put(&mut row, "ScopeName", c.scope.clone());
                        put(&mut row, "Attributes", attributes(&s.attributes));
                        put(&mut row, "Resource", c.resource.clone());
                        let events = s
                            .events
                            .iter()
                            .map(|e| {
                                serde_json::json!({"Time": time(e.time_unix_nano), "Name": e.name,
                                    "Attributes": attributes(&e.attributes)})
                            })
                            .collect();
                        put(&mut row, "Events", Value::Array(events));
                        let links = s
                            .links
                            .iter()
                            .map(|l| {
                                serde_json::json!({"TraceId": id(&l.trace_id), "SpanId": id(&l.span_id),
                                    "Attributes": attributes(&l.attributes)})
                            })
                            .collect();
                        put(&mut row, "Links", Value::Array(links));
                        f(row);
                    }
                }
            }
        }
        Payload::Logs(rs) => {
            for r in rs {
                for sl in &r.scope_logs {
                    let c = common(r.resource.as_ref(), sl.scope.as_ref());
                    for l in &sl.log_records {
                        let mut row = Map::with_capacity(LOG_COLUMNS.len());
                        let at = if l.time_unix_nano != 0 {
                            l.time_unix_nano
                        } else {
                            l.observed_time_unix_nano
                        };
                        put(&mut row, "TimeGenerated", Value::String(time(at)));
                        put(
                            &mut row,
                            "ObservedTime",
                            Value::String(time(l.observed_time_unix_nano.max(at))),
                        );
                        put(&mut row, "TraceId", id(&l.trace_id));
                        put(&mut row, "SpanId", id(&l.span_id));
                        put(
                            &mut row,
                            "SeverityText",
                            Value::String(l.severity_text.clone()),
                        );
                        put(&mut row, "SeverityNumber", Value::from(l.severity_number));
                        let body = match l.body.as_ref().map(value) {
                            None | Some(Value::Null) => String::new(),
                            Some(Value::String(s)) => s,
                            Some(other) => other.to_string(),
                        };
                        put(&mut row, "Body", Value::String(body));
                        put(&mut row, "ServiceName", c.service.clone());
                        put(&mut row, "ScopeName", c.scope.clone());
                        put(&mut row, "Attributes", attributes(&l.attributes));
                        put(&mut row, "Resource", c.resource.clone());
                        f(row);
                    }
                }
            }
        }
        Payload::Metrics(rs) => {
            for r in rs {
                for sm in &r.scope_metrics {
                    let c = common(r.resource.as_ref(), sm.scope.as_ref());
                    for m in &sm.metrics {
                        metric_rows(m, &c, &mut f);
                    }
                }
            }
        }
    }
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

fn metric_rows(m: &Metric, c: &Common, f: &mut impl FnMut(Map<String, Value>)) {
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
        let mut row = Map::with_capacity(METRIC_COLUMNS.len());
        put(&mut row, "TimeGenerated", Value::String(time(p.time)));
        if p.start != 0 {
            put(&mut row, "StartTime", Value::String(time(p.start)));
        }
        put(&mut row, "Name", Value::String(m.name.clone()));
        put(
            &mut row,
            "Description",
            Value::String(m.description.clone()),
        );
        put(&mut row, "Unit", Value::String(m.unit.clone()));
        put(&mut row, "Type", Value::String(kind.into()));
        put(&mut row, "Value", number(p.value));
        put(&mut row, "Count", Value::from(p.count));
        for (key, v) in [("Sum", p.sum), ("Min", p.min), ("Max", p.max)] {
            if let Some(v) = v {
                put(&mut row, key, number(v));
            }
        }
        put(&mut row, "ServiceName", c.service.clone());
        put(&mut row, "ScopeName", c.scope.clone());
        put(&mut row, "Attributes", attributes(p.attrs));
        put(&mut row, "Resource", c.resource.clone());
        f(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_core::pdata::trace::status::StatusCode;
    use stratus_testkit::otlp::{
        SeverityNumber, SpanKind, gauge, histogram, log, logs, metrics, span, traces,
    };

    fn one(p: &Payload) -> Value {
        let r = rows(p);
        assert_eq!(r.len(), 1);
        serde_json::from_str(&r[0]).unwrap()
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
        assert_eq!(value(&arr), json!(["a", 2]));
        let kv = AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: vec![KeyValue {
                    key: "k".into(),
                    value: Some(s("v")),
                    ..Default::default()
                }],
            })),
        };
        assert_eq!(value(&kv), json!({"k": "v"}));
        assert_eq!(
            value(&AnyValue {
                value: Some(any_value::Value::DoubleValue(f64::NAN))
            }),
            Value::Null
        );
        assert_eq!(
            value(&AnyValue {
                value: Some(any_value::Value::BytesValue(vec![1, 2]))
            }),
            json!("AQI=")
        );
    }
}
