//! The memory limiter driven with chosen memory readings, and through its factory.

// Test helpers outside #[test] functions may unwrap too: a failure is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, FactoryInfo, Processor, ProcessorFactory, Stability};
use stratus_core::memory::AdmissionGate;
use stratus_core::telemetry::Registry;
use stratus_core::{Component, Consumer, Host, Metadata, Signal, Telemetry};
use stratus_processor_memory_limiter::processor::DATA_REFUSED;
use stratus_processor_memory_limiter::{
    Limits, MemoryLimiter, MemoryLimiterProcessorFactory, MemoryUsage,
};
use stratus_testkit::RecordingConsumer;
use stratus_testkit::otlp::{sample_logs, span, traces};

const MIB: u64 = 1024 * 1024;

/// Memory readings set by the test; `live` makes it a source read at every request,
/// like the counting allocator's heap.
#[derive(Default)]
struct FakeUsage {
    bytes: AtomicU64,
    failing: AtomicBool,
    live: bool,
    reads: AtomicU64,
}

impl FakeUsage {
    fn set_mib(&self, mib: u64) {
        self.bytes.store(mib * MIB, Ordering::SeqCst);
    }
}

impl MemoryUsage for FakeUsage {
    fn used_bytes(&self) -> io::Result<u64> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(io::Error::other("statm unreadable"));
        }
        Ok(self.bytes.load(Ordering::SeqCst))
    }

    fn is_live(&self) -> bool {
        self.live
    }
}

struct Setup {
    limiter: MemoryLimiter,
    usage: Arc<FakeUsage>,
    sink: Arc<RecordingConsumer>,
    registry: Registry,
}

/// Hard limit 100 MiB, spike 20 MiB: soft limit 80 MiB; memory sampled periodically.
fn setup(check_interval: Duration) -> Setup {
    setup_with(check_interval, FakeUsage::default())
}

/// As [`setup`], with memory read at every request.
fn setup_live(check_interval: Duration) -> Setup {
    setup_with(
        check_interval,
        FakeUsage {
            live: true,
            ..Default::default()
        },
    )
}

fn setup_with(check_interval: Duration, usage: FakeUsage) -> Setup {
    let registry = Registry::new();
    let ctx = BuildContext::new(
        "memory_limiter".parse().unwrap(),
        vec![Signal::Traces],
        registry.clone(),
    );
    let usage = Arc::new(usage);
    let sink = RecordingConsumer::new();
    let limiter = MemoryLimiter::new(
        &ctx,
        Limits::new(100 * MIB, 20 * MIB),
        check_interval,
        usage.clone(),
        sink.boxed(),
    );
    Setup {
        limiter,
        usage,
        sink,
        registry,
    }
}

fn spans(n: usize) -> Telemetry {
    let addr = "10.1.2.3:5555".parse().unwrap();
    traces()
        .spans((0..n).map(|i| span(format!("op{i}"))))
        .build_with(Metadata::new(
            Some(addr),
            [("x-tenant".to_string(), "a".to_string())],
        ))
}

fn refused(registry: &Registry, item: &str) -> f64 {
    let series = format!("otelcol_processor_refused_{item}{{processor=\"memory_limiter\"}} ");
    let text = registry.render();
    let line = text
        .lines()
        .find(|l| l.starts_with(&series))
        .unwrap_or_else(|| panic!("{series} not in:\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn passes_data_through_untouched_under_the_limit() {
    let s = setup(Duration::from_secs(1));
    s.usage.set_mib(10);
    assert_eq!(s.limiter.check().unwrap(), 10 * MIB);
    assert!(!s.limiter.is_refusing());
    let data = spans(3);
    s.limiter.consume(data.clone()).await.unwrap();
    assert_eq!(s.sink.batches(), vec![data]);
    assert_eq!(refused(&s.registry, "spans"), 0.0);
}

#[tokio::test]
async fn refuses_at_the_soft_limit_and_recovers_below_it() {
    let s = setup(Duration::from_secs(1));
    s.usage.set_mib(85);
    s.limiter.check().unwrap();
    assert!(s.limiter.is_refusing());
    let err = s.limiter.consume(spans(3)).await.unwrap_err();
    assert!(!err.is_permanent(), "clients must be told to retry");
    assert_eq!(err.message(), DATA_REFUSED);
    assert!(err.throttle().unwrap() >= std::time::Duration::from_secs(1));
    let err = s.limiter.consume(sample_logs(2)).await.unwrap_err();
    assert_eq!(err.message(), DATA_REFUSED);
    assert!(s.sink.batches().is_empty());
    assert_eq!(refused(&s.registry, "spans"), 3.0);
    assert_eq!(refused(&s.registry, "log_records"), 2.0);
    assert_eq!(refused(&s.registry, "metric_points"), 0.0);

    // Exactly at the soft limit still refuses, as the collector does.
    s.usage.set_mib(80);
    s.limiter.check().unwrap();
    assert!(s.limiter.is_refusing());

    // Above the hard limit too.
    s.usage.set_mib(120);
    s.limiter.check().unwrap();
    assert!(s.limiter.consume(spans(1)).await.is_err());

    s.usage.set_mib(79);
    s.limiter.check().unwrap();
    assert!(!s.limiter.is_refusing());
    s.limiter.consume(spans(2)).await.unwrap();
    assert_eq!(s.sink.batches().len(), 1);
    assert_eq!(s.sink.batches()[0].item_count(), 2);
    assert_eq!(refused(&s.registry, "spans"), 4.0);
}

#[tokio::test]
async fn a_failed_reading_keeps_the_last_decision() {
    let s = setup(Duration::from_secs(1));
    s.usage.set_mib(90);
    s.limiter.check().unwrap();
    s.usage.failing.store(true, Ordering::SeqCst);
    s.usage.set_mib(1);
    assert!(s.limiter.check().is_err());
    assert!(s.limiter.is_refusing());
    s.usage.failing.store(false, Ordering::SeqCst);
    s.limiter.check().unwrap();
    assert!(!s.limiter.is_refusing());
}

#[tokio::test]
async fn the_background_task_follows_memory_use() {
    let s = setup(Duration::from_millis(5));
    s.usage.set_mib(50);
    s.limiter.start(&Host::ready()).await.unwrap();
    assert!(!s.limiter.is_refusing());
    s.usage.set_mib(95);
    wait_until("refusal", || s.limiter.is_refusing()).await;
    assert!(s.limiter.consume(spans(1)).await.is_err());
    s.usage.set_mib(20);
    wait_until("recovery", || !s.limiter.is_refusing()).await;
    s.limiter.consume(spans(1)).await.unwrap();
    assert_eq!(s.sink.batches().len(), 1);
    s.limiter.shutdown().await.unwrap();
    s.limiter.shutdown().await.unwrap();
}

#[tokio::test]
async fn start_measures_at_once_and_fails_when_memory_cannot_be_read() {
    let s = setup(Duration::from_secs(3600));
    s.usage.set_mib(99);
    s.limiter.start(&Host::ready()).await.unwrap();
    // The first measurement is taken by start itself, not an interval later.
    assert!(s.limiter.is_refusing());
    // A second start keeps the running task and is harmless.
    s.limiter.start(&Host::ready()).await.unwrap();
    s.limiter.shutdown().await.unwrap();

    let s = setup(Duration::from_secs(1));
    s.usage.failing.store(true, Ordering::SeqCst);
    let err = s.limiter.start(&Host::ready()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("memory_limiter"), "{text}");
    assert!(text.contains("statm unreadable"), "{text}");
    s.limiter.shutdown().await.unwrap();
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::processor(&MemoryLimiterProcessorFactory)
        .config(json!({"check_interval": "1s", "limit_mib": 1_000_000}))
        .default_config_rejected(&["check_interval", "limit_mib"])
        .await;
}

#[test]
fn factory_describes_the_memory_limiter() {
    let f = MemoryLimiterProcessorFactory;
    assert_eq!(f.type_name(), "memory_limiter");
    assert_eq!(
        f.signals(),
        &[
            (Signal::Traces, Stability::Beta),
            (Signal::Metrics, Stability::Beta),
            (Signal::Logs, Stability::Beta),
        ]
    );
    let problems = f.check_config(&Value::Null).unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["check_interval", "limit_mib"]);
    assert!(
        f.check_config(&json!({"check_interval": "1s", "limit_mib": 400}))
            .is_ok()
    );
}

async fn build(raw: Value) -> Result<Arc<dyn Processor>, String> {
    let ctx = BuildContext::new(
        "memory_limiter".parse().unwrap(),
        vec![Signal::Logs],
        Registry::new(),
    );
    MemoryLimiterProcessorFactory
        .build(ctx, &raw, RecordingConsumer::new().boxed())
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn factory_builds_a_limiter_on_this_process() {
    let err = build(json!({"check_interval": "0s", "limit_mib": 10}))
        .await
        .err()
        .expect("invalid config");
    assert!(err.contains("check_interval"), "{err}");
    // Far more than this test process uses: data flows.
    let p = build(json!({"check_interval": "1s", "limit_mib": 1_000_000}))
        .await
        .unwrap();
    p.start(&Host::ready()).await.unwrap();
    p.consume(sample_logs(1)).await.unwrap();
    p.shutdown().await.unwrap();
    // One MiB with no spike room: already exceeded by any running process.
    let p = build(json!({"check_interval": "1s", "limit_mib": 1}))
        .await
        .unwrap();
    p.start(&Host::ready()).await.unwrap();
    let err = p.consume(sample_logs(1)).await.unwrap_err();
    assert_eq!(err.message(), DATA_REFUSED);
    p.shutdown().await.unwrap();
    // A percentage of this machine's memory (or its cgroup limit) also builds.
    let p = build(json!({"check_interval": "1s", "limit_percentage": 90}))
        .await
        .unwrap();
    p.start(&Host::ready()).await.unwrap();
    p.consume(sample_logs(1)).await.unwrap();
    p.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_live_heap_refuses_the_first_request_over_the_soft_limit_without_a_check() {
    // A check interval of an hour: no periodic measurement happens during the test.
    let s = setup_live(Duration::from_secs(3600));
    s.usage.set_mib(10);
    s.limiter.start(&Host::ready()).await.unwrap();
    s.limiter.consume(spans(1)).await.unwrap();

    // The heap crosses the soft limit between two requests: the very next one is
    // refused, read from the heap at that moment.
    s.usage.set_mib(80);
    let reads = s.usage.reads.load(Ordering::SeqCst);
    let err = s.limiter.consume(spans(2)).await.unwrap_err();
    assert!(
        s.usage.reads.load(Ordering::SeqCst) > reads,
        "not read at consume"
    );
    assert_eq!(err.message(), DATA_REFUSED);
    assert!(!err.is_permanent());
    assert_eq!(err.throttle(), Some(Duration::from_secs(3600)));
    assert_eq!(refused(&s.registry, "spans"), 2.0);
    s.usage.set_mib(150);
    assert!(s.limiter.consume(spans(1)).await.is_err());

    // And the first request after it falls back below passes, still without a check.
    s.usage.set_mib(79);
    assert!(!s.limiter.is_refusing());
    s.limiter.consume(spans(4)).await.unwrap();
    let counts: Vec<usize> = s.sink.batches().iter().map(|b| b.item_count()).collect();
    assert_eq!(counts, [1, 4]);
    assert_eq!(refused(&s.registry, "spans"), 3.0);
    s.limiter.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failing_live_reading_falls_back_to_the_last_measurement() {
    let s = setup_live(Duration::from_secs(3600));
    s.usage.set_mib(90);
    s.limiter.check().unwrap();
    s.usage.failing.store(true, Ordering::SeqCst);
    assert!(s.limiter.consume(spans(1)).await.is_err());
    s.usage.failing.store(false, Ordering::SeqCst);
    s.usage.set_mib(5);
    s.limiter.consume(spans(1)).await.unwrap();
}

#[tokio::test]
async fn a_running_limiter_registers_its_soft_limit_with_the_admission_gate() {
    let heap = Arc::new(AtomicU64::new(0));
    let gate = {
        let heap = heap.clone();
        AdmissionGate::with_heap_reader(move || Some(heap.load(Ordering::SeqCst)))
    };
    let s = setup(Duration::from_secs(2));
    let limiter = s.limiter.with_admission_gate(gate.clone());
    s.usage.set_mib(10);
    assert_eq!(gate.soft_limit(), None, "registered before start");
    limiter.start(&Host::ready()).await.unwrap();
    assert_eq!(gate.soft_limit(), Some(80 * MIB));
    heap.store(79 * MIB, Ordering::SeqCst);
    let over = gate.check(MIB).unwrap_err();
    assert_eq!(over.retry_after, Duration::from_secs(2));
    assert!(gate.check(MIB - 1).is_ok());

    // A second limiter with a lower soft limit wins while it runs.
    let registry = Registry::new();
    let ctx = BuildContext::new(
        "memory_limiter/low".parse().unwrap(),
        vec![Signal::Traces],
        registry,
    );
    let low = MemoryLimiter::new(
        &ctx,
        Limits::new(50 * MIB, 10 * MIB),
        Duration::from_secs(1),
        s.usage.clone(),
        RecordingConsumer::new().boxed(),
    )
    .with_admission_gate(gate.clone());
    low.start(&Host::ready()).await.unwrap();
    assert_eq!(gate.soft_limit(), Some(40 * MIB));
    low.shutdown().await.unwrap();
    assert_eq!(gate.soft_limit(), Some(80 * MIB));

    limiter.shutdown().await.unwrap();
    assert_eq!(gate.soft_limit(), None, "shutdown withdraws the limit");
    limiter.shutdown().await.unwrap();
}

/// Two-phase admission passes through the limiter: refused (data handed back) over
/// the soft limit, the next consumer's reservation below it.
#[tokio::test]
async fn prepare_refuses_over_the_limit_and_passes_through_below() {
    let registry = Registry::new();
    let ctx = BuildContext::new(
        "memory_limiter".parse().unwrap(),
        vec![Signal::Traces],
        registry.clone(),
    );
    let usage = Arc::new(FakeUsage::default());
    let sink = RecordingConsumer::reserving();
    let limiter = MemoryLimiter::new(
        &ctx,
        Limits::new(100 * MIB, 20 * MIB),
        Duration::from_secs(1),
        usage.clone(),
        sink.boxed(),
    );
    assert!(limiter.can_prepare());
    usage.set_mib(90);
    limiter.check().unwrap();
    match limiter.prepare(spans(3)).await {
        stratus_core::Prepared::Refused(e, back) => {
            assert_eq!(e.message(), DATA_REFUSED);
            assert_eq!(back.item_count(), 3);
        }
        other => panic!("{other:?}"),
    }
    usage.set_mib(10);
    limiter.check().unwrap();
    match limiter.prepare(spans(2)).await {
        stratus_core::Prepared::Ready(a) => a.commit().await.unwrap(),
        other => panic!("{other:?}"),
    }
    assert_eq!(sink.batch_sizes(), vec![2]);
}
