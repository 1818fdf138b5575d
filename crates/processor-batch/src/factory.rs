//! The `batch` processor factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{
    ALL_SIGNALS_STABLE, BuildContext, BuildProcessor, Factory, Processor, Stability,
};
use stratus_core::{BoxConsumer, ComponentError, Signal};

use crate::config::BatchConfig;
use crate::processor::BatchProcessor;

/// Builds `batch` processors.
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchProcessorFactory;

impl Factory for BatchProcessorFactory {
    type Config = BatchConfig;
    const TYPE: &'static str = "batch";
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_STABLE;
}

#[async_trait]
impl BuildProcessor for BatchProcessorFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: BatchConfig,
        next: BoxConsumer,
    ) -> Result<Arc<dyn Processor>, ComponentError> {
        Ok(Arc::new(BatchProcessor::new(&ctx, config, next)))
    }
}
