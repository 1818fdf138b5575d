//! The `awsemf` exporter factory, and the same exporter under the product brief's
//! name `awscloudwatch`.
//!
//! **Why `awscloudwatch` is a type of its own, not a deprecated alias.** Upstream has
//! no `awscloudwatch` exporter: the brief's block is upstream's `awsemf`. The
//! factory's `DEPRECATED_TYPES` (how `otlp` stays a name of `otlp_grpc`) would list it
//! as `[deprecated name of awsemf]` in `stratus components`, telling a user who
//! copied the brief that they did something wrong, while nothing upstream will ever
//! remove. So [`AwsCloudWatchExporterFactory`] is a second factory with the same
//! config, signals and exporter: it works without a warning, and the docs say it is
//! `awsemf`.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_aws_common::session::load;
use stratus_core::factory::{BuildContext, BuildExporter, Exporter, Factory, Stability};
use stratus_core::{ComponentError, Signal};
use stratus_exporter_helper::try_build_exporter;

use crate::client::EmfSender;
use crate::config::{AwsEmfExporterConfig, OutputDestination};

/// Upstream's metadata.yaml: metrics, beta.
const SIGNALS: &[(Signal, Stability)] = &[(Signal::Metrics, Stability::Beta)];

/// The `awsemf` exporter: metrics to CloudWatch as Embedded Metric Format log events
/// (PutLogEvents), or to standard output.
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsEmfExporterFactory;

impl Factory for AwsEmfExporterFactory {
    type Config = AwsEmfExporterConfig;
    const TYPE: &'static str = "awsemf";
    const SIGNALS: &'static [(Signal, Stability)] = SIGNALS;
}

/// The product brief's `awscloudwatch`: the `awsemf` exporter under another name
/// (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsCloudWatchExporterFactory;

impl Factory for AwsCloudWatchExporterFactory {
    type Config = AwsEmfExporterConfig;
    const TYPE: &'static str = "awscloudwatch";
    const SIGNALS: &'static [(Signal, Stability)] = SIGNALS;
}

/// Builds the exporter: with `output_destination: cloudwatch`, loads the AWS session
/// (credentials are resolved lazily, at the first call) and the one CloudWatch Logs
/// client; with `stdout`, no AWS session at all.
async fn create(
    ctx: BuildContext,
    config: AwsEmfExporterConfig,
) -> Result<Arc<dyn Exporter>, ComponentError> {
    let sender = match config.output_destination {
        OutputDestination::Stdout => EmfSender::writer(&ctx, &config, Box::new(std::io::stdout()))?,
        OutputDestination::Cloudwatch => {
            let sdk = load(&config.session())
                .await
                .map_err(|e| ComponentError::new(format!("exporter {}: {e}", ctx.id)))?;
            EmfSender::cloudwatch(&ctx, &config, sdk)?
        }
    };
    try_build_exporter(&ctx, config.settings(), sender)
}

#[async_trait]
impl BuildExporter for AwsEmfExporterFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: AwsEmfExporterConfig,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        create(ctx, config).await
    }
}

#[async_trait]
impl BuildExporter for AwsCloudWatchExporterFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: AwsEmfExporterConfig,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        create(ctx, config).await
    }
}
