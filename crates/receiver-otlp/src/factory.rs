//! The `otlp` receiver factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{
    ALL_SIGNALS_STABLE, BuildContext, BuildReceiver, ConfigProblem, Factory, SignalConsumers,
    Stability, exposure_warning,
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

    /// A protocol listening beyond loopback with neither `tls` nor `auth` is a
    /// warning in `stratus validate` and in the start log.
    fn exposure_warnings(&self, config: &Config) -> Vec<ConfigProblem> {
        let p = &config.protocols;
        let grpc = p.grpc.as_ref().and_then(|g| {
            exposure_warning(
                "protocols::grpc::endpoint",
                &g.endpoint,
                g.tls.is_some() || g.auth.is_some(),
            )
        });
        let http = p.http.as_ref().and_then(|h| {
            exposure_warning(
                "protocols::http::endpoint",
                &h.endpoint,
                h.tls.is_some() || h.auth.is_some(),
            )
        });
        grpc.into_iter().chain(http).collect()
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

#[cfg(test)]
mod tests {
    use serde_json::json;
    use stratus_core::factory::FactoryInfo;

    use super::*;

    #[test]
    fn open_listeners_warn_and_protected_or_loopback_ones_do_not() {
        let f = OtlpReceiverFactory;
        let open = FactoryInfo::exposure_warnings(
            &f,
            &json!({"protocols": {
            "grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": ":4318"}}}),
        );
        let paths: Vec<&str> = open.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            ["protocols::grpc::endpoint", "protocols::http::endpoint"]
        );
        assert!(
            FactoryInfo::exposure_warnings(&f, &json!({"protocols": {"grpc": null, "http": null}}))
                .is_empty()
        );
        let tls = json!({"cert_file": "c.pem", "key_file": "k.pem"});
        assert!(
            FactoryInfo::exposure_warnings(
                &f,
                &json!({"protocols": {
                "grpc": {"endpoint": "0.0.0.0:4317", "tls": tls},
                "http": {"endpoint": "0.0.0.0:4318", "auth": {"authenticator": "basicauth"}}}})
            )
            .is_empty()
        );
    }
}
