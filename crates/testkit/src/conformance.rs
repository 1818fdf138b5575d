//! The shared contract every component keeps, checked in one line per component.
//!
//! Each entry point takes a factory through the object-safe traits of
//! [`stratus_core::factory`] and returns a check that runs when awaited; options
//! adjust it first. It panics with a message naming the component and the broken
//! rule.
//!
//! ```text
//! #[tokio::test]
//! async fn conformance() {
//!     stratus_testkit::conformance::exporter(&NopExporterFactory).await;
//! }
//! ```
//!
//! More examples, one per kind:
//!
//! ```text
//! use stratus_testkit::conformance;
//! use stratus_testkit::net::free_endpoint;
//!
//! conformance::processor(&BatchProcessorFactory).await;
//! conformance::processor(&MemoryLimiterProcessorFactory)
//!     .config(json!({"check_interval": "1s", "limit_mib": 4096}))
//!     .default_config_rejected(&["check_interval", "limit_mib"])
//!     .await;
//! conformance::receiver(&OtlpReceiverFactory)
//!     .config(json!({"protocols": {"grpc": {"endpoint": free_endpoint()}}}))
//!     .default_config_rejected(&[""])
//!     .await;
//! conformance::exporter(&OtlpHttpExporterFactory)
//!     .http_destination(|url| json!({"endpoint": url}))
//!     .await;
//! conformance::exporter(&OtlpExporterFactory)
//!     .grpc_destination(|url| json!({"endpoint": url}))
//!     .default_config_rejected(&["endpoint"])
//!     .await;
//! conformance::extension(&HealthCheckExtensionFactory)
//!     .config(json!({"endpoint": free_endpoint()}))
//!     .await;
//! conformance::connector(&FailoverConnectorFactory)
//!     .config_for(|to| json!({"priority_levels": [[format!("{to}/a")]]}))
//!     .default_config_rejected(&["priority_levels"])
//!     .await;
//! ```
//!
//! What is checked, for every kind:
//!
//! 1. The default config (`null`, a component listed with no body) passes
//!    `check_config`, or, when the component has required keys and the caller says
//!    so with `default_config_rejected(paths)`, fails with problems at exactly those
//!    paths.
//! 2. The config used for the rest of the check passes `check_config`.
//! 3. That config plus the key [`UNKNOWN_KEY`] fails `check_config` with a problem at
//!    path `stratus_conformance_unknown_key`, and `build` fails on it too.
//! 4. `build` → `start` (with [`Host::ready`]) → `shutdown` → `shutdown` again all
//!    succeed; a second instance shuts down without having started; a third starts
//!    and shuts down on the same config (what the first held was released).
//!
//! Per kind, besides: receivers and exporters list at least one signal and
//! extensions none; exporters count a batch of every signal they support in
//! `otelcol_exporter_sent_<items>{exporter="<id>"}` and, when they have a
//! destination, a permanently refused batch in `otelcol_exporter_send_failed_<items>`
//! (the destination is a [`RecordingHttpServer`] answering `400` or an
//! [`OtlpGrpcSink`] answering `InvalidArgument`, started by the check); connectors
//! list at least one route, only between signals they support, with no route twice,
//! and every route is checked on its own.
//!
//! Every call into the component is bounded by [`DEFAULT_TIMEOUT`] (or the check's
//! `timeout`). Components are
//! built with id `<type>/conformance`.

use serde_json::Value;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;
use stratus_core::factory::{
    BuildContext, ConnectorFactory, ExporterFactory, ExtensionFactory, FactoryInfo,
    ProcessorFactory, ReceiverFactory, SignalConsumers,
};
use stratus_core::telemetry::Registry;
use stratus_core::{BoxConsumer, Component, ComponentId, Host, Signal};

use crate::RecordingConsumer;
use crate::grpc::{OtlpGrpcSink, Reply};
use crate::http::{RecordingHttpServer, Response};
use crate::metrics::metric_value;
use crate::otlp::sample;
use crate::wait::{DEFAULT_TIMEOUT, wait_until, within};

/// The key added to a config to check that unknown keys are rejected.
pub const UNKNOWN_KEY: &str = "stratus_conformance_unknown_key";

/// Items per batch the exporter check sends for each signal.
const ITEMS: usize = 2;

/// A boxed check, what awaiting a check runs.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Makes a component's config from the URL of the destination the check started.
type MakeConfig<'a> = Box<dyn Fn(&str) -> Value + Send + Sync + 'a>;

/// Makes a connector's config for the signal it hands data on as.
type RouteConfig<'a> = Box<dyn Fn(Signal) -> Value + Send + Sync + 'a>;

/// The config part of the contract, shared by every kind.
struct Configs {
    kind: &'static str,
    default_rejected: Option<Vec<String>>,
    timeout: Duration,
}

impl Configs {
    fn new(kind: &'static str) -> Self {
        Configs {
            kind,
            default_rejected: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    fn label(&self, info: &dyn FactoryInfo) -> String {
        format!("{} `{}`", self.kind, info.type_name())
    }

    /// Checks the default config, `config`, and `config` with an unknown key, which
    /// it returns.
    fn check(&self, info: &dyn FactoryInfo, config: &Value) -> Value {
        let label = self.label(info);
        assert!(
            !info.type_name().is_empty()
                && info.type_name().parse::<ComponentId>().is_ok()
                && !info.type_name().contains('/'),
            "{label}: the type name must be a valid component type"
        );
        let default = info.check_config(&Value::Null);
        match (&self.default_rejected, default) {
            (None, Ok(())) => {}
            (None, Err(problems)) => panic!(
                "{label}: the default config (no keys) must validate, but check_config found \
                 {problems:?}; if the component has required keys, say so with \
                 .default_config_rejected(&[paths])"
            ),
            (Some(paths), Ok(())) => panic!(
                "{label}: the default config was declared invalid at {paths:?}, but \
                 check_config accepts it"
            ),
            (Some(paths), Err(problems)) => {
                let mut got: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
                let mut want: Vec<&str> = paths.iter().map(String::as_str).collect();
                got.sort_unstable();
                want.sort_unstable();
                assert_eq!(
                    got, want,
                    "{label}: the default config's problems are not at the declared paths: \
                     {problems:?}"
                );
            }
        }
        let unknown = with_unknown_key(&label, config);
        if !config.is_null()
            && let Err(problems) = info.check_config(config)
        {
            panic!(
                "{label}: check_config rejects the config given to the check {config}: {problems:?}"
            );
        }
        match info.check_config(&unknown) {
            Ok(()) => panic!(
                "{label}: check_config accepts the unknown key `{UNKNOWN_KEY}`: config structs \
                 need #[serde(deny_unknown_fields)]"
            ),
            Err(problems) => assert!(
                problems.iter().any(|p| p.path == UNKNOWN_KEY),
                "{label}: the unknown key `{UNKNOWN_KEY}` must be reported at its own path, \
                 got {problems:?}"
            ),
        }
        unknown
    }
}

fn with_unknown_key(label: &str, config: &Value) -> Value {
    let mut unknown = match config {
        Value::Null => serde_json::Map::new(),
        Value::Object(map) => map.clone(),
        other => {
            panic!("{label}: the config given to the check must be a JSON object, got {other}")
        }
    };
    unknown.insert(UNKNOWN_KEY.to_string(), Value::from(1));
    Value::Object(unknown)
}

fn context(info: &dyn FactoryInfo, signals: Vec<Signal>, registry: &Registry) -> BuildContext {
    BuildContext::new(
        ComponentId::with_name(info.type_name(), "conformance"),
        signals,
        registry.clone(),
    )
}

fn signals_of(info: &dyn FactoryInfo) -> Vec<Signal> {
    info.signals().iter().map(|(s, _)| *s).collect()
}

/// Starts `c`, lets `work` use it, then shuts it down twice.
async fn start_work_stop<'c, W, F>(label: &str, timeout: Duration, c: &'c dyn Component, work: W)
where
    W: FnOnce() -> F,
    F: Future<Output = ()> + 'c,
{
    let host = Host::ready();
    if let Err(e) = within(&format!("{label}: start"), timeout, c.start(&host)).await {
        panic!("{label}: start failed: {e}");
    }
    work().await;
    for attempt in ["shutdown", "a second shutdown"] {
        if let Err(e) = within(&format!("{label}: {attempt}"), timeout, c.shutdown()).await {
            panic!("{label}: {attempt} failed (shutdown must be idempotent): {e}");
        }
    }
}

async fn stop_unstarted(label: &str, timeout: Duration, c: &dyn Component) {
    let what = format!("{label}: shutdown without start");
    if let Err(e) = within(&what, timeout, c.shutdown()).await {
        panic!("{label}: shutdown without start failed (it must be safe): {e}");
    }
}

async fn restart(label: &str, timeout: Duration, c: &dyn Component) {
    let label = format!("{label} (a new instance after the first shut down)");
    start_work_stop(&label, timeout, c, || async {}).await;
}

fn build_failed<T>(label: &str, step: &str, r: Result<T, stratus_core::ComponentError>) -> T {
    r.unwrap_or_else(|e| panic!("{label}: build ({step}) failed: {e}"))
}

fn assert_build_rejects<T>(label: &str, r: Result<T, stratus_core::ComponentError>) {
    if r.is_ok() {
        panic!(
            "{label}: build accepts a config with the unknown key `{UNKNOWN_KEY}` that \
             check_config rejects"
        );
    }
}

macro_rules! into_future {
    ($check:ident) => {
        impl<'a> IntoFuture for $check<'a> {
            type Output = ();
            type IntoFuture = CheckFuture<'a>;
            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.run())
            }
        }
    };
}

/// The conformance check of a receiver: see [`receiver`].
#[must_use = "a check does nothing until awaited"]
pub struct ReceiverCheck<'a> {
    factory: &'a dyn ReceiverFactory,
    config: Value,
    configs: Configs,
}

/// Checks a receiver factory. Its config usually needs endpoints on free ports
/// ([`crate::net::free_endpoint`]): give it with [`ReceiverCheck::config`]. The
/// receiver delivers to a [`RecordingConsumer`] for every signal it supports.
pub fn receiver(factory: &dyn ReceiverFactory) -> ReceiverCheck<'_> {
    ReceiverCheck {
        factory,
        config: Value::Null,
        configs: Configs::new("receiver"),
    }
}

impl<'a> ReceiverCheck<'a> {
    /// The config to build with (default `null`).
    pub fn config(mut self, config: Value) -> Self {
        self.config = config;
        self
    }

    /// Declares that the default config is invalid, with problems at exactly these
    /// key paths (`""` for the config as a whole).
    pub fn default_config_rejected(mut self, paths: &[&str]) -> Self {
        self.configs.default_rejected = Some(paths.iter().map(|p| p.to_string()).collect());
        self
    }

    /// How long each call into the component (and each wait for a metric) may take
    /// (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.configs.timeout = timeout;
        self
    }

    /// Runs the check (what `.await` on the check does).
    pub async fn run(self) {
        let info: &dyn FactoryInfo = self.factory;
        let label = self.configs.label(info);
        let t = self.configs.timeout;
        let unknown = self.configs.check(info, &self.config);
        let signals = signals_of(info);
        assert!(
            !signals.is_empty(),
            "{label}: a receiver must support a signal"
        );
        let registry = Registry::new();
        let sink = RecordingConsumer::new();
        let mut next = SignalConsumers::default();
        for s in &signals {
            next.set(*s, sink.boxed());
        }
        let build = |raw: Value| {
            let ctx = context(info, signals.clone(), &registry);
            let next = next.clone();
            async move { self.factory.build(ctx, &raw, next).await }
        };
        assert_build_rejects(&label, build(unknown).await);
        let first = build_failed(&label, "first", build(self.config.clone()).await);
        start_work_stop(&label, t, first.as_ref(), || async {}).await;
        let second = build_failed(&label, "second", build(self.config.clone()).await);
        stop_unstarted(&label, t, second.as_ref()).await;
        let third = build_failed(&label, "third", build(self.config.clone()).await);
        restart(&label, t, third.as_ref()).await;
    }
}

into_future!(ReceiverCheck);

/// The conformance check of a processor: see [`processor`].
#[must_use = "a check does nothing until awaited"]
pub struct ProcessorCheck<'a> {
    factory: &'a dyn ProcessorFactory,
    config: Value,
    configs: Configs,
}

/// Checks a processor factory. The processor hands data to a [`RecordingConsumer`].
pub fn processor(factory: &dyn ProcessorFactory) -> ProcessorCheck<'_> {
    ProcessorCheck {
        factory,
        config: Value::Null,
        configs: Configs::new("processor"),
    }
}

impl<'a> ProcessorCheck<'a> {
    /// The config to build with (default `null`).
    pub fn config(mut self, config: Value) -> Self {
        self.config = config;
        self
    }

    /// Declares that the default config is invalid, with problems at exactly these
    /// key paths (`""` for the config as a whole).
    pub fn default_config_rejected(mut self, paths: &[&str]) -> Self {
        self.configs.default_rejected = Some(paths.iter().map(|p| p.to_string()).collect());
        self
    }

    /// How long each call into the component (and each wait for a metric) may take
    /// (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.configs.timeout = timeout;
        self
    }

    /// Runs the check (what `.await` on the check does).
    pub async fn run(self) {
        let info: &dyn FactoryInfo = self.factory;
        let label = self.configs.label(info);
        let t = self.configs.timeout;
        let unknown = self.configs.check(info, &self.config);
        let signals = signals_of(info);
        assert!(
            !signals.is_empty(),
            "{label}: a processor must support a signal"
        );
        let registry = Registry::new();
        let sink = RecordingConsumer::new();
        let build = |raw: Value| {
            let ctx = context(info, signals.clone(), &registry);
            let next: BoxConsumer = sink.boxed();
            async move { self.factory.build(ctx, &raw, next).await }
        };
        assert_build_rejects(&label, build(unknown).await);
        let first = build_failed(&label, "first", build(self.config.clone()).await);
        start_work_stop(&label, t, first.as_ref(), || async {}).await;
        let second = build_failed(&label, "second", build(self.config.clone()).await);
        stop_unstarted(&label, t, second.as_ref()).await;
        let third = build_failed(&label, "third", build(self.config.clone()).await);
        restart(&label, t, third.as_ref()).await;
    }
}

into_future!(ProcessorCheck);

/// Where an exporter under check sends.
enum Destination<'a> {
    None,
    Http {
        make: MakeConfig<'a>,
        /// The answers meaning success and permanent failure.
        answers: Box<(Response, Response)>,
    },
    Grpc(MakeConfig<'a>),
}

/// A running destination.
enum Running {
    None,
    Http(RecordingHttpServer, Response),
    Grpc(OtlpGrpcSink),
}

impl Running {
    fn requests(&self) -> usize {
        match self {
            Running::None => 0,
            Running::Http(s, _) => s.request_count(),
            Running::Grpc(s) => s.request_count(),
        }
    }

    fn fail_from_now_on(&self) {
        match self {
            Running::None => {}
            Running::Http(s, fail) => s.set_default(fail.clone()),
            Running::Grpc(s) => s.set_default(Reply::status(
                tonic::Code::InvalidArgument,
                "stratus conformance check: permanent failure",
            )),
        }
    }
}

/// The conformance check of an exporter: see [`exporter`].
#[must_use = "a check does nothing until awaited"]
pub struct ExporterCheck<'a> {
    factory: &'a dyn ExporterFactory,
    config: Value,
    configs: Configs,
    destination: Destination<'a>,
}

/// Checks an exporter factory. Exporters that send somewhere get their config from
/// [`ExporterCheck::http_destination`] or [`ExporterCheck::grpc_destination`], and
/// are checked on success and on permanent failure; others (`nop`, `debug`, `file`)
/// are checked on success only.
pub fn exporter(factory: &dyn ExporterFactory) -> ExporterCheck<'_> {
    ExporterCheck {
        factory,
        config: Value::Null,
        configs: Configs::new("exporter"),
        destination: Destination::None,
    }
}

impl<'a> ExporterCheck<'a> {
    /// The config to build with, for exporters without a destination (default
    /// `null`).
    pub fn config(mut self, config: Value) -> Self {
        self.config = config;
        self
    }

    /// Declares that the default config is invalid, with problems at exactly these
    /// key paths (`""` for the config as a whole).
    pub fn default_config_rejected(mut self, paths: &[&str]) -> Self {
        self.configs.default_rejected = Some(paths.iter().map(|p| p.to_string()).collect());
        self
    }

    /// How long each call into the component (and each wait for a metric) may take
    /// (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.configs.timeout = timeout;
        self
    }

    /// Sends to a [`RecordingHttpServer`] the check starts: `make` turns its URL
    /// (`http://127.0.0.1:<port>`, no trailing slash) into the exporter's config. The
    /// server answers `200` (empty), then `400` to check the failure metric.
    pub fn http_destination(mut self, make: impl Fn(&str) -> Value + Send + Sync + 'a) -> Self {
        self.destination = Destination::Http {
            make: Box::new(make),
            answers: Box::new((Response::ok(), Response::status(400))),
        };
        self
    }

    /// With [`ExporterCheck::http_destination`]: the server's answers meaning success
    /// and permanent failure for this exporter's destination, instead of `200` and
    /// `400`.
    pub fn http_answers(mut self, success: Response, permanent_failure: Response) -> Self {
        if let Destination::Http { answers, .. } = &mut self.destination {
            **answers = (success, permanent_failure);
        } else {
            panic!("http_answers needs http_destination first");
        }
        self
    }

    /// Sends to an [`OtlpGrpcSink`] the check starts: `make` turns its URL
    /// (`http://127.0.0.1:<port>`) into the exporter's config. The sink answers OK,
    /// then `InvalidArgument` to check the failure metric.
    pub fn grpc_destination(mut self, make: impl Fn(&str) -> Value + Send + Sync + 'a) -> Self {
        self.destination = Destination::Grpc(Box::new(make));
        self
    }

    /// Runs the check (what `.await` on the check does).
    pub async fn run(self) {
        let info: &dyn FactoryInfo = self.factory;
        let label = self.configs.label(info);
        let t = self.configs.timeout;
        let (running, config) = match self.destination {
            Destination::None => (Running::None, self.config),
            Destination::Http { make, answers } => {
                let (ok, fail) = *answers;
                let server = RecordingHttpServer::start().await;
                server.set_default(ok);
                let config = make(&server.url());
                (Running::Http(server, fail), config)
            }
            Destination::Grpc(make) => {
                let sink = OtlpGrpcSink::start().await;
                let config = make(&sink.url());
                (Running::Grpc(sink), config)
            }
        };
        let unknown = self.configs.check(info, &config);
        let signals = signals_of(info);
        assert!(
            !signals.is_empty(),
            "{label}: an exporter must support a signal"
        );
        let registry = Registry::new();
        let build = |raw: Value| {
            let ctx = context(info, signals.clone(), &registry);
            async move { self.factory.build(ctx, &raw).await }
        };
        assert_build_rejects(&label, build(unknown).await);
        let first = build_failed(&label, "first", build(config.clone()).await);
        let id = format!("{}/conformance", info.type_name());
        let value = |what: &str, s: Signal| {
            metric_value(
                &registry,
                &format!("otelcol_exporter_{what}_{}", s.item_name()),
                &[("exporter", &id)],
            )
        };
        let exporter = first.clone();
        start_work_stop(&label, t, first.as_ref(), || async {
            for s in &signals {
                if let Err(e) = within(
                    &format!("{label}: consume"),
                    t,
                    exporter.consume(sample(*s, ITEMS)),
                )
                .await
                {
                    panic!("{label}: a batch of {s} was refused while the destination accepts: {e}");
                }
            }
            for s in &signals {
                let what = format!("{label}: otelcol_exporter_sent_{} to count the batch", s.item_name());
                wait_until(&what, t, || value("sent", *s) >= ITEMS as f64).await;
                assert_eq!(value("sent", *s), ITEMS as f64, "{label}: sent {s} counted once");
                assert_eq!(value("send_failed", *s), 0.0, "{label}: {s} sent without failure");
            }
            if matches!(running, Running::None) {
                return;
            }
            assert!(
                running.requests() >= signals.len(),
                "{label}: the destination saw {} requests for {} batches",
                running.requests(),
                signals.len()
            );
            if let Running::Http(server, _) = &running {
                for r in server.requests() {
                    assert_eq!(
                        r.body_error, None,
                        "{label}: the body of {} {} does not decode as its Content-Encoding says",
                        r.method, r.path
                    );
                }
            }
            running.fail_from_now_on();
            for s in &signals {
                let result = within(
                    &format!("{label}: consume"),
                    t,
                    exporter.consume(sample(*s, ITEMS)),
                )
                .await;
                if let Err(e) = result {
                    assert!(
                        e.is_permanent(),
                        "{label}: a permanent refusal by the destination came back retryable: {e}"
                    );
                }
            }
            for s in &signals {
                let what = format!(
                    "{label}: otelcol_exporter_send_failed_{} to count the permanently refused batch",
                    s.item_name()
                );
                wait_until(&what, t, || value("send_failed", *s) >= ITEMS as f64)
                    .await;
                assert_eq!(value("send_failed", *s), ITEMS as f64, "{label}: failed {s} counted once");
                assert_eq!(value("sent", *s), ITEMS as f64, "{label}: a refused {s} batch counted as sent");
            }
        })
        .await;
        running.fail_from_now_on();
        let second = build_failed(&label, "second", build(config.clone()).await);
        stop_unstarted(&label, t, second.as_ref()).await;
        let third = build_failed(&label, "third", build(config.clone()).await);
        restart(&label, t, third.as_ref()).await;
    }
}

into_future!(ExporterCheck);

/// The conformance check of an extension: see [`extension`].
#[must_use = "a check does nothing until awaited"]
pub struct ExtensionCheck<'a> {
    factory: &'a dyn ExtensionFactory,
    config: Value,
    configs: Configs,
}

/// Checks an extension factory. Extensions that bind a port or own a directory need
/// a config with a free port ([`crate::net::free_endpoint`]) or a temporary
/// directory: give it with [`ExtensionCheck::config`].
pub fn extension(factory: &dyn ExtensionFactory) -> ExtensionCheck<'_> {
    ExtensionCheck {
        factory,
        config: Value::Null,
        configs: Configs::new("extension"),
    }
}

impl<'a> ExtensionCheck<'a> {
    /// The config to build with (default `null`).
    pub fn config(mut self, config: Value) -> Self {
        self.config = config;
        self
    }

    /// Declares that the default config is invalid, with problems at exactly these
    /// key paths (`""` for the config as a whole).
    pub fn default_config_rejected(mut self, paths: &[&str]) -> Self {
        self.configs.default_rejected = Some(paths.iter().map(|p| p.to_string()).collect());
        self
    }

    /// How long each call into the component (and each wait for a metric) may take
    /// (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.configs.timeout = timeout;
        self
    }

    /// Runs the check (what `.await` on the check does).
    pub async fn run(self) {
        let info: &dyn FactoryInfo = self.factory;
        let label = self.configs.label(info);
        let t = self.configs.timeout;
        let unknown = self.configs.check(info, &self.config);
        assert!(
            info.signals().is_empty(),
            "{label}: an extension carries no signal, but lists {:?}",
            info.signals()
        );
        let registry = Registry::new();
        let build = |raw: Value| {
            let ctx = context(info, Vec::new(), &registry);
            async move { self.factory.build(ctx, &raw).await }
        };
        assert_build_rejects(&label, build(unknown).await);
        let first = build_failed(&label, "first", build(self.config.clone()).await);
        start_work_stop(&label, t, first.as_ref(), || async {}).await;
        let second = build_failed(&label, "second", build(self.config.clone()).await);
        stop_unstarted(&label, t, second.as_ref()).await;
        let third = build_failed(&label, "third", build(self.config.clone()).await);
        restart(&label, t, third.as_ref()).await;
    }
}

into_future!(ExtensionCheck);

/// The conformance check of a connector: see [`connector`].
#[must_use = "a check does nothing until awaited"]
pub struct ConnectorCheck<'a> {
    factory: &'a dyn ConnectorFactory,
    config: RouteConfig<'a>,
    configs: Configs,
}

/// Checks a connector factory, route by route. For each (from, to) route the
/// connector is built for the pipelines its config refers to
/// ([`FactoryInfo::pipeline_references`]), or for one pipeline `<to>/conformance`
/// when it refers to none; each pipeline's head is a [`RecordingConsumer`].
pub fn connector(factory: &dyn ConnectorFactory) -> ConnectorCheck<'_> {
    ConnectorCheck {
        factory,
        config: Box::new(|_| Value::Null),
        configs: Configs::new("connector"),
    }
}

impl<'a> ConnectorCheck<'a> {
    /// The config to build every route with (default `null`).
    pub fn config(mut self, config: Value) -> Self {
        self.config = Box::new(move |_| config.clone());
        self
    }

    /// The config for the route that hands data on as signal `to`, for connectors
    /// whose config names pipelines of that signal.
    pub fn config_for(mut self, make: impl Fn(Signal) -> Value + Send + Sync + 'a) -> Self {
        self.config = Box::new(make);
        self
    }

    /// Declares that the default config is invalid, with problems at exactly these
    /// key paths (`""` for the config as a whole).
    pub fn default_config_rejected(mut self, paths: &[&str]) -> Self {
        self.configs.default_rejected = Some(paths.iter().map(|p| p.to_string()).collect());
        self
    }

    /// How long each call into the component (and each wait for a metric) may take
    /// (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.configs.timeout = timeout;
        self
    }

    /// Runs the check (what `.await` on the check does).
    pub async fn run(self) {
        let info: &dyn FactoryInfo = self.factory;
        let label = self.configs.label(info);
        let t = self.configs.timeout;
        let routes = self.factory.routes();
        assert!(!routes.is_empty(), "{label}: a connector must list a route");
        for (i, (from, to, _)) in routes.iter().enumerate() {
            assert!(
                info.supports(*from) && info.supports(*to),
                "{label}: route {from} -> {to} uses a signal missing from signals() {:?}",
                info.signals()
            );
            assert!(
                !routes[..i].iter().any(|(f, t, _)| f == from && t == to),
                "{label}: route {from} -> {to} is listed twice"
            );
        }
        let registry = Registry::new();
        for (from, to, _) in routes {
            let label = format!("{label}, route {from} -> {to}");
            let config = (self.config)(*to);
            let unknown = self.configs.check(info, &config);
            let mut ids: Vec<String> = Vec::new();
            for (_, id) in info.pipeline_references(&config) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            if ids.is_empty() {
                ids.push(format!("{to}/conformance"));
            }
            let pipelines: Vec<(String, BoxConsumer)> = ids
                .iter()
                .map(|id| (id.clone(), RecordingConsumer::new().boxed()))
                .collect();
            let build = |raw: Value| {
                let ctx = context(info, vec![*from], &registry);
                let pipelines = pipelines.clone();
                async move { self.factory.build(ctx, &raw, *from, *to, pipelines).await }
            };
            assert_build_rejects(&label, build(unknown).await);
            let first = build_failed(&label, "first", build(config.clone()).await);
            start_work_stop(&label, t, first.as_ref(), || async {}).await;
            let second = build_failed(&label, "second", build(config.clone()).await);
            stop_unstarted(&label, t, second.as_ref()).await;
            let third = build_failed(&label, "third", build(config.clone()).await);
            restart(&label, t, third.as_ref()).await;
        }
    }
}

into_future!(ConnectorCheck);

#[cfg(test)]
mod tests;
