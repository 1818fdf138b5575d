//! The `awsxray` exporter factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_aws_common::session::load;
use stratus_core::factory::{BuildContext, BuildExporter, Exporter, Factory, Stability};
use stratus_core::{ComponentError, Signal};
use stratus_exporter_helper::try_build_exporter;

use crate::client::XraySender;
use crate::config::AwsXrayConfig;

/// The `awsxray` exporter: spans to AWS X-Ray (`PutTraceSegments`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsXrayExporterFactory;

impl Factory for AwsXrayExporterFactory {
    type Config = AwsXrayConfig;
    const TYPE: &'static str = "awsxray";
    // Upstream's metadata.yaml: traces, beta.
    const SIGNALS: &'static [(Signal, Stability)] = &[(Signal::Traces, Stability::Beta)];
}

#[async_trait]
impl BuildExporter for AwsXrayExporterFactory {
    /// Loads the AWS session (credentials are resolved lazily, at the first call) and
    /// builds the one X-Ray client the exporter uses.
    async fn create(
        &self,
        ctx: BuildContext,
        config: AwsXrayConfig,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        let sdk = load(&config.session())
            .await
            .map_err(|e| ComponentError::new(format!("exporter {}: {e}", ctx.id)))?;
        let sender = XraySender::new(&ctx, &config, sdk);
        try_build_exporter(&ctx, config.settings(), sender)
    }
}
