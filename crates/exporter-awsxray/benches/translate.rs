//! Cost of the X-Ray translator per span: `cargo bench -p stratus-exporter-awsxray`.
//!
//! Each benchmark translates a batch of 100 spans into JSON segment documents
//! (`Translator::translate`, everything the exporter does before sending); criterion
//! reports the time per batch and the spans per second, so ns per span is the batch
//! time divided by 100.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stratus_core::pdata::trace::ResourceSpans;
use stratus_exporter_awsxray::{Translator, TranslatorConfig};
use stratus_testkit::otlp::{SpanKind, TracesBuilder, event, span, traces};

const SPANS: u64 = 100;

fn resource(b: TracesBuilder) -> TracesBuilder {
    b.resource([
        ("service.name", "checkout"),
        ("service.version", "1.4.2"),
        ("cloud.provider", "aws"),
        ("cloud.platform", "aws_eks"),
        ("k8s.cluster.name", "prod"),
        ("k8s.pod.name", "checkout-7d9f"),
        ("telemetry.sdk.name", "opentelemetry"),
        ("telemetry.sdk.language", "java"),
    ])
}

/// Server spans of an HTTP service: 8 attributes each, one of them indexed.
fn http_server() -> Vec<ResourceSpans> {
    let mut b = resource(traces());
    for i in 0..SPANS {
        b = b.span(
            span("GET /cart/{id}")
                .kind(SpanKind::Server)
                .parent(i + 1000)
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
    b.request().resource_spans
}

/// Client spans to a SQL database.
fn db_client() -> Vec<ResourceSpans> {
    let mut b = resource(traces());
    for i in 0..SPANS {
        b = b.span(
            span("SELECT orders")
                .kind(SpanKind::Client)
                .parent(i + 1000)
                .attr("db.system.name", "postgresql")
                .attr("db.namespace", "orders")
                .attr("db.query.text", "SELECT * FROM orders WHERE id = $1")
                .attr("server.address", "db.internal")
                .attr("server.port", 5432),
        );
    }
    b.request().resource_spans
}

/// Failed server spans with a 20-frame Java stack trace.
fn java_exception() -> Vec<ResourceSpans> {
    let mut trace = String::from("java.lang.IllegalStateException: boom\n");
    for f in 0..20 {
        trace.push_str(&format!(
            "\tat com.example.shop.Service.step{f}(Service.java:{})\n",
            f + 10
        ));
    }
    let mut b = resource(traces());
    for i in 0..SPANS {
        b = b.span(
            span("POST /pay")
                .kind(SpanKind::Server)
                .parent(i + 1000)
                .error("boom")
                .attr("http.request.method", "POST")
                .attr("http.response.status_code", 500)
                .event(
                    event("exception")
                        .attr("exception.type", "java.lang.IllegalStateException")
                        .attr("exception.message", "boom")
                        .attr("exception.stacktrace", trace.as_str()),
                ),
        );
    }
    b.request().resource_spans
}

fn bench(c: &mut Criterion) {
    let translator = Translator::new(&TranslatorConfig {
        indexed_attributes: vec!["http.request.method".into()],
        ..TranslatorConfig::default()
    });
    let mut group = c.benchmark_group("awsxray_translate");
    group.throughput(Throughput::Elements(SPANS));
    for (name, batch) in [
        ("http_server_100_spans", http_server()),
        ("db_client_100_spans", db_client()),
        ("java_exception_100_spans", java_exception()),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| black_box(translator.translate(black_box(&batch))));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
