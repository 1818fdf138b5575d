//! The `resource_detection` processor factory.

use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use stratus_core::factory::{
    ALL_SIGNALS_BETA, BuildContext, BuildProcessor, Factory, Processor, Stability,
};
use stratus_core::{BoxConsumer, ComponentError, ComponentId, Signal};

use crate::config::ResourceDetectionConfig;
use crate::detect::Metrics;
use crate::detectors;
use crate::environment::{Environment, ProcessEnvironment};
use crate::processor::{Provider, ResourceDetectionProcessor};

/// Builds `resource_detection` processors (also accepted under upstream's older type
/// name `resourcedetection`).
///
/// Instances with the same id and config (one per pipeline the processor is listed
/// in) share one detection. Detectors read variables and files through the factory's
/// [`Environment`]: the process's own by default, a fixed one in tests.
#[derive(Debug, Clone)]
pub struct ResourceDetectionProcessorFactory {
    env: Arc<dyn Environment>,
    shared: Arc<Mutex<Vec<SharedProvider>>>,
}

#[derive(Debug)]
struct SharedProvider {
    id: ComponentId,
    config: ResourceDetectionConfig,
    provider: Weak<Provider>,
}

impl Default for ResourceDetectionProcessorFactory {
    fn default() -> Self {
        ResourceDetectionProcessorFactory::with_environment(Arc::new(ProcessEnvironment))
    }
}

impl ResourceDetectionProcessorFactory {
    /// A factory whose detectors read the process's environment and files.
    pub fn new() -> Self {
        ResourceDetectionProcessorFactory::default()
    }

    /// A factory whose detectors read `env` instead of the process's environment.
    pub fn with_environment(env: Arc<dyn Environment>) -> Self {
        ResourceDetectionProcessorFactory {
            env,
            shared: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The provider for `id` and `config`: the live one an earlier instance made, or a
    /// new one.
    fn provider(&self, ctx: &BuildContext, config: &ResourceDetectionConfig) -> Arc<Provider> {
        let mut shared = match self.shared.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        shared.retain(|s| s.provider.strong_count() > 0);
        if let Some(p) = shared
            .iter()
            .find(|s| s.id == ctx.id && s.config == *config)
            .and_then(|s| s.provider.upgrade())
        {
            return p;
        }
        let provider = Arc::new(Provider::new(
            detectors::build(config),
            self.env.clone(),
            config.timeout,
            Metrics::new(ctx.telemetry.clone(), ctx.id.to_string()),
        ));
        shared.retain(|s| s.id != ctx.id);
        shared.push(SharedProvider {
            id: ctx.id.clone(),
            config: config.clone(),
            provider: Arc::downgrade(&provider),
        });
        provider
    }
}

impl Factory for ResourceDetectionProcessorFactory {
    type Config = ResourceDetectionConfig;
    const TYPE: &'static str = "resource_detection";
    const DEPRECATED_TYPES: &'static [&'static str] = &["resourcedetection"];
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_BETA;
}

#[async_trait]
impl BuildProcessor for ResourceDetectionProcessorFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: ResourceDetectionConfig,
        next: BoxConsumer,
    ) -> Result<Arc<dyn Processor>, ComponentError> {
        let provider = self.provider(&ctx, &config);
        Ok(Arc::new(ResourceDetectionProcessor::new(
            ctx.id.to_string(),
            provider,
            config.override_existing,
            next,
        )))
    }
}
