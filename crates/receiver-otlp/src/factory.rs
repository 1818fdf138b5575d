//! The `otlp` receiver factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{
    ALL_SIGNALS_STABLE, BuildContext, BuildReceiver, Factory, SignalConsumers, Stability,
};
use stratus_core::{Component, ComponentError, Signal};

use crate::config::{Config, GRPC_AUTH_KEY, HTTP_AUTH_KEY};
use crate::receiver::OtlpReceiver;

/// Builds `otlp` receivers.
#[derive(Debug, Clone, Copy, Default)]
pub struct OtlpReceiverFactory;

impl Factory for OtlpReceiverFactory {
    type Config = Config;
    const TYPE: &'static str = "otlp";
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_STABLE;

    /// The authenticators of `protocols.grpc.auth` and `protocols.http.auth`, so
    /// `stratus validate` checks each names an enabled extension.
    fn extension_references(&self, config: &Config) -> Vec<(String, String)> {
        let p = &config.protocols;
        let grpc = p.grpc.as_ref().and_then(|g| g.auth.as_ref());
        let http = p.http.as_ref().and_then(|h| h.auth.as_ref());
        grpc.map(|a| (GRPC_AUTH_KEY.to_string(), a.authenticator.clone()))
            .into_iter()
            .chain(http.map(|a| (HTTP_AUTH_KEY.to_string(), a.authenticator.clone())))
            .collect()
    }
}

#[async_trait]
impl BuildReceiver for OtlpReceiverFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: Config,
        next: SignalConsumers,
    ) -> Result<Arc<dyn Component>, ComponentError> {
        Ok(Arc::new(OtlpReceiver::try_new(&ctx, config, next)?))
    }
}
