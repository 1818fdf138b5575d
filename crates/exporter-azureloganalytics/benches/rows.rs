//! Cost of the row translation: `cargo bench -p stratus-exporter-azureloganalytics`.
//!
//! Each benchmark turns a batch of 100 items (spans with 8 attributes, log records
//! with 4, gauge points with 2; one resource of 4 attributes) into serialised rows
//! (`rows::rows`); criterion reports the time per batch and items per second, so ns
//! per item is the batch time divided by 100.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stratus_core::Payload;
use stratus_exporter_azureloganalytics::rows::rows;
use stratus_testkit::otlp::{SeverityNumber, SpanKind, gauge, log, logs, metrics, span, traces};

const ITEMS: u64 = 100;
const RESOURCE: [(&str, &str); 4] = [
    ("service.name", "checkout"),
    ("service.version", "1.4.2"),
    ("cloud.provider", "azure"),
    ("k8s.pod.name", "checkout-7d9f"),
];

fn spans() -> Payload {
    let mut b = traces().resource(RESOURCE);
    for i in 0..ITEMS {
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
                .attr("user_agent.original", "curl/8.5.0")
                .attr("http.route", "/cart/{id}"),
        );
    }
    b.payload()
}

fn records() -> Payload {
    logs()
        .resource(RESOURCE)
        .records((0..ITEMS).map(|i| {
            log(format!("order {i} placed for customer 42"))
                .severity(SeverityNumber::Info)
                .time(1_700_000_000_000_000_000 + i)
                .attr("order.id", i as i64)
                .attr("customer.tier", "gold")
                .attr("retry", false)
                .attr("amount", 12.5)
        }))
        .payload()
}

fn points() -> Payload {
    let mut g = gauge("queue.depth");
    for i in 0..ITEMS {
        g = g.point(i as i64);
    }
    metrics().resource(RESOURCE).metric(g).payload()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("rows");
    group.throughput(Throughput::Elements(ITEMS));
    group.measurement_time(Duration::from_secs(3));
    for (name, batch) in [
        ("spans", spans()),
        ("logs", records()),
        ("metrics", points()),
    ] {
        group.bench_function(name, |b| b.iter(|| black_box(rows(black_box(&batch)))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
