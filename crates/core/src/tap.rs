//! Taps: a bounded sample of the data leaving a component, for `stratus tap`.
//!
//! The pipeline puts a [`TapPoint`] after every receiver, processor and connector and
//! in front of every exporter. While nobody taps, [`TapPoint::offer`] is one relaxed
//! atomic load. A tap ([`TapPoint::subscribe`]) gets copies of the batches passing, at
//! most `rate` items a second, through a small channel; when its reader falls behind,
//! the batch is dropped for that tap and counted, and the pipeline never waits.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::mpsc;

use crate::pdata::Payload;
use crate::{Signal, Telemetry};

/// Rewrites what a tap sees before it leaves the process: the redaction processors
/// downstream of a tap point redact its samples, so that a tap never shows what the
/// pipeline would remove or mask.
pub type Redact = Arc<dyn Fn(&mut Payload) + Send + Sync>;

/// How many batches a tap's channel holds before further samples are dropped.
pub const TAP_CHANNEL: usize = 16;

/// The place in a pipeline where data leaving one component can be tapped.
#[derive(Default)]
pub struct TapPoint {
    taps: AtomicUsize,
    dropped_items: AtomicU64,
    subscribers: Mutex<Vec<Subscriber>>,
    redactors: Mutex<Vec<Redact>>,
}

impl std::fmt::Debug for TapPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapPoint")
            .field("taps", &self.taps.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

struct Subscriber {
    signal: Option<Signal>,
    tx: mpsc::Sender<Telemetry>,
    /// Items a second this tap takes at most; 0 is no limit.
    rate: f64,
    /// Items it may take now (a token bucket refilled at `rate`, holding one second).
    budget: f64,
    refilled: Instant,
    stats: Arc<TapStats>,
}

/// What one tap saw and missed.
#[derive(Debug, Default)]
pub struct TapStats {
    /// Batches dropped because the tap's reader did not keep up.
    pub dropped_batches: AtomicU64,
    /// Items in those batches.
    pub dropped_items: AtomicU64,
    /// Items left out to keep to the tap's rate.
    pub skipped_items: AtomicU64,
}

/// A tap's end: the sampled batches, and its counts.
pub struct Tap {
    /// Sampled batches, redacted as the pipeline redacts them.
    pub rx: mpsc::Receiver<Telemetry>,
    /// What was dropped or skipped.
    pub stats: Arc<TapStats>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TapPoint {
    /// Offers a batch passing this point to the taps on it. Free while nobody taps.
    #[inline]
    pub fn offer(&self, data: &Telemetry) {
        if self.taps.load(Ordering::Relaxed) == 0 {
            return;
        }
        self.offer_to_taps(data);
    }

    #[cold]
    fn offer_to_taps(&self, data: &Telemetry) {
        let items = data.item_count() as f64;
        let mut subscribers = lock(&self.subscribers);
        subscribers.retain(|s| !s.tx.is_closed());
        self.taps.store(subscribers.len(), Ordering::Relaxed);
        let mut sample: Option<Telemetry> = None;
        for s in subscribers.iter_mut() {
            if s.signal.is_some_and(|want| want != data.signal()) {
                continue;
            }
            if s.rate > 0.0 {
                let now = Instant::now();
                let elapsed = now.duration_since(s.refilled).as_secs_f64();
                s.budget = (s.budget + elapsed * s.rate).min(s.rate.max(items));
                s.refilled = now;
                if s.budget < items {
                    s.stats
                        .skipped_items
                        .fetch_add(items as u64, Ordering::Relaxed);
                    continue;
                }
                s.budget -= items;
            }
            let copy = sample.get_or_insert_with(|| self.redacted(data)).clone();
            if s.tx.try_send(copy).is_err() {
                self.dropped_items
                    .fetch_add(items as u64, Ordering::Relaxed);
                s.stats.dropped_batches.fetch_add(1, Ordering::Relaxed);
                s.stats
                    .dropped_items
                    .fetch_add(items as u64, Ordering::Relaxed);
            }
        }
    }

    fn redacted(&self, data: &Telemetry) -> Telemetry {
        let mut copy = data.clone();
        for redact in lock(&self.redactors).iter() {
            redact(&mut copy.payload);
        }
        copy
    }

    /// Starts a tap of `signal` (every signal when `None`), taking at most `rate`
    /// items a second (no limit when 0). It ends when the returned [`Tap`] is dropped.
    pub fn subscribe(&self, signal: Option<Signal>, rate: f64) -> Tap {
        let (tx, rx) = mpsc::channel(TAP_CHANNEL);
        let stats = Arc::new(TapStats::default());
        let mut subscribers = lock(&self.subscribers);
        subscribers.push(Subscriber {
            signal,
            tx,
            rate: rate.max(0.0),
            budget: rate.max(0.0),
            refilled: Instant::now(),
            stats: stats.clone(),
        });
        self.taps.store(subscribers.len(), Ordering::Relaxed);
        Tap { rx, stats }
    }

    /// Makes every sample of this point pass `redact` first.
    pub fn redact_with(&self, redact: Redact) {
        lock(&self.redactors).push(redact);
    }

    /// Items dropped by every tap of this point so far, because their readers did
    /// not keep up.
    pub fn dropped_items(&self) -> u64 {
        self.dropped_items.load(Ordering::Relaxed)
    }

    /// Taps on this point now.
    pub fn taps(&self) -> usize {
        let mut subscribers = lock(&self.subscribers);
        subscribers.retain(|s| !s.tx.is_closed());
        self.taps.store(subscribers.len(), Ordering::Relaxed);
        subscribers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdata::Payload;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn spans(n: usize) -> Telemetry {
        Telemetry::new(Payload::Traces(vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: (0..n)
                    .map(|i| Span {
                        name: format!("span-{i}"),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }]))
    }

    #[test]
    fn nobody_tapping_costs_nothing_and_a_full_tap_drops() {
        let point = TapPoint::default();
        point.offer(&spans(3));
        assert_eq!(point.taps(), 0);
        let mut tap = point.subscribe(Some(Signal::Traces), 0.0);
        for _ in 0..TAP_CHANNEL + 4 {
            point.offer(&spans(3));
        }
        assert_eq!(tap.stats.dropped_batches.load(Ordering::Relaxed), 4);
        assert_eq!(tap.stats.dropped_items.load(Ordering::Relaxed), 12);
        assert_eq!(point.dropped_items(), 12);
        assert_eq!(tap.rx.try_recv().unwrap().item_count(), 3);
        drop(tap);
        assert_eq!(point.taps(), 0);
        point.offer(&spans(3));
    }

    #[test]
    fn a_tap_keeps_to_its_rate_and_signal_and_sees_redacted_data() {
        let point = TapPoint::default();
        point.redact_with(Arc::new(|p: &mut Payload| {
            if let Payload::Traces(t) = p {
                for s in t[0].scope_spans[0].spans.iter_mut() {
                    s.name = "***".into();
                }
            }
        }));
        let mut limited = point.subscribe(None, 5.0);
        let mut logs_only = point.subscribe(Some(Signal::Logs), 0.0);
        point.offer(&spans(5));
        point.offer(&spans(5));
        let first = limited.rx.try_recv().unwrap();
        let Payload::Traces(t) = &*first.payload else {
            panic!("not traces")
        };
        assert_eq!(t[0].scope_spans[0].spans[0].name, "***");
        // The second batch came within the same second: over the rate, skipped.
        assert!(limited.rx.try_recv().is_err());
        assert_eq!(limited.stats.skipped_items.load(Ordering::Relaxed), 5);
        assert!(logs_only.rx.try_recv().is_err());
    }
}
