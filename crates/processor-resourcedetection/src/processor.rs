//! The running processor: detects once at start, then merges the result into every
//! batch with no I/O.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use stratus_core::{
    BoxConsumer, Component, ComponentError, ConsumeError, Consumer, Destination, Host, Prepared,
    Telemetry,
};
use tokio::sync::OnceCell;

use crate::detect::{self, Metrics};
use crate::detectors::{DetectedResource, Detector};
use crate::environment::Environment;
use crate::merge;

/// One detection, shared by every instance of a processor id (one per pipeline and
/// signal), so a processor used in three pipelines asks each metadata service once, as
/// upstream shares its provider per id.
#[derive(Debug)]
pub(crate) struct Provider {
    detectors: Vec<Arc<dyn Detector>>,
    env: Arc<dyn Environment>,
    timeout: Duration,
    metrics: Metrics,
    result: OnceCell<Result<Arc<DetectedResource>, String>>,
}

impl Provider {
    pub(crate) fn new(
        detectors: Vec<Arc<dyn Detector>>,
        env: Arc<dyn Environment>,
        timeout: Duration,
        metrics: Metrics,
    ) -> Self {
        Provider {
            detectors,
            env,
            timeout,
            metrics,
            result: OnceCell::new(),
        }
    }

    /// Detects on the first call; later calls (and concurrent ones) get that result.
    async fn get(&self) -> Result<Arc<DetectedResource>, String> {
        self.result
            .get_or_init(|| async {
                detect::run(
                    &self.detectors,
                    self.env.clone(),
                    self.timeout,
                    Some(&self.metrics),
                )
                .await
                .map(Arc::new)
                .map_err(|e| e.to_string())
            })
            .await
            .clone()
    }

    /// The detected resource, once detection succeeded.
    fn current(&self) -> Option<&Arc<DetectedResource>> {
        self.result.get().and_then(|r| r.as_ref().ok())
    }
}

/// A running `resource_detection` processor.
pub struct ResourceDetectionProcessor {
    id: String,
    provider: Arc<Provider>,
    override_existing: bool,
    next: BoxConsumer,
}

impl ResourceDetectionProcessor {
    pub(crate) fn new(
        id: String,
        provider: Arc<Provider>,
        override_existing: bool,
        next: BoxConsumer,
    ) -> Self {
        ResourceDetectionProcessor {
            id,
            provider,
            override_existing,
            next,
        }
    }

    /// What detection found; `None` before a successful start.
    pub fn detected(&self) -> Option<Arc<DetectedResource>> {
        self.provider.current().cloned()
    }

    fn enrich(&self, data: &mut Telemetry) {
        if let Some(detected) = self.provider.current() {
            merge::apply(&mut data.payload, detected, self.override_existing);
        }
    }
}

#[async_trait]
impl Consumer for ResourceDetectionProcessor {
    async fn consume(&self, mut data: Telemetry) -> Result<(), ConsumeError> {
        self.enrich(&mut data);
        self.next.consume(data).await
    }

    /// Passes two-phase admission through, merging first, so a fan-out behind this
    /// processor stays all or nothing.
    fn can_prepare(&self) -> bool {
        self.next.can_prepare()
    }

    async fn prepare(&self, mut data: Telemetry) -> Prepared {
        self.enrich(&mut data);
        self.next.prepare(data).await
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        self.next.destinations()
    }
}

#[async_trait]
impl Component for ResourceDetectionProcessor {
    /// Runs detection (once per processor id), bounded by `timeout`; a failing
    /// detector fails start, as upstream.
    async fn start(&self, _host: &Host) -> Result<(), ComponentError> {
        self.provider
            .get()
            .await
            .map(|_| ())
            .map_err(|e| ComponentError::new(format!("processor `{}`: {e}", self.id)))
    }
}
