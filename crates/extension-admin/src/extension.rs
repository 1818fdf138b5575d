//! The running admin endpoint: an HTTP/1.1 server answering from the collector's
//! shape, its internal metrics and its recent errors.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::request::Parts;
use http::{Method, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use stratus_core::auth::ServerAuthenticator;
use stratus_core::telemetry::Registry;
use stratus_core::{Component, ComponentError, Health, Host, Topology};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::AdminConfig;
use crate::status::Reporter;
use crate::{pages, tap};

/// How long shutdown lets open connections finish their request.
const GRACE: Duration = Duration::from_secs(1);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The `admin` (and `zpages`) extension.
pub struct AdminExtension {
    id: String,
    config: AdminConfig,
    registry: Registry,
    auth: Option<Arc<dyn ServerAuthenticator>>,
    running: Mutex<Option<Running>>,
}

struct Running {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
}

/// What a request is answered from.
struct Responder {
    reporter: Reporter,
    topology: Topology,
    health: watch::Receiver<Health>,
    auth: Option<Arc<dyn ServerAuthenticator>>,
    expvar: bool,
}

/// A whole answer, or the stream of a tap.
type Body = UnsyncBoxBody<Bytes, Infallible>;

fn respond(code: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(Full::new(body.into()).boxed_unsync());
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    // Live state: never cached by a browser or proxy in between.
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp
}

const JSON: &str = "application/json";
const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

impl Responder {
    async fn handle(&self, req: &Parts) -> Response<Body> {
        if let Some(auth) = &self.auth
            && let Err(e) = auth.authenticate(&req.headers).await
        {
            let mut resp = respond(
                StatusCode::UNAUTHORIZED,
                TEXT,
                format!("401 unauthorized: {e}\n"),
            );
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"stratus admin\""),
            );
            return resp;
        }
        self.route(req)
    }

    fn route(&self, req: &Parts) -> Response<Body> {
        let path = req.uri.path();
        let known = matches!(
            path,
            "/" | "/api/v1/status"
                | "/api/v1/tap"
                | "/debug/servicez"
                | "/debug/pipelinez"
                | "/debug/extensionz"
                | "/debug/featurez"
                | "/debug/expvarz"
        );
        if !known || (path == "/debug/expvarz" && !self.expvar) {
            return respond(StatusCode::NOT_FOUND, TEXT, "404 page not found\n");
        }
        if req.method != Method::GET && req.method != Method::HEAD {
            let mut resp = respond(
                StatusCode::METHOD_NOT_ALLOWED,
                TEXT,
                "405 method not allowed\n",
            );
            resp.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
            return resp;
        }
        if path == "/" {
            return respond(StatusCode::OK, HTML, pages::STATUS_PAGE);
        }
        if path == "/api/v1/tap" {
            return self.tap(req.uri.query());
        }
        let status = self.reporter.status(&self.topology, *self.health.borrow());
        match path {
            "/api/v1/status" => match serde_json::to_vec(&status) {
                Ok(body) => respond(StatusCode::OK, JSON, body),
                Err(e) => respond(StatusCode::INTERNAL_SERVER_ERROR, TEXT, format!("{e}\n")),
            },
            "/debug/servicez" => respond(StatusCode::OK, HTML, pages::servicez(&status)),
            "/debug/pipelinez" => respond(StatusCode::OK, HTML, pages::pipelinez(&status)),
            "/debug/extensionz" => respond(StatusCode::OK, HTML, pages::extensionz(&status)),
            "/debug/featurez" => respond(
                StatusCode::OK,
                HTML,
                "<!DOCTYPE html><html><body><h1>Feature gates</h1><p>stratus has no feature gates.</p></body></html>\n",
            ),
            _ => match serde_json::to_vec(&status.process) {
                Ok(body) => respond(StatusCode::OK, JSON, body),
                Err(e) => respond(StatusCode::INTERNAL_SERVER_ERROR, TEXT, format!("{e}\n")),
            },
        }
    }
}

impl Responder {
    fn tap(&self, query: Option<&str>) -> Response<Body> {
        let req = match tap::TapRequest::parse(query) {
            Ok(r) => r,
            Err(e) => return respond(StatusCode::BAD_REQUEST, TEXT, format!("{e}\n")),
        };
        let (kind, tap) = match req.subscribe(self.reporter.registry()) {
            Ok(t) => t,
            Err(e) => return respond(StatusCode::NOT_FOUND, TEXT, format!("{e}\n")),
        };
        tracing::info!(component = %req.component, "tap started");
        let body = StreamBody::new(tap::stream(&req, kind, tap)).boxed_unsync();
        let mut resp = Response::new(body);
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/x-ndjson"),
        );
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        resp
    }
}

impl AdminExtension {
    /// An admin endpoint named `id` with `config`, reading `registry`; `auth` checks
    /// every request when set. It listens once started.
    pub fn new(
        id: impl Into<String>,
        config: AdminConfig,
        registry: Registry,
        auth: Option<Arc<dyn ServerAuthenticator>>,
    ) -> Self {
        AdminExtension {
            id: id.into(),
            config,
            registry,
            auth,
            running: Mutex::new(None),
        }
    }

    /// The address the server listens on, once started.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        lock(&self.running).as_ref().map(|r| r.addr)
    }
}

async fn serve(
    listener: TcpListener,
    responder: Arc<Responder>,
    mut stop: watch::Receiver<bool>,
    id: String,
) {
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let responder = responder.clone();
                    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let responder = responder.clone();
                        // Only the head is read: every page is a GET.
                        let (parts, _body) = req.into_parts();
                        async move { Ok::<_, Infallible>(responder.handle(&parts).await) }
                    });
                    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(error) = conn.await {
                            tracing::debug!(%error, "admin connection ended with an error");
                        }
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(extension = %id, %error, "admin endpoint cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!(extension = %id, "admin connections still open at shutdown");
    }
}

/// The admin endpoint offers no services to other components.
impl stratus_core::factory::Extension for AdminExtension {}

#[async_trait]
impl Component for AdminExtension {
    /// Binds `endpoint` (an error when it cannot) and starts answering.
    async fn start(&self, host: &Host) -> Result<(), ComponentError> {
        if lock(&self.running).is_some() {
            return Ok(());
        }
        let endpoint = self.config.listen_endpoint().map_err(|e| {
            ComponentError::new(format!("extension `{}`: invalid endpoint: {e}", self.id))
        })?;
        let listener = endpoint
            .bind()
            .await
            .map_err(|e| ComponentError::new(format!("extension `{}`: {e}", self.id)))?;
        let addr = listener.local_addr()?;
        let responder = Arc::new(Responder {
            reporter: Reporter::new(self.registry.clone()),
            topology: host.topology().clone(),
            health: host.health(),
            auth: self.auth.clone(),
            expvar: self.config.expvar.enabled,
        });
        let (stop, stop_rx) = watch::channel(false);
        let server = tokio::spawn(serve(listener, responder, stop_rx, self.id.clone()));
        tracing::info!(extension = %self.id, %addr, "admin endpoint listening: status page at http://{addr}/");
        let mut running = lock(&self.running);
        if running.is_some() {
            let _ = stop.send(true);
            return Ok(());
        }
        *running = Some(Running { addr, stop, server });
        Ok(())
    }

    /// Stops listening and lets open requests finish briefly. Idempotent.
    async fn shutdown(&self) -> Result<(), ComponentError> {
        let Some(running) = lock(&self.running).take() else {
            return Ok(());
        };
        let _ = running.stop.send(true);
        if let Err(error) = running.server.await {
            tracing::error!(extension = %self.id, %error, "admin server task failed");
        }
        Ok(())
    }
}

impl Drop for AdminExtension {
    fn drop(&mut self) {
        if let Some(running) = lock(&self.running).take() {
            let _ = running.stop.send(true);
        }
    }
}
