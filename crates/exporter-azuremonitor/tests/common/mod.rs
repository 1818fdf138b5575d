//! Builders shared by the integration tests: OTLP items the golden pairs do not cover.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use prost::Message as _;
use std::path::PathBuf;
use stratus_core::Payload;
use stratus_core::pdata::common::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value::Value,
};
use stratus_core::pdata::logs::{LogRecord, ResourceLogs, ScopeLogs};
use stratus_core::pdata::metrics::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Metric, ResourceMetrics, ScopeMetrics,
    Summary, SummaryDataPoint, metric::Data, summary_data_point::ValueAtQuantile,
};
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::{
    ResourceSpans, ScopeSpans, Span, Status, span::Link, status::StatusCode,
};
use stratus_core::pdata::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};

/// The golden cases in `tests/pairs/`.
pub const CASES: &[&str] = &["v01", "v02", "v03", "v04", "v05", "v06", "v07"];

pub fn pairs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pairs")
}

/// The OTLP batch of a golden case, decoded with prost.
pub fn load_payload(case: &str) -> Payload {
    let bytes = std::fs::read(pairs_dir().join(format!("{case}.otlp.binpb"))).unwrap();
    match case {
        "v06" => Payload::Logs(
            ExportLogsServiceRequest::decode(bytes.as_slice())
                .unwrap()
                .resource_logs,
        ),
        "v07" => Payload::Metrics(
            ExportMetricsServiceRequest::decode(bytes.as_slice())
                .unwrap()
                .resource_metrics,
        ),
        _ => Payload::Traces(
            ExportTraceServiceRequest::decode(bytes.as_slice())
                .unwrap()
                .resource_spans,
        ),
    }
}

pub const IKEY: &str = "00000000-0000-0000-0000-000000000000";
pub const T0: u64 = 1_714_557_600_000_000_000;

pub fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

pub fn s(key: &str, v: &str) -> KeyValue {
    kv(key, Value::StringValue(v.to_owned()))
}

pub fn i(key: &str, v: i64) -> KeyValue {
    kv(key, Value::IntValue(v))
}

pub fn resource() -> Resource {
    Resource {
        attributes: vec![s("service.name", "api"), s("service.instance.id", "api-0")],
        ..Default::default()
    }
}

pub fn span(kind: i32, name: &str, attributes: Vec<KeyValue>) -> Span {
    Span {
        trace_id: vec![0x11; 16],
        span_id: vec![0x22; 8],
        parent_span_id: vec![0x33; 8],
        name: name.to_owned(),
        kind,
        start_time_unix_nano: T0,
        end_time_unix_nano: T0 + 1_500_250,
        attributes,
        ..Default::default()
    }
}

pub fn traces(spans: Vec<Span>) -> Payload {
    Payload::Traces(vec![ResourceSpans {
        resource: Some(resource()),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: "test".into(),
                ..Default::default()
            }),
            spans,
            ..Default::default()
        }],
        ..Default::default()
    }])
}

pub fn logs(records: Vec<LogRecord>) -> Payload {
    Payload::Logs(vec![ResourceLogs {
        resource: Some(resource()),
        scope_logs: vec![ScopeLogs {
            scope: Some(InstrumentationScope {
                name: "app.log".into(),
                ..Default::default()
            }),
            log_records: records,
            ..Default::default()
        }],
        ..Default::default()
    }])
}

pub fn metrics(metrics: Vec<Metric>) -> Payload {
    Payload::Metrics(vec![ResourceMetrics {
        resource: Some(resource()),
        scope_metrics: vec![ScopeMetrics {
            metrics,
            ..Default::default()
        }],
        ..Default::default()
    }])
}

pub fn record(severity: i32, body: &str, attributes: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        time_unix_nano: T0,
        observed_time_unix_nano: T0 + 1,
        severity_number: severity,
        body: Some(AnyValue {
            value: Some(Value::StringValue(body.to_owned())),
        }),
        attributes,
        ..Default::default()
    }
}

/// Items the golden pairs do not cover, one of each kind the translator knows.
pub fn coverage_payloads() -> Vec<Payload> {
    let mut rpc = span(
        3,
        "grpc.Greeter/SayHello",
        vec![
            s("rpc.system", "grpc"),
            s("rpc.service", "Greeter"),
            s("server.address", "greeter.internal"),
            i("server.port", 50051),
        ],
    );
    rpc.links = vec![Link {
        trace_id: vec![0xaa; 16],
        span_id: vec![0xbb; 8],
        ..Default::default()
    }];
    rpc.status = Some(Status {
        code: StatusCode::Ok as i32,
        ..Default::default()
    });
    let old_http_server = span(
        2,
        "GET",
        vec![
            s("http.method", "GET"),
            s("http.scheme", "http"),
            s("http.target", "/x?y=1"),
            s("http.host", "h.example:8080"),
            i("http.status_code", 404),
            s("http.user_agent", "curl"),
            s("net.peer.ip", "10.0.0.1"),
            s("enduser.id", "alice"),
        ],
    );
    let old_db = span(
        3,
        "SELECT",
        vec![
            s("db.system", "mssql"),
            s("db.statement", "SELECT 1"),
            s("net.peer.name", "sql.internal"),
            i("net.peer.port", 1433),
            s("db.name", "main"),
        ],
    );
    let az = span(
        1,
        "ServiceBus.process",
        vec![s("az.namespace", "Microsoft.ServiceBus")],
    );
    let genai = span(3, "chat", vec![s("gen_ai.system", "openai")]);
    let arr = kv(
        "list",
        Value::ArrayValue(ArrayValue {
            values: vec![AnyValue {
                value: Some(Value::BoolValue(false)),
            }],
        }),
    );
    let plain = span(0, "unspecified", vec![arr, s("_MS.sampleRate", "50")]);
    let event = record(
        9,
        "checkout",
        vec![
            s("microsoft.custom_event.name", "CheckoutCompleted"),
            s("microsoft.custom_measurements", r#"{"total": 12.5}"#),
            s("cart", "c-1"),
        ],
    );
    let mut no_ctx = record(1, "  ", vec![]);
    no_ctx.time_unix_nano = 0;
    let fatal = record(21, "", vec![s("exception.type", "Panic")]);
    let exp = Metric {
        name: "latency".into(),
        data: Some(Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![ExponentialHistogramDataPoint {
                time_unix_nano: T0,
                count: 3,
                sum: Some(12.0),
                min: Some(1.0),
                max: Some(8.0),
                attributes: vec![s("route", "/a")],
                ..Default::default()
            }],
            ..Default::default()
        })),
        ..Default::default()
    };
    let summary = Metric {
        name: "rpc_duration".into(),
        data: Some(Data::Summary(Summary {
            data_points: vec![SummaryDataPoint {
                time_unix_nano: T0,
                count: 4,
                sum: 10.0,
                quantile_values: vec![
                    ValueAtQuantile {
                        quantile: 0.0,
                        value: 0.5,
                    },
                    ValueAtQuantile {
                        quantile: 1.0,
                        value: 6.0,
                    },
                ],
                ..Default::default()
            }],
        })),
        ..Default::default()
    };
    vec![
        traces(vec![rpc, old_http_server, old_db, az, genai, plain]),
        logs(vec![event, no_ctx, fatal]),
        metrics(vec![exp, summary]),
    ]
}
