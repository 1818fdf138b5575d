//! The running receiver: binds its listeners on start, drains them on shutdown.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use http::header::{HeaderName, HeaderValue};
use stratus_core::factory::{BuildContext, SignalConsumers};
use stratus_core::memory::AdmissionGate;
use stratus_core::telemetry::ReceiverMetrics;
use stratus_core::{Component, ComponentError, ComponentId, Host};
use stratus_tls::TlsServerConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::auth::Auth;
use crate::config::{
    Config, DEFAULT_MAX_CONCURRENT_STREAMS, GRPC_AUTH_KEY, GrpcConfig, HTTP_AUTH_KEY, HttpConfig,
    MIB, nonzero,
};
use crate::grpc::{GrpcHandler, GrpcShared};
use crate::http::{Cors, HttpHandler, HttpShared};
use crate::intake::Intake;
use crate::server::{self, ConnLimits, Server};

/// How long shutdown lets in-flight requests finish before closing their connections.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP/2 stream limit for a `max_concurrent_streams` value (`0` is the default).
fn streams(configured: u32) -> u32 {
    if configured == 0 {
        DEFAULT_MAX_CONCURRENT_STREAMS
    } else {
        configured
    }
}

/// The connection limit for a `max_connections` value (`0` is none).
fn connections(configured: u32) -> Option<usize> {
    (configured > 0).then(|| usize::try_from(configured).unwrap_or(usize::MAX))
}

/// An OTLP receiver: serves OTLP over gRPC and/or HTTP and hands what it receives to
/// the pipelines that list it.
pub struct OtlpReceiver {
    id: ComponentId,
    grpc: Option<(GrpcConfig, Arc<GrpcShared>)>,
    http: Option<(HttpConfig, Arc<HttpShared>)>,
    drain: Duration,
    started: AtomicBool,
    state: Mutex<State>,
    /// Why the receiver cannot run (an `auth.authenticator` that is not an enabled
    /// authenticator extension); `start` fails with it.
    broken: Option<String>,
}

#[derive(Default)]
struct State {
    running: Vec<Running>,
    grpc_addr: Option<SocketAddr>,
    http_addr: Option<SocketAddr>,
}

struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl OtlpReceiver {
    /// A receiver for a validated `config`, delivering to `next`. Nothing is bound
    /// until [`Component::start`]. An `auth.authenticator` that `ctx` does not offer
    /// makes `start` fail (nothing is ever served unauthenticated); use
    /// [`OtlpReceiver::try_new`] to get that error at once.
    pub fn new(ctx: &BuildContext, config: Config, next: SignalConsumers) -> Self {
        let receiver = ctx.id.to_string();
        let mut broken = None;
        let intake = |transport: &'static str, include_metadata: bool| Intake {
            receiver: receiver.clone(),
            transport,
            consumers: next.clone(),
            metrics: ReceiverMetrics::new(&ctx.telemetry, &receiver, transport),
            include_metadata,
        };
        let mut auth = |key: &str, id: &str, transport: &'static str, params: &[String]| {
            Auth::resolve(ctx, key, id, transport, params)
                .inspect_err(|e| {
                    broken.get_or_insert_with(|| e.to_string());
                })
                .ok()
        };
        let grpc = config.protocols.grpc.map(|g| {
            let max_message_size = usize::try_from(g.max_recv_msg_size_mib)
                .unwrap_or(usize::MAX)
                .saturating_mul(MIB);
            let shared = Arc::new(GrpcShared {
                intake: intake("grpc", g.include_metadata),
                max_message_size,
                max_decoded: crate::decoded::decoded_cap(max_message_size),
                gate: AdmissionGate::global().clone(),
                auth: g
                    .auth
                    .as_ref()
                    .and_then(|a| auth(GRPC_AUTH_KEY, &a.authenticator, "grpc", &[])),
            });
            (g, shared)
        });
        let http = config.protocols.http.map(|h| {
            let max_body = usize::try_from(h.max_request_body_size).unwrap_or(usize::MAX);
            let shared = Arc::new(HttpShared {
                intake: intake("http", h.include_metadata),
                traces_path: h.traces_url_path.clone(),
                metrics_path: h.metrics_url_path.clone(),
                logs_path: h.logs_url_path.clone(),
                max_body,
                max_decoded: crate::decoded::decoded_cap(max_body),
                cors: h.cors.as_ref().and_then(Cors::new),
                gate: AdmissionGate::global().clone(),
                auth: h
                    .auth
                    .as_ref()
                    .and_then(|a| auth(HTTP_AUTH_KEY, &a.authenticator, "http", &a.request_params)),
                response_headers: response_headers(&h),
                compression: h.compression_algorithms.clone(),
                read_timeout: nonzero(h.read_timeout),
                write_timeout: nonzero(h.write_timeout),
            });
            (h, shared)
        });
        OtlpReceiver {
            id: ctx.id.clone(),
            grpc,
            http,
            drain: DEFAULT_DRAIN_TIMEOUT,
            started: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            broken,
        }
    }

    /// Like [`OtlpReceiver::new`], but fails when an `auth.authenticator` is not an
    /// authenticator extension `ctx` offers (not enabled in `service::extensions`,
    /// or client-side only). What the factory builds with.
    pub fn try_new(
        ctx: &BuildContext,
        config: Config,
        next: SignalConsumers,
    ) -> Result<Self, ComponentError> {
        let receiver = OtlpReceiver::new(ctx, config, next);
        match &receiver.broken {
            Some(e) => Err(ComponentError::new(e.clone())),
            None => Ok(receiver),
        }
    }

    /// Sets how long shutdown waits for in-flight requests (default
    /// [`DEFAULT_DRAIN_TIMEOUT`]).
    pub fn with_drain_timeout(mut self, drain: Duration) -> Self {
        self.drain = drain;
        self
    }

    /// The address the gRPC listener is bound to, once started.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.state.lock().ok().and_then(|s| s.grpc_addr)
    }

    /// The address the HTTP listener is bound to, once started.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.state.lock().ok().and_then(|s| s.http_addr)
    }

    async fn bind(&self, protocol: &str, endpoint: &str) -> Result<TcpListener, ComponentError> {
        // The parser `validate` checked the endpoint with; `:4317` is every interface.
        let parsed: stratus_core::endpoint::Endpoint = endpoint.parse().map_err(|e| {
            ComponentError::new(format!(
                "receiver `{}`: invalid {protocol} endpoint: {e}",
                self.id
            ))
        })?;
        parsed
            .bind()
            .await
            .map_err(|e| ComponentError::new(format!("receiver `{}`: {protocol}: {e}", self.id)))
    }

    /// The TLS acceptor of the `tls` block at `path` (reads its files), offering `alpn`.
    fn acceptor(
        &self,
        tls: Option<&TlsServerConfig>,
        alpn: &[&[u8]],
        path: &str,
    ) -> Result<Option<TlsAcceptor>, ComponentError> {
        let Some(tls) = tls else {
            return Ok(None);
        };
        let config = tls
            .server_config(alpn)
            .map_err(|e| ComponentError::new(format!("receiver `{}`: {}", self.id, e.at(path))))?;
        Ok(Some(TlsAcceptor::from(config)))
    }

    /// Binds every listener (gRPC, HTTP); nothing is served until all are bound.
    async fn bind_all(&self) -> Result<(Option<Server>, Option<Server>), ComponentError> {
        let mut servers = (None, None);
        if let Some((cfg, _)) = &self.grpc {
            let tls = self.acceptor(cfg.tls.as_ref(), &[b"h2"], "protocols::grpc::tls")?;
            let sp = &cfg.keepalive.server_parameters;
            let mut builder = server::builder().http2_only();
            builder
                .http2()
                .max_concurrent_streams(streams(cfg.max_concurrent_streams))
                .keep_alive_interval(nonzero(sp.time))
                .keep_alive_timeout(sp.timeout)
                .max_frame_size(max_frame_size(cfg.read_buffer_size));
            if let Ok(size @ 1..) = usize::try_from(cfg.write_buffer_size.min(u64::from(u32::MAX)))
            {
                builder.http2().max_send_buf_size(size);
            }
            servers.0 = Some(Server {
                listener: self.bind("gRPC", &cfg.endpoint).await?,
                tls,
                builder,
                limits: ConnLimits {
                    max_idle: nonzero(sp.max_connection_idle),
                    max_age: nonzero(sp.max_connection_age),
                    max_age_grace: nonzero(sp.max_connection_age_grace),
                },
                drain: self.drain,
                max_connections: connections(cfg.max_connections),
                receiver: self.id.to_string(),
                protocol: "grpc",
            });
        }
        if let Some((cfg, _)) = &self.http {
            let tls = self.acceptor(
                cfg.tls.as_ref(),
                &[b"h2", b"http/1.1"],
                "protocols::http::tls",
            )?;
            let mut builder = server::builder();
            builder
                .http1()
                .keep_alive(cfg.keep_alives_enabled)
                .header_read_timeout(cfg.effective_read_header_timeout());
            builder
                .http2()
                .max_concurrent_streams(DEFAULT_MAX_CONCURRENT_STREAMS);
            servers.1 = Some(Server {
                listener: self.bind("HTTP", &cfg.endpoint).await?,
                tls,
                builder,
                limits: ConnLimits {
                    max_idle: cfg.effective_idle_timeout(),
                    ..ConnLimits::default()
                },
                drain: self.drain,
                max_connections: connections(cfg.max_connections),
                receiver: self.id.to_string(),
                protocol: "http",
            });
        }
        Ok(servers)
    }

    /// Logs that `server` listens, and returns its address.
    fn announce(&self, server: &Server) -> Result<SocketAddr, ComponentError> {
        let addr = server.listener.local_addr()?;
        tracing::info!(
            receiver = %self.id,
            protocol = server.protocol,
            endpoint = %addr,
            tls = server.tls.is_some(),
            "listening"
        );
        Ok(addr)
    }
}

/// HTTP/2's smallest and largest `SETTINGS_MAX_FRAME_SIZE` (RFC 9113, 6.5.2).
const FRAME_SIZE_RANGE: (u32, u32) = (16_384, 16_777_215);

/// The HTTP/2 frame size for `read_buffer_size`: `None` (the default) for `0`,
/// else the size clamped to what HTTP/2 allows.
fn max_frame_size(read_buffer_size: u64) -> Option<u32> {
    let (min, max) = FRAME_SIZE_RANGE;
    (read_buffer_size > 0).then(|| {
        u32::try_from(read_buffer_size.clamp(u64::from(min), u64::from(max))).unwrap_or(max)
    })
}

/// `response_headers` as header names and values (`validate` checked each).
fn response_headers(h: &HttpConfig) -> Vec<(HeaderName, HeaderValue)> {
    h.response_headers
        .0
        .iter()
        .filter_map(|(name, value)| {
            let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
            let mut value = HeaderValue::from_str(value.expose()).ok()?;
            value.set_sensitive(true);
            Some((name, value))
        })
        .collect()
}

#[async_trait]
impl Component for OtlpReceiver {
    async fn start(&self, _host: &Host) -> Result<(), ComponentError> {
        if let Some(e) = &self.broken {
            return Err(ComponentError::new(e.clone()));
        }
        if self.started.swap(true, Ordering::SeqCst) {
            return Err(ComponentError::new(format!(
                "receiver `{}` is already started",
                self.id
            )));
        }
        let bound = async {
            let (grpc, http) = self.bind_all().await?;
            let grpc_addr = grpc.as_ref().map(|s| self.announce(s)).transpose()?;
            let http_addr = http.as_ref().map(|s| self.announce(s)).transpose()?;
            Ok::<_, ComponentError>((grpc, http, grpc_addr, http_addr))
        };
        let (grpc, http, grpc_addr, http_addr) = match bound.await {
            Ok(b) => b,
            Err(e) => {
                self.started.store(false, Ordering::SeqCst);
                return Err(e);
            }
        };
        let mut running = Vec::new();
        if let (Some(server), Some((_, shared))) = (grpc, &self.grpc) {
            let shared = shared.clone();
            let (stop, stop_rx) = watch::channel(false);
            let task = server.spawn(move |peer| GrpcHandler::new(shared.clone(), peer), stop_rx);
            running.push(Running { stop, task });
        }
        if let (Some(server), Some((_, shared))) = (http, &self.http) {
            let shared = shared.clone();
            let (stop, stop_rx) = watch::channel(false);
            let task = server.spawn(move |peer| HttpHandler::new(shared.clone(), peer), stop_rx);
            running.push(Running { stop, task });
        }
        if let Ok(mut state) = self.state.lock() {
            state.running = running;
            state.grpc_addr = grpc_addr;
            state.http_addr = http_addr;
        }
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), ComponentError> {
        let running = match self.state.lock() {
            Ok(mut state) => std::mem::take(&mut state.running),
            Err(_) => Vec::new(),
        };
        for r in &running {
            let _ = r.stop.send(true);
        }
        // Each server bounds its own drain; this only guards against a stuck task.
        let deadline = self.drain + Duration::from_secs(1);
        for r in running {
            let abort = r.task.abort_handle();
            if tokio::time::timeout(deadline, r.task).await.is_err() {
                abort.abort();
            }
        }
        Ok(())
    }
}
