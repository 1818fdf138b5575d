//! Fake factories for config tests: the real components live in other crates, and
//! the config crate must not depend on them.

#![allow(dead_code)]

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use stratus_config::{ConfigErrors, Document, Source, Validated, load, validate};
use stratus_core::factory::{
    BuildContext, ConfigProblem, ConnectorFactory, Exporter, ExporterFactory, ExtensionFactory,
    Factories, FactoryInfo, Processor, ProcessorFactory, ReceiverFactory, SignalConsumers,
    Stability, Validate, decode_config,
};
use stratus_core::{BoxConsumer, Component, ComponentError, Signal};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpConfig {
    pub protocols: Protocols,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Protocols {
    #[serde(deserialize_with = "null_is_default")]
    pub grpc: Grpc,
    #[serde(deserialize_with = "null_is_default")]
    pub http: Http,
}

/// `http:` with no body means the default config, as in the collector.
fn null_is_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Grpc {
    pub endpoint: String,
    pub max_recv_msg_size_mib: u64,
}
impl Default for Grpc {
    fn default() -> Self {
        Grpc {
            endpoint: "localhost:4317".into(),
            max_recv_msg_size_mib: 4,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Http {
    pub endpoint: String,
}
impl Default for Http {
    fn default() -> Self {
        Http {
            endpoint: "localhost:4318".into(),
        }
    }
}

impl Validate for OtlpConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.protocols.grpc.endpoint.is_empty() {
            problems.push(ConfigProblem::new(
                "protocols::grpc::endpoint",
                "must not be empty",
            ));
        }
        if self.protocols.http.endpoint.is_empty() {
            problems.push(ConfigProblem::new(
                "protocols::http::endpoint",
                "must not be empty",
            ));
        }
        problems
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    pub send_batch_size: u32,
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
}
impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            send_batch_size: 8192,
            timeout: Duration::from_millis(200),
        }
    }
}
impl Validate for BatchConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        if self.send_batch_size == 0 {
            vec![ConfigProblem::new(
                "send_batch_size",
                "must be greater than 0",
            )]
        } else {
            vec![]
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verbosity {
    Basic,
    #[default]
    Normal,
    Detailed,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DebugConfig {
    pub verbosity: Verbosity,
}
impl Validate for DebugConfig {}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmptyConfig {}
impl Validate for EmptyConfig {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    pub endpoint: String,
    pub path: String,
    pub token: stratus_core::confval::Secret,
}
impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            endpoint: "localhost:13133".into(),
            path: "/".into(),
            token: Default::default(),
        }
    }
}
impl Validate for HealthConfig {}

/// The keys of the real `otlp` / `otlphttp` exporters that `service::telemetry`
/// generates, with the endpoint checks that matter to the tests.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FakeOtlpConfig {
    pub endpoint: String,
    pub metrics_endpoint: String,
    pub logs_endpoint: String,
    pub encoding: String,
    pub tls: FakeTls,
    pub headers: std::collections::BTreeMap<String, stratus_core::confval::Secret>,
    pub compression: String,
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
    pub retry_on_failure: Enabled,
    pub sending_queue: Enabled,
}
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FakeTls {
    pub insecure: bool,
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
}
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Enabled {
    pub enabled: bool,
}
impl Validate for FakeOtlpConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        for (key, url) in [
            ("endpoint", &self.endpoint),
            ("metrics_endpoint", &self.metrics_endpoint),
            ("logs_endpoint", &self.logs_endpoint),
        ] {
            let host = url.split_once("://").map_or("", |(_, r)| r);
            if !url.is_empty() && (host.is_empty() || host.starts_with(['/', ':'])) {
                problems.push(ConfigProblem::new(key, format!("`{url}` has no host")));
            }
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            problems.push(ConfigProblem::new(
                "tls::key_file",
                "must be set when cert_file is set (the client certificate needs its key)",
            ));
        }
        for name in self.headers.keys() {
            if name.contains(' ') {
                problems.push(ConfigProblem::new(
                    format!("headers::{name}"),
                    "is not a valid header name",
                ));
            }
        }
        problems
    }
}

const ALL: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Stable),
    (Signal::Metrics, Stability::Stable),
    (Signal::Logs, Stability::Beta),
];
const LOGS: &[(Signal, Stability)] = &[(Signal::Logs, Stability::Alpha)];

/// A factory of any kind whose config type is `C`; building always fails.
pub struct Fake<C> {
    name: &'static str,
    signals: &'static [(Signal, Stability)],
    config: PhantomData<fn() -> C>,
}

impl<C> Fake<C> {
    pub fn new(name: &'static str, signals: &'static [(Signal, Stability)]) -> Self {
        Fake {
            name,
            signals,
            config: PhantomData,
        }
    }
}

impl<C: DeserializeOwned + Default + Validate> FactoryInfo for Fake<C> {
    fn type_name(&self) -> &'static str {
        self.name
    }
    fn signals(&self) -> &'static [(Signal, Stability)] {
        self.signals
    }
    fn check_config(&self, raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        decode_config::<C>(raw).map(|_| ())
    }
}

fn not_built() -> ComponentError {
    ComponentError::new("fake factories build nothing")
}

#[async_trait]
impl<C: DeserializeOwned + Default + Validate> ReceiverFactory for Fake<C> {
    async fn build(
        &self,
        _ctx: BuildContext,
        _raw: &Value,
        _next: SignalConsumers,
    ) -> Result<Arc<dyn Component>, ComponentError> {
        Err(not_built())
    }
}

#[async_trait]
impl<C: DeserializeOwned + Default + Validate> ProcessorFactory for Fake<C> {
    async fn build(
        &self,
        _ctx: BuildContext,
        _raw: &Value,
        _next: BoxConsumer,
    ) -> Result<Arc<dyn Processor>, ComponentError> {
        Err(not_built())
    }
}

#[async_trait]
impl<C: DeserializeOwned + Default + Validate> ExporterFactory for Fake<C> {
    async fn build(
        &self,
        _ctx: BuildContext,
        _raw: &Value,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        Err(not_built())
    }
}

#[async_trait]
impl<C: DeserializeOwned + Default + Validate> ExtensionFactory for Fake<C> {
    async fn build(
        &self,
        _ctx: BuildContext,
        _raw: &Value,
    ) -> Result<Arc<dyn stratus_core::factory::Extension>, ComponentError> {
        Err(not_built())
    }
}

/// A connector factory with fixed routes; building always fails.
pub struct FakeConnector {
    name: &'static str,
    routes: &'static [(Signal, Signal, Stability)],
}

impl FactoryInfo for FakeConnector {
    fn type_name(&self) -> &'static str {
        self.name
    }
    fn signals(&self) -> &'static [(Signal, Stability)] {
        ALL
    }
    fn check_config(&self, raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        decode_config::<EmptyConfig>(raw).map(|_| ())
    }
}

#[async_trait]
impl ConnectorFactory for FakeConnector {
    fn routes(&self) -> &'static [(Signal, Signal, Stability)] {
        self.routes
    }
    async fn build(
        &self,
        _ctx: BuildContext,
        _raw: &Value,
        _from: Signal,
        _to: Signal,
        _pipelines: Vec<(String, BoxConsumer)>,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        Err(not_built())
    }
}

/// otlp receiver (all signals), batch processor, debug (all), logonly (logs), otlp
/// and otlphttp exporters, health_check extension, forward (same signal) and count (traces to
/// metrics) connectors.
/// `authed: { auth: { authenticator: ID } }`: a receiver that names an
/// authenticator extension, as the OTLP receiver's protocols do.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthedConfig {
    pub auth: Option<stratus_core::auth::AuthConfig>,
}
impl Validate for AuthedConfig {}

pub struct AuthedReceiver;

impl FactoryInfo for AuthedReceiver {
    fn type_name(&self) -> &'static str {
        "authed"
    }
    fn signals(&self) -> &'static [(Signal, Stability)] {
        ALL
    }
    fn check_config(&self, raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        decode_config::<AuthedConfig>(raw).map(|_| ())
    }
    fn extension_references(&self, raw: &Value) -> Vec<(String, String)> {
        decode_config::<AuthedConfig>(raw)
            .ok()
            .and_then(|c| c.auth)
            .map(|a| vec![("auth::authenticator".to_string(), a.authenticator)])
            .unwrap_or_default()
    }
}

#[async_trait]
impl ReceiverFactory for AuthedReceiver {
    async fn build(
        &self,
        _ctx: BuildContext,
        _raw: &Value,
        _next: SignalConsumers,
    ) -> Result<Arc<dyn Component>, ComponentError> {
        Err(not_built())
    }
}

/// `listener: { endpoint, tls, auth }`: a receiver that listens, and warns (as the
/// OTLP receiver does) when it is open beyond loopback with neither TLS nor auth.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenerConfig {
    pub endpoint: String,
    pub tls: Option<FakeTls>,
    pub auth: Option<stratus_core::auth::AuthConfig>,
}
impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            endpoint: "localhost:4317".into(),
            tls: None,
            auth: None,
        }
    }
}
impl Validate for ListenerConfig {}

pub struct ListenerReceiver;

impl FactoryInfo for ListenerReceiver {
    fn type_name(&self) -> &'static str {
        "listener"
    }
    fn signals(&self) -> &'static [(Signal, Stability)] {
        ALL
    }
    fn check_config(&self, raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        decode_config::<ListenerConfig>(raw).map(|_| ())
    }
    fn exposure_warnings(&self, raw: &Value) -> Vec<ConfigProblem> {
        decode_config::<ListenerConfig>(raw)
            .ok()
            .and_then(|c| {
                stratus_core::factory::exposure_warning(
                    "endpoint",
                    &c.endpoint,
                    c.tls.is_some() || c.auth.is_some(),
                )
            })
            .into_iter()
            .collect()
    }
}

#[async_trait]
impl ReceiverFactory for ListenerReceiver {
    async fn build(
        &self,
        _ctx: BuildContext,
        _raw: &Value,
        _next: SignalConsumers,
    ) -> Result<Arc<dyn Component>, ComponentError> {
        Err(not_built())
    }
}

pub fn factories() -> Factories {
    Factories::new()
        .connector(FakeConnector {
            name: "forward",
            routes: &[
                (Signal::Traces, Signal::Traces, Stability::Beta),
                (Signal::Metrics, Signal::Metrics, Stability::Beta),
                (Signal::Logs, Signal::Logs, Stability::Beta),
            ],
        })
        .connector(FakeConnector {
            name: "count",
            routes: &[(Signal::Traces, Signal::Metrics, Stability::Alpha)],
        })
        .receiver(Fake::<OtlpConfig>::new("otlp", ALL))
        .processor(Fake::<BatchConfig>::new("batch", ALL))
        .exporter(Fake::<DebugConfig>::new("debug", ALL))
        .exporter(Fake::<EmptyConfig>::new("logonly", LOGS))
        .exporter(Fake::<FakeOtlpConfig>::new("otlp", ALL))
        .exporter(Fake::<FakeOtlpConfig>::new("otlphttp", ALL))
        .extension(Fake::<HealthConfig>::new("health_check", &[]))
}

pub fn inline(name: &str, text: &str) -> Source {
    Source::Inline {
        name: name.into(),
        text: text.into(),
    }
}

/// An env lookup backed by a fixed map.
pub fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

pub fn no_env(_: &str) -> Option<String> {
    None
}

/// Loads one inline source named `config.yaml` with no env and validates it.
pub fn check(yaml: &str) -> Result<Validated, ConfigErrors> {
    let doc = load(&[inline("config.yaml", yaml)], &[], &no_env)?;
    validate(&doc, &factories())
}

/// Like [`check`], with a receiver that names an authenticator extension.
pub fn check_with_auth(yaml: &str) -> Result<Validated, ConfigErrors> {
    let doc = load(&[inline("config.yaml", yaml)], &[], &no_env)?;
    let factories = factories()
        .receiver(AuthedReceiver)
        .extension(Fake::<EmptyConfig>::new("bearertokenauth", &[]));
    validate(&doc, &factories)
}

/// [`check`] with the `listener` receiver and a `bearertokenauth` extension added.
pub fn check_with_listener(yaml: &str) -> Result<Validated, ConfigErrors> {
    let doc = load(&[inline("config.yaml", yaml)], &[], &no_env)?;
    let factories = factories()
        .receiver(ListenerReceiver)
        .extension(Fake::<EmptyConfig>::new("bearertokenauth", &[]));
    validate(&doc, &factories)
}

pub fn load_one(
    yaml: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Document, ConfigErrors> {
    load(&[inline("config.yaml", yaml)], &[], env)
}
