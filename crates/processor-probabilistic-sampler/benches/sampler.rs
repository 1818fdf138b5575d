//! Cost of the sampling decision per span:
//! `cargo bench -p stratus-processor-probabilistic-sampler --bench sampler`.
//!
//! Each benchmark samples a batch of 100 spans with distinct trace ids
//! (`Sampler::sample_traces`, everything the processor does to a batch: decide,
//! remove and free dropped spans, write the tracestate of kept ones). The batch is
//! cloned, and what is kept freed, outside the measured time; criterion reports the time per batch and the spans
//! per second, so ns per span is the batch time divided by 100. The allocator is
//! jemalloc, as in the stratus binary: freeing the dropped spans is part of the cost.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use stratus_core::Signal;
use stratus_core::pdata::trace::ResourceSpans;
use stratus_processor_probabilistic_sampler::{ProbabilisticSamplerConfig, Sampler, SamplerMode};
use stratus_testkit::otlp::{SpanKind, span, traces};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const SPANS: u64 = 100;

/// 100 HTTP server spans, 6 attributes each, with distinct pseudo-random trace ids
/// and the tracestate `trace_state`.
fn batch(trace_state: &str) -> Vec<ResourceSpans> {
    batch_of(trace_state, true)
}

/// The same spans without attributes: what the decision costs without freeing
/// dropped spans' attributes.
fn bare_batch() -> Vec<ResourceSpans> {
    batch_of("", false)
}

fn batch_of(trace_state: &str, attributes: bool) -> Vec<ResourceSpans> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut b = traces().resource([("service.name", "checkout"), ("cloud.provider", "aws")]);
    for _ in 0..SPANS {
        let id = (u128::from(next()) << 64) | u128::from(next());
        let s = span("GET /cart/{id}")
            .trace_id(id)
            .kind(SpanKind::Server)
            .trace_state(trace_state);
        b = b.span(if attributes {
            s.attr("http.request.method", "GET")
                .attr("http.route", "/cart/{id}")
                .attr("http.response.status_code", 200)
                .attr("url.scheme", "https")
                .attr("server.address", "shop.example.com")
                .attr("user_agent.original", "Mozilla/5.0")
        } else {
            s
        });
    }
    b.request().resource_spans
}

fn sampler(pct: f32, mode: SamplerMode) -> Sampler {
    let config = ProbabilisticSamplerConfig {
        sampling_percentage: pct,
        hash_seed: 22,
        mode: Some(mode),
        ..ProbabilisticSamplerConfig::default()
    };
    Sampler::new(&config, Signal::Traces)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("probabilistic_sampler");
    group.throughput(Throughput::Elements(SPANS));
    let cases = [
        (
            "hash_seed_10pct",
            sampler(10.0, SamplerMode::HashSeed),
            batch(""),
        ),
        (
            "hash_seed_10pct_bare_spans",
            sampler(10.0, SamplerMode::HashSeed),
            bare_batch(),
        ),
        (
            "hash_seed_100pct",
            sampler(100.0, SamplerMode::HashSeed),
            batch(""),
        ),
        (
            "proportional_10pct",
            sampler(10.0, SamplerMode::Proportional),
            batch(""),
        ),
        (
            "proportional_10pct_bare_spans",
            sampler(10.0, SamplerMode::Proportional),
            bare_batch(),
        ),
        (
            "proportional_100pct",
            sampler(100.0, SamplerMode::Proportional),
            batch(""),
        ),
        (
            "proportional_50pct_incoming_th_and_vendor",
            sampler(50.0, SamplerMode::Proportional),
            batch("ot=th:8,congo=t61rcWkgMzE"),
        ),
    ];
    for (name, sampler, input) in cases {
        group.bench_function(name, |b| {
            b.iter_batched(
                || input.clone(),
                // The batch goes back out so that criterion frees what is kept
                // outside the measured time (as the exporter would); the spans
                // dropped by the sampler are freed inside it.
                |mut spans| {
                    let tally = sampler.sample_traces(black_box(&mut spans));
                    (black_box(tally), spans)
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
