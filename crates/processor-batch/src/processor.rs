//! The running batch processor: one batcher per signal and metadata combination,
//! each with a task that sends its batches downstream.

use std::collections::HashMap;
use std::mem;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use stratus_core::factory::BuildContext;
use stratus_core::telemetry::{Counter, Gauge, Histogram, PerSignal};
use stratus_core::{
    Admission, BoxConsumer, Component, ComponentError, ConsumeError, Consumer, Contents,
    Destination, Metadata, Prepared, Refusal, Signal, Telemetry,
};
use tokio::sync::Notify;
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;

use crate::config::BatchConfig;

/// The message of the retryable error `consume` returns while a batcher holds more
/// than its buffer limit because downstream keeps refusing data.
pub const BUFFER_FULL: &str = "batch processor buffer is full: downstream is refusing data";

/// How long clients are asked to wait (gRPC `RetryInfo`, HTTP `Retry-After`) when the
/// buffer is full.
pub const BUFFER_FULL_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The message of the retryable error `consume` returns once shutdown has begun.
pub const SHUTTING_DOWN: &str = "batch processor is shutting down";

/// The message of the permanent error `consume` returns for data that would open a
/// batcher beyond `metadata_cardinality_limit` (the collector's wording).
pub const TOO_MANY_BATCHERS: &str = "too many batcher metadata-value combinations";

/// First delay before a refused batch is offered again when downstream gave no
/// throttle delay; it doubles after each refusal up to [`RETRY_MAX`].
pub const RETRY_INITIAL: Duration = Duration::from_millis(100);

/// Longest delay between two offers of a refused batch (unless downstream asks for
/// a longer throttle).
pub const RETRY_MAX: Duration = Duration::from_secs(5);

/// Bucket bounds of `otelcol_processor_batch_batch_send_size`, as the collector has them.
pub const SEND_SIZE_BOUNDS: [f64; 22] = [
    10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0,
    6000.0, 7000.0, 8000.0, 9000.0, 10000.0, 20000.0, 30000.0, 50000.0, 100000.0,
];

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn signal_index(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

/// The config in the units the batchers work in.
struct Settings {
    send_batch_size: usize,
    max_size: usize,
    timeout: Duration,
    metadata_keys: Vec<String>,
    cardinality_limit: usize,
    buffer_limit: usize,
}

struct Metrics {
    send_size: Histogram,
    size_trigger: Counter,
    timeout_trigger: Counter,
    cardinality: Gauge,
    /// Items of batches downstream rejected for good after this processor took them.
    dropped: PerSignal,
}

#[derive(Debug, Clone, Copy)]
enum Trigger {
    Size,
    Timeout,
}

struct Shared {
    processor: String,
    settings: Settings,
    next: BoxConsumer,
    metrics: Metrics,
    batchers: Mutex<Batchers>,
    /// Woken each time a batcher's task finished delivering a batch.
    delivered: Notify,
}

#[derive(Default)]
struct Batchers {
    stopping: bool,
    by_key: HashMap<BatchKey, Arc<Batcher>>,
    per_signal: [usize; 3],
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct BatchKey {
    signal: Signal,
    values: Vec<Vec<String>>,
}

/// One batch being filled, for one signal and one combination of metadata values.
struct Batcher {
    signal: Signal,
    metadata: Metadata,
    state: Mutex<State>,
    wake: Notify,
}

struct State {
    /// Data accepted and not yet handed to the sending task.
    pending: Contents,
    pending_items: usize,
    /// Items of the batch the task is delivering (or retrying).
    in_flight_items: usize,
    /// Items whose room is held by an uncommitted [`Consumer::prepare`].
    reserved_items: usize,
    /// When the pending data goes out even if it is smaller than `send_batch_size`;
    /// `None` when nothing is pending or the timeout is too large to represent.
    deadline: Option<Instant>,
    stopping: bool,
    /// A [`Component::flush`] asked for the pending data to go out now, whatever its
    /// size; cleared once nothing is pending.
    flushing: bool,
}

enum Step {
    Wait(Option<Instant>),
    Send(Contents, usize, Trigger),
    Exit,
}

/// The `batch` processor.
///
/// `consume` puts data into the batcher for its signal and metadata values and
/// returns; a task per batcher sends batches downstream when they reach
/// `send_batch_size` items or when `timeout` has passed since their first item,
/// split to `send_batch_max_size`. Batches downstream refuses with a retryable
/// error are kept and offered again; while a batcher holds more than its buffer
/// limit, `consume` refuses new data with a retryable error.
pub struct BatchProcessor {
    shared: Arc<Shared>,
}

impl BatchProcessor {
    /// A batch processor sending to `next`, with its metrics registered in
    /// `ctx.telemetry` under the label `processor = ctx.id`.
    pub fn new(ctx: &BuildContext, config: BatchConfig, next: BoxConsumer) -> Self {
        let processor = ctx.id.to_string();
        let labels = [("processor", processor.as_str())];
        let registry = &ctx.telemetry;
        let metrics = Metrics {
            send_size: registry.histogram(
                "otelcol_processor_batch_batch_send_size",
                "Number of units in the batch",
                &labels,
                &SEND_SIZE_BOUNDS,
            ),
            size_trigger: registry.counter(
                "otelcol_processor_batch_batch_size_trigger_send",
                "Number of times the batch was sent due to a size trigger",
                &labels,
            ),
            timeout_trigger: registry.counter(
                "otelcol_processor_batch_timeout_trigger_send",
                "Number of times the batch was sent due to a timeout trigger",
                &labels,
            ),
            cardinality: registry.gauge(
                "otelcol_processor_batch_metadata_cardinality",
                "Number of distinct metadata value combinations being processed",
                &labels,
            ),
            dropped: PerSignal::new(
                registry,
                "stratus_processor_batch_dropped",
                "Items of batches downstream rejected permanently after the batch processor took them",
                &labels,
            ),
        };
        let settings = Settings {
            send_batch_size: config.send_batch_size as usize,
            max_size: config.send_batch_max_size as usize,
            timeout: config.timeout,
            metadata_keys: config
                .metadata_keys
                .iter()
                .map(|k| k.to_ascii_lowercase())
                .collect(),
            cardinality_limit: config.metadata_cardinality_limit as usize,
            buffer_limit: config.buffer_limit(),
        };
        BatchProcessor {
            shared: Arc::new(Shared {
                processor,
                settings,
                next,
                metrics,
                batchers: Mutex::new(Batchers::default()),
                delivered: Notify::new(),
            }),
        }
    }

    /// Items held (pending or being delivered) across every batcher.
    pub fn held_items(&self) -> usize {
        self.shared.held_items()
    }
}

impl Shared {
    fn held_items(&self) -> usize {
        let batchers = lock(&self.batchers);
        batchers
            .by_key
            .values()
            .map(|b| {
                let st = lock(&b.state);
                st.pending_items + st.in_flight_items
            })
            .sum()
    }

    /// The batcher for `data`, created (with its task) on first use.
    fn batcher_for(self: &Arc<Self>, data: &Telemetry) -> Result<Arc<Batcher>, ConsumeError> {
        let signal = data.signal();
        let values: Vec<Vec<String>> = self
            .settings
            .metadata_keys
            .iter()
            .map(|k| data.metadata.get(k).to_vec())
            .collect();
        let key = BatchKey { signal, values };
        let mut batchers = lock(&self.batchers);
        if batchers.stopping {
            return Err(ConsumeError::retryable(SHUTTING_DOWN));
        }
        if let Some(existing) = batchers.by_key.get(&key) {
            return Ok(existing.clone());
        }
        let index = signal_index(signal);
        let limit = self.settings.cardinality_limit;
        if limit > 0 && batchers.per_signal[index] >= limit {
            return Err(ConsumeError::permanent(TOO_MANY_BATCHERS));
        }
        let metadata = if self.settings.metadata_keys.is_empty() {
            Metadata::default()
        } else {
            Metadata::new(
                None,
                self.settings
                    .metadata_keys
                    .iter()
                    .zip(&key.values)
                    .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v.clone()))),
            )
        };
        let batcher = Arc::new(Batcher {
            signal,
            metadata,
            state: Mutex::new(State {
                pending: Contents::empty(signal),
                pending_items: 0,
                in_flight_items: 0,
                reserved_items: 0,
                deadline: None,
                stopping: false,
                flushing: false,
            }),
            wake: Notify::new(),
        });
        batchers.per_signal[index] += 1;
        batchers.by_key.insert(key, batcher.clone());
        self.metrics.cardinality.set(batchers.by_key.len() as f64);
        batchers
            .tasks
            .push(tokio::spawn(run(self.clone(), batcher.clone())));
        Ok(batcher)
    }

    /// Sends one batch downstream, offering it again while downstream refuses it
    /// with a retryable error.
    ///
    /// A downstream that reserves (the exporters' sending queues, directly or
    /// through a fan-out) hands a refused batch back whole, so no copy is kept. One
    /// that cannot (further processors) takes the batch by value and does not give it
    /// back on a refusal: for it each offer is a copy until one is accepted.
    async fn deliver(&self, batcher: &Batcher, payload: Contents, items: usize, trigger: Trigger) {
        self.metrics.send_size.record(items as f64);
        match trigger {
            Trigger::Size => self.metrics.size_trigger.add(1),
            Trigger::Timeout => self.metrics.timeout_trigger.add(1),
        }
        let hands_back = self.next.can_prepare();
        let mut backoff = RETRY_INITIAL;
        let mut refusals = 0u32;
        let mut batch = Telemetry::with_metadata(payload, batcher.metadata.clone());
        loop {
            let result = if hands_back {
                stratus_core::offer(self.next.as_ref(), batch).await
            } else {
                let copy = batch.clone();
                self.next.consume(copy).await.map_err(|error| Refusal {
                    error,
                    data: Some(batch),
                })
            };
            let (error, back) = match result {
                Ok(()) => {
                    if refusals > 0 {
                        tracing::info!(
                            processor = %self.processor,
                            items,
                            refusals,
                            "batch delivered after downstream recovered"
                        );
                    }
                    break;
                }
                Err(Refusal { error, data }) => (error, data),
            };
            let back = match back {
                Some(back) if !error.is_permanent() => back,
                _ => {
                    // Rejected for good (or taken and then failed, with
                    // `wait_for_result`): counted, not silently dropped.
                    self.metrics.dropped.get(batcher.signal).add(items as u64);
                    tracing::warn!(
                        processor = %self.processor,
                        items,
                        %error,
                        "downstream rejected a batch permanently; dropping it \
                         (counted in stratus_processor_batch_dropped)"
                    );
                    break;
                }
            };
            batch = back;
            let delay = error.throttle().unwrap_or(backoff);
            backoff = (backoff * 2).min(RETRY_MAX);
            refusals += 1;
            if refusals == 1 {
                tracing::warn!(
                    processor = %self.processor,
                    items,
                    %error,
                    retry_in = ?delay,
                    "downstream refused a batch; keeping it and retrying"
                );
            } else {
                tracing::debug!(
                    processor = %self.processor,
                    items,
                    refusals,
                    %error,
                    retry_in = ?delay,
                    "downstream refused a batch again"
                );
            }
            tokio::time::sleep(delay).await;
        }
        lock(&batcher.state).in_flight_items = 0;
    }
}

impl Batcher {
    /// Decides what the task does next: send a batch, wait, or stop.
    fn next_step(&self, settings: &Settings) -> Step {
        let mut st = lock(&self.state);
        if st.pending_items == 0 {
            st.flushing = false;
            return if st.stopping {
                Step::Exit
            } else {
                Step::Wait(None)
            };
        }
        let now = Instant::now();
        let trigger = if st.pending_items >= settings.send_batch_size || settings.timeout.is_zero()
        {
            Trigger::Size
        } else if st.stopping || st.flushing || st.deadline.is_some_and(|d| d <= now) {
            // The collector counts its shutdown flush as a timeout send, too.
            Trigger::Timeout
        } else {
            return Step::Wait(st.deadline);
        };
        let n = if settings.max_size > 0 {
            st.pending_items.min(settings.max_size)
        } else {
            st.pending_items
        };
        let payload = if n == st.pending_items {
            mem::replace(&mut st.pending, Contents::empty(self.signal))
        } else {
            st.pending.split_front(n)
        };
        st.pending_items -= n;
        st.in_flight_items = n;
        st.deadline = if st.pending_items > 0 {
            now.checked_add(settings.timeout)
        } else {
            None
        };
        Step::Send(payload, n, trigger)
    }
}

async fn run(shared: Arc<Shared>, batcher: Arc<Batcher>) {
    loop {
        match batcher.next_step(&shared.settings) {
            Step::Exit => return,
            Step::Wait(None) => batcher.wake.notified().await,
            Step::Wait(Some(at)) => {
                tokio::select! {
                    () = batcher.wake.notified() => {}
                    () = tokio::time::sleep_until(at) => {}
                }
            }
            Step::Send(payload, items, trigger) => {
                shared.deliver(&batcher, payload, items, trigger).await;
                shared.delivered.notify_waiters();
            }
        }
    }
}

impl BatchProcessor {
    /// Holds room for `items` in the batcher of `data`, or says why not.
    fn hold(&self, data: &Telemetry, items: usize) -> Result<Arc<Batcher>, ConsumeError> {
        let batcher = self.shared.batcher_for(data)?;
        let mut st = lock(&batcher.state);
        if st.stopping {
            return Err(ConsumeError::retryable(SHUTTING_DOWN));
        }
        if st.pending_items + st.in_flight_items + st.reserved_items
            > self.shared.settings.buffer_limit
        {
            return Err(ConsumeError::throttled(
                BUFFER_FULL,
                BUFFER_FULL_RETRY_AFTER,
            ));
        }
        st.reserved_items += items;
        drop(st);
        Ok(batcher)
    }
}

/// Adds data whose room is held to its batcher.
fn add(
    shared: &Shared,
    batcher: &Batcher,
    data: Telemetry,
    items: usize,
) -> Result<(), ConsumeError> {
    let wake = {
        let mut st = lock(&batcher.state);
        st.reserved_items -= items;
        if st.pending.append(data.payload).is_err() {
            // Batchers are keyed by signal, so this cannot happen.
            return Err(ConsumeError::permanent(
                "batch processor: data of another signal reached a batcher",
            ));
        }
        let was_empty = st.pending_items == 0;
        st.pending_items += items;
        if was_empty {
            st.deadline = Instant::now().checked_add(shared.settings.timeout);
        }
        was_empty || st.pending_items >= shared.settings.send_batch_size
    };
    if wake {
        batcher.wake.notify_one();
    }
    Ok(())
}

/// Room held in a batcher by [`Consumer::prepare`].
struct Held {
    shared: Arc<Shared>,
    batcher: Arc<Batcher>,
    data: Option<Telemetry>,
    items: usize,
}

#[async_trait]
impl Admission for Held {
    async fn commit(mut self: Box<Self>) -> Result<(), ConsumeError> {
        match self.data.take() {
            Some(data) => add(&self.shared, &self.batcher, data, self.items),
            None => Ok(()),
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.data.is_some() {
            lock(&self.batcher.state).reserved_items -= self.items;
        }
    }
}

#[async_trait]
impl Consumer for BatchProcessor {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        let items = data.item_count();
        if items == 0 {
            return Ok(());
        }
        let batcher = self.hold(&data, items)?;
        add(&self.shared, &batcher, data, items)
    }

    /// The batch processor reserves room in its buffer, so a fan-out to several
    /// pipelines that start with it admits a batch into all of them or none.
    fn can_prepare(&self) -> bool {
        true
    }

    async fn prepare(&self, data: Telemetry) -> Prepared {
        let items = data.item_count();
        match self.hold(&data, items) {
            Ok(batcher) => Prepared::Ready(Box::new(Held {
                shared: self.shared.clone(),
                batcher,
                data: Some(data),
                items,
            })),
            Err(e) => Prepared::Refused(e, data),
        }
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        self.shared.next.destinations()
    }
}

/// Aborts the batchers' tasks if shutdown is cancelled before they finished.
struct AbortOnDrop<'a> {
    shared: &'a Shared,
    handles: Vec<AbortHandle>,
}

impl Drop for AbortOnDrop<'_> {
    fn drop(&mut self) {
        if self.handles.is_empty() {
            return;
        }
        for handle in &self.handles {
            handle.abort();
        }
        let lost = self.shared.held_items();
        if lost > 0 {
            tracing::warn!(
                processor = %self.shared.processor,
                items = lost,
                "batch processor shutdown was cancelled before every batch was delivered; dropping the rest"
            );
        }
    }
}

#[async_trait]
impl Component for BatchProcessor {
    /// Flushes everything pending at once, offering refused batches again until
    /// they are delivered, then stops the batchers' tasks. The caller bounds it with
    /// its deadline: when the returned future is dropped early, the tasks are
    /// stopped and what they still held is dropped (and logged). Idempotent.
    async fn shutdown(&self) -> Result<(), ComponentError> {
        let tasks = {
            let mut batchers = lock(&self.shared.batchers);
            batchers.stopping = true;
            for batcher in batchers.by_key.values() {
                lock(&batcher.state).stopping = true;
                batcher.wake.notify_one();
            }
            mem::take(&mut batchers.tasks)
        };
        let mut guard = AbortOnDrop {
            shared: &self.shared,
            handles: tasks.iter().map(JoinHandle::abort_handle).collect(),
        };
        for task in tasks {
            if let Err(error) = task.await {
                tracing::error!(
                    processor = %self.shared.processor,
                    %error,
                    "a batcher task failed during shutdown"
                );
            }
        }
        guard.handles.clear();
        Ok(())
    }

    /// Sends every pending batch now, whatever its size, and returns once every
    /// batcher is empty and nothing is being delivered (refused batches are offered
    /// again until downstream takes them). The caller bounds it with its deadline;
    /// data stays held, and goes out later, if that passes first.
    async fn flush(&self) -> Result<(), ComponentError> {
        let batchers: Vec<Arc<Batcher>> = lock(&self.shared.batchers)
            .by_key
            .values()
            .cloned()
            .collect();
        for batcher in &batchers {
            let mut st = lock(&batcher.state);
            if st.pending_items > 0 {
                st.flushing = true;
                drop(st);
                batcher.wake.notify_one();
            }
        }
        loop {
            let delivered = self.shared.delivered.notified();
            tokio::pin!(delivered);
            delivered.as_mut().enable();
            let idle = batchers.iter().all(|b| {
                let st = lock(&b.state);
                st.pending_items == 0 && st.in_flight_items == 0
            });
            if idle {
                return Ok(());
            }
            delivered.await;
        }
    }
}

impl Drop for BatchProcessor {
    fn drop(&mut self) {
        // Dropped without shutdown: stop the tasks rather than leave them running.
        let tasks = mem::take(&mut lock(&self.shared.batchers).tasks);
        for task in &tasks {
            task.abort();
        }
        if !tasks.is_empty() {
            let lost = self.shared.held_items();
            if lost > 0 {
                tracing::warn!(
                    processor = %self.shared.processor,
                    items = lost,
                    "batch processor dropped without shutdown; dropping the data it held"
                );
            }
        }
    }
}
