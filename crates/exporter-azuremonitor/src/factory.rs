//! The `azuremonitor` exporter factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::confval::Secret;
use stratus_core::factory::{
    ALL_SIGNALS_BETA, BuildContext, BuildExporter, Exporter, Factory, Stability,
};
use stratus_core::{ComponentError, ConsumeError, Signal};
use stratus_exporter_helper::try_build_exporter;

use crate::client::{AzureMonitorSender, TokenProvider};
use crate::config::AzureMonitorConfig;

/// Entra ID tokens from `crates/azure-common` for the sender.
struct EntraToken(stratus_azure_common::TokenProvider);

#[async_trait]
impl TokenProvider for EntraToken {
    async fn token(&self) -> Result<Secret, ConsumeError> {
        match self.0.token().await {
            Ok(t) => Ok(t.token),
            Err(e) if e.is_retryable() => {
                Err(ConsumeError::retryable(format!("Entra ID token: {e}")))
            }
            Err(e) => Err(ConsumeError::permanent(format!("Entra ID token: {e}"))),
        }
    }
}

/// The `azuremonitor` exporter: spans, metrics and logs to Application Insights
/// (the Track API).
#[derive(Debug, Clone, Copy, Default)]
pub struct AzureMonitorExporterFactory;

impl Factory for AzureMonitorExporterFactory {
    type Config = AzureMonitorConfig;
    const TYPE: &'static str = "azuremonitor";
    // Upstream's metadata.yaml: traces, metrics, logs, beta.
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_BETA;
}

#[async_trait]
impl BuildExporter for AzureMonitorExporterFactory {
    /// Resolves the destination (`APPLICATIONINSIGHTS_CONNECTION_STRING`,
    /// `connection_string`, or `instrumentation_key` + `endpoint`) and builds the one
    /// HTTP client the exporter uses.
    async fn create(
        &self,
        ctx: BuildContext,
        config: AzureMonitorConfig,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        let connection = config
            .connection()
            .map_err(|e| ComponentError::new(format!("exporter {}: {e}", ctx.id)))?;
        tracing::info!(
            exporter = %ctx.id,
            url = %connection.track_url,
            key_from = AzureMonitorConfig::describe_source(connection.source),
            "sending to Application Insights",
        );
        let mut sender = AzureMonitorSender::new(&ctx, &config, connection.clone())?;
        if let Some(auth) = &config.authentication {
            let client = stratus_azure_common::http::client()
                .map_err(|e| ComponentError::new(format!("exporter {}: {e}", ctx.id)))?;
            let provider =
                stratus_azure_common::TokenProvider::new(auth, &connection.entra_scope(), client)
                    .map_err(|e| {
                    ComponentError::new(format!("exporter {}: authentication: {e}", ctx.id))
                })?;
            sender = sender.with_token_provider(Arc::new(EntraToken(provider)));
        }
        try_build_exporter(&ctx, config.settings(), sender)
    }
}
