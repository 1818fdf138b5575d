//! The `otlp_grpc` and `otlp_http` exporter factories (upstream's current names; the
//! older `otlp` and `otlphttp` still work).

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{
    ALL_SIGNALS_STABLE, BuildContext, BuildExporter, Exporter, Factory, Stability,
};
use stratus_core::{ComponentError, Signal};
use stratus_exporter_helper::try_build_exporter;

use crate::config::{OtlpConfig, OtlpHttpConfig};
use crate::grpc::GrpcSender;
use crate::http::HttpSender;
use stratus_otlp_client::config::auth_reference;

/// The `otlp_grpc` exporter (also `otlp`): OTLP over gRPC.
#[derive(Debug, Clone, Copy, Default)]
pub struct OtlpExporterFactory;

impl Factory for OtlpExporterFactory {
    type Config = OtlpConfig;
    const TYPE: &'static str = "otlp_grpc";
    const DEPRECATED_TYPES: &'static [&'static str] = &["otlp"];
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_STABLE;

    /// `auth::authenticator`, checked by `validate` to name an enabled extension.
    fn extension_references(&self, config: &OtlpConfig) -> Vec<(String, String)> {
        auth_reference(&config.auth)
    }
}

#[async_trait]
impl BuildExporter for OtlpExporterFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: OtlpConfig,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        let sender = GrpcSender::from_context(&ctx, ctx.id.to_string(), &config)?;
        try_build_exporter(&ctx, config.settings(), sender)
    }
}

/// The `otlp_http` exporter (also `otlphttp`): OTLP over HTTP.
#[derive(Debug, Clone, Copy, Default)]
pub struct OtlpHttpExporterFactory;

impl Factory for OtlpHttpExporterFactory {
    type Config = OtlpHttpConfig;
    const TYPE: &'static str = "otlp_http";
    const DEPRECATED_TYPES: &'static [&'static str] = &["otlphttp"];
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_STABLE;

    /// `auth::authenticator`, checked by `validate` to name an enabled extension.
    fn extension_references(&self, config: &OtlpHttpConfig) -> Vec<(String, String)> {
        auth_reference(&config.auth)
    }
}

#[async_trait]
impl BuildExporter for OtlpHttpExporterFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: OtlpHttpConfig,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        let sender = HttpSender::from_context(&ctx, &config)?;
        try_build_exporter(&ctx, config.settings(), sender)
    }
}
