//! The `otlphttp` exporter's sender: OTLP export requests over HTTP (hyper, one pooled
//! client for every signal).
//!
//! A batch is encoded and compressed once into the request body; every attempt sends
//! the same bytes.

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{
    FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream,
};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use prost::Message;
use stratus_core::factory::BuildContext;
use stratus_core::{ComponentError, ConsumeError, Signal, Telemetry};
use stratus_exporter_helper::Sender;
use stratus_otlp_client::auth::ClientAuth;
use stratus_otlp_client::connect::Buffered;

use crate::config::{Compression, DEFAULT_HTTP2_PING_TIMEOUT, Encoding, OtlpHttpConfig};
use stratus_otlp_client::rpc::{ExportResponse, PartialSuccess, RpcStatus};

/// The largest response body read, in bytes; OTLP answers are a few bytes.
const MAX_RESPONSE_BODY: usize = 4 * 1024 * 1024;

/// `Content-Type` of protobuf bodies.
pub const PROTOBUF_CONTENT_TYPE: &str = "application/x-protobuf";
/// `Content-Type` of OTLP/JSON bodies.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// One export request, encoded and compressed, sent as is on every attempt.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The request's signal.
    pub signal: Signal,
    /// Where it goes.
    pub url: Uri,
    /// The (compressed) body.
    pub body: Bytes,
}

/// Compresses a body at `level` (`0`: the algorithm's default; see
/// [`crate::config::CompressionParams`]). Without compression the body is returned
/// as it is, not copied.
pub fn compress(compression: Compression, level: i32, body: Bytes) -> std::io::Result<Bytes> {
    match compression {
        Compression::None => Ok(body),
        _ => compress_slice(compression, level, &body).map(Bytes::from),
    }
}

fn compress_slice(compression: Compression, level: i32, body: &[u8]) -> std::io::Result<Vec<u8>> {
    match compression {
        Compression::None => Ok(body.to_vec()),
        Compression::Gzip => {
            let level = match u32::try_from(level) {
                Ok(l @ 1..=9) => flate2::Compression::new(l),
                _ => flate2::Compression::default(),
            };
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4 + 64), level);
            encoder.write_all(body)?;
            encoder.finish()
        }
        Compression::Zstd => {
            let range = zstd::compression_level_range();
            let level = level.clamp(*range.start(), *range.end());
            zstd::bulk::compress(body, level)
        }
    }
}

/// Parses `Retry-After`: delta-seconds or an HTTP-date (a date in the past means now).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn is_protobuf(media_type: &str) -> bool {
    matches!(
        media_type,
        "application/x-protobuf" | "application/protobuf"
    )
}

/// Classifies an OTLP/HTTP answer as the collector does. On success, returns the
/// partial success the server reported, if any.
///
/// 2xx is success. 429, 502, 503 and 504 are retryable, with `Retry-After` as the
/// throttle. Every other status is permanent. The error names the `google.rpc.Status`
/// message of the body when the body holds one.
pub fn classify_response(
    url: &Uri,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<Option<PartialSuccess>, ConsumeError> {
    let media = media_type(headers);
    if status.is_success() {
        if body.is_empty() {
            return Ok(None);
        }
        let partial = if media == JSON_CONTENT_TYPE {
            PartialSuccess::from_json(body)
        } else if is_protobuf(&media) {
            ExportResponse::decode(body)
                .ok()
                .and_then(|r| r.partial_success)
        } else {
            None
        };
        return Ok(partial);
    }
    let rpc_status = if media == JSON_CONTENT_TYPE {
        RpcStatus::from_json(body)
    } else if is_protobuf(&media) {
        RpcStatus::decode(body).ok()
    } else {
        None
    };
    let mut message = format!(
        "OTLP/HTTP export to {url} failed: HTTP status {}",
        status.as_u16()
    );
    match rpc_status {
        Some(s) if !s.message.is_empty() => message.push_str(&format!(": {}", s.message)),
        _ => {
            if let Ok(text) = std::str::from_utf8(body) {
                let text = text.trim();
                if !text.is_empty() && media.starts_with("text/") {
                    let cut: String = text.chars().take(200).collect();
                    message.push_str(&format!(": {cut}"));
                }
            }
        }
    }
    match status.as_u16() {
        429 | 502 | 503 | 504 => {
            let throttle = headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, now))
                .filter(|d| !d.is_zero());
            Err(match throttle {
                Some(delay) => ConsumeError::throttled(message, delay),
                None => ConsumeError::retryable(message),
            })
        }
        _ => Err(ConsumeError::permanent(message)),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// Connects `otlphttp` requests: directly, or through `proxy_url` (a `CONNECT` tunnel
/// for `https://`, the proxy itself for `http://`), with the connection buffers.
#[derive(Clone)]
pub struct HttpDialer {
    direct: HttpsConnector<HttpConnector>,
    tunnel: Option<HttpsConnector<Tunnel<HttpConnector>>>,
    /// The plain connector and the proxy's URI, for `http://` URLs through a proxy.
    forward: Option<(HttpConnector, Uri)>,
    read_buffer_size: usize,
    write_buffer_size: usize,
}

type Dialling = std::pin::Pin<
    Box<dyn Future<Output = Result<Buffered, Box<dyn std::error::Error + Send + Sync>>> + Send>,
>;

impl tonic::codegen::Service<Uri> for HttpDialer {
    type Response = Buffered;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = Dialling;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        // Every connector below is always ready.
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let (read, write) = (self.read_buffer_size, self.write_buffer_size);
        let https = dst.scheme_str() == Some("https");
        match (&mut self.tunnel, &mut self.forward) {
            (Some(tunnel), _) if https => {
                let connecting = tunnel.call(dst);
                Box::pin(async move { Ok(Buffered::new(connecting.await?, read, write)) })
            }
            (_, Some((plain, proxy))) if !https => {
                let connecting = plain.call(proxy.clone());
                Box::pin(async move {
                    let io = MaybeHttpsStream::Http(connecting.await?);
                    Ok(Buffered::new(io, read, write).proxied())
                })
            }
            _ => {
                let connecting = self.direct.call(dst);
                Box::pin(async move { Ok(Buffered::new(connecting.await?, read, write)) })
            }
        }
    }
}

/// The `otlphttp` exporter's [`Sender`].
pub struct HttpSender {
    id: String,
    client: Client<HttpDialer, Full<Bytes>>,
    urls: [Option<Uri>; 3],
    encoding: Encoding,
    compression: Compression,
    compression_level: i32,
    headers: HeaderMap,
    /// `Proxy-Authorization` for `http://` URLs sent through a proxy.
    proxy_authorization: Option<HeaderValue>,
    auth: Option<ClientAuth>,
}

/// The client authenticator of `auth::authenticator`, and where its failures are
/// counted.
fn signal_index(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

/// TLS (for `https://` URLs) over `inner`, offering HTTP/2 by ALPN when `h2`.
fn https_connector<T>(
    tls_config: rustls::ClientConfig,
    server_name: &Option<rustls_pki_types::ServerName<'static>>,
    h2: bool,
    inner: T,
) -> HttpsConnector<T> {
    let builder = HttpsConnectorBuilder::new()
        .with_tls_config(tls_config)
        .https_or_http();
    let builder = match server_name.clone() {
        Some(name) => builder.with_server_name_resolver(FixedServerNameResolver::new(name)),
        None => builder,
    };
    let builder = builder.enable_http1();
    if h2 {
        builder.enable_http2().wrap_connector(inner)
    } else {
        builder.wrap_connector(inner)
    }
}

fn tcp_connector() -> HttpConnector {
    let mut connector = HttpConnector::new();
    connector.enforce_http(false);
    connector.set_nodelay(true);
    connector
}

impl HttpSender {
    /// Builds the sender of a component built with `ctx`, for the signals of its
    /// pipelines; `auth::authenticator` is looked up among `ctx`'s authenticators.
    pub fn from_context(
        ctx: &BuildContext,
        config: &OtlpHttpConfig,
    ) -> Result<Self, ComponentError> {
        let id = ctx.id.to_string();
        let auth = ClientAuth::from_context(ctx, &id, config.auth.as_ref())?;
        Self::build(id, config, &ctx.signals, auth)
    }

    /// Builds the sender for the signals in `signals`: every one of them needs a URL.
    /// Reads the TLS files when a URL is `https://`. A config with `auth` needs the
    /// collector's authenticators: use [`HttpSender::from_context`].
    pub fn new(
        id: String,
        config: &OtlpHttpConfig,
        signals: &[Signal],
    ) -> Result<Self, ComponentError> {
        if let Some(auth) = &config.auth {
            return Err(ComponentError::new(format!(
                "exporter {id}: auth::authenticator `{}` needs the collector's \
                 authenticator extensions: build the sender with `from_context`",
                auth.authenticator
            )));
        }
        Self::build(id, config, signals, None)
    }

    fn build(
        id: String,
        config: &OtlpHttpConfig,
        signals: &[Signal],
        auth: Option<ClientAuth>,
    ) -> Result<Self, ComponentError> {
        let fail = |msg: String| ComponentError::new(format!("exporter {id}: {msg}"));
        let mut urls: [Option<Uri>; 3] = [None, None, None];
        for signal in Signal::ALL {
            match config.signal_url(signal) {
                Some(Ok(url)) => urls[signal_index(signal)] = Some(url),
                Some(Err(e)) => return Err(fail(e)),
                None if signals.contains(&signal) => {
                    return Err(fail(format!(
                        "used in a {signal} pipeline but has no URL for {signal}: set \
                         `endpoint` or `{signal}_endpoint`"
                    )));
                }
                None => {}
            }
        }
        if config.max_conns_per_host != 0 {
            return Err(fail(
                "max_conns_per_host: not supported by stratus (set 0)".to_string(),
            ));
        }
        let proxy = config.proxy().map_err(|e| fail(format!("proxy_url {e}")))?;
        let any_https = urls
            .iter()
            .flatten()
            .any(|u| u.scheme_str() == Some("https"));
        let tls_error = |e: stratus_tls::TlsError| fail(e.at("tls"));
        let tls_config = if any_https {
            // hyper-rustls sets ALPN itself.
            std::sync::Arc::unwrap_or_clone(config.tls.client_config(&[]).map_err(tls_error)?)
        } else {
            // Only plain http:// URLs: no TLS is ever used, so no roots are needed.
            rustls::ClientConfig::builder_with_provider(stratus_tls::provider())
                .with_safe_default_protocol_versions()
                .map_err(|e| fail(e.to_string()))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        };
        let server_name = config.tls.server_name_override().map_err(tls_error)?;
        let h2 = config.force_attempt_http2;
        let direct = https_connector(tls_config.clone(), &server_name, h2, tcp_connector());
        let (tunnel, forward, proxy_authorization) = match proxy {
            None => (None, None, None),
            Some(proxy) => {
                let mut tunnel = Tunnel::new(proxy.uri.clone(), tcp_connector());
                if let Some(value) = &proxy.authorization {
                    tunnel = tunnel.with_auth(value.clone());
                }
                (
                    Some(https_connector(tls_config, &server_name, h2, tunnel)),
                    Some((tcp_connector(), proxy.uri)),
                    proxy.authorization,
                )
            }
        };
        let dialer = HttpDialer {
            direct,
            tunnel,
            forward,
            read_buffer_size: config.read_buffer_size,
            write_buffer_size: config.write_buffer_size,
        };
        let mut hosts: Vec<String> = urls
            .iter()
            .flatten()
            .map(|u| {
                format!(
                    "{}://{}",
                    u.scheme_str().unwrap_or_default(),
                    u.authority().map(|a| a.as_str()).unwrap_or_default()
                )
            })
            .collect();
        hosts.sort();
        hosts.dedup();
        let idle_timeout =
            (!config.idle_conn_timeout.is_zero()).then_some(config.idle_conn_timeout);
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_max_idle_per_host(config.idle_per_host(hosts.len()))
            .pool_idle_timeout(idle_timeout);
        if !config.http2_read_idle_timeout.is_zero() {
            let ping_timeout = if config.http2_ping_timeout.is_zero() {
                DEFAULT_HTTP2_PING_TIMEOUT
            } else {
                config.http2_ping_timeout
            };
            builder
                .http2_keep_alive_interval(config.http2_read_idle_timeout)
                .http2_keep_alive_timeout(ping_timeout)
                .http2_keep_alive_while_idle(true);
        }
        let client = builder.build(dialer);
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let key = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| fail(format!("invalid header name `{name}`")))?;
            let mut value = HeaderValue::from_str(value.expose())
                .map_err(|_| fail(format!("invalid value for header `{name}`")))?;
            value.set_sensitive(true);
            headers.append(key, value);
        }
        Ok(HttpSender {
            id,
            client,
            urls,
            encoding: config.encoding,
            compression: config.compression,
            compression_level: config.compression_params.level,
            headers,
            proxy_authorization,
            auth,
        })
    }

    /// Adds the authenticator's credentials to a request's headers. A failed
    /// authenticator is a retryable failure of the send, counted in
    /// [`AUTH_FAILURES_METRIC`] and logged (its message never holds a credential).
    async fn authenticate(&self, headers: &mut HeaderMap) -> Result<(), ConsumeError> {
        match &self.auth {
            Some(auth) => auth.apply(&self.id, headers).await,
            None => Ok(()),
        }
    }
}

impl HttpSender {
    fn url(&self, signal: Signal) -> Result<Uri, ConsumeError> {
        self.urls[signal_index(signal)].clone().ok_or_else(|| {
            ConsumeError::permanent(format!("exporter {} has no URL for {signal}", self.id))
        })
    }
}

#[async_trait]
impl Sender for HttpSender {
    type Request = HttpRequest;

    /// The request for a batch a persistent queue stored as its signal's OTLP export
    /// request (`otlp`, protobuf): with `encoding: proto` the stored bytes are the body
    /// (compressed as configured), so the batch is neither decoded nor encoded again.
    /// `None` with `encoding: json`: the batch must be decoded and encoded as JSON.
    fn encode_stored(
        &self,
        signal: Signal,
        otlp: Bytes,
    ) -> Option<Result<HttpRequest, ConsumeError>> {
        if self.encoding != Encoding::Proto {
            return None;
        }
        Some(self.url(signal).and_then(|url| {
            let body = compress(self.compression, self.compression_level, otlp).map_err(|e| {
                ConsumeError::permanent(format!("compressing the request failed: {e}"))
            })?;
            Ok(HttpRequest { signal, url, body })
        }))
    }

    fn encode(&self, data: Telemetry) -> Result<HttpRequest, ConsumeError> {
        let signal = data.signal();
        let url = self.url(signal)?;
        let raw = match self.encoding {
            Encoding::Proto => data.payload.into_request(),
            Encoding::Json => Bytes::from(stratus_core::pdata::json::encode_request(&data.payload)),
        };
        let body = compress(self.compression, self.compression_level, raw)
            .map_err(|e| ConsumeError::permanent(format!("compressing the request failed: {e}")))?;
        Ok(HttpRequest { signal, url, body })
    }

    async fn send(&self, request: &HttpRequest) -> Result<(), ConsumeError> {
        self.send_once(request).await.map_err(|e| self.scrub(e))
    }
}

impl HttpSender {
    /// The configured header values, for [`stratus_otlp_client::redact`]: a
    /// destination that echoes the request in its answer must not put them in logs or
    /// in the receivers' answers.
    fn header_values(&self) -> impl Iterator<Item = &str> {
        self.headers.values().filter_map(|v| v.to_str().ok())
    }

    /// `e` without the configured header values.
    fn scrub(&self, e: ConsumeError) -> ConsumeError {
        stratus_otlp_client::redact::scrub_error(e, self.header_values())
    }

    async fn send_once(&self, request: &HttpRequest) -> Result<(), ConsumeError> {
        let content_type = match self.encoding {
            Encoding::Proto => PROTOBUF_CONTENT_TYPE,
            Encoding::Json => JSON_CONTENT_TYPE,
        };
        let mut builder = http::Request::post(request.url.clone())
            .header(CONTENT_TYPE, content_type)
            .header(USER_AGENT, concat!("stratus/", env!("CARGO_PKG_VERSION")));
        if let Some(encoding) = self.compression.encoding() {
            builder = builder.header(CONTENT_ENCODING, encoding);
        }
        let mut http_request = builder
            .body(Full::new(request.body.clone()))
            .map_err(|e| ConsumeError::permanent(format!("building the request failed: {e}")))?;
        for (name, value) in &self.headers {
            http_request.headers_mut().append(name, value.clone());
        }
        if let Some(value) = &self.proxy_authorization
            && request.url.scheme_str() == Some("http")
        {
            http_request
                .headers_mut()
                .insert(http::header::PROXY_AUTHORIZATION, value.clone());
        }
        self.authenticate(http_request.headers_mut()).await?;
        // What the authenticator added is scrubbed from errors too: a destination
        // may echo the request's headers.
        let sent = self.auth.as_ref().map(|_| http_request.headers().clone());
        let scrub_sent = |text: &str| match &sent {
            Some(h) => stratus_otlp_client::redact::scrub_text(
                text,
                h.values().filter_map(|v| v.to_str().ok()),
            ),
            None => text.to_string(),
        };
        let result = self.exchange(request, http_request, &scrub_sent).await;
        result.map_err(|e| match &sent {
            Some(h) => stratus_otlp_client::redact::scrub_error(
                e,
                h.values().filter_map(|v| v.to_str().ok()),
            ),
            None => e,
        })
    }

    /// Sends one request and classifies the answer; `scrub_sent` clears the
    /// request's authenticator headers from a partial-success message.
    async fn exchange(
        &self,
        request: &HttpRequest,
        http_request: http::Request<Full<Bytes>>,
        scrub_sent: &(dyn Fn(&str) -> String + Sync),
    ) -> Result<(), ConsumeError> {
        let response = self.client.request(http_request).await.map_err(|e| {
            ConsumeError::retryable(format!(
                "OTLP/HTTP request to {} failed: {}",
                request.url,
                error_chain(&e)
            ))
        })?;
        let (parts, body) = response.into_parts();
        let body = match Limited::new(body, MAX_RESPONSE_BODY).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if parts.status.is_success() => {
                tracing::debug!(exporter = %self.id, error = %e, "could not read the response body");
                Bytes::new()
            }
            Err(e) => {
                return Err(ConsumeError::retryable(format!(
                    "OTLP/HTTP export to {} failed: HTTP status {}, and reading the response \
                     failed: {e}",
                    request.url,
                    parts.status.as_u16()
                )));
            }
        };
        let partial = classify_response(
            &request.url,
            parts.status,
            &parts.headers,
            &body,
            SystemTime::now(),
        )?;
        if let Some(ps) = partial
            && (ps.rejected > 0 || !ps.error_message.is_empty())
        {
            tracing::warn!(
                exporter = %self.id,
                signal = %request.signal,
                rejected = ps.rejected,
                message = %scrub_sent(&stratus_otlp_client::redact::scrub_text(&ps.error_message, self.header_values())),
                "partial success: the destination rejected part of the data",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Uri {
        Uri::from_static("http://127.0.0.1:4318/v1/traces")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn statuses() {
        let now = SystemTime::now();
        let none = HeaderMap::new();
        assert_eq!(
            classify_response(&url(), StatusCode::OK, &none, b"", now),
            Ok(None)
        );
        for code in [429, 502, 503, 504] {
            let e = classify_response(&url(), StatusCode::from_u16(code).unwrap(), &none, b"", now)
                .unwrap_err();
            assert!(!e.is_permanent(), "{code}");
            assert_eq!(e.throttle(), None);
        }
        for code in [400, 401, 403, 404, 413, 500, 501] {
            let e = classify_response(&url(), StatusCode::from_u16(code).unwrap(), &none, b"", now)
                .unwrap_err();
            assert!(e.is_permanent(), "{code}");
            assert!(e.message().contains(&code.to_string()));
        }
        let e = classify_response(
            &url(),
            StatusCode::TOO_MANY_REQUESTS,
            &headers(&[("retry-after", "3")]),
            b"",
            now,
        )
        .unwrap_err();
        assert_eq!(e.throttle(), Some(Duration::from_secs(3)));
        // A zero wait falls back to the normal back-off.
        let e = classify_response(
            &url(),
            StatusCode::SERVICE_UNAVAILABLE,
            &headers(&[("retry-after", "0")]),
            b"",
            now,
        )
        .unwrap_err();
        assert_eq!(e.throttle(), None);
    }

    #[test]
    fn error_bodies_are_read_in_their_content_type() {
        let now = SystemTime::now();
        let proto = RpcStatus {
            code: 3,
            message: "span has no trace id".into(),
            details: vec![],
        }
        .encode_to_vec();
        let e = classify_response(
            &url(),
            StatusCode::BAD_REQUEST,
            &headers(&[("content-type", "application/x-protobuf")]),
            &proto,
            now,
        )
        .unwrap_err();
        assert!(
            e.message()
                .ends_with("HTTP status 400: span has no trace id"),
            "{}",
            e.message()
        );
        let e = classify_response(
            &url(),
            StatusCode::BAD_REQUEST,
            &headers(&[("content-type", "application/json; charset=utf-8")]),
            br#"{"code":3,"message":"bad json"}"#,
            now,
        )
        .unwrap_err();
        assert!(e.message().ends_with(": bad json"), "{}", e.message());
        let e = classify_response(
            &url(),
            StatusCode::NOT_FOUND,
            &headers(&[("content-type", "text/plain")]),
            b"404 page not found\n",
            now,
        )
        .unwrap_err();
        assert!(
            e.message().ends_with(": 404 page not found"),
            "{}",
            e.message()
        );
        // Garbage in a protobuf body is not a message.
        let e = classify_response(
            &url(),
            StatusCode::BAD_REQUEST,
            &headers(&[("content-type", "application/x-protobuf")]),
            b"\xff\xff\xff",
            now,
        )
        .unwrap_err();
        assert!(e.message().ends_with("HTTP status 400"), "{}", e.message());
    }

    #[test]
    fn partial_success_is_success() {
        let now = SystemTime::now();
        let body = ExportResponse {
            partial_success: Some(PartialSuccess {
                rejected: 2,
                error_message: "dropped".into(),
            }),
        }
        .encode_to_vec();
        let ps = classify_response(
            &url(),
            StatusCode::OK,
            &headers(&[("content-type", "application/x-protobuf")]),
            &body,
            now,
        )
        .unwrap()
        .unwrap();
        assert_eq!(ps.rejected, 2);
        let ps = classify_response(
            &url(),
            StatusCode::OK,
            &headers(&[("content-type", "application/json")]),
            br#"{"partialSuccess":{"rejectedLogRecords":"5"}}"#,
            now,
        )
        .unwrap()
        .unwrap();
        assert_eq!(ps.rejected, 5);
    }

    fn sender(encoding: Encoding, compression: Compression) -> HttpSender {
        let config = OtlpHttpConfig {
            endpoint: "http://127.0.0.1:4318".into(),
            encoding,
            compression,
            ..OtlpHttpConfig::default()
        };
        HttpSender::new("otlphttp".into(), &config, &[Signal::Logs]).unwrap()
    }

    fn logs() -> stratus_core::Payload {
        use stratus_core::pdata::logs;
        stratus_core::Payload::Logs(vec![logs::ResourceLogs {
            scope_logs: vec![logs::ScopeLogs {
                log_records: vec![logs::LogRecord::default(); 4],
                ..Default::default()
            }],
            ..Default::default()
        }])
    }

    /// With protobuf bodies a stored batch becomes the body as it is (compressed as
    /// configured), the same body as encoding the batch; with JSON it must be decoded.
    #[tokio::test]
    async fn stored_requests_use_the_stored_bytes_for_protobuf_bodies() {
        let payload = logs();
        let stored = Bytes::from(payload.encode_request());
        let plain = sender(Encoding::Proto, Compression::None);
        let request = plain
            .encode_stored(Signal::Logs, stored.clone())
            .unwrap()
            .unwrap();
        assert_eq!(
            request.body.as_ptr(),
            stored.as_ptr(),
            "sent without a copy"
        );
        assert_eq!(
            request.url,
            Uri::from_static("http://127.0.0.1:4318/v1/logs")
        );
        let fresh = plain.encode(Telemetry::new(payload.clone())).unwrap();
        assert_eq!(request.body, fresh.body);

        let gzip = sender(Encoding::Proto, Compression::Gzip);
        let request = gzip
            .encode_stored(Signal::Logs, stored.clone())
            .unwrap()
            .unwrap();
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(request.body.as_ref()),
            &mut unzipped,
        )
        .unwrap();
        assert_eq!(unzipped, stored.as_ref());

        let json = sender(Encoding::Json, Compression::None);
        assert!(json.encode_stored(Signal::Logs, stored.clone()).is_none());
        let traces = plain.encode_stored(Signal::Traces, stored).unwrap();
        assert!(traces.is_ok(), "the endpoint gives every signal a URL");
    }

    #[test]
    fn compression_round_trips_at_every_level() {
        let body = b"hello hello hello hello ".repeat(200);
        let gunzip = |gz: &[u8]| {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz), &mut out).unwrap();
            out
        };
        for level in [-1, 0, 1, 9] {
            let gz = compress(Compression::Gzip, level, Bytes::from(body.clone())).unwrap();
            assert_eq!(gunzip(&gz), body, "gzip level {level}");
        }
        // The level is really applied: 1 (fastest) and 9 (smallest) differ.
        let fast = compress(Compression::Gzip, 1, Bytes::from(body.clone())).unwrap();
        let small = compress(Compression::Gzip, 9, Bytes::from(body.clone())).unwrap();
        assert!(
            small.len() < fast.len(),
            "{} vs {}",
            small.len(),
            fast.len()
        );
        for level in [0, 1, 3, 19, 1000, -1000] {
            let z = compress(Compression::Zstd, level, Bytes::from(body.clone())).unwrap();
            assert_eq!(zstd::decode_all(z.as_ref()).unwrap(), body, "zstd {level}");
        }
        assert_eq!(
            compress(Compression::None, 0, Bytes::from(body.clone())).unwrap(),
            body
        );
    }
}
