//! The `forward` connector: passes data from the pipelines that export to it to the
//! pipelines of the same signal that receive from it, unchanged.
//!
//! ```yaml
//! connectors:
//!   forward:
//! service:
//!   pipelines:
//!     traces/in: {receivers: [otlp], exporters: [forward]}
//!     traces/out: {receivers: [forward], exporters: [file]}
//! ```
//!
//! It has no config keys. A batch goes to the fan-out of every receiving pipeline; the
//! call fails (and the error reaches the sender) when any of them refuses it.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use stratus_core::factory::{
    ALL_SIGNALS_BETA, BuildConnector, BuildContext, Exporter, Factory, Stability, Validate,
    same_signal_routes,
};
use stratus_core::{
    BoxConsumer, Component, ComponentError, ConsumeError, Consumer, Fanout, Signal, Telemetry,
};

/// The `forward` connector's config: no keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForwardConfig {}

impl Validate for ForwardConfig {}

/// The `forward` connector factory.
#[derive(Debug, Clone, Copy, Default)]
pub struct ForwardConnectorFactory;

impl Factory for ForwardConnectorFactory {
    type Config = ForwardConfig;
    const TYPE: &'static str = "forward";
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_BETA;
}

#[async_trait]
impl BuildConnector for ForwardConnectorFactory {
    const ROUTES: &'static [(Signal, Signal, Stability)] = &same_signal_routes(Stability::Beta);

    async fn create(
        &self,
        _ctx: BuildContext,
        _config: ForwardConfig,
        from: Signal,
        to: Signal,
        pipelines: Vec<(String, BoxConsumer)>,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        if from != to {
            return Err(ComponentError::new(format!(
                "forward cannot connect {from} to {to}: both sides must carry the same signal"
            )));
        }
        if pipelines.is_empty() {
            return Err(ComponentError::new(format!(
                "no {to} pipeline lists this connector as a receiver"
            )));
        }
        Ok(Arc::new(Forward {
            next: Fanout::wrap(pipelines.into_iter().map(|(_, c)| c).collect()),
        }))
    }
}

/// A running `forward` connector.
pub struct Forward {
    next: BoxConsumer,
}

#[async_trait]
impl Consumer for Forward {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        self.next.consume(data).await
    }

    /// Passes two-phase admission through, so a fan-out over pipelines joined by
    /// `forward` stays all or nothing where the pipelines behind it can reserve.
    fn can_prepare(&self) -> bool {
        self.next.can_prepare()
    }

    async fn prepare(&self, data: Telemetry) -> stratus_core::Prepared {
        self.next.prepare(data).await
    }

    fn destinations(&self) -> Vec<Arc<stratus_core::Destination>> {
        self.next.destinations()
    }
}

impl Component for Forward {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use stratus_core::ComponentId;
    use stratus_core::factory::{ConnectorFactory, FactoryInfo};
    use stratus_core::telemetry::Registry;
    use stratus_testkit::RecordingConsumer;
    use stratus_testkit::otlp::sample_spans as spans;

    fn ctx() -> BuildContext {
        BuildContext::new(
            ComponentId::new("forward"),
            vec![Signal::Traces],
            Registry::new(),
        )
    }

    #[tokio::test]
    async fn passes_data_to_every_receiving_pipeline() {
        let a = RecordingConsumer::new();
        let b = RecordingConsumer::new();
        let fwd = ForwardConnectorFactory
            .build(
                ctx(),
                &Value::Null,
                Signal::Traces,
                Signal::Traces,
                vec![
                    ("traces/a".into(), a.clone()),
                    ("traces/b".into(), b.clone()),
                ],
            )
            .await
            .unwrap();
        fwd.consume(spans(3)).await.unwrap();
        assert_eq!(a.batch_sizes(), [3]);
        assert_eq!(b.batch_sizes(), [3]);
    }

    /// Behind `forward`, a full pipeline refuses the batch for all: the one that had
    /// room does not keep a copy the sender will send again.
    #[tokio::test]
    async fn two_phase_admission_passes_through() {
        let a = RecordingConsumer::reserving();
        let b = RecordingConsumer::reserving();
        b.refuse_next(1, ConsumeError::retryable("full"));
        let fwd = ForwardConnectorFactory
            .build(
                ctx(),
                &Value::Null,
                Signal::Traces,
                Signal::Traces,
                vec![
                    ("traces/a".into(), a.clone()),
                    ("traces/b".into(), b.clone()),
                ],
            )
            .await
            .unwrap();
        assert!(fwd.can_prepare());
        assert!(fwd.consume(spans(3)).await.is_err());
        assert_eq!(a.batch_sizes(), Vec::<usize>::new(), "no copy in a");
        fwd.consume(spans(2)).await.unwrap();
        assert_eq!((a.batch_sizes(), b.batch_sizes()), (vec![2], vec![2]));
    }

    #[tokio::test]
    async fn downstream_errors_reach_the_sender() {
        let a = RecordingConsumer::refusing(ConsumeError::retryable("full"));
        let fwd = ForwardConnectorFactory
            .build(
                ctx(),
                &Value::Null,
                Signal::Traces,
                Signal::Traces,
                vec![("traces/a".into(), a.clone())],
            )
            .await
            .unwrap();
        let err = fwd.consume(spans(1)).await.unwrap_err();
        assert!(!err.is_permanent());
    }

    #[tokio::test]
    async fn refuses_bad_builds() {
        let a: BoxConsumer = RecordingConsumer::new();
        let err = ForwardConnectorFactory
            .build(
                ctx(),
                &Value::Null,
                Signal::Traces,
                Signal::Logs,
                vec![("logs".into(), a)],
            )
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("same signal"), "{err}");
        let err = ForwardConnectorFactory
            .build(ctx(), &Value::Null, Signal::Traces, Signal::Traces, vec![])
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("no traces pipeline"), "{err}");
    }

    #[test]
    fn has_no_config_keys_and_same_signal_routes() {
        let f = ForwardConnectorFactory;
        assert!(f.check_config(&Value::Null).is_ok());
        let problems = f.check_config(&serde_json::json!({"x": 1})).unwrap_err();
        assert!(
            problems[0].message.contains("unknown field"),
            "{problems:?}"
        );
        assert!(f.routes().iter().all(|(a, b, _)| a == b));
        assert_eq!(f.routes().len(), 3);
    }

    #[tokio::test]
    async fn conformance() {
        stratus_testkit::conformance::connector(&ForwardConnectorFactory).await;
    }
}
