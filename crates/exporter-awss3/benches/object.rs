//! Cost of turning a batch into an S3 object: `cargo bench -p stratus-exporter-awss3`.
//!
//! Each benchmark builds the object of a batch of 100 spans (`S3Settings::object`:
//! marshal, compress, key), everything the exporter does before PutObject; criterion
//! reports the time per batch and the spans per second, so ns per span is the batch
//! time divided by 100. `key` alone is the partition and unique part of one key.

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stratus_core::factory::decode_config;
use stratus_core::{Payload, Signal};
use stratus_exporter_awss3::AwsS3Config;
use stratus_testkit::otlp::{SpanKind, span, traces};

const SPANS: u64 = 100;

/// Server spans of an HTTP service, 8 attributes each, one resource of 4.
fn batch() -> Payload {
    let mut b = traces().resource([
        ("service.name", "checkout"),
        ("service.version", "1.4.2"),
        ("cloud.provider", "aws"),
        ("k8s.pod.name", "checkout-7d9f"),
    ]);
    for i in 0..SPANS {
        b = b.span(
            span("GET /cart/{id}")
                .kind(SpanKind::Server)
                .trace_id(u128::from(i) << 64 | 7)
                .span_id(i + 1)
                .start(1_700_000_000_000_000_000 + i * 1_000)
                .end(1_700_000_000_005_000_000 + i * 1_000)
                .attr("http.request.method", "GET")
                .attr("url.scheme", "https")
                .attr("server.address", "shop.example.com")
                .attr("url.path", "/cart/42")
                .attr("http.response.status_code", 200)
                .attr("client.address", "203.0.113.7")
                .attr("user_agent.original", "Mozilla/5.0")
                .attr("cart.items", 3),
        );
    }
    b.payload()
}

fn settings(config: serde_json::Value) -> stratus_exporter_awss3::S3Settings {
    match decode_config::<AwsS3Config>(&config).map(|c| c.settings()) {
        Ok(Ok(s)) => s,
        other => panic!("bench config: {other:?}"),
    }
}

fn bench(c: &mut Criterion) {
    let payload = batch();
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_748_783_000);
    let mut group = c.benchmark_group("awss3_object");
    group.throughput(Throughput::Elements(SPANS));
    for (name, config) in [
        (
            "brief_otlp_json_gzip_100_spans",
            serde_json::json!({"region": "us-east-1", "s3_bucket": "b", "s3_prefix": "traces/",
                "s3_partition": "hour", "compression": "gzip", "marshaler": "otlp_json"}),
        ),
        (
            "otlp_json_100_spans",
            serde_json::json!({"s3uploader": {"s3_bucket": "b"}, "marshaler": "otlp_json"}),
        ),
        (
            "otlp_proto_zstd_100_spans",
            serde_json::json!({"s3uploader": {"s3_bucket": "b", "compression": "zstd"},
                "marshaler": "otlp_proto"}),
        ),
    ] {
        let s = settings(config);
        group.bench_function(name, |b| {
            b.iter(|| black_box(s.object(black_box(&payload), time, 42)));
        });
    }
    group.finish();

    let s = settings(serde_json::json!({"s3uploader": {"s3_bucket": "b", "s3_prefix": "traces"}}));
    let keys = s.key_builder(Signal::Traces);
    c.bench_function("awss3_key", |b| {
        b.iter(|| black_box(keys.build(black_box(time), 42)));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
