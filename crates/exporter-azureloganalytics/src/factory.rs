//! The `azureloganalytics` exporter factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{BuildContext, BuildExporter, Exporter, Factory, Stability};
use stratus_core::{ComponentError, Signal};
use stratus_exporter_helper::try_build_exporter;

use crate::client::LogAnalyticsSender;
use crate::config::AzureLogAnalyticsConfig;

/// The `azureloganalytics` exporter: spans, log records and metric points as rows in
/// a Log Analytics workspace.
#[derive(Debug, Clone, Copy, Default)]
pub struct AzureLogAnalyticsExporterFactory;

impl Factory for AzureLogAnalyticsExporterFactory {
    type Config = AzureLogAnalyticsConfig;
    const TYPE: &'static str = "azureloganalytics";
    const SIGNALS: &'static [(Signal, Stability)] = &[
        (Signal::Traces, Stability::Alpha),
        (Signal::Metrics, Stability::Alpha),
        (Signal::Logs, Stability::Alpha),
    ];
}

#[async_trait]
impl BuildExporter for AzureLogAnalyticsExporterFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: AzureLogAnalyticsConfig,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        let client = stratus_azure_common::http::client()
            .map_err(|e| ComponentError::new(format!("exporter {}: {e}", ctx.id)))?;
        let sender = LogAnalyticsSender::new(ctx.id.to_string(), &config, client)?;
        try_build_exporter(&ctx, config.settings(), sender)
    }
}
