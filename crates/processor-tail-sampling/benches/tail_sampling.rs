//! Cost of the tail sampler: `cargo bench -p stratus-processor-tail-sampling`.
//!
//! - `ingest/*`: `consume` of a request of 100 spans (10 traces of 10 spans) into a
//!   processor at its `num_traces` limit, so every new trace also evicts the oldest:
//!   the steady state of a busy gateway. Time per request / 100 = ns per span.
//!   `one_trace_per_resource` moves each resource whole; `mixed_resource` has the 10
//!   traces interleaved in one resource, which is split (resource and scope copied
//!   per trace).
//! - `decide/1000_traces`: one run of the decision timer over 1,000 pending traces of
//!   10 spans with four policies (status_code, latency, probabilistic 10 %,
//!   string_attribute regex), sampled traces handed to a consumer that drops them.
//!   Time / 1000 = ns per trace decided.
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
use stratus_core::{ComponentId, ConsumeError, Consumer, Signal, Telemetry};
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

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(TRACES_PER_REQUEST * SPANS_PER_TRACE));
    for (name, mixed) in [("one_trace_per_resource", false), ("mixed_resource", true)] {
        let p =
            processor(json!({"decision_wait": "1h", "num_traces": 10_000, "policies": policies()}));
        let mut next = 0u64;
        // Fill the table so the measured requests evict as they insert.
        while p.traces_in_memory() < 10_000 {
            consume(&rt, &p, request(next, mixed));
            next += TRACES_PER_REQUEST;
        }
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    next += TRACES_PER_REQUEST;
                    request(next, mixed)
                },
                |data| consume(&rt, &p, data),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();

    let mut g = c.benchmark_group("decide");
    const TRACES: u64 = 1000;
    g.throughput(Throughput::Elements(TRACES));
    g.bench_function("1000_traces", |b| {
        b.iter_batched(
            || {
                let p = processor(json!({"decision_wait": "0s", "policies": policies()}));
                for r in 0..TRACES / TRACES_PER_REQUEST {
                    consume(&rt, &p, request(r * TRACES_PER_REQUEST, false));
                }
                p
            },
            |p| {
                rt.block_on(p.decide_due());
                p
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    memory_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
