//! Component lifecycle and the host components run in.

use async_trait::async_trait;
use tokio::sync::watch;

use crate::error::ComponentError;

/// Where the collector as a whole is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Components are being started.
    Starting,
    /// Every component started; data flows.
    Ready,
    /// Shutdown began: receivers are closed, queues are draining.
    Stopping,
}

/// What the running collector offers its components.
#[derive(Clone)]
pub struct Host {
    health: watch::Receiver<Health>,
}

impl Host {
    /// A host whose health follows `health`.
    pub fn new(health: watch::Receiver<Health>) -> Self {
        Host { health }
    }

    /// A host that reports itself ready; for tests and tools.
    pub fn ready() -> Self {
        // A receiver keeps the last value after its sender is gone.
        let (_tx, rx) = watch::channel(Health::Ready);
        Host { health: rx }
    }

    /// A watch on the collector's health.
    pub fn health(&self) -> watch::Receiver<Health> {
        self.health.clone()
    }
}

/// A running component's lifecycle.
///
/// `start` returns quickly (long work goes into tasks it spawns). `shutdown` is
/// idempotent and safe to call without `start`: it stops intake first, flushes what it
/// holds, and returns by the deadline the caller enforces.
#[async_trait]
pub trait Component: Send + Sync {
    /// Starts the component: binds listeners, spawns workers.
    async fn start(&self, _host: &Host) -> Result<(), ComponentError> {
        Ok(())
    }

    /// Stops the component, flushing what it holds.
    async fn shutdown(&self) -> Result<(), ComponentError> {
        Ok(())
    }

    /// Hands on everything the component holds now (a batch being filled, a sending
    /// queue) and returns once it has been delivered or failed for good, without
    /// stopping: data keeps flowing afterwards. The Lambda extension calls it after
    /// each invocation, before the execution environment is frozen. The caller bounds
    /// it with a deadline. Components that hold nothing keep the default, which
    /// returns at once.
    async fn flush(&self) -> Result<(), ComponentError> {
        Ok(())
    }
}
