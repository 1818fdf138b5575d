//! The `loadbalancing` exporter's config, with the collector's keys and defaults.

use std::time::Duration;

use serde::{Deserialize, Deserializer};
use stratus_core::Signal;
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_otlp_client::OtlpConfig;

/// The port a backend without one gets, and the DNS resolver's default port: 4317.
pub const DEFAULT_PORT: u16 = 4317;

/// What decides which backend an item goes to (`routing_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutingKey {
    /// `traceID`: the trace id; every span (or log record) of a trace goes to one
    /// backend. Traces and logs; the default for both.
    TraceId,
    /// `service`: the resource's `service.name`; all data of a service goes to one
    /// backend. Every signal; the default for metrics.
    Service,
    /// `resource`: the resource's identity (its attributes). Metrics.
    Resource,
    /// `metric`: the metric name. Metrics.
    Metric,
    /// `streamID`: the data point's stream (resource, scope, metric identity and the
    /// point's attributes). Metrics.
    StreamId,
}

impl RoutingKey {
    /// The config spelling (`traceID`, `service`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingKey::TraceId => "traceID",
            RoutingKey::Service => "service",
            RoutingKey::Resource => "resource",
            RoutingKey::Metric => "metric",
            RoutingKey::StreamId => "streamID",
        }
    }

    /// Parses the config spelling.
    pub fn parse(text: &str) -> Option<RoutingKey> {
        [
            RoutingKey::TraceId,
            RoutingKey::Service,
            RoutingKey::Resource,
            RoutingKey::Metric,
            RoutingKey::StreamId,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }

    /// The key used for `signal` when `routing_key` is not set, as upstream:
    /// `traceID` for traces and logs, `service` for metrics.
    pub fn default_for(signal: Signal) -> RoutingKey {
        match signal {
            Signal::Traces | Signal::Logs => RoutingKey::TraceId,
            Signal::Metrics => RoutingKey::Service,
        }
    }

    /// Whether this key can route `signal` (upstream's table: `traceID` traces and
    /// logs, `service` everything, `resource`, `metric` and `streamID` metrics).
    pub fn supports(self, signal: Signal) -> bool {
        match self {
            RoutingKey::TraceId => signal != Signal::Metrics,
            RoutingKey::Service => true,
            RoutingKey::Resource | RoutingKey::Metric | RoutingKey::StreamId => {
                signal == Signal::Metrics
            }
        }
    }
}

/// `protocol`: how backends are spoken to. Only OTLP, as upstream.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProtocolConfig {
    /// The `otlp_grpc` exporter's settings for every backend (`tls`, `headers`,
    /// `compression`, `timeout`, `retry_on_failure`, `sending_queue`, `keepalive`).
    /// `endpoint` is ignored: each backend's address takes its place. Default: the
    /// otlp exporter's defaults (TLS, gzip, 5s timeout, retries, a 1000-request
    /// queue per backend).
    pub otlp: OtlpConfig,
}

#[allow(clippy::derivable_impls)] // house rule: one hand-written Default
impl Default for ProtocolConfig {
    fn default() -> Self {
        ProtocolConfig {
            otlp: OtlpConfig::default(),
        }
    }
}

/// `resolver::static`: a fixed list of backends.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaticResolverConfig {
    /// Backends, `host:port` (a backend without a port gets 4317). Order does not
    /// matter: the list is sorted. Required: at least one. Default: empty.
    pub hostnames: Vec<String>,
}

#[allow(clippy::derivable_impls)] // house rule: one hand-written Default
impl Default for StaticResolverConfig {
    fn default() -> Self {
        StaticResolverConfig {
            hostnames: Vec::new(),
        }
    }
}

/// `resolver::dns`: the backends are the addresses a name resolves to, looked up again
/// every `interval`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsResolverConfig {
    /// The name to resolve (a Kubernetes headless Service:
    /// `otelcol-gateway.observability.svc.cluster.local`). Required. Default: empty.
    pub hostname: String,
    /// The port every resolved address is reached on (number or string). Default
    /// `4317`.
    #[serde(deserialize_with = "port")]
    pub port: u16,
    /// How often the name is resolved again. Default `5s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub interval: Duration,
    /// How long one resolution may take. Default `1s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
}

impl Default for DnsResolverConfig {
    fn default() -> Self {
        DnsResolverConfig {
            hostname: String::new(),
            port: DEFAULT_PORT,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
        }
    }
}

/// A port written as a number (`4317`) or a string (`"4317"`, upstream's type).
fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    let bad = || serde::de::Error::custom("invalid port: expected a number from 1 to 65535");
    let n = match Raw::deserialize(d).map_err(|_| bad())? {
        Raw::Number(n) => n,
        Raw::Text(t) => t.trim().parse::<u64>().map_err(|_| bad())?,
    };
    u16::try_from(n).ok().filter(|p| *p != 0).ok_or_else(bad)
}

/// `resolver`: where the list of backends comes from. Exactly one of `static` and
/// `dns`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResolverConfig {
    /// A fixed list of backends. Default: absent.
    #[serde(rename = "static")]
    pub static_: Option<StaticResolverConfig>,
    /// Backends from a DNS name. Default: absent.
    pub dns: Option<DnsResolverConfig>,
    /// Upstream's Kubernetes resolver: not supported (rejected with advice). Default:
    /// absent.
    pub k8s: Option<serde_json::Value>,
    /// Upstream's AWS Cloud Map resolver: not supported (rejected with advice).
    /// Default: absent.
    pub aws_cloud_map: Option<serde_json::Value>,
}

#[allow(clippy::derivable_impls)] // house rule: one hand-written Default
impl Default for ResolverConfig {
    fn default() -> Self {
        ResolverConfig {
            static_: None,
            dns: None,
            k8s: None,
            aws_cloud_map: None,
        }
    }
}

/// The config of the `loadbalancing` exporter.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadBalancingConfig {
    /// What decides the backend: `traceID`, `service`, `resource`, `metric` or
    /// `streamID` (see [`RoutingKey`]). Default: empty, meaning `traceID` for traces
    /// and logs and `service` for metrics.
    pub routing_key: String,
    /// How backends are spoken to: `otlp` (the otlp exporter's settings). Default: the
    /// otlp exporter's defaults.
    pub protocol: ProtocolConfig,
    /// Where the backends come from: `static` or `dns`. Required.
    pub resolver: ResolverConfig,
    /// Upstream's load-balancer-wide `timeout`: rejected with advice (stratus times
    /// out, retries and queues per backend, under `protocol::otlp`). Default: absent.
    pub timeout: Option<serde_json::Value>,
    /// Upstream's load-balancer-wide `retry_on_failure`: rejected with advice.
    /// Default: absent.
    pub retry_on_failure: Option<serde_json::Value>,
    /// Upstream's load-balancer-wide `sending_queue`: rejected with advice. Default:
    /// absent.
    pub sending_queue: Option<serde_json::Value>,
}

#[allow(clippy::derivable_impls)] // house rule: one hand-written Default
impl Default for LoadBalancingConfig {
    fn default() -> Self {
        LoadBalancingConfig {
            routing_key: String::new(),
            protocol: ProtocolConfig::default(),
            resolver: ResolverConfig::default(),
            timeout: None,
            retry_on_failure: None,
            sending_queue: None,
        }
    }
}

/// The address a backend named `name` is reached at: `name` itself when it has a
/// port, `name:4317` otherwise (upstream's rule, which also takes `[::1]` as having
/// none).
pub fn endpoint_with_port(name: &str) -> String {
    let has_port = match name.rfind(']') {
        Some(close) => name[close..].contains(':'),
        None => name.contains(':'),
    };
    if has_port {
        name.to_string()
    } else {
        format!("{name}:{DEFAULT_PORT}")
    }
}

impl LoadBalancingConfig {
    /// The configured routing key; `None` when unset (each signal's default).
    pub fn routing_key(&self) -> Option<RoutingKey> {
        RoutingKey::parse(self.routing_key.trim())
    }

    /// The key used for `signal`, or why this config cannot route it.
    pub fn key_for(&self, signal: Signal) -> Result<RoutingKey, String> {
        let key = match self.routing_key.trim() {
            "" => return Ok(RoutingKey::default_for(signal)),
            text => {
                RoutingKey::parse(text).ok_or_else(|| format!("unknown routing_key `{text}`"))?
            }
        };
        if key.supports(signal) {
            Ok(key)
        } else {
            Err(format!(
                "routing_key `{}` cannot route {signal}: use {} for {signal}",
                key.as_str(),
                match signal {
                    Signal::Metrics => "`service`, `resource`, `metric` or `streamID`",
                    _ => "`traceID` or `service`",
                }
            ))
        }
    }

    /// The otlp exporter config of the backend at `endpoint` (`host:port`).
    pub fn backend_config(&self, endpoint: &str) -> OtlpConfig {
        OtlpConfig {
            endpoint: endpoint.to_string(),
            ..self.protocol.otlp.clone()
        }
    }
}

impl Validate for LoadBalancingConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let key = self.routing_key.trim();
        if !key.is_empty() && RoutingKey::parse(key).is_none() {
            let hint = if key == "attributes" {
                "routing by `attributes` is not supported by stratus; "
            } else {
                ""
            };
            problems.push(ConfigProblem::new(
                "routing_key",
                format!(
                    "unknown routing key `{key}`: {hint}use `traceID` (traces, logs), `service` \
                     (every signal), or for metrics `resource`, `metric` or `streamID`"
                ),
            ));
        }
        for (name, present) in [
            ("timeout", self.timeout.is_some()),
            ("retry_on_failure", self.retry_on_failure.is_some()),
            ("sending_queue", self.sending_queue.is_some()),
        ] {
            if present {
                problems.push(ConfigProblem::new(
                    name,
                    format!(
                        "stratus times out, retries and queues per backend: set \
                         `protocol::otlp::{name}` instead (a backend that fails hands what it \
                         holds to the next backend on the ring)"
                    ),
                ));
            }
        }
        // `endpoint` is filled per backend: check the rest with a stand-in.
        let otlp = self.backend_config("backend:4317");
        problems.extend(
            otlp.validate()
                .into_iter()
                .map(|p| ConfigProblem::new(format!("protocol::otlp::{}", p.path), p.message)),
        );
        if self.protocol.otlp.sending_queue.storage.is_some() {
            problems.push(ConfigProblem::new(
                "protocol::otlp::sending_queue::storage",
                "a persistent queue is not supported by the loadbalancing exporter: each \
                 backend keeps an in-memory queue; remove `storage`",
            ));
        }
        problems.extend(self.validate_resolver());
        problems
    }
}

impl LoadBalancingConfig {
    fn validate_resolver(&self) -> Vec<ConfigProblem> {
        let r = &self.resolver;
        let mut problems = Vec::new();
        if r.k8s.is_some() {
            problems.push(ConfigProblem::new(
                "resolver::k8s",
                "the k8s resolver is not supported by stratus: use `dns` with the gateway's \
                 headless Service (`hostname: <service>.<namespace>.svc.cluster.local`), which \
                 resolves to every ready pod",
            ));
        }
        if r.aws_cloud_map.is_some() {
            problems.push(ConfigProblem::new(
                "resolver::aws_cloud_map",
                "the aws_cloud_map resolver is not supported by stratus: use `dns` with the \
                 service's name in its Cloud Map DNS namespace (A records for each healthy \
                 instance), or `static`",
            ));
        }
        let set: Vec<&str> = [
            ("static", r.static_.is_some()),
            ("dns", r.dns.is_some()),
            ("k8s", r.k8s.is_some()),
            ("aws_cloud_map", r.aws_cloud_map.is_some()),
        ]
        .into_iter()
        .filter_map(|(n, p)| p.then_some(n))
        .collect();
        if set.is_empty() {
            problems.push(ConfigProblem::new(
                "resolver",
                "a resolver is required: `static: {hostnames: [gateway-1:4317, ...]}` or \
                 `dns: {hostname: gateway.example.com}`",
            ));
        } else if set.len() > 1 {
            problems.push(ConfigProblem::new(
                "resolver",
                format!(
                    "only one resolver may be set, found {}: keep `static` or `dns`",
                    set.join(", ")
                ),
            ));
        }
        if let Some(s) = &r.static_ {
            if s.hostnames.is_empty() {
                problems.push(ConfigProblem::new(
                    "resolver::static::hostnames",
                    "list at least one backend, e.g. `[gateway-1:4317, gateway-2:4317]`",
                ));
            }
            for (i, name) in s.hostnames.iter().enumerate() {
                let path = format!("resolver::static::hostnames::{i}");
                let name = name.trim();
                if name.is_empty() || name.chars().any(char::is_whitespace) {
                    problems.push(ConfigProblem::new(
                        path,
                        "a backend is `host:port`, e.g. `gateway-1:4317`",
                    ));
                } else if let Err(e) = self.backend_config(&endpoint_with_port(name)).target() {
                    problems.push(ConfigProblem::new(path, e));
                }
            }
        }
        if let Some(d) = &r.dns {
            if d.hostname.trim().is_empty() {
                problems.push(ConfigProblem::new(
                    "resolver::dns::hostname",
                    "is required: the name whose addresses are the backends, e.g. \
                     `otelcol-gateway.observability.svc.cluster.local`",
                ));
            }
            if d.interval.is_zero() {
                problems.push(ConfigProblem::new(
                    "resolver::dns::interval",
                    "must be greater than 0 (e.g. `5s`)",
                ));
            }
            if d.timeout.is_zero() {
                problems.push(ConfigProblem::new(
                    "resolver::dns::timeout",
                    "must be greater than 0 (e.g. `1s`)",
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_core::factory::decode_config;

    fn paths(v: serde_json::Value) -> Vec<String> {
        decode_config::<LoadBalancingConfig>(&v)
            .unwrap_err()
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn defaults_match_upstream() {
        let c: LoadBalancingConfig = decode_config(&json!({
            "resolver": {"static": {"hostnames": ["b1:4317", "b2"]}}
        }))
        .unwrap();
        assert_eq!(c.routing_key(), None);
        assert_eq!(c.key_for(Signal::Traces), Ok(RoutingKey::TraceId));
        assert_eq!(c.key_for(Signal::Logs), Ok(RoutingKey::TraceId));
        assert_eq!(c.key_for(Signal::Metrics), Ok(RoutingKey::Service));
        let otlp = c.backend_config("b2:4317");
        assert_eq!(otlp.endpoint, "b2:4317");
        assert_eq!(otlp.timeout, Duration::from_secs(5));
        assert!(
            otlp.target().unwrap().tls,
            "TLS unless tls::insecure, as upstream"
        );
        let d: LoadBalancingConfig =
            decode_config(&json!({"resolver": {"dns": {"hostname": "gw"}}})).unwrap();
        let dns = d.resolver.dns.unwrap();
        assert_eq!(dns.port, 4317);
        assert_eq!(dns.interval, Duration::from_secs(5));
        assert_eq!(dns.timeout, Duration::from_secs(1));
        // upstream writes the port as a string
        let d: LoadBalancingConfig = decode_config(
            &json!({"resolver": {"dns": {"hostname": "gw", "port": "55690", "interval": "1m"}}}),
        )
        .unwrap();
        assert_eq!(d.resolver.dns.as_ref().unwrap().port, 55690);
    }

    #[test]
    fn endpoints_get_the_default_port() {
        assert_eq!(endpoint_with_port("gw"), "gw:4317");
        assert_eq!(endpoint_with_port("gw:55690"), "gw:55690");
        assert_eq!(endpoint_with_port("[::1]"), "[::1]:4317");
        assert_eq!(endpoint_with_port("[::1]:1"), "[::1]:1");
    }

    #[test]
    fn routing_keys_per_signal() {
        let c = |k: &str| LoadBalancingConfig {
            routing_key: k.into(),
            ..Default::default()
        };
        assert_eq!(
            c("service").key_for(Signal::Metrics),
            Ok(RoutingKey::Service)
        );
        assert_eq!(
            c("streamID").key_for(Signal::Metrics),
            Ok(RoutingKey::StreamId)
        );
        let e = c("traceID").key_for(Signal::Metrics).unwrap_err();
        assert!(e.contains("cannot route metrics"), "{e}");
        let e = c("metric").key_for(Signal::Traces).unwrap_err();
        assert!(e.contains("`traceID` or `service`"), "{e}");
    }

    #[test]
    fn problems_have_paths_and_advice() {
        assert_eq!(paths(json!({})), ["resolver"]);
        assert_eq!(
            paths(json!({"resolver": {"static": {"hostnames": ["a"]}, "dns": {"hostname": "b"}}})),
            ["resolver"]
        );
        assert_eq!(
            paths(json!({"resolver": {"static": {}}})),
            ["resolver::static::hostnames"]
        );
        assert_eq!(
            paths(
                json!({"resolver": {"static": {"hostnames": ["ok:1", "bad name", "x:notaport"]}}})
            ),
            [
                "resolver::static::hostnames::1",
                "resolver::static::hostnames::2"
            ]
        );
        assert_eq!(
            paths(json!({"resolver": {"dns": {"interval": "0s"}}})),
            ["resolver::dns::hostname", "resolver::dns::interval"]
        );
        assert_eq!(
            paths(json!({"resolver": {"dns": {"hostname": "gw", "port": 70000}}})),
            ["resolver::dns::port"]
        );
        let e = decode_config::<LoadBalancingConfig>(
            &json!({"resolver": {"k8s": {"service": "lb-svc.ns"}}}),
        )
        .unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].path, "resolver::k8s");
        assert!(
            e[0].message.contains("headless Service"),
            "{}",
            e[0].message
        );
        let e = decode_config::<LoadBalancingConfig>(&json!({
            "resolver": {"aws_cloud_map": {"namespace": "n", "service_name": "s"}}
        }))
        .unwrap_err();
        assert_eq!(e[0].path, "resolver::aws_cloud_map");
        assert_eq!(
            paths(json!({
                "routing_key": "attributes",
                "sending_queue": {"enabled": true},
                "protocol": {"otlp": {"compression": "zstd", "timeout": "1s",
                    "headers": {"bad header": "x"},
                    "sending_queue": {"storage": "file_storage"}}},
                "resolver": {"static": {"hostnames": ["a"]}}
            })),
            [
                "routing_key",
                "sending_queue",
                "protocol::otlp::headers::bad header",
                "protocol::otlp::sending_queue::storage"
            ]
        );
        assert_eq!(
            paths(json!({"protocol": {"otlp": {"endpiont": "x"}}, "resolver": {}})),
            ["protocol::otlp::endpiont"]
        );
    }
}
