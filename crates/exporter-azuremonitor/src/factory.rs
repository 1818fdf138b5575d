//! The `azuremonitor` exporter factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{
    ALL_SIGNALS_BETA, BuildContext, BuildExporter, Exporter, Factory, Stability,
};
use stratus_core::{ComponentError, Signal};
use stratus_exporter_helper::try_build_exporter;

use crate::client::AzureMonitorSender;
use crate::config::AzureMonitorConfig;

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
        let sender = AzureMonitorSender::new(&ctx, &config, connection)?;
        try_build_exporter(&ctx, config.settings(), sender)
    }
}
