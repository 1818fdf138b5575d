//! The `awss3` exporter factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_aws_common::session::load;
use stratus_core::factory::{BuildContext, BuildExporter, Exporter, Factory, Stability};
use stratus_core::{ComponentError, Signal};
use stratus_exporter_helper::try_build_exporter;

use crate::client::S3Sender;
use crate::config::AwsS3Config;

/// The `awss3` exporter: traces, metrics and logs as objects in an S3 bucket
/// (`PutObject`), one object per batch, or per aggregated batch with
/// `sending_queue::batch`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsS3ExporterFactory;

impl Factory for AwsS3ExporterFactory {
    type Config = AwsS3Config;
    const TYPE: &'static str = "awss3";
    // Upstream's metadata.yaml: traces, metrics and logs, alpha.
    const SIGNALS: &'static [(Signal, Stability)] = &[
        (Signal::Traces, Stability::Alpha),
        (Signal::Metrics, Stability::Alpha),
        (Signal::Logs, Stability::Alpha),
    ];
}

#[async_trait]
impl BuildExporter for AwsS3ExporterFactory {
    /// Loads the AWS session (credentials are resolved lazily, at the first upload)
    /// and builds the one S3 client the exporter uses.
    async fn create(
        &self,
        ctx: BuildContext,
        config: AwsS3Config,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        let settings = config.settings().map_err(|problems| {
            let text: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            ComponentError::new(format!("exporter {}: {}", ctx.id, text.join("; ")))
        })?;
        let session = config.session(&settings);
        let sdk = load(&session)
            .await
            .map_err(|e| ComponentError::new(format!("exporter {}: {e}", ctx.id)))?;
        let sender = S3Sender::new(&ctx, settings, session, sdk);
        try_build_exporter(&ctx, config.exporter_settings(), sender)
    }
}
