//! Structured OTLP built from fuzz bytes.
//!
//! Random protobuf rarely names `http.request.method` or `aws.xray.annotations`, so
//! a translator fed only decoded bytes spends its time in the "attribute not found"
//! branches. These builders draw attribute keys from [`KEYS`] (the semantic
//! conventions the translators read) most of the time, and values from a set of
//! edge cases (empty, huge, NaN, negative, nested) or from the bytes themselves.

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
    exponential_histogram_data_point::Buckets, metric, number_data_point,
    summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};

use crate::input::Input;

/// Attribute keys the translators look for (semantic conventions, Application
/// Insights and X-Ray specific keys, EMF placeholders).
pub const KEYS: &[&str] = &[
    "service.name",
    "service.namespace",
    "service.version",
    "service.instance.id",
    "http.method",
    "http.request.method",
    "http.status_code",
    "http.response.status_code",
    "http.url",
    "url.full",
    "url.path",
    "url.query",
    "url.scheme",
    "http.target",
    "http.route",
    "http.host",
    "http.scheme",
    "http.user_agent",
    "user_agent.original",
    "http.client_ip",
    "client.address",
    "server.address",
    "server.port",
    "net.peer.name",
    "net.peer.port",
    "net.host.name",
    "network.peer.address",
    "peer.service",
    "db.system",
    "db.system.name",
    "db.name",
    "db.namespace",
    "db.statement",
    "db.query.text",
    "db.operation",
    "db.user",
    "db.connection_string",
    "rpc.system",
    "rpc.service",
    "rpc.method",
    "messaging.system",
    "messaging.destination",
    "messaging.destination.name",
    "messaging.operation",
    "aws.operation",
    "aws.service",
    "aws.region",
    "aws.request_id",
    "aws.queue_url",
    "aws.table_name",
    "aws.dynamodb.table_names",
    "aws.span.kind",
    "aws.local.service",
    "aws.remote.service",
    "aws.log.group.names",
    "aws.log.group.arns",
    "aws.xray.annotations",
    "aws.xray.metadata.default",
    "aws.emf.storage_resolution",
    "aws.ecs.cluster.arn",
    "aws.ecs.task.arn",
    "aws.ecs.task.family",
    "aws.ecs.launchtype",
    "cloud.provider",
    "cloud.platform",
    "cloud.region",
    "cloud.account.id",
    "host.id",
    "host.name",
    "container.id",
    "k8s.cluster.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.node.name",
    "exception.type",
    "exception.message",
    "exception.stacktrace",
    "exception.escaped",
    "error.type",
    "enduser.id",
    "user.id",
    "session.id",
    "telemetry.sdk.language",
    "telemetry.sdk.version",
    "microsoft.custom_event.name",
    "microsoft.availability.id",
    "microsoft.availability.name",
    "microsoft.availability.duration",
    "microsoft.availability.success",
    "ai.operation.name",
    "ai.user.id",
    "otel.resource.service.name",
    "Type",
    "ClusterName",
    "TaskId",
    "NodeName",
    "PodName",
    "ServiceName",
    "kubernetes",
    "quantile",
    "prom.metric.type",
];

/// String values worth trying anywhere.
const STRINGS: &[&str] = &[
    "",
    "GET",
    "POST",
    "500",
    "200",
    "https://example.com:8443/a/b?c=d#e",
    "/path",
    "mysql",
    "aws-api",
    "AWS::EC2::Instance",
    "aws_ec2",
    "aws",
    "azure",
    "ecs",
    "eks",
    "arn:aws:logs:us-east-1:123456789012:log-group:group:*",
    "{\"_aws\":{\"LogGroupName\":\"g\",\"LogStreamName\":\"s\",\"CloudWatchMetrics\":[]}}",
    "{\"log_group_name\":\"g\",\"log_stream_name\":\"s\"}",
    "{\"a\":1}",
    "[1,2]",
    "Pod",
    "Container",
    "{ClusterName}/{TaskId}",
    "\u{0}",
    "\u{feff}é日本語\u{10ffff}",
    "\\\"\n\t",
    "${env:X}",
    "1.5",
    "-1",
    "NaN",
    "true",
    "1",
];

const DOUBLES: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.5,
    0.5,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::MAX,
    f64::MIN,
    f64::MIN_POSITIVE,
    1e-300,
    1e300,
];

const U64S: &[u64] = &[
    0,
    1,
    999_999,
    1_000_000,
    1_700_000_000_000_000_000,
    i64::MAX as u64,
    (i64::MAX as u64) + 1,
    u64::MAX,
];

const I64S: &[i64] = &[0, 1, -1, i64::MIN, i64::MAX, 1 << 53, 60];

/// A float: an edge case or raw bits.
pub fn double(input: &mut Input<'_>) -> f64 {
    if input.bool() {
        input.pick(DOUBLES)
    } else {
        f64::from_bits(input.u64())
    }
}

/// A u64 (timestamps, counts): an edge case or raw.
pub fn u64(input: &mut Input<'_>) -> u64 {
    if input.bool() {
        input.pick(U64S)
    } else {
        input.u64()
    }
}

fn i64(input: &mut Input<'_>) -> i64 {
    if input.bool() {
        input.pick(I64S)
    } else {
        input.u64() as i64
    }
}

/// A string: an edge case, bytes of the input (lossy UTF-8), or a long run.
pub fn string(input: &mut Input<'_>) -> String {
    match input.below(7) {
        0..=2 => input.pick(STRINGS).to_string(),
        3 => input.pick(KEYS).to_string(),
        4 => {
            let n = input.below(2000);
            input.pick(&["a", "é", "\"", "\\"]).repeat(n)
        }
        _ => {
            let n = input.below(32);
            String::from_utf8_lossy(input.bytes(n)).into_owned()
        }
    }
}

fn key(input: &mut Input<'_>) -> String {
    if input.below(3) == 0 {
        string(input)
    } else {
        input.pick(KEYS).to_string()
    }
}

/// An attribute value, nested at most `depth` more levels.
pub fn any_value(input: &mut Input<'_>, depth: u32) -> AnyValue {
    let max = if depth == 0 { 4 } else { 6 };
    let value = match input.below(max) {
        0 => any_value::Value::StringValue(string(input)),
        1 => any_value::Value::IntValue(i64(input)),
        2 => any_value::Value::DoubleValue(double(input)),
        3 => any_value::Value::BoolValue(input.bool()),
        4 => {
            let n = input.below(4);
            any_value::Value::BytesValue(input.bytes(n * 4).to_vec())
        }
        5 => {
            let n = input.below(4);
            any_value::Value::ArrayValue(ArrayValue {
                values: (0..n).map(|_| any_value(input, depth - 1)).collect(),
            })
        }
        _ => any_value::Value::KvlistValue(KeyValueList {
            values: attributes(input, depth - 1),
        }),
    };
    // An AnyValue with no value at all is valid OTLP too.
    if input.below(15) == 0 {
        AnyValue { value: None }
    } else {
        AnyValue { value: Some(value) }
    }
}

/// Up to eight attributes (keys repeat sometimes, as OTLP allows).
pub fn attributes(input: &mut Input<'_>, depth: u32) -> Vec<KeyValue> {
    let n = input.below(8);
    (0..n)
        .map(|_| KeyValue {
            key: key(input),
            value: Some(any_value(input, depth)),
            ..Default::default()
        })
        .collect()
}

fn id(input: &mut Input<'_>, len: usize) -> Vec<u8> {
    match input.below(5) {
        0 => Vec::new(),
        1 => vec![0; len],
        2 => {
            let n = input.below(20);
            input.bytes(n).to_vec()
        }
        _ => {
            let mut v = input.bytes(len).to_vec();
            v.resize(len, 1);
            v
        }
    }
}

fn resource(input: &mut Input<'_>) -> Option<Resource> {
    (input.below(7) != 0).then(|| Resource {
        attributes: attributes(input, 2),
        dropped_attributes_count: 0,
        ..Default::default()
    })
}

fn scope(input: &mut Input<'_>) -> Option<InstrumentationScope> {
    (input.below(4) != 0).then(|| InstrumentationScope {
        name: string(input),
        version: string(input),
        attributes: attributes(input, 1),
        dropped_attributes_count: input.below(2) as u32,
    })
}

fn span(input: &mut Input<'_>) -> Span {
    let start = u64(input);
    let end = if input.bool() {
        start.wrapping_add(u64::from(input.u32()))
    } else {
        u64(input)
    };
    Span {
        trace_id: id(input, 16),
        span_id: id(input, 8),
        trace_state: if input.below(3) == 0 {
            string(input)
        } else {
            String::new()
        },
        parent_span_id: id(input, 8),
        flags: input.u32(),
        name: string(input),
        kind: input.below(6) as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes: attributes(input, 3),
        dropped_attributes_count: 0,
        events: (0..input.below(3))
            .map(|_| span::Event {
                time_unix_nano: u64(input),
                name: if input.bool() {
                    "exception".into()
                } else {
                    string(input)
                },
                attributes: attributes(input, 2),
                dropped_attributes_count: 0,
            })
            .collect(),
        dropped_events_count: 0,
        links: (0..input.below(2))
            .map(|_| span::Link {
                trace_id: id(input, 16),
                span_id: id(input, 8),
                attributes: attributes(input, 1),
                ..Default::default()
            })
            .collect(),
        dropped_links_count: 0,
        status: (input.below(3) != 0).then(|| Status {
            message: string(input),
            code: input.below(3) as i32,
        }),
    }
}

/// Traces: up to three resources of up to three scopes of up to four spans.
pub fn resource_spans(input: &mut Input<'_>) -> Vec<ResourceSpans> {
    (0..=input.below(2))
        .map(|_| ResourceSpans {
            resource: resource(input),
            scope_spans: (0..=input.below(2))
                .map(|_| ScopeSpans {
                    scope: scope(input),
                    spans: (0..=input.below(3)).map(|_| span(input)).collect(),
                    schema_url: String::new(),
                })
                .collect(),
            schema_url: String::new(),
        })
        .collect()
}

fn number_point(input: &mut Input<'_>) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attributes(input, 1),
        start_time_unix_nano: u64(input),
        time_unix_nano: u64(input),
        value: match input.below(2) {
            0 => Some(number_data_point::Value::AsDouble(double(input))),
            1 => Some(number_data_point::Value::AsInt(i64(input))),
            _ => None,
        },
        flags: input.below(1) as u32,
        ..Default::default()
    }
}

fn metric(input: &mut Input<'_>) -> Metric {
    let points = |input: &mut Input<'_>| input.below(3);
    let temporality = |input: &mut Input<'_>| input.below(2) as i32;
    let data = match input.below(5) {
        0 => metric::Data::Gauge(Gauge {
            data_points: (0..points(input)).map(|_| number_point(input)).collect(),
        }),
        1 => metric::Data::Sum(Sum {
            data_points: (0..points(input)).map(|_| number_point(input)).collect(),
            aggregation_temporality: temporality(input),
            is_monotonic: input.bool(),
        }),
        2 => metric::Data::Histogram(Histogram {
            data_points: (0..points(input))
                .map(|_| {
                    let n = input.below(5);
                    HistogramDataPoint {
                        attributes: attributes(input, 1),
                        start_time_unix_nano: u64(input),
                        time_unix_nano: u64(input),
                        count: u64(input),
                        sum: input.bool().then(|| double(input)),
                        bucket_counts: (0..n).map(|_| u64(input)).collect(),
                        explicit_bounds: (0..input.below(5)).map(|_| double(input)).collect(),
                        min: input.bool().then(|| double(input)),
                        max: input.bool().then(|| double(input)),
                        ..Default::default()
                    }
                })
                .collect(),
            aggregation_temporality: temporality(input),
        }),
        3 => metric::Data::ExponentialHistogram(ExponentialHistogram {
            data_points: (0..points(input))
                .map(|_| {
                    let buckets = |input: &mut Input<'_>| {
                        input.bool().then(|| Buckets {
                            offset: input.u32() as i32,
                            bucket_counts: (0..input.below(5)).map(|_| u64(input)).collect(),
                        })
                    };
                    ExponentialHistogramDataPoint {
                        attributes: attributes(input, 1),
                        start_time_unix_nano: u64(input),
                        time_unix_nano: u64(input),
                        count: u64(input),
                        sum: input.bool().then(|| double(input)),
                        scale: if input.bool() {
                            input.below(40) as i32 - 20
                        } else {
                            input.u32() as i32
                        },
                        zero_count: u64(input),
                        positive: buckets(input),
                        negative: buckets(input),
                        min: input.bool().then(|| double(input)),
                        max: input.bool().then(|| double(input)),
                        zero_threshold: double(input),
                        ..Default::default()
                    }
                })
                .collect(),
            aggregation_temporality: temporality(input),
        }),
        _ => metric::Data::Summary(Summary {
            data_points: (0..points(input))
                .map(|_| SummaryDataPoint {
                    attributes: attributes(input, 1),
                    start_time_unix_nano: u64(input),
                    time_unix_nano: u64(input),
                    count: u64(input),
                    sum: double(input),
                    quantile_values: (0..input.below(4))
                        .map(|_| ValueAtQuantile {
                            quantile: double(input),
                            value: double(input),
                        })
                        .collect(),
                    flags: 0,
                })
                .collect(),
        }),
    };
    Metric {
        name: string(input),
        description: String::new(),
        unit: input
            .pick(&["", "1", "ms", "s", "By", "%", "{requests}", "us", "ns"])
            .to_string(),
        metadata: Vec::new(),
        data: (input.below(9) != 0).then_some(data),
    }
}

/// Metrics: up to three resources of up to three scopes of up to four metrics.
pub fn resource_metrics(input: &mut Input<'_>) -> Vec<ResourceMetrics> {
    (0..=input.below(2))
        .map(|_| ResourceMetrics {
            resource: resource(input),
            scope_metrics: (0..=input.below(2))
                .map(|_| ScopeMetrics {
                    scope: scope(input),
                    metrics: (0..=input.below(3)).map(|_| metric(input)).collect(),
                    schema_url: String::new(),
                })
                .collect(),
            schema_url: String::new(),
        })
        .collect()
}

fn log_record(input: &mut Input<'_>) -> LogRecord {
    LogRecord {
        time_unix_nano: u64(input),
        observed_time_unix_nano: u64(input),
        severity_number: input.below(25) as i32,
        severity_text: string(input),
        body: (input.below(5) != 0).then(|| any_value(input, 3)),
        attributes: attributes(input, 2),
        dropped_attributes_count: 0,
        flags: input.u32(),
        trace_id: id(input, 16),
        span_id: id(input, 8),
        event_name: if input.bool() {
            string(input)
        } else {
            String::new()
        },
    }
}

/// Logs: up to three resources of up to three scopes of up to four records.
pub fn resource_logs(input: &mut Input<'_>) -> Vec<ResourceLogs> {
    (0..=input.below(2))
        .map(|_| ResourceLogs {
            resource: resource(input),
            scope_logs: (0..=input.below(2))
                .map(|_| ScopeLogs {
                    scope: scope(input),
                    log_records: (0..=input.below(3)).map(|_| log_record(input)).collect(),
                    schema_url: String::new(),
                })
                .collect(),
            schema_url: String::new(),
        })
        .collect()
}
