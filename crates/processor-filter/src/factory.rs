//! The `filter` processor factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{
    ALL_SIGNALS_ALPHA, BuildContext, BuildProcessor, Factory, Processor, Stability,
};
use stratus_core::{BoxConsumer, ComponentError, Signal};

use crate::config::FilterConfig;
use crate::processor::{Filter, Rules};

/// Builds `filter` processors.
#[derive(Debug, Clone, Copy, Default)]
pub struct FilterProcessorFactory;

impl Factory for FilterProcessorFactory {
    type Config = FilterConfig;
    const TYPE: &'static str = "filter";
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_ALPHA;
}

#[async_trait]
impl BuildProcessor for FilterProcessorFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: FilterConfig,
        next: BoxConsumer,
    ) -> Result<Arc<dyn Processor>, ComponentError> {
        let rules = Rules::from_config(&config)
            .map_err(|e| ComponentError::new(format!("processor `{}`: {e}", ctx.id)))?;
        let id = ctx.id.to_string();
        Ok(Arc::new(Filter::new(rules, &ctx.telemetry, &id, next)))
    }
}
