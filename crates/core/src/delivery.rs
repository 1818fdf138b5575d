//! What an exporter knows about its destination, shared with whoever routes data to
//! it.
//!
//! Every exporter run by the exporter helper owns one [`Destination`] and records the
//! outcome of each attempt to send. The failover connector reads it through
//! [`crate::Consumer::destinations`]: a level whose destination fails is left within
//! one or two attempts, not once its exporters' queues are full. And the connector
//! registers a *handover*: while the destination fails, what the exporter already
//! holds (queued, or being retried) goes to the next level instead of waiting for a
//! destination that may not come back.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::consumer::BoxConsumer;

/// Consecutive failed attempts after which a destination counts as failing.
pub const FAILING_AFTER: u32 = 2;

/// While a destination fails, at most one attempt per this interval goes to it (the
/// probe that notices it is back); other batches are handed over at once.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

/// The health of one exporter's destination.
pub struct Destination {
    exporter: String,
    started: Instant,
    failures: AtomicU32,
    successes: AtomicU64,
    /// Milliseconds since `started` of the last attempt claimed while failing.
    last_probe_ms: AtomicU64,
    probing: AtomicBool,
    handover: RwLock<Option<BoxConsumer>>,
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("exporter", &self.exporter)
            .field("failures", &self.failures.load(Ordering::Relaxed))
            .finish()
    }
}

impl Destination {
    /// A healthy destination of the exporter `exporter` (its id, for logs).
    pub fn new(exporter: impl Into<String>) -> Arc<Destination> {
        Arc::new(Destination {
            exporter: exporter.into(),
            started: Instant::now(),
            failures: AtomicU32::new(0),
            successes: AtomicU64::new(0),
            last_probe_ms: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            handover: RwLock::new(None),
        })
    }

    /// The exporter's id.
    pub fn exporter(&self) -> &str {
        &self.exporter
    }

    /// The destination took a request (or answered that the data is bad, which says
    /// it is up).
    pub fn succeeded(&self) {
        self.successes.fetch_add(1, Ordering::Relaxed);
        self.failures.store(0, Ordering::Relaxed);
        self.probing.store(false, Ordering::Relaxed);
    }

    /// An attempt failed in a way that may pass (down, timeout, throttled).
    pub fn failed(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.probing.store(false, Ordering::Relaxed);
    }

    /// Requests the destination took since the exporter started: a router compares
    /// two readings to see whether a destination it left has taken data since.
    pub fn successes(&self) -> u64 {
        self.successes.load(Ordering::Relaxed)
    }

    /// Consecutive failed attempts since the last success.
    pub fn consecutive_failures(&self) -> u32 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Whether the last [`FAILING_AFTER`] attempts or more failed.
    pub fn is_failing(&self) -> bool {
        self.consecutive_failures() >= FAILING_AFTER
    }

    /// Whether a batch should be tried at the destination now. Always while it is
    /// healthy; while it fails, one attempt at a time and at most one per
    /// [`PROBE_EVERY`] (the caller hands the other batches over).
    pub fn claim_attempt(&self) -> bool {
        if !self.is_failing() {
            return true;
        }
        let now = self.started.elapsed().as_millis() as u64;
        let last = self.last_probe_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < PROBE_EVERY.as_millis() as u64 && last != 0 {
            return false;
        }
        if self
            .probing
            .compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        self.last_probe_ms.store(now.max(1), Ordering::Relaxed);
        true
    }

    /// Where data this exporter holds goes while its destination fails (set by a
    /// failover connector), or `None`.
    pub fn handover(&self) -> Option<BoxConsumer> {
        match self.handover.read() {
            Ok(h) => h.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Sets (or clears) the handover.
    pub fn set_handover(&self, consumer: Option<BoxConsumer>) {
        match self.handover.write() {
            Ok(mut h) => *h = consumer,
            Err(p) => *p.into_inner() = consumer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_after_two_attempts_and_recovers_on_one_success() {
        let d = Destination::new("otlp");
        assert!(!d.is_failing());
        d.failed();
        assert!(!d.is_failing(), "one failure is not an outage");
        d.failed();
        assert!(d.is_failing());
        d.succeeded();
        assert!(!d.is_failing());
    }

    #[test]
    fn while_failing_one_probe_at_a_time() {
        let d = Destination::new("otlp");
        assert!(d.claim_attempt() && d.claim_attempt(), "healthy: always");
        d.failed();
        d.failed();
        assert!(d.claim_attempt(), "the first probe");
        assert!(!d.claim_attempt(), "a second one while the first runs");
        d.failed();
        assert!(
            !d.claim_attempt(),
            "the next probe waits for PROBE_EVERY after the last"
        );
    }
}
