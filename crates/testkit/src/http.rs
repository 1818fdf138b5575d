//! A recording HTTP server on 127.0.0.1 that answers from a script: the destination
//! for exporters that speak HTTP (otlphttp, Azure Monitor, Log Analytics, AWS
//! endpoint overrides).

use std::convert::Infallible;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::recorder::{Recorder, Scripted, bind_loopback, recording_methods};

/// One scripted answer: status, headers, body, and how long to wait before sending
/// it.
///
/// ```
/// use std::time::Duration;
/// use stratus_testkit::http::Response;
/// let throttled = Response::status(429).header("Retry-After", "2");
/// let slow_ok = Response::ok().delay(Duration::from_millis(50));
/// let json = Response::ok().json(&serde_json::json!({"itemsAccepted": 3}));
/// # let _ = (throttled, slow_ok, json);
/// ```
#[derive(Debug, Clone)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    delay: Duration,
}

impl Response {
    /// An empty answer with `status`. Panics when it is not a valid status code.
    pub fn status(status: u16) -> Self {
        let status = StatusCode::from_u16(status)
            .unwrap_or_else(|e| panic!("{status} is not an HTTP status code: {e}"));
        Response {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            delay: Duration::ZERO,
        }
    }

    /// `200 OK`, empty: what the server answers when nothing else is scripted.
    pub fn ok() -> Self {
        Response::status(200)
    }

    /// Adds a header. Panics when the name or value is not valid HTTP.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let n = HeaderName::try_from(name)
            .unwrap_or_else(|e| panic!("`{name}` is not a header name: {e}"));
        let v = HeaderValue::try_from(value)
            .unwrap_or_else(|e| panic!("`{value}` is not a header value: {e}"));
        self.headers.append(n, v);
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    pub fn json(self, body: &serde_json::Value) -> Self {
        self.header("content-type", "application/json")
            .body(body.to_string())
    }

    /// Waits this long before answering (a slow destination; a timeout test).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    fn into_http(self) -> http::Response<Full<Bytes>> {
        let mut resp = http::Response::new(Full::new(self.body));
        *resp.status_mut() = self.status;
        *resp.headers_mut() = self.headers;
        resp
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The method.
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The query string, without `?`, if there was one.
    pub query: Option<String>,
    /// The headers as sent.
    pub headers: HeaderMap,
    /// The body decompressed as its `Content-Encoding` says (gzip, zstd, deflate; a
    /// list is undone right to left). The body as sent when decoding failed.
    pub body: Vec<u8>,
    /// The body as sent, before decompression.
    pub raw_body: Vec<u8>,
    /// Why the body could not be read or decompressed, if it could not.
    pub body_error: Option<String>,
}

impl RecordedRequest {
    /// The first value of a header (case-insensitive), if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON. Panics when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// The body decoded as protobuf message `M` (`ExportTraceServiceRequest`). Panics
    /// when it does not decode.
    pub fn decode<M: prost::Message + Default>(&self) -> M {
        M::decode(self.body.as_slice()).unwrap_or_else(|e| {
            panic!(
                "body of {} {} is not a {}: {e}",
                self.method,
                self.path,
                std::any::type_name::<M>()
            )
        })
    }

    /// The value of a query parameter, as written (not percent-decoded).
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query
            .as_deref()?
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }
}

impl Scripted for Response {
    fn delay(&self) -> Duration {
        self.delay
    }
}

type Shared = Recorder<RecordedRequest, Response>;

/// An HTTP/1.1 and HTTP/2 (cleartext) server on 127.0.0.1 that records every request
/// and answers from a script: queued [`Response`]s first, then a default (`200`,
/// empty, unless [`RecordingHttpServer::set_default`] changed it). It stops when
/// dropped.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use stratus_testkit::http::{RecordingHttpServer, Response};
///
/// let server = RecordingHttpServer::start().await;
/// server.respond(Response::status(503).header("Retry-After", "1"));
/// // ... point an exporter at server.url() and send ...
/// # let _ = server.url();
/// # }
/// ```
pub struct RecordingHttpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl RecordingHttpServer {
    /// Binds 127.0.0.1 on a port the OS chooses and starts serving. Panics when it
    /// cannot bind.
    pub async fn start() -> Self {
        let (listener, addr) = bind_loopback("recording HTTP server").await;
        let shared = Arc::new(Recorder::new(Response::ok()));
        let task = tokio::spawn(serve(listener, shared.clone()));
        RecordingHttpServer { addr, shared, task }
    }

    recording_methods!(
        RecordedRequest, response: Response, "request", "requests", initially "`200`, empty",
        /// `http://127.0.0.1:<port>`, no trailing slash.
        waits for "HTTP requests" showing |r: &RecordedRequest| format!("{} {}", r.method, r.path)
    );
}

impl Drop for RecordingHttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts connections until aborted; aborting drops the set, which aborts every
/// connection task too.
async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = shared.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(answer(req, &shared).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn answer(req: http::Request<Incoming>, shared: &Shared) -> http::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let (raw_body, read_error) = match body.collect().await {
        Ok(b) => (b.to_bytes().to_vec(), None),
        Err(e) => (Vec::new(), Some(format!("reading the body failed: {e}"))),
    };
    let (body, body_error) = match read_error {
        Some(e) => (Vec::new(), Some(e)),
        None => match decompress(&parts.headers, &raw_body) {
            Ok(b) => (b, None),
            Err(e) => (raw_body.clone(), Some(e)),
        },
    };
    let recorded = RecordedRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body,
        raw_body,
        body_error,
    };
    shared.record(recorded).await.into_http()
}

/// Undoes the request's `Content-Encoding`s, last applied first.
pub fn decompress(headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>, String> {
    let mut encodings: Vec<String> = Vec::new();
    for v in headers.get_all(http::header::CONTENT_ENCODING) {
        let v = v
            .to_str()
            .map_err(|_| "Content-Encoding is not text".to_string())?;
        encodings.extend(
            v.split(',')
                .map(|e| e.trim().to_ascii_lowercase())
                .filter(|e| !e.is_empty()),
        );
    }
    let mut data = body.to_vec();
    for enc in encodings.iter().rev() {
        data = match enc.as_str() {
            "identity" => data,
            "gzip" | "x-gzip" => {
                let mut out = Vec::new();
                flate2::read::MultiGzDecoder::new(data.as_slice())
                    .read_to_end(&mut out)
                    .map_err(|e| format!("gzip body does not decompress: {e}"))?;
                out
            }
            "deflate" => {
                // HTTP's deflate is zlib-wrapped; some clients send it raw.
                let mut out = Vec::new();
                if flate2::read::ZlibDecoder::new(data.as_slice())
                    .read_to_end(&mut out)
                    .is_err()
                {
                    out.clear();
                    flate2::read::DeflateDecoder::new(data.as_slice())
                        .read_to_end(&mut out)
                        .map_err(|e| format!("deflate body does not decompress: {e}"))?;
                }
                out
            }
            "zstd" => zstd::decode_all(data.as_slice())
                .map_err(|e| format!("zstd body does not decompress: {e}"))?,
            other => return Err(format!("unknown Content-Encoding `{other}`")),
        };
    }
    Ok(data)
}

#[cfg(test)]
mod tests;
