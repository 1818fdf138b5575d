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
use std::sync::Arc;
use std::time::Duration;
use stratus_core::factory::{
    BuildContext, ConnectorFactory, Exporter, ExporterFactory, ExtensionFactory, FactoryInfo,
    ProcessorFactory, ReceiverFactory, SignalConsumers,
};
use stratus_core::telemetry::Registry;
use stratus_core::{BoxConsumer, Component, ComponentError, ComponentId, Host, Signal};

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

    /// Checks the default config, `config`, and `config` with an unknown key; returns
    /// the component's label and that last config.
    fn check(&self, info: &dyn FactoryInfo, config: &Value) -> (String, Value) {
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
        (label, unknown)
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

/// A component whose configs passed [`Configs::check`]: what building and running
/// its instances needs.
struct Subject<'s> {
    info: &'s dyn FactoryInfo,
    label: String,
    timeout: Duration,
    /// `config` with [`UNKNOWN_KEY`] added, which build must refuse.
    unknown: Value,
    config: Value,
    /// The signals of the pipelines it is built for.
    signals: Vec<Signal>,
    registry: Registry,
}

impl Configs {
    /// Checks the configs and returns the component to build on `config`, for every
    /// signal it supports.
    fn subject<'s>(&self, info: &'s dyn FactoryInfo, config: Value) -> Subject<'s> {
        let (label, unknown) = self.check(info, &config);
        Subject {
            info,
            label,
            timeout: self.timeout,
            unknown,
            config,
            signals: info.signals().iter().map(|(s, _)| *s).collect(),
            registry: Registry::new(),
        }
    }
}

impl Subject<'_> {
    /// Asserts that the component, `kind` (`a receiver`), supports a signal.
    fn require_signals(&self, kind: &str) {
        assert!(
            !self.signals.is_empty(),
            "{}: {kind} must support a signal",
            self.label
        );
    }

    /// Starts `c`, runs `work`, then shuts `c` down twice.
    async fn start_work_stop<C>(&self, label: &str, c: &C, work: impl Future<Output = ()>)
    where
        C: Component + ?Sized,
    {
        let (host, t) = (Host::ready(), self.timeout);
        if let Err(e) = within(&format!("{label}: start"), t, c.start(&host)).await {
            panic!("{label}: start failed: {e}");
        }
        work.await;
        for attempt in ["shutdown", "a second shutdown"] {
            if let Err(e) = within(&format!("{label}: {attempt}"), t, c.shutdown()).await {
                panic!("{label}: {attempt} failed (shutdown must be idempotent): {e}");
            }
        }
    }

    /// Checks the instances `build` makes from a context (id `<type>/conformance`)
    /// and a config: it refuses `unknown`; on `config`, a first instance starts, runs
    /// `work` and shuts down twice, a second shuts down without having started, and a
    /// third starts and shuts down (what the first held was released).
    async fn instances<C, B, F, W, WF>(&self, build: B, work: W)
    where
        C: Component + ?Sized,
        B: Fn(BuildContext, Value) -> F,
        F: Future<Output = Result<Arc<C>, ComponentError>>,
        W: FnOnce(Arc<C>) -> WF,
        WF: Future<Output = ()>,
    {
        let label = &self.label;
        let built = |raw: Value| {
            let id = ComponentId::with_name(self.info.type_name(), "conformance");
            build(
                BuildContext::new(id, self.signals.clone(), self.registry.clone()),
                raw,
            )
        };
        if built(self.unknown.clone()).await.is_ok() {
            panic!(
                "{label}: build accepts a config with the unknown key `{UNKNOWN_KEY}` that \
                 check_config rejects"
            );
        }
        let instance = async |step: &str| {
            let r = built(self.config.clone()).await;
            r.unwrap_or_else(|e| panic!("{label}: build ({step}) failed: {e}"))
        };
        let first = instance("first").await;
        self.start_work_stop(label, first.as_ref(), work(first.clone()))
            .await;
        let second = instance("second").await;
        let what = format!("{label}: shutdown without start");
        if let Err(e) = within(&what, self.timeout, second.shutdown()).await {
            panic!("{label}: shutdown without start failed (it must be safe): {e}");
        }
        let third = instance("third").await;
        let label = format!("{label} (a new instance after the first shut down)");
        self.start_work_stop(&label, third.as_ref(), async {}).await;
    }
}

/// Defines a check: its struct (the factory, `config`, the [`Configs`] and any other
/// fields, each with its initial value), its entry point, the `config` option when
/// documented, the options every check has, and awaiting it.
macro_rules! check {
    (
        $(#[$struct_doc:meta])*
        pub struct $check:ident { $($field:ident: $ty:ty = $init:expr),* }
        $(#[$fn_doc:meta])*
        pub fn $kind:ident(&dyn $factory:ident);
        $($(#[$config_doc:meta])+ fn config;)?
    ) => {
        $(#[$struct_doc])*
        #[must_use = "a check does nothing until awaited"]
        pub struct $check<'a> {
            factory: &'a dyn $factory,
            configs: Configs,
            $($field: $ty,)*
        }

        $(#[$fn_doc])*
        pub fn $kind(factory: &dyn $factory) -> $check<'_> {
            $check {
                factory,
                configs: Configs::new(stringify!($kind)),
                $($field: $init,)*
            }
        }

        impl $check<'_> {
            $(
                $(#[$config_doc])+
                pub fn config(mut self, config: Value) -> Self {
                    self.config = config;
                    self
                }
            )?

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
        }

        impl<'a> IntoFuture for $check<'a> {
            type Output = ();
            type IntoFuture = CheckFuture<'a>;
            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.run())
            }
        }
    };
}

check! {
    /// The conformance check of a receiver: see [`receiver`].
    pub struct ReceiverCheck { config: Value = Value::Null }
    /// Checks a receiver factory. Its config usually needs endpoints on free ports
    /// ([`crate::net::free_endpoint`]): give it with [`ReceiverCheck::config`]. The
    /// receiver delivers to a [`RecordingConsumer`] for every signal it supports.
    pub fn receiver(&dyn ReceiverFactory);
    /// The config to build with (default `null`).
    fn config;
}

impl ReceiverCheck<'_> {
    /// Runs the check (what `.await` on the check does).
    pub async fn run(self) {
        let it = self.configs.subject(self.factory, self.config);
        it.require_signals("a receiver");
        let sink = RecordingConsumer::new();
        let mut next = SignalConsumers::default();
        for s in &it.signals {
            next.set(*s, sink.boxed());
        }
        let build = |ctx, raw: Value| {
            let next = next.clone();
            async move { self.factory.build(ctx, &raw, next).await }
        };
        it.instances(build, |_| async {}).await;
    }
}

check! {
    /// The conformance check of a processor: see [`processor`].
    pub struct ProcessorCheck { config: Value = Value::Null }
    /// Checks a processor factory. The processor hands data to a [`RecordingConsumer`].
    pub fn processor(&dyn ProcessorFactory);
    /// The config to build with (default `null`).
    fn config;
}

impl ProcessorCheck<'_> {
    /// Runs the check (what `.await` on the check does).
    pub async fn run(self) {
        let it = self.configs.subject(self.factory, self.config);
        it.require_signals("a processor");
        let sink = RecordingConsumer::new();
        let build = |ctx, raw: Value| {
            let next: BoxConsumer = sink.boxed();
            async move { self.factory.build(ctx, &raw, next).await }
        };
        it.instances(build, |_| async {}).await;
    }
}

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

check! {
    /// The conformance check of an exporter: see [`exporter`].
    pub struct ExporterCheck {
        config: Value = Value::Null,
        destination: Destination<'a> = Destination::None
    }
    /// Checks an exporter factory. Exporters that send somewhere get their config from
    /// [`ExporterCheck::http_destination`] or [`ExporterCheck::grpc_destination`], and
    /// are checked on success and on permanent failure; others (`nop`, `debug`, `file`)
    /// are checked on success only.
    pub fn exporter(&dyn ExporterFactory);
    /// The config to build with, for exporters without a destination (default
    /// `null`).
    fn config;
}

impl<'a> ExporterCheck<'a> {
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
        let it = self.configs.subject(self.factory, config);
        it.require_signals("an exporter");
        let build = |ctx, raw: Value| async move { self.factory.build(ctx, &raw).await };
        let id = format!("{}/conformance", it.info.type_name());
        let value = |what: &str, s: Signal| {
            metric_value(
                &it.registry,
                &format!("otelcol_exporter_{what}_{}", s.item_name()),
                &[("exporter", &id)],
            )
        };
        let (label, signals, t) = (&it.label, &it.signals, it.timeout);
        let (running, value) = (&running, &value);
        it.instances(build, |exporter: Arc<dyn Exporter>| async move {
            for s in signals {
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
            for s in signals {
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
            if let Running::Http(server, _) = running {
                for r in server.requests() {
                    assert_eq!(
                        r.body_error, None,
                        "{label}: the body of {} {} does not decode as its Content-Encoding says",
                        r.method, r.path
                    );
                }
            }
            running.fail_from_now_on();
            for s in signals {
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
            for s in signals {
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
    }
}

check! {
    /// The conformance check of an extension: see [`extension`].
    pub struct ExtensionCheck { config: Value = Value::Null }
    /// Checks an extension factory. Extensions that bind a port or own a directory need
    /// a config with a free port ([`crate::net::free_endpoint`]) or a temporary
    /// directory: give it with [`ExtensionCheck::config`].
    pub fn extension(&dyn ExtensionFactory);
    /// The config to build with (default `null`).
    fn config;
}

impl ExtensionCheck<'_> {
    /// Runs the check (what `.await` on the check does).
    pub async fn run(self) {
        let it = self.configs.subject(self.factory, self.config);
        assert!(
            it.signals.is_empty(),
            "{}: an extension carries no signal, but lists {:?}",
            it.label,
            it.info.signals()
        );
        let build = |ctx, raw: Value| async move { self.factory.build(ctx, &raw).await };
        it.instances(build, |_| async {}).await;
    }
}

check! {
    /// The conformance check of a connector: see [`connector`].
    pub struct ConnectorCheck { config: RouteConfig<'a> = Box::new(|_| Value::Null) }
    /// Checks a connector factory, route by route. For each (from, to) route the
    /// connector is built for the pipelines its config refers to
    /// ([`FactoryInfo::pipeline_references`]), or for one pipeline `<to>/conformance`
    /// when it refers to none; each pipeline's head is a [`RecordingConsumer`].
    pub fn connector(&dyn ConnectorFactory);
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

    /// Runs the check (what `.await` on the check does).
    pub async fn run(self) {
        let info: &dyn FactoryInfo = self.factory;
        let label = self.configs.label(info);
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
            let it = Subject {
                label: format!("{label}, route {from} -> {to}"),
                signals: vec![*from],
                registry: registry.clone(),
                ..self.configs.subject(info, (self.config)(*to))
            };
            let mut ids: Vec<String> = Vec::new();
            for (_, id) in info.pipeline_references(&it.config) {
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
            let build = |ctx, raw: Value| {
                let pipelines = pipelines.clone();
                async move { self.factory.build(ctx, &raw, *from, *to, pipelines).await }
            };
            it.instances(build, |_| async {}).await;
        }
    }
}

#[cfg(test)]
mod tests;
