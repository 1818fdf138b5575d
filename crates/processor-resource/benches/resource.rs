//! Cost of the resource processor per span: `cargo bench -p stratus-processor-resource`.
//!
//! Each benchmark hands a batch of 100 spans in 10 resource groups (10 spans each, 8
//! resource attributes per resource) to the processor's `consume` (or `prepare`) and
//! reads it back out of the next consumer; building the batch and dropping it are
//! outside the measured time, which is the benchmark thread's CPU time (see
//! [`ThreadCpuTime`]). Criterion reports the time per batch and spans per
//! second: ns per span is the batch time divided by 100 (the work is per resource, so
//! ns per resource is ten times that).

use std::hint::black_box;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, Processor, ProcessorFactory};
use stratus_core::telemetry::Registry;
use stratus_core::{Admission, ComponentId, ConsumeError, Consumer, Prepared, Signal, Telemetry};
use stratus_processor_resource::ResourceProcessorFactory;
use stratus_testkit::bench::ThreadCpuTime;
use stratus_testkit::otlp::{span, traces};

const RESOURCES: u64 = 10;
const SPANS_PER_RESOURCE: u64 = 10;

/// Room held for a batch: the batch itself, dropped when the admission is.
struct Held(#[allow(dead_code)] Telemetry);

#[async_trait]
impl Admission for Held {
    async fn commit(self: Box<Self>) -> Result<(), ConsumeError> {
        Ok(())
    }
}

/// A next consumer that keeps the last batch; with `reserve`, it takes data in two
/// phases like a sending queue.
struct Sink {
    slot: Mutex<Option<Telemetry>>,
    reserve: bool,
}

#[async_trait]
impl Consumer for Sink {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        if let Ok(mut s) = self.slot.lock() {
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
    let mut b = traces();
    for r in 0..RESOURCES {
        b = b.resource([
            ("service.name", format!("svc-{r}")),
            ("service.version", "1.4.2".to_string()),
            ("host.name", format!("ip-10-0-0-{r}")),
            ("cloud.provider", "aws".to_string()),
            ("cloud.platform", "aws_eks".to_string()),
            ("k8s-cluster", "prod-eu".to_string()),
            ("k8s.pod.name", format!("checkout-7d9f-{r}")),
            ("redundant-attribute", "x".to_string()),
        ]);
        for _ in 0..SPANS_PER_RESOURCE {
            b = b.span(span("GET /cart").attr("http.request.method", "GET"));
        }
    }
    b.build()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn processor(
    rt: &tokio::runtime::Runtime,
    config: Value,
    reserve: bool,
) -> (Arc<dyn Processor>, Arc<Sink>) {
    let sink = Arc::new(Sink {
        slot: Mutex::new(None),
        reserve,
    });
    let ctx = BuildContext::new(
        ComponentId::new("resource"),
        vec![Signal::Traces],
        Registry::new(),
    );
    let p = rt
        .block_on(ResourceProcessorFactory.build(ctx, &config, sink.clone()))
        .unwrap_or_else(|e| panic!("{e}"));
    (p, sink)
}

fn bench(c: &mut Criterion<ThreadCpuTime>) {
    let rt = runtime();
    let mut g = c.benchmark_group("resource");
    g.throughput(Throughput::Elements(RESOURCES * SPANS_PER_RESOURCE));
    // Upstream README's example: all three apply to every resource.
    let readme = json!({"attributes": [
        {"key": "cloud.availability_zone", "value": "zone-1", "action": "upsert"},
        {"key": "k8s.cluster.name", "from_attribute": "k8s-cluster", "action": "insert"},
        {"key": "redundant-attribute", "action": "delete"},
    ]});
    let cases: [(&str, Value, bool); 3] = [
        ("3_actions_apply", readme.clone(), false),
        (
            "3_actions_none_apply",
            json!({"attributes": [
                {"key": "service.name", "value": "x", "action": "insert"},
                {"key": "absent", "value": "x", "action": "update"},
                {"key": "absent.too", "action": "delete"},
            ]}),
            false,
        ),
        ("3_actions_apply_prepare", readme, true),
    ];
    for (name, config, reserve) in cases {
        let (p, sink) = processor(&rt, config, reserve);
        g.bench_function(name, |b| {
            b.iter_batched(
                batch,
                |data| {
                    if reserve {
                        match rt.block_on(p.prepare(data)) {
                            Prepared::Ready(admission) => Out::Held(black_box(admission)),
                            _ => panic!("not ready"),
                        }
                    } else {
                        let _ = rt.block_on(p.consume(data));
                        Out::Data(sink.slot.lock().ok().and_then(|mut s| s.take()))
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
