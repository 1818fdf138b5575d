//! A consumer that records what it is given and answers from a script.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use stratus_core::factory::SignalConsumers;
use stratus_core::pdata::logs::LogRecord;
use stratus_core::pdata::metrics::Metric;
use stratus_core::pdata::trace::Span;
use stratus_core::{
    Admission, BoxConsumer, Component, ComponentError, ConsumeError, Consumer, Host, Prepared,
    Signal, Telemetry,
};
use tokio::sync::watch;

use crate::otlp::PayloadExt;
use crate::wait;

/// A [`Consumer`] (and [`Component`]) that records every batch and answers from a
/// script: accept (the default), or refuse the next N calls, or every call, with a
/// chosen [`ConsumeError`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use stratus_core::{ConsumeError, Consumer};
/// use stratus_testkit::{RecordingConsumer, otlp::sample_spans};
///
/// let sink = RecordingConsumer::new();
/// sink.refuse_next(1, ConsumeError::throttled("full", Duration::from_secs(1)));
/// assert!(sink.consume(sample_spans(2)).await.is_err());
/// sink.consume(sample_spans(3)).await.unwrap();
/// let batches = sink.wait_for_items(3, Duration::from_secs(5)).await;
/// assert_eq!(batches.len(), 1);
/// assert_eq!(sink.calls(), 2);
/// assert_eq!(sink.refused().len(), 1);
/// # }
/// ```
pub struct RecordingConsumer {
    state: Arc<Mutex<State>>,
    changes: Arc<watch::Sender<u64>>,
    paused: watch::Sender<bool>,
    /// Whether it takes data in two phases, like a sending queue.
    reserving: bool,
}

#[derive(Default)]
struct State {
    accepted: Vec<Telemetry>,
    refused: Vec<(Telemetry, ConsumeError)>,
    calls: usize,
    script: VecDeque<ConsumeError>,
    standing: Option<ConsumeError>,
    starts: usize,
    shutdowns: usize,
}

impl RecordingConsumer {
    /// A consumer that accepts everything.
    pub fn new() -> Arc<Self> {
        Arc::new(RecordingConsumer {
            state: Arc::new(Mutex::new(State::default())),
            changes: Arc::new(watch::Sender::new(0)),
            paused: watch::Sender::new(false),
            reserving: false,
        })
    }

    /// A consumer that accepts everything and takes data in two phases
    /// ([`Consumer::prepare`]), like an exporter's sending queue: the script answers
    /// at `prepare`, a refusal hands the data back, and a batch counts as accepted
    /// once committed.
    pub fn reserving() -> Arc<Self> {
        Arc::new(RecordingConsumer {
            state: Arc::new(Mutex::new(State::default())),
            changes: Arc::new(watch::Sender::new(0)),
            paused: watch::Sender::new(false),
            reserving: true,
        })
    }

    /// A consumer that refuses every call with `err` until told otherwise.
    pub fn refusing(err: ConsumeError) -> Arc<Self> {
        let c = Self::new();
        c.refuse_all(err);
        c
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn changed(&self) {
        self.changes.send_modify(|v| *v += 1);
    }

    /// Refuses the next `n` calls with `err` (after any refusals already scripted),
    /// then answers as before.
    pub fn refuse_next(&self, n: usize, err: ConsumeError) {
        self.lock().script.extend(std::iter::repeat_n(err, n));
    }

    /// Refuses every call with `err`, after the refusals scripted with
    /// [`RecordingConsumer::refuse_next`], until [`RecordingConsumer::accept_all`].
    pub fn refuse_all(&self, err: ConsumeError) {
        self.lock().standing = Some(err);
    }

    /// Accepts every call again, dropping any scripted refusals.
    pub fn accept_all(&self) {
        let mut s = self.lock();
        s.standing = None;
        s.script.clear();
    }

    /// Makes calls wait (after they are counted in [`RecordingConsumer::calls`])
    /// until [`RecordingConsumer::resume`]: a slow or stuck downstream.
    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    /// Lets waiting and later calls through.
    pub fn resume(&self) {
        self.paused.send_replace(false);
    }

    /// Calls so far, accepted or refused (and those waiting while paused).
    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    /// The accepted batches, in order.
    pub fn batches(&self) -> Vec<Telemetry> {
        self.lock().accepted.clone()
    }

    /// Removes and returns the accepted batches.
    pub fn take(&self) -> Vec<Telemetry> {
        std::mem::take(&mut self.lock().accepted)
    }

    /// The refused batches with the error each got, in order.
    pub fn refused(&self) -> Vec<(Telemetry, ConsumeError)> {
        self.lock().refused.clone()
    }

    /// How many batches were accepted.
    pub fn batch_count(&self) -> usize {
        self.lock().accepted.len()
    }

    /// Items (spans, metric points, log records) accepted in all.
    pub fn item_count(&self) -> usize {
        self.lock().accepted.iter().map(Telemetry::item_count).sum()
    }

    /// The item count of each accepted batch, in order.
    pub fn batch_sizes(&self) -> Vec<usize> {
        self.lock()
            .accepted
            .iter()
            .map(Telemetry::item_count)
            .collect()
    }

    /// Every accepted span, in order.
    pub fn spans(&self) -> Vec<Span> {
        self.accepted_items(Telemetry::spans)
    }

    /// Every accepted metric, in order.
    pub fn metrics(&self) -> Vec<Metric> {
        self.accepted_items(Telemetry::metrics)
    }

    /// Every accepted log record, in order.
    pub fn log_records(&self) -> Vec<LogRecord> {
        self.accepted_items(Telemetry::log_records)
    }

    /// The items `read` finds in each accepted batch, in order.
    fn accepted_items<T: Clone>(&self, read: impl Fn(&Telemetry) -> Vec<&T>) -> Vec<T> {
        let s = self.lock();
        s.accepted
            .iter()
            .flat_map(|t| read(t).into_iter().cloned())
            .collect()
    }

    /// How many times [`Component::start`] and [`Component::shutdown`] were called.
    pub fn lifecycle_calls(&self) -> (usize, usize) {
        let s = self.lock();
        (s.starts, s.shutdowns)
    }

    fn describe(&self) -> String {
        let s = self.lock();
        format!(
            "got {} calls, {} accepted batches with {} items, {} refused",
            s.calls,
            s.accepted.len(),
            s.accepted.iter().map(Telemetry::item_count).sum::<usize>(),
            s.refused.len()
        )
    }

    /// Waits until at least `n` items were accepted and returns the accepted batches;
    /// panics after `timeout`.
    pub async fn wait_for_items(&self, n: usize, timeout: Duration) -> Vec<Telemetry> {
        let enough = || (self.item_count() >= n).then(|| self.batches());
        self.wait(&format!("{n} accepted items"), timeout, enough)
            .await
    }

    /// Waits until at least `n` batches were accepted and returns them; panics after
    /// `timeout`.
    pub async fn wait_for_batches(&self, n: usize, timeout: Duration) -> Vec<Telemetry> {
        let enough = || (self.batch_count() >= n).then(|| self.batches());
        self.wait(&format!("{n} accepted batches"), timeout, enough)
            .await
    }

    /// Waits until at least `n` calls were made, accepted or not; panics after
    /// `timeout`.
    pub async fn wait_for_calls(&self, n: usize, timeout: Duration) {
        let enough = || (self.calls() >= n).then_some(());
        self.wait(&format!("{n} calls"), timeout, enough).await
    }

    /// Waits until `enough` returns `Some`; panics naming `what` after `timeout`.
    async fn wait<T>(&self, what: &str, timeout: Duration, enough: impl FnMut() -> Option<T>) -> T {
        wait::on_change(what, timeout, &self.changes, enough, || self.describe()).await
    }

    /// This consumer for every signal, as a receiver's next consumers.
    pub fn consumers(self: &Arc<Self>) -> SignalConsumers {
        let mut next = SignalConsumers::default();
        for s in Signal::ALL {
            next.set(s, self.boxed());
        }
        next
    }

    /// This consumer, type-erased.
    pub fn boxed(self: &Arc<Self>) -> BoxConsumer {
        self.clone()
    }
}

#[async_trait]
impl Consumer for RecordingConsumer {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        self.lock().calls += 1;
        self.changed();
        let mut paused = self.paused.subscribe();
        // The sender lives in self, so this only ends when resumed.
        let _ = paused.wait_for(|p| !*p).await;
        let answer = {
            let mut s = self.lock();
            let answer = s.script.pop_front().or_else(|| s.standing.clone());
            match &answer {
                None => s.accepted.push(data),
                Some(e) => s.refused.push((data, e.clone())),
            }
            answer
        };
        self.changed();
        answer.map_or(Ok(()), Err)
    }

    fn can_prepare(&self) -> bool {
        self.reserving
    }

    async fn prepare(&self, data: Telemetry) -> Prepared {
        if !self.reserving {
            return Prepared::Unsupported(data);
        }
        let answer = {
            let mut s = self.lock();
            s.calls += 1;
            let answer = s.script.pop_front().or_else(|| s.standing.clone());
            if let Some(e) = &answer {
                s.refused.push((data.clone(), e.clone()));
            }
            answer
        };
        self.changed();
        match answer {
            Some(e) => Prepared::Refused(e, data),
            None => Prepared::Ready(Box::new(Recorded {
                state: self.state.clone(),
                changes: self.changes.clone(),
                data,
            })),
        }
    }
}

/// A batch a reserving [`RecordingConsumer`] holds room for.
struct Recorded {
    state: Arc<Mutex<State>>,
    changes: Arc<watch::Sender<u64>>,
    data: Telemetry,
}

#[async_trait]
impl Admission for Recorded {
    async fn commit(self: Box<Self>) -> Result<(), ConsumeError> {
        match self.state.lock() {
            Ok(mut s) => s.accepted.push(self.data),
            Err(p) => p.into_inner().accepted.push(self.data),
        }
        self.changes.send_modify(|v| *v += 1);
        Ok(())
    }
}

#[async_trait]
impl Component for RecordingConsumer {
    async fn start(&self, _host: &Host) -> Result<(), ComponentError> {
        self.lock().starts += 1;
        self.changed();
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), ComponentError> {
        self.lock().shutdowns += 1;
        self.changed();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::{sample_logs, sample_spans};

    const T: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn records_accepted_and_refused_batches_by_script() {
        let c = RecordingConsumer::new();
        c.refuse_next(2, ConsumeError::permanent("bad"));
        c.refuse_next(1, ConsumeError::throttled("full", Duration::from_secs(3)));
        let e1 = c.consume(sample_spans(1)).await.unwrap_err();
        let e2 = c.consume(sample_spans(1)).await.unwrap_err();
        let e3 = c.consume(sample_spans(1)).await.unwrap_err();
        assert!(e1.is_permanent() && e2.is_permanent());
        assert_eq!(e3.throttle(), Some(Duration::from_secs(3)));
        c.consume(sample_spans(4)).await.unwrap();
        c.consume(sample_logs(2)).await.unwrap();
        assert_eq!(c.calls(), 5);
        assert_eq!(c.batch_sizes(), [4, 2]);
        assert_eq!(c.item_count(), 6);
        assert_eq!(c.spans().len(), 4);
        assert_eq!(c.log_records().len(), 2);
        assert_eq!(c.refused().len(), 3);

        c.refuse_all(ConsumeError::retryable("down"));
        for _ in 0..3 {
            assert!(!c.consume(sample_spans(1)).await.unwrap_err().is_permanent());
        }
        c.accept_all();
        c.consume(sample_spans(1)).await.unwrap();
        assert_eq!(c.take().len(), 3);
        assert_eq!(c.batch_count(), 0);
    }

    #[tokio::test]
    async fn waits_for_items_from_another_task_and_times_out_otherwise() {
        let c = RecordingConsumer::new();
        let producer = {
            let c = c.clone();
            tokio::spawn(async move {
                for _ in 0..5 {
                    c.consume(sample_spans(2)).await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        };
        let batches = c.wait_for_items(10, T).await;
        assert_eq!(batches.iter().map(Telemetry::item_count).sum::<usize>(), 10);
        producer.await.unwrap();

        let timed_out = tokio::spawn({
            let c = c.clone();
            async move { c.wait_for_items(11, Duration::from_millis(20)).await }
        })
        .await
        .unwrap_err();
        let msg = timed_out.into_panic();
        let msg = msg.downcast_ref::<String>().unwrap();
        assert!(msg.contains("11 accepted items"), "{msg}");
        assert!(msg.contains("10 items"), "{msg}");
    }

    #[tokio::test]
    async fn pause_holds_calls_until_resumed() {
        let c = RecordingConsumer::new();
        c.pause();
        let call = tokio::spawn({
            let c = c.clone();
            async move { c.consume(sample_spans(1)).await }
        });
        c.wait_for_calls(1, T).await;
        assert_eq!(c.batch_count(), 0, "held while paused");
        c.resume();
        call.await.unwrap().unwrap();
        assert_eq!(c.wait_for_batches(1, T).await.len(), 1);
    }

    #[tokio::test]
    async fn serves_every_signal_and_counts_lifecycle_calls() {
        let c = RecordingConsumer::new();
        let next = c.consumers();
        for s in Signal::ALL {
            next.get(s)
                .unwrap()
                .consume(crate::otlp::sample(s, 1))
                .await
                .unwrap();
        }
        assert_eq!(c.item_count(), 3);
        c.start(&Host::ready()).await.unwrap();
        c.shutdown().await.unwrap();
        c.shutdown().await.unwrap();
        assert_eq!(c.lifecycle_calls(), (1, 2));
    }
}
