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

pub mod config;
pub mod queue;
mod retry;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use stratus_core::factory::{BuildContext, Exporter};
use stratus_core::telemetry::PerSignal;
use stratus_core::{Component, ComponentError, ConsumeError, Consumer, Host, Telemetry};
use tokio::task::JoinHandle;

pub use config::{ExporterSettings, QueueConfig, RetryConfig, Sizer};
pub use queue::{Entry, MemoryQueue, Queue, QueueError};
pub use retry::Backoff;

/// What an exporter supplies: encoding and sending of one request.
#[async_trait]
pub trait Sender: Send + Sync + 'static {
    /// One request, ready to send and to re-send on retry (encoded, compressed).
    type Request: Send + Sync + 'static;

    /// Builds the request for a batch. A permanent error drops the batch.
    fn encode(&self, data: Telemetry) -> Result<Self::Request, ConsumeError>;

    /// Sends one request and classifies the destination's answer.
    async fn send(&self, request: &Self::Request) -> Result<(), ConsumeError>;

    /// Starts the sender (connects, opens files).
    async fn start(&self, _host: &Host) -> Result<(), ComponentError> {
        Ok(())
    }

    /// Stops the sender after the queue has drained (flushes, closes).
    async fn shutdown(&self) -> Result<(), ComponentError> {
        Ok(())
    }
}

/// The standard exporter metrics of one exporter.
#[derive(Clone, Debug)]
struct ExporterMetrics {
    sent: PerSignal,
    send_failed: PerSignal,
    enqueue_failed: PerSignal,
}

impl ExporterMetrics {
    fn new(ctx: &BuildContext) -> Self {
        let id = ctx.id.to_string();
        let labels = [("exporter", id.as_str())];
        let r = &ctx.telemetry;
        ExporterMetrics {
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
        }
    }
}

struct Inner<S: Sender> {
    id: String,
    sender: S,
    settings: ExporterSettings,
    queue: Option<Arc<dyn Queue>>,
    metrics: ExporterMetrics,
    workers: Mutex<Vec<JoinHandle<()>>>,
    stop: tokio::sync::watch::Sender<bool>,
}

/// An exporter driven by the helper: what [`build_exporter`] returns.
pub struct HelperExporter<S: Sender> {
    inner: Arc<Inner<S>>,
}

/// Wraps a [`Sender`] in the sending queue, retry, timeout and metrics chain.
pub fn build_exporter<S: Sender>(
    ctx: &BuildContext,
    settings: ExporterSettings,
    sender: S,
) -> Arc<dyn Exporter> {
    Arc::new(HelperExporter::new(ctx, settings, sender))
}

impl<S: Sender> HelperExporter<S> {
    /// Wraps `sender`; see [`build_exporter`].
    pub fn new(ctx: &BuildContext, settings: ExporterSettings, sender: S) -> Self {
        let queue: Option<Arc<dyn Queue>> = settings.queue.enabled.then(|| {
            Arc::new(MemoryQueue::new(
                settings.queue.sizer,
                settings.queue.queue_size,
            )) as Arc<dyn Queue>
        });
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
        HelperExporter {
            inner: Arc::new(Inner {
                id,
                sender,
                metrics: ExporterMetrics::new(ctx),
                settings,
                queue,
                workers: Mutex::new(Vec::new()),
                stop,
            }),
        }
    }

    /// The sender inside, for tests and for exporters that expose extra state.
    pub fn sender(&self) -> &S {
        &self.inner.sender
    }
}

impl<S: Sender> Inner<S> {
    /// Encodes and sends one batch with retries and timeouts, counting the outcome.
    /// Returns the final error when the batch could not be delivered.
    async fn export(&self, data: Telemetry) -> Result<(), ConsumeError> {
        let signal = data.signal();
        let items = data.item_count() as u64;
        let result = match self.sender.encode(data) {
            Ok(request) => self.send_with_retry(&request).await,
            Err(e) => Err(e),
        };
        match &result {
            Ok(()) => self.metrics.sent.get(signal).add(items),
            Err(e) => {
                self.metrics.send_failed.get(signal).add(items);
                tracing::error!(
                    exporter = %self.id,
                    signal = %signal,
                    items,
                    permanent = e.is_permanent(),
                    error = %e,
                    "exporting failed; dropping data",
                );
            }
        }
        result
    }

    async fn send_with_retry(&self, request: &S::Request) -> Result<(), ConsumeError> {
        let retry = &self.settings.retry;
        let mut backoff = Backoff::new(retry);
        let mut stop = self.stop.subscribe();
        loop {
            let result = match self.settings.timeout {
                t if t.is_zero() => self.sender.send(request).await,
                t => match tokio::time::timeout(t, self.sender.send(request)).await {
                    Ok(r) => r,
                    Err(_) => Err(ConsumeError::retryable(format!(
                        "request timed out after {}",
                        stratus_core::confval::format_duration(t)
                    ))),
                },
            };
            let err = match result {
                Ok(()) => return Ok(()),
                Err(e) if e.is_permanent() || !retry.enabled => return Err(e),
                Err(e) => e,
            };
            let Some(delay) = backoff.next_delay(err.throttle()) else {
                return Err(ConsumeError::retryable(format!(
                    "no more retries left after {}: {err}",
                    stratus_core::confval::format_duration(backoff.elapsed())
                )));
            };
            tracing::warn!(
                exporter = %self.id,
                error = %err,
                retry_in = %stratus_core::confval::format_duration(delay),
                "exporting failed; will retry",
            );
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

    async fn work(self: Arc<Self>, queue: Arc<dyn Queue>) {
        while let Some(entry) = queue.take().await {
            // Failures are counted and logged inside export.
            let _ = self.export(entry.data).await;
            queue.done(entry.token).await;
        }
    }
}

#[async_trait]
impl<S: Sender> Consumer for HelperExporter<S> {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        let inner = &self.inner;
        let Some(queue) = &inner.queue else {
            return inner.export(data).await;
        };
        let signal = data.signal();
        let items = data.item_count() as u64;
        match queue
            .offer(data, inner.settings.queue.block_on_overflow)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => {
                inner.metrics.enqueue_failed.get(signal).add(items);
                tracing::warn!(exporter = %inner.id, items, error = %e, "refusing data");
                Err(match e {
                    QueueError::TooLarge { .. } => ConsumeError::permanent(e.to_string()),
                    QueueError::Full | QueueError::Closed => {
                        ConsumeError::retryable(format!("{e} (exporter {}): retry later", inner.id))
                    }
                })
            }
        }
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
                for _ in 0..inner.settings.queue.num_consumers {
                    workers.push(tokio::spawn(inner.clone().work(queue.clone())));
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
            let guard = AbortOnDrop(workers.iter().map(JoinHandle::abort_handle).collect());
            for w in workers {
                let _ = w.await;
            }
            drop(guard);
        }
        inner.sender.shutdown().await
    }
}

/// Aborts worker tasks when the shutdown future is dropped at its deadline.
struct AbortOnDrop(Vec<tokio::task::AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

#[cfg(test)]
mod tests;
