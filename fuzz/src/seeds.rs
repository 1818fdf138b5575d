//! The seed corpus: real inputs built with the test kit's OTLP builders, written to
//! `fuzz/corpus/<target>/seed-*` by the `stratus-fuzz-seeds` binary and replayed by
//! the smoke tests (which also run these freshly built seeds, so a change in the
//! builders cannot leave the targets untested).

use stratus_core::pdata::json;
use stratus_core::{Payload, Telemetry};
use stratus_exporter_helper::Queue;
use stratus_testkit::otlp::{
    SeverityNumber, SpanKind, event, exp_histogram, exp_histogram_point, gauge, histogram,
    histogram_point, kvlist, link, log, logs, metrics, number_point, sample_logs, sample_metrics,
    sample_spans, scope, span, sum, summary, summary_point, traces,
};

/// A trace with the attributes the translators look at: an HTTP server span, a
/// database client span with an exception event, an AWS SDK call with a link.
pub fn rich_traces() -> Telemetry {
    traces()
        .resource([
            ("service.name", "checkout"),
            ("cloud.provider", "aws"),
            ("cloud.platform", "aws_ecs"),
        ])
        .scope(scope("io.opentelemetry.http").version("2.0"))
        .span(
            span("GET /cart")
                .trace_id([1; 16])
                .span_id([1; 8])
                .kind(SpanKind::Server)
                .start(1_700_000_000_000_000_000)
                .end(1_700_000_000_250_000_000)
                .attr("http.request.method", "GET")
                .attr("url.full", "https://shop.example.com/cart?x=1")
                .attr("http.response.status_code", 500)
                .attr("user_agent.original", "curl/8")
                .error("boom"),
        )
        .span(
            span("SELECT cart")
                .trace_id([1; 16])
                .span_id([2; 8])
                .parent([1; 8])
                .kind(SpanKind::Client)
                .start(1_700_000_000_010_000_000)
                .end(1_700_000_000_020_000_000)
                .attr("db.system", "postgresql")
                .attr("db.statement", "SELECT * FROM cart WHERE id = $1")
                .attr("server.address", "db.internal")
                .event(
                    event("exception")
                        .time(1_700_000_000_015_000_000)
                        .attr("exception.type", "TimeoutError")
                        .attr("exception.message", "took too long")
                        .attr("exception.stacktrace", "at a()\nat b()"),
                ),
        )
        .span(
            span("DynamoDB.GetItem")
                .trace_id([1; 16])
                .span_id([3; 8])
                .parent([1; 8])
                .kind(SpanKind::Client)
                .start(1_700_000_000_030_000_000)
                .end(1_700_000_000_040_000_000)
                .attr("rpc.system", "aws-api")
                .attr("rpc.service", "DynamoDB")
                .attr("aws.region", "eu-west-1")
                .attr("aws.dynamodb.table_names", "carts")
                .link(link([2; 16], [9; 8])),
        )
        .build()
}

/// Every metric type, with attributes EMF dimensions and Application Insights use.
pub fn rich_metrics() -> Telemetry {
    metrics()
        .resource([("service.name", "checkout"), ("k8s.cluster.name", "prod")])
        .scope(scope("meter").version("1"))
        .metric(
            gauge("queue.depth").unit("1").point(
                number_point(4.5)
                    .attr("Type", "Pod")
                    .time(1_700_000_000_000_000_000),
            ),
        )
        .metric(
            sum("http.server.requests").delta().monotonic(true).point(
                number_point(7i64)
                    .attr("http.method", "GET")
                    .time(1_700_000_000_000_000_000),
            ),
        )
        .metric(
            histogram("http.server.duration").unit("ms").point(
                histogram_point([1, 2, 3])
                    .bounds([10.0, 100.0])
                    .count(6)
                    .time(1_700_000_000_000_000_000),
            ),
        )
        .metric(
            exp_histogram("rpc.client.duration").point(
                exp_histogram_point(2)
                    .zero_count(1)
                    .positive(-2, [1, 0, 3])
                    .negative(0, [2])
                    .time(1_700_000_000_000_000_000),
            ),
        )
        .metric(
            summary("latency").point(
                summary_point(10, 55.0)
                    .quantile(0.5, 5.0)
                    .quantile(0.99, 9.0)
                    .time(1_700_000_000_000_000_000),
            ),
        )
        .build()
}

/// Log records with string, structured and EMF bodies, trace context and a custom
/// event.
pub fn rich_logs() -> Telemetry {
    logs()
        .resource([("service.name", "checkout")])
        .scope(scope("logger"))
        .record(
            log("user logged in")
                .severity(SeverityNumber::Info)
                .severity_text("INFO")
                .time(1_700_000_000_000_000_000)
                .trace([1; 16], [1; 8])
                .attr("enduser.id", "u-1"),
        )
        .record(
            log(kvlist([("a", 1i64), ("b", 2i64)]))
                .severity(SeverityNumber::Error)
                .time(1_700_000_000_000_000_000)
                .attr("microsoft.custom_event.name", "Checkout"),
        )
        .record(log(
            "{\"_aws\":{\"Timestamp\":1700000000000,\"LogGroupName\":\"g\",\"LogStreamName\":\"s\",\"CloudWatchMetrics\":[]},\"x\":1}",
        ))
        .build()
}

/// The batches seeds are made from: the test kit's samples and the rich ones.
pub fn batches() -> Vec<(&'static str, Telemetry)> {
    vec![
        ("sample-traces", sample_spans(3)),
        ("sample-metrics", sample_metrics(3)),
        ("sample-logs", sample_logs(3)),
        ("rich-traces", rich_traces()),
        ("rich-metrics", rich_metrics()),
        ("rich-logs", rich_logs()),
    ]
}

/// Small configs exercising env expansion, `--set` (after `\x01`) and the file provider.
const CONFIGS: &[(&str, &str)] = &[
    (
        "minimal",
        "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: ${HOST}:${env:PORT}\n      http: {}\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n",
    ),
    (
        "env-defaults",
        "receivers:\n  otlp:\n    protocols:\n      http:\n        endpoint: ${env:MISSING:-localhost:4318}\nprocessors:\n  batch:\n    timeout: ${TIMEOUT:-1s}\nexporters:\n  nop: {}\n  debug/$$literal: {verbosity: detailed}\nservice:\n  pipelines:\n    logs:\n      receivers: [otlp]\n      processors: [batch]\n      exporters: [nop]\n\x01service::pipelines::logs::exporters=[debug/$$literal]",
    ),
    (
        "connector-file",
        "receivers:\n  otlp: {protocols: {grpc: {endpoint: \"localhost:${file:a}\"}}}\nconnectors:\n  forward: {}\nexporters:\n  awsxray: {region: us-east-1, indexed_attributes: [a]}\n  otlp/gw: ${file:b}\nservice:\n  pipelines:\n    traces/in: {receivers: [otlp], exporters: [forward]}\n    traces/out: {receivers: [forward], exporters: [awsxray, unknown]}\n",
    ),
    (
        "anchors",
        "x: &a {endpoint: localhost:1}\nreceivers:\n  otlp:\n    protocols:\n      grpc: *a\n      <<: {http: {}}\nexporters: {awss3: {s3uploader: {region: us-east-1, s3_bucket: b}}, awsemf: {namespace: ${NESTED}}}\nservice: {pipelines: {metrics: {receivers: [otlp], exporters: [awsemf, awss3]}}}\n",
    ),
];

/// Queue directory layouts (see [`crate::queue::lay_out`]): real segments written by
/// the persistent queue itself, and the same records in the framed-records form.
fn queue_seeds(out: &mut Vec<(&'static str, String, Vec<u8>)>) {
    let segment = written_segment();
    let mut raw = vec![0u8];
    raw.extend_from_slice(&segment);
    out.push(("persistent_queue", "seed-segment".into(), raw));
    let mut stored = vec![0u8, 0x80];
    stored.extend_from_slice(&segment);
    // Mode 0 reads everything after byte 0 as the file; byte 1 is the segment's
    // first byte here, so this variant only flips the `stored` read path.
    out.push(("persistent_queue", "seed-segment-stored".into(), stored));
    // Records without their frames, for the framed modes.
    let mut records = Vec::new();
    let mut at = 0;
    while at + 8 <= segment.len() {
        let len = u32::from_le_bytes([
            segment[at],
            segment[at + 1],
            segment[at + 2],
            segment[at + 3],
        ]) as usize;
        let end = (at + 8 + len).min(segment.len());
        records.push(segment[at + 8..end].to_vec());
        at = end;
    }
    for (mode, name) in [(1u8, "seed-framed"), (2, "seed-framed-cursor")] {
        let mut data = vec![mode];
        if mode == 2 {
            // floor 1, one record above it done.
            data.extend_from_slice(&[1, 1, 2]);
        }
        for r in &records {
            data.extend_from_slice(&(r.len() as u16).to_le_bytes());
            data.extend_from_slice(r);
        }
        out.push(("persistent_queue", name.into(), data));
    }
}

/// A segment file as the persistent queue writes it, holding three small batches
/// (one per signal, with request metadata on one).
pub fn written_segment() -> Vec<u8> {
    use stratus_exporter_helper::PersistentQueue;
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("no temp dir: {e}"),
    };
    let opts = stratus_exporter_helper::PersistentOptions {
        sizer: stratus_exporter_helper::config::Sizer::Requests,
        capacity: 100,
        fsync: false,
        segment_bytes: 1 << 20,
        owner: "seeds".into(),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("no runtime: {e}"),
    };
    let queue = match PersistentQueue::open(dir.path(), opts, Default::default()) {
        Ok(q) => q,
        Err(e) => panic!("cannot open a queue: {e}"),
    };
    rt.block_on(async {
        let with_metadata = Telemetry::with_metadata(
            sample_logs(1).payload,
            stratus_core::Metadata::new(
                Some("127.0.0.1:9".parse().unwrap_or_else(|e| panic!("{e}"))),
                [("x-tenant".to_string(), "a".to_string())],
            ),
        );
        for data in [sample_spans(2), sample_metrics(1), with_metadata] {
            if let Err(e) = queue.offer(data, true).await {
                panic!("offer failed: {e:?}");
            }
        }
    });
    drop(queue);
    let mut segments: Vec<_> = std::fs::read_dir(dir.path())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    segments.sort();
    segments
        .iter()
        .flat_map(|p| std::fs::read(p).unwrap_or_default())
        .collect()
}

/// Every seed: `(target, file name, bytes)`.
pub fn all() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, data) in batches() {
        let payload: &Payload = &data.payload;
        let proto = payload.encode_request();
        out.push(("otlp_proto", format!("seed-{name}"), proto.clone()));
        out.push((
            "otlp_json",
            format!("seed-{name}"),
            json::encode_request(payload),
        ));
        let signal_bits: u8 = match payload {
            Payload::Traces(_) => 0,
            Payload::Metrics(_) => 1,
            Payload::Logs(_) => 2,
        };
        let wants = |target: &str| match target {
            "xray" => signal_bits == 0,
            "emf" => signal_bits == 1,
            "cloudwatch_logs" => signal_bits == 2,
            _ => true,
        };
        for target in [
            "xray",
            "emf",
            "cloudwatch_logs",
            "s3",
            "application_insights",
            "log_analytics",
        ] {
            if !wants(target) {
                continue;
            }
            // Byte 0: bit 0 clear (decode with prost), the signal in bits 1-2 for the
            // targets that take any signal, every other option bit set.
            let first = if matches!(target, "xray" | "emf" | "cloudwatch_logs") {
                0xfe
            } else {
                (signal_bits << 1) | 0xf8
            };
            let mut data = vec![first];
            data.extend_from_slice(&proto);
            out.push((target, format!("seed-{name}"), data));
        }
    }
    // Built-by-generator seeds: byte 0 odd, then bytes that choose.
    for target in [
        "xray",
        "emf",
        "cloudwatch_logs",
        "s3",
        "application_insights",
        "log_analytics",
    ] {
        for (i, first) in [1u8, 0x03, 0x05, 0xff].into_iter().enumerate() {
            let mut data = vec![first];
            data.extend((0..96u32).map(|b| (b.wrapping_mul(37).wrapping_add(i as u32 * 11)) as u8));
            out.push((target, format!("seed-gen-{i}"), data));
        }
    }
    for (name, text) in CONFIGS {
        out.push(("config", format!("seed-{name}"), text.as_bytes().to_vec()));
    }
    queue_seeds(&mut out);
    out
}
