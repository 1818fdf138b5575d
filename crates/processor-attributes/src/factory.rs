//! The `attributes` processor factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{
    ALL_SIGNALS_BETA, BuildContext, BuildProcessor, Factory, Processor, Stability,
};
use stratus_core::{BoxConsumer, ComponentError, Signal};

use crate::config::AttributesConfig;
use crate::processor::AttributesProcessor;

/// Builds `attributes` processors.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttributesProcessorFactory;

impl Factory for AttributesProcessorFactory {
    type Config = AttributesConfig;
    const TYPE: &'static str = "attributes";
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_BETA;
}

#[async_trait]
impl BuildProcessor for AttributesProcessorFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: AttributesConfig,
        next: BoxConsumer,
    ) -> Result<Arc<dyn Processor>, ComponentError> {
        match AttributesProcessor::new(&config, &ctx.signals, next) {
            Ok(p) => Ok(Arc::new(p)),
            Err(problems) => {
                let details: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect();
                Err(ComponentError::new(format!(
                    "invalid config for the pipelines' signals: {}",
                    details.join("; ")
                )))
            }
        }
    }
}
