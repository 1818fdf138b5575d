//! The running memory limiter.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use stratus_core::factory::BuildContext;
use stratus_core::memory::{AdmissionGate, SoftLimit};
use stratus_core::telemetry::PerSignal;
use stratus_core::{
    BoxConsumer, Component, ComponentError, ConsumeError, Consumer, Destination, Host, Prepared,
    Telemetry,
};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::memory::{Limits, MemoryUsage};

/// The message of the retryable error returned while memory use is above the soft
/// limit (the collector's wording).
pub const DATA_REFUSED: &str = "data refused due to high memory usage";

const MIB: f64 = 1024.0 * 1024.0;

/// Longest interval the measuring task uses, whatever the config says.
const MAX_CHECK_INTERVAL: Duration = Duration::from_secs(24 * 3600);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn mib(bytes: u64) -> f64 {
    (bytes as f64 / MIB * 10.0).round() / 10.0
}

/// The state the checks update and `consume` reads.
struct Monitor {
    processor: String,
    limits: Limits,
    usage: Arc<dyn MemoryUsage>,
    /// Whether `usage` is read at every `consume` (an atomic load) rather than only
    /// every `check_interval`.
    live: bool,
    /// The last decision of a measurement: set by any reading at or above the soft
    /// limit, cleared by the periodic check when it reads below. It decides `consume`
    /// when the usage is not live or cannot be read, and drives the transition logs.
    refusing: AtomicBool,
    above_hard: AtomicBool,
    read_failing: AtomicBool,
}

impl Monitor {
    /// Whether `consume` lets data through now. With a live reading it decides from
    /// the memory used at this moment; otherwise from the last periodic check.
    ///
    /// A live reading at or above the soft limit marks the limiter refusing (logging
    /// the transition once); a live reading below it lets data through but leaves
    /// clearing the mark, and its "back within limits" log line, to the periodic
    /// check, so memory hovering at the limit logs at most once per `check_interval`.
    fn admits(&self) -> bool {
        if !self.live {
            return !self.refusing.load(Ordering::Relaxed);
        }
        match self.usage.used_bytes() {
            Ok(used) if used >= self.limits.soft_bytes => {
                self.note_over_soft(used);
                false
            }
            Ok(_) => true,
            // A live source that fails is read again by the periodic check, which logs.
            Err(_) => !self.refusing.load(Ordering::Relaxed),
        }
    }

    /// Records a reading at or above the soft limit from `consume`.
    fn note_over_soft(&self, used: u64) {
        if !self.refusing.swap(true, Ordering::Relaxed) {
            self.log_refusing(used);
        }
        if used >= self.limits.hard_bytes && !self.above_hard.swap(true, Ordering::Relaxed) {
            self.log_above_hard(used);
        }
    }

    fn log_refusing(&self, used: u64) {
        tracing::warn!(
            processor = %self.processor,
            cur_mem_mib = mib(used),
            soft_limit_mib = mib(self.limits.soft_bytes),
            hard_limit_mib = mib(self.limits.hard_bytes),
            "Memory usage is above soft limit. Refusing data."
        );
    }

    fn log_above_hard(&self, used: u64) {
        tracing::warn!(
            processor = %self.processor,
            cur_mem_mib = mib(used),
            hard_limit_mib = mib(self.limits.hard_bytes),
            "Memory usage is above hard limit."
        );
    }

    fn check(&self) -> io::Result<u64> {
        let used = match self.usage.used_bytes() {
            Ok(used) => {
                if self.read_failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(processor = %self.processor, "memory usage can be read again");
                }
                used
            }
            Err(error) => {
                if !self.read_failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        processor = %self.processor,
                        %error,
                        "cannot read memory usage; keeping the last decision"
                    );
                }
                return Err(error);
            }
        };
        let must_refuse = used >= self.limits.soft_bytes;
        let was_refusing = self.refusing.swap(must_refuse, Ordering::Relaxed);
        let above_hard = used >= self.limits.hard_bytes;
        let was_above_hard = self.above_hard.swap(above_hard, Ordering::Relaxed);
        if must_refuse && !was_refusing {
            self.log_refusing(used);
        } else if !must_refuse && was_refusing {
            tracing::info!(
                processor = %self.processor,
                cur_mem_mib = mib(used),
                soft_limit_mib = mib(self.limits.soft_bytes),
                "Memory usage back within limits. Resuming normal operation."
            );
        }
        if above_hard && !was_above_hard {
            self.log_above_hard(used);
        }
        Ok(used)
    }
}

/// The `memory_limiter` processor.
///
/// When the memory source is live (the counting allocator's heap, an atomic load),
/// every `consume` reads it and refuses data at or above the soft limit with a
/// retryable error ([`DATA_REFUSED`]), which receivers turn into gRPC `UNAVAILABLE` /
/// HTTP 503 so clients retry later; below it, data passes through untouched. Otherwise
/// (resident memory, a file read) `consume` follows the last measurement. Either way a
/// task started by `start` measures every `check_interval`, for the transition logs
/// and as the only measurement of a source that is not live.
///
/// While started, the limiter registers its soft limit with an [`AdmissionGate`] (by
/// default the process-wide one), so receivers can refuse a request that would cross
/// it before decoding it.
pub struct MemoryLimiter {
    monitor: Arc<Monitor>,
    check_interval: Duration,
    next: BoxConsumer,
    refused: PerSignal,
    task: Mutex<Option<JoinHandle<()>>>,
    gate: Arc<AdmissionGate>,
    registration: Mutex<Option<SoftLimit>>,
}

impl MemoryLimiter {
    /// A limiter passing data to `next`, measuring memory with `usage`, with its
    /// metrics registered in `ctx.telemetry` under `processor = ctx.id`.
    pub fn new(
        ctx: &BuildContext,
        limits: Limits,
        check_interval: Duration,
        usage: Arc<dyn MemoryUsage>,
        next: BoxConsumer,
    ) -> Self {
        let processor = ctx.id.to_string();
        let refused = PerSignal::new(
            &ctx.telemetry,
            "otelcol_processor_refused",
            "Number of items refused by the memory limiter because memory use was too high.",
            &[("processor", processor.as_str())],
        );
        let live = usage.is_live();
        MemoryLimiter {
            monitor: Arc::new(Monitor {
                processor,
                limits,
                usage,
                live,
                refusing: AtomicBool::new(false),
                above_hard: AtomicBool::new(false),
                read_failing: AtomicBool::new(false),
            }),
            check_interval,
            next,
            refused,
            task: Mutex::new(None),
            gate: AdmissionGate::global().clone(),
            registration: Mutex::new(None),
        }
    }

    /// Registers the soft limit with `gate` instead of the process-wide gate.
    pub fn with_admission_gate(mut self, gate: Arc<AdmissionGate>) -> Self {
        self.gate = gate;
        self
    }

    /// How long refused clients are asked to wait: `check_interval`, at least a second.
    pub fn retry_delay(&self) -> Duration {
        self.check_interval.max(Duration::from_secs(1))
    }

    /// Measures memory use now and updates the last decision (logging a transition);
    /// returns the bytes measured. The background task does this every
    /// `check_interval`. When the measurement fails the previous decision stands.
    pub fn check(&self) -> io::Result<u64> {
        self.monitor.check()
    }

    /// Whether data would be refused now: from a fresh reading when the memory
    /// source is live, else from the last measurement.
    pub fn is_refusing(&self) -> bool {
        !self.monitor.admits()
    }

    /// The soft and hard limits in bytes.
    pub fn limits(&self) -> Limits {
        self.monitor.limits
    }
}

#[async_trait]
impl Consumer for MemoryLimiter {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        if !self.monitor.admits() {
            self.refused
                .get(data.signal())
                .add(data.item_count() as u64);
            return Err(ConsumeError::throttled(DATA_REFUSED, self.retry_delay()));
        }
        self.next.consume(data).await
    }

    /// The limiter holds nothing: two-phase admission passes through (refusing first
    /// when memory is short), so a fan-out into pipelines that start with
    /// `memory_limiter, batch` stays all or nothing.
    fn can_prepare(&self) -> bool {
        self.next.can_prepare()
    }

    async fn prepare(&self, data: Telemetry) -> Prepared {
        if !self.monitor.admits() {
            self.refused
                .get(data.signal())
                .add(data.item_count() as u64);
            let e = ConsumeError::throttled(DATA_REFUSED, self.retry_delay());
            return Prepared::Refused(e, data);
        }
        self.next.prepare(data).await
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        self.next.destinations()
    }
}

#[async_trait]
impl Component for MemoryLimiter {
    /// Takes a first measurement (an error when memory use cannot be read at all),
    /// registers the soft limit with the admission gate, then starts the task that
    /// measures every `check_interval`.
    async fn start(&self, _host: &Host) -> Result<(), ComponentError> {
        let mut task = lock(&self.task);
        if task.is_some() {
            return Ok(());
        }
        self.monitor.check().map_err(|e| {
            ComponentError::new(format!(
                "processor `{}`: cannot read the process's memory usage: {e}",
                self.monitor.processor
            ))
        })?;
        *lock(&self.registration) = Some(
            self.gate
                .register(self.monitor.limits.soft_bytes, self.retry_delay()),
        );
        let monitor = self.monitor.clone();
        // The config guarantees a positive interval; bounding it also keeps the
        // timer arithmetic clear of overflow for absurd values.
        let period = self
            .check_interval
            .clamp(Duration::from_millis(1), MAX_CHECK_INTERVAL);
        *task = Some(tokio::spawn(async move {
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                // Failures are logged inside; the last decision stands.
                let _ = monitor.check();
            }
        }));
        Ok(())
    }

    /// Stops the measuring task and withdraws the soft limit from the admission gate.
    /// Idempotent; the limiter holds no data to flush.
    async fn shutdown(&self) -> Result<(), ComponentError> {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
        lock(&self.registration).take();
        Ok(())
    }
}

impl Drop for MemoryLimiter {
    fn drop(&mut self) {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
    }
}
