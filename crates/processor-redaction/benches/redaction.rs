//! Cost of the redaction processor per span: `cargo bench -p stratus-processor-redaction`.
//!
//! Each benchmark redacts a batch of 100 spans with 10 attributes each (one holding a
//! card number, one an e-mail address) with `Redactor::redact`, everything the
//! processor does before passing the batch on. The batch is cloned outside the timed
//! part. Criterion reports the time per batch and the spans per second, so ns per span
//! is the batch time divided by 100.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use stratus_core::Payload;
use stratus_core::factory::decode_config;
use stratus_processor_redaction::{RedactionConfig, Redactor};
use stratus_testkit::otlp::{SpanKind, span, traces};

const SPANS: u64 = 100;
const VISA: &str = "4[0-9]{12}(?:[0-9]{3})?";
const MASTERCARD: &str = "(5[1-5][0-9]{14})";
const EMAIL: &str = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}";

/// 100 checkout server spans, 10 attributes each.
fn batch() -> Payload {
    let mut b = traces().resource([("service.name", "checkout"), ("cloud.region", "eu-west-1")]);
    for i in 0..SPANS {
        b = b.span(
            span("POST /checkout")
                .kind(SpanKind::Server)
                .start(1_700_000_000_000_000_000 + i * 1_000)
                .end(1_700_000_000_005_000_000 + i * 1_000)
                .attr("http.request.method", "POST")
                .attr("url.path", "/checkout")
                .attr("url.scheme", "https")
                .attr("server.address", "shop.example.com")
                .attr("http.response.status_code", 200)
                .attr("client.address", "203.0.113.7")
                .attr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)")
                .attr("payment.note", "card 4111111111111111 charged")
                .attr("user.email", "jane.doe@example.com")
                .attr("cart.items", 3),
        );
    }
    b.payload()
}

#[expect(
    clippy::expect_used,
    reason = "bench setup: the configs are fixed, and a bad one is a bug in the bench"
)]
fn redactor(config: Value) -> Redactor {
    let config: RedactionConfig = decode_config(&config).expect("bench config");
    Redactor::new(&config).expect("bench config")
}

fn bench(c: &mut Criterion) {
    let cases = [
        (
            // The walk alone: every key kept, no rule to apply.
            "allow_all_no_rules",
            json!({"allow_all_keys": true}),
        ),
        (
            // The brief's case: keep every key, mask values matching 2 regexes.
            "allow_all_2_blocked_values",
            json!({"allow_all_keys": true, "blocked_values": [VISA, MASTERCARD]}),
        ),
        (
            "allow_all_2_blocked_values_summary_debug",
            json!({"allow_all_keys": true, "blocked_values": [VISA, MASTERCARD], "summary": "debug"}),
        ),
        (
            "allowed_keys_8_of_10_2_blocked_values",
            json!({
                "allowed_keys": [
                    "http.request.method", "url.path", "url.scheme", "server.address",
                    "http.response.status_code", "payment.note", "user.email", "cart.items"
                ],
                "blocked_values": [VISA, MASTERCARD],
            }),
        ),
        (
            "allow_all_cards_and_email_sha3",
            json!({
                "allow_all_keys": true,
                "blocked_values": [VISA, MASTERCARD, EMAIL],
                "hash_function": "sha3",
            }),
        ),
    ];
    let input = batch();
    let mut group = c.benchmark_group("redaction");
    group.throughput(Throughput::Elements(SPANS));
    for (name, config) in cases {
        let r = redactor(config);
        group.bench_function(name, |b| {
            b.iter_batched(
                || input.clone(),
                |mut p| {
                    r.redact(&mut p);
                    black_box(p)
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
