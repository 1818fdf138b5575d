//! The connection side shared by both transports: the accept loop, TLS, connection
//! lifetimes and graceful shutdown.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

/// How long a client gets to finish its TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after a failed `accept` (e.g. out of file descriptors) before the next one.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// HTTP/2 streams a client may open and reset before the server got to them, before
/// the connection is closed with `GOAWAY ENHANCE_YOUR_CALM`: the "rapid reset" attack
/// (CVE-2023-44487). The `h2` crate's default, pinned here.
pub(crate) const MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;

/// HTTP/2 streams the server may reset because of the client's protocol errors on
/// one connection before it closes it ("MadeYouReset", CVE-2025-8671). hyper's
/// default, pinned here.
pub(crate) const MAX_LOCAL_ERROR_RESET_STREAMS: usize = 1024;

/// How often, at most, a connection refused at the connection limit is logged.
const LIMIT_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Per-connection lifetime limits; `None` is no limit.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ConnLimits {
    /// Close a connection gracefully after this long with no request in flight.
    pub max_idle: Option<Duration>,
    /// Close a connection gracefully once it is this old.
    pub max_age: Option<Duration>,
    /// After `max_age`, close it forcibly this much later.
    pub max_age_grace: Option<Duration>,
}

/// A bound listener and how to serve its connections.
pub(crate) struct Server {
    pub listener: TcpListener,
    pub tls: Option<TlsAcceptor>,
    pub builder: auto::Builder<TokioExecutor>,
    pub limits: ConnLimits,
    /// How long shutdown waits for in-flight requests before closing connections.
    pub drain: Duration,
    /// Most connections served at once; `None` is no limit.
    pub max_connections: Option<usize>,
    /// For log lines.
    pub receiver: String,
    /// For log lines.
    pub protocol: &'static str,
}

/// A hyper connection builder with the timers hyper needs for its timeouts, and the
/// HTTP/2 reset-stream limits set (see [`MAX_PENDING_ACCEPT_RESET_STREAMS`]).
pub(crate) fn builder() -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1().timer(TokioTimer::new());
    b.http2()
        .timer(TokioTimer::new())
        .max_pending_accept_reset_streams(MAX_PENDING_ACCEPT_RESET_STREAMS)
        .max_local_error_reset_streams(MAX_LOCAL_ERROR_RESET_STREAMS);
    b
}

/// Connections refused at the connection limit, logged at most once per
/// [`LIMIT_LOG_INTERVAL`] with the count since the last line.
struct LimitLog {
    refused: u64,
    last: Option<Instant>,
}

impl LimitLog {
    fn refused(&mut self, receiver: &str, protocol: &str, limit: usize) {
        self.refused += 1;
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < LIMIT_LOG_INTERVAL)
        {
            return;
        }
        tracing::warn!(
            receiver,
            protocol,
            max_connections = limit,
            refused = self.refused,
            "connection limit reached: closing new connections (raise `max_connections` to serve more clients)"
        );
        self.refused = 0;
        self.last = Some(now);
    }
}

impl Server {
    /// Serves until `shutdown` turns true: then the listener is closed, every
    /// connection is asked to finish its in-flight requests, and after `drain` the
    /// rest are closed.
    pub fn spawn<F, S, B>(self, make: F, shutdown: watch::Receiver<bool>) -> JoinHandle<()>
    where
        F: Fn(SocketAddr) -> S + Send + 'static,
        S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
            + Send
            + 'static,
        S::Future: Send + 'static,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        tokio::spawn(self.run(make, shutdown))
    }

    async fn run<F, S, B>(self, make: F, mut shutdown: watch::Receiver<bool>)
    where
        F: Fn(SocketAddr) -> S + Send + 'static,
        S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
            + Send
            + 'static,
        S::Future: Send + 'static,
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let Server {
            listener,
            tls,
            builder,
            limits,
            drain,
            max_connections,
            receiver,
            protocol,
        } = self;
        let builder = Arc::new(builder);
        let mut conns = JoinSet::new();
        let mut limit_log = LimitLog {
            refused: 0,
            last: None,
        };
        loop {
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        // Reap the connections that ended, so they do not count.
                        while conns.try_join_next().is_some() {}
                        if let Some(limit) = max_connections.filter(|m| conns.len() >= *m) {
                            // Closed at once, so the client learns now rather than after
                            // a timeout, and the kernel's backlog does not fill up.
                            drop(stream);
                            limit_log.refused(&receiver, protocol, limit);
                            continue;
                        }
                        let _ = stream.set_nodelay(true);
                        conns.spawn(connection(
                            stream,
                            peer,
                            tls.clone(),
                            builder.clone(),
                            make(peer),
                            limits,
                            shutdown.clone(),
                        ));
                    }
                    Err(e) => {
                        tracing::warn!(receiver = %receiver, protocol, error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                    }
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
        // Stop accepting: new connections are refused from here on.
        drop(listener);
        let open = conns.len();
        let drained =
            tokio::time::timeout(drain, async { while conns.join_next().await.is_some() {} })
                .await
                .is_ok();
        if !drained {
            tracing::warn!(
                receiver = %receiver,
                protocol,
                open,
                drain_timeout = ?drain,
                "closing connections with requests still in flight"
            );
            conns.shutdown().await;
        }
        tracing::debug!(receiver = %receiver, protocol, "stopped listening");
    }
}

async fn connection<S, B>(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    svc: S,
    limits: ConnLimits,
    mut shutdown: watch::Receiver<bool>,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    match tls {
        None => serve(stream, builder, svc, limits, shutdown).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream));
            let stream = tokio::select! {
                r = handshake => match r {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                },
                _ = shutdown.changed() => return,
            };
            serve(stream, builder, svc, limits, shutdown).await;
        }
    }
}

async fn serve<I, S, B>(
    io: I,
    builder: Arc<auto::Builder<TokioExecutor>>,
    svc: S,
    limits: ConnLimits,
    mut shutdown: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let start = Instant::now();
    let activity = Arc::new(Activity::default());
    let svc = Tracked {
        inner: svc,
        activity: activity.clone(),
        start,
    };
    let mut conn = pin!(builder.serve_connection(TokioIo::new(io), svc));
    let age_at = limits.max_age.and_then(|a| start.checked_add(a));
    let mut idle_at = limits.max_idle.and_then(|i| start.checked_add(i));
    let mut kill_at = None;
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = shutdown.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = until(age_at), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
                kill_at = limits.max_age_grace.and_then(|g| Instant::now().checked_add(g));
            }
            () = until(idle_at), if !closing => {
                let idle = limits.max_idle.unwrap_or_default();
                match activity.idle_since(start) {
                    Some(since) if since.checked_add(idle).is_some_and(|t| t <= Instant::now()) => {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    Some(since) => idle_at = since.checked_add(idle),
                    None => idle_at = Instant::now().checked_add(idle),
                }
            }
            () = until(kill_at) => {
                tracing::debug!("closing connection after max_connection_age_grace");
                return;
            }
        }
    }
}

/// Sleeps until `at`; never wakes for `None`.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Requests in flight on one connection, and when the last one ended.
#[derive(Default)]
struct Activity {
    in_flight: AtomicUsize,
    /// Nanoseconds from the connection's start to the end of the last request.
    last_end: AtomicU64,
}

impl Activity {
    /// When the connection became idle, or `None` while a request is in flight.
    fn idle_since(&self, start: Instant) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let last = Duration::from_nanos(self.last_end.load(Ordering::Acquire));
        Some(start.checked_add(last).unwrap_or(start))
    }
}

/// Ends a request's activity when dropped, so cancelled requests count too.
struct InFlight {
    activity: Arc<Activity>,
    start: Instant,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let nanos = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.activity.last_end.store(nanos, Ordering::Release);
        self.activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A service that keeps [`Activity`] up to date.
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
    start: Instant,
}

impl<S, B> hyper::service::Service<Request<Incoming>> for Tracked<S>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<B>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<B>, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.activity.in_flight.fetch_add(1, Ordering::AcqRel);
        let guard = InFlight {
            activity: self.activity.clone(),
            start: self.start,
        };
        let fut = self.inner.call(req);
        Box::pin(async move {
            let result = fut.await;
            drop(guard);
            result
        })
    }
}
