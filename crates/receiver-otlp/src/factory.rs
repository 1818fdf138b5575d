//! The `otlp` receiver factory.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use stratus_core::factory::{
    BuildContext, ConfigProblem, FactoryInfo, ReceiverFactory, SignalConsumers, Stability,
    config_for_build, decode_config,
};
use stratus_core::{Component, ComponentError, Signal};

use crate::config::Config;
use crate::receiver::OtlpReceiver;

/// Builds `otlp` receivers.
#[derive(Debug, Clone, Copy, Default)]
pub struct OtlpReceiverFactory;

impl FactoryInfo for OtlpReceiverFactory {
    fn type_name(&self) -> &'static str {
        "otlp"
    }

    fn signals(&self) -> &'static [(Signal, Stability)] {
        &[
            (Signal::Traces, Stability::Stable),
            (Signal::Metrics, Stability::Stable),
            (Signal::Logs, Stability::Stable),
        ]
    }

    fn check_config(&self, raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        decode_config::<Config>(raw).map(|_| ())
    }
}

#[async_trait]
impl ReceiverFactory for OtlpReceiverFactory {
    async fn build(
        &self,
        ctx: BuildContext,
        raw: &Value,
        next: SignalConsumers,
    ) -> Result<Arc<dyn Component>, ComponentError> {
        let config = config_for_build::<Config>(raw)?;
        Ok(Arc::new(OtlpReceiver::new(&ctx, config, next)))
    }
}
