//! The `batch` processor factory.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use stratus_core::factory::{
    BuildContext, ConfigProblem, FactoryInfo, Processor, ProcessorFactory, Stability,
    config_for_build, decode_config,
};
use stratus_core::{BoxConsumer, ComponentError, Signal};

use crate::config::BatchConfig;
use crate::processor::BatchProcessor;

/// Builds `batch` processors.
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchProcessorFactory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Stable),
    (Signal::Metrics, Stability::Stable),
    (Signal::Logs, Stability::Stable),
];

impl FactoryInfo for BatchProcessorFactory {
    fn type_name(&self) -> &'static str {
        "batch"
    }

    fn signals(&self) -> &'static [(Signal, Stability)] {
        SIGNALS
    }

    fn check_config(&self, raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        decode_config::<BatchConfig>(raw).map(|_| ())
    }
}

#[async_trait]
impl ProcessorFactory for BatchProcessorFactory {
    async fn build(
        &self,
        ctx: BuildContext,
        raw: &Value,
        next: BoxConsumer,
    ) -> Result<Arc<dyn Processor>, ComponentError> {
        let config = config_for_build::<BatchConfig>(raw)?;
        Ok(Arc::new(BatchProcessor::new(&ctx, config, next)))
    }
}
