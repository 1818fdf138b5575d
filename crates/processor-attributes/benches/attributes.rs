//! Cost of the attributes processor per span: `cargo bench -p stratus-processor-attributes`.
//!
//! Each benchmark hands a batch of 100 spans (8 attributes each, one resource, one
//! scope) to the processor's `consume` (or `prepare`) and reads it back out of the
//! next consumer; building the batch and dropping it are outside the measured time,
//! which is the benchmark thread's CPU time (see [`ThreadCpuTime`]).
//! Criterion reports the time per batch and spans per second: ns per span is the batch
//! time divided by 100.

use std::hint::black_box;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, Processor, ProcessorFactory};
use stratus_core::telemetry::Registry;
use stratus_core::{Admission, ComponentId, ConsumeError, Consumer, Prepared, Signal, Telemetry};
use stratus_processor_attributes::AttributesProcessorFactory;
use stratus_testkit::bench::ThreadCpuTime;
use stratus_testkit::otlp::{SpanKind, span, traces};

const SPANS: u64 = 100;

/// Keeps the last batch it was given, so the benchmark can drop it outside the timing.
#[derive(Default)]
struct Slot(Mutex<Option<Telemetry>>);

/// Room held for a batch: the batch itself, dropped when the admission is.
struct Held(#[allow(dead_code)] Telemetry);

#[async_trait]
impl Admission for Held {
    async fn commit(self: Box<Self>) -> Result<(), ConsumeError> {
        Ok(())
    }
}

/// A next consumer that keeps what it gets; with `reserve`, it takes data in two
/// phases like a sending queue.
struct Sink {
    slot: Slot,
    reserve: bool,
}

#[async_trait]
impl Consumer for Sink {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        if let Ok(mut s) = self.slot.0.lock() {
            *s = Some(data);
        }
        Ok(())
    }
    fn can_prepare(&self) -> bool {
        self.reserve
    }
    async fn prepare(&self, data: Telemetry) -> Prepared {
        Prepared::Ready(Box::new(Held(data)))
    }
}

/// What one iteration leaves, for criterion to drop outside the measured time.
#[allow(dead_code)]
enum Out {
    Held(Box<dyn Admission>),
    Data(Option<Telemetry>),
}

fn batch() -> Telemetry {
    let mut b = traces().resource([
        ("service.name", "checkout"),
        ("cloud.provider", "aws"),
        ("cloud.region", "eu-west-1"),
    ]);
    for i in 0..SPANS {
        b = b.span(
            span("GET /cart/{id}")
                .kind(SpanKind::Server)
                .attr("http.request.method", "GET")
                .attr("url.path", "/cart/42")
                .attr("http.response.status_code", 200)
                .attr("server.address", "shop.example.com")
                .attr("client.address", "203.0.113.7")
                .attr("user.email", format!("user{i}@example.com"))
                .attr("password", "hunter2")
                .attr("cart.items", 3),
        );
    }
    b.build()
}

fn processor(config: Value, reserve: bool) -> (Arc<dyn Processor>, Arc<Sink>) {
    let sink = Arc::new(Sink {
        slot: Slot::default(),
        reserve,
    });
    let rt = runtime();
    let p = rt
        .block_on(AttributesProcessorFactory.build(
            BuildContext::new(
                ComponentId::new("attributes"),
                vec![Signal::Traces],
                Registry::new(),
            ),
            &config,
            sink.clone(),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    (p, sink)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn bench(c: &mut Criterion<ThreadCpuTime>) {
    let rt = runtime();
    let mut g = c.benchmark_group("attributes");
    g.throughput(Throughput::Elements(SPANS));
    let cases: [(&str, Value, bool); 5] = [
        (
            // The usual privacy set: all three apply to every span.
            "3_actions_apply",
            json!({"actions": [
                {"key": "env", "value": "prod", "action": "insert"},
                {"key": "user.email", "action": "hash"},
                {"key": "password", "action": "delete"},
            ]}),
            false,
        ),
        (
            // None applies: the key exists (insert), is absent (update, hash).
            "3_actions_none_apply",
            json!({"actions": [
                {"key": "cart.items", "value": 1, "action": "insert"},
                {"key": "absent", "value": "x", "action": "update"},
                {"key": "absent.too", "action": "hash"},
            ]}),
            false,
        ),
        (
            // Every span is excluded by the resource's service.name.
            "3_actions_excluded",
            json!({
                "exclude": {"match_type": "strict", "services": ["checkout"]},
                "actions": [
                    {"key": "env", "value": "prod", "action": "insert"},
                    {"key": "user.email", "action": "hash"},
                    {"key": "password", "action": "delete"},
                ]
            }),
            false,
        ),
        (
            // Regexp include on the span name, then extract and convert.
            "regexp_include_extract_convert",
            json!({
                "include": {"match_type": "regexp", "span_names": ["^GET "]},
                "actions": [
                    {"key": "url.path", "pattern": "^/(?P<route.root>[a-z]+)/", "action": "extract"},
                    {"key": "http.response.status_code", "converted_type": "string", "action": "convert"},
                    {"pattern": "^pass", "action": "delete"},
                ]
            }),
            false,
        ),
        (
            // Two-phase admission: every change is journaled, to be reverted on a refusal.
            "3_actions_apply_prepare",
            json!({"actions": [
                {"key": "env", "value": "prod", "action": "insert"},
                {"key": "user.email", "action": "hash"},
                {"key": "password", "action": "delete"},
            ]}),
            true,
        ),
    ];
    for (name, config, reserve) in cases {
        let (p, sink) = processor(config, reserve);
        g.bench_function(name, |b| {
            b.iter_batched(
                batch,
                |data| {
                    if reserve {
                        match rt.block_on(p.prepare(data)) {
                            // Returned, so it is dropped outside the timing.
                            Prepared::Ready(admission) => Out::Held(black_box(admission)),
                            _ => panic!("not ready"),
                        }
                    } else {
                        let _ = rt.block_on(p.consume(data));
                        Out::Data(sink.slot.0.lock().ok().and_then(|mut s| s.take()))
                    }
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = bench
}
criterion_main!(benches);
