//! OTLP/JSON: the JSON form of the OTLP export requests, as the collector writes it.
//!
//! [`encode_request`] writes the compact canonical form: lowerCamelCase field names,
//! trace and span ids as hex, 64-bit integers as decimal strings, enums as integers,
//! and fields holding their default value (`0`, `""`, `false`, empty lists) left out.
//! A message that is present but empty is written as `{}` (a span's `"status":{}`), as
//! the collector does, so decoding what was encoded gives back exactly the same data.
//! Values inside a oneof (`stringValue`, `intValue`, `asDouble`, ...) and optional
//! fields (`sum`, `min`, `max` of histogram points) are always written, zero or not.
//!
//! [`decode_request`] and [`decode_any`] read that form and the other forms OTLP/JSON
//! senders produce (default values written out, 64-bit integers as numbers, keys and
//! lists left out).
//!
//! JSON numbers cannot hold NaN or infinities: such doubles are written as absent,
//! except in summary quantiles, which use the strings `"NaN"`, `"Infinity"` and
//! `"-Infinity"`.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest, Payload,
};
use crate::signal::Signal;

mod compact;

/// Fields kept even when they hold a default value: oneof members and proto3
/// `optional` fields, whose presence is part of the data.
const ALWAYS_KEPT: &[&str] = &[
    "stringValue",
    "boolValue",
    "intValue",
    "doubleValue",
    "bytesValue",
    "stringValueStrindex",
    "asDouble",
    "asInt",
    "sum",
    "min",
    "max",
];

/// 64-bit integer fields, written as decimal strings; `"0"` is their default.
const U64_STRING_FIELDS: &[&str] = &[
    "startTimeUnixNano",
    "endTimeUnixNano",
    "timeUnixNano",
    "observedTimeUnixNano",
    "count",
    "zeroCount",
];

/// Lists whose elements are `KeyValue`s.
const KEY_VALUE_LISTS: &[&str] = &["attributes", "metadata", "filteredAttributes"];

/// The top-level key of a signal's export request.
fn top_key(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "resourceSpans",
        Signal::Metrics => "resourceMetrics",
        Signal::Logs => "resourceLogs",
    }
}

/// The payload as its signal's export request in compact OTLP/JSON
/// (`{"resourceSpans":[...]}`), without a trailing newline.
///
/// Each resource is written straight from its `Serialize`, compacted as it goes
/// ([`compact`]): the same bytes as building its `serde_json::Value`, dropping the
/// default-valued fields and writing the tree, without the tree.
pub fn encode_request(payload: &Payload) -> Vec<u8> {
    let mut out = String::with_capacity(payload.encoded_len() * 2 + 32);
    out.push_str("{\"");
    out.push_str(top_key(payload.signal()));
    out.push_str("\":[");
    match payload {
        Payload::Traces(r) => write_compact(&mut out, r),
        Payload::Metrics(r) => write_compact(&mut out, r),
        Payload::Logs(r) => write_compact(&mut out, r),
    }
    // The top-level list is written even when empty, so the signal stays visible.
    out.push_str("]}");
    out.into_bytes()
}

/// Writes each item compacted, comma-separated.
fn write_compact<T: Serialize>(out: &mut String, items: &[T]) {
    let mut first = true;
    for item in items {
        let mark = out.len();
        if !first {
            out.push(',');
        }
        // The OTLP types serialize to plain maps with string keys: this cannot fail.
        if compact::Writer::new(out).write(item).is_err() {
            out.truncate(mark);
            continue;
        }
        first = false;
    }
}

/// Drops default-valued fields below `value` (see the module docs): what the
/// compact writer does as it goes, kept as the tests' reference.
#[cfg(test)]
fn compact_value(value: &mut Value) {
    match value {
        Value::Object(map) => compact_object(map),
        Value::Array(items) => items.iter_mut().for_each(compact_value),
        _ => {}
    }
}

#[cfg(test)]
fn compact_object(map: &mut Map<String, Value>) {
    map.retain(|key, value| match value {
        Value::Null => false,
        Value::Object(inner) => {
            compact_object(inner);
            true
        }
        Value::Array(items) => {
            items.iter_mut().for_each(compact_value);
            !items.is_empty()
        }
        _ if ALWAYS_KEPT.contains(&key.as_str()) => true,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => {
            !(s.is_empty() || (s == "0" && U64_STRING_FIELDS.contains(&key.as_str())))
        }
    });
}

/// Restores the fields the OTLP types require but compact OTLP/JSON leaves out
/// (`key` of a key-value pair, `values` of array and key-value-list values).
fn fill_required(value: &mut Value, context: &str) {
    match value {
        Value::Object(map) => {
            if context == "arrayValue" || context == "kvlistValue" {
                fill(map, "values", || Value::Array(Vec::new()));
            }
            for (key, child) in map.iter_mut() {
                let child_context = if context == "kvlistValue" && key == "values" {
                    "attributes"
                } else {
                    key.as_str()
                };
                fill_required(child, child_context);
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                if let Value::Object(map) = item {
                    if KEY_VALUE_LISTS.contains(&context) {
                        fill(map, "key", || Value::String(String::new()));
                    } else if context == "entityRefs" {
                        fill(map, "schemaUrl", || Value::String(String::new()));
                        fill(map, "type", || Value::String(String::new()));
                        fill(map, "idKeys", || Value::Array(Vec::new()));
                        fill(map, "descriptionKeys", || Value::Array(Vec::new()));
                    }
                }
                fill_required(item, context);
            }
        }
        _ => {}
    }
}

fn fill(map: &mut Map<String, Value>, key: &str, default: impl Fn() -> Value) {
    match map.get_mut(key) {
        Some(v) if !v.is_null() => {}
        Some(v) => *v = default(),
        None => {
            map.insert(key.to_string(), default());
        }
    }
}

/// Decodes an OTLP/JSON export request of `signal`.
pub fn decode_request(signal: Signal, bytes: &[u8]) -> Result<Payload, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("invalid OTLP/JSON: {e}"))?;
    decode_value(signal, value)
}

/// Decodes an OTLP/JSON export request of any signal, telling the signal by its
/// top-level key (`resourceSpans`, `resourceMetrics`, `resourceLogs`).
pub fn decode_any(bytes: &[u8]) -> Result<Payload, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("invalid OTLP/JSON: {e}"))?;
    let signal = Signal::ALL
        .into_iter()
        .find(|s| value.get(top_key(*s)).is_some())
        .ok_or_else(|| {
            "invalid OTLP/JSON: no `resourceSpans`, `resourceMetrics` or `resourceLogs` key"
                .to_string()
        })?;
    decode_value(signal, value)
}

fn decode_value(signal: Signal, mut value: Value) -> Result<Payload, String> {
    if !value.is_object() {
        return Err("invalid OTLP/JSON: expected an object".into());
    }
    fill_required(&mut value, "");
    let invalid = |e: serde_json::Error| format!("invalid OTLP/JSON {signal} request: {e}");
    Ok(match signal {
        Signal::Traces => Payload::Traces(
            serde_json::from_value::<ExportTraceServiceRequest>(value)
                .map_err(invalid)?
                .resource_spans,
        ),
        Signal::Metrics => Payload::Metrics(
            serde_json::from_value::<ExportMetricsServiceRequest>(value)
                .map_err(invalid)?
                .resource_metrics,
        ),
        Signal::Logs => Payload::Logs(
            serde_json::from_value::<ExportLogsServiceRequest>(value)
                .map_err(invalid)?
                .resource_logs,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdata::common::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value};
    use crate::pdata::logs::{LogRecord, ResourceLogs, ScopeLogs};
    use crate::pdata::metrics::{
        Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
        ScopeMetrics, metric, number_data_point,
    };
    use crate::pdata::resource::Resource;
    use crate::pdata::trace::{ResourceSpans, ScopeSpans, Span, Status};

    #[test]
    fn a_batch_of_several_resources_is_written_as_one_tree_would_be() {
        let resource = |name: &str, spans: usize| ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv(
                    "service.name",
                    Some(any_value::Value::StringValue(name.into())),
                )],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: (0..spans)
                    .map(|i| Span {
                        name: format!("op-{i}"),
                        trace_id: vec![7; 16],
                        span_id: vec![i as u8 + 1; 8],
                        start_time_unix_nano: 1_700_000_000_000_000_000,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let rs = vec![
            resource("a", 2),
            resource("b", 1),
            ResourceSpans::default(),
            resource("c", 3),
        ];
        // The whole request as one `Value`, compacted below its list, as it was encoded
        // before resources were written one by one.
        let mut whole = serde_json::to_value(ExportTraceServiceRequest {
            resource_spans: rs.clone(),
        })
        .unwrap();
        let Some(Value::Array(items)) = whole.get_mut("resourceSpans") else {
            panic!("no list");
        };
        items.iter_mut().for_each(compact_value);
        let want = serde_json::to_vec(&whole).unwrap();
        assert_eq!(
            String::from_utf8(encode_request(&Payload::Traces(rs))).unwrap(),
            String::from_utf8(want).unwrap()
        );
        assert_eq!(
            encode_request(&Payload::Logs(vec![])),
            br#"{"resourceLogs":[]}"#
        );
    }

    /// The encoding as it was: each resource through a `serde_json::Value`,
    /// compacted, then written.
    fn via_value(payload: &Payload) -> String {
        fn items<T: Serialize>(items: &[T]) -> Vec<String> {
            items
                .iter()
                .map(|i| {
                    let mut v = serde_json::to_value(i).unwrap();
                    compact_value(&mut v);
                    serde_json::to_string(&v).unwrap()
                })
                .collect()
        }
        let list = match payload {
            Payload::Traces(r) => items(r),
            Payload::Metrics(r) => items(r),
            Payload::Logs(r) => items(r),
        };
        format!("{{\"{}\":[{}]}}", top_key(payload.signal()), list.join(","))
    }

    fn every_metric_type() -> Payload {
        use crate::pdata::metrics::{
            Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Sum, Summary,
            SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets,
            summary_data_point::ValueAtQuantile,
        };
        let attrs = || {
            vec![
                kv(
                    "k",
                    Some(any_value::Value::StringValue("v \"q\" <&>\n".into())),
                ),
                kv("d", Some(any_value::Value::DoubleValue(f64::NAN))),
                kv("z", Some(any_value::Value::DoubleValue(-0.0))),
                kv("b", Some(any_value::Value::BytesValue(vec![1, 2, 255]))),
            ]
        };
        let metric = |name: &str, data| Metric {
            name: name.into(),
            description: "d".into(),
            unit: "ms".into(),
            data: Some(data),
            metadata: attrs(),
        };
        Payload::Metrics(vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: attrs(),
                dropped_attributes_count: 3,
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(crate::pdata::common::InstrumentationScope {
                    name: "s".into(),
                    version: "1".into(),
                    attributes: attrs(),
                    dropped_attributes_count: 0,
                }),
                metrics: vec![
                    metric(
                        "sum",
                        metric::Data::Sum(Sum {
                            data_points: vec![NumberDataPoint {
                                attributes: attrs(),
                                start_time_unix_nano: 1,
                                time_unix_nano: u64::MAX,
                                value: Some(number_data_point::Value::AsInt(i64::MIN)),
                                exemplars: vec![Exemplar {
                                    filtered_attributes: attrs(),
                                    time_unix_nano: 0,
                                    span_id: vec![1; 8],
                                    trace_id: vec![2; 16],
                                    value: Some(exemplar::Value::AsDouble(0.0)),
                                }],
                                flags: 1,
                            }],
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        }),
                    ),
                    metric(
                        "exp",
                        metric::Data::ExponentialHistogram(ExponentialHistogram {
                            data_points: vec![ExponentialHistogramDataPoint {
                                count: 7,
                                sum: Some(f64::INFINITY),
                                scale: -3,
                                zero_count: 0,
                                positive: Some(Buckets {
                                    offset: -2,
                                    bucket_counts: vec![0, 5],
                                }),
                                negative: Some(Buckets::default()),
                                min: Some(0.0),
                                max: None,
                                zero_threshold: 1e-300,
                                ..Default::default()
                            }],
                            aggregation_temporality: 1,
                        }),
                    ),
                    metric(
                        "summary",
                        metric::Data::Summary(Summary {
                            data_points: vec![SummaryDataPoint {
                                count: 2,
                                sum: 1.5e21,
                                quantile_values: vec![
                                    ValueAtQuantile {
                                        quantile: 0.0,
                                        value: f64::NAN,
                                    },
                                    ValueAtQuantile {
                                        quantile: 0.99,
                                        value: f64::NEG_INFINITY,
                                    },
                                ],
                                ..Default::default()
                            }],
                        }),
                    ),
                ],
                schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
            }],
            schema_url: String::new(),
        }])
    }

    fn full_spans_and_logs() -> [Payload; 2] {
        use crate::pdata::trace::span::{Event, Link};
        let attrs = vec![
            kv(
                "list",
                Some(any_value::Value::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue { value: None },
                        AnyValue {
                            value: Some(any_value::Value::IntValue(0)),
                        },
                        AnyValue {
                            value: Some(any_value::Value::ArrayValue(ArrayValue::default())),
                        },
                    ],
                })),
            ),
            kv("é\u{2028}", Some(any_value::Value::BoolValue(true))),
            kv("dup", Some(any_value::Value::StringValue("1".into()))),
            kv("dup", Some(any_value::Value::StringValue("2".into()))),
        ];
        let spans = Payload::Traces(vec![ResourceSpans {
            resource: None,
            scope_spans: vec![ScopeSpans {
                scope: None,
                spans: vec![Span {
                    trace_id: vec![0x5b; 16],
                    span_id: vec![0xc6; 8],
                    trace_state: "a=b".into(),
                    parent_span_id: vec![9; 8],
                    flags: 0x100,
                    name: "GET /".into(),
                    kind: 2,
                    start_time_unix_nano: 5,
                    end_time_unix_nano: 6,
                    attributes: attrs.clone(),
                    dropped_attributes_count: 1,
                    events: vec![Event {
                        time_unix_nano: 7,
                        name: "exception".into(),
                        attributes: attrs.clone(),
                        dropped_attributes_count: 0,
                    }],
                    dropped_events_count: 2,
                    links: vec![Link {
                        trace_id: vec![1; 16],
                        span_id: vec![2; 8],
                        trace_state: String::new(),
                        attributes: vec![],
                        dropped_attributes_count: 0,
                        flags: 0,
                    }],
                    dropped_links_count: 0,
                    status: Some(Status {
                        message: "boom".into(),
                        code: 2,
                    }),
                }],
                schema_url: String::new(),
            }],
            schema_url: "s".into(),
        }]);
        let logs = Payload::Logs(vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    LogRecord {
                        time_unix_nano: 1,
                        observed_time_unix_nano: 2,
                        severity_number: 17,
                        severity_text: "ERROR".into(),
                        body: Some(AnyValue {
                            value: Some(any_value::Value::KvlistValue(KeyValueList {
                                values: attrs.clone(),
                            })),
                        }),
                        attributes: attrs,
                        dropped_attributes_count: 0,
                        flags: 1,
                        trace_id: vec![3; 16],
                        span_id: vec![],
                        event_name: "e".into(),
                    },
                    LogRecord::default(),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }]);
        [spans, logs]
    }

    #[test]
    fn written_as_the_compacted_value_tree_was() {
        let [spans, logs] = full_spans_and_logs();
        for p in [tricky_spans(), every_metric_type(), spans, logs] {
            let got = String::from_utf8(encode_request(&p)).unwrap();
            assert_eq!(got, via_value(&p));
            assert_eq!(decode_any(got.as_bytes()).unwrap().signal(), p.signal());
        }
    }

    #[test]
    fn doubles_parse_to_the_nearest_value() {
        // Found by the `otlp_json` fuzz target: serde_json's default float parser read
        // this bound one ULP off (1.1111111111111113e33), so a round trip changed it.
        let json = br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"h",
            "histogram":{"dataPoints":[{"explicitBounds":[1111111111111111111111111111111100.0]}]}}]}]}]}"#;
        let Ok(Payload::Metrics(rm)) = decode_request(Signal::Metrics, json) else {
            panic!("does not decode");
        };
        let Some(metric::Data::Histogram(h)) = &rm[0].scope_metrics[0].metrics[0].data else {
            panic!("not a histogram");
        };
        assert_eq!(
            h.data_points[0].explicit_bounds,
            vec![1.111_111_111_111_111_1e33]
        );
    }

    fn kv(key: &str, value: Option<any_value::Value>) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value }),
            ..Default::default()
        }
    }

    fn tricky_spans() -> Payload {
        use any_value::Value as V;
        Payload::Traces(vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("zero", Some(V::IntValue(0))),
                    kv("empty", Some(V::StringValue(String::new()))),
                    kv("no", Some(V::BoolValue(false))),
                    kv("nothing", None),
                    kv("", Some(V::StringValue("0".into()))),
                    kv("arr", Some(V::ArrayValue(ArrayValue { values: vec![] }))),
                    kv(
                        "map",
                        Some(V::KvlistValue(KeyValueList {
                            values: vec![kv("", Some(V::DoubleValue(0.0)))],
                        })),
                    ),
                    kv("bytes", Some(V::BytesValue(vec![]))),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(Default::default()),
                spans: vec![
                    Span {
                        trace_id: vec![0xab; 16],
                        span_id: vec![1; 8],
                        name: "0".into(),
                        start_time_unix_nano: 0,
                        end_time_unix_nano: 1_714_557_600_124_456_789,
                        status: Some(Status::default()),
                        ..Default::default()
                    },
                    Span::default(),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }])
    }

    #[test]
    fn compact_form_round_trips_defaults_and_oneofs() {
        let p = tricky_spans();
        let bytes = encode_request(&p);
        let text = String::from_utf8(bytes.clone()).unwrap();
        // Defaults are left out; present-but-empty messages and oneof zeros are kept.
        assert!(text.contains(r#""status":{}"#), "{text}");
        assert!(text.contains(r#""scope":{}"#), "{text}");
        assert!(
            text.contains(r#"{"key":"zero","value":{"intValue":"0"}}"#),
            "{text}"
        );
        assert!(
            text.contains(r#"{"key":"empty","value":{"stringValue":""}}"#),
            "{text}"
        );
        assert!(
            text.contains(r#"{"key":"no","value":{"boolValue":false}}"#),
            "{text}"
        );
        assert!(text.contains(r#"{"key":"nothing","value":{}}"#), "{text}");
        assert!(text.contains(r#""name":"0""#), "{text}");
        assert!(
            text.contains(r#""endTimeUnixNano":"1714557600124456789""#),
            "{text}"
        );
        assert!(!text.contains("startTimeUnixNano"), "{text}");
        assert!(!text.contains("null"), "{text}");
        assert!(!text.contains("parentSpanId"), "{text}");
        assert!(!text.contains("schemaUrl"), "{text}");
        assert!(text.contains(r#""traceId":"abababababababababababababababab""#));
        assert_eq!(decode_request(Signal::Traces, &bytes).unwrap(), p);
        assert_eq!(decode_any(&bytes).unwrap(), p);
    }

    #[test]
    fn metrics_and_logs_round_trip() {
        let metrics = Payload::Metrics(vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    Metric {
                        name: "g".into(),
                        data: Some(metric::Data::Gauge(Gauge {
                            data_points: vec![
                                NumberDataPoint {
                                    value: Some(number_data_point::Value::AsDouble(0.0)),
                                    ..Default::default()
                                },
                                NumberDataPoint {
                                    value: Some(number_data_point::Value::AsInt(0)),
                                    time_unix_nano: 5,
                                    ..Default::default()
                                },
                                NumberDataPoint::default(),
                            ],
                        })),
                        ..Default::default()
                    },
                    Metric {
                        name: "h".into(),
                        data: Some(metric::Data::Histogram(Histogram {
                            data_points: vec![HistogramDataPoint {
                                count: 0,
                                sum: Some(0.0),
                                min: None,
                                max: Some(3.5),
                                bucket_counts: vec![0, 0, 1],
                                explicit_bounds: vec![0.0, 1.0],
                                ..Default::default()
                            }],
                            aggregation_temporality: 1,
                        })),
                        ..Default::default()
                    },
                    Metric {
                        name: "empty-gauge".into(),
                        data: Some(metric::Data::Gauge(Gauge::default())),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }]);
        let bytes = encode_request(&metrics);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(r#""asDouble":0.0"#), "{text}");
        assert!(text.contains(r#""asInt":"0""#), "{text}");
        assert!(text.contains(r#""bucketCounts":["0","0","1"]"#), "{text}");
        assert!(text.contains(r#""gauge":{}"#), "{text}");
        assert_eq!(decode_request(Signal::Metrics, &bytes).unwrap(), metrics);

        let logs = Payload::Logs(vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    severity_number: 9,
                    body: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("hello".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }]);
        let bytes = encode_request(&logs);
        assert_eq!(decode_any(&bytes).unwrap(), logs);
    }

    #[test]
    fn empty_payloads_keep_their_signal() {
        for signal in Signal::ALL {
            let bytes = encode_request(&Payload::empty(signal));
            assert_eq!(
                String::from_utf8(bytes.clone()).unwrap(),
                format!("{{\"{}\":[]}}", top_key(signal))
            );
            assert_eq!(decode_any(&bytes).unwrap(), Payload::empty(signal));
        }
    }

    #[test]
    fn decodes_verbose_and_minimal_forms() {
        // Defaults written out, integers as numbers, `key`/`values` left out.
        let text = br#"{"resourceSpans":[{"resource":{"attributes":[
            {"value":{"arrayValue":{}}},
            {"key":"m","value":{"kvlistValue":{"values":[{"value":{"intValue":7}}]}}}
          ],"droppedAttributesCount":0},
          "scopeSpans":[{"scope":null,"spans":[{"traceId":"","spanId":"0102030405060708",
            "startTimeUnixNano":12,"kind":2,"status":{"code":0},"unknownField":1}]}]}]}"#;
        let Payload::Traces(r) = decode_request(Signal::Traces, text).unwrap() else {
            panic!("wrong signal")
        };
        let attrs = &r[0].resource.as_ref().unwrap().attributes;
        assert_eq!(attrs[0].key, "");
        assert_eq!(
            attrs[0].value.as_ref().unwrap().value,
            Some(any_value::Value::ArrayValue(ArrayValue { values: vec![] }))
        );
        let span = &r[0].scope_spans[0].spans[0];
        assert_eq!(span.span_id, vec![1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!((span.start_time_unix_nano, span.kind), (12, 2));
    }

    #[test]
    fn rejects_malformed_input() {
        assert!(decode_request(Signal::Traces, b"not json").is_err());
        assert!(decode_request(Signal::Traces, b"[1,2]").is_err());
        let err = decode_request(
            Signal::Traces,
            br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#,
        )
        .unwrap_err();
        assert!(err.contains("traces"), "{err}");
        assert!(decode_any(br#"{"somethingElse":[]}"#).is_err());
    }
}
