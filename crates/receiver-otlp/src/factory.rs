//! The `otlp` receiver factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{
    ALL_SIGNALS_STABLE, BuildContext, BuildReceiver, Factory, SignalConsumers, Stability,
};
use stratus_core::{Component, ComponentError, Signal};

use crate::config::Config;
use crate::receiver::OtlpReceiver;

/// Builds `otlp` receivers.
#[derive(Debug, Clone, Copy, Default)]
pub struct OtlpReceiverFactory;

impl Factory for OtlpReceiverFactory {
    type Config = Config;
    const TYPE: &'static str = "otlp";
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_STABLE;
}

#[async_trait]
impl BuildReceiver for OtlpReceiverFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: Config,
        next: SignalConsumers,
    ) -> Result<Arc<dyn Component>, ComponentError> {
        Ok(Arc::new(OtlpReceiver::new(&ctx, config, next)))
    }
}
