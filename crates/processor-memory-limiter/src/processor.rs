//! The running memory limiter.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use stratus_core::factory::BuildContext;
use stratus_core::telemetry::PerSignal;
use stratus_core::{
    BoxConsumer, Component, ComponentError, ConsumeError, Consumer, Host, Telemetry,
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
    refusing: AtomicBool,
    above_hard: AtomicBool,
    read_failing: AtomicBool,
}

impl Monitor {
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
            tracing::warn!(
                processor = %self.processor,
                cur_mem_mib = mib(used),
                soft_limit_mib = mib(self.limits.soft_bytes),
                hard_limit_mib = mib(self.limits.hard_bytes),
                "Memory usage is above soft limit. Refusing data."
            );
        } else if !must_refuse && was_refusing {
            tracing::info!(
                processor = %self.processor,
                cur_mem_mib = mib(used),
                soft_limit_mib = mib(self.limits.soft_bytes),
                "Memory usage back within limits. Resuming normal operation."
            );
        }
        if above_hard && !was_above_hard {
            tracing::warn!(
                processor = %self.processor,
                cur_mem_mib = mib(used),
                hard_limit_mib = mib(self.limits.hard_bytes),
                "Memory usage is above hard limit."
            );
        }
        Ok(used)
    }
}

/// The `memory_limiter` processor.
///
/// A task started by `start` measures the process's memory use every
/// `check_interval`. While the last measurement is at or above the soft limit,
/// `consume` refuses data with a retryable error ([`DATA_REFUSED`]), which
/// receivers turn into gRPC `UNAVAILABLE` / HTTP 503 so clients retry later; once
/// it falls below, data passes through untouched again.
pub struct MemoryLimiter {
    monitor: Arc<Monitor>,
    check_interval: Duration,
    next: BoxConsumer,
    refused: PerSignal,
    task: Mutex<Option<JoinHandle<()>>>,
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
        MemoryLimiter {
            monitor: Arc::new(Monitor {
                processor,
                limits,
                usage,
                refusing: AtomicBool::new(false),
                above_hard: AtomicBool::new(false),
                read_failing: AtomicBool::new(false),
            }),
            check_interval,
            next,
            refused,
            task: Mutex::new(None),
        }
    }

    /// Measures memory use now and updates whether data is refused; returns the
    /// bytes measured. The background task does this every `check_interval`. When
    /// the measurement fails the previous decision stands.
    pub fn check(&self) -> io::Result<u64> {
        self.monitor.check()
    }

    /// Whether data is being refused.
    pub fn is_refusing(&self) -> bool {
        self.monitor.refusing.load(Ordering::Relaxed)
    }

    /// The soft and hard limits in bytes.
    pub fn limits(&self) -> Limits {
        self.monitor.limits
    }
}

#[async_trait]
impl Consumer for MemoryLimiter {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        if self.monitor.refusing.load(Ordering::Relaxed) {
            self.refused
                .get(data.signal())
                .add(data.item_count() as u64);
            // Memory is measured every check_interval: ask clients to wait at least that
            // long (and at least a second) before trying again.
            let wait = self.check_interval.max(Duration::from_secs(1));
            return Err(ConsumeError::throttled(DATA_REFUSED, wait));
        }
        self.next.consume(data).await
    }
}

#[async_trait]
impl Component for MemoryLimiter {
    /// Takes a first measurement (an error when memory use cannot be read at all),
    /// then starts the task that measures every `check_interval`.
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

    /// Stops the measuring task. Idempotent; the limiter holds no data to flush.
    async fn shutdown(&self) -> Result<(), ComponentError> {
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
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
