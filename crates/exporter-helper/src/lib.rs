//! The one driver every stratus exporter runs on.
//!
//! An exporter supplies a [`Sender`]: how to turn a batch into a request
//! ([`Sender::encode`]) and how to send one request and classify the answer
//! ([`Sender::send`]). [`build_exporter`] wraps it in the fixed chain
//!
//! ```text
//! consume ─► sending queue ─► metrics ─► retry (back-off, throttle) ─► timeout ─► send
//! ```
//!
//! so queueing, retries, timeouts and the standard `otelcol_exporter_*` metrics behave
//! the same for every destination.
//!
//! A full queue refuses the batch with a retryable error (and counts it in
//! `otelcol_exporter_enqueue_failed_*`): the refusal travels back to the client, which
//! retries, instead of the batch being dropped.
//!
//! With `sending_queue::batch`, one loop takes queued requests and merges them (per
//! signal and partition) until `min_size` or `flush_timeout`, splits at `max_size`,
//! and sends each merged batch once through retry and timeout, at most
//! `num_consumers` at a time. A queued request is done (a persistent queue deletes
//! it) only when every batch carrying its items was delivered or failed for good.
//! With `sending_queue::wait_for_result`, `consume` returns once the data was
//! exported, with the export's error.
//!
//! **Split before queueing.** A destination whose API takes bounded requests (AWS
//! PutLogEvents: 10,000 events, 1 MiB) can cut a batch into the parts that are each
//! one request with [`Sender::split`]. The parts are queued one by one, so each is
//! sent, retried, and (in a persistent queue) deleted on its own: a retry never
//! resends a part the destination already took, not even after a crash. Once the
//! first part is queued the others wait for room rather than being refused, so a
//! batch is never half queued and half refused.
//!
//! **Item-by-item delivery.** A destination may take some items of a request and
//! reject others (Application Insights' `206`). Such a sender remembers in its
//! request what the destination took, so a retry resends only the rest, and reports
//! the count with [`Sender::accepted_items`]: `otelcol_exporter_sent_*` then counts
//! what the destination accepted and `otelcol_exporter_send_failed_*` the rest, item
//! by item rather than per batch. Logging which items were rejected and why is the
//! sender's part; the helper logs a request that failed as a whole.
//!
//! **Retries** are counted in `stratus_exporter_retries{exporter,signal,reason}`
//! (`reason`: `throttled` when the destination asked us to slow down, `timeout`,
//! `failed`), one per attempt that is tried again, and logged at warn level at most
//! once every 10 seconds per exporter, with the error and how many lines were held
//! back.

mod batch;
pub mod config;
pub mod persistent;
pub mod queue;
mod retry;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use stratus_core::factory::{BuildContext, Exporter};
use stratus_core::telemetry::{Counter, PerSignal};
use stratus_core::{
    Admission, Component, ComponentError, ComponentId, ConsumeError, Consumer, Destination, Host,
    Kind, Prepared, Signal, Telemetry,
};
use tokio::task::JoinHandle;

pub use config::{
    BatchConfig, ExporterSettings, PartitionConfig, QueueConfig, RetryConfig, Sizer, WhenFull,
};
pub use persistent::{PersistentOptions, PersistentQueue};
pub use queue::{Entry, MemoryQueue, Outcome, Part, Queue, QueueError, Reserved, Waiter};
pub use retry::Backoff;

/// How long clients are asked to wait (gRPC `RetryInfo`, HTTP `Retry-After`) when the
/// sending queue refuses data because it is full.
pub const QUEUE_FULL_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Lets one log line through per interval and counts the ones it held back, so a
/// refusal repeated thousands of times a second under overload logs once.
#[derive(Debug)]
struct LogLimiter {
    interval_ms: u64,
    started: std::time::Instant,
    last_ms: std::sync::atomic::AtomicU64,
    suppressed: std::sync::atomic::AtomicU64,
}

impl LogLimiter {
    fn new(interval: Duration) -> Self {
        LogLimiter {
            interval_ms: interval.as_millis() as u64,
            started: std::time::Instant::now(),
            last_ms: std::sync::atomic::AtomicU64::new(u64::MAX),
            suppressed: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line may be logged now (`n` lines were held back since the
    /// last one), `None` when this one should be held back.
    fn allow(&self) -> Option<u64> {
        use std::sync::atomic::Ordering::Relaxed;
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.last_ms.load(Relaxed);
        let due = last == u64::MAX || now.saturating_sub(last) >= self.interval_ms;
        if due
            && self
                .last_ms
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Relaxed));
        }
        self.suppressed.fetch_add(1, Relaxed);
        None
    }
}

/// What an exporter supplies: encoding and sending of one request.
#[async_trait]
pub trait Sender: Send + Sync + 'static {
    /// One request, ready to send and to re-send on retry (encoded, compressed).
    type Request: Send + Sync + 'static;

    /// Cuts a batch into the parts that are each sent as one request, before they are
    /// queued (see the crate docs). The parts must hold every item of `data` (an item
    /// the sender cannot send may be left out only if the sender counts and logs it).
    /// Default: the batch is one part.
    fn split(&self, data: Telemetry) -> Vec<Telemetry> {
        vec![data]
    }

    /// Builds the request for a batch. A permanent error drops the batch.
    fn encode(&self, data: Telemetry) -> Result<Self::Request, ConsumeError>;

    /// Builds the request for a batch a persistent queue stored as its signal's OTLP
    /// export request (`otlp`, protobuf), without decoding it. Default `None`: the
    /// batch is decoded and given to [`Sender::encode`].
    fn encode_stored(
        &self,
        _signal: Signal,
        _otlp: bytes::Bytes,
    ) -> Option<Result<Self::Request, ConsumeError>> {
        None
    }

    /// Sends one request and classifies the destination's answer.
    async fn send(&self, request: &Self::Request) -> Result<(), ConsumeError>;

    /// For destinations that accept or reject the items of one request one by one
    /// (Application Insights answers `206` with a status per item): how many of the
    /// batch's items the destination accepted, asked once the request is finished
    /// (its last attempt succeeded, or failed for good). The helper then counts that
    /// many in `otelcol_exporter_sent_*` and the rest of the batch in
    /// `otelcol_exporter_send_failed_*`, whatever `send` returned; values above the
    /// batch's item count are capped. Items the sender left out of the request (they
    /// could not be encoded) are among the rest.
    ///
    /// Default `None`: every item counts as sent when the request succeeded, and as
    /// failed when it did not.
    fn accepted_items(&self, _request: &Self::Request) -> Option<usize> {
        None
    }

    /// Starts the sender (connects, opens files).
    async fn start(&self, _host: &Host) -> Result<(), ComponentError> {
        Ok(())
    }

    /// Stops the sender after the queue has drained (flushes, closes).
    async fn shutdown(&self) -> Result<(), ComponentError> {
        Ok(())
    }
}

/// Why an attempt is retried: the `reason` label of `stratus_exporter_retries`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RetryReason {
    /// The destination asked us to slow down (a throttling error or a throttle
    /// delay).
    Throttled,
    /// The attempt ran past `timeout`.
    Timeout,
    /// Any other retryable failure.
    Failed,
}

impl RetryReason {
    const ALL: [RetryReason; 3] = [
        RetryReason::Throttled,
        RetryReason::Timeout,
        RetryReason::Failed,
    ];

    fn as_str(self) -> &'static str {
        match self {
            RetryReason::Throttled => "throttled",
            RetryReason::Timeout => "timeout",
            RetryReason::Failed => "failed",
        }
    }

    /// Throttling is recognised by a throttle delay, or by the error naming it (AWS
    /// `ThrottlingException`, `TooManyRequestsException`, S3 `SlowDown`, HTTP 429):
    /// senders put the destination's code in the message.
    fn of(err: &ConsumeError, timed_out: bool) -> Self {
        if timed_out {
            return RetryReason::Timeout;
        }
        let m = err.message();
        let named = ["Throttl", "TooManyRequests", "SlowDown", "429", "slow down"]
            .iter()
            .any(|w| m.contains(w));
        if err.throttle().is_some() || named {
            RetryReason::Throttled
        } else {
            RetryReason::Failed
        }
    }
}

/// The standard exporter metrics of one exporter.
#[derive(Clone, Debug)]
struct ExporterMetrics {
    sent: PerSignal,
    send_failed: PerSignal,
    enqueue_failed: PerSignal,
    /// Items handed to a failover connector's next level while the destination failed.
    handed_over: PerSignal,
    /// Items an in-memory queue still held when the shutdown deadline passed.
    lost_at_shutdown: PerSignal,
    /// `stratus_exporter_retries`, by signal and [`RetryReason`].
    retries: Vec<(Signal, RetryReason, Counter)>,
}

impl ExporterMetrics {
    fn new(ctx: &BuildContext) -> Self {
        let id = ctx.id.to_string();
        let labels = [("exporter", id.as_str())];
        let r = &ctx.telemetry;
        let mut retries = Vec::new();
        for signal in [Signal::Traces, Signal::Metrics, Signal::Logs] {
            for reason in RetryReason::ALL {
                retries.push((
                    signal,
                    reason,
                    r.counter(
                        "stratus_exporter_retries",
                        "Attempts to send that failed and were tried again.",
                        &[
                            ("exporter", id.as_str()),
                            ("signal", signal.as_str()),
                            ("reason", reason.as_str()),
                        ],
                    ),
                ));
            }
        }
        ExporterMetrics {
            retries,
            sent: PerSignal::new(
                r,
                "otelcol_exporter_sent",
                "Number of items successfully sent to destination.",
                &labels,
            ),
            send_failed: PerSignal::new(
                r,
                "otelcol_exporter_send_failed",
                "Number of items in failed attempts to send to destination.",
                &labels,
            ),
            enqueue_failed: PerSignal::new(
                r,
                "otelcol_exporter_enqueue_failed",
                "Number of items failed to be added to the sending queue.",
                &labels,
            ),
            handed_over: PerSignal::new(
                r,
                "stratus_exporter_handed_over",
                "Items handed to the next failover level while this exporter's destination failed.",
                &labels,
            ),
            lost_at_shutdown: PerSignal::new(
                r,
                "stratus_exporter_lost_at_shutdown",
                "Items an in-memory sending queue still held when the shutdown deadline passed.",
                &labels,
            ),
        }
    }

    fn retried(&self, signal: Signal, reason: RetryReason) {
        if let Some((_, _, c)) = self
            .retries
            .iter()
            .find(|(s, r, _)| *s == signal && *r == reason)
        {
            c.add(1);
        }
    }
}

/// The gauge of items an exporter still holds (queued or in flight), labelled
/// `exporter`: what shutdown's drain progress reads.
pub const PENDING_ITEMS: &str = "stratus_exporter_pending_items";

impl<S: Sender> Inner<S> {
    /// Items queued or in flight, every signal together.
    fn pending_items(&self) -> u64 {
        let queued: u64 = self
            .queue
            .as_ref()
            .map_or(0, |q| q.queued_items().iter().sum());
        queued
            + self
                .in_flight
                .iter()
                .map(|n| n.load(Ordering::Relaxed))
                .sum::<u64>()
    }
}

struct Inner<S: Sender> {
    id: String,
    sender: S,
    settings: ExporterSettings,
    queue: Option<Arc<dyn Queue>>,
    /// Batching between the queue and the senders; `None` when off.
    batch: Option<batch::Settings>,
    metrics: ExporterMetrics,
    workers: Mutex<Vec<JoinHandle<()>>>,
    stop: tokio::sync::watch::Sender<bool>,
    /// The destination's health, read by failover connectors.
    destination: Arc<Destination>,
    /// Items taken from the queue and not yet finished, by signal.
    in_flight: [AtomicU64; 3],
    /// Whether the queue is refusing data (full), to log the change once.
    refusing: AtomicBool,
    /// Tells the batching loop to send what it holds now ([`Component::flush`]).
    flush_now: tokio::sync::Notify,
    refusal_log: LogLimiter,
    retry_log: LogLimiter,
    drop_log: LogLimiter,
    handover_log: LogLimiter,
}

/// An exporter driven by the helper: what [`build_exporter`] returns.
pub struct HelperExporter<S: Sender> {
    inner: Arc<Inner<S>>,
}

/// Wraps a [`Sender`] in the sending queue, retry, timeout and metrics chain, with an
/// in-memory queue. Exporters whose config may name `sending_queue.storage` use
/// [`try_build_exporter`].
pub fn build_exporter<S: Sender>(
    ctx: &BuildContext,
    settings: ExporterSettings,
    sender: S,
) -> Arc<dyn Exporter> {
    Arc::new(HelperExporter::new(ctx, settings, sender))
}

/// Like [`build_exporter`], and opens the persistent queue when
/// `sending_queue.storage` names a storage extension. Fails when that extension is
/// not running or its directory cannot be used.
pub fn try_build_exporter<S: Sender>(
    ctx: &BuildContext,
    settings: ExporterSettings,
    sender: S,
) -> Result<Arc<dyn Exporter>, ComponentError> {
    Ok(Arc::new(HelperExporter::try_new(ctx, settings, sender)?))
}

/// Opens the persistent queue named by `storage` for the exporter of `ctx`.
fn open_persistent(
    ctx: &BuildContext,
    queue: &QueueConfig,
    storage: &str,
) -> Result<Arc<dyn Queue>, ComponentError> {
    let not_enabled = || {
        ComponentError::new(format!(
            "sending_queue::storage: `{storage}` is not a storage extension enabled in \
             service::extensions"
        ))
    };
    let sid: ComponentId = storage.parse().map_err(|_| not_enabled())?;
    let provider = ctx.storages.get(&sid).ok_or_else(not_enabled)?;
    let dir = provider.directory(Kind::Exporter, &ctx.id, "sending_queue")?;
    let id = ctx.id.to_string();
    let counters = persistent::QueueCounters {
        corrupted: ctx.telemetry.counter(
            "stratus_exporter_queue_corrupted_records",
            "Records of the persistent sending queue skipped because they were damaged on disk.",
            &[("exporter", id.as_str())],
        ),
        read_errors: ctx.telemetry.counter(
            "stratus_exporter_queue_read_errors",
            "Failed reads of the persistent sending queue (the record is kept and read again).",
            &[("exporter", id.as_str())],
        ),
    };
    let opts = PersistentOptions {
        sizer: queue.sizer,
        capacity: queue.queue_size,
        fsync: provider.fsync(),
        segment_bytes: persistent::DEFAULT_SEGMENT_BYTES,
        owner: id.clone(),
    };
    let q = PersistentQueue::open_with(&dir, opts, counters).map_err(|e| {
        ComponentError::new(format!(
            "sending_queue::storage: cannot open the persistent queue in `{}`: {e}",
            dir.display()
        ))
    })?;
    Ok(Arc::new(q))
}

impl<S: Sender> HelperExporter<S> {
    /// Wraps `sender` with an in-memory queue; see [`build_exporter`]. A
    /// `sending_queue.storage` setting needs [`HelperExporter::try_new`]: here it is
    /// logged and the queue kept in memory.
    pub fn new(ctx: &BuildContext, settings: ExporterSettings, sender: S) -> Self {
        if let Some(storage) = &settings.queue.storage {
            tracing::warn!(
                exporter = %ctx.id,
                storage = %storage,
                "this exporter keeps its sending queue in memory; `storage` is ignored",
            );
        }
        let queue: Option<Arc<dyn Queue>> = settings.queue.enabled.then(|| {
            Arc::new(MemoryQueue::new(
                settings.queue.sizer,
                settings.queue.queue_size,
            )) as Arc<dyn Queue>
        });
        Self::with_queue(ctx, settings, sender, queue)
    }

    /// Wraps `sender`, opening the persistent queue when `sending_queue.storage` is
    /// set; see [`try_build_exporter`].
    pub fn try_new(
        ctx: &BuildContext,
        settings: ExporterSettings,
        sender: S,
    ) -> Result<Self, ComponentError> {
        let queue: Option<Arc<dyn Queue>> = match (&settings.queue.storage, settings.queue.enabled)
        {
            (Some(storage), true) => Some(open_persistent(ctx, &settings.queue, storage)?),
            (_, true) => Some(Arc::new(MemoryQueue::new(
                settings.queue.sizer,
                settings.queue.queue_size,
            ))),
            (_, false) => None,
        };
        Ok(Self::with_queue(ctx, settings, sender, queue))
    }

    fn with_queue(
        ctx: &BuildContext,
        settings: ExporterSettings,
        sender: S,
        queue: Option<Arc<dyn Queue>>,
    ) -> Self {
        let id = ctx.id.to_string();
        if let Some(q) = &queue {
            let labels = [("exporter", id.as_str())];
            let size = q.clone();
            ctx.telemetry.gauge_fn(
                "otelcol_exporter_queue_size",
                "Current size of the retry queue (in batches).",
                &labels,
                Box::new(move || size.size() as f64),
            );
            ctx.telemetry
                .gauge(
                    "otelcol_exporter_queue_capacity",
                    "Fixed capacity of the retry queue (in batches).",
                    &labels,
                )
                .set(q.capacity() as f64);
        }
        let (stop, _) = tokio::sync::watch::channel(false);
        let id_for_destination = id.clone();
        let exporter = HelperExporter {
            inner: Arc::new(Inner {
                id,
                sender,
                metrics: ExporterMetrics::new(ctx),
                batch: batch::Settings::from_queue(&settings.queue),
                settings,
                queue,
                workers: Mutex::new(Vec::new()),
                stop,
                destination: Destination::new(id_for_destination),
                in_flight: Default::default(),
                refusing: AtomicBool::new(false),
                flush_now: tokio::sync::Notify::new(),
                refusal_log: LogLimiter::new(Duration::from_secs(10)),
                retry_log: LogLimiter::new(Duration::from_secs(10)),
                drop_log: LogLimiter::new(Duration::from_secs(10)),
                handover_log: LogLimiter::new(Duration::from_secs(10)),
            }),
        };
        // What shutdown's drain progress and the admin endpoint report. A weak
        // reference: the registry outlives an exporter replaced by a reload.
        let weak = Arc::downgrade(&exporter.inner);
        ctx.telemetry.gauge_fn(
            PENDING_ITEMS,
            "Items queued or being sent by the exporter, not yet delivered or failed.",
            &[("exporter", exporter.inner.id.as_str())],
            Box::new(move || weak.upgrade().map_or(0.0, |i| i.pending_items() as f64)),
        );
        exporter
    }

    /// The sender inside, for tests and for exporters that expose extra state.
    pub fn sender(&self) -> &S {
        &self.inner.sender
    }

    /// What the sending queue holds now, in its sizer's units (0 without a queue): for
    /// components that run several helper exporters and report one queue size.
    pub fn queue_size(&self) -> usize {
        self.inner.queue.as_ref().map_or(0, |q| q.size())
    }
}

/// How delivering one batch ended.
#[derive(Debug)]
enum Delivery {
    /// Finished: sent, or failed for good (counted and logged).
    Finished(Result<(), ConsumeError>),
    /// Retries ran out on a retryable error, with a queue that keeps undelivered
    /// data: nothing was counted; the caller puts the entry back.
    Exhausted(ConsumeError),
}

impl Delivery {
    fn result(&self) -> Result<(), ConsumeError> {
        match self {
            Delivery::Finished(r) => r.clone(),
            Delivery::Exhausted(e) => Err(e.clone()),
        }
    }
}

/// How the attempts at one request ended.
enum Attempts {
    Sent,
    Failed(ConsumeError),
    /// Handed to the failover's next level while the destination failed.
    HandedOver,
}

impl<S: Sender> Inner<S> {
    /// Whether the queue keeps data whose retries ran out (a persistent queue).
    fn durable(&self) -> bool {
        self.queue
            .as_ref()
            .is_some_and(|q| q.persistent_records().is_some())
    }

    /// Hands `data` to the failover level after this one, when a connector set one.
    /// Gives the data back when it was not taken.
    async fn hand_over(&self, data: Telemetry) -> Result<(), Telemetry> {
        let Some(next) = self.destination.handover() else {
            return Err(data);
        };
        let (signal, items) = (data.signal(), data.item_count() as u64);
        let taken = if next.can_prepare() {
            stratus_core::offer(next.as_ref(), data)
                .await
                .map_err(|r| r.data)
        } else {
            // Whatever the next level does with it, this copy stays ours until it
            // says it took the data.
            next.consume(data.clone()).await.map_err(|_| Some(data))
        };
        match taken {
            Ok(()) => {
                self.metrics.handed_over.get(signal).add(items);
                if let Some(suppressed) = self.handover_log.allow() {
                    tracing::warn!(
                        exporter = %self.id,
                        items,
                        suppressed,
                        "destination failing; handed the data to the next failover level \
                         (similar messages are logged at most every 10s)",
                    );
                }
                Ok(())
            }
            Err(Some(data)) => Err(data),
            // Taken in part and refused; nothing left to keep.
            Err(None) => Ok(()),
        }
    }

    /// Delivers one batch: encodes it, sends it with retries and timeouts (or hands
    /// it over while the destination fails), and counts the outcome.
    async fn deliver(&self, data: Telemetry) -> Delivery {
        let signal = data.signal();
        let items = data.item_count() as u64;
        // While the destination fails, only the probe goes to it: the rest is handed
        // to the next failover level without waiting for an attempt to fail.
        let data = if self.destination.claim_attempt() {
            data
        } else {
            match self.hand_over(data).await {
                Ok(()) => return Delivery::Finished(Ok(())),
                Err(data) => data,
            }
        };
        // Behind a failover connector, keep a copy to hand over if the attempts fail.
        let copy = self.destination.handover().map(|_| data.clone());
        let request = self.sender.encode(data);
        self.send_request(signal, items, request, copy).await
    }

    /// Delivers a batch as a persistent queue stored it: sent as stored when the
    /// sender can build its request from the stored bytes (and no failover handover
    /// needs the decoded batch), decoded and delivered otherwise.
    async fn deliver_stored(&self, stored: persistent::Stored) -> Delivery {
        let (signal, items) = (stored.signal(), stored.items() as u64);
        if self.destination.handover().is_none()
            && let Some(request) = self.sender.encode_stored(signal, stored.otlp().clone())
        {
            return self.send_request(signal, items, request, None).await;
        }
        match stored.decode() {
            Ok(data) => self.deliver(data).await,
            Err(e) => {
                self.metrics.send_failed.get(signal).add(items);
                Delivery::Finished(Err(e))
            }
        }
    }

    /// Sends an encoded batch with retries and timeouts (handing `copy` over while
    /// the destination fails), and counts the outcome.
    async fn send_request(
        &self,
        signal: Signal,
        items: u64,
        request: Result<S::Request, ConsumeError>,
        mut copy: Option<Telemetry>,
    ) -> Delivery {
        let (attempts, accepted) = match request {
            Ok(request) => {
                let attempts = self.send_with_retry(signal, &request, &mut copy).await;
                (attempts, self.sender.accepted_items(&request))
            }
            Err(e) => (Attempts::Failed(e), None),
        };
        let result = match attempts {
            Attempts::HandedOver => return Delivery::Finished(Ok(())),
            Attempts::Sent => Ok(()),
            Attempts::Failed(e) => {
                // A disk queue keeps what it could not deliver. (A sender that
                // tracks items one by one resends the whole batch next time: at
                // least once.)
                if !e.is_permanent() && self.durable() {
                    return Delivery::Exhausted(e);
                }
                Err(e)
            }
        };
        let sent = match (accepted, &result) {
            (Some(accepted), _) => (accepted as u64).min(items),
            (None, Ok(())) => items,
            (None, Err(_)) => 0,
        };
        if sent > 0 {
            self.metrics.sent.get(signal).add(sent);
        }
        if sent < items {
            self.metrics.send_failed.get(signal).add(items - sent);
        }
        if let Err(e) = &result
            && let Some(suppressed) = self.drop_log.allow()
        {
            tracing::error!(
                exporter = %self.id,
                signal = %signal,
                items = items - sent,
                accepted = sent,
                permanent = e.is_permanent(),
                error = %e,
                suppressed,
                "exporting failed; dropping data (counted in otelcol_exporter_send_failed; \
                 similar messages are logged at most every 10s)",
            );
        }
        Delivery::Finished(result)
    }

    async fn send_with_retry(
        &self,
        signal: Signal,
        request: &S::Request,
        copy: &mut Option<Telemetry>,
    ) -> Attempts {
        let retry = &self.settings.retry;
        let mut backoff = Backoff::new(retry);
        let mut stop = self.stop.subscribe();
        loop {
            let mut timed_out = false;
            let result = match self.settings.timeout {
                t if t.is_zero() => self.sender.send(request).await,
                t => match tokio::time::timeout(t, self.sender.send(request)).await {
                    Ok(r) => r,
                    Err(_) => {
                        timed_out = true;
                        Err(ConsumeError::retryable(format!(
                            "request timed out after {}",
                            stratus_core::confval::format_duration(t)
                        )))
                    }
                },
            };
            let err = match result {
                Ok(()) => {
                    self.destination.succeeded();
                    return Attempts::Sent;
                }
                Err(e) if e.is_permanent() => {
                    // The destination answered: it is up, the data is bad.
                    self.destination.succeeded();
                    return Attempts::Failed(e);
                }
                Err(e) => {
                    self.destination.failed();
                    e
                }
            };
            if self.destination.is_failing()
                && let Some(data) = copy.take()
            {
                match self.hand_over(data).await {
                    Ok(()) => return Attempts::HandedOver,
                    Err(data) => *copy = Some(data),
                }
            }
            if !retry.enabled {
                return Attempts::Failed(err);
            }
            let Some(delay) = backoff.next_delay(err.throttle()) else {
                return Attempts::Failed(ConsumeError::retryable(format!(
                    "no more retries left after {}: {err}",
                    stratus_core::confval::format_duration(backoff.elapsed())
                )));
            };
            let reason = RetryReason::of(&err, timed_out);
            self.metrics.retried(signal, reason);
            if let Some(suppressed) = self.retry_log.allow() {
                tracing::warn!(
                    exporter = %self.id,
                    reason = reason.as_str(),
                    error = %err,
                    retry_in = %stratus_core::confval::format_duration(delay),
                    suppressed,
                    "exporting failed; will retry (similar messages are logged at most every 10s)",
                );
            }
            if *stop.borrow() {
                // Shutting down: keep retrying until the caller's deadline, but
                // without the long back-off so the deadline is spent sending.
                tokio::time::sleep(delay.min(Duration::from_millis(200))).await;
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.changed() => {}
            }
        }
    }

    fn track_in_flight(&self, data: &Telemetry, add: bool) {
        let counter = &self.in_flight[queue::signal_index(data.signal())];
        let n = data.item_count() as u64;
        if add {
            counter.fetch_add(n, Ordering::Relaxed);
        } else {
            counter.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Puts an entry whose retries ran out back into a persistent queue (logged,
    /// rate-limited). Returns `false` when the queue cannot keep it.
    async fn requeue(&self, queue: &dyn Queue, token: u64, error: &ConsumeError) -> bool {
        if !queue.requeue(token).await {
            return false;
        }
        self.log_requeue(error);
        true
    }

    fn log_requeue(&self, error: &ConsumeError) {
        if let Some(suppressed) = self.drop_log.allow() {
            tracing::warn!(
                exporter = %self.id,
                error = %error,
                suppressed,
                "retries ran out; the data stays in the persistent queue and is tried again \
                 (similar messages are logged at most every 10s)",
            );
        }
    }

    /// One sender without batching: takes an entry, delivers it, marks it done (or
    /// puts it back in a persistent queue when its retries ran out).
    async fn work(self: Arc<Self>, queue: Arc<dyn Queue>) {
        while let Some(taken) = queue.take_stored().await {
            let (signal, items, token) = match &taken {
                queue::Taken::Entry(e) => (e.data.signal(), e.data.item_count() as u64, e.token),
                queue::Taken::Stored(e) => (e.stored.signal(), e.stored.items() as u64, e.token),
            };
            let counter = &self.in_flight[queue::signal_index(signal)];
            counter.fetch_add(items, Ordering::Relaxed);
            let (delivery, waiter) = match taken {
                queue::Taken::Entry(e) => (self.deliver(e.data).await, e.waiter),
                queue::Taken::Stored(e) => (self.deliver_stored(e.stored).await, e.waiter),
            };
            counter.fetch_sub(items, Ordering::Relaxed);
            if let Delivery::Exhausted(e) = &delivery {
                if self.requeue(queue.as_ref(), token, e).await {
                    continue;
                }
                self.metrics.send_failed.get(signal).add(items);
                tracing::error!(
                    exporter = %self.id,
                    items,
                    error = %e,
                    "retries ran out and the queue cannot keep the data; dropping it",
                );
            }
            queue.done(token).await;
            if let Some(waiter) = waiter {
                waiter.finish(delivery.result());
            }
        }
    }

    /// The batching loop: takes entries, merges them, and sends each ready batch in a
    /// task of its own, at most `num_consumers` at once. While every sender is busy it
    /// takes nothing more, so the queue (not this loop) holds the backlog. When the
    /// queue is closed and empty it sends what it holds at once and waits for the
    /// sends; aborting it (the shutdown deadline) aborts them, and entries not done
    /// stay in a persistent queue.
    async fn batch_loop(self: Arc<Self>, queue: Arc<dyn Queue>, settings: batch::Settings) {
        let permits = Arc::new(tokio::sync::Semaphore::new(
            self.settings.queue.num_consumers.max(1),
        ));
        let mut sends = tokio::task::JoinSet::new();
        let mut batcher = batch::Batcher::new(settings);
        loop {
            while sends.try_join_next().is_some() {}
            let deadline = batcher.next_deadline();
            let (ready, closed) = tokio::select! {
                biased;
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)),
                    if deadline.is_some() =>
                {
                    (batcher.expired(tokio::time::Instant::now()), false)
                }
                () = self.flush_now.notified() => (batcher.drain(), false),
                entry = queue.take() => match entry {
                    Some(entry) => {
                        self.track_in_flight(&entry.data, true);
                        (batcher.add(entry, tokio::time::Instant::now()), false)
                    }
                    None => (batcher.drain(), true),
                },
            };
            for ready in ready {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let (inner, queue) = (self.clone(), queue.clone());
                sends.spawn(async move {
                    let batch::Batch { data, tracks } = ready;
                    let (signal, items) = (data.signal(), data.item_count() as u64);
                    let delivery = inner.deliver(data).await;
                    inner.in_flight[queue::signal_index(signal)]
                        .fetch_sub(items, Ordering::Relaxed);
                    let exhausted = match &delivery {
                        Delivery::Exhausted(e) => {
                            inner.log_requeue(e);
                            true
                        }
                        Delivery::Finished(_) => false,
                    };
                    let result = delivery.result();
                    for track in tracks {
                        track.finish(&result, exhausted, queue.as_ref()).await;
                    }
                    drop(permit);
                });
            }
            if closed {
                break;
            }
        }
        while sends.join_next().await.is_some() {}
    }

    /// Counts and logs a refusal of the queue: once when the queue starts refusing,
    /// then at most every 10 seconds.
    fn refused(&self, signal: Signal, items: u64, e: &QueueError) {
        self.metrics.enqueue_failed.get(signal).add(items);
        if !self.refusing.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                exporter = %self.id,
                items,
                error = %e,
                "sending queue refuses data; senders are told to retry until it has room \
                 (set `sending_queue::when_full: drop` to drop this exporter's share instead)",
            );
        } else if let Some(suppressed) = self.refusal_log.allow() {
            tracing::debug!(exporter = %self.id, items, error = %e, suppressed, "refusing data");
        }
    }

    /// The queue took data again after refusing: logged once.
    fn accepting(&self) {
        if self.refusing.load(Ordering::Relaxed) && self.refusing.swap(false, Ordering::Relaxed) {
            tracing::info!(exporter = %self.id, "sending queue has room again; accepting data");
        }
    }

    /// Counts and (rate-limited) logs the share dropped under `when_full: drop`.
    fn dropped_when_full(&self, signal: Signal, items: u64) {
        self.metrics.enqueue_failed.get(signal).add(items);
        if let Some(suppressed) = self.drop_log.allow() {
            tracing::warn!(
                exporter = %self.id,
                items,
                suppressed,
                "sending queue full; dropping this exporter's share (when_full: drop; \
                 counted in otelcol_exporter_enqueue_failed; similar messages are logged \
                 at most every 10s)",
            );
        }
    }

    /// The error a refusal of the queue travels back as.
    fn refusal_error(&self, e: QueueError) -> ConsumeError {
        let message = format!("{e} (exporter {}): retry later", self.id);
        match e {
            QueueError::TooLarge { .. } => ConsumeError::permanent(e.to_string()),
            QueueError::Full | QueueError::Storage(_) => {
                ConsumeError::throttled(message, QUEUE_FULL_RETRY_AFTER)
            }
            QueueError::Closed => ConsumeError::retryable(message),
        }
    }
}

/// The parts of a split batch as one batch again (to hand back on refusal).
fn rejoin(mut parts: Vec<Telemetry>) -> Option<Telemetry> {
    let mut whole = if parts.is_empty() {
        return None;
    } else {
        parts.remove(0)
    };
    for part in parts {
        // Parts of one batch carry one signal; a mismatch cannot happen.
        let _ = whole.payload.append(part.payload);
    }
    Some(whole)
}

/// Room held in an exporter's sending queue for one batch.
struct QueuedAdmission {
    reserved: Box<dyn Reserved>,
    /// With `wait_for_result`: where each part's result arrives.
    outcomes: Vec<Outcome>,
    exporter: String,
}

#[async_trait]
impl Admission for QueuedAdmission {
    async fn commit(self: Box<Self>) -> Result<(), ConsumeError> {
        let QueuedAdmission {
            reserved,
            outcomes,
            exporter,
        } = *self;
        reserved.commit();
        let mut first_error = None;
        for outcome in outcomes {
            let result = outcome.await.unwrap_or_else(|_| {
                Err(ConsumeError::retryable(format!(
                    "exporter {exporter} stopped before the data was exported: retry later"
                )))
            });
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// This exporter's share of a batch that it drops (full under `when_full: drop`) or
/// can never take (larger than the whole queue): counted at commit, so a fan-out that
/// refuses the batch elsewhere counts nothing here.
struct DroppedAdmission<S: Sender> {
    inner: Arc<Inner<S>>,
    signal: Signal,
    items: u64,
    /// The permanent error the share fails with; `None` under `when_full: drop`.
    error: Option<(QueueError, ConsumeError)>,
}

#[async_trait]
impl<S: Sender> Admission for DroppedAdmission<S> {
    async fn commit(self: Box<Self>) -> Result<(), ConsumeError> {
        match self.error {
            None => {
                self.inner.dropped_when_full(self.signal, self.items);
                Ok(())
            }
            Some((queue_error, error)) => {
                self.inner.refused(self.signal, self.items, &queue_error);
                Err(error)
            }
        }
    }
}

impl<S: Sender> HelperExporter<S> {
    /// Sends the parts of one batch (usually one) without a queue, one after the
    /// other. Every part is tried; the first error is returned.
    async fn export_parts(&self, parts: Vec<Telemetry>) -> Result<(), ConsumeError> {
        let mut first_error = None;
        for part in parts {
            if let Err(e) = self.inner.deliver(part).await.result() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Holds room in the queue for every part of one batch (usually one), following
    /// `when_full`.
    async fn reserve(&self, queue: &Arc<dyn Queue>, data: Telemetry) -> Prepared {
        let inner = &self.inner;
        let signal = data.signal();
        let items = data.item_count() as u64;
        let parts = inner.sender.split(data);
        let mut outcomes = Vec::new();
        let parts: Vec<queue::Part> = parts
            .into_iter()
            .map(|part| match inner.settings.queue.wait_for_result {
                true => {
                    let (w, o) = Waiter::new();
                    outcomes.push(o);
                    (part, Some(w))
                }
                false => (part, None),
            })
            .collect();
        let policy = inner.settings.queue.full_policy();
        match queue.reserve(parts, policy == WhenFull::Block).await {
            Ok(reserved) => {
                inner.accepting();
                Prepared::Ready(Box::new(QueuedAdmission {
                    reserved,
                    outcomes,
                    exporter: inner.id.clone(),
                }))
            }
            Err((QueueError::Full, _)) if policy == WhenFull::Drop => {
                Prepared::Ready(Box::new(DroppedAdmission {
                    inner: inner.clone(),
                    signal,
                    items,
                    error: None,
                }))
            }
            Err((e @ QueueError::TooLarge { .. }, _)) => {
                let error = inner.refusal_error(e.clone());
                Prepared::Ready(Box::new(DroppedAdmission {
                    inner: inner.clone(),
                    signal,
                    items,
                    error: Some((e, error)),
                }))
            }
            Err((e, parts)) => {
                inner.refused(signal, items, &e);
                let error = inner.refusal_error(e);
                match rejoin(parts) {
                    Some(data) => Prepared::Refused(error, data),
                    None => Prepared::Refused(error, Telemetry::empty(signal)),
                }
            }
        }
    }
}

#[async_trait]
impl<S: Sender> Consumer for HelperExporter<S> {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        let inner = &self.inner;
        match &inner.queue {
            None => self.export_parts(inner.sender.split(data)).await,
            Some(queue) => match self.reserve(queue, data).await {
                Prepared::Ready(admission) => admission.commit().await,
                Prepared::Refused(e, _) => Err(e),
                Prepared::Unsupported(data) => self.export_parts(inner.sender.split(data)).await,
            },
        }
    }

    fn can_prepare(&self) -> bool {
        self.inner.queue.is_some()
    }

    async fn prepare(&self, data: Telemetry) -> Prepared {
        match &self.inner.queue {
            Some(queue) => self.reserve(queue, data).await,
            None => Prepared::Unsupported(data),
        }
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        vec![self.inner.destination.clone()]
    }
}

#[async_trait]
impl<S: Sender> Component for HelperExporter<S> {
    async fn start(&self, host: &Host) -> Result<(), ComponentError> {
        let inner = &self.inner;
        inner.sender.start(host).await?;
        if let Some(queue) = &inner.queue {
            let mut workers = match inner.workers.lock() {
                Ok(w) => w,
                Err(p) => p.into_inner(),
            };
            if workers.is_empty() {
                match &inner.batch {
                    Some(settings) => workers.push(tokio::spawn(
                        inner.clone().batch_loop(queue.clone(), settings.clone()),
                    )),
                    None => {
                        for _ in 0..inner.settings.queue.num_consumers {
                            workers.push(tokio::spawn(inner.clone().work(queue.clone())));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Closes the queue, waits until the senders have drained it, then stops the
    /// sender. The caller bounds this with its shutdown deadline; what is still queued
    /// when the deadline cuts it short is reported by the caller.
    async fn shutdown(&self) -> Result<(), ComponentError> {
        let inner = &self.inner;
        let _ = inner.stop.send(true);
        if let Some(queue) = &inner.queue {
            queue.close();
            let workers: Vec<_> = match inner.workers.lock() {
                Ok(mut w) => w.drain(..).collect(),
                Err(p) => p.into_inner().drain(..).collect(),
            };
            let at_deadline = inner.clone();
            let guard = AbortOnDrop {
                handles: workers.iter().map(JoinHandle::abort_handle).collect(),
                at_deadline: Some(Box::new(move || at_deadline.report_undelivered())),
            };
            for w in workers {
                let _ = w.await;
            }
            let mut guard = guard;
            guard.at_deadline = None;
            drop(guard);
        }
        inner.sender.shutdown().await
    }

    /// Sends what the sending queue holds (and what its batching holds) now, and
    /// returns once the queue is empty and nothing is being sent, retries included;
    /// the queue stays open. Without a queue `consume` already waits for delivery,
    /// so there is nothing to wait for. The caller bounds it with its deadline.
    async fn flush(&self) -> Result<(), ComponentError> {
        if self.inner.queue.is_none() {
            return Ok(());
        }
        loop {
            // Woken each round: an entry taken after the first wake-up may sit in a
            // new partial batch.
            self.inner.flush_now.notify_one();
            if self.idle() {
                return Ok(());
            }
            tokio::time::sleep(FLUSH_POLL).await;
        }
    }
}

impl<S: Sender> HelperExporter<S> {
    /// Whether nothing is queued or being sent.
    fn idle(&self) -> bool {
        let inner = &self.inner;
        inner.queue.as_ref().is_none_or(|q| q.size() == 0)
            && inner
                .in_flight
                .iter()
                .all(|n| n.load(Ordering::Relaxed) == 0)
    }
}

/// How often [`Component::flush`] looks whether the queue has drained.
const FLUSH_POLL: Duration = Duration::from_millis(5);

/// Aborts worker tasks when the shutdown future is dropped at its deadline, and
/// reports what the queue could not deliver.
struct AbortOnDrop {
    handles: Vec<tokio::task::AbortHandle>,
    /// Called when the deadline cut the drain short; `None` once it finished.
    at_deadline: Option<Box<dyn FnOnce() + Send>>,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
        if let Some(report) = self.at_deadline.take() {
            report();
        }
    }
}

impl<S: Sender> Inner<S> {
    /// The shutdown deadline passed before the queue drained: a persistent queue
    /// keeps what it holds for the next start; what an in-memory queue held (queued
    /// or being sent) is lost, counted in `stratus_exporter_lost_at_shutdown_*` and
    /// logged in one line.
    fn report_undelivered(&self) {
        let Some(queue) = &self.queue else { return };
        if let Some(records) = queue.persistent_records() {
            tracing::warn!(
                exporter = %self.id,
                records,
                "shutdown deadline passed; undelivered records stay in the persistent queue \
                 and are sent after restart",
            );
            return;
        }
        let queued = queue.queued_items();
        let mut lost = [0u64; 3];
        for (i, signal) in [Signal::Traces, Signal::Metrics, Signal::Logs]
            .iter()
            .enumerate()
        {
            lost[i] = queued[i] + self.in_flight[i].load(Ordering::Relaxed);
            if lost[i] > 0 {
                self.metrics.lost_at_shutdown.get(*signal).add(lost[i]);
            }
        }
        if lost.iter().any(|n| *n > 0) {
            tracing::error!(
                exporter = %self.id,
                spans = lost[0],
                metric_points = lost[1],
                log_records = lost[2],
                items = lost.iter().sum::<u64>(),
                "shutdown deadline passed; the in-memory sending queue could not deliver \
                 these items and they are lost (a `sending_queue::storage` queue keeps them \
                 for the next start)",
            );
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod log_limiter_tests {
    use super::*;

    #[test]
    fn lets_one_line_through_per_interval_and_counts_the_rest() {
        let limiter = LogLimiter::new(Duration::from_secs(3600));
        assert_eq!(limiter.allow(), Some(0));
        assert_eq!(limiter.allow(), None);
        assert_eq!(limiter.allow(), None);
        let every_time = LogLimiter::new(Duration::ZERO);
        assert_eq!(every_time.allow(), Some(0));
        assert_eq!(every_time.allow(), Some(0));
    }
}
