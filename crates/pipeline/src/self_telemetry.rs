//! stratus's own telemetry endpoint: `/metrics` in Prometheus text format on
//! `service.telemetry.metrics.address`, plus the process metrics the collector
//! exposes (`otelcol_process_uptime`, `otelcol_process_memory_rss`,
//! `otelcol_process_cpu_seconds`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use stratus_core::telemetry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Linux reports CPU time in clock ticks of 1/100 s on every architecture stratus ships for.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;
/// Page size used by `/proc/self/statm` on x86_64 and aarch64 Linux with default kernels.
const PAGE_SIZE: u64 = 4096;

/// Resident set size of this process in bytes, from `/proc/self/statm`.
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * PAGE_SIZE)
}

/// User plus system CPU seconds used by this process, from `/proc/self/stat`.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces; fields after its closing paren are fixed.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / CLOCK_TICKS_PER_SECOND)
}

/// Registers the process metrics on `registry`.
pub fn register_process_metrics(registry: &Registry) {
    let started = Instant::now();
    registry.gauge_fn(
        "otelcol_process_uptime",
        "Uptime of the process in seconds.",
        &[],
        Box::new(move || started.elapsed().as_secs_f64()),
    );
    registry.gauge_fn(
        "otelcol_process_memory_rss",
        "Total physical memory (resident set size) in bytes.",
        &[],
        Box::new(|| rss_bytes().unwrap_or(0) as f64),
    );
    if stratus_core::memory::heap_allocated().is_some() {
        registry.gauge_fn(
            "otelcol_process_runtime_heap_alloc_bytes",
            "Bytes of allocated heap objects.",
            &[],
            Box::new(|| stratus_core::memory::heap_allocated().unwrap_or(0) as f64),
        );
    }
    registry.gauge_fn(
        "otelcol_process_cpu_seconds",
        "Total CPU user and system time in seconds.",
        &[],
        Box::new(|| cpu_seconds().unwrap_or(0.0)),
    );
}

/// The running `/metrics` endpoint.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl MetricsServer {
    /// Binds `address` (`host:port`) and serves `registry` on `/metrics` until
    /// [`MetricsServer::stop`].
    pub async fn start(address: &str, registry: Registry) -> std::io::Result<MetricsServer> {
        let listener = TcpListener::bind(address).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {address} for metrics: {e}"),
            )
        })?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                let conn = tokio::select! {
                    c = listener.accept() => c,
                    _ = stopped.changed() => break,
                };
                let Ok((stream, _)) = conn else { continue };
                let registry = registry.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<_>| {
                        let registry = registry.clone();
                        async move { Ok::<_, Infallible>(respond(&req, &registry)) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(MetricsServer { addr, stop })
    }

    /// The address the endpoint listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

fn respond<B>(req: &Request<B>, registry: &Registry) -> Response<Full<Bytes>> {
    let (status, content_type, body) = if req.uri().path() == "/metrics" {
        (
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            registry.render(),
        )
    } else {
        (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "404 page not found\n".to_string(),
        )
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_process_figures() {
        assert!(rss_bytes().unwrap() > 0);
        assert!(cpu_seconds().unwrap() >= 0.0);
    }
}
