//! Component factories: one per component type and kind.
//!
//! A component declares itself once, with [`Factory`]: its type name (and the older
//! names upstream still accepts), its config type and the signals it supports. It
//! then implements the one build trait of its kind ([`BuildReceiver`],
//! [`BuildProcessor`], [`BuildExporter`], [`BuildExtension`] or [`BuildConnector`]),
//! whose `create` receives the config already decoded and validated. Everything else
//! comes for free through blanket impls: [`FactoryInfo`] (`check_config` with key
//! paths for `stratus validate`) and the object-safe [`ReceiverFactory`] family the
//! pipeline builds from.
//!
//! ```
//! use std::sync::Arc;
//! use async_trait::async_trait;
//! use serde::Deserialize;
//! use stratus_core::factory::{
//!     BuildContext, BuildExporter, Exporter, Factory, Stability, Validate, ALL_SIGNALS_BETA,
//! };
//! use stratus_core::{Component, ComponentError, ConsumeError, Consumer, Telemetry};
//!
//! /// The `drop` exporter's config: no keys.
//! #[derive(Debug, Default, Deserialize)]
//! #[serde(deny_unknown_fields, default)]
//! pub struct DropConfig {}
//! impl Validate for DropConfig {}
//!
//! /// Builds `drop` exporters.
//! pub struct DropFactory;
//!
//! impl Factory for DropFactory {
//!     type Config = DropConfig;
//!     const TYPE: &'static str = "drop";
//!     const SIGNALS: &'static [(stratus_core::Signal, Stability)] = ALL_SIGNALS_BETA;
//! }
//!
//! #[async_trait]
//! impl BuildExporter for DropFactory {
//!     async fn create(
//!         &self,
//!         _ctx: BuildContext,
//!         _config: DropConfig,
//!     ) -> Result<Arc<dyn Exporter>, ComponentError> {
//!         Ok(Arc::new(Drop))
//!     }
//! }
//!
//! struct Drop;
//! #[async_trait]
//! impl Consumer for Drop {
//!     async fn consume(&self, _data: Telemetry) -> Result<(), ConsumeError> {
//!         Ok(())
//!     }
//! }
//! impl Component for Drop {}
//! ```
//!
//! Configs arrive as a [`serde_json::Value`] subtree of the YAML document;
//! [`decode_config`] turns one into the component's typed config, reporting every
//! problem with its key path.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::{ClientAuthenticator, ServerAuthenticator};
use crate::component::Component;
use crate::consumer::{BoxConsumer, Consumer};
use crate::error::ComponentError;
use crate::id::{ComponentId, Kind};
use crate::signal::Signal;
use crate::storage::StorageProvider;
use crate::telemetry::Registry;

/// How mature a component is for a signal, as the collector rates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stability {
    /// Not for production; may change or go away.
    Development,
    /// Works; config may still change.
    Alpha,
    /// Works; config changes are announced.
    Beta,
    /// Works; config is stable.
    Stable,
    /// Will be removed.
    Deprecated,
}

impl fmt::Display for Stability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stability::Development => "development",
            Stability::Alpha => "alpha",
            Stability::Beta => "beta",
            Stability::Stable => "stable",
            Stability::Deprecated => "deprecated",
        })
    }
}

/// One problem in a component's config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Key path inside the component's config, segments joined by `::`
    /// (`protocols::grpc::endpoint`); empty for the config as a whole.
    pub path: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl ConfigProblem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A config's own checks, beyond what its types enforce. Pure: no I/O.
pub trait Validate {
    /// Every problem found, empty when the config is valid.
    fn validate(&self) -> Vec<ConfigProblem> {
        Vec::new()
    }
}

/// Decodes a component config from its YAML subtree and validates it. `null` (a
/// component listed with no body, `debug:`) is the default config.
pub fn decode_config<C>(raw: &Value) -> Result<C, Vec<ConfigProblem>>
where
    C: DeserializeOwned + Default + Validate,
{
    let config: C = if raw.is_null() {
        C::default()
    } else {
        serde_path_to_error::deserialize(raw).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." {
                String::new()
            } else {
                path.replace('.', "::")
            };
            vec![ConfigProblem::new(path, e.into_inner().to_string())]
        })?
    };
    let problems = config.validate();
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems)
    }
}

/// Decodes a config at build time, where problems are a [`ComponentError`] listing each
/// one with its path. (`stratus validate` and startup report them before this runs;
/// this covers direct callers.)
pub fn config_for_build<C>(raw: &Value) -> Result<C, ComponentError>
where
    C: DeserializeOwned + Default + Validate,
{
    decode_config(raw).map_err(|problems| {
        let details: Vec<String> = problems
            .iter()
            .map(|p| {
                if p.path.is_empty() {
                    p.message.clone()
                } else {
                    format!("{}: {}", p.path, p.message)
                }
            })
            .collect();
        ComponentError::new(format!("invalid config: {}", details.join("; ")))
    })
}

/// What a component is given at build time. Built with [`BuildContext::new`]; more
/// host services join it as stratus grows, so it cannot be written as a literal.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BuildContext {
    /// The component's id.
    pub id: ComponentId,
    /// The signals of the pipelines the component is used in.
    pub signals: Vec<Signal>,
    /// Where the component registers its internal metrics.
    pub telemetry: Registry,
    /// The storage extensions running in this collector, by id.
    pub storages: BTreeMap<ComponentId, Arc<dyn StorageProvider>>,
    /// The authenticator extensions running in this collector, by id.
    pub authenticators: BTreeMap<ComponentId, Authenticators>,
}

/// What one authenticator extension offers: a server side (receivers check clients
/// with it), a client side (exporters add credentials with it), or both
/// (`bearertokenauth`).
#[derive(Clone, Debug, Default)]
pub struct Authenticators {
    /// Checks incoming requests.
    pub server: Option<Arc<dyn ServerAuthenticator>>,
    /// Adds credentials to outgoing requests.
    pub client: Option<Arc<dyn ClientAuthenticator>>,
}

impl BuildContext {
    /// The context for building component `id`, used in pipelines of `signals`.
    pub fn new(id: ComponentId, signals: Vec<Signal>, telemetry: Registry) -> Self {
        BuildContext {
            id,
            signals,
            telemetry,
            storages: BTreeMap::new(),
            authenticators: BTreeMap::new(),
        }
    }

    /// The same context with the authenticator extensions of the running collector.
    pub fn with_authenticators(
        mut self,
        authenticators: BTreeMap<ComponentId, Authenticators>,
    ) -> Self {
        self.authenticators = authenticators;
        self
    }

    /// The server authenticator `id` names (a receiver's `auth.authenticator`, found
    /// at key path `key` of its config). Fails with a message naming the key when the
    /// extension is not enabled in `service::extensions` or cannot check clients.
    pub fn server_authenticator(
        &self,
        key: &str,
        id: &str,
    ) -> Result<Arc<dyn ServerAuthenticator>, ComponentError> {
        self.authenticator(key, id)?.server.clone().ok_or_else(|| {
            ComponentError::new(format!(
                "{key}: extension `{id}` cannot authenticate incoming requests \
                 (it is a client-side authenticator)"
            ))
        })
    }

    /// The client authenticator `id` names (an exporter's `auth.authenticator`, found
    /// at key path `key` of its config). Fails with a message naming the key when the
    /// extension is not enabled in `service::extensions` or cannot add credentials.
    pub fn client_authenticator(
        &self,
        key: &str,
        id: &str,
    ) -> Result<Arc<dyn ClientAuthenticator>, ComponentError> {
        self.authenticator(key, id)?.client.clone().ok_or_else(|| {
            ComponentError::new(format!(
                "{key}: extension `{id}` cannot add credentials to outgoing requests \
                 (it is a server-side authenticator)"
            ))
        })
    }

    fn authenticator(&self, key: &str, id: &str) -> Result<&Authenticators, ComponentError> {
        let not_enabled = || {
            ComponentError::new(format!(
                "{key}: `{id}` is not an authenticator extension enabled in \
                 service::extensions"
            ))
        };
        let aid: ComponentId = id.parse().map_err(|_| not_enabled())?;
        self.authenticators.get(&aid).ok_or_else(not_enabled)
    }

    /// The same context with the storage extensions of the running collector.
    pub fn with_storages(
        mut self,
        storages: BTreeMap<ComponentId, Arc<dyn StorageProvider>>,
    ) -> Self {
        self.storages = storages;
        self
    }
}

/// The next consumer of a receiver, per signal; `None` for signals no pipeline
/// takes from it.
#[derive(Clone, Default)]
pub struct SignalConsumers {
    /// Where received spans go.
    pub traces: Option<BoxConsumer>,
    /// Where received metrics go.
    pub metrics: Option<BoxConsumer>,
    /// Where received logs go.
    pub logs: Option<BoxConsumer>,
}

impl SignalConsumers {
    /// The consumer for `signal`.
    pub fn get(&self, signal: Signal) -> Option<&BoxConsumer> {
        match signal {
            Signal::Traces => self.traces.as_ref(),
            Signal::Metrics => self.metrics.as_ref(),
            Signal::Logs => self.logs.as_ref(),
        }
    }

    /// Sets the consumer for `signal`.
    pub fn set(&mut self, signal: Signal, consumer: BoxConsumer) {
        match signal {
            Signal::Traces => self.traces = Some(consumer),
            Signal::Metrics => self.metrics = Some(consumer),
            Signal::Logs => self.logs = Some(consumer),
        }
    }
}

/// A running processor: a consumer with a lifecycle.
pub trait Processor: Consumer + Component {}
impl<T: Consumer + Component> Processor for T {}

/// A running exporter: a consumer with a lifecycle.
pub trait Exporter: Consumer + Component {}
impl<T: Consumer + Component> Exporter for T {}

/// What every factory tells about itself.
pub trait FactoryInfo: Send + Sync {
    /// The component type, the `otlp_grpc` of `otlp_grpc/name`.
    fn type_name(&self) -> &'static str;

    /// Older type names upstream still accepts for this component (`otlp` for
    /// `otlp_grpc`); configs may use either. Default: none.
    fn deprecated_types(&self) -> &'static [&'static str] {
        &[]
    }

    /// The signals the component supports, with its stability for each. Extensions
    /// have none.
    fn signals(&self) -> &'static [(Signal, Stability)];

    /// Checks a config without side effects.
    fn check_config(&self, raw: &Value) -> Result<(), Vec<ConfigProblem>>;

    /// Pipeline ids the config refers to, each with its key path inside the config
    /// (a failover connector's `priority_levels::0::0`), so `stratus validate` can check
    /// them against the pipelines before anything runs. Default: none.
    fn pipeline_references(&self, _raw: &Value) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Extension ids the config refers to (`auth::authenticator`), each with its key
    /// path inside the config, so `stratus validate` can check that each is enabled
    /// in `service::extensions` before anything runs. Default: none.
    fn extension_references(&self, _raw: &Value) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Warnings about what the config leaves open: a receiver that listens beyond
    /// loopback with neither TLS nor authentication (see [`exposure_warning`]).
    /// `stratus validate` prints them and `stratus` logs them at start; they never
    /// reject a config. Paths are inside the component's config. Default: none.
    fn exposure_warnings(&self, _raw: &Value) -> Vec<ConfigProblem> {
        Vec::new()
    }

    /// Whether the component supports `signal`.
    fn supports(&self, signal: Signal) -> bool {
        self.signals().iter().any(|(s, _)| *s == signal)
    }
}

/// Builds receivers of one type.
#[async_trait]
pub trait ReceiverFactory: FactoryInfo {
    /// Builds one receiver instance, shared by every pipeline that lists it.
    async fn build(
        &self,
        ctx: BuildContext,
        raw: &Value,
        next: SignalConsumers,
    ) -> Result<Arc<dyn Component>, ComponentError>;
}

/// Builds processors of one type.
#[async_trait]
pub trait ProcessorFactory: FactoryInfo {
    /// Builds one processor instance for one pipeline.
    async fn build(
        &self,
        ctx: BuildContext,
        raw: &Value,
        next: BoxConsumer,
    ) -> Result<Arc<dyn Processor>, ComponentError>;
}

/// Builds exporters of one type.
#[async_trait]
pub trait ExporterFactory: FactoryInfo {
    /// Builds one exporter instance, shared by every pipeline that lists it.
    async fn build(
        &self,
        ctx: BuildContext,
        raw: &Value,
    ) -> Result<Arc<dyn Exporter>, ComponentError>;
}

/// A running extension: a component that may offer services to other components.
pub trait Extension: Component {
    /// The storage this extension provides, if it is a storage extension
    /// (`file_storage`): what `sending_queue.storage` refers to.
    fn storage(&self) -> Option<Arc<dyn StorageProvider>> {
        None
    }

    /// The authenticators this extension offers, if it is an authenticator
    /// (`bearertokenauth`, `basicauth`, `oidc`, `oauth2client`): what
    /// `auth.authenticator` refers to.
    fn authenticators(&self) -> Option<Authenticators> {
        None
    }
}

/// Builds extensions of one type.
#[async_trait]
pub trait ExtensionFactory: FactoryInfo {
    /// Builds the extension.
    async fn build(
        &self,
        ctx: BuildContext,
        raw: &Value,
    ) -> Result<Arc<dyn Extension>, ComponentError>;
}

/// Builds connectors of one type. A connector is an exporter of one pipeline and a
/// receiver of others: it takes data of signal `from` and hands it, as signal `to`, to
/// the pipelines that list it as a receiver.
#[async_trait]
pub trait ConnectorFactory: FactoryInfo {
    /// The (from, to) signal pairs the connector supports, with their stability.
    fn routes(&self) -> &'static [(Signal, Signal, Stability)];

    /// Builds one connector instance for one (from, to) pair. `pipelines` holds the
    /// pipelines that list the connector as a receiver with signal `to`, by pipeline id
    /// (`traces/aws`), each with the consumer at its head.
    async fn build(
        &self,
        ctx: BuildContext,
        raw: &Value,
        from: Signal,
        to: Signal,
        pipelines: Vec<(String, BoxConsumer)>,
    ) -> Result<Arc<dyn Exporter>, ComponentError>;
}

/// Every signal at one stability, for [`Factory::SIGNALS`].
pub const fn all_signals(stability: Stability) -> [(Signal, Stability); 3] {
    [
        (Signal::Traces, stability),
        (Signal::Metrics, stability),
        (Signal::Logs, stability),
    ]
}

/// Traces to traces, metrics to metrics and logs to logs at one stability, for
/// [`BuildConnector::ROUTES`] of a connector that passes data on unchanged.
pub const fn same_signal_routes(stability: Stability) -> [(Signal, Signal, Stability); 3] {
    [
        (Signal::Traces, Signal::Traces, stability),
        (Signal::Metrics, Signal::Metrics, stability),
        (Signal::Logs, Signal::Logs, stability),
    ]
}

/// Traces, metrics and logs, all at beta.
pub const ALL_SIGNALS_BETA: &[(Signal, Stability)] = &all_signals(Stability::Beta);
/// Traces, metrics and logs, all at stable.
pub const ALL_SIGNALS_STABLE: &[(Signal, Stability)] = &all_signals(Stability::Stable);
/// Traces, metrics and logs, all at alpha.
pub const ALL_SIGNALS_ALPHA: &[(Signal, Stability)] = &all_signals(Stability::Alpha);

/// What a component declares once: its type, its config and its signals. With the
/// build trait of its kind ([`BuildReceiver`], [`BuildProcessor`], [`BuildExporter`],
/// [`BuildExtension`], [`BuildConnector`]) this is the whole factory: config checks,
/// key paths in errors and the object-safe factory traits come from blanket impls.
pub trait Factory: Send + Sync + 'static {
    /// The config, decoded strictly from the component's YAML block; `Default` is the
    /// config of a component listed with no body.
    type Config: DeserializeOwned + Default + Validate + Send + 'static;

    /// The component type, the `otlp_grpc` of `otlp_grpc/name`.
    const TYPE: &'static str;

    /// Older type names upstream still accepts (its `deprecated_type`).
    const DEPRECATED_TYPES: &'static [&'static str] = &[];

    /// The signals the component supports, with its stability for each. Extensions
    /// have none; a connector lists the signals it receives.
    const SIGNALS: &'static [(Signal, Stability)];

    /// Pipeline ids a valid config refers to, with their key paths. Default: none.
    fn pipeline_references(&self, _config: &Self::Config) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Extension ids a valid config refers to, with their key paths. Default: none.
    fn extension_references(&self, _config: &Self::Config) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Warnings about what a valid config leaves open (a listener beyond loopback
    /// with neither TLS nor auth; [`exposure_warning`] words one), with key paths
    /// inside the config. Default: none.
    fn exposure_warnings(&self, _config: &Self::Config) -> Vec<ConfigProblem> {
        Vec::new()
    }
}

/// The warning for a server listening on `endpoint` (written at key path `path`),
/// when it is reachable beyond this machine and `protected` (TLS or an
/// authenticator configured) is false. `None` for loopback (`localhost`,
/// `127.0.0.1`, `[::1]`), for a protected server, and for an endpoint that does not
/// parse (its validation reports that).
///
/// Reachable means every interface (`:4317`, `0.0.0.0`, `[::]`), any other IP
/// address (private ones included: the network's other hosts reach them), or a host
/// name other than `localhost` (it resolves to whatever the network says).
///
/// ```
/// use stratus_core::factory::exposure_warning;
///
/// let w = exposure_warning("protocols::grpc::endpoint", "0.0.0.0:4317", false).unwrap();
/// assert_eq!(w.path, "protocols::grpc::endpoint");
/// assert!(w.message.starts_with("`0.0.0.0:4317` listens on every network interface"));
/// assert!(exposure_warning("endpoint", "localhost:4317", false).is_none());
/// assert!(exposure_warning("endpoint", "0.0.0.0:4317", true).is_none());
/// ```
pub fn exposure_warning(path: &str, endpoint: &str, protected: bool) -> Option<ConfigProblem> {
    use crate::endpoint::{Endpoint, Host};
    if protected {
        return None;
    }
    let parsed: Endpoint = endpoint.parse().ok()?;
    let reach = match parsed.host() {
        Host::Any => "every network interface",
        Host::Ip(ip) if ip.is_loopback() => return None,
        Host::Ip(ip) if ip.is_unspecified() => "every network interface",
        Host::Ip(_) => "an address other machines can reach",
        Host::Name(name) => {
            let name = name.to_ascii_lowercase();
            if name == "localhost" || name.ends_with(".localhost") {
                return None;
            }
            "a host name that may resolve to an address other machines can reach"
        }
    };
    Some(ConfigProblem::new(
        path,
        format!(
            "`{endpoint}` listens on {reach} with neither TLS nor authentication: anyone \
             who can reach it can send data. Configure `tls` or `auth`, or listen on \
             `localhost:{port}`",
            port = parsed.port()
        ),
    ))
}

impl<F: Factory> FactoryInfo for F {
    fn type_name(&self) -> &'static str {
        F::TYPE
    }

    fn deprecated_types(&self) -> &'static [&'static str] {
        F::DEPRECATED_TYPES
    }

    fn signals(&self) -> &'static [(Signal, Stability)] {
        F::SIGNALS
    }

    fn check_config(&self, raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        decode_config::<F::Config>(raw).map(|_| ())
    }

    fn pipeline_references(&self, raw: &Value) -> Vec<(String, String)> {
        decode_config::<F::Config>(raw)
            .map(|config| Factory::pipeline_references(self, &config))
            .unwrap_or_default()
    }

    fn extension_references(&self, raw: &Value) -> Vec<(String, String)> {
        decode_config::<F::Config>(raw)
            .map(|config| Factory::extension_references(self, &config))
            .unwrap_or_default()
    }

    fn exposure_warnings(&self, raw: &Value) -> Vec<ConfigProblem> {
        decode_config::<F::Config>(raw)
            .map(|config| Factory::exposure_warnings(self, &config))
            .unwrap_or_default()
    }
}

/// Creates receivers from a decoded config.
#[async_trait]
pub trait BuildReceiver: Factory {
    /// Creates one receiver instance, shared by every pipeline that lists it.
    async fn create(
        &self,
        ctx: BuildContext,
        config: Self::Config,
        next: SignalConsumers,
    ) -> Result<Arc<dyn Component>, ComponentError>;
}

/// Creates processors from a decoded config.
#[async_trait]
pub trait BuildProcessor: Factory {
    /// Creates one processor instance for one pipeline.
    async fn create(
        &self,
        ctx: BuildContext,
        config: Self::Config,
        next: BoxConsumer,
    ) -> Result<Arc<dyn Processor>, ComponentError>;
}

/// Creates exporters from a decoded config.
#[async_trait]
pub trait BuildExporter: Factory {
    /// Creates one exporter instance, shared by every pipeline that lists it.
    async fn create(
        &self,
        ctx: BuildContext,
        config: Self::Config,
    ) -> Result<Arc<dyn Exporter>, ComponentError>;
}

/// Creates extensions from a decoded config.
#[async_trait]
pub trait BuildExtension: Factory {
    /// Creates the extension.
    async fn create(
        &self,
        ctx: BuildContext,
        config: Self::Config,
    ) -> Result<Arc<dyn Extension>, ComponentError>;
}

/// Creates connectors from a decoded config.
#[async_trait]
pub trait BuildConnector: Factory {
    /// The (from, to) signal pairs the connector supports, with their stability.
    const ROUTES: &'static [(Signal, Signal, Stability)];

    /// Creates one connector instance for one (from, to) pair; see
    /// [`ConnectorFactory::build`].
    async fn create(
        &self,
        ctx: BuildContext,
        config: Self::Config,
        from: Signal,
        to: Signal,
        pipelines: Vec<(String, BoxConsumer)>,
    ) -> Result<Arc<dyn Exporter>, ComponentError>;
}

/// The object-safe factory trait of a kind, for every type with the kind's build
/// trait: `build` decodes and validates the config, then calls `create`.
macro_rules! build_from_create {
    (
        $build:ident => $factory:ident($($arg:ident: $ty:ty),*) -> $out:ty
        $({ $($extra:item)* })?
    ) => {
        #[async_trait]
        impl<F: $build> $factory for F {
            $($($extra)*)?

            async fn build(
                &self,
                ctx: BuildContext,
                raw: &Value,
                $($arg: $ty),*
            ) -> Result<$out, ComponentError> {
                let config = config_for_build::<F::Config>(raw)?;
                self.create(ctx, config, $($arg),*).await
            }
        }
    };
}

build_from_create!(BuildReceiver => ReceiverFactory(next: SignalConsumers) -> Arc<dyn Component>);
build_from_create!(BuildProcessor => ProcessorFactory(next: BoxConsumer) -> Arc<dyn Processor>);
build_from_create!(BuildExporter => ExporterFactory() -> Arc<dyn Exporter>);
build_from_create!(BuildExtension => ExtensionFactory() -> Arc<dyn Extension>);
build_from_create!(BuildConnector => ConnectorFactory(
    from: Signal, to: Signal, pipelines: Vec<(String, BoxConsumer)>
) -> Arc<dyn Exporter> {
    fn routes(&self) -> &'static [(Signal, Signal, Stability)] {
        F::ROUTES
    }
});

/// Every factory a stratus build knows, by kind and type.
#[derive(Clone, Default)]
pub struct Factories {
    /// Receiver factories by type.
    pub receivers: BTreeMap<&'static str, Arc<dyn ReceiverFactory>>,
    /// Processor factories by type.
    pub processors: BTreeMap<&'static str, Arc<dyn ProcessorFactory>>,
    /// Exporter factories by type.
    pub exporters: BTreeMap<&'static str, Arc<dyn ExporterFactory>>,
    /// Extension factories by type.
    pub extensions: BTreeMap<&'static str, Arc<dyn ExtensionFactory>>,
    /// Connector factories by type.
    pub connectors: BTreeMap<&'static str, Arc<dyn ConnectorFactory>>,
}

/// Adds a factory to its kind's map, under its type and every deprecated type.
macro_rules! add_factory {
    ($method:ident, $map:ident, $trait:ident, $kind:literal) => {
        #[doc = concat!("Adds ", $kind, " factory, under its type and every deprecated type.")]
        pub fn $method(mut self, f: impl $trait + 'static) -> Self {
            let f: Arc<dyn $trait> = Arc::new(f);
            for name in std::iter::once(f.type_name()).chain(f.deprecated_types().iter().copied()) {
                self.$map.insert(name, f.clone());
            }
            self
        }
    };
}

/// Evaluates `$body` with `$map` bound to the factory map of `$kind`.
macro_rules! with_map {
    ($self:ident, $kind:expr, |$map:ident| $body:expr) => {
        match $kind {
            Kind::Receiver => with_map!(@bind $map = $self.receivers, $body),
            Kind::Processor => with_map!(@bind $map = $self.processors, $body),
            Kind::Exporter => with_map!(@bind $map = $self.exporters, $body),
            Kind::Extension => with_map!(@bind $map = $self.extensions, $body),
            Kind::Connector => with_map!(@bind $map = $self.connectors, $body),
        }
    };
    (@bind $map:ident = $field:expr, $body:expr) => {{
        let $map = &$field;
        $body
    }};
}

impl Factories {
    /// No factories.
    pub fn new() -> Self {
        Factories::default()
    }

    add_factory!(receiver, receivers, ReceiverFactory, "a receiver");
    add_factory!(processor, processors, ProcessorFactory, "a processor");
    add_factory!(exporter, exporters, ExporterFactory, "an exporter");
    add_factory!(extension, extensions, ExtensionFactory, "an extension");
    add_factory!(connector, connectors, ConnectorFactory, "a connector");

    /// The factory of a kind and type, seen through what every factory tells.
    pub fn info(&self, kind: Kind, ty: &str) -> Option<&dyn FactoryInfo> {
        with_map!(self, kind, |m| m
            .get(ty)
            .map(|f| f.as_ref() as &dyn FactoryInfo))
    }

    /// Every type known for a kind, sorted; deprecated aliases included.
    pub fn types(&self, kind: Kind) -> Vec<&'static str> {
        with_map!(self, kind, |m| m.keys().copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Inner {
        endpoint: String,
    }
    impl Default for Inner {
        fn default() -> Self {
            Inner {
                endpoint: "localhost:4317".into(),
            }
        }
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Cfg {
        grpc: Inner,
        #[serde(with = "crate::confval::duration")]
        timeout: std::time::Duration,
    }
    impl Validate for Cfg {
        fn validate(&self) -> Vec<ConfigProblem> {
            if self.grpc.endpoint.is_empty() {
                vec![ConfigProblem::new("grpc::endpoint", "must not be empty")]
            } else {
                vec![]
            }
        }
    }

    #[test]
    fn decode_reports_paths() {
        let c: Cfg = decode_config(&Value::Null).unwrap();
        assert_eq!(c.grpc.endpoint, "localhost:4317");
        let err =
            decode_config::<Cfg>(&serde_json::json!({"grpc": {"endpiont": "x"}})).unwrap_err();
        assert_eq!(err[0].path, "grpc::endpiont");
        assert!(
            err[0].message.contains("unknown field `endpiont`"),
            "{}",
            err[0].message
        );
        let err = decode_config::<Cfg>(&serde_json::json!({"timeout": "5 parsecs"})).unwrap_err();
        assert_eq!(err[0].path, "timeout");
        let err = decode_config::<Cfg>(&serde_json::json!({"grpc": {"endpoint": ""}})).unwrap_err();
        assert_eq!(
            err,
            vec![ConfigProblem::new("grpc::endpoint", "must not be empty")]
        );
    }

    /// Which endpoints count as reachable from other machines.
    #[test]
    fn exposure_of_endpoints() {
        for open in [
            "0.0.0.0:4317",
            ":4317",
            "[::]:4317",
            "203.0.113.7:4317",
            "10.0.0.5:4317",
            "[2001:db8::1]:4317",
            "my-host:4317",
            "gateway.example.com:4318",
        ] {
            let w = exposure_warning("protocols::grpc::endpoint", open, false)
                .unwrap_or_else(|| panic!("{open} should warn"));
            assert_eq!(w.path, "protocols::grpc::endpoint");
            assert!(
                w.message.starts_with(&format!("`{open}` listens on ")),
                "{w:?}"
            );
            assert!(
                w.message.contains("neither TLS nor authentication"),
                "{w:?}"
            );
            assert!(exposure_warning("x", open, true).is_none(), "{open}");
        }
        for closed in [
            "localhost:4317",
            "LOCALHOST:4317",
            "app.localhost:4317",
            "127.0.0.1:4317",
            "127.1.2.3:4317",
            "[::1]:4317",
            // Not an endpoint: its own validation reports it.
            "nonsense",
        ] {
            assert!(exposure_warning("x", closed, false).is_none(), "{closed}");
        }
        assert!(
            exposure_warning("e", ":4317", false)
                .unwrap()
                .message
                .contains("every network interface")
        );
    }

    /// A factory's typed `exposure_warnings` reaches `FactoryInfo` for valid configs.
    #[test]
    fn exposure_warnings_through_the_blanket_impl() {
        struct Listener;
        impl Factory for Listener {
            type Config = Cfg;
            const TYPE: &'static str = "listener";
            const SIGNALS: &'static [(Signal, Stability)] = &[];
            fn exposure_warnings(&self, config: &Cfg) -> Vec<ConfigProblem> {
                exposure_warning("grpc::endpoint", &config.grpc.endpoint, false)
                    .into_iter()
                    .collect()
            }
        }
        let info: &dyn FactoryInfo = &Listener;
        assert!(info.exposure_warnings(&Value::Null).is_empty());
        let open = serde_json::json!({"grpc": {"endpoint": "0.0.0.0:4317"}});
        assert_eq!(info.exposure_warnings(&open)[0].path, "grpc::endpoint");
        // An invalid config has its errors instead.
        let bad = serde_json::json!({"grpc": {"endpoint": "0.0.0.0:4317"}, "nope": 1});
        assert!(info.exposure_warnings(&bad).is_empty());
    }
}
