//! The `otlp` and `otlphttp` exporter factories.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use stratus_core::factory::{
    BuildContext, ConfigProblem, Exporter, ExporterFactory, FactoryInfo, Stability,
    config_for_build, decode_config,
};
use stratus_core::{ComponentError, Signal};
use stratus_exporter_helper::try_build_exporter;

use crate::config::{OtlpConfig, OtlpHttpConfig};
use crate::grpc::GrpcSender;
use crate::http::HttpSender;

const ALL_STABLE: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Stable),
    (Signal::Metrics, Stability::Stable),
    (Signal::Logs, Stability::Stable),
];

/// The `otlp` exporter: OTLP over gRPC.
#[derive(Debug, Clone, Copy, Default)]
pub struct OtlpExporterFactory;

impl FactoryInfo for OtlpExporterFactory {
    fn type_name(&self) -> &'static str {
        "otlp"
    }

    fn signals(&self) -> &'static [(Signal, Stability)] {
        ALL_STABLE
    }

    fn check_config(&self, raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        decode_config::<OtlpConfig>(raw).map(|_| ())
    }
}

#[async_trait]
impl ExporterFactory for OtlpExporterFactory {
    async fn build(
        &self,
        ctx: BuildContext,
        raw: &Value,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        let id = ctx.id.to_string();
        let config: OtlpConfig = config_for_build(raw)?;
        let sender = GrpcSender::new(id, &config)?;
        try_build_exporter(&ctx, config.settings(), sender)
    }
}

/// The `otlphttp` exporter: OTLP over HTTP.
#[derive(Debug, Clone, Copy, Default)]
pub struct OtlpHttpExporterFactory;

impl FactoryInfo for OtlpHttpExporterFactory {
    fn type_name(&self) -> &'static str {
        "otlphttp"
    }

    fn signals(&self) -> &'static [(Signal, Stability)] {
        ALL_STABLE
    }

    fn check_config(&self, raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        decode_config::<OtlpHttpConfig>(raw).map(|_| ())
    }
}

#[async_trait]
impl ExporterFactory for OtlpHttpExporterFactory {
    async fn build(
        &self,
        ctx: BuildContext,
        raw: &Value,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        let id = ctx.id.to_string();
        let config: OtlpHttpConfig = config_for_build(raw)?;
        let sender = HttpSender::new(id, &config, &ctx.signals)?;
        try_build_exporter(&ctx, config.settings(), sender)
    }
}
