//! The check run against well-behaved fakes (which pass) and against fakes with one
//! flaw each (which fail, naming the rule).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use stratus_core::factory::{ConfigProblem, Exporter, Extension, Processor, Stability};
use stratus_core::telemetry::PerSignal;
use stratus_core::{ComponentError, ConsumeError, Consumer, Telemetry};

use super::*;

const ALL: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Beta),
    (Signal::Metrics, Stability::Beta),
    (Signal::Logs, Stability::Beta),
];

/// One flaw a fake component can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    None,
    AcceptsUnknownKeys,
    BuildIgnoresUnknownKeys,
    DefaultInvalid,
    SecondShutdownFails,
    ShutdownWithoutStartFails,
    DoesNotCountSent,
    CountsFailuresAsSent,
    ListsSignals,
    RouteToUnsupportedSignal,
}

#[derive(Debug, Clone, Copy)]
struct Fake {
    name: &'static str,
    flaw: Flaw,
}

impl Fake {
    fn problems(&self, raw: &Value) -> Vec<ConfigProblem> {
        match raw {
            Value::Null if self.flaw == Flaw::DefaultInvalid => {
                vec![ConfigProblem::new("endpoint", "required")]
            }
            Value::Null => Vec::new(),
            Value::Object(map) => map
                .keys()
                .filter(|k| k.as_str() != "endpoint" && self.flaw != Flaw::AcceptsUnknownKeys)
                .map(|k| ConfigProblem::new(k.clone(), format!("unknown field `{k}`")))
                .collect(),
            _ => vec![ConfigProblem::new("", "expected a map")],
        }
    }

    fn decode(&self, raw: &Value) -> Result<Option<String>, ComponentError> {
        let problems = self.problems(raw);
        if !problems.is_empty() && self.flaw != Flaw::BuildIgnoresUnknownKeys {
            return Err(ComponentError::new(format!("invalid config: {problems:?}")));
        }
        Ok(raw
            .get("endpoint")
            .and_then(Value::as_str)
            .map(str::to_string))
    }

    fn component(&self, ctx: &BuildContext, url: Option<String>) -> Arc<FakeComponent> {
        let id = ctx.id.to_string();
        let labels = [("exporter", id.as_str())];
        Arc::new(FakeComponent {
            flaw: self.flaw,
            url,
            started: AtomicUsize::new(0),
            shutdowns: AtomicUsize::new(0),
            sent: PerSignal::new(&ctx.telemetry, "otelcol_exporter_sent", "Sent.", &labels),
            failed: PerSignal::new(
                &ctx.telemetry,
                "otelcol_exporter_send_failed",
                "Failed.",
                &labels,
            ),
        })
    }
}

impl FactoryInfo for Fake {
    fn type_name(&self) -> &'static str {
        self.name
    }
    fn signals(&self) -> &'static [(Signal, Stability)] {
        if self.name == "ext" && self.flaw != Flaw::ListsSignals {
            &[]
        } else if self.name == "conn" && self.flaw == Flaw::RouteToUnsupportedSignal {
            &ALL[..1]
        } else {
            ALL
        }
    }
    fn check_config(&self, raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        let p = self.problems(raw);
        if p.is_empty() { Ok(()) } else { Err(p) }
    }
}

struct FakeComponent {
    flaw: Flaw,
    url: Option<String>,
    started: AtomicUsize,
    shutdowns: AtomicUsize,
    sent: PerSignal,
    failed: PerSignal,
}

#[async_trait]
impl Component for FakeComponent {
    async fn start(&self, _host: &Host) -> Result<(), ComponentError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn shutdown(&self) -> Result<(), ComponentError> {
        let n = self.shutdowns.fetch_add(1, Ordering::SeqCst);
        let started = self.started.load(Ordering::SeqCst) > 0;
        match self.flaw {
            Flaw::SecondShutdownFails if n > 0 => Err(ComponentError::new("already stopped")),
            Flaw::ShutdownWithoutStartFails if !started => {
                Err(ComponentError::new("never started"))
            }
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Consumer for FakeComponent {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        let signal = data.signal();
        let items = data.item_count() as u64;
        let ok = match &self.url {
            None => true,
            Some(url) => {
                let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
                let req = http::Request::post(format!("{url}/v1/{signal}"))
                    .body(Full::new(data.payload.encode_request()))
                    .map_err(|e| ConsumeError::permanent(e.to_string()))?;
                let resp = client
                    .request(req)
                    .await
                    .map_err(|e| ConsumeError::retryable(e.to_string()))?;
                resp.status().is_success()
            }
        };
        match (ok, self.flaw) {
            (_, Flaw::DoesNotCountSent) => Ok(()),
            (true, _) | (false, Flaw::CountsFailuresAsSent) => {
                self.sent.get(signal).add(items);
                Ok(())
            }
            (false, _) => {
                self.failed.get(signal).add(items);
                Err(ConsumeError::permanent("rejected"))
            }
        }
    }
}

impl Extension for FakeComponent {}

/// The fake's factory of each kind: it decodes the config and builds the component.
macro_rules! fake_factories {
    ($($factory:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {$(
        #[async_trait]
        impl $factory for Fake {
            async fn build(
                &self,
                ctx: BuildContext,
                raw: &Value,
                $($arg: $ty),*
            ) -> Result<$out, ComponentError> {
                let url = self.decode(raw)?;
                Ok(self.component(&ctx, url))
            }
        }
    )*};
}

fake_factories! {
    ReceiverFactory(_next: SignalConsumers) -> Arc<dyn Component>;
    ProcessorFactory(_next: BoxConsumer) -> Arc<dyn Processor>;
    ExporterFactory() -> Arc<dyn Exporter>;
    ExtensionFactory() -> Arc<dyn Extension>;
}

#[async_trait]
impl ConnectorFactory for Fake {
    fn routes(&self) -> &'static [(Signal, Signal, Stability)] {
        &[
            (Signal::Traces, Signal::Traces, Stability::Beta),
            (Signal::Logs, Signal::Logs, Stability::Beta),
        ]
    }
    async fn build(
        &self,
        ctx: BuildContext,
        raw: &Value,
        _from: Signal,
        _to: Signal,
        pipelines: Vec<(String, BoxConsumer)>,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        assert_eq!(pipelines.len(), 1, "one pipeline per route");
        let url = self.decode(raw)?;
        Ok(self.component(&ctx, url))
    }
}

fn fake(name: &'static str, flaw: Flaw) -> &'static Fake {
    Box::leak(Box::new(Fake { name, flaw }))
}

/// Runs a check in its own task and returns its panic message, or `None` when it passed.
async fn outcome(check: CheckFuture<'static>) -> Option<String> {
    match tokio::spawn(check).await {
        Ok(()) => None,
        Err(e) => {
            let p = e.into_panic();
            Some(
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default(),
            )
        }
    }
}

fn endpoint(url: &str) -> Value {
    serde_json::json!({ "endpoint": url })
}

#[tokio::test]
async fn well_behaved_components_pass_every_kind() {
    receiver(fake("rcv", Flaw::None)).await;
    processor(fake("proc", Flaw::None)).await;
    exporter(fake("nop", Flaw::None)).await;
    exporter(fake("web", Flaw::None))
        .http_destination(endpoint)
        .await;
    extension(fake("ext", Flaw::None)).await;
    connector(fake("conn", Flaw::None)).await;
    connector(fake("conn", Flaw::None))
        .config_for(|to| serde_json::json!({"endpoint": format!("{to}")}))
        .await;
    exporter(fake("web", Flaw::DefaultInvalid))
        .http_destination(endpoint)
        .default_config_rejected(&["endpoint"])
        .await;
}

#[tokio::test]
async fn each_broken_rule_fails_with_its_own_message() {
    let cases: Vec<(CheckFuture<'static>, &str)> = vec![
        (
            processor(fake("proc", Flaw::AcceptsUnknownKeys)).into_future(),
            "accepts the unknown key",
        ),
        (
            receiver(fake("rcv", Flaw::BuildIgnoresUnknownKeys)).into_future(),
            "build accepts a config",
        ),
        (
            processor(fake("proc", Flaw::DefaultInvalid)).into_future(),
            "the default config (no keys) must validate",
        ),
        (
            processor(fake("proc", Flaw::None))
                .default_config_rejected(&["endpoint"])
                .into_future(),
            "declared invalid",
        ),
        (
            processor(fake("proc", Flaw::DefaultInvalid))
                .default_config_rejected(&["other"])
                .into_future(),
            "not at the declared paths",
        ),
        (
            extension(fake("ext", Flaw::SecondShutdownFails)).into_future(),
            "idempotent",
        ),
        (
            receiver(fake("rcv", Flaw::ShutdownWithoutStartFails)).into_future(),
            "shutdown without start failed",
        ),
        (
            exporter(fake("nop", Flaw::DoesNotCountSent))
                .timeout(Duration::from_millis(200))
                .into_future(),
            "otelcol_exporter_sent_spans",
        ),
        (
            exporter(fake("web", Flaw::CountsFailuresAsSent))
                .http_destination(endpoint)
                .timeout(Duration::from_millis(200))
                .into_future(),
            "otelcol_exporter_send_failed_spans",
        ),
        (
            extension(fake("ext", Flaw::ListsSignals)).into_future(),
            "carries no signal",
        ),
        (
            connector(fake("conn", Flaw::RouteToUnsupportedSignal)).into_future(),
            "missing from signals()",
        ),
        (
            processor(fake("proc", Flaw::None))
                .config(serde_json::json!([1]))
                .into_future(),
            "must be a JSON object",
        ),
    ];
    for (check, expected) in cases {
        let msg = outcome(check)
            .await
            .unwrap_or_else(|| panic!("passed, expected `{expected}`"));
        assert!(msg.contains(expected), "expected `{expected}` in: {msg}");
    }
}

#[tokio::test]
async fn failure_messages_name_the_component() {
    let msg = outcome(processor(fake("proc", Flaw::AcceptsUnknownKeys)).into_future())
        .await
        .unwrap();
    assert!(msg.starts_with("processor `proc`"), "{msg}");
    let msg = outcome(connector(fake("conn", Flaw::SecondShutdownFails)).into_future())
        .await
        .unwrap();
    assert!(
        msg.starts_with("connector `conn`, route traces -> traces"),
        "{msg}"
    );
}
