//! Cost of the tail sampler: `cargo bench -p stratus-processor-tail-sampling`.
//!
//! - `ingest/*`: `consume` of 100 requests of 100 spans (10 traces of 10 spans, 8
//!   attributes each) into a processor; time / 10,000 = ns per span.
//!   `one_trace_per_resource` moves each resource whole; `mixed_resource` has the 10
//!   traces interleaved in one resource, which is split (resource and scope copied
//!   per trace). `fresh/*` starts from an empty processor; `at_limit/*` from one at
//!   its `num_traces` limit, so every new trace evicts the oldest and frees its spans.
//! - `evaluate/four_policies`: the four policies below on one 10-span trace already in
//!   cache, combined: policy evaluation alone, per trace.
//! - `decide/*`: one run of the decision timer over 1,000 pending traces of 10 spans;
//!   time / 1000 = ns per trace decided. `four_policies` has status_code, latency,
//!   probabilistic 10 % and a string_attribute regex, and frees the spans of the
//!   traces it does not sample; `always_sample_kept` samples every trace into a
//!   consumer that keeps them, so no span is freed in the run; `free_only` frees the
//!   same 1,000 traces' spans and does nothing else, for comparison.
//!
//! Before the benchmarks, the memory held per buffered span is measured with a
//! counting global allocator ([`cap::Cap`] over the system allocator): bytes allocated
//! after buffering 10,000 spans (1,000 pending traces) minus bytes before building
//! them, divided by 10,000; and the same counting only what the processor adds to the
//! spans it was handed (table entries, queue slots, per-trace batch lists, copied
//! resources). It is printed as `memory: ...` lines.

use std::alloc::System;
use std::hint::black_box;
use std::sync::Arc;

use async_trait::async_trait;
use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, decode_config};
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, ConsumeError, Consumer, Payload, Signal, Telemetry};
use stratus_processor_tail_sampling::policy::{self, TraceData};
use stratus_processor_tail_sampling::{TailSampling, TailSamplingConfig};
use stratus_testkit::otlp::{SAMPLE_TIME_NS, SpanBuilder, SpanKind, TracesBuilder, span, traces};

#[global_allocator]
static ALLOC: cap::Cap<System> = cap::Cap::new(System, usize::MAX);

const SPANS_PER_TRACE: u64 = 10;
const TRACES_PER_REQUEST: u64 = 10;

/// Drops what it is given.
struct Nop;

#[async_trait]
impl Consumer for Nop {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        black_box(data);
        Ok(())
    }
}

fn processor(config: Value) -> TailSampling {
    let config: TailSamplingConfig = match decode_config(&config) {
        Ok(c) => c,
        Err(e) => panic!("bench config: {e:?}"),
    };
    let ctx = BuildContext::new(
        ComponentId::new("tail_sampling"),
        vec![Signal::Traces],
        Registry::new(),
    );
    match TailSampling::new(&ctx, &config, Arc::new(Nop)) {
        Ok(p) => p,
        Err(e) => panic!("bench processor: {e}"),
    }
}

fn policies() -> Value {
    json!([
        {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
        {"name": "slow", "type": "latency", "latency": {"threshold_ms": 2000}},
        {"name": "some", "type": "probabilistic", "probabilistic": {"sampling_percentage": 10}},
        {"name": "api", "type": "string_attribute",
         "string_attribute": {"key": "url.path", "values": ["^/api/admin"], "enabled_regex_matching": true}},
    ])
}

/// An HTTP server span of trace `t` with 8 attributes.
fn server_span(t: u64, i: u64) -> SpanBuilder {
    let start = SAMPLE_TIME_NS + t * 1_000_000;
    span("GET /cart/{id}")
        .trace_id(u128::from(t) << 64 | 0xabcd)
        .span_id(i + 1)
        .kind(SpanKind::Server)
        .start(start + i * 1_000)
        .end(start + i * 1_000 + 5_000_000)
        .attr("http.request.method", "GET")
        .attr("url.scheme", "https")
        .attr("server.address", "shop.example.com")
        .attr("url.path", "/cart/42")
        .attr("http.response.status_code", 200)
        .attr("client.address", "203.0.113.7")
        .attr("user_agent.original", "Mozilla/5.0")
        .attr("cart.items", 3)
}

fn with_resource(b: TracesBuilder) -> TracesBuilder {
    b.resource([
        ("service.name", "checkout"),
        ("service.version", "1.4.2"),
        ("cloud.provider", "aws"),
        ("k8s.pod.name", "checkout-7d9f"),
        ("telemetry.sdk.language", "java"),
    ])
    .scope("io.opentelemetry.http")
}

/// A request with traces `first..first + TRACES_PER_REQUEST`, each in a resource of
/// its own (`mixed: false`) or interleaved in one resource.
fn request(first: u64, mixed: bool) -> Telemetry {
    let mut b = traces();
    if mixed {
        b = with_resource(b);
        for i in 0..SPANS_PER_TRACE {
            for t in first..first + TRACES_PER_REQUEST {
                b = b.span(server_span(t, i));
            }
        }
    } else {
        for t in first..first + TRACES_PER_REQUEST {
            b = with_resource(b).spans((0..SPANS_PER_TRACE).map(|i| server_span(t, i)));
        }
    }
    b.build()
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    }
}

fn consume(rt: &tokio::runtime::Runtime, p: &TailSampling, data: Telemetry) {
    if let Err(e) = rt.block_on(p.consume(data)) {
        panic!("consume: {e}");
    }
}

fn memory_report() {
    let rt = runtime();
    for mixed in [false, true] {
        let p = processor(json!({"decision_wait": "1h", "policies": policies()}));
        let requests = 100u64;
        let spans = requests * TRACES_PER_REQUEST * SPANS_PER_TRACE;
        let baseline = ALLOC.allocated();
        let batches: Vec<Telemetry> = (0..requests)
            .map(|r| request(r * TRACES_PER_REQUEST, mixed))
            .collect();
        let built = ALLOC.allocated();
        for b in batches {
            consume(&rt, &p, b);
        }
        let held = ALLOC.allocated();
        assert_eq!(p.held_spans(), spans);
        let per = |bytes: usize| bytes as f64 / spans as f64;
        println!(
            "memory ({}): {:.0} bytes held per buffered span, of which the span data as \
             received {:.0} and the processor's own {:.0}",
            if mixed {
                "10 traces interleaved per resource"
            } else {
                "one trace per resource"
            },
            per(held.saturating_sub(baseline)),
            per(built.saturating_sub(baseline)),
            per(held.saturating_sub(built)),
        );
        drop(p);
    }
}

/// Keeps what it is given (freed after the measurement).
#[derive(Default)]
struct Keep(std::sync::Mutex<Vec<Telemetry>>);

#[async_trait]
impl Consumer for Keep {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        if let Ok(mut kept) = self.0.lock() {
            kept.push(data);
        }
        Ok(())
    }
}

const REQUESTS: u64 = 100;

fn requests(first: u64, mixed: bool) -> Vec<Telemetry> {
    (0..REQUESTS)
        .map(|r| request(first + r * TRACES_PER_REQUEST, mixed))
        .collect()
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(
        REQUESTS * TRACES_PER_REQUEST * SPANS_PER_TRACE,
    ));
    // Into an empty processor: the table grows, nothing is evicted.
    for (name, mixed) in [
        ("fresh/one_trace_per_resource", false),
        ("fresh/mixed_resource", true),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let p = processor(json!({"decision_wait": "1h", "policies": policies()}));
                    (p, requests(0, mixed))
                },
                |(p, data)| {
                    for d in data {
                        consume(&rt, &p, d);
                    }
                    p
                },
                BatchSize::PerIteration,
            )
        });
    }
    // At num_traces: every new trace evicts (and frees) the oldest.
    let p = processor(json!({"decision_wait": "1h", "num_traces": 10_000, "policies": policies()}));
    let mut next = 0u64;
    while p.traces_in_memory() < 10_000 {
        consume(&rt, &p, request(next, false));
        next += TRACES_PER_REQUEST;
    }
    g.bench_function("at_limit/one_trace_per_resource", |b| {
        b.iter_batched(
            || {
                next += REQUESTS * TRACES_PER_REQUEST;
                requests(next, false)
            },
            |data| {
                for d in data {
                    consume(&rt, &p, d);
                }
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    // The four policies on one 10-span trace, warm in cache: evaluation alone.
    let mut g = c.benchmark_group("evaluate");
    g.throughput(Throughput::Elements(1));
    let config: TailSamplingConfig = match decode_config(&json!({"policies": policies()})) {
        Ok(c) => c,
        Err(e) => panic!("bench config: {e:?}"),
    };
    let epoch = tokio::time::Instant::now();
    let mut evaluators: Vec<_> = config
        .policies
        .iter()
        .map(|p| match policy::build(p, epoch) {
            Ok(e) => e,
            Err(e) => panic!("bench policy: {e}"),
        })
        .collect();
    let Payload::Traces(batches) = request(7, false).payload.into_payload() else {
        panic!("traces")
    };
    let trace = TraceData {
        trace_id: [7; 16],
        span_count: SPANS_PER_TRACE,
        batches: batches.into_iter().take(1).collect(),
        decision_time: tokio::time::Instant::now(),
    };
    g.bench_function("four_policies", |b| {
        b.iter(|| {
            let decisions = evaluators.iter_mut().map(|e| e.evaluate(black_box(&trace)));
            black_box(policy::combine(decisions.filter_map(Result::ok)))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("decide");
    const TRACES: u64 = 1000;
    g.throughput(Throughput::Elements(TRACES));
    let filled = |policies: Value, next: Arc<dyn Consumer>| {
        let config: TailSamplingConfig =
            match decode_config(&json!({"decision_wait": "0s", "policies": policies})) {
                Ok(c) => c,
                Err(e) => panic!("bench config: {e:?}"),
            };
        let ctx = BuildContext::new(
            ComponentId::new("tail_sampling"),
            vec![Signal::Traces],
            Registry::new(),
        );
        let p = match TailSampling::new(&ctx, &config, next) {
            Ok(p) => p,
            Err(e) => panic!("bench processor: {e}"),
        };
        for d in requests(0, false) {
            consume(&rt, &p, d);
        }
        p
    };
    // Four policies; the ~90 % of traces not sampled are freed in the run.
    g.bench_function("four_policies", |b| {
        b.iter_batched(
            || filled(policies(), Arc::new(Nop)),
            |p| {
                rt.block_on(p.decide_due());
                p
            },
            BatchSize::PerIteration,
        )
    });
    // For comparison: freeing the same 1,000 traces' spans, nothing else.
    g.bench_function("free_only", |b| {
        b.iter_batched(|| requests(0, false), drop, BatchSize::PerIteration)
    });
    // One always_sample policy, every trace handed on and kept: the processor's own
    // bookkeeping, with no span freed in the run.
    g.bench_function("always_sample_kept", |b| {
        b.iter_batched(
            || {
                let keep = Arc::new(Keep::default());
                let p = filled(
                    json!([{"name": "all", "type": "always_sample"}]),
                    keep.clone(),
                );
                (p, keep)
            },
            |(p, keep)| {
                rt.block_on(p.decide_due());
                (p, keep)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    // `--list` (how nextest and `cargo bench -- --list` enumerate benchmarks) must
    // print only benchmark names on stdout.
    if !std::env::args().any(|a| a == "--list") {
        memory_report();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
