//! The `resource` processor factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{
    ALL_SIGNALS_BETA, BuildContext, BuildProcessor, Factory, Processor, Stability,
};
use stratus_core::{BoxConsumer, ComponentError, Signal};

use crate::config::ResourceConfig;
use crate::processor::ResourceProcessor;

/// Builds `resource` processors.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResourceProcessorFactory;

impl Factory for ResourceProcessorFactory {
    type Config = ResourceConfig;
    const TYPE: &'static str = "resource";
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_BETA;
}

#[async_trait]
impl BuildProcessor for ResourceProcessorFactory {
    async fn create(
        &self,
        _ctx: BuildContext,
        config: ResourceConfig,
        next: BoxConsumer,
    ) -> Result<Arc<dyn Processor>, ComponentError> {
        let p = ResourceProcessor::new(&config, next).map_err(|problems| {
            let details: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            ComponentError::new(format!("invalid config: {}", details.join("; ")))
        })?;
        Ok(Arc::new(p))
    }
}
