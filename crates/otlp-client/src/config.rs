//! The config of the OTLP/gRPC client (the `otlp_grpc` exporter's keys and defaults,
//! also the `loadbalancing` exporter's `protocol::otlp`), and the pieces the HTTP
//! exporter shares with it (compression, header checks).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use stratus_core::auth::AuthConfig;
use stratus_core::confval::Secret;
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_exporter_helper::config::{DEFAULT_TIMEOUT, validate_shared};
use stratus_exporter_helper::{ExporterSettings, QueueConfig, RetryConfig};

pub use stratus_tls::TlsClientConfig;

/// Request compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Compression {
    /// gzip.
    Gzip,
    /// Zstandard.
    Zstd,
    /// No compression (also written `""`).
    None,
}

impl TryFrom<String> for Compression {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        match name.as_str() {
            "gzip" => Ok(Compression::Gzip),
            "zstd" => Ok(Compression::Zstd),
            "none" | "" => Ok(Compression::None),
            other @ ("snappy" | "x-snappy-framed" | "zlib" | "deflate" | "lz4") => Err(format!(
                "`{other}` request compression is not supported by stratus's OTLP exporters \
                 (it has no {other} encoder): use `gzip`, `zstd` or `none`"
            )),
            other => Err(format!(
                "unknown compression `{other}`: use `gzip`, `zstd` or `none`"
            )),
        }
    }
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
    /// How requests are spread over the addresses the endpoint's host resolves to:
    /// `round_robin` (one connection per address, requests in turn, an address that
    /// cannot be reached is skipped while others work, the name re-resolved every
    /// 30s) or `pick_first` (one connection, to the first address that answers).
    /// `""` means `pick_first`, as in gRPC. Default `round_robin` (upstream's).
    pub balancer_name: String,
    /// Client authentication: `authenticator` names an authenticator extension
    /// (`bearertokenauth`, `oauth2client`, ...) whose credentials are added to every
    /// request. Default: none.
    pub auth: Option<AuthConfig>,
    /// The `:authority` (HTTP/2 `Host`) sent with every request instead of the
    /// endpoint's `host:port`; also the name the server certificate is checked
    /// against unless `tls::server_name_override` is set (as gRPC's `WithAuthority`).
    /// Default: empty (the endpoint's `host:port`).
    pub authority: String,
    /// `false`: a request fails at once (retryably) while no connection to the
    /// destination can be made. `true`: it waits for a connection, trying again with
    /// back-off (1s, x1.6), until its `timeout`. Default `false`.
    pub wait_for_ready: bool,
    /// Bytes read from the connection per read into a buffer the HTTP/2 stack then
    /// reads from (gRPC's `WithReadBufferSize`); `0` reads straight from the socket.
    /// Default `0`.
    pub read_buffer_size: usize,
    /// Bytes of HTTP/2 frames gathered before they are written to the connection in
    /// one write (gRPC's `WithWriteBufferSize`); `0` writes each frame as it comes.
    /// Default `524288` (512 KiB, upstream's otlp exporter default).
    pub write_buffer_size: usize,
    /// The `User-Agent` sent with every request. Default: empty (`stratus/<version>`).
    pub user_agent: String,
    /// Upstream's gRPC client middleware extensions. stratus has no middleware
    /// extensions, so a non-empty list is rejected. Default: empty.
    pub middlewares: Vec<serde_json::Value>,
}

/// The `balancer_name` values stratus implements.
pub const BALANCERS: [&str; 2] = ["round_robin", "pick_first"];

/// upstream's default `write_buffer_size` of the otlp exporters: 512 KiB.
pub const DEFAULT_WRITE_BUFFER_SIZE: usize = 512 * 1024;

/// How requests are spread over a host's addresses (`balancer_name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balancer {
    /// One connection per address, used in turn.
    RoundRobin,
    /// One connection, to the first address that answers.
    PickFirst,
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
            balancer_name: BALANCERS[0].to_string(),
            auth: None,
            authority: String::new(),
            wait_for_ready: false,
            read_buffer_size: 0,
            write_buffer_size: DEFAULT_WRITE_BUFFER_SIZE,
            user_agent: String::new(),
            middlewares: Vec::new(),
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
    /// The port.
    pub port: u16,
    /// Whether the host is looked up in DNS for all its addresses (`dns:///`, a bare
    /// `host:port`, `http(s)://`); `false` for `passthrough:///`, whose address is
    /// dialled as it is.
    pub resolve: bool,
}

impl OtlpConfig {
    /// Parses `endpoint` into where to connect and whether to use TLS.
    pub fn target(&self) -> Result<GrpcTarget, String> {
        let endpoint = self.endpoint.trim();
        let mut resolve = true;
        let (tls, rest, explicit) = if let Some(rest) = endpoint.strip_prefix("http://") {
            (false, rest, true)
        } else if let Some(rest) = endpoint.strip_prefix("https://") {
            (true, rest, true)
        } else if let Some(rest) = endpoint.strip_prefix("dns://") {
            // gRPC's `dns://[dns-server]/host:port`.
            let Some(("", target)) = rest.split_once('/') else {
                return Err(format!(
                    "`{endpoint}` names a DNS server: stratus resolves with the system's \
                     resolver; write `dns:///host:port`"
                ));
            };
            (!self.tls.insecure, target, false)
        } else if let Some(rest) = endpoint.strip_prefix("passthrough:///") {
            resolve = false;
            (!self.tls.insecure, rest, false)
        } else if endpoint.starts_with("unix:") {
            return Err(format!(
                "`{endpoint}`: unix sockets are not supported by stratus's gRPC client; use \
                 `host:port`"
            ));
        } else if endpoint.contains("://") {
            return Err(format!(
                "`{endpoint}` has an unsupported scheme: use `host:port`, `dns:///host:port`, \
                 `passthrough:///host:port`, `http://host:port` or `https://host:port`"
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
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(GrpcTarget {
            uri,
            tls,
            host,
            port,
            resolve,
        })
    }

    /// The balancer `balancer_name` names (`""` is `pick_first`), or why it is not
    /// supported.
    pub fn balancer(&self) -> Result<Balancer, String> {
        match self.balancer_name.as_str() {
            "round_robin" => Ok(Balancer::RoundRobin),
            "pick_first" | "" => Ok(Balancer::PickFirst),
            other @ ("grpclb"
            | "weighted_round_robin"
            | "least_request_experimental"
            | "ring_hash_experimental"
            | "rls_experimental"
            | "weighted_target_experimental"
            | "priority_experimental"
            | "outlier_detection_experimental"
            | "cluster_manager_experimental"
            | "xds_cluster_impl_experimental"
            | "xds_wrr_locality_experimental"
            | "pick_first_leaf") => Err(format!(
                "`{other}` is a gRPC balancer stratus does not implement (it needs a \
                 control plane or per-backend load reports stratus does not have): use \
                 `round_robin` or `pick_first`"
            )),
            other => Err(format!(
                "unknown balancer `{other}`: use `round_robin` or `pick_first`"
            )),
        }
    }

    /// `authority`, parsed; `None` when empty.
    pub fn authority(&self) -> Result<Option<http::uri::Authority>, String> {
        if self.authority.is_empty() {
            return Ok(None);
        }
        match self.authority.parse::<http::uri::Authority>() {
            Ok(a) if !a.host().is_empty() && !self.authority.contains('@') => Ok(Some(a)),
            _ => Err(format!(
                "`{}` is not a valid authority: write `host` or `host:port`",
                self.authority
            )),
        }
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
        if let Err(e) = self.balancer() {
            problems.push(ConfigProblem::new("balancer_name", e));
        }
        if let Err(e) = self.authority() {
            problems.push(ConfigProblem::new("authority", e));
        }
        if let Some(auth) = &self.auth
            && auth.authenticator.trim().is_empty()
        {
            problems.push(ConfigProblem::new(
                "auth::authenticator",
                "must name an authenticator extension, e.g. `bearertokenauth`",
            ));
        }
        if http::HeaderValue::from_str(&self.user_agent).is_err() {
            problems.push(ConfigProblem::new(
                "user_agent",
                "is not a valid header value (only visible ASCII and spaces)",
            ));
        }
        problems.extend(reject_middlewares(&self.middlewares));
        problems.extend(validate_shared(&self.retry_on_failure, &self.sending_queue));
        problems
    }
}

/// The problem of a non-empty `middlewares` list (shared with `otlp_http`).
pub fn reject_middlewares(middlewares: &[serde_json::Value]) -> Vec<ConfigProblem> {
    if middlewares.is_empty() {
        return Vec::new();
    }
    vec![ConfigProblem::new(
        "middlewares",
        "is not supported by stratus: it has no middleware extensions; remove the list \
         (authentication goes in `auth::authenticator`, headers in `headers`)",
    )]
}

/// The extension reference of an `auth` block: `("auth::authenticator", id)`.
pub fn auth_reference(auth: &Option<AuthConfig>) -> Vec<(String, String)> {
    auth.iter()
        .map(|a| ("auth::authenticator".to_string(), a.authenticator.clone()))
        .collect()
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
        assert_eq!(c.balancer_name, "round_robin");
        assert_eq!(c.balancer(), Ok(Balancer::RoundRobin));
        assert_eq!(c.auth, None);
        assert_eq!(c.authority, "");
        assert!(!c.wait_for_ready);
        assert_eq!(c.read_buffer_size, 0);
        assert_eq!(c.write_buffer_size, 512 * 1024);
        assert_eq!(c.user_agent, "");
        assert!(c.middlewares.is_empty());
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
                .contains("unix sockets are not supported")
        );
        assert!(target("xds:///a:1", false).unwrap_err().contains("scheme"));
        let t = target("dns:///collector:4317", true).unwrap();
        assert!(t.resolve && !t.tls);
        assert_eq!((t.host.as_str(), t.port), ("collector", 4317));
        assert!(
            target("dns://8.8.8.8/collector:4317", true)
                .unwrap_err()
                .contains("names a DNS server")
        );
        let t = target("passthrough:///10.0.0.1:4317", false).unwrap();
        assert!(!t.resolve && t.tls);
        assert!(target("https://gw:4317", false).unwrap().resolve);
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
    fn otlp_compatibility_keys() {
        let c: OtlpConfig = decode_config(&json!({
            "endpoint": "dns:///collector:4317",
            "auth": {"authenticator": "bearertokenauth/out"},
            "authority": "gw.example.com:443",
            "balancer_name": "pick_first",
            "wait_for_ready": true,
            "read_buffer_size": 65536,
            "write_buffer_size": 0,
            "user_agent": "my-agent/1.0",
        }))
        .unwrap();
        assert_eq!(
            c.auth.as_ref().unwrap().authenticator,
            "bearertokenauth/out"
        );
        assert_eq!(c.balancer(), Ok(Balancer::PickFirst));
        assert_eq!(
            c.authority().unwrap().unwrap().as_str(),
            "gw.example.com:443"
        );
        assert!(c.wait_for_ready);
        assert_eq!((c.read_buffer_size, c.write_buffer_size), (65536, 0));
        assert_eq!(
            auth_reference(&c.auth),
            [(
                "auth::authenticator".to_string(),
                "bearertokenauth/out".to_string()
            )]
        );
        // `""` is gRPC's default, pick_first.
        let c: OtlpConfig =
            decode_config(&json!({"endpoint": "a:1", "balancer_name": ""})).unwrap();
        assert_eq!(c.balancer(), Ok(Balancer::PickFirst));

        let problems = decode_config::<OtlpConfig>(&json!({
            "endpoint": "a:1",
            "balancer_name": "grpclb",
            "authority": "user@host",
            "auth": {"authenticator": " "},
            "middlewares": [{"id": "mw"}],
        }))
        .unwrap_err();
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "balancer_name",
                "authority",
                "auth::authenticator",
                "middlewares"
            ]
        );
        let message = |path: &str| {
            problems
                .iter()
                .find(|p| p.path == path)
                .unwrap()
                .message
                .clone()
        };
        assert!(message("balancer_name").contains("does not implement"));
        assert!(message("middlewares").contains("not supported by stratus"));
        let e = decode_config::<OtlpConfig>(&json!({"endpoint": "a:1", "balancer_name": "random"}))
            .unwrap_err();
        assert!(e[0].message.contains("unknown balancer `random`"), "{e:?}");
        let e = decode_config::<OtlpConfig>(&json!({"endpoint": "a:1", "write_buffer_size": -1}))
            .unwrap_err();
        assert_eq!(e[0].path, "write_buffer_size");
        let e = decode_config::<OtlpConfig>(&json!({"endpoint": "a:1", "auth": {}})).unwrap_err();
        assert_eq!(e[0].path, "auth");
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
        assert!(
            e[0].message
                .contains("`snappy` request compression is not supported"),
            "{e:?}"
        );
        let e = decode_config::<OtlpConfig>(&json!({"endpoint": "a:1", "compression": "brotli"}))
            .unwrap_err();
        assert!(
            e[0].message.contains("unknown compression `brotli`"),
            "{e:?}"
        );
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
