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
use stratus_core::{
    Admission, Component, ComponentError, ConsumeError, Consumer, Destination, Host, Prepared,
    Signal, Telemetry,
};
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
        Ok(Arc::new(NopExporter(build_exporter(
            &ctx,
            ExporterSettings::direct(),
            NopSender,
        ))))
    }
}

/// The exporter-helper exporter (for its `otelcol_exporter_sent_*` counters), plus the
/// hand-over protocol: a `nop` never refuses, so it can hold room for any batch. A
/// batch processor in front of it then hands its batch over instead of keeping a
/// copy of it for a retry that cannot happen.
struct NopExporter(Arc<dyn Exporter>);

#[async_trait]
impl Consumer for NopExporter {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        self.0.consume(data).await
    }

    fn can_prepare(&self) -> bool {
        true
    }

    async fn prepare(&self, data: Telemetry) -> Prepared {
        Prepared::Ready(Box::new(NopAdmission(self.0.clone(), data)))
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        self.0.destinations()
    }
}

#[async_trait]
impl Component for NopExporter {
    async fn start(&self, host: &Host) -> Result<(), ComponentError> {
        self.0.start(host).await
    }

    async fn shutdown(&self) -> Result<(), ComponentError> {
        self.0.shutdown().await
    }

    async fn flush(&self) -> Result<(), ComponentError> {
        self.0.flush().await
    }
}

/// Room held for one batch: committing drops it (and counts it as sent).
struct NopAdmission(Arc<dyn Exporter>, Telemetry);

#[async_trait]
impl Admission for NopAdmission {
    async fn commit(self: Box<Self>) -> Result<(), ConsumeError> {
        let NopAdmission(exporter, data) = *self;
        exporter.consume(data).await
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

    /// A started `nop` and the registry its counters are in.
    async fn started() -> (Arc<dyn Exporter>, Registry) {
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
        (exp, registry)
    }

    #[tokio::test]
    async fn drops_everything_and_counts_it_as_sent() {
        let (exp, registry) = started().await;
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

    /// The batch in front of a `nop` hands over instead of copying: it can prepare,
    /// and a committed admission counts as sent.
    #[tokio::test]
    async fn takes_batches_by_hand_over() {
        let (exp, registry) = started().await;
        assert!(exp.can_prepare());
        let Prepared::Ready(admission) = exp.prepare(sample_spans(3)).await else {
            panic!("a nop holds room for anything");
        };
        admission.commit().await.unwrap();
        assert!(
            registry
                .render()
                .lines()
                .any(|l| l == "otelcol_exporter_sent_spans{exporter=\"nop\"} 3"),
            "{}",
            registry.render()
        );
    }

    #[tokio::test]
    async fn conformance() {
        stratus_testkit::conformance::exporter(&NopExporterFactory).await;
    }
}
