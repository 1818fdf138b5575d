//! Component lifecycle and the host components run in.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::error::ComponentError;
use crate::signal::Signal;

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
    topology: Arc<Topology>,
}

impl Host {
    /// A host whose health follows `health`.
    pub fn new(health: watch::Receiver<Health>) -> Self {
        Host {
            health,
            topology: Arc::default(),
        }
    }

    /// A host that reports itself ready; for tests and tools.
    pub fn ready() -> Self {
        // A receiver keeps the last value after its sender is gone.
        let (_tx, rx) = watch::channel(Health::Ready);
        Host::new(rx)
    }

    /// The same host, describing the collector as `topology`.
    pub fn with_topology(mut self, topology: Topology) -> Self {
        self.topology = Arc::new(topology);
        self
    }

    /// A watch on the collector's health.
    pub fn health(&self) -> watch::Receiver<Health> {
        self.health.clone()
    }

    /// The shape of the running collector: what the admin extension draws.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }
}

/// The shape of a running collector: its pipelines and extensions, by id, as the
/// config wires them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    /// Every pipeline, ordered by id.
    pub pipelines: Vec<PipelineShape>,
    /// The extensions, in `service.extensions` order.
    pub extensions: Vec<String>,
    /// The ids that are connectors (they appear as an exporter of some pipelines and a
    /// receiver of others).
    pub connectors: Vec<String>,
}

/// One pipeline of a [`Topology`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineShape {
    /// The pipeline id (`traces`, `logs/eu`).
    pub id: String,
    /// The signal it carries.
    pub signal: Signal,
    /// Its receivers (and connectors it receives from), as listed.
    pub receivers: Vec<String>,
    /// Its processors, in order.
    pub processors: Vec<String>,
    /// Its exporters (and connectors it exports to), as listed.
    pub exporters: Vec<String>,
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
