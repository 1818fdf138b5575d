//! Checking a loaded document against the known factories, and the typed service
//! config that comes out of it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};
use stratus_core::factory::{Factories, FactoryInfo};
use stratus_core::{ComponentId, Kind, Signal};

use crate::document::Document;
use crate::error::{ConfigError, ConfigErrors};
use crate::suggest::{did_you_mean, did_you_mean_or_list};
use crate::yaml::type_name;

mod telemetry;

pub use telemetry::{
    DEFAULT_OTLP_TIMEOUT, DEFAULT_PERIODIC_INTERVAL, DEFAULT_PERIODIC_TIMEOUT, IncludeExclude,
    LogBatch, LogOutput, LogProcessor, LogSampling, LogsTelemetry, MetricReader, MetricsTelemetry,
    OtlpExporter, PeriodicReader, PrometheusReader, ResourceConfig, TelemetryConfig,
    TracesTelemetry,
};

/// The top-level keys of a config.
pub const SECTIONS: [&str; 6] = [
    "receivers",
    "processors",
    "exporters",
    "connectors",
    "extensions",
    "service",
];

const KINDS: [Kind; 5] = [
    Kind::Receiver,
    Kind::Processor,
    Kind::Exporter,
    Kind::Connector,
    Kind::Extension,
];

const SERVICE_KEYS: [&str; 3] = ["extensions", "pipelines", "telemetry"];
const PIPELINE_KEYS: [&str; 3] = ["receivers", "processors", "exporters"];
const SIGNAL_NAMES: [&str; 3] = ["traces", "metrics", "logs"];

/// A config that passed validation, with the warnings found on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    /// The checked config.
    pub config: ServiceConfig,
    /// Things that are allowed but probably not meant: unset environment variables,
    /// components defined but used nowhere, listeners open beyond loopback with
    /// neither TLS nor auth (each factory's `exposure_warnings`). Sorted by path.
    pub warnings: Vec<ConfigError>,
}

/// A checked config: every component config (still raw, as its factory decodes it at
/// build time; `null` means the default config) and the service section.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceConfig {
    /// `receivers:` by id.
    pub receivers: BTreeMap<ComponentId, Value>,
    /// `processors:` by id.
    pub processors: BTreeMap<ComponentId, Value>,
    /// `exporters:` by id.
    pub exporters: BTreeMap<ComponentId, Value>,
    /// `connectors:` by id.
    pub connectors: BTreeMap<ComponentId, Value>,
    /// `extensions:` by id.
    pub extensions: BTreeMap<ComponentId, Value>,
    /// `service:`.
    pub service: Service,
}

/// The `service:` section.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Service {
    /// The extensions to run, in the order listed (`service::extensions`).
    pub extensions: Vec<ComponentId>,
    /// The pipelines by id (`service::pipelines`); never empty once validated.
    pub pipelines: BTreeMap<PipelineId, PipelineConfig>,
    /// stratus's own logs and metrics (`service::telemetry`).
    pub telemetry: TelemetryConfig,
}

/// A pipeline id: a signal and an optional name (`traces`, `traces/forward`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PipelineId {
    /// The signal the pipeline carries.
    pub signal: Signal,
    /// The part after `/`, if any.
    pub name: Option<String>,
}

impl PipelineId {
    /// A pipeline id with no name (`traces`).
    pub fn new(signal: Signal) -> Self {
        PipelineId { signal, name: None }
    }

    /// A pipeline id with a name (`traces/forward`).
    pub fn with_name(signal: Signal, name: impl Into<String>) -> Self {
        PipelineId {
            signal,
            name: Some(name.into()),
        }
    }
}

impl fmt::Display for PipelineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{}/{}", self.signal, name),
            None => write!(f, "{}", self.signal),
        }
    }
}

/// A pipeline id that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPipelineId {
    /// The part before `/` is not a signal.
    #[error("unknown pipeline type `{0}`: expected `traces`, `metrics` or `logs`")]
    UnknownType(String),
    /// The name is empty or has spaces.
    #[error("invalid pipeline id `{0}`: expected `type` or `type/name` with no spaces")]
    Malformed(String),
}

impl FromStr for PipelineId {
    type Err = InvalidPipelineId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ty, name) = match s.split_once('/') {
            Some((ty, name)) => (ty, Some(name)),
            None => (s, None),
        };
        let signal: Signal = ty
            .parse()
            .map_err(|_| InvalidPipelineId::UnknownType(ty.to_string()))?;
        match name {
            None => Ok(PipelineId::new(signal)),
            Some(n) if !n.is_empty() && !n.contains('/') && !n.chars().any(char::is_whitespace) => {
                Ok(PipelineId::with_name(signal, n))
            }
            Some(_) => Err(InvalidPipelineId::Malformed(s.to_string())),
        }
    }
}

/// One pipeline: where its data comes from, what changes it, where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PipelineConfig {
    /// Receivers (or connectors) feeding the pipeline; at least one.
    pub receivers: Vec<ComponentId>,
    /// Processors, in order.
    pub processors: Vec<ComponentId>,
    /// Exporters (or connectors) the pipeline ends in; at least one.
    pub exporters: Vec<ComponentId>,
}

/// A component defined in a section.
struct Defined<'f> {
    value: Value,
    /// The factory, when the type is known.
    factory: Option<&'f dyn FactoryInfo>,
}

type Definitions<'f> = BTreeMap<Kind, BTreeMap<ComponentId, Defined<'f>>>;

/// Checks the whole document against the known factories and reports every problem
/// at once, sorted by path.
pub fn validate(doc: &Document, factories: &Factories) -> Result<Validated, ConfigErrors> {
    let mut v = Validator {
        doc,
        factories,
        errors: Vec::new(),
        warnings: doc.warnings().to_vec(),
    };
    let empty = Map::new();
    let root = doc.value().as_object().unwrap_or(&empty);
    for key in root.keys() {
        if !SECTIONS.contains(&key.as_str()) {
            v.error(
                std::slice::from_ref(key),
                format!(
                    "unknown top-level key `{key}`{}",
                    did_you_mean_or_list(key, SECTIONS, "valid keys")
                ),
            );
        }
    }
    let mut defs: Definitions<'_> = BTreeMap::new();
    for kind in KINDS {
        let section = v.section(kind, root.get(kind.section()), factories);
        defs.insert(kind, section);
    }
    let mut used: BTreeSet<(Kind, ComponentId)> = BTreeSet::new();
    let service = v.service(root.get("service"), &defs, &mut used);
    v.connectors(&defs, &service, factories);
    v.extension_references(&defs, &service);
    for (kind, section) in &defs {
        for id in section.keys() {
            if *kind == Kind::Extension {
                if !service.extensions.contains(id) {
                    v.warn(
                        &[kind.section().to_string(), id.to_string()],
                        format!(
                            "extension `{id}` is defined but not enabled in `service::extensions`"
                        ),
                    );
                }
            } else if !used.contains(&(*kind, id.clone())) {
                v.warn(
                    &[kind.section().to_string(), id.to_string()],
                    format!("{kind} `{id}` is defined but not used in any pipeline"),
                );
            }
        }
    }
    let Validator {
        mut errors,
        mut warnings,
        ..
    } = v;
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    warnings.sort_by(|a, b| a.path.cmp(&b.path));
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    let mut take = |kind: Kind| -> BTreeMap<ComponentId, Value> {
        defs.remove(&kind)
            .unwrap_or_default()
            .into_iter()
            .map(|(id, d)| (id, d.value))
            .collect()
    };
    Ok(Validated {
        config: ServiceConfig {
            receivers: take(Kind::Receiver),
            processors: take(Kind::Processor),
            exporters: take(Kind::Exporter),
            connectors: take(Kind::Connector),
            extensions: take(Kind::Extension),
            service,
        },
        warnings,
    })
}

struct Validator<'d> {
    doc: &'d Document,
    factories: &'d Factories,
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigError>,
}

fn child(path: &[String], key: impl Into<String>) -> Vec<String> {
    let mut p = path.to_vec();
    p.push(key.into());
    p
}

impl<'d> Validator<'d> {
    fn error(&mut self, path: &[String], message: impl Into<String>) {
        self.errors.push(ConfigError::new(
            path.join("::"),
            self.doc.locate(path),
            message,
        ));
    }

    fn warn(&mut self, path: &[String], message: impl Into<String>) {
        self.warnings.push(ConfigError::new(
            path.join("::"),
            self.doc.locate(path),
            message,
        ));
    }

    /// A mapping at `path`; `None` (silently) when absent or null, `None` with an
    /// error when something else.
    fn mapping<'v>(
        &mut self,
        value: Option<&'v Value>,
        path: &[String],
    ) -> Option<&'v Map<String, Value>> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(map),
            Some(other) => {
                self.error(
                    path,
                    format!("expected a mapping, found {}", type_name(other)),
                );
                None
            }
        }
    }

    fn unknown_keys(&mut self, map: &Map<String, Value>, path: &[String], allowed: &[&str]) {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                self.error(
                    &child(path, key.clone()),
                    format!(
                        "unknown key `{key}`{}",
                        did_you_mean_or_list(key, allowed.iter().copied(), "valid keys")
                    ),
                );
            }
        }
    }

    /// One component section: ids parsed, types looked up, configs checked.
    fn section<'f>(
        &mut self,
        kind: Kind,
        value: Option<&Value>,
        factories: &'f Factories,
    ) -> BTreeMap<ComponentId, Defined<'f>> {
        let mut out = BTreeMap::new();
        let path = vec![kind.section().to_string()];
        let map = match value {
            None | Some(Value::Null) => return out,
            Some(Value::Object(map)) => map,
            Some(other) => {
                self.error(
                    &path,
                    format!(
                        "expected a mapping of component ids to their configs, found {}",
                        type_name(other)
                    ),
                );
                return out;
            }
        };
        for (key, config) in map {
            let id_path = child(&path, key.clone());
            let id: ComponentId = match key.parse() {
                Ok(id) => id,
                Err(e) => {
                    self.error(&id_path, e.to_string());
                    continue;
                }
            };
            let factory = factories.info(kind, id.ty());
            match factory {
                None => {
                    let types = factories.types(kind);
                    let hint = if types.is_empty() {
                        format!("; this build of stratus has no {}", kind.section())
                    } else {
                        did_you_mean_or_list(
                            id.ty(),
                            types.iter().copied(),
                            &format!("known {kind} types"),
                        )
                    };
                    self.error(&id_path, format!("unknown {kind} type `{}`{hint}", id.ty()));
                }
                Some(f) => {
                    if let Err(problems) = f.check_config(config) {
                        for problem in problems {
                            let mut p = id_path.clone();
                            p.extend(problem_segments(&problem.path));
                            let mut message = rewrite_serde_message(&problem.message);
                            if p.last().is_some_and(|k| looks_secret(k)) {
                                message = redact_value(&message);
                            }
                            self.error(&p, message);
                        }
                    } else {
                        for problem in f.exposure_warnings(config) {
                            let mut p = id_path.clone();
                            p.extend(problem_segments(&problem.path));
                            self.warn(&p, problem.message);
                        }
                    }
                }
            }
            out.insert(
                id,
                Defined {
                    value: config.clone(),
                    factory,
                },
            );
        }
        out
    }

    /// A list of component ids; reports entries that are not ids and repeats. Returns
    /// the ids with their paths, and whether the list had any entry at all (so an
    /// unparsable list is not also reported as empty).
    fn id_list(
        &mut self,
        value: Option<&Value>,
        path: &[String],
    ) -> (Vec<(ComponentId, Vec<String>)>, bool) {
        let items = match value {
            None | Some(Value::Null) => return (Vec::new(), false),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.error(
                    path,
                    format!(
                        "expected a list of component ids (e.g. `[otlp, otlp/2]`), found {}",
                        type_name(other)
                    ),
                );
                return (Vec::new(), true);
            }
        };
        let mut out: Vec<(ComponentId, Vec<String>)> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let p = child(path, i.to_string());
            let Value::String(text) = item else {
                self.error(
                    &p,
                    format!("expected a component id, found {}", type_name(item)),
                );
                continue;
            };
            match text.parse::<ComponentId>() {
                Ok(id) if out.iter().any(|(seen, _)| *seen == id) => {
                    self.error(&p, format!("`{id}` is listed more than once"));
                }
                Ok(id) => out.push((id, p)),
                Err(e) => self.error(&p, e.to_string()),
            }
        }
        (out, !items.is_empty())
    }

    fn service(
        &mut self,
        value: Option<&Value>,
        defs: &Definitions<'_>,
        used: &mut BTreeSet<(Kind, ComponentId)>,
    ) -> Service {
        let mut service = Service::default();
        let path = vec!["service".to_string()];
        let map = match value {
            None | Some(Value::Null) => {
                self.error(
                    &path,
                    "missing `service` section: define at least one pipeline under \
                     `service::pipelines`",
                );
                return service;
            }
            Some(other) => match self.mapping(Some(other), &path) {
                Some(map) => map,
                None => return service,
            },
        };
        self.unknown_keys(map, &path, &SERVICE_KEYS);

        let ext_path = child(&path, "extensions");
        let (extensions, _) = self.id_list(map.get("extensions"), &ext_path);
        for (id, p) in extensions {
            if defs
                .get(&Kind::Extension)
                .is_some_and(|d| d.contains_key(&id))
            {
                service.extensions.push(id);
            } else {
                let hint = did_you_mean(
                    &id.to_string(),
                    defined_names(defs, &[Kind::Extension])
                        .iter()
                        .map(String::as_str),
                );
                self.error(
                    &p,
                    format!("extension `{id}` is not defined in `extensions`{hint}"),
                );
            }
        }

        let pipes_path = child(&path, "pipelines");
        let pipelines = self.mapping(map.get("pipelines"), &pipes_path);
        if pipelines.is_none_or(Map::is_empty) {
            self.error(
                &pipes_path,
                "no pipelines defined: add at least one under `service::pipelines` \
                 (e.g. `traces: {receivers: [otlp], exporters: [debug]}`)",
            );
        }
        for (key, body) in pipelines.into_iter().flatten() {
            let p = child(&pipes_path, key.clone());
            match key.parse::<PipelineId>() {
                Ok(id) => {
                    let pipeline = self.pipeline(&id, body, &p, defs, used);
                    service.pipelines.insert(id, pipeline);
                }
                Err(InvalidPipelineId::UnknownType(ty)) if ty == "profiles" => self.error(
                    &p,
                    "the OTLP profiles signal is not supported by stratus yet: remove this \
                     pipeline (stratus carries traces, metrics and logs)",
                ),
                Err(InvalidPipelineId::UnknownType(ty)) => self.error(
                    &p,
                    format!(
                        "unknown pipeline type `{ty}`{}",
                        did_you_mean_or_list(&ty, SIGNAL_NAMES, "valid types")
                    ),
                ),
                Err(e) => self.error(&p, e.to_string()),
            }
        }

        service.telemetry = self.telemetry(map.get("telemetry"), &child(&path, "telemetry"));
        service
    }

    fn pipeline(
        &mut self,
        id: &PipelineId,
        body: &Value,
        path: &[String],
        defs: &Definitions<'_>,
        used: &mut BTreeSet<(Kind, ComponentId)>,
    ) -> PipelineConfig {
        let empty = Map::new();
        let map = self.mapping(Some(body), path).unwrap_or(&empty);
        self.unknown_keys(map, path, &PIPELINE_KEYS);
        let mut out = PipelineConfig::default();
        let lists = [
            (
                Kind::Receiver,
                "receivers",
                &[Kind::Receiver, Kind::Connector][..],
            ),
            (Kind::Processor, "processors", &[Kind::Processor][..]),
            (
                Kind::Exporter,
                "exporters",
                &[Kind::Exporter, Kind::Connector][..],
            ),
        ];
        for (kind, key, allowed) in lists {
            let list_path = child(path, key);
            let (ids, any) = self.id_list(map.get(key), &list_path);
            if !any && kind != Kind::Processor {
                let at = if map.contains_key(key) {
                    list_path.clone()
                } else {
                    path.to_vec()
                };
                self.error(
                    &at,
                    format!("pipeline `{id}` has no {key}; it needs at least one {kind}"),
                );
            }
            for (cid, p) in ids {
                let found = allowed
                    .iter()
                    .find_map(|k| defs.get(k).and_then(|d| d.get(&cid)).map(|d| (*k, d)));
                match found {
                    None => {
                        let names = defined_names(defs, allowed);
                        let hint = did_you_mean(&cid.to_string(), names.iter().map(String::as_str));
                        self.error(
                            &p,
                            format!("{kind} `{cid}` is not defined in `{key}`{hint}"),
                        );
                    }
                    Some((found_kind, defined)) => {
                        used.insert((found_kind, cid.clone()));
                        // A connector's signals are checked by its routes, once every
                        // pipeline is known.
                        if let Some(f) = defined.factory
                            && found_kind != Kind::Connector
                            && !f.supports(id.signal)
                        {
                            let supported: Vec<&str> =
                                f.signals().iter().map(|(s, _)| s.as_str()).collect();
                            let supported = if supported.is_empty() {
                                "no signals".to_string()
                            } else {
                                supported.join(", ")
                            };
                            self.error(
                                &p,
                                format!(
                                    "{kind} `{cid}` does not support {} (it supports {supported})",
                                    id.signal
                                ),
                            );
                        }
                    }
                }
                match kind {
                    Kind::Receiver => out.receivers.push(cid),
                    Kind::Processor => out.processors.push(cid),
                    _ => out.exporters.push(cid),
                }
            }
        }
        out
    }

    /// Extensions a component's config names (`auth::authenticator`): each must be
    /// defined and enabled in `service::extensions`.
    fn extension_references(&mut self, defs: &Definitions<'_>, service: &Service) {
        let defined: Vec<String> = defs
            .get(&Kind::Extension)
            .map(|d| d.keys().map(ToString::to_string).collect())
            .unwrap_or_default();
        for (kind, section) in defs {
            for (id, def) in section {
                let Some(factory) = def.factory else { continue };
                for (key, name) in factory.extension_references(&def.value) {
                    let mut path = vec![kind.section().to_string(), id.to_string()];
                    path.extend(problem_segments(&key));
                    let Ok(eid) = name.parse::<ComponentId>() else {
                        self.error(&path, format!("`{name}` is not a component id"));
                        continue;
                    };
                    if !defined.contains(&name) {
                        self.error(
                            &path,
                            format!(
                                "extension `{name}` is not defined in `extensions`{}",
                                did_you_mean(&name, defined.iter().map(String::as_str))
                            ),
                        );
                    } else if !service.extensions.contains(&eid) {
                        self.error(
                            &path,
                            format!(
                                "extension `{name}` is defined but not enabled: add it to \
                                 `service::extensions`"
                            ),
                        );
                    }
                }
            }
        }
    }

    /// Connectors: ids unique across receivers, exporters and connectors; each used as
    /// an exporter and as a receiver with a signal pair its factory supports; no
    /// cycles of pipelines through connectors.
    /// Checks the pipelines a connector's config names (failover's `priority_levels`):
    /// each must be defined and must list the connector as a receiver.
    fn pipeline_references(
        &mut self,
        id: &ComponentId,
        factory: &dyn FactoryInfo,
        raw: &Value,
        pipelines: &BTreeMap<PipelineId, PipelineConfig>,
    ) {
        let defined: Vec<String> = pipelines.keys().map(ToString::to_string).collect();
        for (key, name) in factory.pipeline_references(raw) {
            let mut path = vec![Kind::Connector.section().to_string(), id.to_string()];
            path.extend(problem_segments(&key));
            let Ok(pid) = name.parse::<PipelineId>() else {
                continue; // the connector's own config check reports a malformed id
            };
            match pipelines.get(&pid) {
                None => self.error(
                    &path,
                    format!(
                        "pipeline `{name}` is not defined in service::pipelines{}",
                        did_you_mean(&name, defined.iter().map(String::as_str))
                    ),
                ),
                Some(p) if !p.receivers.contains(id) => self.error(
                    &path,
                    format!(
                        "pipeline `{name}` does not list `{id}` in its receivers, so `{id}` \
                         cannot send to it: add `{id}` to its receivers"
                    ),
                ),
                Some(_) => {}
            }
        }
    }

    fn connectors(&mut self, defs: &Definitions<'_>, service: &Service, factories: &Factories) {
        let Some(connectors) = defs.get(&Kind::Connector) else {
            return;
        };
        for id in connectors.keys() {
            for kind in [Kind::Receiver, Kind::Exporter] {
                if defs.get(&kind).is_some_and(|d| d.contains_key(id)) {
                    self.error(
                        &[Kind::Connector.section().to_string(), id.to_string()],
                        format!(
                            "`{id}` is defined in both `connectors` and `{}`; a pipeline \
                             could not tell which one it lists: rename one of them",
                            kind.section()
                        ),
                    );
                }
            }
        }
        let pipelines = &service.pipelines;
        let entry = |pid: &PipelineId, list: &str, i: usize| -> Vec<String> {
            vec![
                "service".to_string(),
                "pipelines".to_string(),
                pid.to_string(),
                list.to_string(),
                i.to_string(),
            ]
        };
        let mut edges: BTreeMap<&PipelineId, BTreeSet<&PipelineId>> = BTreeMap::new();
        for id in connectors.keys() {
            // A receiver or exporter with the same id wins in pipelines; reported above.
            if [Kind::Receiver, Kind::Exporter]
                .iter()
                .any(|k| defs.get(k).is_some_and(|d| d.contains_key(id)))
            {
                continue;
            }
            let as_exporter: Vec<(&PipelineId, usize)> = pipelines
                .iter()
                .filter_map(|(pid, p)| p.exporters.iter().position(|e| e == id).map(|i| (pid, i)))
                .collect();
            let as_receiver: Vec<(&PipelineId, usize)> = pipelines
                .iter()
                .filter_map(|(pid, p)| p.receivers.iter().position(|r| r == id).map(|i| (pid, i)))
                .collect();
            match (as_exporter.first(), as_receiver.first()) {
                (Some((pid, i)), None) => {
                    self.error(
                        &entry(pid, "exporters", *i),
                        format!(
                            "connector `{id}` is used as an exporter but no pipeline lists it \
                             as a receiver; a connector must be both"
                        ),
                    );
                    continue;
                }
                (None, Some((pid, i))) => {
                    self.error(
                        &entry(pid, "receivers", *i),
                        format!(
                            "connector `{id}` is used as a receiver but no pipeline lists it \
                             as an exporter; a connector must be both"
                        ),
                    );
                    continue;
                }
                _ => {}
            }
            let Some(factory) = factories.connectors.get(id.ty()) else {
                continue;
            };
            if let Some(defined) = connectors.get(id) {
                self.pipeline_references(id, factory.as_ref(), &defined.value, pipelines);
            }
            let routes = factory.routes();
            let supports =
                |from: Signal, to: Signal| routes.iter().any(|(f, t, _)| *f == from && *t == to);
            let listed: Vec<String> = routes
                .iter()
                .map(|(f, t, _)| format!("{f} to {t}"))
                .collect();
            let listed = listed.join(", ");
            for (a, i) in &as_exporter {
                let targets: Vec<&PipelineId> = as_receiver
                    .iter()
                    .filter(|(b, _)| supports(a.signal, b.signal))
                    .map(|(b, _)| *b)
                    .collect();
                if targets.is_empty() {
                    self.error(
                        &entry(a, "exporters", *i),
                        format!(
                            "connector `{id}` cannot take {} here: no pipeline receiving from \
                             it has a signal it connects {} to (it connects {listed})",
                            a.signal, a.signal
                        ),
                    );
                }
                edges.entry(a).or_default().extend(targets);
            }
            for (b, i) in &as_receiver {
                if !as_exporter
                    .iter()
                    .any(|(a, _)| supports(a.signal, b.signal))
                {
                    self.error(
                        &entry(b, "receivers", *i),
                        format!(
                            "connector `{id}` cannot feed {} here: no pipeline exporting to it \
                             has a signal it connects to {} (it connects {listed})",
                            b.signal, b.signal
                        ),
                    );
                }
            }
        }
        if let Some(cycle) = find_cycle(&edges) {
            let names: Vec<String> = cycle.iter().map(ToString::to_string).collect();
            self.error(
                &[
                    "service".to_string(),
                    "pipelines".to_string(),
                    cycle[0].to_string(),
                ],
                format!(
                    "pipelines form a cycle through connectors: {}; data would loop forever",
                    names.join(" -> ")
                ),
            );
        }
    }

    /// A string that must be one of `allowed` (compared ignoring case).
    fn choice(
        &mut self,
        map: &Map<String, Value>,
        path: &[String],
        key: &str,
        what: &str,
        allowed: &[&str],
    ) -> Option<String> {
        let p = child(path, key);
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                let lower = s.to_lowercase();
                if allowed.contains(&lower.as_str()) {
                    Some(lower)
                } else {
                    self.error(
                        &p,
                        format!(
                            "invalid {what} `{s}`{}",
                            did_you_mean_or_list(s, allowed.iter().copied(), "valid values")
                        ),
                    );
                    None
                }
            }
            Some(other) => {
                self.error(
                    &p,
                    format!(
                        "expected one of {} as a string, found {}",
                        allowed.join(", "),
                        type_name(other)
                    ),
                );
                None
            }
        }
    }
}

/// A cycle in the pipeline graph, as the pipelines on it with the first repeated at
/// the end (`traces/a -> traces/b -> traces/a`).
fn find_cycle<'p>(
    edges: &BTreeMap<&'p PipelineId, BTreeSet<&'p PipelineId>>,
) -> Option<Vec<&'p PipelineId>> {
    fn visit<'p>(
        node: &'p PipelineId,
        edges: &BTreeMap<&'p PipelineId, BTreeSet<&'p PipelineId>>,
        done: &mut BTreeSet<&'p PipelineId>,
        stack: &mut Vec<&'p PipelineId>,
    ) -> Option<Vec<&'p PipelineId>> {
        if let Some(at) = stack.iter().position(|p| *p == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node);
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node);
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, edges, &mut done, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

/// The ids defined in the given kinds' sections, as strings.
fn defined_names(defs: &Definitions<'_>, kinds: &[Kind]) -> Vec<String> {
    kinds
        .iter()
        .filter_map(|k| defs.get(k))
        .flat_map(|d| d.keys().map(ToString::to_string))
        .collect()
}

/// A factory's problem path (`protocols::grpc::endpoint`, list items as `headers[0]`)
/// as key segments.
fn problem_segments(path: &str) -> Vec<String> {
    if path.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for segment in path.split("::") {
        let (name, indices) = match segment.find('[') {
            Some(i) => segment.split_at(i),
            None => (segment, ""),
        };
        if !name.is_empty() {
            out.push(name.to_string());
        }
        out.extend(
            indices
                .split(['[', ']'])
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
    }
    out
}

/// Whether a key probably holds a secret (`workspace_key`, `token`, `password`,
/// `connection_string`, ...), whose value must not appear in a message.
fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "key",
        "token",
        "password",
        "secret",
        "connection_string",
        "credential",
    ]
    .iter()
    .any(|s| key.contains(s))
}

/// serde's `invalid type: integer `123`, expected a string` without the value.
fn redact_value(message: &str) -> String {
    let is_value_error =
        message.starts_with("invalid type: ") || message.starts_with("invalid value: ");
    let Some((head, tail)) = message.split_once(", expected") else {
        return message.to_string();
    };
    match head.find(['`', '"']) {
        Some(i) if is_value_error => format!("{}, expected{tail}", head[..i].trim_end()),
        _ => message.to_string(),
    }
}

/// Turns serde's wording into config wording: unknown fields become unknown keys with
/// a suggestion, unknown variants unknown values, missing fields required keys. Other
/// messages are already readable and kept.
pub(crate) fn rewrite_serde_message(message: &str) -> String {
    fn backticked(text: &str) -> Vec<&str> {
        text.split('`').skip(1).step_by(2).collect()
    }
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((name, tail)) = rest.split_once('`')
    {
        let candidates = backticked(tail);
        if candidates.is_empty() {
            return format!("unknown key `{name}`; no keys are allowed here");
        }
        return format!(
            "unknown key `{name}`{}",
            did_you_mean_or_list(name, candidates, "valid keys")
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant `")
        && let Some((name, tail)) = rest.split_once('`')
    {
        return format!(
            "unknown value `{name}`{}",
            did_you_mean_or_list(name, backticked(tail), "valid values")
        );
    }
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some((name, _)) = rest.split_once('`')
    {
        return format!("missing required key `{name}`");
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_are_rewritten() {
        assert_eq!(
            rewrite_serde_message("unknown field `endpiont`, expected `endpoint`"),
            "unknown key `endpiont`; did you mean `endpoint`?"
        );
        assert_eq!(
            rewrite_serde_message("unknown field `zzz`, expected one of `grpc`, `http`"),
            "unknown key `zzz`; valid keys: grpc, http"
        );
        assert_eq!(
            rewrite_serde_message("unknown field `x`, there are no fields"),
            "unknown key `x`; no keys are allowed here"
        );
        assert_eq!(
            rewrite_serde_message("unknown variant `gzp`, expected one of `gzip`, `zstd`"),
            "unknown value `gzp`; did you mean `gzip`?"
        );
        assert_eq!(
            rewrite_serde_message("missing field `endpoint`"),
            "missing required key `endpoint`"
        );
        assert_eq!(
            rewrite_serde_message("invalid type: string \"abc\", expected u64"),
            "invalid type: string \"abc\", expected u64"
        );
    }

    #[test]
    fn secret_values_are_not_echoed() {
        assert!(looks_secret("workspace_key"));
        assert!(looks_secret("instrumentation_key"));
        assert!(looks_secret("Token"));
        assert!(!looks_secret("endpoint"));
        assert_eq!(
            redact_value("invalid type: integer `12345`, expected a string"),
            "invalid type: integer, expected a string"
        );
        assert_eq!(
            redact_value("invalid type: string \"hunter2\", expected u64"),
            "invalid type: string, expected u64"
        );
        assert_eq!(redact_value("must not be empty"), "must not be empty");
    }

    #[test]
    fn problem_paths() {
        assert_eq!(problem_segments(""), Vec::<String>::new());
        assert_eq!(problem_segments("a::b"), vec!["a", "b"]);
        assert_eq!(
            problem_segments("headers[0]::name"),
            vec!["headers", "0", "name"]
        );
        assert_eq!(problem_segments("m[1][2]"), vec!["m", "1", "2"]);
    }

    #[test]
    fn pipeline_ids() {
        assert_eq!(
            "traces".parse::<PipelineId>().unwrap(),
            PipelineId::new(Signal::Traces)
        );
        let id: PipelineId = "logs/eu".parse().unwrap();
        assert_eq!(id, PipelineId::with_name(Signal::Logs, "eu"));
        assert_eq!(id.to_string(), "logs/eu");
        assert_eq!(
            "trace".parse::<PipelineId>(),
            Err(InvalidPipelineId::UnknownType("trace".into()))
        );
        assert!(matches!(
            "traces/".parse::<PipelineId>(),
            Err(InvalidPipelineId::Malformed(_))
        ));
        assert!(matches!(
            "traces/a b".parse::<PipelineId>(),
            Err(InvalidPipelineId::Malformed(_))
        ));
        assert!(PipelineId::new(Signal::Traces) < PipelineId::with_name(Signal::Traces, "a"));
    }
}
