//! The receiver's config: upstream's `otlp` receiver keys and defaults.

use std::time::Duration;

use serde::de::{self, IgnoredAny};
use serde::{Deserialize, Deserializer};
use stratus_core::auth::AuthConfig;
use stratus_core::confval::Secret;
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_tls::TlsServerConfig;

/// One MiB, the unit of `max_recv_msg_size_mib`.
pub const MIB: usize = 1024 * 1024;

/// `receivers: { otlp: ... }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The transports to serve. At least one of `grpc` and `http` must be given.
    /// Default: none (an `otlp:` entry without `protocols` is an error, as upstream).
    pub protocols: Protocols,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            protocols: Protocols {
                grpc: None,
                http: None,
            },
        }
    }
}

/// `protocols:`; a protocol is served when its key is present, even with no body
/// (`grpc:` alone serves gRPC with every default).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Protocols {
    /// OTLP over gRPC. Default: absent (not served).
    #[serde(deserialize_with = "present")]
    pub grpc: Option<GrpcConfig>,
    /// OTLP over HTTP. Default: absent (not served).
    #[serde(deserialize_with = "present")]
    pub http: Option<HttpConfig>,
}

// Written out so every default is visible in one place.
#[allow(clippy::derivable_impls)]
impl Default for Protocols {
    fn default() -> Self {
        Protocols {
            grpc: None,
            http: None,
        }
    }
}

/// `protocols: { grpc: ... }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcConfig {
    /// `host:port` to listen on; an empty host listens on every interface.
    /// Default: `localhost:4317`.
    pub endpoint: String,
    /// Network transport; only `tcp` is supported. Default: `tcp`.
    pub transport: String,
    /// Largest request message accepted, after decompression, in MiB. Default: `4`.
    pub max_recv_msg_size_mib: u64,
    /// HTTP/2 concurrent streams allowed per connection; `0` means the default of
    /// [`DEFAULT_MAX_CONCURRENT_STREAMS`] (200; upstream's gRPC server has no limit).
    /// Default: `0`.
    pub max_concurrent_streams: u32,
    /// Connection keepalive and lifetime settings. Default: see [`KeepaliveConfig`].
    #[serde(deserialize_with = "null_default")]
    pub keepalive: KeepaliveConfig,
    /// Whether gRPC metadata is passed down the pipeline with the data. Default: `false`.
    pub include_metadata: bool,
    /// TLS settings (the collector's `configtls` server keys, see `stratus-tls`);
    /// absent means plaintext (h2c). Default: absent.
    #[serde(deserialize_with = "present")]
    pub tls: Option<TlsServerConfig>,
    /// Upstream's gRPC read buffer (bytes read per socket read). In stratus: the
    /// HTTP/2 `SETTINGS_MAX_FRAME_SIZE` the server advertises, which is also how far
    /// the connection's read buffer grows (h2 reads a whole frame into it, so one
    /// read takes up to a frame). Bytes, clamped to HTTP/2's range 16384..=16777215;
    /// `0` keeps the HTTP/2 default frame size (16384). Default: `524288` (512 KiB,
    /// upstream's default for this receiver).
    pub read_buffer_size: u64,
    /// Upstream's gRPC write buffer. In stratus: the most response data buffered per
    /// HTTP/2 stream before the writer waits (hyper's `max_send_buf_size`); export
    /// responses are a few bytes, so this rarely matters. Bytes, at most
    /// 4294967295; `0` keeps hyper's default (409600). Default: `0`.
    pub write_buffer_size: u64,
    /// Which authenticator extension checks every call (`auth.authenticator`, an id
    /// listed in `service.extensions`). Default: absent (no authentication).
    #[serde(deserialize_with = "required")]
    pub auth: Option<AuthConfig>,
    /// Upstream's `confignet` dialer settings. A receiver only listens, so they have
    /// no effect here, exactly as upstream. Default: `timeout: 0s`.
    #[serde(deserialize_with = "null_default")]
    pub dialer: DialerConfig,
    /// Upstream's middleware extensions. stratus has none, so a non-empty list is
    /// a config error. Default: empty.
    #[serde(deserialize_with = "null_default")]
    pub middlewares: Vec<IgnoredAny>,
    /// Most connections served at once; a connection accepted beyond it is closed at
    /// once (and logged). `0` means no limit. A stratus key: upstream has no such
    /// limit. Default: `1024`.
    pub max_connections: u32,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        GrpcConfig {
            endpoint: "localhost:4317".into(),
            transport: "tcp".into(),
            max_recv_msg_size_mib: 4,
            max_concurrent_streams: 0,
            keepalive: KeepaliveConfig::default(),
            include_metadata: false,
            tls: None,
            read_buffer_size: 512 * 1024,
            write_buffer_size: 0,
            auth: None,
            dialer: DialerConfig::default(),
            middlewares: Vec::new(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// `dialer:` (upstream's `confignet.DialerConfig`), accepted because upstream's
/// server configs carry it; it configures outgoing connections, which a receiver
/// does not make.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialerConfig {
    /// Dial timeout. No effect on a receiver. Duration. Default: `0s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
}

// Written out so every default is visible in one place.
#[allow(clippy::derivable_impls)]
impl Default for DialerConfig {
    fn default() -> Self {
        DialerConfig {
            timeout: Duration::ZERO,
        }
    }
}

/// The HTTP/2 concurrent stream limit per connection when `max_concurrent_streams`
/// is `0` (hyper's default), on both protocols.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 200;

/// Default of `max_connections` for both protocols.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 1024;

/// `grpc: { keepalive: ... }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeepaliveConfig {
    /// Server-side connection settings. Default: see [`ServerParameters`].
    #[serde(deserialize_with = "null_default")]
    pub server_parameters: ServerParameters,
    /// How often clients may ping. Accepted for compatibility; not enforced.
    /// Default: see [`EnforcementPolicy`].
    #[serde(deserialize_with = "null_default")]
    pub enforcement_policy: EnforcementPolicy,
}

// Written out so every default is visible in one place.
#[allow(clippy::derivable_impls)]
impl Default for KeepaliveConfig {
    fn default() -> Self {
        KeepaliveConfig {
            server_parameters: ServerParameters::default(),
            enforcement_policy: EnforcementPolicy::default(),
        }
    }
}

/// `keepalive: { server_parameters: ... }`. A zero duration means "no limit".
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerParameters {
    /// A connection with no request in flight for this long is closed gracefully.
    /// Duration; `0` means never. Default: `0`.
    #[serde(with = "stratus_core::confval::duration")]
    pub max_connection_idle: Duration,
    /// A connection older than this is closed gracefully (HTTP/2 GOAWAY).
    /// Duration; `0` means never. Default: `0`.
    #[serde(with = "stratus_core::confval::duration")]
    pub max_connection_age: Duration,
    /// After `max_connection_age`, how long in-flight requests get before the
    /// connection is closed forcibly. Duration; `0` means no limit. Default: `0`.
    #[serde(with = "stratus_core::confval::duration")]
    pub max_connection_age_grace: Duration,
    /// Interval of HTTP/2 keepalive pings sent to the client. Duration; `0` disables
    /// pings. Default: `2h`.
    #[serde(with = "stratus_core::confval::duration")]
    pub time: Duration,
    /// How long to wait for a ping's answer before closing the connection.
    /// Duration. Default: `20s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
}

impl Default for ServerParameters {
    fn default() -> Self {
        ServerParameters {
            max_connection_idle: Duration::ZERO,
            max_connection_age: Duration::ZERO,
            max_connection_age_grace: Duration::ZERO,
            time: Duration::from_secs(2 * 3600),
            timeout: Duration::from_secs(20),
        }
    }
}

/// `keepalive: { enforcement_policy: ... }`. Accepted so upstream configs load; the
/// HTTP/2 stack answers every ping and does not police client ping rates.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnforcementPolicy {
    /// Minimum interval between client pings. Duration. Default: `5m`.
    #[serde(with = "stratus_core::confval::duration")]
    pub min_time: Duration,
    /// Whether clients may ping with no request in flight. Default: `false`.
    pub permit_without_stream: bool,
}

impl Default for EnforcementPolicy {
    fn default() -> Self {
        EnforcementPolicy {
            min_time: Duration::from_secs(300),
            permit_without_stream: false,
        }
    }
}

/// `protocols: { http: ... }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `host:port` to listen on; an empty host listens on every interface.
    /// Default: `localhost:4318`.
    pub endpoint: String,
    /// URL path that takes traces; a path without a leading `/` gets one and a
    /// query or fragment is dropped, as upstream's `SanitizedURLPath` (`traces` is
    /// `/traces`). Default: `/v1/traces`.
    #[serde(deserialize_with = "url_path")]
    pub traces_url_path: String,
    /// URL path that takes metrics (sanitized as `traces_url_path`). Default: `/v1/metrics`.
    #[serde(deserialize_with = "url_path")]
    pub metrics_url_path: String,
    /// URL path that takes logs (sanitized as `traces_url_path`). Default: `/v1/logs`.
    #[serde(deserialize_with = "url_path")]
    pub logs_url_path: String,
    /// Largest request body accepted, in bytes; applies to the body as sent and to the
    /// body after decompression. Default: `20971520` (20 MiB).
    pub max_request_body_size: u64,
    /// Whether HTTP headers are passed down the pipeline with the data. Default: `false`.
    pub include_metadata: bool,
    /// TLS settings (the collector's `configtls` server keys, see `stratus-tls`);
    /// absent means plaintext. Default: absent.
    #[serde(deserialize_with = "present")]
    pub tls: Option<TlsServerConfig>,
    /// Cross-origin (browser) access. Default: absent (no CORS headers).
    #[serde(deserialize_with = "present")]
    pub cors: Option<CorsConfig>,
    /// Which authenticator extension checks every request, and which query
    /// parameters it also sees. Default: absent (no authentication).
    #[serde(deserialize_with = "required")]
    pub auth: Option<HttpAuthConfig>,
    /// Headers added to every response (success, error, CORS preflight); a header
    /// the receiver sets itself (`Content-Type`, `Retry-After`, CORS headers) keeps
    /// the receiver's value. A map `{name: value}` or upstream's list form
    /// `[{name, value}]`; values are secrets (never logged). Default: none.
    pub response_headers: ResponseHeaders,
    /// The `Content-Encoding`s accepted (`""` is none; an empty list takes only
    /// uncompressed bodies); any other answers 400 before the body is read. Names: `""`, `identity`, `gzip`, `zstd`, `zlib`, `deflate`,
    /// `snappy`, `x-snappy-framed`, `lz4` (an encoding listed here that stratus
    /// cannot decode is still refused with 400). Default: upstream's list, `["",
    /// "gzip", "zstd", "zlib", "snappy", "deflate", "lz4", "x-snappy-framed"]`.
    #[serde(deserialize_with = "null_default")]
    pub compression_algorithms: CompressionAlgorithms,
    /// Whether HTTP/1.1 connections stay open for further requests; `false` closes
    /// each after its response. HTTP/2 connections are not affected (Go's server
    /// also ends those once idle; stratus does not yet). Default: `true`.
    pub keep_alives_enabled: bool,
    /// Network transport; only `tcp` is supported. Default: `tcp`.
    pub transport: String,
    /// Upstream's `confignet` dialer settings; no effect on a receiver, as upstream.
    /// Default: `timeout: 0s`.
    #[serde(deserialize_with = "null_default")]
    pub dialer: DialerConfig,
    /// Upstream's middleware extensions. stratus has none, so a non-empty list is
    /// a config error. Default: empty.
    #[serde(deserialize_with = "null_default")]
    pub middlewares: Vec<IgnoredAny>,
    /// Longest time to read a whole request, body included, from when its headers
    /// were read; past it the request answers `408` and the connection is closed.
    /// Duration; `0` means no limit. Default: `0` (as upstream).
    #[serde(with = "stratus_core::confval::duration")]
    pub read_timeout: Duration,
    /// Longest time to read a request's headers (HTTP/1.1), counted from the
    /// connection's start or the end of the previous request; past it the connection
    /// is closed. Duration; `0` means `read_timeout`, and both `0` means no limit.
    /// Default: `1m` (confighttp's default; upstream's OTLP receiver sets `0`).
    #[serde(with = "stratus_core::confval::duration")]
    pub read_header_timeout: Duration,
    /// Longest time from reading a request's headers to answering it; past it the
    /// request is abandoned with `503` (retryable). Duration; `0` means no limit.
    /// Default: `0` (as upstream's OTLP receiver).
    #[serde(with = "stratus_core::confval::duration")]
    pub write_timeout: Duration,
    /// A connection with no request in flight for this long is closed. Duration; `0`
    /// means `read_timeout`, and both `0` means no limit. Default: `1m` (confighttp's
    /// default; upstream's OTLP receiver sets `0`).
    #[serde(with = "stratus_core::confval::duration")]
    pub idle_timeout: Duration,
    /// Most connections served at once; a connection accepted beyond it is closed at
    /// once (and logged). `0` means no limit. A stratus key: upstream has no such
    /// limit. Default: `1024`.
    pub max_connections: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            endpoint: "localhost:4318".into(),
            traces_url_path: "/v1/traces".into(),
            metrics_url_path: "/v1/metrics".into(),
            logs_url_path: "/v1/logs".into(),
            max_request_body_size: 20 * MIB as u64,
            include_metadata: false,
            tls: None,
            cors: None,
            auth: None,
            response_headers: ResponseHeaders::default(),
            compression_algorithms: CompressionAlgorithms::default(),
            keep_alives_enabled: true,
            transport: "tcp".into(),
            dialer: DialerConfig::default(),
            middlewares: Vec::new(),
            read_timeout: Duration::ZERO,
            read_header_timeout: Duration::from_secs(60),
            write_timeout: Duration::ZERO,
            idle_timeout: Duration::from_secs(60),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// `http: { auth: ... }` (upstream's `confighttp.AuthConfig`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpAuthConfig {
    /// The id of an authenticator extension listed in `service.extensions`
    /// (`bearertokenauth/gateway`). Required.
    pub authenticator: String,
    /// Query parameters handed to the authenticator as if they were headers of the
    /// same name; a parameter present in the query replaces a header of that name.
    /// Each must be a valid header name. Default: empty.
    #[serde(default)]
    pub request_params: Vec<String>,
}

/// `response_headers:`: name and value pairs, kept sorted by name (as upstream's
/// `configopaque.MapList` stores a map).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResponseHeaders(pub Vec<(String, Secret)>);

impl<'de> Deserialize<'de> for ResponseHeaders {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// One element of the list form.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Pair {
            name: String,
            value: Secret,
        }

        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = ResponseHeaders;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of header names to values, or a list of {name, value}")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ResponseHeaders::default())
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ResponseHeaders::default())
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, Secret>()? {
                    pairs.push((name, value));
                }
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(ResponseHeaders(pairs))
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::new();
                while let Some(Pair { name, value }) = seq.next_element()? {
                    pairs.push((name, value));
                }
                Ok(ResponseHeaders(pairs))
            }
        }

        d.deserialize_any(Visitor)
    }
}

/// The `Content-Encoding` names upstream's `confighttp` knows.
pub const KNOWN_COMPRESSION_ALGORITHMS: [&str; 9] = [
    "",
    "identity",
    "gzip",
    "zstd",
    "zlib",
    "deflate",
    "snappy",
    "x-snappy-framed",
    "lz4",
];

/// `compression_algorithms:`: the accepted `Content-Encoding` names.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct CompressionAlgorithms(pub Vec<String>);

impl Default for CompressionAlgorithms {
    fn default() -> Self {
        CompressionAlgorithms(
            [
                "",
                "gzip",
                "zstd",
                "zlib",
                "snappy",
                "deflate",
                "lz4",
                "x-snappy-framed",
            ]
            .map(String::from)
            .to_vec(),
        )
    }
}

impl CompressionAlgorithms {
    /// Whether a request whose `Content-Encoding` is `value` (absent: `""`) is
    /// accepted. Names compare without case; `identity` is the same as none, and
    /// `x-gzip` the same as `gzip`. An empty list takes uncompressed bodies only (as
    /// upstream, which then decompresses nothing).
    pub fn allows(&self, value: &str) -> bool {
        let canonical = |v: &str| -> String {
            let v = v.trim().to_ascii_lowercase();
            match v.as_str() {
                "identity" => String::new(),
                "x-gzip" => "gzip".into(),
                _ => v,
            }
        };
        let wanted = canonical(value);
        if self.0.is_empty() {
            return wanted.is_empty();
        }
        self.0.iter().any(|a| canonical(a) == wanted)
    }
}

impl HttpConfig {
    /// The header read limit in force: `read_header_timeout`, else `read_timeout`
    /// (Go's `http.Server` rule); `None` is no limit.
    pub fn effective_read_header_timeout(&self) -> Option<Duration> {
        nonzero(self.read_header_timeout).or(nonzero(self.read_timeout))
    }

    /// The idle limit in force: `idle_timeout`, else `read_timeout` (Go's
    /// `http.Server` rule); `None` is no limit.
    pub fn effective_idle_timeout(&self) -> Option<Duration> {
        nonzero(self.idle_timeout).or(nonzero(self.read_timeout))
    }
}

/// `None` for a zero duration (the config's "no limit").
pub(crate) fn nonzero(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

/// `http: { cors: ... }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsConfig {
    /// Origins allowed to send data (`https://app.example.com`); `*` allows any origin
    /// and one `*` inside a pattern matches any text (`https://*.example.com`).
    /// Default: empty (no origin allowed, no CORS headers sent).
    pub allowed_origins: Vec<String>,
    /// Request headers allowed besides `Accept`, `Content-Type`, `Content-Encoding`
    /// and `X-Requested-With`; `*` allows any. Default: empty.
    pub allowed_headers: Vec<String>,
    /// How long browsers may cache a preflight answer, in seconds; `0` sends no
    /// `Access-Control-Max-Age`. Default: `0`.
    pub max_age: u64,
    /// Response headers browsers may show to the page (`Access-Control-Expose-Headers`
    /// on answers to allowed origins). Default: empty.
    pub exposed_headers: Vec<String>,
}

// Written out so every default is visible in one place.
#[allow(clippy::derivable_impls)]
impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            allowed_origins: Vec::new(),
            allowed_headers: Vec::new(),
            max_age: 0,
            exposed_headers: Vec::new(),
        }
    }
}

/// A key that is present is `Some`, even when its value is null (`grpc:` alone).
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(|v| Some(v.unwrap_or_default()))
}

/// A block that must have a body when present: `auth:` with no `authenticator`
/// would otherwise read as "no authentication".
fn required<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)?
        .map(Some)
        .ok_or_else(|| de::Error::custom("needs `authenticator: <extension id>`"))
}

/// An HTTP path as upstream's `SanitizedURLPath` reads it: the path part of the
/// text (a query or fragment dropped), with a leading `/` added when missing.
fn url_path<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    let path = text.split(['?', '#']).next().unwrap_or_default();
    Ok(if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    })
}

/// A null value is the default (`keepalive:` alone).
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// Checks a listen endpoint with the one parser the receiver binds with
/// ([`stratus_core::endpoint`]); the port may be `0` (any free port).
fn check_endpoint(path: &str, endpoint: &str, problems: &mut Vec<ConfigProblem>) {
    if let Err(e) = endpoint.parse::<stratus_core::endpoint::Endpoint>() {
        problems.push(ConfigProblem::new(path, format!("invalid endpoint: {e}")));
    }
}

/// Key path of the gRPC authenticator id (for errors and `extension_references`).
pub const GRPC_AUTH_KEY: &str = "protocols::grpc::auth::authenticator";
/// Key path of the HTTP authenticator id (for errors and `extension_references`).
pub const HTTP_AUTH_KEY: &str = "protocols::http::auth::authenticator";

/// An authenticator id must be a component id (`type[/name]`).
fn check_authenticator(path: &str, id: &str, problems: &mut Vec<ConfigProblem>) {
    if id.parse::<stratus_core::ComponentId>().is_err() {
        problems.push(ConfigProblem::new(
            path,
            format!("`{id}` is not a component id (`type[/name]`)"),
        ));
    }
}

/// `middlewares` names upstream middleware extensions, which stratus does not have.
fn check_middlewares(at: &str, middlewares: &[IgnoredAny], problems: &mut Vec<ConfigProblem>) {
    if !middlewares.is_empty() {
        problems.push(ConfigProblem::new(
            format!("{at}::middlewares"),
            "not supported: stratus has no middleware extensions, so the listed \
             middlewares cannot run; remove `middlewares`",
        ));
    }
}

/// Headers a response must not carry from config: they frame the message or belong
/// to the connection (HTTP/2 forbids them outright), and the server sets them itself.
const CONNECTION_HEADERS: [&str; 8] = [
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The HTTP keys beyond the endpoint, paths, size and TLS.
fn check_http_extras(h: &HttpConfig, problems: &mut Vec<ConfigProblem>) {
    if h.transport != "tcp" {
        problems.push(ConfigProblem::new(
            "protocols::http::transport",
            format!(
                "unsupported transport `{}`: only `tcp` is supported",
                h.transport
            ),
        ));
    }
    if let Some(auth) = &h.auth {
        check_authenticator(HTTP_AUTH_KEY, &auth.authenticator, problems);
        for (i, param) in auth.request_params.iter().enumerate() {
            if http::HeaderName::from_bytes(param.as_bytes()).is_err() {
                problems.push(ConfigProblem::new(
                    format!("protocols::http::auth::request_params::{i}"),
                    format!(
                        "`{param}` cannot be handed to the authenticator as a header: \
                         not a valid header name"
                    ),
                ));
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (name, value) in &h.response_headers.0 {
        let path = format!("protocols::http::response_headers::{name}");
        if !seen.insert(name.as_str()) {
            problems.push(ConfigProblem::new(
                &path,
                format!("duplicate header `{name}`"),
            ));
        }
        match http::HeaderName::from_bytes(name.as_bytes()) {
            Err(_) => problems.push(ConfigProblem::new(&path, "not a valid header name")),
            Ok(n) if CONNECTION_HEADERS.contains(&n.as_str()) => {
                problems.push(ConfigProblem::new(
                    &path,
                    format!(
                        "`{name}` cannot be set from config: the server manages it (it frames \
                         the message or belongs to the connection)"
                    ),
                ));
            }
            Ok(_) => {}
        }
        // The value is a secret: the message never repeats it.
        if http::HeaderValue::from_str(value.expose()).is_err() {
            problems.push(ConfigProblem::new(
                &path,
                "the value is not a valid header value (control characters or non-ASCII text)",
            ));
        }
    }
    for (i, algorithm) in h.compression_algorithms.0.iter().enumerate() {
        if !KNOWN_COMPRESSION_ALGORITHMS.contains(&algorithm.as_str()) {
            problems.push(ConfigProblem::new(
                format!("protocols::http::compression_algorithms::{i}"),
                format!(
                    "unknown compression algorithm `{algorithm}`: known are \"\", identity, \
                     gzip, zstd, zlib, deflate, snappy, x-snappy-framed, lz4"
                ),
            ));
        }
    }
    check_middlewares("protocols::http", &h.middlewares, problems);
}

impl Validate for Config {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let p = &self.protocols;
        if p.grpc.is_none() && p.http.is_none() {
            problems.push(ConfigProblem::new(
                "protocols",
                "must specify at least one protocol when using the OTLP receiver",
            ));
        }
        if let Some(g) = &p.grpc {
            check_endpoint("protocols::grpc::endpoint", &g.endpoint, &mut problems);
            if g.transport != "tcp" {
                problems.push(ConfigProblem::new(
                    "protocols::grpc::transport",
                    format!(
                        "unsupported transport `{}`: only `tcp` is supported",
                        g.transport
                    ),
                ));
            }
            if g.max_recv_msg_size_mib == 0 {
                problems.push(ConfigProblem::new(
                    "protocols::grpc::max_recv_msg_size_mib",
                    "must be greater than 0",
                ));
            } else if g.max_recv_msg_size_mib > 4096 {
                problems.push(ConfigProblem::new(
                    "protocols::grpc::max_recv_msg_size_mib",
                    "must be at most 4096 (4 GiB)",
                ));
            }
            let ka = &g.keepalive.server_parameters;
            if !ka.time.is_zero() && ka.timeout.is_zero() {
                problems.push(ConfigProblem::new(
                    "protocols::grpc::keepalive::server_parameters::timeout",
                    "must be greater than 0 when keepalive pings are enabled",
                ));
            }
            if let Some(tls) = &g.tls {
                problems.extend(stratus_tls::prefixed(
                    "protocols::grpc::tls",
                    tls.validate(),
                ));
            }
            if g.write_buffer_size > u64::from(u32::MAX) {
                problems.push(ConfigProblem::new(
                    "protocols::grpc::write_buffer_size",
                    "must be at most 4294967295",
                ));
            }
            if let Some(auth) = &g.auth {
                check_authenticator(GRPC_AUTH_KEY, &auth.authenticator, &mut problems);
            }
            check_middlewares("protocols::grpc", &g.middlewares, &mut problems);
        }
        if let Some(h) = &p.http {
            check_endpoint("protocols::http::endpoint", &h.endpoint, &mut problems);
            if h.traces_url_path == h.metrics_url_path
                || h.traces_url_path == h.logs_url_path
                || h.metrics_url_path == h.logs_url_path
            {
                problems.push(ConfigProblem::new(
                    "protocols::http",
                    "`traces_url_path`, `metrics_url_path` and `logs_url_path` must differ",
                ));
            }
            if h.max_request_body_size == 0 {
                problems.push(ConfigProblem::new(
                    "protocols::http::max_request_body_size",
                    "must be greater than 0",
                ));
            }
            if let Some(tls) = &h.tls {
                problems.extend(stratus_tls::prefixed(
                    "protocols::http::tls",
                    tls.validate(),
                ));
            }
            check_http_extras(h, &mut problems);
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_core::factory::decode_config;

    #[test]
    fn null_protocols_are_enabled_with_defaults() {
        let c: Config = decode_config(&json!({"protocols": {"grpc": null, "http": null}})).unwrap();
        assert_eq!(c.protocols.grpc, Some(GrpcConfig::default()));
        assert_eq!(c.protocols.http, Some(HttpConfig::default()));
        let g = GrpcConfig::default();
        assert_eq!(g.endpoint, "localhost:4317");
        assert_eq!(g.max_recv_msg_size_mib, 4);
        assert_eq!(
            g.keepalive.server_parameters.time,
            Duration::from_secs(7200)
        );
        assert_eq!(
            g.keepalive.server_parameters.timeout,
            Duration::from_secs(20)
        );
        let h = HttpConfig::default();
        assert_eq!(h.endpoint, "localhost:4318");
        assert_eq!(h.max_request_body_size, 20_971_520);
        assert_eq!(
            [h.traces_url_path, h.metrics_url_path, h.logs_url_path],
            ["/v1/traces", "/v1/metrics", "/v1/logs"]
        );
    }

    #[test]
    fn url_paths_are_sanitized_as_upstream() {
        // Upstream's own testdata: `traces`, `/v2/metrics`, `log/ingest`.
        let c: Config = decode_config(&json!({"protocols": {"http": {
            "traces_url_path": "traces", "metrics_url_path": "/v2/metrics",
            "logs_url_path": "log/ingest?x=1"}}}))
        .unwrap();
        let h = c.protocols.http.unwrap();
        assert_eq!(
            [h.traces_url_path, h.metrics_url_path, h.logs_url_path],
            ["/traces", "/v2/metrics", "/log/ingest"]
        );
    }

    #[test]
    fn one_protocol_leaves_the_other_off() {
        let c: Config = decode_config(&json!({"protocols": {"http": {}}})).unwrap();
        assert!(c.protocols.grpc.is_none());
        assert!(c.protocols.http.is_some());
    }

    #[test]
    fn no_protocol_is_an_error() {
        for raw in [serde_json::Value::Null, json!({}), json!({"protocols": {}})] {
            let err = decode_config::<Config>(&raw).unwrap_err();
            assert_eq!(err.len(), 1);
            assert_eq!(err[0].path, "protocols");
            assert!(err[0].message.contains("at least one protocol"));
        }
    }

    #[test]
    fn unknown_keys_are_errors_with_paths() {
        let err =
            decode_config::<Config>(&json!({"protocols": {"grpc": {"endpont": "x"}}})).unwrap_err();
        assert_eq!(err[0].path, "protocols::grpc::endpont");
        assert!(err[0].message.contains("unknown field `endpont`"));
        let err = decode_config::<Config>(&json!({"protocols": {"thrift": {}}})).unwrap_err();
        assert_eq!(err[0].path, "protocols::thrift");
    }

    #[test]
    fn nested_null_blocks_are_defaults() {
        let c: Config = decode_config(&json!({"protocols": {"grpc": {
            "keepalive": {"server_parameters": null, "enforcement_policy": {"min_time": "10s"}},
        }}}))
        .unwrap();
        let g = c.protocols.grpc.unwrap();
        assert_eq!(g.keepalive.server_parameters, ServerParameters::default());
        assert_eq!(
            g.keepalive.enforcement_policy.min_time,
            Duration::from_secs(10)
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let err = decode_config::<Config>(&json!({"protocols": {
            "grpc": {"endpoint": "nohost", "max_recv_msg_size_mib": 0, "transport": "unix",
                     "tls": {"min_version": "1.0"}},
            "http": {"endpoint": "localhost:99999", "traces_url_path": "v1/traces",
                     "max_request_body_size": 0, "logs_url_path": "v1/metrics",
                     "tls": {"cert_file": "/c.pem", "key_file": "/k.pem",
                             "cipher_suites": ["TLS_RSA_WITH_RC4_128_SHA"]}},
        }}))
        .unwrap_err();
        let paths: Vec<&str> = err.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "protocols::grpc::endpoint",
                "protocols::grpc::transport",
                "protocols::grpc::max_recv_msg_size_mib",
                "protocols::grpc::tls::cert_file",
                "protocols::grpc::tls::key_file",
                "protocols::grpc::tls::min_version",
                "protocols::http::endpoint",
                "protocols::http",
                "protocols::http::max_request_body_size",
                "protocols::http::tls::cipher_suites",
            ]
        );
        assert!(
            err[5]
                .message
                .contains("rustls speaks only TLS 1.2 and 1.3")
        );
    }

    #[test]
    fn tls_takes_the_collectors_configtls_server_keys() {
        let c: Config = decode_config(&json!({"protocols": {"grpc": {"tls": {
            "cert_pem": "-----BEGIN CERTIFICATE-----", "key_pem": "secret",
            "client_ca_file": "/ca.pem", "client_ca_file_reload": true,
            "include_system_ca_certs_pool": true, "reload_interval": "1h",
            "min_version": "1.3", "cipher_suites": ["TLS_AES_128_GCM_SHA256"],
        }}}}))
        .unwrap();
        let tls = c.protocols.grpc.unwrap().tls.unwrap();
        assert_eq!(tls.reload_interval, Duration::from_secs(3600));
        assert!(tls.requires_client_certificate());
        // The key is a secret.
        assert!(!format!("{tls:?}").contains("secret"));
        let err = decode_config::<Config>(&json!({"protocols": {"http": {"tls": {
            "cert_file": "/c.pem", "key_file": "/k.pem", "insecure_skip_verify": true,
        }}}}))
        .unwrap_err();
        assert_eq!(err[0].path, "protocols::http::tls::insecure_skip_verify");
    }

    #[test]
    fn endpoints() {
        let ok = |e: &str| {
            let mut p = Vec::new();
            check_endpoint("e", e, &mut p);
            p.is_empty()
        };
        assert!(ok("localhost:4317"));
        assert!(ok("0.0.0.0:0"));
        assert!(ok(":4318"));
        assert!(ok("[::1]:4317"));
        assert!(!ok("localhost"));
        assert!(!ok("::1:4317"));
        assert!(!ok("localhost:http"));
        assert!(!ok("[]:4317"));
    }

    #[test]
    fn durations_use_go_syntax() {
        let c: Config = decode_config(&json!({"protocols": {"grpc": {"keepalive": {
            "server_parameters": {"max_connection_age": "1m30s", "time": "0"}}}}}))
        .unwrap();
        let sp = c.protocols.grpc.unwrap().keepalive.server_parameters;
        assert_eq!(sp.max_connection_age, Duration::from_secs(90));
        assert!(sp.time.is_zero());
        let err = decode_config::<Config>(&json!({"protocols": {"grpc": {"keepalive": {
            "server_parameters": {"timeout": "soon"}}}}}))
        .unwrap_err();
        assert_eq!(
            err[0].path,
            "protocols::grpc::keepalive::server_parameters::timeout"
        );
    }

    #[test]
    fn new_keys_have_upstream_defaults() {
        let c: Config = decode_config(&json!({"protocols": {"grpc": null, "http": null}})).unwrap();
        let g = c.protocols.grpc.unwrap();
        assert_eq!(g.read_buffer_size, 524_288);
        assert_eq!(g.write_buffer_size, 0);
        assert_eq!(g.auth, None);
        assert_eq!(g.dialer.timeout, Duration::ZERO);
        assert!(g.middlewares.is_empty());
        let h = c.protocols.http.unwrap();
        assert_eq!(h.auth, None);
        assert!(h.response_headers.0.is_empty());
        assert_eq!(
            h.compression_algorithms.0,
            [
                "",
                "gzip",
                "zstd",
                "zlib",
                "snappy",
                "deflate",
                "lz4",
                "x-snappy-framed"
            ]
        );
        assert!(h.keep_alives_enabled);
        assert_eq!(h.transport, "tcp");
        assert_eq!(h.dialer.timeout, Duration::ZERO);
        assert!(h.middlewares.is_empty());
        assert!(CorsConfig::default().exposed_headers.is_empty());
    }

    #[test]
    fn new_keys_take_upstream_values() {
        let c: Config = decode_config(&json!({"protocols": {
            "grpc": {"read_buffer_size": 1_048_576, "write_buffer_size": 65536,
                     "auth": {"authenticator": "oidc/in"}, "dialer": {"timeout": "5s"},
                     "middlewares": null},
            "http": {"auth": {"authenticator": "basicauth", "request_params": ["token"]},
                     "response_headers": {"X-B": "2", "X-A": "1"},
                     "compression_algorithms": ["gzip", "zstd"],
                     "keep_alives_enabled": false, "transport": "tcp", "middlewares": [],
                     "cors": {"allowed_origins": ["*"], "exposed_headers": ["X-Ack"]}},
        }}))
        .unwrap();
        let g = c.protocols.grpc.unwrap();
        assert_eq!(
            (g.read_buffer_size, g.write_buffer_size),
            (1_048_576, 65536)
        );
        assert_eq!(g.auth.unwrap().authenticator, "oidc/in");
        assert_eq!(g.dialer.timeout, Duration::from_secs(5));
        let h = c.protocols.http.unwrap();
        assert_eq!(
            h.auth,
            Some(HttpAuthConfig {
                authenticator: "basicauth".into(),
                request_params: vec!["token".into()],
            })
        );
        // The map form is kept sorted by name.
        let names: Vec<&str> = h
            .response_headers
            .0
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, ["X-A", "X-B"]);
        assert_eq!(h.compression_algorithms.0, ["gzip", "zstd"]);
        assert!(!h.keep_alives_enabled);
        assert_eq!(h.cors.unwrap().exposed_headers, ["X-Ack"]);
    }

    #[test]
    fn auth_blocks() {
        // `auth:` with no body would read as "no authentication": an error instead.
        let err =
            decode_config::<Config>(&json!({"protocols": {"grpc": {"auth": null}}})).unwrap_err();
        assert_eq!(err[0].path, "protocols::grpc::auth");
        assert!(
            err[0].message.contains("needs `authenticator"),
            "{}",
            err[0].message
        );
        let err =
            decode_config::<Config>(&json!({"protocols": {"http": {"auth": {}}}})).unwrap_err();
        assert!(
            err[0].message.contains("authenticator"),
            "{}",
            err[0].message
        );
        // gRPC's auth is configauth's: no request_params.
        let err = decode_config::<Config>(&json!({"protocols": {"grpc": {"auth": {
            "authenticator": "a", "request_params": ["x"]}}}}))
        .unwrap_err();
        assert_eq!(err[0].path, "protocols::grpc::auth::request_params");
        let err = decode_config::<Config>(&json!({"protocols": {
            "grpc": {"auth": {"authenticator": "not an id!"}},
            "http": {"auth": {"authenticator": "basicauth", "request_params": ["ok", "bad param"]}},
        }}))
        .unwrap_err();
        let paths: Vec<&str> = err.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "protocols::grpc::auth::authenticator",
                "protocols::http::auth::request_params::1"
            ]
        );
    }

    #[test]
    fn response_headers_take_both_forms_and_hide_values() {
        let list: Config = decode_config(&json!({"protocols": {"http": {"response_headers": [
            {"name": "X-Api-Key", "value": "hunter2"}, {"name": "X-A", "value": "1"}]}}}))
        .unwrap();
        let h = list.protocols.http.unwrap();
        assert_eq!(h.response_headers.0[0].0, "X-Api-Key");
        assert_eq!(h.response_headers.0[0].1.expose(), "hunter2");
        assert!(!format!("{h:?}").contains("hunter2"));
        let null: Config =
            decode_config(&json!({"protocols": {"http": {"response_headers": null}}})).unwrap();
        assert!(null.protocols.http.unwrap().response_headers.0.is_empty());

        let err = decode_config::<Config>(&json!({"protocols": {"http": {"response_headers": [
            {"name": "X-A", "value": "1"}, {"name": "X-A", "value": "2"},
            {"name": "bad name", "value": "1"},
            {"name": "Connection", "value": "close"},
            {"name": "X-Secret", "value": "line1\nhunter2"},
        ]}}}))
        .unwrap_err();
        let paths: Vec<&str> = err.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "protocols::http::response_headers::X-A",
                "protocols::http::response_headers::bad name",
                "protocols::http::response_headers::Connection",
                "protocols::http::response_headers::X-Secret",
            ]
        );
        assert!(err[0].message.contains("duplicate"));
        assert!(err[2].message.contains("the server manages it"));
        assert!(!err[3].message.contains("hunter2"));
        let err = decode_config::<Config>(&json!({"protocols": {"http": {"response_headers": [
            {"name": "X-A", "valu": "1"}]}}}))
        .unwrap_err();
        assert!(err[0].message.contains("valu"), "{}", err[0].message);
    }

    #[test]
    fn compression_algorithms() {
        let c: Config =
            decode_config(&json!({"protocols": {"http": {"compression_algorithms": null}}}))
                .unwrap();
        assert_eq!(
            c.protocols.http.unwrap().compression_algorithms,
            CompressionAlgorithms::default()
        );
        let err = decode_config::<Config>(&json!({"protocols": {"http": {
            "compression_algorithms": ["gzip", "br"]}}}))
        .unwrap_err();
        assert_eq!(err[0].path, "protocols::http::compression_algorithms::1");
        assert!(err[0].message.contains("`br`"));

        let default = CompressionAlgorithms::default();
        for ok in [
            "", "identity", "GZIP", "x-gzip", "zstd", "deflate", "zlib", "snappy", "lz4",
        ] {
            assert!(default.allows(ok), "{ok}");
        }
        assert!(!default.allows("br"));
        let only_gzip = CompressionAlgorithms(vec!["gzip".into()]);
        assert!(only_gzip.allows("gzip") && !only_gzip.allows("") && !only_gzip.allows("zstd"));
        let none = CompressionAlgorithms(Vec::new());
        assert!(none.allows("") && none.allows("identity") && !none.allows("gzip"));
    }

    #[test]
    fn keys_stratus_cannot_honour_are_errors_that_say_why() {
        let err = decode_config::<Config>(&json!({"protocols": {
            "grpc": {"middlewares": [{"id": "mw"}], "write_buffer_size": 4_294_967_296u64},
            "http": {"middlewares": [{"id": "mw"}], "transport": "unix"},
        }}))
        .unwrap_err();
        let paths: Vec<&str> = err.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "protocols::grpc::write_buffer_size",
                "protocols::grpc::middlewares",
                "protocols::http::transport",
                "protocols::http::middlewares",
            ]
        );
        assert!(err[1].message.contains("no middleware extensions"));
        assert!(err[2].message.contains("only `tcp`"));
    }

    #[test]
    fn http_timeouts_and_connection_limits() {
        let h = HttpConfig::default();
        assert_eq!(h.read_timeout, Duration::ZERO);
        assert_eq!(h.write_timeout, Duration::ZERO);
        assert_eq!(
            h.effective_read_header_timeout(),
            Some(Duration::from_secs(60))
        );
        assert_eq!(h.effective_idle_timeout(), Some(Duration::from_secs(60)));
        assert_eq!(h.max_connections, 1024);
        assert_eq!(GrpcConfig::default().max_connections, 1024);
        let c: Config = decode_config(&json!({"protocols": {
            "http": {"read_timeout": "5s", "read_header_timeout": "0", "idle_timeout": "0",
                     "write_timeout": "30s", "max_connections": 0},
            "grpc": {"max_connections": 10},
        }}))
        .unwrap();
        let h = c.protocols.http.unwrap();
        // Zero falls back to read_timeout, as Go's http.Server does.
        assert_eq!(
            h.effective_read_header_timeout(),
            Some(Duration::from_secs(5))
        );
        assert_eq!(h.effective_idle_timeout(), Some(Duration::from_secs(5)));
        assert_eq!(h.write_timeout, Duration::from_secs(30));
        assert_eq!(h.max_connections, 0);
        assert_eq!(c.protocols.grpc.unwrap().max_connections, 10);
        let c: Config = decode_config(&json!({"protocols": {"http": {
            "read_header_timeout": "0", "idle_timeout": "0"}}}))
        .unwrap();
        let h = c.protocols.http.unwrap();
        assert_eq!(h.effective_read_header_timeout(), None);
        assert_eq!(h.effective_idle_timeout(), None);
        let err = decode_config::<Config>(&json!({"protocols": {"http": {
            "read_timeout": "later"}}}))
        .unwrap_err();
        assert_eq!(err[0].path, "protocols::http::read_timeout");
    }
}
