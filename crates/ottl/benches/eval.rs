//! Cost of evaluating one condition on one span: `cargo bench -p stratus-ottl`.
//!
//! The span has 8 attributes and its resource 8 (a typical instrumented HTTP server);
//! each benchmark evaluates one parsed condition on it, so criterion's time is the
//! time per evaluation.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use stratus_ottl::{Condition, Context, Item};
use stratus_testkit::otlp::{SpanKind, span, traces};

fn bench(c: &mut Criterion) {
    let rs = traces()
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
        .scope("io.opentelemetry.servlet")
        .span(
            span("GET /cart/{id}")
                .kind(SpanKind::Server)
                .error("upstream timeout")
                .attr("http.request.method", "GET")
                .attr("url.scheme", "https")
                .attr("server.address", "shop.example.com")
                .attr("url.path", "/cart/42")
                .attr("http.response.status_code", 503)
                .attr("client.address", "203.0.113.7")
                .attr("user_agent.original", "Mozilla/5.0")
                .attr("cart.items", 3),
        )
        .resource_spans();
    let item = Item::Span {
        resource: rs[0].resource.as_ref(),
        scope: rs[0].scope_spans[0].scope.as_ref(),
        span: &rs[0].scope_spans[0].spans[0],
    };
    let cases = [
        ("name_eq", r#"name == "GET /cart/{id}""#),
        ("last_attribute_eq", r#"attributes["cart.items"] == 3"#),
        (
            "resource_attribute_eq",
            r#"resource.attributes["cloud.region"] == "eu-west-1""#,
        ),
        (
            "three_terms",
            r#"status.code == STATUS_CODE_ERROR and kind == SPAN_KIND_SERVER and attributes["http.response.status_code"] >= 500"#,
        ),
        (
            "is_match",
            r#"IsMatch(attributes["url.path"], "^/cart/\\d+$")"#,
        ),
        (
            "is_match_int",
            r#"IsMatch(attributes["http.response.status_code"], "^5\\d\\d$")"#,
        ),
    ];
    let mut group = c.benchmark_group("ottl_eval_span");
    for (name, text) in cases {
        let cond = Condition::parse(text, Context::Span).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cond.eval(&item), Ok(true), "{name}");
        group.bench_function(name, |b| b.iter(|| black_box(&cond).eval(black_box(&item))));
    }
    group.finish();
    c.bench_function("ottl_parse_three_terms", |b| {
        b.iter(|| Condition::parse(black_box(cases[3].1), Context::Span))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
