use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use stratus_core::pdata::trace;
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, Payload};
use stratus_testkit::otlp::sample_spans as spans;
use tokio::sync::Semaphore;

fn ctx(registry: &Registry) -> BuildContext {
    BuildContext::new(
        ComponentId::with_name("test", "x"),
        vec![stratus_core::Signal::Traces],
        registry.clone(),
    )
}

/// Fails with `errors` in order, then succeeds; optionally waits for a permit per send.
struct Scripted {
    errors: Mutex<Vec<ConsumeError>>,
    attempts: AtomicUsize,
    delivered: AtomicUsize,
    gate: Option<Arc<Semaphore>>,
}

impl Scripted {
    fn new(errors: Vec<ConsumeError>) -> Self {
        Scripted {
            errors: Mutex::new(errors),
            attempts: AtomicUsize::new(0),
            delivered: AtomicUsize::new(0),
            gate: None,
        }
    }
}

#[async_trait]
impl Sender for Scripted {
    type Request = usize;
    fn encode(&self, data: Telemetry) -> Result<usize, ConsumeError> {
        Ok(data.item_count())
    }
    async fn send(&self, items: &usize) -> Result<(), ConsumeError> {
        if let Some(gate) = &self.gate {
            gate.acquire().await.unwrap().forget();
        }
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let mut errors = self.errors.lock().unwrap();
        if errors.is_empty() {
            self.delivered.fetch_add(*items, Ordering::SeqCst);
            Ok(())
        } else {
            Err(errors.remove(0))
        }
    }
}

fn metric(registry: &Registry, line: &str) -> bool {
    registry.render().lines().any(|l| l == line)
}

#[tokio::test(start_paused = true)]
async fn retries_retryable_errors_and_honours_throttle() {
    let registry = Registry::new();
    let settings = ExporterSettings {
        queue: QueueConfig::disabled(),
        ..Default::default()
    };
    let sender = Scripted::new(vec![
        ConsumeError::retryable("down"),
        ConsumeError::throttled("slow down", Duration::from_secs(100)),
    ]);
    let exp = HelperExporter::new(&ctx(&registry), settings, sender);
    let start = tokio::time::Instant::now();
    exp.consume(spans(3)).await.unwrap();
    assert_eq!(exp.sender().attempts.load(Ordering::SeqCst), 3);
    assert_eq!(exp.sender().delivered.load(Ordering::SeqCst), 3);
    // The throttle delay (100s) was honoured: virtual time moved at least that far.
    assert!(start.elapsed() >= Duration::from_secs(100));
    assert!(metric(
        &registry,
        "otelcol_exporter_sent_spans{exporter=\"test/x\"} 3"
    ));
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_are_not_retried() {
    let registry = Registry::new();
    let settings = ExporterSettings {
        queue: QueueConfig::disabled(),
        ..Default::default()
    };
    let exp = HelperExporter::new(
        &ctx(&registry),
        settings,
        Scripted::new(vec![ConsumeError::permanent("bad request")]),
    );
    let err = exp.consume(spans(2)).await.unwrap_err();
    assert!(err.is_permanent());
    assert_eq!(exp.sender().attempts.load(Ordering::SeqCst), 1);
    assert!(metric(
        &registry,
        "otelcol_exporter_send_failed_spans{exporter=\"test/x\"} 2"
    ));
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_max_elapsed_time() {
    let registry = Registry::new();
    let settings = ExporterSettings {
        queue: QueueConfig::disabled(),
        retry: RetryConfig {
            max_elapsed_time: Duration::from_secs(30),
            ..Default::default()
        },
        ..Default::default()
    };
    let errors = (0..100).map(|_| ConsumeError::retryable("down")).collect();
    let exp = HelperExporter::new(&ctx(&registry), settings, Scripted::new(errors));
    let err = exp.consume(spans(1)).await.unwrap_err();
    assert!(err.message().contains("no more retries"), "{err}");
    assert!(!err.is_permanent());
}

#[tokio::test(start_paused = true)]
async fn timeout_is_a_retryable_failure() {
    struct Hangs;
    #[async_trait]
    impl Sender for Hangs {
        type Request = ();
        fn encode(&self, _: Telemetry) -> Result<(), ConsumeError> {
            Ok(())
        }
        async fn send(&self, _: &()) -> Result<(), ConsumeError> {
            std::future::pending().await
        }
    }
    let registry = Registry::new();
    let settings = ExporterSettings {
        queue: QueueConfig::disabled(),
        retry: RetryConfig::disabled(),
        timeout: Duration::from_secs(5),
    };
    let exp = HelperExporter::new(&ctx(&registry), settings, Hangs);
    let err = exp.consume(spans(1)).await.unwrap_err();
    assert_eq!(err, ConsumeError::retryable("request timed out after 5s"));
}

#[tokio::test]
async fn full_queue_refuses_with_retryable_error_and_counts() {
    let registry = Registry::new();
    let gate = Arc::new(Semaphore::new(0));
    let mut sender = Scripted::new(vec![]);
    sender.gate = Some(gate.clone());
    let settings = ExporterSettings {
        queue: QueueConfig {
            num_consumers: 1,
            queue_size: 2,
            ..Default::default()
        },
        ..Default::default()
    };
    let exp = HelperExporter::new(&ctx(&registry), settings, sender);
    exp.start(&Host::ready()).await.unwrap();
    // One batch is taken by the single (blocked) consumer, two fill the queue.
    exp.consume(spans(1)).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while exp.inner.queue.as_ref().unwrap().size() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "consumer never took the batch"
        );
        tokio::task::yield_now().await;
    }
    exp.consume(spans(1)).await.unwrap();
    exp.consume(spans(1)).await.unwrap();
    let err = exp.consume(spans(5)).await.unwrap_err();
    assert!(!err.is_permanent());
    assert!(err.message().contains("sending queue is full"), "{err}");
    assert_eq!(err.throttle(), Some(QUEUE_FULL_RETRY_AFTER));
    assert!(metric(
        &registry,
        "otelcol_exporter_enqueue_failed_spans{exporter=\"test/x\"} 5"
    ));
    assert!(metric(
        &registry,
        "otelcol_exporter_queue_size{exporter=\"test/x\"} 2"
    ));
    assert!(metric(
        &registry,
        "otelcol_exporter_queue_capacity{exporter=\"test/x\"} 2"
    ));
    // Destination comes back: shutdown drains everything that was accepted.
    gate.add_permits(100);
    exp.shutdown().await.unwrap();
    assert_eq!(exp.sender().delivered.load(Ordering::SeqCst), 3);
    assert!(metric(
        &registry,
        "otelcol_exporter_sent_spans{exporter=\"test/x\"} 3"
    ));
    // After shutdown the queue is closed.
    assert!(!exp.consume(spans(1)).await.unwrap_err().is_permanent());
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_without_start_is_fine() {
    let registry = Registry::new();
    let exp = HelperExporter::new(
        &ctx(&registry),
        ExporterSettings::default(),
        Scripted::new(vec![]),
    );
    exp.shutdown().await.unwrap();
    exp.shutdown().await.unwrap();
}

/// A storage extension stand-in: a fixed directory.
struct DirStorage(std::path::PathBuf);

impl stratus_core::storage::StorageProvider for DirStorage {
    fn directory(
        &self,
        kind: Kind,
        owner: &ComponentId,
        name: &str,
    ) -> Result<std::path::PathBuf, ComponentError> {
        let dir = self.0.join(format!("{kind}_{}_{name}", owner.ty()));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }
    fn fsync(&self) -> bool {
        false
    }
}

fn persistent_settings(storage: &str) -> ExporterSettings {
    ExporterSettings {
        retry: RetryConfig::disabled(),
        queue: QueueConfig {
            storage: Some(storage.into()),
            num_consumers: 2,
            ..QueueConfig::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn storage_must_be_a_running_storage_extension() {
    let registry = Registry::new();
    let err = HelperExporter::try_new(
        &ctx(&registry),
        persistent_settings("file_storage/x"),
        Scripted::new(vec![]),
    )
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "sending_queue::storage: `file_storage/x` is not a storage extension enabled in \
         service::extensions"
    );
}

#[tokio::test]
async fn persistent_queue_keeps_undelivered_data_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = Registry::new();
    let mut storages = std::collections::BTreeMap::new();
    storages.insert(
        ComponentId::with_name("file_storage", "q"),
        Arc::new(DirStorage(tmp.path().to_path_buf()))
            as Arc<dyn stratus_core::storage::StorageProvider>,
    );
    let ctx = ctx(&registry).with_storages(storages);
    // First run: the destination is down, nothing is delivered; shutdown is cut short.
    let mut down = Scripted::new(vec![]);
    down.gate = Some(Arc::new(Semaphore::new(0)));
    let exp = HelperExporter::try_new(&ctx, persistent_settings("file_storage/q"), down).unwrap();
    exp.start(&Host::ready()).await.unwrap();
    for _ in 0..3 {
        exp.consume(spans(2)).await.unwrap();
    }
    let cut = tokio::time::timeout(Duration::from_millis(50), exp.shutdown()).await;
    assert!(
        cut.is_err(),
        "shutdown cannot finish while the destination is down"
    );
    drop(exp);
    // Second run: everything queued before is delivered.
    let registry = Registry::new();
    let ctx = BuildContext::new(
        ComponentId::with_name("test", "x"),
        vec![stratus_core::Signal::Traces],
        registry.clone(),
    )
    .with_storages(ctx.storages.clone());
    let exp = HelperExporter::try_new(
        &ctx,
        persistent_settings("file_storage/q"),
        Scripted::new(vec![]),
    )
    .unwrap();
    assert_eq!(exp.inner.queue.as_ref().unwrap().size(), 3);
    exp.start(&Host::ready()).await.unwrap();
    exp.shutdown().await.unwrap();
    assert_eq!(exp.sender().delivered.load(Ordering::SeqCst), 6);
}

// ---- sending_queue::batch and wait_for_result ----

use crate::batch::{front_len, items_within_bytes};
use stratus_core::Metadata;
use stratus_core::factory::{ConfigProblem, decode_config};
use stratus_core::pdata::{logs, metrics};

/// Records every request it delivers; optionally waits for a permit per send and
/// fails with `errors` first.
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<Telemetry>>,
    entered: AtomicUsize,
    gate: Option<Arc<Semaphore>>,
    errors: Mutex<Vec<ConsumeError>>,
    /// A span name: a request holding it is rejected for good.
    reject: Option<String>,
    /// A span name: sending a request holding it never finishes.
    hang: Option<String>,
}

impl Recorder {
    fn gated(gate: &Arc<Semaphore>) -> Self {
        Recorder {
            gate: Some(gate.clone()),
            ..Default::default()
        }
    }
    fn sent(&self) -> Vec<Telemetry> {
        self.sent.lock().unwrap().clone()
    }
    /// Items of each delivered request, in delivery order.
    fn sizes(&self) -> Vec<usize> {
        self.sent().iter().map(Telemetry::item_count).collect()
    }
}

#[async_trait]
impl Sender for Recorder {
    type Request = Telemetry;
    fn encode(&self, data: Telemetry) -> Result<Telemetry, ConsumeError> {
        Ok(data)
    }
    async fn send(&self, request: &Telemetry) -> Result<(), ConsumeError> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        if let Some(stuck) = &self.hang
            && names(request).contains(stuck)
        {
            std::future::pending::<()>().await;
        }
        if let Some(gate) = &self.gate {
            gate.acquire().await.unwrap().forget();
        }
        let mut errors = self.errors.lock().unwrap();
        if !errors.is_empty() {
            return Err(errors.remove(0));
        }
        if let Some(bad) = &self.reject
            && names(request).contains(bad)
        {
            return Err(ConsumeError::permanent(format!("rejected {bad}")));
        }
        self.sent.lock().unwrap().push(request.clone());
        Ok(())
    }
}

/// `n` spans named `{tag}{i}`.
fn named(tag: &str, n: usize) -> Telemetry {
    Telemetry::new(Payload::Traces(vec![trace::ResourceSpans {
        scope_spans: vec![trace::ScopeSpans {
            spans: (0..n)
                .map(|i| trace::Span {
                    name: format!("{tag}{i}"),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }]))
}

fn names(t: &Telemetry) -> Vec<String> {
    let Payload::Traces(r) = &*t.payload else {
        panic!("not traces")
    };
    r.iter()
        .flat_map(|r| r.scope_spans.iter())
        .flat_map(|s| s.spans.iter().map(|s| s.name.clone()))
        .collect()
}

/// Polls `cond` until it holds; fails after 10s (virtual time in paused tests).
async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn queue(json: serde_json::Value) -> QueueConfig {
    decode_config(&json).unwrap_or_else(|p| panic!("{json}: {p:?}"))
}

/// No retries and no per-attempt timeout (gated sends may hang for virtual hours).
fn batching(queue_json: serde_json::Value) -> ExporterSettings {
    ExporterSettings {
        retry: RetryConfig::disabled(),
        queue: queue(queue_json),
        timeout: Duration::ZERO,
    }
}

#[tokio::test]
async fn batching_is_off_by_default_one_request_one_send() {
    let q = queue(serde_json::json!({}));
    assert_eq!(q.batch, None);
    assert_eq!(q.active_batch(), None);
    assert!(!q.wait_for_result);
    let registry = Registry::new();
    let settings = ExporterSettings {
        queue: q,
        ..Default::default()
    };
    let exp = HelperExporter::new(&ctx(&registry), settings, Recorder::default());
    exp.start(&Host::ready()).await.unwrap();
    for n in [1, 2, 3] {
        exp.consume(named("s", n)).await.unwrap();
    }
    exp.shutdown().await.unwrap();
    let mut sizes = exp.sender().sizes();
    sizes.sort();
    assert_eq!(sizes, [1, 2, 3], "each request is sent on its own");
}

#[tokio::test(start_paused = true)]
async fn batch_merges_small_requests_until_min_size() {
    let registry = Registry::new();
    let settings = batching(serde_json::json!({
        "batch": {"min_size": 10, "flush_timeout": "1h"}
    }));
    let exp = HelperExporter::new(&ctx(&registry), settings, Recorder::default());
    exp.start(&Host::ready()).await.unwrap();
    for tag in ["a", "b", "c", "d"] {
        exp.consume(named(tag, 3)).await.unwrap();
    }
    wait_until("merged send", || !exp.sender().sent().is_empty()).await;
    let sent = exp.sender().sent();
    assert_eq!(sent.len(), 1, "four requests, one send");
    assert_eq!(
        names(&sent[0]),
        [
            "a0", "a1", "a2", "b0", "b1", "b2", "c0", "c1", "c2", "d0", "d1", "d2"
        ]
    );
    assert!(metric(
        &registry,
        "otelcol_exporter_sent_spans{exporter=\"test/x\"} 12"
    ));
    exp.shutdown().await.unwrap();
    assert_eq!(exp.sender().sizes(), [12]);
}

#[tokio::test(start_paused = true)]
async fn lone_small_request_is_flushed_after_flush_timeout() {
    let registry = Registry::new();
    // `batch: {}`: min_size 8192 items, flush_timeout 200ms.
    let settings = batching(serde_json::json!({"batch": {}}));
    let exp = HelperExporter::new(&ctx(&registry), settings, Recorder::default());
    exp.start(&Host::ready()).await.unwrap();
    let start = tokio::time::Instant::now();
    exp.consume(named("a", 2)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        exp.sender().sent().is_empty(),
        "sent before flush_timeout although far below min_size"
    );
    wait_until("flush after timeout", || !exp.sender().sent().is_empty()).await;
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(exp.sender().sizes(), [2]);
    exp.shutdown().await.unwrap();
    assert_eq!(exp.sender().sizes(), [2], "sent once");
}

#[tokio::test(start_paused = true)]
async fn max_size_splits_at_item_boundaries_and_shutdown_flushes_the_rest() {
    let registry = Registry::new();
    let settings = batching(serde_json::json!({
        "batch": {"min_size": 10, "max_size": 10, "flush_timeout": "1h"}
    }));
    let exp = HelperExporter::new(&ctx(&registry), settings, Recorder::default());
    exp.start(&Host::ready()).await.unwrap();
    exp.consume(named("s", 25)).await.unwrap();
    wait_until("two full batches", || exp.sender().sent().len() == 2).await;
    assert_eq!(exp.sender().sizes(), [10, 10]);
    // The remaining 5 wait for more (flush_timeout is 1h); shutdown sends them.
    exp.shutdown().await.unwrap();
    let sent = exp.sender().sent();
    let mut sizes: Vec<_> = sent.iter().map(Telemetry::item_count).collect();
    sizes.sort();
    assert_eq!(sizes, [5, 10, 10]);
    let mut all: Vec<String> = sent.iter().flat_map(names).collect();
    all.sort();
    let mut want: Vec<String> = names(&named("s", 25));
    want.sort();
    assert_eq!(all, want, "every span exactly once");
    assert!(metric(
        &registry,
        "otelcol_exporter_sent_spans{exporter=\"test/x\"} 25"
    ));
}

#[tokio::test(start_paused = true)]
async fn bytes_sizer_splits_by_encoded_size() {
    let registry = Registry::new();
    let one = named("s", 1).payload.encoded_len();
    let max = 4 * one;
    let settings = batching(serde_json::json!({
        "sizer": "bytes", "queue_size": 1_000_000,
        "batch": {"min_size": max, "max_size": max, "flush_timeout": "1h"}
    }));
    assert_eq!(settings.queue.batch_sizer(), Sizer::Bytes);
    let exp = HelperExporter::new(&ctx(&registry), settings, Recorder::default());
    exp.start(&Host::ready()).await.unwrap();
    let data = named("s", 40);
    let want = names(&data);
    exp.consume(data).await.unwrap();
    exp.shutdown().await.unwrap();
    let sent = exp.sender().sent();
    assert!(sent.len() > 2, "{} sends", sent.len());
    for t in &sent {
        assert!(
            t.payload.encoded_len() <= max,
            "{} > {max}",
            t.payload.encoded_len()
        );
    }
    let mut all: Vec<String> = sent.iter().flat_map(names).collect();
    all.sort();
    let mut want = want;
    want.sort();
    assert_eq!(all, want);
}

/// Traces, logs and metrics with empty and several resources, scopes and metrics.
fn shapes() -> Vec<Payload> {
    let span = |i: usize| trace::Span {
        name: "x".repeat(i * 37 % 300),
        ..Default::default()
    };
    let scope = |n: usize, from: usize| trace::ScopeSpans {
        spans: (from..from + n).map(span).collect(),
        schema_url: "https://example.com/schema".into(),
        ..Default::default()
    };
    let traces = Payload::Traces(vec![
        trace::ResourceSpans {
            scope_spans: vec![scope(2, 0), scope(0, 0), scope(5, 2)],
            ..Default::default()
        },
        trace::ResourceSpans::default(),
        trace::ResourceSpans {
            scope_spans: vec![scope(9, 7)],
            schema_url: "r".into(),
            ..Default::default()
        },
    ]);
    let record = |i: usize| logs::LogRecord {
        severity_text: "y".repeat(i * 53 % 200),
        ..Default::default()
    };
    let logs = Payload::Logs(vec![
        logs::ResourceLogs {
            scope_logs: vec![logs::ScopeLogs {
                log_records: (0..4).map(record).collect(),
                ..Default::default()
            }],
            ..Default::default()
        },
        logs::ResourceLogs {
            scope_logs: vec![
                logs::ScopeLogs::default(),
                logs::ScopeLogs {
                    log_records: (4..20).map(record).collect(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        },
    ]);
    use metrics::metric::Data;
    let point = |i: usize| metrics::NumberDataPoint {
        time_unix_nano: i as u64 * 1_000_000_007,
        ..Default::default()
    };
    let metrics = Payload::Metrics(vec![metrics::ResourceMetrics {
        scope_metrics: vec![
            metrics::ScopeMetrics {
                metrics: vec![
                    metrics::Metric {
                        name: "g".into(),
                        data: Some(Data::Gauge(metrics::Gauge {
                            data_points: (0..3).map(point).collect(),
                        })),
                        ..Default::default()
                    },
                    metrics::Metric {
                        name: "empty".into(),
                        ..Default::default()
                    },
                    metrics::Metric {
                        name: "s".into(),
                        unit: "By".into(),
                        data: Some(Data::Sum(metrics::Sum {
                            data_points: (3..200).map(point).collect(),
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        })),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            },
            metrics::ScopeMetrics {
                metrics: vec![metrics::Metric {
                    name: "h".into(),
                    data: Some(Data::Histogram(metrics::Histogram {
                        data_points: (0..4)
                            .map(|i| metrics::HistogramDataPoint {
                                count: i,
                                bucket_counts: vec![1; i as usize],
                                ..Default::default()
                            })
                            .collect(),
                        aggregation_temporality: 1,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
        ..Default::default()
    }]);
    vec![traces, logs, metrics]
}

#[test]
fn byte_size_of_a_split_is_computed_exactly() {
    for payload in shapes() {
        for n in 0..=payload.item_count() {
            let mut copy = payload.clone();
            let front = copy.split_front(n);
            assert_eq!(
                front_len(&payload, n),
                front.encoded_len(),
                "{:?} n={n}",
                payload.signal()
            );
        }
        let total = payload.encoded_len();
        for max in [0, 10, 100, 1000, total / 2, total, total + 1] {
            let n = items_within_bytes(&payload, max);
            let mut copy = payload.clone();
            assert!(copy.split_front(n).encoded_len() <= max || n == 0);
            if n < payload.item_count() {
                let mut copy = payload.clone();
                assert!(
                    copy.split_front(n + 1).encoded_len() > max,
                    "{:?}: {n} items fit in {max} bytes but so would one more",
                    payload.signal()
                );
            }
        }
    }
}

fn tenant(t: &str, n: usize, port: u16) -> Telemetry {
    let md = Metadata::new(
        Some(format!("127.0.0.1:{port}").parse().unwrap()),
        [("x-tenant".to_string(), t.to_string())],
    );
    Telemetry::with_metadata(named(t, n).payload, md)
}

#[tokio::test(start_paused = true)]
async fn partition_by_metadata_keys_keeps_tenants_apart() {
    let registry = Registry::new();
    let settings = batching(serde_json::json!({
        "batch": {"min_size": 4, "flush_timeout": "1h", "partition": {"metadata_keys": ["X-Tenant"]}}
    }));
    let exp = HelperExporter::new(&ctx(&registry), settings, Recorder::default());
    exp.start(&Host::ready()).await.unwrap();
    exp.consume(tenant("a", 2, 1001)).await.unwrap();
    exp.consume(tenant("b", 2, 1002)).await.unwrap();
    exp.consume(tenant("a", 2, 1003)).await.unwrap();
    exp.consume(named("none", 2)).await.unwrap();
    exp.consume(tenant("b", 2, 1002)).await.unwrap();
    wait_until("a and b sent", || exp.sender().sent().len() == 2).await;
    let sent = exp.sender().sent();
    for t in &sent {
        let who = t.metadata.get("x-tenant");
        assert_eq!(who.len(), 1, "{:?}", t.metadata);
        assert_eq!(t.item_count(), 4);
        assert!(
            names(t).iter().all(|n| n.starts_with(who[0].as_str())),
            "tenant {who:?} got {:?}",
            names(t)
        );
    }
    let a = sent
        .iter()
        .find(|t| t.metadata.get("x-tenant") == ["a"])
        .unwrap();
    assert_eq!(
        a.metadata.client_addr(),
        None,
        "different clients merged: only the partition keys are kept"
    );
    let b = sent
        .iter()
        .find(|t| t.metadata.get("x-tenant") == ["b"])
        .unwrap();
    assert_eq!(
        b.metadata.client_addr(),
        Some("127.0.0.1:1002".parse().unwrap()),
        "same metadata merged: kept whole"
    );
    // The request without the key is its own partition, sent at shutdown.
    exp.shutdown().await.unwrap();
    let sent = exp.sender().sent();
    assert_eq!(sent.len(), 3);
    assert_eq!(names(&sent[2]), ["none0", "none1"]);
    assert!(sent[2].metadata.get("x-tenant").is_empty());
}

/// At most `num_consumers` batches are sent at once, and while every sender is busy
/// the batcher takes nothing more: the backlog stays in the (bounded) queue.
#[tokio::test(start_paused = true)]
async fn busy_senders_leave_the_backlog_in_the_queue() {
    let registry = Registry::new();
    let gate = Arc::new(Semaphore::new(0));
    let settings = batching(serde_json::json!({
        "num_consumers": 2,
        "batch": {"min_size": 3, "max_size": 3, "flush_timeout": "1h"}
    }));
    let exp = HelperExporter::new(&ctx(&registry), settings, Recorder::gated(&gate));
    exp.start(&Host::ready()).await.unwrap();
    exp.consume(named("a", 12)).await.unwrap();
    wait_until("two sends started", || {
        exp.sender().entered.load(Ordering::SeqCst) == 2
    })
    .await;
    for tag in ["b", "c", "d"] {
        exp.consume(named(tag, 1)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(7200)).await;
    assert_eq!(exp.sender().entered.load(Ordering::SeqCst), 2);
    assert!(metric(
        &registry,
        "otelcol_exporter_queue_size{exporter=\"test/x\"} 3"
    ));
    gate.add_permits(100);
    exp.shutdown().await.unwrap();
    let mut sizes = exp.sender().sizes();
    sizes.sort();
    assert_eq!(sizes, [3, 3, 3, 3, 3]);
}

#[tokio::test(start_paused = true)]
async fn signals_are_never_merged() {
    let registry = Registry::new();
    let settings = batching(serde_json::json!({"batch": {"min_size": 4, "flush_timeout": "1h"}}));
    let exp = HelperExporter::new(&ctx(&registry), settings, Recorder::default());
    exp.start(&Host::ready()).await.unwrap();
    let logs = Telemetry::new(Payload::Logs(vec![logs::ResourceLogs {
        scope_logs: vec![logs::ScopeLogs {
            log_records: vec![logs::LogRecord::default(); 2],
            ..Default::default()
        }],
        ..Default::default()
    }]));
    exp.consume(named("s", 2)).await.unwrap();
    exp.consume(logs.clone()).await.unwrap();
    exp.consume(named("t", 2)).await.unwrap();
    wait_until("traces merged", || !exp.sender().sent().is_empty()).await;
    assert_eq!(names(&exp.sender().sent()[0]), ["s0", "s1", "t0", "t1"]);
    exp.shutdown().await.unwrap();
    assert_eq!(exp.sender().sent()[1], logs);
}

#[tokio::test(start_paused = true)]
async fn wait_for_result_waits_for_the_export() {
    let registry = Registry::new();
    let gate = Arc::new(Semaphore::new(0));
    let settings = batching(serde_json::json!({"wait_for_result": true}));
    let exp = HelperExporter::new(&ctx(&registry), settings, Recorder::gated(&gate));
    exp.start(&Host::ready()).await.unwrap();
    let mut call = std::pin::pin!(exp.consume(named("a", 1)));
    let waited = tokio::time::timeout(Duration::from_secs(3600), &mut call).await;
    assert!(waited.is_err(), "returned before the export: {waited:?}");
    assert!(exp.sender().sent().is_empty());
    gate.add_permits(1);
    call.await.unwrap();
    assert_eq!(exp.sender().sizes(), [1], "returned after the export");
    // The export's error comes back to the caller.
    exp.sender()
        .errors
        .lock()
        .unwrap()
        .push(ConsumeError::permanent("rejected"));
    gate.add_permits(1);
    let err = exp.consume(named("b", 1)).await.unwrap_err();
    assert_eq!(err, ConsumeError::permanent("rejected"));
    exp.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn wait_for_result_with_batching_answers_every_merged_caller() {
    let registry = Registry::new();
    let gate = Arc::new(Semaphore::new(0));
    let settings = batching(serde_json::json!({
        "wait_for_result": true,
        "batch": {"min_size": 3, "max_size": 3, "flush_timeout": "1h"}
    }));
    let mut sender = Recorder::gated(&gate);
    sender.reject = Some("b0".into());
    let exp = HelperExporter::new(&ctx(&registry), settings, sender);
    exp.start(&Host::ready()).await.unwrap();
    // Batches: [a0 a1 b0] and [b1 b2 b3]; the first is rejected. Both callers had
    // items in it: both see its error, although b's other items were delivered.
    let both = async { tokio::join!(exp.consume(named("a", 2)), exp.consume(named("b", 4))) };
    let mut both = std::pin::pin!(both);
    let waited = tokio::time::timeout(Duration::from_secs(3600), &mut both).await;
    assert!(waited.is_err(), "callers answered before any export");
    gate.add_permits(10);
    let (first, second) = both.await;
    assert_eq!(first, Err(ConsumeError::permanent("rejected b0")));
    assert_eq!(second, Err(ConsumeError::permanent("rejected b0")));
    assert_eq!(exp.sender().sent().len(), 1);
    assert_eq!(names(&exp.sender().sent()[0]), ["b1", "b2", "b3"]);
    exp.shutdown().await.unwrap();
}

fn storage_ctx(registry: &Registry, dir: &std::path::Path) -> BuildContext {
    let mut storages = std::collections::BTreeMap::new();
    storages.insert(
        ComponentId::with_name("file_storage", "q"),
        Arc::new(DirStorage(dir.to_path_buf())) as Arc<dyn stratus_core::storage::StorageProvider>,
    );
    ctx(registry).with_storages(storages)
}

fn persistent_batching(batch: serde_json::Value) -> ExporterSettings {
    batching(serde_json::json!({"storage": "file_storage/q", "num_consumers": 2, "batch": batch}))
}

fn records<S: Sender>(exp: &HelperExporter<S>) -> usize {
    exp.inner
        .queue
        .as_ref()
        .unwrap()
        .persistent_records()
        .unwrap()
}

/// A kill (the shutdown deadline aborts everything) while the merged send is not
/// confirmed loses nothing: every merged record is delivered after the restart, and
/// once that merged send is confirmed the records are gone from the disk.
#[tokio::test]
async fn persistent_queue_keeps_merged_records_until_the_merged_send_is_confirmed() {
    let tmp = tempfile::tempdir().unwrap();
    let batch = serde_json::json!({"min_size": 6, "flush_timeout": "1h"});
    let registry = Registry::new();
    let gate = Arc::new(Semaphore::new(0));
    let exp = HelperExporter::try_new(
        &storage_ctx(&registry, tmp.path()),
        persistent_batching(batch.clone()),
        Recorder::gated(&gate),
    )
    .unwrap();
    exp.start(&Host::ready()).await.unwrap();
    for tag in ["a", "b", "c"] {
        exp.consume(named(tag, 2)).await.unwrap();
    }
    wait_until("merged send started", || {
        exp.sender().entered.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(records(&exp), 3, "in flight, still on disk");
    let cut = tokio::time::timeout(Duration::from_millis(50), exp.shutdown()).await;
    assert!(cut.is_err(), "shutdown cannot finish while the send hangs");
    drop(exp);

    let registry = Registry::new();
    let exp = HelperExporter::try_new(
        &storage_ctx(&registry, tmp.path()),
        persistent_batching(batch.clone()),
        Recorder::default(),
    )
    .unwrap();
    assert_eq!(records(&exp), 3, "nothing lost");
    exp.start(&Host::ready()).await.unwrap();
    wait_until("re-delivered", || !exp.sender().sent().is_empty()).await;
    let sent = exp.sender().sent();
    assert_eq!(sent.len(), 1, "merged again into one send");
    assert_eq!(names(&sent[0]), ["a0", "a1", "b0", "b1", "c0", "c1"]);
    wait_until("records done", || records(&exp) == 0).await;
    exp.shutdown().await.unwrap();
    drop(exp);

    let exp = HelperExporter::try_new(
        &storage_ctx(&Registry::new(), tmp.path()),
        persistent_batching(batch),
        Recorder::default(),
    )
    .unwrap();
    assert_eq!(records(&exp), 0, "confirmation removed every merged record");
}

/// A request split over several batches stays on disk until every one of them is
/// confirmed: here the second part is, the first hangs when the process is killed.
#[tokio::test]
async fn split_record_stays_until_every_part_is_confirmed() {
    let tmp = tempfile::tempdir().unwrap();
    let batch = serde_json::json!({"min_size": 4, "max_size": 4, "flush_timeout": "1h"});
    let registry = Registry::new();
    let sender = Recorder {
        hang: Some("a0".into()),
        ..Default::default()
    };
    let exp = HelperExporter::try_new(
        &storage_ctx(&registry, tmp.path()),
        persistent_batching(batch.clone()),
        sender,
    )
    .unwrap();
    exp.start(&Host::ready()).await.unwrap();
    // Parts [a0..a3] (hangs) and [a4..a7] (delivered).
    exp.consume(named("a", 8)).await.unwrap();
    wait_until("second part delivered", || exp.sender().sent().len() == 1).await;
    assert_eq!(names(&exp.sender().sent()[0]), ["a4", "a5", "a6", "a7"]);
    assert_eq!(records(&exp), 1, "the first part is not confirmed");
    let cut = tokio::time::timeout(Duration::from_millis(50), exp.shutdown()).await;
    assert!(cut.is_err());
    drop(exp);

    let exp = HelperExporter::try_new(
        &storage_ctx(&Registry::new(), tmp.path()),
        persistent_batching(batch),
        Recorder::default(),
    )
    .unwrap();
    assert_eq!(records(&exp), 1, "the record survived the kill");
    exp.start(&Host::ready()).await.unwrap();
    exp.shutdown().await.unwrap();
    let mut all: Vec<String> = exp.sender().sent().iter().flat_map(names).collect();
    all.sort();
    assert_eq!(
        all,
        names(&named("a", 8)),
        "the whole record is delivered again"
    );
    assert_eq!(records(&exp), 0);
}

// ---- config ----

fn problems(json: serde_json::Value) -> Vec<ConfigProblem> {
    let q: QueueConfig = match decode_config(&json) {
        Ok(q) => q,
        Err(p) => return p,
    };
    panic!("{json} was accepted: {q:?}");
}

#[test]
fn batch_section_defaults_match_upstream() {
    let q = queue(serde_json::json!({"batch": {}}));
    let b = q.active_batch().unwrap();
    assert_eq!(b.flush_timeout, Duration::from_millis(200));
    assert_eq!((b.min_size, b.max_size), (8192, 0));
    assert!(b.partition.metadata_keys.is_empty());
    assert_eq!(
        q.batch_sizer(),
        Sizer::Items,
        "queue sizer requests → items"
    );
    // `batch:` written with no body turns batching on with the defaults too.
    let q = queue(serde_json::json!({"batch": null}));
    assert_eq!(q.active_batch().unwrap().min_size, 8192);
    assert_eq!(q.batch_sizer(), Sizer::Items);
    // The batch sizer comes from the queue's sizer when that is items or bytes …
    let q = queue(serde_json::json!({"sizer": "bytes", "queue_size": 100000, "batch": {}}));
    assert_eq!(q.batch_sizer(), Sizer::Bytes);
    let q = queue(
        serde_json::json!({"sizer": "items", "queue_size": 10000, "batch": {"min_size": 100}}),
    );
    assert_eq!(q.batch_sizer(), Sizer::Items);
    let q = queue(serde_json::json!({"sizer": "requests", "batch": {"min_size": 100}}));
    assert_eq!(q.batch_sizer(), Sizer::Items);
    // … but not into a null section (upstream skips it), and not over its own.
    let q = queue(serde_json::json!({"sizer": "bytes", "batch": null}));
    assert_eq!(q.batch_sizer(), Sizer::Items);
    let q = queue(serde_json::json!({"sizer": "items", "batch": {"sizer": "bytes"}}));
    assert_eq!(q.batch_sizer(), Sizer::Bytes);
    // `enabled: false` turns a written section off.
    let q = queue(serde_json::json!({"batch": {"enabled": false, "flush_timeout": 0}}));
    assert_eq!(q.active_batch(), None);
    // Full form.
    let q = queue(serde_json::json!({
        "wait_for_result": true,
        "batch": {"sizer": "items", "flush_timeout": "10s", "min_size": 10, "max_size": 20,
                  "partition": {"metadata_keys": ["X-Tenant", "region"]}}
    }));
    assert!(q.wait_for_result);
    let b = q.active_batch().unwrap();
    assert_eq!(b.flush_timeout, Duration::from_secs(10));
    assert_eq!((b.min_size, b.max_size), (10, 20));
    assert_eq!(b.partition.metadata_keys, ["X-Tenant", "region"]);
    // A disabled queue batches nothing.
    let q = queue(serde_json::json!({"enabled": false, "batch": {}}));
    assert_eq!(q.active_batch(), None);
}

#[test]
fn invalid_batch_configs_say_where_and_why() {
    let cases = [
        (
            serde_json::json!({"batch": {"flush_timeout": "0s"}}),
            "sending_queue::batch::flush_timeout",
            "must be greater than 0",
        ),
        (
            serde_json::json!({"batch": {"min_size": 100, "max_size": 50}}),
            "sending_queue::batch::max_size",
            "must be 0 (no maximum) or greater than or equal to min_size (100)",
        ),
        (
            serde_json::json!({"sizer": "items", "queue_size": 100, "batch": {}}),
            "sending_queue::batch::min_size",
            "must be less than or equal to queue_size (100) when the batch and the queue use \
             the same sizer",
        ),
        (
            serde_json::json!({"batch": {"sizer": "requests"}}),
            "sending_queue::batch::sizer",
            "`requests` cannot size a batch: use `items` or `bytes`",
        ),
        (
            serde_json::json!({"batch": {"partition": {"metadata_keys": ["Key1", "kEy1", "key2"]}}}),
            "sending_queue::batch::partition::metadata_keys",
            "duplicate entry `key1` (keys are case-insensitive)",
        ),
        (
            serde_json::json!({"wait_for_result": true, "storage": "file_storage/q"}),
            "sending_queue::wait_for_result",
            "is not supported with a persistent queue (`storage`), as upstream",
        ),
    ];
    for (json, path, message) in cases {
        let q: QueueConfig = serde_json::from_value(json.clone()).unwrap();
        let found = config::validate_shared(&RetryConfig::default(), &q);
        assert_eq!(found, [ConfigProblem::new(path, message)], "{json}");
    }
    // Type errors carry their paths too.
    let p = problems(serde_json::json!({"batch": {"min_size": -1}}));
    assert_eq!(p[0].path, "batch::min_size", "{p:?}");
    let p = problems(serde_json::json!({"batch": {"sizer": "pages"}}));
    assert_eq!(p[0].path, "batch::sizer", "{p:?}");
    let p = problems(serde_json::json!({"batch": {"flush_timeout": "soon"}}));
    assert_eq!(p[0].path, "batch::flush_timeout", "{p:?}");
    let p = problems(serde_json::json!({"batch": {"partition": {"keys": ["a"]}}}));
    assert!(p[0].path.starts_with("batch::partition"), "{p:?}");
    assert!(p[0].message.contains("unknown field `keys`"), "{p:?}");
    let p = problems(serde_json::json!({"batch": {"timeout": "1s"}}));
    assert!(p[0].path.starts_with("batch"), "{p:?}");
    assert!(p[0].message.contains("unknown field `timeout`"), "{p:?}");
    let p = problems(serde_json::json!({"wait_for_result": "yes"}));
    assert_eq!(p[0].path, "wait_for_result", "{p:?}");
}

// ---- split before queueing ----

/// A [`Recorder`] whose `split` cuts a batch into parts of `per_part` spans (the way
/// the CloudWatch Logs exporter cuts one PutLogEvents request per part).
#[derive(Default)]
struct Splitting {
    per_part: usize,
    inner: Recorder,
}

#[async_trait]
impl Sender for Splitting {
    type Request = Telemetry;
    fn split(&self, data: Telemetry) -> Vec<Telemetry> {
        let names = names(&data);
        names
            .chunks(self.per_part)
            .map(|chunk| {
                let tag = chunk[0].trim_end_matches(char::is_numeric).to_owned();
                let first: usize = chunk[0][tag.len()..].parse().unwrap();
                let mut part = named(&tag, first + chunk.len());
                let Payload::Traces(r) = &mut *part.payload else {
                    unreachable!()
                };
                r[0].scope_spans[0].spans.drain(..first);
                part
            })
            .collect()
    }
    fn encode(&self, data: Telemetry) -> Result<Telemetry, ConsumeError> {
        self.inner.encode(data)
    }
    async fn send(&self, request: &Telemetry) -> Result<(), ConsumeError> {
        self.inner.send(request).await
    }
}

/// Each part is its own request: one that is throttled is retried alone, the parts
/// before it are not sent again, and the retry is counted as throttled.
#[tokio::test(start_paused = true)]
async fn split_parts_are_sent_and_retried_alone() {
    let registry = Registry::new();
    let settings = ExporterSettings {
        queue: queue(serde_json::json!({"num_consumers": 1, "wait_for_result": true})),
        timeout: Duration::ZERO,
        ..Default::default()
    };
    let sender = Splitting {
        per_part: 2,
        inner: Recorder::default(),
    };
    let exp = HelperExporter::new(&ctx(&registry), settings, sender);
    exp.start(&Host::ready()).await.unwrap();
    exp.consume(named("a", 2)).await.unwrap();
    // The next attempt (part [b0, b1]) is throttled once, as PutLogEvents can be.
    exp.sender()
        .inner
        .errors
        .lock()
        .unwrap()
        .push(ConsumeError::retryable(
            "PutLogEvents: ThrottlingException: Rate exceeded",
        ));
    exp.consume(named("b", 5)).await.unwrap();
    let sent: Vec<Vec<String>> = exp.sender().inner.sent().iter().map(names).collect();
    assert_eq!(
        sent,
        [&["a0", "a1"][..], &["b0", "b1"], &["b2", "b3"], &["b4"]]
            .map(|p| p.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    );
    assert_eq!(
        exp.sender().inner.entered.load(Ordering::SeqCst),
        5,
        "four parts, one retried attempt"
    );
    assert!(metric(
        &registry,
        "otelcol_exporter_sent_spans{exporter=\"test/x\"} 7"
    ));
    assert!(metric(
        &registry,
        "stratus_exporter_retries{exporter=\"test/x\",signal=\"traces\",reason=\"throttled\"} 1"
    ));
    assert!(metric(
        &registry,
        "stratus_exporter_retries{exporter=\"test/x\",signal=\"traces\",reason=\"failed\"} 0"
    ));
    exp.shutdown().await.unwrap();
}

/// Without a queue the parts go one after the other in the caller's task; a failed
/// part does not stop the others, and its error is returned.
#[tokio::test(start_paused = true)]
async fn split_parts_without_a_queue_are_all_tried() {
    let registry = Registry::new();
    let settings = ExporterSettings {
        queue: QueueConfig::disabled(),
        retry: RetryConfig::disabled(),
        timeout: Duration::ZERO,
    };
    let sender = Splitting {
        per_part: 1,
        inner: Recorder {
            reject: Some("c1".into()),
            ..Default::default()
        },
    };
    let exp = HelperExporter::new(&ctx(&registry), settings, sender);
    let err = exp.consume(named("c", 3)).await.unwrap_err();
    assert!(err.is_permanent() && err.message().contains("c1"), "{err}");
    let sent: Vec<String> = exp.sender().inner.sent().iter().flat_map(names).collect();
    assert_eq!(sent, ["c0", "c2"]);
    assert!(metric(
        &registry,
        "otelcol_exporter_send_failed_spans{exporter=\"test/x\"} 1"
    ));
}

/// Parts are records of their own in a persistent queue: after a kill, only the part
/// that was not confirmed is sent again (compare
/// `split_record_stays_until_every_part_is_confirmed`, where a split after the queue
/// resends the whole record).
#[tokio::test]
async fn split_parts_on_disk_are_confirmed_one_by_one() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = Registry::new();
    let sender = Splitting {
        per_part: 4,
        inner: Recorder {
            hang: Some("a0".into()),
            ..Default::default()
        },
    };
    let settings =
        || batching(serde_json::json!({"storage": "file_storage/q", "num_consumers": 2}));
    let exp =
        HelperExporter::try_new(&storage_ctx(&registry, tmp.path()), settings(), sender).unwrap();
    exp.start(&Host::ready()).await.unwrap();
    exp.consume(named("a", 8)).await.unwrap();
    wait_until("second part delivered", || {
        exp.sender().inner.sent().len() == 1
    })
    .await;
    assert_eq!(
        names(&exp.sender().inner.sent()[0]),
        ["a4", "a5", "a6", "a7"]
    );
    wait_until("second part confirmed", || records(&exp) == 1).await;
    let cut = tokio::time::timeout(Duration::from_millis(50), exp.shutdown()).await;
    assert!(cut.is_err());
    drop(exp);

    let exp = HelperExporter::try_new(
        &storage_ctx(&Registry::new(), tmp.path()),
        settings(),
        Recorder::default(),
    )
    .unwrap();
    assert_eq!(
        records(&exp),
        1,
        "only the unconfirmed part survived the kill"
    );
    exp.start(&Host::ready()).await.unwrap();
    exp.shutdown().await.unwrap();
    let again: Vec<String> = exp.sender().sent().iter().flat_map(names).collect();
    assert_eq!(
        again,
        ["a0", "a1", "a2", "a3"],
        "the delivered part is not resent"
    );
}

/// Accepts `accept_per_attempt` more items on each attempt (as a destination answering
/// item by item would), failing retryably until all are taken or `final_error` ends
/// the request.
struct ItemByItem {
    accept_per_attempt: usize,
    attempts: AtomicUsize,
    final_error: Option<ConsumeError>,
}

struct ItemRequest {
    items: usize,
    accepted: AtomicUsize,
}

#[async_trait]
impl Sender for ItemByItem {
    type Request = ItemRequest;
    fn encode(&self, data: Telemetry) -> Result<ItemRequest, ConsumeError> {
        Ok(ItemRequest {
            items: data.item_count(),
            accepted: AtomicUsize::new(0),
        })
    }
    async fn send(&self, request: &ItemRequest) -> Result<(), ConsumeError> {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst);
        let now =
            (request.accepted.load(Ordering::SeqCst) + self.accept_per_attempt).min(request.items);
        request.accepted.store(now, Ordering::SeqCst);
        if now == request.items {
            return Ok(());
        }
        match (&self.final_error, attempt) {
            (Some(e), 1..) => Err(e.clone()),
            _ => Err(ConsumeError::retryable("some items are left")),
        }
    }
    fn accepted_items(&self, request: &ItemRequest) -> Option<usize> {
        Some(request.accepted.load(Ordering::SeqCst))
    }
}

#[tokio::test(start_paused = true)]
async fn accepted_items_are_counted_item_by_item() {
    // Taken over three attempts: every item counts as sent once, none as failed.
    let registry = Registry::new();
    let settings = ExporterSettings {
        queue: QueueConfig::disabled(),
        ..Default::default()
    };
    let sender = ItemByItem {
        accept_per_attempt: 2,
        attempts: AtomicUsize::new(0),
        final_error: None,
    };
    let exp = HelperExporter::new(&ctx(&registry), settings.clone(), sender);
    exp.consume(spans(5)).await.unwrap();
    assert_eq!(exp.sender().attempts.load(Ordering::SeqCst), 3);
    assert!(metric(
        &registry,
        "otelcol_exporter_sent_spans{exporter=\"test/x\"} 5"
    ));
    assert!(metric(
        &registry,
        "otelcol_exporter_send_failed_spans{exporter=\"test/x\"} 0"
    ));

    // The second attempt fails for good: what was taken before counts as sent, only
    // the rest as failed.
    let registry = Registry::new();
    let sender = ItemByItem {
        accept_per_attempt: 2,
        attempts: AtomicUsize::new(0),
        final_error: Some(ConsumeError::permanent("rejected")),
    };
    let exp = HelperExporter::new(&ctx(&registry), settings, sender);
    let err = exp.consume(spans(10)).await.unwrap_err();
    assert!(err.is_permanent());
    assert!(metric(
        &registry,
        "otelcol_exporter_sent_spans{exporter=\"test/x\"} 4"
    ));
    assert!(metric(
        &registry,
        "otelcol_exporter_send_failed_spans{exporter=\"test/x\"} 6"
    ));
}

#[tokio::test(start_paused = true)]
async fn accepted_items_above_the_batch_are_capped_and_a_success_can_be_partial() {
    struct Says(usize);
    #[async_trait]
    impl Sender for Says {
        type Request = ();
        fn encode(&self, _: Telemetry) -> Result<(), ConsumeError> {
            Ok(())
        }
        async fn send(&self, _: &()) -> Result<(), ConsumeError> {
            Ok(())
        }
        fn accepted_items(&self, _: &()) -> Option<usize> {
            Some(self.0)
        }
    }
    for (says, sent, failed) in [(99, 3, 0), (1, 1, 2)] {
        let registry = Registry::new();
        let settings = ExporterSettings {
            queue: QueueConfig::disabled(),
            ..Default::default()
        };
        let exp = HelperExporter::new(&ctx(&registry), settings, Says(says));
        exp.consume(spans(3)).await.unwrap();
        let line = |what: &str, n: usize| {
            format!("otelcol_exporter_{what}_spans{{exporter=\"test/x\"}} {n}")
        };
        assert!(metric(&registry, &line("sent", sent)), "{says}");
        assert!(metric(&registry, &line("send_failed", failed)), "{says}");
    }
}

/// Log output captured for one test.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Throttled retries are counted one by one, and logged once (rate-limited) with the
/// reason and the destination's error, as a user sees them during a throttling storm.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn throttled_retries_are_counted_each_and_logged_once() {
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let registry = Registry::new();
    let settings = ExporterSettings {
        queue: QueueConfig::disabled(),
        ..Default::default()
    };
    let throttled =
        || ConsumeError::retryable("PutLogEvents: ThrottlingException (HTTP 400): Rate exceeded");
    let sender = Scripted::new(vec![throttled(), throttled(), throttled()]);
    let exp = HelperExporter::new(&ctx(&registry), settings, sender);
    exp.consume(spans(2)).await.unwrap();
    assert!(metric(
        &registry,
        "stratus_exporter_retries{exporter=\"test/x\",signal=\"traces\",reason=\"throttled\"} 3"
    ));
    assert!(metric(
        &registry,
        "otelcol_exporter_sent_spans{exporter=\"test/x\"} 2"
    ));
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("will retry")).collect();
    assert_eq!(lines.len(), 1, "rate-limited:\n{text}");
    assert!(
        lines[0].contains("WARN")
            && lines[0].contains("throttled")
            && lines[0].contains("ThrottlingException"),
        "{}",
        lines[0]
    );
}

/// While its destination fails, an exporter behind a failover connector hands what
/// it holds to the next level: the batch being retried once the second attempt
/// failed, and queued batches without trying them (but for one probe per second).
#[tokio::test(start_paused = true)]
async fn a_failing_destination_hands_queued_and_retried_data_over() {
    let registry = Registry::new();
    let errors = (0..1000).map(|_| ConsumeError::retryable("down")).collect();
    let exp = HelperExporter::new(
        &ctx(&registry),
        ExporterSettings::default(),
        Scripted::new(errors),
    );
    let next = stratus_testkit::RecordingConsumer::reserving();
    let destination = exp.destinations().pop().unwrap();
    destination.set_handover(Some(next.clone()));
    exp.start(&Host::ready()).await.unwrap();
    for n in 1..=5 {
        exp.consume(spans(n)).await.unwrap();
    }
    next.wait_for_items(15, Duration::from_secs(60)).await;
    assert!(destination.is_failing());
    assert!(metric(
        &registry,
        "stratus_exporter_handed_over_spans{exporter=\"test/x\"} 15"
    ));
    assert!(metric(
        &registry,
        "otelcol_exporter_send_failed_spans{exporter=\"test/x\"} 0"
    ));
    exp.shutdown().await.unwrap();
}

/// `when_full: drop`: a full queue takes the batch (so a fan-out carries on) and
/// counts this exporter's share as dropped; `refuse` hands the data back whole.
#[tokio::test]
async fn when_full_drop_takes_and_counts_refuse_hands_back() {
    let registry = Registry::new();
    let mut settings = ExporterSettings::default();
    settings.queue.queue_size = 1;
    settings.queue.when_full = Some(WhenFull::Drop);
    let gate = Arc::new(Semaphore::new(0));
    let mut sender = Scripted::new(vec![]);
    sender.gate = Some(gate.clone());
    let exp = HelperExporter::new(&ctx(&registry), settings.clone(), sender);
    exp.consume(spans(2)).await.unwrap();
    exp.consume(spans(3)).await.unwrap();
    assert!(metric(
        &registry,
        "otelcol_exporter_enqueue_failed_spans{exporter=\"test/x\"} 3"
    ));

    let registry = Registry::new();
    settings.queue.when_full = None;
    let exp = HelperExporter::new(&ctx(&registry), settings, Scripted::new(vec![]));
    assert!(exp.can_prepare());
    exp.consume(spans(2)).await.unwrap();
    match exp.prepare(spans(4)).await {
        Prepared::Refused(e, back) => {
            assert!(!e.is_permanent());
            assert_eq!(back.item_count(), 4);
        }
        other => panic!("{other:?}"),
    }
}

/// Records what it sends: the body, and whether it came from the stored bytes.
#[derive(Default)]
struct StoredSender {
    sent: Mutex<Vec<(Vec<u8>, bool)>>,
    /// Declines stored bytes (like an exporter sending JSON).
    decline: bool,
}

#[async_trait]
impl Sender for StoredSender {
    type Request = (Vec<u8>, bool);
    fn encode(&self, data: Telemetry) -> Result<Self::Request, ConsumeError> {
        Ok((data.payload.encode_request().to_vec(), false))
    }
    fn encode_stored(
        &self,
        _signal: Signal,
        otlp: bytes::Bytes,
    ) -> Option<Result<Self::Request, ConsumeError>> {
        (!self.decline).then(|| Ok((otlp.to_vec(), true)))
    }
    async fn send(&self, request: &Self::Request) -> Result<(), ConsumeError> {
        self.sent.lock().unwrap().push(request.clone());
        Ok(())
    }
}

/// From a persistent queue, a sender that can send the stored bytes gets them (and the
/// items are counted from the record's header); one that cannot gets the decoded batch.
#[tokio::test]
async fn persistent_queue_hands_stored_bytes_to_a_sender_that_takes_them() {
    for decline in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let registry = Registry::new();
        let sender = StoredSender {
            decline,
            ..Default::default()
        };
        let exp = HelperExporter::try_new(
            &storage_ctx(&registry, tmp.path()),
            persistent_settings("file_storage/q"),
            sender,
        )
        .unwrap();
        exp.start(&Host::ready()).await.unwrap();
        let data = spans(3);
        exp.consume(data.clone()).await.unwrap();
        wait_until("sent", || !exp.sender().sent.lock().unwrap().is_empty()).await;
        let sent = exp.sender().sent.lock().unwrap().clone();
        assert_eq!(
            sent,
            [(data.payload.encode_request().to_vec(), !decline)],
            "{decline}"
        );
        exp.shutdown().await.unwrap();
        assert!(metric(
            &registry,
            "otelcol_exporter_sent_spans{exporter=\"test/x\"} 3"
        ));
    }
}

#[tokio::test(start_paused = true)]
async fn flush_waits_for_queued_and_gated_sends_and_keeps_the_queue_open() {
    let registry = Registry::new();
    let gate = Arc::new(Semaphore::new(0));
    let settings = batching(serde_json::json!({}));
    let exp = Arc::new(HelperExporter::new(
        &ctx(&registry),
        settings,
        Recorder::gated(&gate),
    ));
    exp.start(&Host::ready()).await.unwrap();
    for tag in ["a", "b"] {
        exp.consume(named(tag, 2)).await.unwrap();
    }
    let flushing = tokio::spawn({
        let exp = exp.clone();
        async move { exp.flush().await }
    });
    wait_until("a send in progress", || {
        exp.sender().entered.load(Ordering::SeqCst) > 0
    })
    .await;
    assert!(!flushing.is_finished(), "flush waits for the sends");
    gate.add_permits(2);
    flushing.await.unwrap().unwrap();
    assert_eq!(exp.sender().sizes(), [2, 2]);
    // Not a shutdown: the queue still takes data.
    exp.consume(named("c", 1)).await.unwrap();
    gate.add_permits(1);
    exp.flush().await.unwrap();
    assert_eq!(exp.sender().sizes(), [2, 2, 1]);
    exp.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn flush_sends_a_partial_batch_before_its_flush_timeout() {
    let registry = Registry::new();
    let settings = batching(serde_json::json!({
        "batch": {"min_size": 100, "flush_timeout": "1h"}
    }));
    let exp = HelperExporter::new(&ctx(&registry), settings, Recorder::default());
    exp.start(&Host::ready()).await.unwrap();
    exp.consume(named("a", 3)).await.unwrap();
    exp.consume(named("b", 2)).await.unwrap();
    let start = tokio::time::Instant::now();
    exp.flush().await.unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "not the flush_timeout"
    );
    assert_eq!(exp.sender().sizes(), [5]);
    // Without a queue there is nothing to hold and flush returns at once.
    let direct = HelperExporter::new(
        &ctx(&registry),
        batching(serde_json::json!({"enabled": false})),
        Recorder::default(),
    );
    direct.flush().await.unwrap();
    exp.shutdown().await.unwrap();
}
