//! The config of the OTLP/gRPC client (the `otlp_grpc` exporter's keys and defaults,
//! also the `loadbalancing` exporter's `protocol::otlp`), and the pieces the HTTP
//! exporter shares with it (compression, header checks).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use stratus_core::confval::Secret;
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_exporter_helper::config::{DEFAULT_TIMEOUT, validate_shared};
use stratus_exporter_helper::{ExporterSettings, QueueConfig, RetryConfig};

pub use stratus_tls::TlsClientConfig;

/// Request compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// gzip.
    Gzip,
    /// Zstandard.
    Zstd,
    /// No compression (also written `""`).
    #[serde(alias = "")]
    None,
}

impl Compression {
    /// The `Content-Encoding` / `grpc-encoding` name, `None` when uncompressed.
    pub fn encoding(self) -> Option<&'static str> {
        match self {
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
            Compression::None => None,
        }
    }
}

/// `keepalive`: HTTP/2 pings that keep an idle gRPC connection alive and detect a dead one.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeepaliveConfig {
    /// Interval between pings. Default `10s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub time: Duration,
    /// How long to wait for a ping's answer before closing the connection. Default `10s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
    /// Also ping while no request is in flight. Default `false`.
    pub permit_without_stream: bool,
}

impl Default for KeepaliveConfig {
    fn default() -> Self {
        KeepaliveConfig {
            time: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
            permit_without_stream: false,
        }
    }
}

/// Problems of `headers` (at `headers::<name>`): names and values must be valid HTTP,
/// and gRPC metadata (`grpc`) takes no binary `-bin` keys. Values are secrets and are
/// never echoed.
pub fn validate_headers(headers: &BTreeMap<String, Secret>, grpc: bool) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    for (name, value) in headers {
        let path = format!("headers::{name}");
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            problems.push(ConfigProblem::new(path, "is not a valid header name"));
            continue;
        }
        if grpc && name.to_ascii_lowercase().ends_with("-bin") {
            problems.push(ConfigProblem::new(
                path,
                "binary (`-bin`) metadata is not supported in headers",
            ));
            continue;
        }
        if http::HeaderValue::from_str(value.expose()).is_err() {
            problems.push(ConfigProblem::new(
                path,
                "the value is not a valid header value (only visible ASCII and spaces)",
            ));
        }
    }
    problems
}

/// The config of the `otlp` exporter: OTLP over gRPC.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpConfig {
    /// Where to send: `host:port` (TLS unless `tls::insecure`), `http://host:port`
    /// (plaintext) or `https://host:port` (TLS). Required; no default.
    pub endpoint: String,
    /// TLS settings: the collector's `configtls` client keys (see `stratus-tls`).
    /// Default: TLS with the system's trusted roots.
    pub tls: TlsClientConfig,
    /// Extra request headers (gRPC metadata). Values are secrets: never logged.
    /// Default: none.
    pub headers: BTreeMap<String, Secret>,
    /// Request compression: `gzip`, `zstd` or `none`. Default `gzip`.
    pub compression: Compression,
    /// Per-attempt timeout. Default `5s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
    /// Retries of failed requests. Default: enabled, 5s initial, 30s max, 300s total.
    pub retry_on_failure: RetryConfig,
    /// The sending queue. Default: enabled, 10 consumers, 1000 requests.
    pub sending_queue: QueueConfig,
    /// HTTP/2 keepalive pings. Default: none (no pings).
    pub keepalive: Option<KeepaliveConfig>,
    /// gRPC load-balancing policy name. Accepted for compatibility and ignored: stratus
    /// connects to the one address the endpoint resolves to. Default: empty.
    pub balancer_name: String,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            endpoint: String::new(),
            tls: TlsClientConfig::default(),
            headers: BTreeMap::new(),
            compression: Compression::Gzip,
            timeout: DEFAULT_TIMEOUT,
            retry_on_failure: RetryConfig::default(),
            sending_queue: QueueConfig::default(),
            keepalive: None,
            balancer_name: String::new(),
        }
    }
}

/// Where a gRPC exporter connects, parsed from `endpoint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcTarget {
    /// `http://host:port` or `https://host:port`.
    pub uri: http::Uri,
    /// Whether the connection uses TLS.
    pub tls: bool,
    /// The host, for TLS server name checks.
    pub host: String,
}

impl OtlpConfig {
    /// Parses `endpoint` into where to connect and whether to use TLS.
    pub fn target(&self) -> Result<GrpcTarget, String> {
        let endpoint = self.endpoint.trim();
        let (tls, rest, explicit) = if let Some(rest) = endpoint.strip_prefix("http://") {
            (false, rest, true)
        } else if let Some(rest) = endpoint.strip_prefix("https://") {
            (true, rest, true)
        } else if endpoint.contains("://") {
            return Err(format!(
                "`{endpoint}` has an unsupported scheme: use `host:port`, `http://host:port` \
                 or `https://host:port`"
            ));
        } else {
            (!self.tls.insecure, endpoint, false)
        };
        let authority = match rest.split_once('/') {
            Some((authority, "")) => authority,
            Some(_) => {
                return Err(format!(
                    "`{endpoint}` has a path: a gRPC endpoint is `host:port`"
                ));
            }
            None => rest,
        };
        let scheme = if tls { "https" } else { "http" };
        let uri: http::Uri = format!("{scheme}://{authority}")
            .parse()
            .map_err(|e| format!("`{endpoint}` is not a valid endpoint: {e}"))?;
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("`{endpoint}` has no host"))?;
        if !explicit && uri.port().is_none() {
            return Err(format!(
                "`{endpoint}` has no port: write `host:port`, e.g. `{host}:4317`"
            ));
        }
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        Ok(GrpcTarget { uri, tls, host })
    }

    /// The helper settings from `timeout`, `retry_on_failure` and `sending_queue`.
    pub fn settings(&self) -> ExporterSettings {
        ExporterSettings {
            timeout: self.timeout,
            retry: self.retry_on_failure.clone(),
            queue: self.sending_queue.clone(),
        }
    }
}

impl Validate for OtlpConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.endpoint.trim().is_empty() {
            problems.push(ConfigProblem::new(
                "endpoint",
                "is required: where to send, e.g. `collector:4317`",
            ));
        } else if let Err(e) = self.target() {
            problems.push(ConfigProblem::new("endpoint", e));
        }
        problems.extend(stratus_tls::prefixed("tls", self.tls.validate()));
        problems.extend(validate_headers(&self.headers, true));
        if let Some(k) = &self.keepalive
            && k.time.is_zero()
        {
            problems.push(ConfigProblem::new(
                "keepalive::time",
                "must be greater than 0",
            ));
        }
        problems.extend(validate_shared(&self.retry_on_failure, &self.sending_queue));
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_core::factory::decode_config;

    #[test]
    fn otlp_defaults_match_upstream() {
        let c: OtlpConfig = decode_config(&json!({"endpoint": "collector:4317"})).unwrap();
        assert_eq!(c.compression, Compression::Gzip);
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert!(c.retry_on_failure.enabled);
        assert_eq!(c.sending_queue.queue_size, 1000);
        assert_eq!(c.keepalive, None);
        let t = c.target().unwrap();
        assert!(t.tls);
        assert_eq!(t.uri.to_string(), "https://collector:4317/");
        assert_eq!(t.host, "collector");
        // An empty keepalive block takes the collector's defaults.
        let c: OtlpConfig = decode_config(&json!({"endpoint": "a:1", "keepalive": {}})).unwrap();
        assert_eq!(c.keepalive.unwrap().time, Duration::from_secs(10));
    }

    #[test]
    fn otlp_endpoint_forms() {
        let target = |endpoint: &str, insecure: bool| {
            OtlpConfig {
                endpoint: endpoint.into(),
                tls: TlsClientConfig {
                    insecure,
                    ..Default::default()
                },
                ..Default::default()
            }
            .target()
        };
        let t = target("http://127.0.0.1:4317", false).unwrap();
        assert!(!t.tls, "http:// is plaintext even without tls::insecure");
        let t = target("https://gw.example.com", true).unwrap();
        assert!(t.tls, "https:// is TLS even with tls::insecure");
        assert_eq!(t.host, "gw.example.com");
        assert!(!target("localhost:4317", true).unwrap().tls);
        let t = target("[::1]:4317", true).unwrap();
        assert_eq!(t.host, "::1");
        assert!(target("localhost", false).unwrap_err().contains("no port"));
        assert!(
            target("unix:///tmp/x", false)
                .unwrap_err()
                .contains("scheme")
        );
        assert!(target("http://a:1/v1", false).unwrap_err().contains("path"));
    }

    #[test]
    fn otlp_reports_every_problem_with_its_path() {
        let problems = decode_config::<OtlpConfig>(&json!({
            "tls": {"cert_file": "/c.pem", "server_name_override": "not a name",
                    "min_version": "1.1"},
            "headers": {"bad header": "x", "x-token-bin": "y", "ok": "line\nbreak"},
            "keepalive": {"time": "0s"},
            "retry_on_failure": {"multiplier": 0.5},
            "sending_queue": {"num_consumers": 0},
        }))
        .unwrap_err();
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "endpoint",
                "tls::key_file",
                "tls::min_version",
                "tls::server_name_override",
                "headers::bad header",
                "headers::ok",
                "headers::x-token-bin",
                "keepalive::time",
                "retry_on_failure::multiplier",
                "sending_queue::num_consumers",
            ]
        );
        // Header values are secrets: never echoed in a problem.
        assert!(problems.iter().all(|p| !p.message.contains("line")));
    }

    #[test]
    fn otlp_rejects_unknown_keys_and_values() {
        let e =
            decode_config::<OtlpConfig>(&json!({"endpoint": "a:1", "endpiont": "x"})).unwrap_err();
        assert_eq!(e[0].path, "endpiont");
        assert!(e[0].message.contains("unknown field"), "{}", e[0].message);
        let e = decode_config::<OtlpConfig>(&json!({"endpoint": "a:1", "compression": "snappy"}))
            .unwrap_err();
        assert_eq!(e[0].path, "compression");
        let e = decode_config::<OtlpConfig>(&json!({"endpoint": "a:1", "tls": {"insecur": true}}))
            .unwrap_err();
        assert_eq!(e[0].path, "tls::insecur");
        let c: OtlpConfig = decode_config(
            &json!({"endpoint": "a:1", "compression": "", "balancer_name": "round_robin"}),
        )
        .unwrap();
        assert_eq!(c.compression, Compression::None);
    }
}
