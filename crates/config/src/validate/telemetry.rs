//! `service::telemetry`: stratus's own logs, metrics and traces, in the collector's
//! schema (the OpenTelemetry configuration model that `otelconftelemetry` reads: its
//! v0.2/v0.3 `otlp: {protocol: ...}` exporters and v1 `otlp_grpc` / `otlp_http`).
//!
//! Every key upstream knows is either honoured or rejected with a message naming the
//! key and why; nothing is silently ignored. OTLP exporters of readers and log
//! processors are turned into the config of an `otlp` or `otlphttp` exporter here and
//! checked by that exporter's factory, so what `validate` accepts builds at start.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value, json};
use stratus_core::endpoint::Endpoint;

use super::{Validator, child};
use crate::suggest::did_you_mean_or_list;
use crate::yaml::type_name;

const TELEMETRY_KEYS: [&str; 4] = ["logs", "metrics", "traces", "resource"];
const LOGS_KEYS: [&str; 11] = [
    "level",
    "development",
    "encoding",
    "disable_caller",
    "disable_stacktrace",
    "sampling",
    "output_paths",
    "error_output_paths",
    "initial_fields",
    "processors",
    "disable_zap_resource",
];
const METRICS_KEYS: [&str; 5] = ["level", "address", "readers", "views", "exemplar_filter"];
const TRACES_KEYS: [&str; 5] = ["level", "propagators", "processors", "sampler", "limits"];
const LOG_LEVELS: [&str; 4] = ["debug", "info", "warn", "error"];
const LOG_ENCODINGS: [&str; 2] = ["console", "json"];
const METRICS_LEVELS: [&str; 4] = ["none", "basic", "normal", "detailed"];
const TRACES_LEVELS: [&str; 4] = ["none", "basic", "normal", "detailed"];

/// Upstream's defaults for a periodic reader (otelconf): 60 s between exports, 30 s
/// for one export.
pub const DEFAULT_PERIODIC_INTERVAL: Duration = Duration::from_secs(60);
/// See [`DEFAULT_PERIODIC_INTERVAL`].
pub const DEFAULT_PERIODIC_TIMEOUT: Duration = Duration::from_secs(30);
/// The OTLP exporters' default per-request timeout in the configuration model: 10 s.
pub const DEFAULT_OTLP_TIMEOUT: Duration = Duration::from_secs(10);

/// `service::telemetry`: stratus's own logs, metrics and traces.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TelemetryConfig {
    /// `service::telemetry::logs`.
    pub logs: LogsTelemetry,
    /// `service::telemetry::metrics`.
    pub metrics: MetricsTelemetry,
    /// `service::telemetry::traces`.
    pub traces: TracesTelemetry,
    /// `service::telemetry::resource`.
    pub resource: ResourceConfig,
}

/// `service::telemetry::resource`: attributes of stratus's own telemetry. stratus
/// adds `service.name` (`stratus`), `service.version` and `service.instance.id` (a
/// random UUID per start) unless an attribute of that name is given here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceConfig {
    /// Attributes by name: `Some(value)` sets one (a string, number, bool or list of
    /// them), `None` (a YAML null in the legacy map form) removes a default one.
    pub attributes: BTreeMap<String, Option<Value>>,
    /// `schema_url`, when given.
    pub schema_url: Option<String>,
}

/// `service::telemetry::logs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsTelemetry {
    /// `debug`, `info`, `warn` or `error` (lower-cased); default `info`.
    pub level: String,
    /// `console` (text) or `json`; default `console`.
    pub encoding: String,
    /// `development`: accepted; the Go collector's development mode changes stack
    /// traces and DPanic, neither of which stratus has. Default `false`.
    pub development: bool,
    /// `disable_caller`: leave the source file and line off each line. Default `false`.
    pub disable_caller: bool,
    /// `disable_stacktrace`: stratus never attaches stack traces. Default `false`.
    pub disable_stacktrace: bool,
    /// `disable_zap_resource`: leave the configured resource attributes off console and
    /// JSON lines (OTLP-exported logs keep them as their resource). Default `false`.
    pub disable_zap_resource: bool,
    /// `sampling`; `None` when `enabled: false`. Default: every 10 s, the first 10
    /// lines of each message, then every 100th.
    pub sampling: Option<LogSampling>,
    /// `output_paths`: where log lines go. Default `[stderr]`.
    pub output_paths: Vec<LogOutput>,
    /// `error_output_paths`: where failures to write log lines are reported. Default
    /// `[stderr]`.
    pub error_output_paths: Vec<LogOutput>,
    /// `initial_fields`: added to every line. Default none.
    pub initial_fields: BTreeMap<String, Value>,
    /// `processors`: exporters of stratus's own log events over OTLP. Default none.
    pub processors: Vec<LogProcessor>,
}

impl Default for LogsTelemetry {
    fn default() -> Self {
        LogsTelemetry {
            level: "info".to_string(),
            encoding: "console".to_string(),
            development: false,
            disable_caller: false,
            disable_stacktrace: false,
            disable_zap_resource: false,
            sampling: Some(LogSampling::default()),
            output_paths: vec![LogOutput::Stderr],
            error_output_paths: vec![LogOutput::Stderr],
            initial_fields: BTreeMap::new(),
            processors: Vec::new(),
        }
    }
}

/// `service::telemetry::logs::sampling` (zap's sampler): per message and level, in
/// each `tick`, the first `initial` lines are written, then every `thereafter`-th
/// (none when `thereafter` is 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSampling {
    /// The sampling window. Default `10s`.
    pub tick: Duration,
    /// Lines of one message written per window before sampling starts. Default `10`.
    pub initial: u64,
    /// After `initial`, every `thereafter`-th line is written. Default `100`.
    pub thereafter: u64,
}

impl Default for LogSampling {
    fn default() -> Self {
        LogSampling {
            tick: Duration::from_secs(10),
            initial: 10,
            thereafter: 100,
        }
    }
}

/// One entry of `output_paths` / `error_output_paths`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogOutput {
    /// `stdout`.
    Stdout,
    /// `stderr`.
    Stderr,
    /// A file path (or `file://` URL), appended to.
    File(String),
}

/// One `service::telemetry::logs::processors` entry: stratus's log events exported
/// over OTLP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogProcessor {
    /// `batch:` settings; `None` for `simple:` (each event exported as it comes).
    pub batch: Option<LogBatch>,
    /// Where the events go.
    pub exporter: OtlpExporter,
}

/// `batch:` settings of a log processor (the SDK's batch log record processor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBatch {
    /// `schedule_delay`: the longest an event waits before export. Default `1s`.
    pub schedule_delay: Duration,
    /// `export_timeout`: how long one export may take. Default `30s`.
    pub export_timeout: Duration,
    /// `max_queue_size`: events waiting; more are dropped and counted. Default `2048`.
    pub max_queue_size: usize,
    /// `max_export_batch_size`: events per export. Default `512`.
    pub max_export_batch_size: usize,
}

impl Default for LogBatch {
    fn default() -> Self {
        LogBatch {
            schedule_delay: Duration::from_secs(1),
            export_timeout: Duration::from_secs(30),
            max_queue_size: 2048,
            max_export_batch_size: 512,
        }
    }
}

/// An OTLP exporter of internal telemetry, as the config of the stratus exporter that
/// sends it: `otlp` (gRPC) or `otlphttp`, already checked by that exporter's factory.
#[derive(Clone, PartialEq, Eq)]
pub struct OtlpExporter {
    /// `otlp` or `otlphttp`.
    pub exporter_type: &'static str,
    /// Its config (header values are secrets: not in `Debug`).
    pub config: Value,
    /// Where it sends, for log lines.
    pub endpoint: String,
    /// The per-export timeout (`timeout`). Default `10s`.
    pub timeout: Duration,
}

impl fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpExporter")
            .field("exporter_type", &self.exporter_type)
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// `service::telemetry::metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsTelemetry {
    /// `none`, `basic`, `normal` or `detailed` (lower-cased); default `normal`. `none`
    /// turns internal metrics off; the others give the same metrics in stratus.
    pub level: String,
    /// The readers: `readers`, plus one for the deprecated `address`. Default: one
    /// Prometheus endpoint on `localhost:8888`.
    pub readers: Vec<MetricReader>,
}

impl Default for MetricsTelemetry {
    fn default() -> Self {
        MetricsTelemetry {
            level: "normal".to_string(),
            readers: vec![MetricReader::Pull(PrometheusReader::default())],
        }
    }
}

impl MetricsTelemetry {
    /// Whether internal metrics are produced at all: a reader exists and the level is
    /// not `none`.
    pub fn enabled(&self) -> bool {
        !self.readers.is_empty() && self.level != "none"
    }
}

/// One metric reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricReader {
    /// `pull: exporter: prometheus`: serves `/metrics`.
    Pull(PrometheusReader),
    /// `periodic`: pushes over OTLP every `interval`.
    Periodic(PeriodicReader),
}

/// `pull: exporter: prometheus: {...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrometheusReader {
    /// `host` and `port`. Default `localhost:8888`.
    pub endpoint: Endpoint,
    /// `without_scope_info`: leave off the `otel_scope_name`/`otel_scope_version`
    /// labels. Default `true` (as the collector's default reader).
    pub without_scope_info: bool,
    /// `without_type_suffix`: leave `_total` off counter names. Default `true`.
    pub without_type_suffix: bool,
    /// `without_target_info`: leave out the `target_info` series carrying the
    /// resource. Default `false`.
    pub without_target_info: bool,
    /// `with_resource_constant_labels`: resource attributes added as labels to every
    /// series. Default none.
    pub resource_constant_labels: Option<IncludeExclude>,
}

impl Default for PrometheusReader {
    fn default() -> Self {
        PrometheusReader {
            endpoint: Endpoint::new(
                stratus_core::endpoint::Host::Name("localhost".to_string()),
                8888,
            ),
            without_scope_info: true,
            without_type_suffix: true,
            without_target_info: false,
            resource_constant_labels: None,
        }
    }
}

/// `with_resource_constant_labels`: which resource attributes become labels. Patterns
/// match exactly or with `*` (any run) and `?` (one character).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IncludeExclude {
    /// `included`: attributes to add; empty adds none. Default empty.
    pub included: Vec<String>,
    /// `excluded`: attributes never added, even when included. Default empty.
    pub excluded: Vec<String>,
}

impl IncludeExclude {
    /// Whether the attribute `key` becomes a label.
    pub fn matches(&self, key: &str) -> bool {
        self.included.iter().any(|p| wildcard(p, key))
            && !self.excluded.iter().any(|p| wildcard(p, key))
    }
}

/// `*` and `?` wildcard match.
fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// `periodic: {interval, timeout, exporter}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodicReader {
    /// `interval`: time between exports. Default `60s`.
    pub interval: Duration,
    /// `timeout`: how long one export may take. Default `30s`.
    pub timeout: Duration,
    /// Where the metrics go.
    pub exporter: OtlpExporter,
}

/// `service::telemetry::traces`: accepted; stratus emits no internal traces yet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TracesTelemetry {
    /// Whether the section asks for traces (it has `processors` and the level is not
    /// `none`), which stratus then says it does not emit.
    pub requested: bool,
}

/// The signal an OTLP exporter of internal telemetry carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Carried {
    Metrics,
    Logs,
}

impl Carried {
    fn path(self) -> &'static str {
        match self {
            Carried::Metrics => "metrics",
            Carried::Logs => "logs",
        }
    }
}

impl Validator<'_> {
    pub(super) fn telemetry(&mut self, value: Option<&Value>, path: &[String]) -> TelemetryConfig {
        let mut out = TelemetryConfig::default();
        let Some(map) = self.mapping(value, path) else {
            return out;
        };
        self.unknown_keys(map, path, &TELEMETRY_KEYS);
        let logs_path = child(path, "logs");
        if let Some(logs) = self.mapping(map.get("logs"), &logs_path) {
            self.logs(logs, &logs_path, &mut out.logs);
        }
        let metrics_path = child(path, "metrics");
        if let Some(metrics) = self.mapping(map.get("metrics"), &metrics_path) {
            out.metrics = self.metrics(metrics, &metrics_path);
        }
        let traces_path = child(path, "traces");
        if let Some(traces) = self.mapping(map.get("traces"), &traces_path) {
            out.traces = self.traces(traces, &traces_path);
        }
        out.resource = self.resource(map.get("resource"), &child(path, "resource"));
        out
    }

    fn logs(&mut self, logs: &Map<String, Value>, path: &[String], out: &mut LogsTelemetry) {
        self.unknown_keys(logs, path, &LOGS_KEYS);
        if let Some(level) = self.choice(logs, path, "level", "log level", &LOG_LEVELS) {
            out.level = level;
        }
        if let Some(encoding) = self.choice(logs, path, "encoding", "log encoding", &LOG_ENCODINGS)
        {
            out.encoding = encoding;
        }
        for (key, slot) in [
            ("development", &mut out.development),
            ("disable_caller", &mut out.disable_caller),
            ("disable_stacktrace", &mut out.disable_stacktrace),
            ("disable_zap_resource", &mut out.disable_zap_resource),
        ] {
            if let Some(b) = self.boolean(logs, path, key) {
                *slot = b;
            }
        }
        let sampling_path = child(path, "sampling");
        if let Some(sampling) = self.mapping(logs.get("sampling"), &sampling_path) {
            self.unknown_keys(
                sampling,
                &sampling_path,
                &["enabled", "tick", "initial", "thereafter"],
            );
            let mut s = LogSampling::default();
            let enabled = self
                .boolean(sampling, &sampling_path, "enabled")
                .unwrap_or(true);
            if let Some(tick) = self.go_duration(sampling, &sampling_path, "tick") {
                if tick.is_zero() {
                    self.error(&child(&sampling_path, "tick"), "must be greater than 0");
                }
                s.tick = tick;
            }
            if let Some(n) = self.whole(sampling, &sampling_path, "initial") {
                s.initial = n;
            }
            if let Some(n) = self.whole(sampling, &sampling_path, "thereafter") {
                s.thereafter = n;
            }
            out.sampling = enabled.then_some(s);
        }
        for (key, slot) in [
            ("output_paths", &mut out.output_paths),
            ("error_output_paths", &mut out.error_output_paths),
        ] {
            if let Some(outputs) = self.outputs(logs, path, key) {
                *slot = outputs;
            }
        }
        let fields_path = child(path, "initial_fields");
        if let Some(fields) = self.mapping(logs.get("initial_fields"), &fields_path) {
            for (k, v) in fields {
                match v {
                    Value::Null => {}
                    Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                        out.initial_fields.insert(k.clone(), v.clone());
                    }
                    other => self.error(
                        &child(&fields_path, k.clone()),
                        format!(
                            "expected a string, number or bool, found {}",
                            type_name(other)
                        ),
                    ),
                }
            }
        }
        let procs_path = child(path, "processors");
        for (i, proc) in self
            .list(logs.get("processors"), &procs_path)
            .iter()
            .enumerate()
        {
            let p = child(&procs_path, i.to_string());
            if let Some(proc) = self.log_processor(proc, &p) {
                out.processors.push(proc);
            }
        }
    }

    fn log_processor(&mut self, value: &Value, path: &[String]) -> Option<LogProcessor> {
        let map = self.mapping(Some(value), path)?;
        self.unknown_keys(map, path, &["batch", "simple"]);
        let (kind, body) = match (map.get("batch"), map.get("simple")) {
            (Some(_), Some(_)) => {
                self.error(
                    path,
                    "a processor is either `batch` or `simple`, not both: list them as two processors",
                );
                return None;
            }
            (Some(b), None) => ("batch", b),
            (None, Some(s)) => ("simple", s),
            (None, None) => {
                if map.is_empty() {
                    self.error(
                        path,
                        "expected `batch: {exporter: ...}` or `simple: {exporter: ...}`",
                    );
                }
                return None;
            }
        };
        let p = child(path, kind);
        let body = self.mapping(Some(body), &p)?;
        let batch = if kind == "batch" {
            self.unknown_keys(
                body,
                &p,
                &[
                    "exporter",
                    "schedule_delay",
                    "export_timeout",
                    "max_queue_size",
                    "max_export_batch_size",
                ],
            );
            let mut b = LogBatch::default();
            if let Some(d) = self.millis(body, &p, "schedule_delay") {
                b.schedule_delay = d;
            }
            if let Some(d) = self.millis(body, &p, "export_timeout") {
                // 0 means no limit.
                b.export_timeout = if d.is_zero() { Duration::MAX } else { d };
            }
            if let Some(n) = self.positive(body, &p, "max_queue_size") {
                b.max_queue_size = n;
            }
            if let Some(n) = self.positive(body, &p, "max_export_batch_size") {
                b.max_export_batch_size = n;
            }
            if b.max_export_batch_size > b.max_queue_size {
                self.error(
                    &child(&p, "max_export_batch_size"),
                    format!(
                        "must not exceed `max_queue_size` ({}): a batch is taken from the queue",
                        b.max_queue_size
                    ),
                );
            }
            Some(b)
        } else {
            self.unknown_keys(body, &p, &["exporter"]);
            None
        };
        let exporter =
            self.otlp_exporter(body.get("exporter"), &child(&p, "exporter"), Carried::Logs)?;
        Some(LogProcessor { batch, exporter })
    }

    fn metrics(&mut self, metrics: &Map<String, Value>, path: &[String]) -> MetricsTelemetry {
        let mut out = MetricsTelemetry::default();
        self.unknown_keys(metrics, path, &METRICS_KEYS);
        if let Some(level) = self.choice(metrics, path, "level", "metrics level", &METRICS_LEVELS) {
            out.level = level;
        }
        if metrics.get("views").is_some_and(|v| !v.is_null()) {
            self.error(
                &child(path, "views"),
                "metric views are not supported by stratus: its internal metrics have fixed \
                 names and labels; remove `views`",
            );
        }
        let exemplar_path = child(path, "exemplar_filter");
        if let Some(filter) = self.choice(
            metrics,
            path,
            "exemplar_filter",
            "exemplar filter",
            &["always_off", "always_on", "trace_based"],
        ) && filter == "always_on"
        {
            self.error(
                &exemplar_path,
                "stratus's internal metrics record no exemplars; use `always_off` or \
                 `trace_based` (stratus has no internal traces, so it records none either)",
            );
        }
        let readers_path = child(path, "readers");
        let readers_given = metrics.get("readers").is_some_and(|v| !v.is_null());
        if readers_given {
            out.readers.clear();
            for (i, reader) in self
                .list(metrics.get("readers"), &readers_path)
                .iter()
                .enumerate()
            {
                if let Some(r) = self.reader(reader, &child(&readers_path, i.to_string())) {
                    out.readers.push(r);
                }
            }
        }
        let address_path = child(path, "address");
        let mut address_reader = false;
        match metrics.get("address") {
            None | Some(Value::Null) => {}
            Some(Value::String(address)) => {
                if !readers_given {
                    // As upstream: the address replaces the default reader.
                    out.readers.clear();
                }
                self.warn(
                    &address_path,
                    "`address` is deprecated (the collector removed it): use \
                     `readers: [{pull: {exporter: {prometheus: {host: ..., port: ...}}}}]`",
                );
                if !address.is_empty() {
                    match address.parse::<Endpoint>() {
                        Ok(endpoint) => {
                            address_reader = true;
                            out.readers.push(MetricReader::Pull(PrometheusReader {
                                endpoint,
                                ..PrometheusReader::default()
                            }));
                        }
                        Err(e) => self.error(
                            &address_path,
                            format!(
                                "invalid address: {e}; or \"\" to turn the metrics endpoint off"
                            ),
                        ),
                    }
                }
            }
            Some(other) => self.error(
                &address_path,
                format!(
                    "expected an address `host:port` as a string, found {}",
                    type_name(other)
                ),
            ),
        }
        self.shared_ports(&out.readers, &readers_path, &address_path, address_reader);
        let broken_reader = metrics
            .get("readers")
            .and_then(Value::as_array)
            .is_some_and(|r| r.len() > out.readers.len());
        if readers_given && out.readers.is_empty() && !broken_reader && out.level != "none" {
            self.error(
                &readers_path,
                format!(
                    "no metric reader while `level` is `{}`: add a reader, or set `level: none` \
                     to turn internal metrics off",
                    out.level
                ),
            );
        }
        out
    }

    /// Two `/metrics` endpoints on one port would fail at start: reported here.
    fn shared_ports(
        &mut self,
        readers: &[MetricReader],
        path: &[String],
        address: &[String],
        last_is_address: bool,
    ) {
        use stratus_core::endpoint::Host;
        // `[::]` is dual-stack; `:port` and `0.0.0.0` take every IPv4 address, which a
        // name may resolve to.
        let dual = |h: &Host| matches!(h, Host::Ip(ip) if ip.is_ipv6() && ip.is_unspecified());
        let v4_all = |h: &Host| match h {
            Host::Any => true,
            Host::Ip(ip) => ip.is_ipv4() && ip.is_unspecified(),
            Host::Name(_) => false,
        };
        let v4ish = |h: &Host| match h {
            Host::Ip(ip) => ip.is_ipv4(),
            Host::Any | Host::Name(_) => true,
        };
        let overlap = |a: &Host, b: &Host| {
            a == b || dual(a) || dual(b) || (v4_all(a) && v4ish(b)) || (v4_all(b) && v4ish(a))
        };
        let pulls: Vec<(usize, &Endpoint)> = readers
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match r {
                MetricReader::Pull(p) => Some((i, &p.endpoint)),
                MetricReader::Periodic(_) => None,
            })
            .collect();
        let given = readers.len() - usize::from(last_is_address);
        for (n, (i, a)) in pulls.iter().enumerate() {
            for (j, b) in &pulls[..n] {
                let clash = a.port() != 0 && a.port() == b.port() && overlap(a.host(), b.host());
                if clash {
                    let at = if *i >= given {
                        address.to_vec()
                    } else {
                        child(path, i.to_string())
                    };
                    self.error(
                        &at,
                        format!(
                            "`{a}` shares its port with reader {j} (`{b}`): two metrics \
                             endpoints cannot listen on one port"
                        ),
                    );
                }
            }
        }
    }

    fn reader(&mut self, value: &Value, path: &[String]) -> Option<MetricReader> {
        let map = self.mapping(Some(value), path)?;
        self.unknown_keys(map, path, &["pull", "periodic"]);
        match (map.get("pull"), map.get("periodic")) {
            (Some(_), Some(_)) => {
                self.error(
                    path,
                    "a reader is either `pull` or `periodic`, not both: list them as two readers",
                );
                None
            }
            (Some(pull), None) => self
                .pull(pull, &child(path, "pull"))
                .map(MetricReader::Pull),
            (None, Some(periodic)) => self
                .periodic(periodic, &child(path, "periodic"))
                .map(MetricReader::Periodic),
            (None, None) => {
                if map.is_empty() {
                    self.error(
                        path,
                        "expected `pull: {exporter: ...}` or `periodic: {exporter: ...}`",
                    );
                }
                None
            }
        }
    }

    /// A `pull` reader; `None` when it has errors (reported).
    fn pull(&mut self, value: &Value, path: &[String]) -> Option<PrometheusReader> {
        let before = self.errors.len();
        let reader = self.pull_reader(value, path)?;
        (self.errors.len() == before).then_some(reader)
    }

    fn pull_reader(&mut self, value: &Value, path: &[String]) -> Option<PrometheusReader> {
        let map = self.mapping(Some(value), path)?;
        self.unknown_keys(map, path, &["exporter", "producers", "cardinality_limits"]);
        self.not_supported(
            map,
            path,
            "producers",
            "metric producers (OpenCensus) are not supported by stratus",
        );
        self.not_supported(
            map,
            path,
            "cardinality_limits",
            "stratus's internal metrics have a fixed, small set of series and no cardinality limits",
        );
        let exp_path = child(path, "exporter");
        let Some(exporter) = self.mapping(map.get("exporter"), &exp_path) else {
            if map.get("exporter").is_none() {
                self.error(path, "missing required key `exporter` (e.g. `exporter: {prometheus: {host: localhost, port: 8888}}`)");
            }
            return None;
        };
        self.unknown_keys(
            exporter,
            &exp_path,
            &["prometheus", "prometheus/development"],
        );
        let Some((key, body)) = exporter
            .iter()
            .find(|(k, _)| k.as_str() == "prometheus" || k.as_str() == "prometheus/development")
        else {
            if exporter.is_empty() {
                self.error(
                    &exp_path,
                    "expected `prometheus: {host: ..., port: ...}`: the only pull exporter",
                );
            }
            return None;
        };
        let p = child(&exp_path, key.clone());
        let empty = Map::new();
        let body = self.mapping(Some(body), &p).unwrap_or(&empty);
        self.unknown_keys(
            body,
            &p,
            &[
                "host",
                "port",
                "without_scope_info",
                "without_units",
                "without_type_suffix",
                "without_target_info",
                "with_resource_constant_labels",
                "translation_strategy",
            ],
        );
        let mut out = PrometheusReader::default();
        let host = self
            .string(body, &p, "host")
            .unwrap_or_else(|| "localhost".to_string());
        let port = match body.get("port") {
            None | Some(Value::Null) => Some(8888),
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n <= u64::from(u16::MAX)) => {
                n.as_u64().and_then(|n| u16::try_from(n).ok())
            }
            Some(other) => {
                self.error(
                    &child(&p, "port"),
                    format!(
                        "expected a port number from 0 to 65535, found {}",
                        shown(other)
                    ),
                );
                None
            }
        };
        match Endpoint::from_host_port(&host, port.unwrap_or(0)) {
            Ok(e) if port.is_some() => out.endpoint = e,
            Ok(_) => {}
            Err(e) => self.error(&child(&p, "host"), e.to_string()),
        }
        for (key, slot) in [
            ("without_scope_info", &mut out.without_scope_info),
            ("without_type_suffix", &mut out.without_type_suffix),
            ("without_target_info", &mut out.without_target_info),
        ] {
            if let Some(b) = self.boolean(body, &p, key) {
                *slot = b;
            }
        }
        if self.boolean(body, &p, "without_units") == Some(false) {
            self.error(
                &child(&p, "without_units"),
                "stratus's internal metrics carry no units, so it cannot add unit suffixes: \
                 remove `without_units` or set it to `true`",
            );
        }
        if let Some(strategy) = self.string(body, &p, "translation_strategy") {
            match strategy.as_str() {
                "UnderscoreEscapingWithoutSuffixes" | "NoTranslation" => {}
                "UnderscoreEscapingWithSuffixes" | "NoUTF8EscapingWithSuffixes" => self.error(
                    &child(&p, "translation_strategy"),
                    format!(
                        "`{strategy}` adds unit suffixes, and stratus's internal metrics carry no \
                         units: use `UnderscoreEscapingWithoutSuffixes`"
                    ),
                ),
                other => self.error(
                    &child(&p, "translation_strategy"),
                    format!(
                        "invalid translation strategy `{other}`{}",
                        did_you_mean_or_list(
                            other,
                            [
                                "UnderscoreEscapingWithSuffixes",
                                "UnderscoreEscapingWithoutSuffixes",
                                "NoUTF8EscapingWithSuffixes",
                                "NoTranslation"
                            ],
                            "valid values"
                        )
                    ),
                ),
            }
        }
        let labels_path = child(&p, "with_resource_constant_labels");
        if let Some(labels) = self.mapping(body.get("with_resource_constant_labels"), &labels_path)
        {
            self.unknown_keys(labels, &labels_path, &["included", "excluded"]);
            out.resource_constant_labels = Some(IncludeExclude {
                included: self
                    .strings(labels, &labels_path, "included")
                    .unwrap_or_default(),
                excluded: self
                    .strings(labels, &labels_path, "excluded")
                    .unwrap_or_default(),
            });
        }
        Some(out)
    }

    fn periodic(&mut self, value: &Value, path: &[String]) -> Option<PeriodicReader> {
        let map = self.mapping(Some(value), path)?;
        self.unknown_keys(
            map,
            path,
            &[
                "interval",
                "timeout",
                "exporter",
                "producers",
                "cardinality_limits",
            ],
        );
        self.not_supported(
            map,
            path,
            "producers",
            "metric producers (OpenCensus) are not supported by stratus",
        );
        self.not_supported(
            map,
            path,
            "cardinality_limits",
            "stratus's internal metrics have a fixed, small set of series and no cardinality limits",
        );
        let interval = self.millis(map, path, "interval");
        if interval.is_some_and(|d| d.is_zero()) {
            self.error(&child(path, "interval"), "must be greater than 0");
        }
        let timeout = self.millis(map, path, "timeout");
        let exporter = self.otlp_exporter(
            map.get("exporter"),
            &child(path, "exporter"),
            Carried::Metrics,
        );
        Some(PeriodicReader {
            interval: interval.unwrap_or(DEFAULT_PERIODIC_INTERVAL),
            timeout: match timeout {
                Some(d) if d.is_zero() => Duration::MAX,
                Some(d) => d,
                None => DEFAULT_PERIODIC_TIMEOUT,
            },
            exporter: exporter?,
        })
    }

    /// `exporter: {otlp: ...}` (or `otlp_grpc`, `otlp_http`), turned into the config of
    /// a stratus `otlp`/`otlphttp` exporter and checked by its factory.
    fn otlp_exporter(
        &mut self,
        value: Option<&Value>,
        path: &[String],
        carried: Carried,
    ) -> Option<OtlpExporter> {
        let Some(map) = self.mapping(value, path) else {
            if value.is_none() {
                let parent = &path[..path.len() - 1];
                self.error(
                    parent,
                    "missing required key `exporter` (e.g. `exporter: {otlp: {protocol: grpc, \
                     endpoint: http://localhost:4317}}`)",
                );
            }
            return None;
        };
        self.unknown_keys(
            map,
            path,
            &[
                "otlp",
                "otlp_grpc",
                "otlp_http",
                "console",
                "otlp_file/development",
            ],
        );
        for (key, why) in [
            (
                "console",
                "the console exporter is not supported by stratus: use `otlp`, or the logs' own `output_paths`",
            ),
            (
                "otlp_file/development",
                "the OTLP file exporter is not supported by stratus here: use `otlp`",
            ),
        ] {
            if map.contains_key(key) {
                self.error(&child(path, key), why);
            }
        }
        let forms: Vec<&String> = map
            .keys()
            .filter(|k| matches!(k.as_str(), "otlp" | "otlp_grpc" | "otlp_http"))
            .collect();
        if forms.len() > 1 {
            self.error(
                path,
                "give exactly one exporter (`otlp`, `otlp_grpc` or `otlp_http`): list several \
                 readers or processors to send to several places",
            );
            return None;
        }
        let Some(form) = forms.first().map(|f| f.to_string()) else {
            if map.is_empty() {
                self.error(
                    path,
                    "expected one of `otlp: {protocol: ..., endpoint: ...}`, `otlp_grpc` or `otlp_http`",
                );
            }
            return None;
        };
        let p = child(path, form.clone());
        let empty = Map::new();
        let body = self.mapping(map.get(&form), &p).unwrap_or(&empty);
        let mut keys = vec![
            "endpoint",
            "headers",
            "headers_list",
            "timeout",
            "compression",
        ];
        if form == "otlp" {
            keys.extend([
                "protocol",
                "insecure",
                "certificate",
                "client_certificate",
                "client_key",
            ]);
        } else {
            keys.push("tls");
        }
        if form == "otlp_http" {
            keys.push("encoding");
        }
        if carried == Carried::Metrics {
            keys.extend(["temporality_preference", "default_histogram_aggregation"]);
        }
        self.unknown_keys(body, &p, &keys);

        // Protocol: `otlp` says it; `otlp_grpc` / `otlp_http` are it.
        let (grpc, json_encoding) = match form.as_str() {
            "otlp_grpc" => (true, false),
            "otlp_http" => {
                let json =
                    match self.choice(body, &p, "encoding", "encoding", &["protobuf", "json"]) {
                        Some(e) => e == "json",
                        None => false,
                    };
                (false, json)
            }
            _ => match body.get("protocol") {
                None | Some(Value::Null) => {
                    self.error(
                        &p,
                        "missing required key `protocol`: `grpc`, `http/protobuf` or `http/json`",
                    );
                    return None;
                }
                Some(_) => {
                    let protocol = self.choice(
                        body,
                        &p,
                        "protocol",
                        "protocol",
                        &["grpc", "grpc/protobuf", "http/protobuf", "http/json"],
                    )?;
                    (protocol.starts_with("grpc"), protocol == "http/json")
                }
            },
        };

        // TLS: v0.3 flat keys, v1 `tls:` block.
        let mut tls = Map::new();
        let mut insecure = false;
        if form == "otlp" {
            insecure = self.boolean(body, &p, "insecure").unwrap_or(false);
            for (key, to) in [
                ("certificate", "ca_file"),
                ("client_certificate", "cert_file"),
                ("client_key", "key_file"),
            ] {
                if let Some(file) = self.string(body, &p, key) {
                    tls.insert(to.to_string(), Value::String(file));
                }
            }
        } else {
            let tls_path = child(&p, "tls");
            if let Some(block) = self.mapping(body.get("tls"), &tls_path) {
                let mut allowed = vec!["ca_file", "cert_file", "key_file"];
                if grpc {
                    allowed.push("insecure");
                }
                self.unknown_keys(block, &tls_path, &allowed);
                insecure = self.boolean(block, &tls_path, "insecure").unwrap_or(false);
                for key in ["ca_file", "cert_file", "key_file"] {
                    if let Some(file) = self.string(block, &tls_path, key) {
                        tls.insert(key.to_string(), Value::String(file));
                    }
                }
            }
        }

        // Endpoint, with the collector's normalisation: no scheme means https, or
        // http when `insecure`.
        let default_endpoint = if grpc {
            "http://localhost:4317".to_string()
        } else {
            format!("http://localhost:4318/v1/{}", carried.path())
        };
        let mut endpoint = self
            .string(body, &p, "endpoint")
            .unwrap_or(default_endpoint);
        if !endpoint.contains("://") {
            endpoint = format!("{}://{endpoint}", if insecure { "http" } else { "https" });
        }
        if !grpc {
            let after_scheme = endpoint.split_once("://").map_or("", |(_, rest)| rest);
            if after_scheme
                .find('/')
                .is_none_or(|i| after_scheme[i..] == *"/")
            {
                let (scheme, rest) = endpoint.split_once("://").unwrap_or(("https", ""));
                endpoint = format!(
                    "{scheme}://{}/v1/{}",
                    rest.trim_end_matches('/'),
                    carried.path()
                );
            }
        }

        // Headers: the v0.3/v1 list of `{name, value}`, the v0.2 map, and
        // `headers_list` (`k=v,k2=v2`, lower priority).
        let mut headers = Map::new();
        if let Some(list) = self.string(body, &p, "headers_list") {
            for pair in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match pair.split_once('=') {
                    Some((k, v)) if !k.trim().is_empty() => {
                        headers.insert(k.trim().to_string(), Value::String(v.trim().to_string()));
                    }
                    _ => self.error(
                        &child(&p, "headers_list"),
                        "expected comma-separated `name=value` pairs",
                    ),
                }
            }
        }
        let headers_path = child(&p, "headers");
        match body.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let ip = child(&headers_path, i.to_string());
                    let Some(pair) = self.mapping(Some(item), &ip) else {
                        continue;
                    };
                    self.unknown_keys(pair, &ip, &["name", "value"]);
                    let Some(name) = self.string(pair, &ip, "name") else {
                        self.error(&ip, "missing required key `name`");
                        continue;
                    };
                    match pair.get("value") {
                        None | Some(Value::Null) => {}
                        Some(Value::String(v)) => {
                            headers.insert(name, Value::String(v.clone()));
                        }
                        Some(other) => self.error(
                            &child(&ip, "value"),
                            format!("expected a string, found {}", type_name(other)),
                        ),
                    }
                }
            }
            Some(Value::Object(pairs)) => {
                for (k, v) in pairs {
                    match v {
                        Value::String(v) => {
                            headers.insert(k.clone(), Value::String(v.clone()));
                        }
                        other => self.error(
                            &child(&headers_path, k.clone()),
                            format!("expected a string, found {}", type_name(other)),
                        ),
                    }
                }
            }
            Some(other) => self.error(
                &headers_path,
                format!(
                    "expected a list of `{{name, value}}` (or a mapping), found {}",
                    type_name(other)
                ),
            ),
        }

        let compression = self
            .choice(
                body,
                &p,
                "compression",
                "compression",
                &["none", "gzip", "zstd"],
            )
            .unwrap_or_else(|| "none".to_string());
        let timeout = match self.millis(body, &p, "timeout") {
            Some(d) if d.is_zero() => Duration::MAX,
            Some(d) => d,
            None => DEFAULT_OTLP_TIMEOUT,
        };
        if carried == Carried::Metrics {
            if let Some(t) = self.choice(
                body,
                &p,
                "temporality_preference",
                "temporality preference",
                &["cumulative", "delta", "low_memory", "lowmemory"],
            ) && t != "cumulative"
            {
                self.error(
                    &child(&p, "temporality_preference"),
                    format!(
                        "stratus pushes its internal metrics as cumulative totals only; `{t}` is \
                         not supported: use `cumulative`"
                    ),
                );
            }
            if let Some(h) = self.choice(
                body,
                &p,
                "default_histogram_aggregation",
                "histogram aggregation",
                &[
                    "explicit_bucket_histogram",
                    "base2_exponential_bucket_histogram",
                ],
            ) && h != "explicit_bucket_histogram"
            {
                self.error(
                    &child(&p, "default_histogram_aggregation"),
                    "stratus's internal histograms have explicit buckets only: use \
                     `explicit_bucket_histogram`",
                );
            }
        }

        // The exporter's own per-request timeout; the reader/processor bounds the
        // whole export, so no retries and no queue here.
        let exporter_timeout = if timeout == Duration::MAX {
            "1h".to_string()
        } else {
            format!("{}ms", timeout.as_millis().max(1))
        };
        let mut config = Map::new();
        let exporter_type = if grpc {
            config.insert("endpoint".into(), Value::String(endpoint.clone()));
            if insecure {
                tls.insert("insecure".into(), Value::Bool(true));
            }
            "otlp"
        } else {
            let key = format!("{}_endpoint", carried.path());
            config.insert(key, Value::String(endpoint.clone()));
            config.insert(
                "encoding".into(),
                Value::String(if json_encoding { "json" } else { "proto" }.into()),
            );
            "otlphttp"
        };
        if !tls.is_empty() {
            config.insert("tls".into(), Value::Object(tls));
        }
        if !headers.is_empty() {
            config.insert("headers".into(), Value::Object(headers));
        }
        config.insert("compression".into(), Value::String(compression));
        config.insert("timeout".into(), Value::String(exporter_timeout));
        config.insert("retry_on_failure".into(), json!({"enabled": false}));
        config.insert("sending_queue".into(), json!({"enabled": false}));
        let config = Value::Object(config);

        let Some(factory) = self.factories.exporters.get(exporter_type) else {
            self.error(
                &p,
                format!(
                    "this build of stratus has no `{exporter_type}` exporter, which sends internal \
                     {} over OTLP/{}",
                    carried.path(),
                    if grpc { "gRPC" } else { "HTTP" }
                ),
            );
            return None;
        };
        if let Err(problems) = factory.check_config(&config) {
            for problem in problems {
                let key = problem.path.split("::").next().unwrap_or_default();
                let at = match key {
                    "endpoint" | "metrics_endpoint" | "logs_endpoint" => child(&p, "endpoint"),
                    "headers" => headers_path.clone(),
                    "tls" if form == "otlp" => p.clone(),
                    "tls" => child(&p, "tls"),
                    "compression" => child(&p, "compression"),
                    "timeout" => child(&p, "timeout"),
                    _ => p.clone(),
                };
                let message = if key == "headers" {
                    format!(
                        "header `{}` {}",
                        problem.path.trim_start_matches("headers::"),
                        problem.message
                    )
                } else if key == "tls" {
                    format!("{}: {}", problem.path, problem.message)
                } else {
                    problem.message
                };
                self.error(&at, message);
            }
            return None;
        }
        Some(OtlpExporter {
            exporter_type,
            config,
            endpoint,
            timeout,
        })
    }

    fn traces(&mut self, traces: &Map<String, Value>, path: &[String]) -> TracesTelemetry {
        self.unknown_keys(traces, path, &TRACES_KEYS);
        let level = self
            .choice(traces, path, "level", "traces level", &TRACES_LEVELS)
            .unwrap_or_else(|| "basic".to_string());
        let processors = traces
            .get("processors")
            .and_then(Value::as_array)
            .is_some_and(|p| !p.is_empty());
        TracesTelemetry {
            requested: processors && level != "none",
        }
    }

    fn resource(&mut self, value: Option<&Value>, path: &[String]) -> ResourceConfig {
        let mut out = ResourceConfig::default();
        let Some(map) = self.mapping(value, path) else {
            return out;
        };
        let mut legacy = false;
        let mut declarative = false;
        for (key, v) in map {
            let p = child(path, key.clone());
            match key.as_str() {
                "attributes" => {
                    declarative = true;
                    for (i, item) in self.list(Some(v), &p).iter().enumerate() {
                        let ip = child(&p, i.to_string());
                        let Some(attr) = self.mapping(Some(item), &ip) else {
                            continue;
                        };
                        self.unknown_keys(attr, &ip, &["name", "value", "type"]);
                        let Some(name) = self.string(attr, &ip, "name") else {
                            self.error(&ip, "missing required key `name`");
                            continue;
                        };
                        let ty = self.choice(
                            attr,
                            &ip,
                            "type",
                            "attribute type",
                            &[
                                "string",
                                "bool",
                                "int",
                                "double",
                                "string_array",
                                "bool_array",
                                "int_array",
                                "double_array",
                            ],
                        );
                        match attr.get("value") {
                            None | Some(Value::Null) => {
                                self.error(&ip, "missing required key `value`");
                            }
                            Some(value) => {
                                if let Some(value) =
                                    self.typed_value(value, ty.as_deref(), &child(&ip, "value"))
                                {
                                    out.attributes.insert(name, Some(value));
                                }
                            }
                        }
                    }
                }
                "schema_url" => match v {
                    Value::String(s) => out.schema_url = Some(s.clone()),
                    Value::Null => {}
                    other => {
                        self.error(&p, format!("expected a string, found {}", type_name(other)))
                    }
                },
                "attributes_list" => self.error(
                    &p,
                    "`attributes_list` is not supported (nor by the collector): use `attributes`",
                ),
                "detection/development" | "detectors" => self.error(
                    &p,
                    "resource detection is not supported for stratus's own telemetry: set the \
                     attributes you need (environment references like `${env:HOSTNAME}` work)",
                ),
                _ => {
                    legacy = true;
                    match v {
                        Value::Null => {
                            out.attributes.insert(key.clone(), None);
                        }
                        Value::String(s) => {
                            out.attributes
                                .insert(key.clone(), Some(Value::String(s.clone())));
                        }
                        other => self.error(
                            &p,
                            format!(
                                "a resource attribute in the map form is a string (or null to \
                                 remove a default one), found {}; use `attributes: [{{name, value, \
                                 type}}]` for other types",
                                type_name(other)
                            ),
                        ),
                    }
                }
            }
        }
        if legacy && declarative {
            self.error(
                &child(path, "attributes"),
                "`attributes` cannot be used together with attributes written directly under \
                 `resource` (the legacy map form): choose one form",
            );
        }
        out
    }

    /// A declarative attribute value of `type` (default string).
    fn typed_value(&mut self, value: &Value, ty: Option<&str>, path: &[String]) -> Option<Value> {
        let scalar_ok = |ty: &str, v: &Value| match ty {
            "string" => v.is_string(),
            "bool" => v.is_boolean(),
            "int" => v.is_i64() || v.is_u64(),
            "double" => v.is_number(),
            _ => false,
        };
        let ty = ty.unwrap_or("string");
        let ok = match ty.strip_suffix("_array") {
            Some(elem) => value
                .as_array()
                .is_some_and(|items| items.iter().all(|i| scalar_ok(elem, i))),
            None => {
                scalar_ok(ty, value)
                    || (ty == "string" && (value.is_number() || value.is_boolean()))
            }
        };
        if !ok {
            self.error(
                path,
                format!("expected a value of type `{ty}`, found {}", shown(value)),
            );
            return None;
        }
        if ty == "string" && !value.is_string() {
            return Some(Value::String(value.to_string()));
        }
        Some(value.clone())
    }

    // --- small typed readers -------------------------------------------------------

    fn not_supported(&mut self, map: &Map<String, Value>, path: &[String], key: &str, why: &str) {
        if map.get(key).is_some_and(|v| !v.is_null()) {
            self.error(&child(path, key), format!("{why}; remove `{key}`"));
        }
    }

    fn list<'v>(&mut self, value: Option<&'v Value>, path: &[String]) -> &'v [Value] {
        match value {
            None | Some(Value::Null) => &[],
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.error(path, format!("expected a list, found {}", type_name(other)));
                &[]
            }
        }
    }

    fn boolean(&mut self, map: &Map<String, Value>, path: &[String], key: &str) -> Option<bool> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                self.error(
                    &child(path, key),
                    format!("expected true or false, found {}", type_name(other)),
                );
                None
            }
        }
    }

    fn string(&mut self, map: &Map<String, Value>, path: &[String], key: &str) -> Option<String> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.error(
                    &child(path, key),
                    format!("expected a string, found {}", type_name(other)),
                );
                None
            }
        }
    }

    fn strings(
        &mut self,
        map: &Map<String, Value>,
        path: &[String],
        key: &str,
    ) -> Option<Vec<String>> {
        let p = child(path, key);
        let items = self.list(map.get(key), &p);
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => out.push(s.clone()),
                other => self.error(
                    &child(&p, i.to_string()),
                    format!("expected a string, found {}", type_name(other)),
                ),
            }
        }
        map.get(key).is_some().then_some(out)
    }

    fn whole(&mut self, map: &Map<String, Value>, path: &[String], key: &str) -> Option<u64> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
            Some(other) => {
                self.error(
                    &child(path, key),
                    format!(
                        "expected a whole number of 0 or more, found {}",
                        shown(other)
                    ),
                );
                None
            }
        }
    }

    fn positive(&mut self, map: &Map<String, Value>, path: &[String], key: &str) -> Option<usize> {
        let n = self.whole(map, path, key)?;
        if n == 0 {
            self.error(&child(path, key), "must be greater than 0");
            return None;
        }
        usize::try_from(n).ok()
    }

    /// The configuration model's milliseconds (`60000`), or a Go duration (`60s`).
    fn millis(&mut self, map: &Map<String, Value>, path: &[String], key: &str) -> Option<Duration> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64().map(Duration::from_millis),
            Some(Value::String(s)) => match stratus_core::confval::parse_duration(s) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.error(&child(path, key), e);
                    None
                }
            },
            Some(other) => {
                self.error(
                    &child(path, key),
                    format!(
                        "expected milliseconds (e.g. `60000`) or a duration (e.g. `60s`), found {}",
                        shown(other)
                    ),
                );
                None
            }
        }
    }

    /// A Go duration (`10s`).
    fn go_duration(
        &mut self,
        map: &Map<String, Value>,
        path: &[String],
        key: &str,
    ) -> Option<Duration> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match stratus_core::confval::parse_duration(s) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.error(&child(path, key), e);
                    None
                }
            },
            Some(other) => {
                self.error(
                    &child(path, key),
                    format!("expected a duration (e.g. `10s`), found {}", shown(other)),
                );
                None
            }
        }
    }

    fn outputs(
        &mut self,
        map: &Map<String, Value>,
        path: &[String],
        key: &str,
    ) -> Option<Vec<LogOutput>> {
        let p = child(path, key);
        let given = self.strings(map, path, key)?;
        let mut out = Vec::new();
        for (i, text) in given.iter().enumerate() {
            let ip = child(&p, i.to_string());
            match text.as_str() {
                "stdout" => out.push(LogOutput::Stdout),
                "stderr" => out.push(LogOutput::Stderr),
                "" => self.error(&ip, "must not be empty: `stdout`, `stderr` or a file path"),
                t => {
                    if let Some(rest) = t.strip_prefix("file://") {
                        if rest.starts_with('/') {
                            out.push(LogOutput::File(rest.to_string()));
                        } else {
                            self.error(&ip, format!("`{t}`: a `file://` URL needs an absolute path (`file:///var/log/stratus.log`)"));
                        }
                    } else if let Some((scheme, _)) = t.split_once("://") {
                        self.error(
                            &ip,
                            format!("`{scheme}://` outputs are not supported: use `stdout`, `stderr`, a file path or a `file://` URL"),
                        );
                    } else {
                        out.push(LogOutput::File(t.to_string()));
                    }
                }
            }
        }
        Some(out)
    }
}

/// A value for a message: its type, and the value itself when it is a short scalar.
fn shown(v: &Value) -> String {
    match v {
        Value::Number(n) => format!("{} `{n}`", type_name(v)),
        Value::String(s) if s.len() <= 40 => format!("{} `{s}`", type_name(v)),
        _ => type_name(v).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("service.*", "service.name"));
        assert!(wildcard("*", "anything"));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "abbc"));
        assert!(wildcard("exact", "exact"));
        assert!(!wildcard("service.*", "host.name"));
        let ie = IncludeExclude {
            included: vec!["service.*".into()],
            excluded: vec!["service.instance.id".into()],
        };
        assert!(ie.matches("service.name"));
        assert!(!ie.matches("service.instance.id"));
        assert!(!IncludeExclude::default().matches("service.name"));
    }
}
