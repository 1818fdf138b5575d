//! The `tail_sampling` processor factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{BuildContext, BuildProcessor, Factory, Processor, Stability};
use stratus_core::{BoxConsumer, ComponentError, Signal};

use crate::config::TailSamplingConfig;
use crate::processor::TailSampling;

/// Builds `tail_sampling` processors (traces, beta).
#[derive(Debug, Clone, Copy, Default)]
pub struct TailSamplingProcessorFactory;

impl Factory for TailSamplingProcessorFactory {
    type Config = TailSamplingConfig;
    const TYPE: &'static str = "tail_sampling";
    const SIGNALS: &'static [(Signal, Stability)] = &[(Signal::Traces, Stability::Beta)];
}

#[async_trait]
impl BuildProcessor for TailSamplingProcessorFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: TailSamplingConfig,
        next: BoxConsumer,
    ) -> Result<Arc<dyn Processor>, ComponentError> {
        Ok(Arc::new(TailSampling::new(&ctx, &config, next)?))
    }
}
