//! The `nop` exporter: accepts every batch and drops it.
//!
//! Useful to terminate a pipeline that only feeds a connector, or to measure stratus
//! without a destination. Dropped batches count as sent in
//! `otelcol_exporter_sent_*`. It has no config keys.
//!
//! ```yaml
//! exporters:
//!   nop:
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use stratus_core::factory::{
    ALL_SIGNALS_BETA, BuildContext, BuildExporter, Exporter, Factory, Stability, Validate,
};
use stratus_core::{ComponentError, ConsumeError, Signal, Telemetry};
use stratus_exporter_helper::{ExporterSettings, Sender, build_exporter};

/// The `nop` exporter's config: no keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NopConfig {}

impl Validate for NopConfig {}

/// The `nop` exporter factory.
#[derive(Debug, Clone, Copy, Default)]
pub struct NopExporterFactory;

impl Factory for NopExporterFactory {
    type Config = NopConfig;
    const TYPE: &'static str = "nop";
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_BETA;
}

#[async_trait]
impl BuildExporter for NopExporterFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        _config: NopConfig,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        Ok(build_exporter(&ctx, ExporterSettings::direct(), NopSender))
    }
}

/// Drops every batch.
#[derive(Debug, Clone, Copy, Default)]
pub struct NopSender;

#[async_trait]
impl Sender for NopSender {
    type Request = ();

    fn encode(&self, _data: Telemetry) -> Result<(), ConsumeError> {
        Ok(())
    }

    async fn send(&self, _request: &()) -> Result<(), ConsumeError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use stratus_core::factory::{ExporterFactory, FactoryInfo};
    use stratus_core::telemetry::Registry;
    use stratus_core::{ComponentId, Host};
    use stratus_testkit::otlp::sample_spans;

    #[tokio::test]
    async fn drops_everything_and_counts_it_as_sent() {
        let registry = Registry::new();
        let ctx = BuildContext::new(
            ComponentId::new("nop"),
            Signal::ALL.to_vec(),
            registry.clone(),
        );
        let exp = NopExporterFactory
            .build(ctx, &serde_json::json!({}))
            .await
            .unwrap();
        exp.start(&Host::ready()).await.unwrap();
        exp.consume(sample_spans(4)).await.unwrap();
        exp.consume(Telemetry::empty(Signal::Logs)).await.unwrap();
        exp.shutdown().await.unwrap();
        exp.shutdown().await.unwrap();
        let text = registry.render();
        assert!(
            text.lines()
                .any(|l| l == "otelcol_exporter_sent_spans{exporter=\"nop\"} 4"),
            "{text}"
        );
    }

    #[test]
    fn has_no_config_keys() {
        let f = NopExporterFactory;
        assert_eq!(f.type_name(), "nop");
        assert!(f.check_config(&Value::Null).is_ok());
        assert!(f.check_config(&serde_json::json!({})).is_ok());
        let problems = f
            .check_config(&serde_json::json!({"verbosity": "basic"}))
            .unwrap_err();
        assert!(
            problems[0].message.contains("unknown field"),
            "{problems:?}"
        );
        assert!(Signal::ALL.iter().all(|s| f.supports(*s)));
    }

    #[tokio::test]
    async fn conformance() {
        stratus_testkit::conformance::exporter(&NopExporterFactory).await;
    }
}
