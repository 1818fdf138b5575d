//! Cost of the filter per span: `cargo bench -p stratus-processor-filter --bench filter`.
//!
//! Each benchmark filters a batch of 100 server spans (8 attributes each, under a
//! resource with 8) with `Rules::apply`, everything the processor does before passing
//! the batch on. The batch is cloned outside the measurement. Criterion reports the
//! time per batch and spans per second; ns per span is the batch time divided by 100.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use stratus_core::Payload;
use stratus_processor_filter::{FilterConfig, Rules, TracesConditions};
use stratus_testkit::otlp::{SpanKind, span, traces};

const SPANS: u64 = 100;

fn batch() -> Payload {
    let mut b = traces()
        .resource([
            ("service.name", "checkout"),
            ("service.version", "1.4.2"),
            ("cloud.provider", "aws"),
            ("cloud.platform", "aws_eks"),
            ("cloud.region", "eu-west-1"),
            ("k8s.cluster.name", "prod"),
            ("k8s.pod.name", "checkout-7d9f"),
            ("telemetry.sdk.language", "java"),
        ])
        .scope("io.opentelemetry.servlet");
    for i in 0..SPANS {
        // Every tenth span is a health check.
        let route = if i % 10 == 0 {
            "/healthz"
        } else {
            "/cart/{id}"
        };
        b = b.span(
            span(format!("GET {route}"))
                .kind(SpanKind::Server)
                .attr("http.request.method", "GET")
                .attr("url.scheme", "https")
                .attr("server.address", "shop.example.com")
                .attr("http.route", route)
                .attr("http.response.status_code", 200)
                .attr("client.address", "203.0.113.7")
                .attr("user_agent.original", "Mozilla/5.0")
                .attr("cart.items", 3),
        );
    }
    b.payload()
}

fn rules(span: &[&str]) -> Rules {
    let config = FilterConfig {
        traces: TracesConditions {
            span: span.iter().map(|s| s.to_string()).collect(),
            spanevent: vec![],
        },
        ..Default::default()
    };
    Rules::from_config(&config).unwrap_or_else(|e| panic!("{e}"))
}

fn bench(c: &mut Criterion) {
    let cases = [
        (
            "one_condition",
            rules(&[r#"attributes["http.route"] == "/healthz""#]),
        ),
        (
            "three_conditions",
            rules(&[
                r#"attributes["http.route"] == "/healthz""#,
                r#"resource.attributes["k8s.namespace.name"] == "kube-system""#,
                r#"IsMatch(attributes["user_agent.original"], "(?i)bot")"#,
            ]),
        ),
    ];
    let input = batch();
    let mut group = c.benchmark_group("filter_spans");
    group.throughput(Throughput::Elements(SPANS));
    for (name, rules) in &cases {
        let mut check = input.clone();
        let dropped = rules.apply(&mut check).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dropped.spans, SPANS / 10, "{name}");
        group.bench_function(*name, |b| {
            b.iter_batched(
                || input.clone(),
                |mut payload| {
                    let d = rules.apply(&mut payload);
                    black_box((payload, d))
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
