//! The `otlp` exporter's sender: OTLP export requests over gRPC (tonic).
//!
//! A batch is encoded once into protobuf bytes; every attempt sends those bytes through
//! a codec that writes them as they are, so a retry costs no re-encoding and no copy of
//! the batch.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::{BufMut, Bytes};
use http::HeaderMap;
use http::Uri;
use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use stratus_core::factory::BuildContext;
use stratus_core::{ComponentError, ConsumeError, Signal, Telemetry};
use stratus_exporter_helper::Sender;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataMap;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use crate::auth::ClientAuth;
use crate::config::{Balancer, Compression, OtlpConfig};
use crate::connect::Dialer;
use crate::rpc::{ExportResponse, retry_delay_in_details};

/// One encoded export request, sent as is on every attempt.
#[derive(Debug, Clone)]
pub struct GrpcRequest {
    /// The request's signal, which picks the gRPC method.
    pub signal: Signal,
    /// The encoded `Export*ServiceRequest`.
    pub body: Bytes,
}

/// The gRPC method of a signal's export.
pub fn method_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    }
}

/// A codec that sends pre-encoded protobuf bytes and decodes the export response.
#[derive(Debug, Clone, Copy, Default)]
pub struct PreEncodedCodec;

/// Writes pre-encoded bytes into the gRPC frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct PreEncodedEncoder;

impl Encoder for PreEncodedEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Codec for PreEncodedCodec {
    type Encode = Bytes;
    type Decode = ExportResponse;
    type Encoder = PreEncodedEncoder;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        PreEncodedEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        ResponseDecoder(tonic_prost::ProstDecoder::default())
    }
}

/// Decodes the export response of any signal.
#[derive(Debug, Default)]
pub struct ResponseDecoder(tonic_prost::ProstDecoder<ExportResponse>);

impl Decoder for ResponseDecoder {
    type Item = ExportResponse;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<ExportResponse>, Status> {
        self.0.decode(src)
    }
}

/// Classifies a failed gRPC call as the collector does.
///
/// Retryable: `CANCELLED`, `DEADLINE_EXCEEDED`, `ABORTED`, `OUT_OF_RANGE`,
/// `UNAVAILABLE`, `DATA_LOSS`, and `RESOURCE_EXHAUSTED` when the server sent a
/// `google.rpc.RetryInfo`, whose delay becomes the throttle. A failure of our own
/// transport (the connection could not be made or broke) is retryable too. Everything
/// else is permanent.
pub fn classify_status(status: &Status) -> ConsumeError {
    let retry_delay = retry_delay_in_details(status.details());
    // Statuses built from a local error (connect, I/O, HTTP/2) keep it as their source;
    // statuses sent by the server have none.
    let local = std::error::Error::source(status).is_some();
    let retryable = match status.code() {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => true,
        Code::ResourceExhausted => retry_delay.is_some(),
        Code::Unknown | Code::Internal => local,
        _ => false,
    };
    let message = format!(
        "gRPC export failed: {:?}: {}",
        status.code(),
        status.message()
    );
    match (retryable, retry_delay) {
        (false, _) => ConsumeError::permanent(message),
        (true, Some(delay)) if !delay.is_zero() => ConsumeError::throttled(message, delay),
        (true, _) => ConsumeError::retryable(message),
    }
}

/// Connects over TCP and always does TLS (ALPN `h2`), whatever the URI's scheme: tonic
/// hands it `http://` URIs so that tonic's own TLS is not involved.
#[derive(Clone)]
pub struct TlsConnector(HttpsConnector<HttpConnector>);

impl TlsConnector {
    /// A connector checking the server against `config` and `server_name`.
    pub fn new(
        config: Arc<rustls::ClientConfig>,
        server_name: rustls_pki_types::ServerName<'static>,
    ) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        TlsConnector(
            HttpsConnectorBuilder::new()
                .with_tls_config(Arc::unwrap_or_clone(config))
                .https_only()
                .with_server_name_resolver(FixedServerNameResolver::new(server_name))
                .enable_http2()
                .wrap_connector(tcp),
        )
    }
}

impl tonic::codegen::Service<Uri> for TlsConnector {
    type Response = <HttpsConnector<HttpConnector> as tonic::codegen::Service<Uri>>::Response;
    type Error = <HttpsConnector<HttpConnector> as tonic::codegen::Service<Uri>>::Error;
    type Future = <HttpsConnector<HttpConnector> as tonic::codegen::Service<Uri>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let mut parts = uri.clone().into_parts();
        parts.scheme = Some(http::uri::Scheme::HTTPS);
        // A URI with an authority stays valid with another scheme; if not, the
        // connector refuses the original with its own error.
        self.0.call(Uri::from_parts(parts).unwrap_or(uri))
    }
}

/// Looks up the addresses of the endpoint's host, for `balancer_name: round_robin`.
/// [`SystemResolver`] asks the system's resolver; tests give their own.
#[async_trait]
pub trait Resolve: Send + Sync + 'static {
    /// The addresses of `host` (with `port`), in the order to use them.
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>>;
}

/// The system's resolver (`getaddrinfo`: `/etc/hosts`, DNS), every A and AAAA address.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

#[async_trait]
impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        let mut addrs: Vec<SocketAddr> = Vec::new();
        for addr in tokio::net::lookup_host((host, port)).await? {
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        Ok(addrs)
    }
}

/// How often `round_robin` looks the host up again (gRPC's DNS resolver waits at
/// least as long between lookups).
pub const RERESOLVE_INTERVAL: Duration = Duration::from_secs(30);

/// The shortest time between two lookups when every address has failed.
const MIN_RERESOLVE: Duration = Duration::from_secs(1);

/// The first wait of `wait_for_ready` and of an unreachable address, and its growth
/// (gRPC's connection back-off: 1s, x1.6, at most 120s).
const BACKOFF_BASE: Duration = Duration::from_secs(1);
const BACKOFF_MULTIPLIER: f64 = 1.6;
const BACKOFF_MAX: Duration = Duration::from_secs(120);

fn backoff(failures: u32) -> Duration {
    let factor = BACKOFF_MULTIPLIER.powi(failures.saturating_sub(1).min(32) as i32);
    BACKOFF_BASE.mul_f64(factor).min(BACKOFF_MAX)
}

/// Whether a failed call never reached the server: no connection could be made
/// (refused, unreachable, TLS handshake failed). tonic marks those with
/// [`tonic::ConnectError`] in the status's source chain.
fn is_connect_error(status: &Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        if e.downcast_ref::<tonic::ConnectError>().is_some() {
            return true;
        }
        source = e.source();
    }
    false
}

/// How one try on one channel ended.
enum Attempt {
    /// The request was sent and answered (or failed after it left).
    Done(Result<(), ConsumeError>),
    /// No connection: the request never left. The message says why.
    NotReady(String),
}

/// One address of a `round_robin` destination and its channel.
struct Subchannel {
    addr: SocketAddr,
    grpc: tonic::client::Grpc<Channel>,
    /// Connection failures in a row, and until when the address is skipped.
    health: Mutex<(u32, Option<Instant>)>,
}

impl Subchannel {
    fn is_up(&self, now: Instant) -> bool {
        let health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        health.1.is_none_or(|until| until <= now)
    }

    fn mark_down(&self) {
        let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        health.0 = health.0.saturating_add(1);
        health.1 = Some(Instant::now() + backoff(health.0));
    }

    fn mark_up(&self) {
        *self.health.lock().unwrap_or_else(|e| e.into_inner()) = (0, None);
    }
}

/// What `round_robin` knows of the host: its addresses, when it looked them up, and
/// whether every address has failed since.
struct Resolved {
    subchannels: Arc<Vec<Arc<Subchannel>>>,
    at: Option<Instant>,
    all_failed: bool,
}

/// `round_robin`: one channel per address of the host, used in turn.
struct RoundRobin {
    host: String,
    port: u16,
    endpoint: Endpoint,
    dialer: Dialer,
    compression: Compression,
    resolver: Arc<dyn Resolve>,
    interval: Duration,
    resolved: Mutex<Resolved>,
    resolving: tokio::sync::Mutex<()>,
    next: AtomicUsize,
}

impl RoundRobin {
    fn is_stale(&self, resolved: &Resolved, now: Instant) -> bool {
        match resolved.at {
            None => true,
            Some(at) => {
                let age = now.saturating_duration_since(at);
                age >= self.interval || (resolved.all_failed && age >= MIN_RERESOLVE)
            }
        }
    }

    /// The current channels, looking the host up again first when that is due.
    async fn subchannels(&self, id: &str) -> Result<Arc<Vec<Arc<Subchannel>>>, String> {
        let current = |this: &Self| {
            let resolved = this.resolved.lock().unwrap_or_else(|e| e.into_inner());
            let stale = this.is_stale(&resolved, Instant::now());
            (resolved.subchannels.clone(), stale)
        };
        let (subchannels, stale) = current(self);
        if !stale {
            return Ok(subchannels);
        }
        let _one_lookup = self.resolving.lock().await;
        let (subchannels, stale) = current(self);
        if !stale {
            return Ok(subchannels);
        }
        let looked_up = self.resolver.resolve(&self.host, self.port).await;
        let mut resolved = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
        resolved.at = Some(Instant::now());
        resolved.all_failed = false;
        match looked_up {
            Ok(addrs) if !addrs.is_empty() => {
                let old = resolved.subchannels.clone();
                let fresh: Vec<Arc<Subchannel>> = addrs
                    .iter()
                    .map(|addr| {
                        old.iter()
                            .find(|s| s.addr == *addr)
                            .cloned()
                            .unwrap_or_else(|| Arc::new(self.subchannel(*addr)))
                    })
                    .collect();
                if old.len() != fresh.len() || old.iter().zip(&fresh).any(|(a, b)| a.addr != b.addr)
                {
                    tracing::debug!(
                        exporter = %id,
                        host = %self.host,
                        addresses = ?addrs,
                        "round_robin: the host's addresses changed",
                    );
                }
                resolved.subchannels = Arc::new(fresh);
                Ok(resolved.subchannels.clone())
            }
            Ok(_) | Err(_) if !resolved.subchannels.is_empty() => {
                tracing::warn!(
                    exporter = %id,
                    host = %self.host,
                    "round_robin: looking the host up failed; using its last known addresses",
                );
                Ok(resolved.subchannels.clone())
            }
            Ok(_) => Err(format!("`{}` resolved to no address", self.host)),
            Err(e) => Err(format!("resolving `{}` failed: {e}", self.host)),
        }
    }

    fn subchannel(&self, addr: SocketAddr) -> Subchannel {
        let channel = self
            .endpoint
            .connect_with_connector_lazy(self.dialer.to_address(addr));
        Subchannel {
            addr,
            grpc: grpc_client(channel, self.compression),
            health: Mutex::new((0, None)),
        }
    }

    fn mark_all_failed(&self) {
        self.resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .all_failed = true;
    }
}

/// Where requests go: one channel, or one per address.
enum Route {
    /// `pick_first` (and `passthrough:///`): one channel to the host.
    Single(tonic::client::Grpc<Channel>),
    /// `round_robin`.
    RoundRobin(Box<RoundRobin>),
}

fn grpc_client(channel: Channel, compression: Compression) -> tonic::client::Grpc<Channel> {
    let grpc = tonic::client::Grpc::new(channel);
    match compression {
        Compression::Gzip => grpc.send_compressed(CompressionEncoding::Gzip),
        Compression::Zstd => grpc.send_compressed(CompressionEncoding::Zstd),
        Compression::None => grpc,
    }
}

pub use crate::auth::AUTH_FAILURES_METRIC;

/// The `otlp` exporter's [`Sender`].
pub struct GrpcSender {
    id: String,
    route: Route,
    headers: HeaderMap,
    metadata: MetadataMap,
    auth: Option<ClientAuth>,
    timeout: Duration,
    wait_for_ready: bool,
}

impl GrpcSender {
    /// Builds the sender: lazily connecting channels, so starting succeeds while the
    /// destination is down. Reads the TLS files. A config with `auth` needs the
    /// collector's authenticators: use [`GrpcSender::from_context`].
    pub fn new(id: String, config: &OtlpConfig) -> Result<Self, ComponentError> {
        if let Some(auth) = &config.auth {
            return Err(ComponentError::new(format!(
                "exporter {id}: auth::authenticator `{}` needs the collector's \
                 authenticator extensions, which this component does not pass on",
                auth.authenticator
            )));
        }
        Self::build(id, config, None)
    }

    /// Builds the sender of a component built with `ctx`: like [`GrpcSender::new`],
    /// and `auth::authenticator` is looked up among `ctx`'s authenticators (its
    /// failures are counted in `ctx`'s registry).
    pub fn from_context(
        ctx: &BuildContext,
        id: String,
        config: &OtlpConfig,
    ) -> Result<Self, ComponentError> {
        let auth = ClientAuth::from_context(ctx, &id, config.auth.as_ref())?;
        Self::build(id, config, auth)
    }

    fn build(
        id: String,
        config: &OtlpConfig,
        auth: Option<ClientAuth>,
    ) -> Result<Self, ComponentError> {
        let fail = |msg: String| ComponentError::new(format!("exporter {id}: {msg}"));
        let target = config
            .target()
            .map_err(|e| fail(format!("endpoint: {e}")))?;
        let balancer = config
            .balancer()
            .map_err(|e| fail(format!("balancer_name: {e}")))?;
        let authority = config
            .authority()
            .map_err(|e| fail(format!("authority: {e}")))?;
        // tonic is given the `http://` form of the URI, so its own TLS stays out of the
        // way; the dialer does TLS, and requests carry the origin's scheme and
        // authority (`:authority`).
        let mut parts = target.uri.clone().into_parts();
        parts.scheme = Some(http::uri::Scheme::HTTP);
        let connect_uri = Uri::from_parts(parts).map_err(|e| fail(format!("endpoint: {e}")))?;
        let scheme = if target.tls { "https" } else { "http" };
        let origin_authority = match &authority {
            Some(a) => a.to_string(),
            None => target
                .uri
                .authority()
                .map(|a| a.to_string())
                .unwrap_or_default(),
        };
        let origin: Uri = format!("{scheme}://{origin_authority}")
            .parse()
            .map_err(|e| fail(format!("authority: {e}")))?;
        let user_agent = if config.user_agent.is_empty() {
            concat!("stratus/", env!("CARGO_PKG_VERSION")).to_string()
        } else {
            config.user_agent.clone()
        };
        let mut endpoint = Endpoint::from(connect_uri)
            .origin(origin)
            .user_agent(user_agent)
            .map_err(|e| fail(format!("user_agent: {e}")))?;
        if let Some(k) = &config.keepalive {
            endpoint = endpoint
                .http2_keep_alive_interval(k.time)
                .keep_alive_timeout(k.timeout)
                .keep_alive_while_idle(k.permit_without_stream);
        }
        let tls = if target.tls {
            let tls_error = |e: stratus_tls::TlsError| fail(e.at("tls"));
            let rustls = config.tls.client_config(&[]).map_err(tls_error)?;
            // As gRPC: the certificate is checked against `server_name_override`, else
            // the authority's host, else the endpoint's.
            let host = authority
                .as_ref()
                .map(|a| a.host().to_string())
                .unwrap_or_else(|| target.host.clone());
            let name = config.tls.server_name(&host).map_err(tls_error)?;
            Some((rustls, name))
        } else {
            None
        };
        let dialer = Dialer::new(tls, config.read_buffer_size, config.write_buffer_size)
            .map_err(|e| fail(format!("tls: {e}")))?;
        let route = if balancer == Balancer::RoundRobin && target.resolve {
            Route::RoundRobin(Box::new(RoundRobin {
                host: target.host.clone(),
                port: target.port,
                endpoint,
                dialer,
                compression: config.compression,
                resolver: Arc::new(SystemResolver),
                interval: RERESOLVE_INTERVAL,
                resolved: Mutex::new(Resolved {
                    subchannels: Arc::new(Vec::new()),
                    at: None,
                    all_failed: false,
                }),
                resolving: tokio::sync::Mutex::new(()),
                next: AtomicUsize::new(0),
            }))
        } else {
            Route::Single(grpc_client(
                endpoint.connect_with_connector_lazy(dialer),
                config.compression,
            ))
        };
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            // Validation has checked names and values; a failure here is a bug, reported
            // without the (secret) value.
            let key = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| fail(format!("invalid header name `{name}`")))?;
            let mut value = http::HeaderValue::from_str(value.expose())
                .map_err(|_| fail(format!("invalid value for header `{name}`")))?;
            value.set_sensitive(true);
            headers.append(key, value);
        }
        let metadata = MetadataMap::from_headers(headers.clone());
        Ok(GrpcSender {
            id,
            route,
            headers,
            metadata,
            auth,
            timeout: config.timeout,
            wait_for_ready: config.wait_for_ready,
        })
    }

    /// The same sender, with `round_robin` looking the host up with `resolver` every
    /// `interval` instead of the system's resolver every [`RERESOLVE_INTERVAL`]. No
    /// effect with `pick_first`.
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolve>, interval: Duration) -> Self {
        if let Route::RoundRobin(rr) = &mut self.route {
            rr.resolver = resolver;
            rr.interval = interval;
        }
        self
    }

    /// The request metadata: the configured headers, and the authenticator's
    /// credentials. A failed authenticator is a retryable failure of the send, counted
    /// in [`AUTH_FAILURES_METRIC`] and logged (its message never holds a credential).
    async fn metadata(&self) -> Result<MetadataMap, ConsumeError> {
        let Some(auth) = &self.auth else {
            return Ok(self.metadata.clone());
        };
        let mut headers = self.headers.clone();
        auth.apply(&self.id, &mut headers).await?;
        Ok(MetadataMap::from_headers(headers))
    }

    /// One try on one channel, with `timeout` (the rest of the attempt) as its
    /// deadline.
    async fn call(
        &self,
        grpc: &tonic::client::Grpc<Channel>,
        request: &GrpcRequest,
        metadata: &MetadataMap,
        timeout: Option<Duration>,
    ) -> Attempt {
        let mut grpc = grpc.clone();
        if let Err(e) = grpc.ready().await {
            return Attempt::NotReady(e.to_string());
        }
        let mut call = tonic::Request::new(request.body.clone());
        *call.metadata_mut() = metadata.clone();
        if let Some(timeout) = timeout {
            call.set_timeout(timeout);
        }
        let path = http::uri::PathAndQuery::from_static(method_path(request.signal));
        let response = match grpc.unary(call, path, PreEncodedCodec).await {
            Ok(response) => response,
            Err(status) if is_connect_error(&status) => {
                return Attempt::NotReady(status.message().to_string());
            }
            // The request's own metadata (configured headers and what the
            // authenticator added) is scrubbed: a destination may echo it.
            Err(status) => {
                return Attempt::Done(Err(crate::redact::scrub_error(
                    classify_status(&status),
                    metadata_values(metadata),
                )));
            }
        };
        if let Some(ps) = response.into_inner().partial_success
            && (ps.rejected > 0 || !ps.error_message.is_empty())
        {
            tracing::warn!(
                exporter = %self.id,
                signal = %request.signal,
                rejected = ps.rejected,
                message = %crate::redact::scrub_text(&ps.error_message, metadata_values(metadata)),
                "partial success: the destination rejected part of the data",
            );
        }
        Attempt::Done(Ok(()))
    }

    /// One try over the route: the channel, or each address of `round_robin` in turn
    /// (reachable ones first) until one takes the request.
    async fn try_route(
        &self,
        request: &GrpcRequest,
        metadata: &MetadataMap,
        deadline: Option<Instant>,
    ) -> Attempt {
        let remaining = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let rr = match &self.route {
            Route::Single(grpc) => return self.call(grpc, request, metadata, remaining()).await,
            Route::RoundRobin(rr) => rr,
        };
        let subchannels = match rr.subchannels(&self.id).await {
            Ok(s) if !s.is_empty() => s,
            Ok(_) => return Attempt::NotReady(format!("`{}` has no address", rr.host)),
            Err(e) => return Attempt::NotReady(e),
        };
        let n = subchannels.len();
        if n == 1 {
            // One address (an IP endpoint, a name with one record): no rotation.
            let sub = &subchannels[0];
            let attempt = self.call(&sub.grpc, request, metadata, remaining()).await;
            match &attempt {
                Attempt::Done(_) => sub.mark_up(),
                Attempt::NotReady(_) => {
                    sub.mark_down();
                    rr.mark_all_failed();
                }
            }
            return attempt;
        }
        let start = rr.next.fetch_add(1, Ordering::Relaxed) % n;
        let now = Instant::now();
        let rotation = (0..n).map(|i| &subchannels[(start + i) % n]);
        let (up, down): (Vec<_>, Vec<_>) = rotation.partition(|s| s.is_up(now));
        let mut reasons = Vec::new();
        for sub in up.into_iter().chain(down) {
            match self.call(&sub.grpc, request, metadata, remaining()).await {
                Attempt::Done(result) => {
                    sub.mark_up();
                    return Attempt::Done(result);
                }
                Attempt::NotReady(why) => {
                    tracing::debug!(
                        exporter = %self.id,
                        address = %sub.addr,
                        error = %why,
                        "round_robin: address not reachable; trying the next one",
                    );
                    sub.mark_down();
                    reasons.push(format!("{}: {why}", sub.addr));
                }
            }
        }
        rr.mark_all_failed();
        Attempt::NotReady(reasons.join("; "))
    }
}

/// The ASCII values of `metadata`, for [`crate::redact`].
fn metadata_values(metadata: &MetadataMap) -> impl Iterator<Item = &str> {
    metadata.iter().filter_map(|kv| match kv {
        tonic::metadata::KeyAndValueRef::Ascii(_, v) => v.to_str().ok(),
        tonic::metadata::KeyAndValueRef::Binary(..) => None,
    })
}

#[async_trait]
impl Sender for GrpcSender {
    type Request = GrpcRequest;

    fn encode(&self, data: Telemetry) -> Result<GrpcRequest, ConsumeError> {
        let signal = data.signal();
        Ok(GrpcRequest {
            signal,
            body: data.payload.into_request(),
        })
    }

    /// A batch a persistent queue stored as its signal's OTLP export request is that
    /// gRPC message: sent as stored, neither decoded nor encoded again.
    fn encode_stored(
        &self,
        signal: Signal,
        otlp: Bytes,
    ) -> Option<Result<GrpcRequest, ConsumeError>> {
        Some(Ok(GrpcRequest { signal, body: otlp }))
    }

    async fn send(&self, request: &GrpcRequest) -> Result<(), ConsumeError> {
        let deadline = (!self.timeout.is_zero()).then(|| Instant::now() + self.timeout);
        let metadata = self.metadata().await?;
        let mut failures = 0;
        loop {
            let why = match self.try_route(request, &metadata, deadline).await {
                Attempt::Done(result) => return result,
                Attempt::NotReady(why) => why,
            };
            if !self.wait_for_ready {
                return Err(ConsumeError::retryable(format!(
                    "gRPC connection failed: {why}"
                )));
            }
            failures += 1;
            let wait = backoff(failures);
            match deadline {
                Some(d) if Instant::now() + wait >= d => {
                    tokio::time::sleep_until(d.into()).await;
                    return Err(ConsumeError::retryable(format!(
                        "gRPC connection not ready within the timeout ({:?}): {why}",
                        self.timeout
                    )));
                }
                _ => tokio::time::sleep(wait).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{RetryInfo, RpcStatus};
    use prost::Message;
    use stratus_core::Payload;

    fn with_retry_info(code: Code, delay: Duration) -> Status {
        let details = RpcStatus {
            code: code as i32,
            message: "m".into(),
            details: vec![RetryInfo::detail(delay)],
        }
        .encode_to_vec();
        Status::with_details(code, "m", details.into())
    }

    #[test]
    fn classification_follows_the_collector() {
        for code in [
            Code::Cancelled,
            Code::DeadlineExceeded,
            Code::Aborted,
            Code::OutOfRange,
            Code::Unavailable,
            Code::DataLoss,
        ] {
            let e = classify_status(&Status::new(code, "x"));
            assert!(!e.is_permanent(), "{code:?}");
            assert_eq!(e.throttle(), None);
        }
        for code in [
            Code::InvalidArgument,
            Code::Unauthenticated,
            Code::PermissionDenied,
            Code::NotFound,
            Code::Unimplemented,
            Code::Internal,
            Code::Unknown,
            Code::FailedPrecondition,
            Code::ResourceExhausted,
        ] {
            assert!(
                classify_status(&Status::new(code, "x")).is_permanent(),
                "{code:?}"
            );
        }
        let e = classify_status(&with_retry_info(
            Code::ResourceExhausted,
            Duration::from_secs(7),
        ));
        assert_eq!(e.throttle(), Some(Duration::from_secs(7)));
        let e = classify_status(&with_retry_info(
            Code::Unavailable,
            Duration::from_millis(250),
        ));
        assert_eq!(e.throttle(), Some(Duration::from_millis(250)));
        // RetryInfo does not make a permanent code retryable.
        let e = classify_status(&with_retry_info(
            Code::InvalidArgument,
            Duration::from_secs(1),
        ));
        assert!(e.is_permanent());
        assert!(e.message().contains("InvalidArgument"), "{}", e.message());
    }

    #[test]
    fn local_transport_failures_are_retryable() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let status = Status::from_error(Box::new(io));
        assert!(!classify_status(&status).is_permanent());
    }

    /// A batch stored by a persistent queue is sent as those very bytes: the same body
    /// as encoding the batch, without a copy.
    #[tokio::test]
    async fn stored_requests_are_the_stored_bytes() {
        let config = OtlpConfig {
            endpoint: "http://127.0.0.1:4317".into(),
            ..OtlpConfig::default()
        };
        let sender = GrpcSender::new("otlp".into(), &config).unwrap();
        let span = stratus_core::pdata::trace::Span {
            name: "s".into(),
            ..Default::default()
        };
        let payload = Payload::Traces(vec![stratus_core::pdata::trace::ResourceSpans {
            scope_spans: vec![stratus_core::pdata::trace::ScopeSpans {
                spans: vec![span; 3],
                ..Default::default()
            }],
            ..Default::default()
        }]);
        let stored = Bytes::from(payload.encode_request());
        let request = sender
            .encode_stored(Signal::Traces, stored.clone())
            .unwrap()
            .unwrap();
        let fresh = sender.encode(Telemetry::new(payload)).unwrap();
        assert_eq!(request.signal, Signal::Traces);
        assert_eq!(request.body, fresh.body);
        assert_eq!(
            request.body.as_ptr(),
            stored.as_ptr(),
            "sent without a copy"
        );
        // A request received and never decoded is sent as received, without a copy.
        let received = stratus_core::Contents::encoded(Signal::Traces, stored.clone(), 3);
        let forwarded = sender.encode(Telemetry::new(received)).unwrap();
        assert_eq!(forwarded.body.as_ptr(), stored.as_ptr(), "sent as received");
        assert_eq!(forwarded.body, fresh.body);
    }

    #[test]
    fn paths_and_encoding() {
        assert_eq!(
            method_path(Signal::Logs),
            "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
        );
        let payload = Payload::Traces(vec![Default::default()]);
        let bytes = stratus_core::Contents::from(payload.clone()).into_request();
        assert_eq!(bytes.as_ref(), payload.encode_request().as_slice());
    }
}
