use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use stratus_core::ComponentId;
use stratus_core::telemetry::Registry;
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
