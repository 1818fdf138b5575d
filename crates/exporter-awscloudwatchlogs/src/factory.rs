//! The `awscloudwatchlogs` exporter factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_aws_common::session::load;
use stratus_core::factory::{BuildContext, BuildExporter, Exporter, Factory, Stability};
use stratus_core::{ComponentError, Signal};
use stratus_exporter_helper::try_build_exporter;

use crate::client::CloudWatchLogsSender;
use crate::config::CloudWatchLogsConfig;

/// The `awscloudwatchlogs` exporter: log records to CloudWatch Logs
/// (`PutLogEvents`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsCloudWatchLogsExporterFactory;

impl Factory for AwsCloudWatchLogsExporterFactory {
    type Config = CloudWatchLogsConfig;
    const TYPE: &'static str = "awscloudwatchlogs";
    // Upstream's metadata.yaml: logs, beta.
    const SIGNALS: &'static [(Signal, Stability)] = &[(Signal::Logs, Stability::Beta)];
}

#[async_trait]
impl BuildExporter for AwsCloudWatchLogsExporterFactory {
    /// Loads the AWS session (credentials are resolved lazily, at the first call) and
    /// builds the one CloudWatch Logs client the exporter uses.
    async fn create(
        &self,
        ctx: BuildContext,
        config: CloudWatchLogsConfig,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        let sdk = load(&config.session())
            .await
            .map_err(|e| ComponentError::new(format!("exporter {}: {e}", ctx.id)))?;
        let sender = CloudWatchLogsSender::new(&ctx, &config, sdk);
        try_build_exporter(&ctx, config.settings(), sender)
    }
}
