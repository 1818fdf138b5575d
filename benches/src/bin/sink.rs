//! A counting OTLP sink for the end-to-end benchmarks: accepts OTLP/gRPC (h2c) and
//! OTLP/HTTP protobuf on one port, answers every export at once with success, and
//! counts requests, bytes and items (spans, data points, log records) by walking the
//! protobuf wire format, without decoding it into messages.
//!
//! ```text
//! sink --listen 127.0.0.1:4417
//! curl http://127.0.0.1:4417/stats   # {"requests":…,"items":…,"bytes":…}
//! ```

use std::convert::Infallible;
use std::io::Read as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use anyhow::Context as _;
use bytes::Bytes;
use clap::Parser;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

#[derive(Parser, Debug)]
struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:4417")]
    listen: String,
}

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    items: AtomicU64,
    bytes: AtomicU64,
    bad: AtomicU64,
}

/// Reads a varint at `*i`.
fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*i)?;
        *i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Calls `f` with every length-delimited field `field` of the message `b`.
fn each(b: &[u8], field: u64, mut f: impl FnMut(&[u8]) -> Option<()>) -> Option<()> {
    let mut i = 0;
    while i < b.len() {
        let key = varint(b, &mut i)?;
        match key & 7 {
            0 => {
                varint(b, &mut i)?;
            }
            1 => i += 8,
            5 => i += 4,
            2 => {
                let len = usize::try_from(varint(b, &mut i)?).ok()?;
                let end = i.checked_add(len).filter(|&e| e <= b.len())?;
                if key >> 3 == field {
                    f(&b[i..end])?;
                }
                i = end;
            }
            _ => return None,
        }
    }
    (i == b.len()).then_some(())
}

/// Items in an export request for the signal its path names. Traces and logs are
/// resource_*(1).scope_*(2).item(2); metrics go one level deeper, through the
/// metric's data (gauge 5, sum 7, histogram 9, exponential_histogram 10, summary 11)
/// to its data_points(1).
fn items(path: &str, b: &[u8]) -> Option<u64> {
    let metrics = path.ends_with("/v1/metrics") || path.contains("MetricsService");
    let mut n = 0u64;
    each(b, 1, |resource| {
        each(resource, 2, |scope| {
            each(scope, 2, |item| {
                if !metrics {
                    n += 1;
                    return Some(());
                }
                for kind in [5, 7, 9, 10, 11] {
                    each(item, kind, |data| {
                        each(data, 1, |_| {
                            n += 1;
                            Some(())
                        })
                    })?;
                }
                Some(())
            })
        })
    })?;
    Some(n)
}

/// Items in an OTLP/JSON export request.
fn json_items(b: &[u8]) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(b).ok()?;
    let list = |v: &serde_json::Value, k: &str| {
        v.get(k)
            .and_then(|x| x.as_array())
            .cloned()
            .unwrap_or_default()
    };
    let mut n = 0u64;
    for (outer, middle, inner) in [
        ("resourceSpans", "scopeSpans", "spans"),
        ("resourceLogs", "scopeLogs", "logRecords"),
        ("resourceMetrics", "scopeMetrics", "metrics"),
    ] {
        for r in list(&v, outer) {
            for sc in list(&r, middle) {
                for item in list(&sc, inner) {
                    if inner == "metrics" {
                        for kind in [
                            "gauge",
                            "sum",
                            "histogram",
                            "exponentialHistogram",
                            "summary",
                        ] {
                            if let Some(d) = item.get(kind) {
                                n += list(d, "dataPoints").len() as u64;
                            }
                        }
                    } else {
                        n += 1;
                    }
                }
            }
        }
    }
    Some(n)
}

fn decompress(encoding: Option<&str>, body: &[u8]) -> Option<Vec<u8>> {
    match encoding {
        None | Some("identity") => Some(body.to_vec()),
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .ok()?;
            Some(out)
        }
        Some("zstd") => zstd::decode_all(body).ok(),
        _ => None,
    }
}

async fn handle(stats: Arc<Stats>, req: Request<Incoming>) -> Result<Response<Answer>, Infallible> {
    let path = req.uri().path().to_string();
    if path == "/stats" {
        let body = format!(
            "{{\"requests\":{},\"items\":{},\"bytes\":{},\"bad\":{}}}",
            stats.requests.load(Ordering::Relaxed),
            stats.items.load(Ordering::Relaxed),
            stats.bytes.load(Ordering::Relaxed),
            stats.bad.load(Ordering::Relaxed)
        );
        return Ok(Response::new(Answer {
            data: Some(Bytes::from(body)),
            trailers: None,
        }));
    }
    let json = req
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let grpc = req
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    let encoding = req
        .headers()
        .get(if grpc {
            "grpc-encoding"
        } else {
            "content-encoding"
        })
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    stats.requests.fetch_add(1, Ordering::Relaxed);
    stats.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
    let message = if grpc {
        // One length-prefixed message: flag, length, bytes.
        (body.len() >= 5)
            .then(|| {
                let compressed = body[0] == 1;
                let m = &body[5..];
                decompress(compressed.then_some(encoding.as_deref()).flatten(), m)
            })
            .flatten()
    } else {
        decompress(encoding.as_deref(), &body)
    };
    let counted = message
        .as_deref()
        .and_then(|m| if json { json_items(m) } else { items(&path, m) });
    match counted {
        Some(n) => {
            stats.items.fetch_add(n, Ordering::Relaxed);
        }
        None => {
            stats.bad.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(if grpc {
        // An empty Export*ServiceResponse message, then grpc-status 0 as a trailer.
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        let mut r = Response::new(Answer {
            data: Some(Bytes::from_static(&[0, 0, 0, 0, 0])),
            trailers: Some(trailers),
        });
        r.headers_mut().insert(
            "content-type",
            http::HeaderValue::from_static("application/grpc"),
        );
        r
    } else {
        let mut r = Response::new(Answer::default());
        r.headers_mut().insert(
            "content-type",
            http::HeaderValue::from_static("application/x-protobuf"),
        );
        r
    })
}

/// A response body: its data, then its trailers (gRPC's status).
#[derive(Default)]
struct Answer {
    data: Option<Bytes>,
    trailers: Option<http::HeaderMap>,
}

impl hyper::body::Body for Answer {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(d) = this.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(d))));
        }
        Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    eprintln!("sink listening on {}", listener.local_addr()?);
    let stats = Arc::new(Stats::default());
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let stats = stats.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(stats.clone(), req));
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
