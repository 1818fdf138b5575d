//! The config of the `otlp_http` (`otlphttp`) exporter, with the collector's keys and
//! defaults. The gRPC exporter's config is [`stratus_otlp_client::config`], re-exported
//! here.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use stratus_core::auth::AuthConfig;
use stratus_core::confval::Secret;
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_exporter_helper::config::validate_shared;
use stratus_exporter_helper::{ExporterSettings, QueueConfig, RetryConfig};

pub use stratus_otlp_client::config::{
    Compression, DEFAULT_WRITE_BUFFER_SIZE, GrpcTarget, KeepaliveConfig, OtlpConfig,
    TlsClientConfig, reject_middlewares, validate_headers,
};

/// Go's `http.DefaultMaxIdleConnsPerHost`, used when `max_idle_conns_per_host` is `0`.
pub const DEFAULT_MAX_IDLE_CONNS_PER_HOST: usize = 2;

/// The default per-request timeout of `otlphttp`: 30s (the collector's HTTP client default).
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// `compression_params`: how hard to compress (the collector's `configcompression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompressionParams {
    /// Compression level. gzip: `1` (fastest) to `9` (smallest), `-1` or `0` for the
    /// library default (6); zstd: any level, mapped to the nearest one zstd has
    /// (`0` for its default, 3). Default `0`.
    pub level: i32,
}

impl CompressionParams {
    /// Problems of these params with `compression`, at `compression_params::level`.
    fn validate(&self, compression: Compression) -> Vec<ConfigProblem> {
        let level = self.level;
        let message = match compression {
            Compression::Gzip if level == -2 => Some(
                "gzip level -2 (Huffman-only) is not supported by stratus; use 1 to 9".to_string(),
            ),
            Compression::Gzip if !(-1..=9).contains(&level) => Some(format!(
                "gzip level {level} is out of range: use 1 (fastest) to 9 (smallest), or -1 \
                 for the default"
            )),
            Compression::None if level != 0 => Some(format!(
                "level {level} needs a compression: set `compression` to gzip or zstd"
            )),
            _ => None,
        };
        message
            .map(|m| ConfigProblem::new("compression_params::level", m))
            .into_iter()
            .collect()
    }
}

/// How `otlphttp` encodes request bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Binary protobuf, `application/x-protobuf`.
    Proto,
    /// OTLP/JSON, `application/json`.
    Json,
}

/// The config of the `otlphttp` exporter: OTLP over HTTP.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpHttpConfig {
    /// Base URL; each signal goes to it plus `/v1/traces`, `/v1/metrics` or `/v1/logs`.
    /// Default: empty (then every signal used needs its own `*_endpoint`).
    pub endpoint: String,
    /// Full URL for traces, instead of `endpoint` + `/v1/traces`. Default: empty.
    pub traces_endpoint: String,
    /// Full URL for metrics, instead of `endpoint` + `/v1/metrics`. Default: empty.
    pub metrics_endpoint: String,
    /// Full URL for logs, instead of `endpoint` + `/v1/logs`. Default: empty.
    pub logs_endpoint: String,
    /// Body encoding: `proto` or `json`. Default `proto`.
    pub encoding: Encoding,
    /// Body compression: `gzip`, `zstd` or `none`. Default `gzip`.
    pub compression: Compression,
    /// Compression level (`level`). Default: the algorithm's own default.
    pub compression_params: CompressionParams,
    /// Extra request headers. Values are secrets: never logged. Default: none.
    pub headers: BTreeMap<String, Secret>,
    /// TLS settings for `https://` URLs: the collector's `configtls` client keys (see
    /// `stratus-tls`); `insecure` is not used, the scheme decides.
    /// Default: the system's trusted roots.
    pub tls: TlsClientConfig,
    /// Per-request timeout. Default `30s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
    /// Retries of failed requests. Default: enabled, 5s initial, 30s max, 300s total.
    pub retry_on_failure: RetryConfig,
    /// The sending queue. Default: enabled, 10 consumers, 1000 requests.
    pub sending_queue: QueueConfig,
    /// An HTTP proxy every request goes through, `http://[user:password@]host:port`:
    /// `https://` URLs through a `CONNECT` tunnel, `http://` URLs as requests to the
    /// proxy (absolute form), as Go's `http.Transport`. A secret (it may hold a
    /// password): never logged. Default: empty (no proxy).
    pub proxy_url: Secret,
    /// Client authentication: `authenticator` names an authenticator extension whose
    /// credentials are added to every request. Default: none.
    pub auth: Option<AuthConfig>,
    /// Idle (kept-alive) connections kept open in all, `0` for no limit. stratus's pool
    /// limits idle connections per host, so this is shared out over the distinct hosts
    /// of the exporter's URLs (at least one each). Default `100`.
    pub max_idle_conns: usize,
    /// Idle connections kept open per host; `0` means Go's default, 2. Default `0`.
    pub max_idle_conns_per_host: usize,
    /// Connections per host in all (dialling, active, idle); `0` for no limit. Only `0`
    /// is supported: stratus's HTTP client does not cap open connections. Default `0`.
    pub max_conns_per_host: usize,
    /// How long an idle connection is kept before it is closed; `0s` for no limit.
    /// Default `90s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub idle_conn_timeout: Duration,
    /// Close every connection after one request instead of keeping it for the next.
    /// Default `false`.
    pub disable_keep_alives: bool,
    /// HTTP/2: after this long without a frame from the server, ping it to check the
    /// connection; `0s` for no pings. Default `0s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub http2_read_idle_timeout: Duration,
    /// HTTP/2: how long to wait for a ping's answer before closing the connection;
    /// `0s` means 15s. Default `0s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub http2_ping_timeout: Duration,
    /// Offer HTTP/2 (ALPN `h2`) on TLS connections; `false` keeps to HTTP/1.1.
    /// Plaintext connections are HTTP/1.1 either way. Default `true`.
    pub force_attempt_http2: bool,
    /// The read buffer of each connection, in bytes: up to this much is read from the
    /// connection at a time; `0` for none. Default `0`.
    pub read_buffer_size: usize,
    /// The write buffer of each connection, in bytes: request bytes are gathered up to
    /// this much before they are written; `0` for none. Default `524288` (512 KiB,
    /// upstream's otlphttp default).
    pub write_buffer_size: usize,
    /// Upstream's cookie jar (`cookies: {}`). Not supported: OTLP servers set no
    /// cookies stratus should send back, and stratus has no cookie jar. Default: none.
    pub cookies: Option<serde_json::Value>,
    /// Upstream's HTTP client middleware extensions. stratus has none, so a non-empty
    /// list is rejected. Default: empty.
    pub middlewares: Vec<serde_json::Value>,
    /// `profiles_endpoint`: stratus has no profiles signal, so a non-empty value is
    /// rejected. Default: empty.
    pub profiles_endpoint: String,
}

/// The defaults of the keys `otlp_http` shares with Go's `http.Transport`.
const DEFAULT_MAX_IDLE_CONNS: usize = 100;
/// Go's `http.DefaultTransport` `IdleConnTimeout`.
pub const DEFAULT_IDLE_CONN_TIMEOUT: Duration = Duration::from_secs(90);
/// Go's HTTP/2 ping timeout when `http2_ping_timeout` is `0`.
pub const DEFAULT_HTTP2_PING_TIMEOUT: Duration = Duration::from_secs(15);

impl Default for OtlpHttpConfig {
    fn default() -> Self {
        OtlpHttpConfig {
            endpoint: String::new(),
            traces_endpoint: String::new(),
            metrics_endpoint: String::new(),
            logs_endpoint: String::new(),
            encoding: Encoding::Proto,
            compression: Compression::Gzip,
            compression_params: CompressionParams::default(),
            headers: BTreeMap::new(),
            tls: TlsClientConfig::default(),
            timeout: DEFAULT_HTTP_TIMEOUT,
            retry_on_failure: RetryConfig::default(),
            sending_queue: QueueConfig::default(),
            proxy_url: Secret::default(),
            auth: None,
            max_idle_conns: DEFAULT_MAX_IDLE_CONNS,
            max_idle_conns_per_host: 0,
            max_conns_per_host: 0,
            idle_conn_timeout: DEFAULT_IDLE_CONN_TIMEOUT,
            disable_keep_alives: false,
            http2_read_idle_timeout: Duration::ZERO,
            http2_ping_timeout: Duration::ZERO,
            force_attempt_http2: true,
            read_buffer_size: 0,
            write_buffer_size: DEFAULT_WRITE_BUFFER_SIZE,
            cookies: None,
            middlewares: Vec::new(),
            profiles_endpoint: String::new(),
        }
    }
}

/// A parsed `proxy_url`: where the proxy is, and its `Proxy-Authorization` value.
#[derive(Debug, Clone)]
pub struct ProxyTarget {
    /// `http://host:port` of the proxy.
    pub uri: http::Uri,
    /// `Basic <base64(user:password)>` when the URL holds credentials.
    pub authorization: Option<http::HeaderValue>,
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl OtlpHttpConfig {
    /// `proxy_url`, parsed; `None` when empty. Errors never repeat the URL (it may hold
    /// a password).
    pub fn proxy(&self) -> Result<Option<ProxyTarget>, String> {
        let text = self.proxy_url.expose().trim();
        if text.is_empty() {
            return Ok(None);
        }
        let uri: http::Uri = text
            .parse()
            .map_err(|_| "is not a valid URL: write `http://host:port`".to_string())?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(scheme @ ("https" | "socks5" | "socks5h")) => {
                return Err(format!(
                    "`{scheme}://` proxies are not supported by stratus: use an `http://` \
                     proxy (it still tunnels `https://` endpoints with CONNECT)"
                ));
            }
            _ => return Err("must start with `http://`".to_string()),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| "has no host: write `http://host:port`".to_string())?;
        let (userinfo, hostport) = match authority.as_str().rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority.as_str()),
        };
        if hostport.is_empty() || hostport.starts_with(':') {
            return Err("has no host: write `http://host:port`".to_string());
        }
        let has_port = hostport
            .rsplit_once(':')
            .is_some_and(|(_, port)| !port.is_empty() && !port.contains(']'));
        let hostport = if has_port {
            hostport.to_string()
        } else {
            format!("{hostport}:80")
        };
        let proxy_uri: http::Uri = format!("http://{hostport}/")
            .parse()
            .map_err(|_| "has an invalid host".to_string())?;
        let authorization = match userinfo {
            None => None,
            Some(userinfo) => {
                let decoded = percent_decode(userinfo)
                    .ok_or_else(|| "has badly escaped credentials".to_string())?;
                use base64::Engine as _;
                let encoded = base64::engine::general_purpose::STANDARD.encode(decoded);
                let mut value = http::HeaderValue::from_str(&format!("Basic {encoded}"))
                    .map_err(|_| "has invalid credentials".to_string())?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        Ok(Some(ProxyTarget {
            uri: proxy_uri,
            authorization,
        }))
    }

    /// The idle connections kept per host, for `hosts` distinct hosts: `0` with
    /// `disable_keep_alives`, else `max_idle_conns_per_host` (2 when `0`), capped so
    /// that all hosts together keep at most `max_idle_conns` (when not `0`).
    pub fn idle_per_host(&self, hosts: usize) -> usize {
        if self.disable_keep_alives {
            return 0;
        }
        let per_host = match self.max_idle_conns_per_host {
            0 => DEFAULT_MAX_IDLE_CONNS_PER_HOST,
            n => n,
        };
        match self.max_idle_conns {
            0 => per_host,
            total => per_host.min((total / hosts.max(1)).max(1)),
        }
    }
}

fn check_url(text: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = text
        .parse()
        .map_err(|e| format!("`{text}` is not a valid URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => {
            return Err(format!("`{text}` must start with `http://` or `https://`"));
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("`{text}` has no host"));
    }
    Ok(uri)
}

impl OtlpHttpConfig {
    /// The URL a signal is sent to, or `None` when neither `endpoint` nor the signal's
    /// own endpoint is set.
    pub fn signal_url(&self, signal: stratus_core::Signal) -> Option<Result<http::Uri, String>> {
        use stratus_core::Signal;
        let own = match signal {
            Signal::Traces => &self.traces_endpoint,
            Signal::Metrics => &self.metrics_endpoint,
            Signal::Logs => &self.logs_endpoint,
        };
        if !own.is_empty() {
            return Some(check_url(own));
        }
        if self.endpoint.is_empty() {
            return None;
        }
        let base = self.endpoint.trim_end_matches('/');
        Some(check_url(&format!("{base}/v1/{}", signal.as_str())))
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

impl Validate for OtlpHttpConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let all = [
            ("endpoint", &self.endpoint),
            ("traces_endpoint", &self.traces_endpoint),
            ("metrics_endpoint", &self.metrics_endpoint),
            ("logs_endpoint", &self.logs_endpoint),
        ];
        if all.iter().all(|(_, v)| v.is_empty()) {
            problems.push(ConfigProblem::new(
                "endpoint",
                "is required (or traces_endpoint, metrics_endpoint and logs_endpoint): \
                 e.g. `https://collector:4318`",
            ));
        }
        for (key, value) in all {
            if !value.is_empty()
                && let Err(e) = check_url(value)
            {
                problems.push(ConfigProblem::new(key, e));
            }
        }
        problems.extend(self.compression_params.validate(self.compression));
        problems.extend(stratus_tls::prefixed("tls", self.tls.validate()));
        problems.extend(validate_headers(&self.headers, false));
        if let Err(e) = self.proxy() {
            problems.push(ConfigProblem::new("proxy_url", e));
        }
        if let Some(auth) = &self.auth
            && auth.authenticator.trim().is_empty()
        {
            problems.push(ConfigProblem::new(
                "auth::authenticator",
                "must name an authenticator extension, e.g. `bearertokenauth`",
            ));
        }
        if self.max_conns_per_host != 0 {
            problems.push(ConfigProblem::new(
                "max_conns_per_host",
                "is not supported by stratus: its HTTP client pool cannot cap the \
                 connections it opens per host; remove it (or set 0) and limit concurrency \
                 with `sending_queue::num_consumers`",
            ));
        }
        if self.cookies.is_some() {
            problems.push(ConfigProblem::new(
                "cookies",
                "is not supported by stratus: its HTTP client keeps no cookies; remove it",
            ));
        }
        problems.extend(reject_middlewares(&self.middlewares));
        if !self.profiles_endpoint.is_empty() {
            problems.push(ConfigProblem::new(
                "profiles_endpoint",
                "is not supported: stratus has no profiles signal; remove it",
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
    use stratus_core::Signal;
    use stratus_core::factory::decode_config;

    #[test]
    fn otlphttp_defaults_and_urls() {
        let c: OtlpHttpConfig =
            decode_config(&json!({"endpoint": "https://collector:4318/"})).unwrap();
        assert_eq!(c.encoding, Encoding::Proto);
        assert_eq!(c.compression, Compression::Gzip);
        assert_eq!(c.timeout, Duration::from_secs(30));
        let url = |c: &OtlpHttpConfig, s| c.signal_url(s).unwrap().unwrap().to_string();
        assert_eq!(url(&c, Signal::Traces), "https://collector:4318/v1/traces");
        assert_eq!(url(&c, Signal::Logs), "https://collector:4318/v1/logs");
        let c: OtlpHttpConfig = decode_config(&json!({
            "endpoint": "http://base:4318/prefix",
            "metrics_endpoint": "http://other:9000/custom/metrics",
        }))
        .unwrap();
        assert_eq!(url(&c, Signal::Traces), "http://base:4318/prefix/v1/traces");
        assert_eq!(url(&c, Signal::Metrics), "http://other:9000/custom/metrics");
        let c: OtlpHttpConfig =
            decode_config(&json!({"logs_endpoint": "http://l:1/logs"})).unwrap();
        assert!(c.signal_url(Signal::Traces).is_none());
    }

    #[test]
    fn otlphttp_client_keys_defaults_match_upstream() {
        let c: OtlpHttpConfig = decode_config(&json!({"endpoint": "http://c:4318"})).unwrap();
        assert!(c.proxy_url.is_empty());
        assert_eq!(c.proxy().unwrap().map(|p| p.uri), None);
        assert_eq!(c.auth, None);
        assert_eq!(c.max_idle_conns, 100);
        assert_eq!(c.max_idle_conns_per_host, 0);
        assert_eq!(c.max_conns_per_host, 0);
        assert_eq!(c.idle_conn_timeout, Duration::from_secs(90));
        assert!(!c.disable_keep_alives);
        assert_eq!(c.http2_read_idle_timeout, Duration::ZERO);
        assert_eq!(c.http2_ping_timeout, Duration::ZERO);
        assert!(c.force_attempt_http2);
        assert_eq!(c.read_buffer_size, 0);
        assert_eq!(c.write_buffer_size, 512 * 1024);
        assert_eq!(c.cookies, None);
        assert!(c.middlewares.is_empty());
        assert_eq!(c.profiles_endpoint, "");
        // Go's per-host default of 2 idle connections, under the total of 100.
        assert_eq!(c.idle_per_host(1), 2);
    }

    #[test]
    fn otlphttp_client_keys_decode_and_reject_with_reasons() {
        let c: OtlpHttpConfig = decode_config(&json!({
            "endpoint": "http://c:4318",
            "proxy_url": "http://user:p%40ss@proxy.internal:3128",
            "auth": {"authenticator": "basicauth/client"},
            "max_idle_conns": 3,
            "max_idle_conns_per_host": 10,
            "idle_conn_timeout": "0s",
            "disable_keep_alives": false,
            "http2_read_idle_timeout": "10s",
            "http2_ping_timeout": "5s",
            "force_attempt_http2": false,
            "read_buffer_size": 4096,
            "write_buffer_size": 0,
        }))
        .unwrap();
        let proxy = c.proxy().unwrap().unwrap();
        assert_eq!(proxy.uri.to_string(), "http://proxy.internal:3128/");
        assert_eq!(
            proxy.authorization.unwrap().to_str().unwrap(),
            "Basic dXNlcjpwQHNz" // user:p@ss
        );
        assert_eq!(c.idle_per_host(1), 3, "the total caps one host");
        assert_eq!(c.idle_per_host(3), 1, "the total is shared out");
        let quiet = OtlpHttpConfig {
            disable_keep_alives: true,
            ..c.clone()
        };
        assert_eq!(quiet.idle_per_host(1), 0);
        let unlimited = OtlpHttpConfig {
            max_idle_conns: 0,
            ..c
        };
        assert_eq!(unlimited.idle_per_host(3), 10);
        let c: OtlpHttpConfig =
            decode_config(&json!({"endpoint": "http://c:4318", "proxy_url": "http://p"})).unwrap();
        assert_eq!(c.proxy().unwrap().unwrap().uri.to_string(), "http://p:80/");

        let problems = decode_config::<OtlpHttpConfig>(&json!({
            "endpoint": "http://c:4318",
            "proxy_url": "https://u:hunter2@p:443",
            "auth": {"authenticator": ""},
            "max_conns_per_host": 10,
            "cookies": {},
            "middlewares": [{"id": "x"}],
            "profiles_endpoint": "http://c:4318/v1development/profiles",
        }))
        .unwrap_err();
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "proxy_url",
                "auth::authenticator",
                "max_conns_per_host",
                "cookies",
                "middlewares",
                "profiles_endpoint"
            ]
        );
        assert!(problems.iter().all(|p| !p.message.contains("hunter2")));
        assert!(
            problems
                .iter()
                .filter(|p| p.path != "auth::authenticator")
                .all(|p| p.message.contains("not supported")),
            "{problems:?}"
        );
        // max_conns_per_host at its default is fine.
        decode_config::<OtlpHttpConfig>(
            &json!({"endpoint": "http://c:4318", "max_conns_per_host": 0}),
        )
        .unwrap();
        let e = decode_config::<OtlpHttpConfig>(
            &json!({"endpoint": "http://c:4318", "proxy_url": "ftp://p:21"}),
        )
        .unwrap_err();
        assert!(e[0].message.contains("http://"), "{e:?}");
    }

    #[test]
    fn otlphttp_problems() {
        let e = decode_config::<OtlpHttpConfig>(&json!({})).unwrap_err();
        assert_eq!(e[0].path, "endpoint");
        let e = decode_config::<OtlpHttpConfig>(&json!({
            "endpoint": "collector:4318",
            "traces_endpoint": "ftp://x/y",
            "encoding": "xml",
        }))
        .unwrap_err();
        assert_eq!(e[0].path, "encoding");
        let e = decode_config::<OtlpHttpConfig>(&json!({
            "endpoint": "collector:4318",
            "traces_endpoint": "ftp://x/y",
        }))
        .unwrap_err();
        let paths: Vec<_> = e.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["endpoint", "traces_endpoint"]);
        let e = decode_config::<OtlpHttpConfig>(&json!({
            "endpoint": "http://c:4318", "timeout": "soon"
        }))
        .unwrap_err();
        assert_eq!(e[0].path, "timeout");
    }

    #[test]
    fn compression_params_follow_configcompression() {
        let decode = |v: serde_json::Value| {
            let mut base = json!({"endpoint": "http://c:4318"});
            base.as_object_mut()
                .unwrap()
                .extend(v.as_object().unwrap().clone());
            decode_config::<OtlpHttpConfig>(&base)
        };
        for (compression, level) in [("gzip", 1), ("gzip", 9), ("gzip", -1), ("zstd", 3)] {
            let c =
                decode(json!({"compression": compression, "compression_params": {"level": level}}))
                    .unwrap_or_else(|e| panic!("{compression} {level}: {e:?}"));
            assert_eq!(c.compression_params.level, level);
        }
        assert_eq!(decode(json!({})).unwrap().compression_params.level, 0);
        let cases = [
            (
                json!({"compression": "gzip", "compression_params": {"level": 10}}),
                "gzip level 10 is out of range: use 1 (fastest) to 9 (smallest), or -1 for the default",
            ),
            (
                json!({"compression": "gzip", "compression_params": {"level": -2}}),
                "gzip level -2 (Huffman-only) is not supported by stratus; use 1 to 9",
            ),
            (
                json!({"compression": "none", "compression_params": {"level": 3}}),
                "level 3 needs a compression: set `compression` to gzip or zstd",
            ),
        ];
        for (config, message) in cases {
            let e = decode(config.clone()).unwrap_err();
            assert_eq!(
                e,
                vec![ConfigProblem::new("compression_params::level", message)],
                "{config}"
            );
        }
        let e = decode(json!({"compression_params": {"levle": 3}})).unwrap_err();
        assert_eq!(e[0].path, "compression_params::levle");
    }
}
