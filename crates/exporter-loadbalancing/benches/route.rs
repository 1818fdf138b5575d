//! Cost of splitting and routing a batch: `cargo bench -p stratus-exporter-loadbalancing`.
//!
//! Each benchmark splits a batch of 100 spans (one resource with 8 attributes, one
//! scope, 6 attributes per span) across 3 backends by trace id: ring lookups plus
//! building one part per backend (`split::split`, what the exporter does before it
//! hands the parts to the backends' queues). Criterion reports the time per batch
//! and the spans per second; ns per span is the batch time divided by 100.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use stratus_core::Payload;
use stratus_exporter_loadbalancing::split::split;
use stratus_exporter_loadbalancing::{HashRing, RoutingKey};
use stratus_testkit::otlp::{SpanKind, span, traces};

const SPANS: u64 = 100;

/// 100 spans in `traces` traces, each trace's spans next to each other.
fn batch(traces_in_batch: u64) -> Payload {
    let per_trace = SPANS / traces_in_batch;
    traces()
        .resource([
            ("service.name", "checkout"),
            ("service.version", "1.4.2"),
            ("cloud.provider", "aws"),
            ("cloud.region", "eu-west-1"),
            ("k8s.cluster.name", "prod"),
            ("k8s.pod.name", "checkout-7d9f"),
            ("telemetry.sdk.name", "opentelemetry"),
            ("telemetry.sdk.language", "java"),
        ])
        .scope("io.opentelemetry.okhttp")
        .spans((0..SPANS).map(|i| {
            let t = u128::from(i / per_trace);
            span("GET /cart/{id}")
                .trace_id(t.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834) | 1)
                .span_id(i + 1)
                .kind(SpanKind::Client)
                .start(1_700_000_000_000_000_000 + i)
                .end(1_700_000_000_005_000_000 + i)
                .attr("http.request.method", "GET")
                .attr("url.full", "https://shop.example.com/cart/42")
                .attr("server.address", "shop.example.com")
                .attr("http.response.status_code", 200)
                .attr("network.protocol.version", "1.1")
                .attr("cart.items", 3)
        }))
        .payload()
}

fn bench(c: &mut Criterion) {
    let backends = ["10.0.1.7:4317", "10.0.2.9:4317", "10.0.3.4:4317"];
    let ring = HashRing::new(&backends);
    let mut group = c.benchmark_group("split_100_spans_3_backends");
    group.throughput(Throughput::Elements(SPANS));
    for (name, n) in [("100_traces", 100), ("10_traces", 10), ("1_trace", 1)] {
        let data = batch(n);
        group.bench_function(name, |b| {
            b.iter_batched(
                || data.clone(),
                |payload| {
                    let mut route = |pos| ring.owner(pos).unwrap_or(0);
                    black_box(split(
                        payload,
                        RoutingKey::TraceId,
                        3,
                        &mut route,
                        &mut || 0,
                    ))
                },
                BatchSize::SmallInput,
            )
        });
    }
    // One backend failing: its share goes round the ring to the next usable one.
    let data = batch(100);
    group.bench_function("100_traces_one_failing", |b| {
        b.iter_batched(
            || data.clone(),
            |payload| {
                let mut route = |pos| ring.owner_where(pos, |i| i != 1).unwrap_or(0);
                black_box(split(
                    payload,
                    RoutingKey::TraceId,
                    3,
                    &mut route,
                    &mut || 0,
                ))
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
