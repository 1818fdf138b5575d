//! The running health check: an HTTP/1.1 server answering from the collector's health.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use serde::Serialize;
use stratus_core::confval::format_duration;
use stratus_core::{Component, ComponentError, Health, Host};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{HealthCheckConfig, ResponseBody};

/// `upSince` when the collector has never been ready: Go's zero time.
pub const NEVER_READY: &str = "0001-01-01T00:00:00Z";

/// How long shutdown lets open connections finish their request.
const GRACE: Duration = Duration::from_secs(1);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The `health_check` extension.
///
/// Answers `GET`/`HEAD` on `path` with 200 and `{"status":"Server available",...}`
/// while the collector is ready, and 503 with `{"status":"Server not available",...}`
/// while it is starting or stopping. Other paths get 404.
pub struct HealthCheckExtension {
    id: String,
    config: HealthCheckConfig,
    running: Mutex<Option<Running>>,
}

struct Running {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    watcher: JoinHandle<()>,
}

/// What a request is answered from.
struct Responder {
    path: String,
    response_body: Option<ResponseBody>,
    health: watch::Receiver<Health>,
    /// When the collector was first seen ready: wall-clock time for `upSince`, a
    /// monotonic instant for `uptime`.
    ready_since: Mutex<Option<(SystemTime, Instant)>>,
}

#[derive(Serialize)]
struct StatusDocument<'a> {
    status: &'a str,
    #[serde(rename = "upSince")]
    up_since: String,
    uptime: String,
}

impl Responder {
    /// Records the first time the collector is seen ready.
    fn observe(&self, health: Health) {
        if health == Health::Ready {
            lock(&self.ready_since).get_or_insert_with(|| (SystemTime::now(), Instant::now()));
        }
    }

    fn respond<B>(&self, req: &Request<B>) -> Response<Full<Bytes>> {
        if req.uri().path() != self.path {
            return plain(StatusCode::NOT_FOUND, "404 page not found\n".into());
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut resp = plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "405 method not allowed\n".into(),
            );
            resp.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
            return resp;
        }
        let health = *self.health.borrow();
        self.observe(health);
        let ready = health == Health::Ready;
        let code = if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        if let Some(bodies) = &self.response_body {
            let body = if ready {
                &bodies.healthy
            } else {
                &bodies.unhealthy
            };
            return plain(code, body.clone());
        }
        let since = *lock(&self.ready_since);
        let doc = StatusDocument {
            status: if ready {
                "Server available"
            } else {
                "Server not available"
            },
            up_since: since
                .map_or_else(|| NEVER_READY.to_string(), |(t, _)| format_rfc3339_nanos(t)),
            uptime: since.map_or_else(String::new, |(_, i)| format_duration(i.elapsed())),
        };
        let body = serde_json::to_vec(&doc).unwrap_or_default();
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() = code;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        resp
    }
}

fn plain(code: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// Formats a time as RFC 3339 in UTC with up to nine fraction digits, trailing zeros
/// dropped (Go's `time.RFC3339Nano`): `2024-05-01T12:00:00.5Z`.
pub fn format_rfc3339_nanos(t: SystemTime) -> String {
    let since_epoch = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since_epoch.as_secs();
    let nanos = since_epoch.subsec_nanos();
    let (year, month, day) = civil_from_days(secs / 86_400);
    let rem = secs % 86_400;
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`, for non-negative day counts).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

impl HealthCheckExtension {
    /// A health check named `id` (for messages) with `config`; it listens once started.
    pub fn new(id: impl Into<String>, config: HealthCheckConfig) -> Self {
        HealthCheckExtension {
            id: id.into(),
            config,
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
                    let service = service_fn(move |req| {
                        let resp = responder.respond(&req);
                        async move { Ok::<_, Infallible>(resp) }
                    });
                    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(error) = conn.await {
                            tracing::debug!(%error, "health check connection ended with an error");
                        }
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(extension = %id, %error, "health check cannot accept a connection");
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
        tracing::debug!(extension = %id, "health check connections still open at shutdown");
    }
}

/// The health check offers no services to other components.
impl stratus_core::factory::Extension for HealthCheckExtension {}

#[async_trait]
impl Component for HealthCheckExtension {
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
        if self.config.check_collector_pipeline.enabled {
            tracing::warn!(
                extension = %self.id,
                "check_collector_pipeline is accepted but not acted on yet; health follows the collector's lifecycle only"
            );
        }
        let mut health = host.health();
        let responder = Arc::new(Responder {
            path: self.config.path.clone(),
            response_body: self.config.response_body.clone(),
            health: health.clone(),
            ready_since: Mutex::new(None),
        });
        responder.observe(*health.borrow_and_update());
        let watcher = tokio::spawn({
            let responder = responder.clone();
            async move {
                while health.changed().await.is_ok() {
                    let now = *health.borrow_and_update();
                    responder.observe(now);
                }
            }
        });
        let (stop, stop_rx) = watch::channel(false);
        let server = tokio::spawn(serve(listener, responder, stop_rx, self.id.clone()));
        tracing::info!(extension = %self.id, %addr, path = %self.config.path, "health check listening");
        let mut running = lock(&self.running);
        if running.is_some() {
            // Started twice concurrently: keep the first server.
            let _ = stop.send(true);
            watcher.abort();
            return Ok(());
        }
        *running = Some(Running {
            addr,
            stop,
            server,
            watcher,
        });
        Ok(())
    }

    /// Stops listening and lets open requests finish briefly. Idempotent.
    async fn shutdown(&self) -> Result<(), ComponentError> {
        let Some(running) = lock(&self.running).take() else {
            return Ok(());
        };
        let _ = running.stop.send(true);
        running.watcher.abort();
        if let Err(error) = running.server.await {
            tracing::error!(extension = %self.id, %error, "health check server task failed");
        }
        Ok(())
    }
}

impl Drop for HealthCheckExtension {
    fn drop(&mut self) {
        if let Some(running) = lock(&self.running).take() {
            let _ = running.stop.send(true);
            running.watcher.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_like_go() {
        let at =
            |secs: u64, nanos: u32| format_rfc3339_nanos(UNIX_EPOCH + Duration::new(secs, nanos));
        assert_eq!(at(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(at(1, 500_000_000), "1970-01-01T00:00:01.5Z");
        assert_eq!(at(951_782_400, 0), "2000-02-29T00:00:00Z");
        assert_eq!(
            at(1_700_000_000, 123_456_789),
            "2023-11-14T22:13:20.123456789Z"
        );
        assert_eq!(at(1_709_251_199, 1), "2024-02-29T23:59:59.000000001Z");
        assert_eq!(at(4_102_444_800, 0), "2100-01-01T00:00:00Z");
        // Before 1970 is clamped to the epoch; stratus never reports such a time.
        assert_eq!(
            format_rfc3339_nanos(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00Z"
        );
    }

    fn responder(
        health: Health,
        bodies: Option<ResponseBody>,
    ) -> (Responder, watch::Sender<Health>) {
        let (tx, rx) = watch::channel(health);
        (
            Responder {
                path: "/".into(),
                response_body: bodies,
                health: rx,
                ready_since: Mutex::new(None),
            },
            tx,
        )
    }

    fn get(path: &str) -> Request<()> {
        Request::get(path).body(()).unwrap()
    }

    #[test]
    fn ready_time_is_kept_from_the_first_ready() {
        let (r, tx) = responder(Health::Starting, None);
        assert_eq!(
            r.respond(&get("/")).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(lock(&r.ready_since).is_none());
        tx.send(Health::Ready).unwrap();
        assert_eq!(r.respond(&get("/")).status(), StatusCode::OK);
        let first = lock(&r.ready_since).unwrap();
        tx.send(Health::Stopping).unwrap();
        r.observe(Health::Ready);
        assert_eq!(lock(&r.ready_since).unwrap(), first);
    }

    async fn body_of(resp: Response<Full<Bytes>>) -> Bytes {
        use http_body_util::BodyExt;
        resp.into_body().collect().await.unwrap().to_bytes()
    }

    #[tokio::test]
    async fn custom_bodies_replace_the_document() {
        let bodies = ResponseBody {
            healthy: "up".into(),
            unhealthy: "down".into(),
        };
        let (r, tx) = responder(Health::Starting, Some(bodies));
        let resp = r.respond(&get("/"));
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body_of(resp).await, "down");
        tx.send(Health::Ready).unwrap();
        let resp = r.respond(&get("/"));
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        assert_eq!(body_of(resp).await, "up");
    }

    #[test]
    fn other_methods_are_not_allowed() {
        let (r, _tx) = responder(Health::Ready, None);
        let resp = r.respond(&Request::post("/").body(()).unwrap());
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(resp.headers()[header::ALLOW], "GET, HEAD");
        let resp = r.respond(&Request::head("/").body(()).unwrap());
        assert_eq!(resp.status(), StatusCode::OK);
    }
}
