//! The `probabilistic_sampler` processor factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{BuildContext, BuildProcessor, Factory, Processor, Stability};
use stratus_core::{BoxConsumer, ComponentError, Signal};

use crate::config::ProbabilisticSamplerConfig;
use crate::processor::ProbabilisticSampler;

/// Builds `probabilistic_sampler` processors (traces beta, logs alpha, as upstream).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProbabilisticSamplerProcessorFactory;

impl Factory for ProbabilisticSamplerProcessorFactory {
    type Config = ProbabilisticSamplerConfig;
    const TYPE: &'static str = "probabilistic_sampler";
    const SIGNALS: &'static [(Signal, Stability)] = &[
        (Signal::Traces, Stability::Beta),
        (Signal::Logs, Stability::Alpha),
    ];
}

#[async_trait]
impl BuildProcessor for ProbabilisticSamplerProcessorFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: ProbabilisticSamplerConfig,
        next: BoxConsumer,
    ) -> Result<Arc<dyn Processor>, ComponentError> {
        Ok(Arc::new(ProbabilisticSampler::new(
            &ctx.id.to_string(),
            &config,
            ctx.telemetry.clone(),
            next,
        )))
    }
}
