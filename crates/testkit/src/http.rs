//! A recording HTTP server on 127.0.0.1 that answers from a script: the destination
//! for exporters that speak HTTP (otlphttp, Azure Monitor, Log Analytics, AWS
//! endpoint overrides). Started with [`RecordingHttpServer::proxy`] it stands in
//! front of a real server (moto): scripted answers first, then every request is
//! forwarded verbatim, so a test can throttle a real peer and count the calls.

use std::convert::Infallible;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
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

/// Answers by method and path: see [`RecordingHttpServer::route`].
#[derive(Default)]
struct Routes(std::sync::Mutex<Vec<(String, String, Response)>>);

impl Routes {
    fn set(&self, method: &str, path: &str, response: Response) {
        let mut routes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        routes.retain(|(m, p, _)| !(m == method && p == path));
        routes.push((method.to_owned(), path.to_owned(), response));
    }

    fn find(&self, method: &Method, path: &str) -> Option<Response> {
        let routes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        routes
            .iter()
            .find(|(m, p, _)| m == method.as_str() && p == path)
            .map(|(_, _, r)| r.clone())
    }
}

/// An HTTP/1.1 and HTTP/2 (cleartext) server on 127.0.0.1 that records every request
/// and answers from a script: queued [`Response`]s first, then a default (`200`,
/// empty, unless [`RecordingHttpServer::set_default`] changed it). As a proxy
/// ([`RecordingHttpServer::proxy`]) it forwards what the script does not answer to a
/// real server instead. It stops when dropped.
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
    routes: Arc<Routes>,
    upstream: Option<Arc<Upstream>>,
    counts: Option<Arc<Counts>>,
    task: JoinHandle<()>,
}

/// What a counting server ([`RecordingHttpServer::counting`]) saw: requests and body
/// bytes (as sent, compressed or not) by destination.
#[derive(Default)]
struct Counts(std::sync::Mutex<std::collections::BTreeMap<String, (u64, u64)>>);

impl Counts {
    fn add(&self, key: String, bytes: usize) {
        let mut map = match self.0.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let entry = map.entry(key).or_default();
        entry.0 += 1;
        entry.1 += bytes as u64;
    }

    /// `{"requests": N, "bytes": N, "by_destination": {key: {"requests", "bytes"}}}`.
    fn json(&self) -> serde_json::Value {
        let map = match self.0.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let by: serde_json::Map<String, serde_json::Value> = map
            .iter()
            .map(|(k, (r, b))| (k.clone(), serde_json::json!({"requests": r, "bytes": b})))
            .collect();
        serde_json::json!({
            "requests": map.values().map(|(r, _)| r).sum::<u64>(),
            "bytes": map.values().map(|(_, b)| b).sum::<u64>(),
            "by_destination": by,
        })
    }
}

/// The destination a counting server files a request under: the AWS JSON protocol's
/// `X-Amz-Target` (`Logs_20140328.PutLogEvents`), else the method and at most the
/// first two segments of the path (`POST /v2.1/track`, `PUT /bucket/year=2026`), so
/// that object keys do not make one row each.
fn destination(method: &Method, path: &str, headers: &HeaderMap) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.to_string();
    }
    let end = path
        .match_indices('/')
        .nth(2)
        .map_or(path.len(), |(i, _)| i);
    format!("{method} {}", &path[..end])
}

/// Where a proxy forwards unscripted requests, and the client it uses.
struct Upstream {
    /// `http://host:port`, no trailing slash.
    url: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl RecordingHttpServer {
    /// Binds 127.0.0.1 on a port the OS chooses and starts serving. Panics when it
    /// cannot bind.
    pub async fn start() -> Self {
        Self::serve_with(None, false, "recording HTTP server").await
    }

    /// Starts a counting server: a sink for load, not a recorder. It keeps no request
    /// (memory stays flat however long the load runs), reads each body to its end
    /// without decompressing it, and answers from the routes ([`route`]) or the
    /// default answer ([`set_default`]) at once; queued answers are ignored.
    /// `GET /stats` answers the counts as JSON: `requests`, `bytes` and
    /// `by_destination`, where a destination is the AWS JSON protocol's
    /// `X-Amz-Target`, or the method and the first two segments of the path.
    /// [`requests`] stays empty. Panics when it cannot bind.
    ///
    /// [`route`]: RecordingHttpServer::route
    /// [`set_default`]: RecordingHttpServer::set_default
    /// [`requests`]: RecordingHttpServer::requests
    pub async fn counting() -> Self {
        Self::serve_with(None, true, "counting HTTP server").await
    }

    /// A counting server's counts (see [`RecordingHttpServer::counting`]); `None` for
    /// a recording one.
    pub fn counts(&self) -> Option<serde_json::Value> {
        self.counts.as_ref().map(|c| c.json())
    }

    /// Starts a recording proxy in front of `upstream_url` (`http://127.0.0.1:<port>`,
    /// plain HTTP; a path is ignored). Every request is recorded as by
    /// [`RecordingHttpServer::start`]; one with a queued answer ([`respond`],
    /// [`respond_times`]) gets that answer and never reaches the upstream, and every
    /// other is forwarded verbatim over HTTP/1.1: method, path, query, headers
    /// (`Host` and a SigV4 `Authorization` as the client sent them, so a signature
    /// made for the proxy's address still checks out upstream; only hop-by-hop
    /// headers and `Expect` are dropped) and the body's raw bytes. The upstream's
    /// status, headers and body are answered back; when the upstream cannot be
    /// reached the answer is `502 Bad Gateway` with the reason as its body.
    /// [`set_default`] has no effect on a proxy. Panics when it cannot bind or
    /// `upstream_url` is not an `http://` URL.
    ///
    /// [`respond`]: RecordingHttpServer::respond
    /// [`respond_times`]: RecordingHttpServer::respond_times
    /// [`set_default`]: RecordingHttpServer::set_default
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use stratus_testkit::http::{RecordingHttpServer, Response};
    ///
    /// // In a real test the upstream is moto (`stratus_testkit::moto::Moto::endpoint`).
    /// let upstream = RecordingHttpServer::start().await;
    /// let proxy = RecordingHttpServer::proxy(&upstream.url()).await;
    /// // CloudWatch Logs throttles twice, then the requests reach the upstream.
    /// proxy.respond_times(
    ///     2,
    ///     Response::status(400)
    ///         .header("content-type", "application/x-amz-json-1.1")
    ///         .body(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#),
    /// );
    /// // ... point the exporter's `endpoint` at proxy.url() and send; then count:
    /// let put_log_events = proxy
    ///     .requests()
    ///     .iter()
    ///     .filter(|r| r.header("x-amz-target") == Some("Logs_20140328.PutLogEvents"))
    ///     .count();
    /// # assert_eq!(put_log_events, 0);
    /// # }
    /// ```
    pub async fn proxy(upstream_url: &str) -> Self {
        let uri: http::Uri = upstream_url
            .parse()
            .unwrap_or_else(|e| panic!("upstream `{upstream_url}` is not a URL: {e}"));
        assert_eq!(
            uri.scheme_str(),
            Some("http"),
            "upstream `{upstream_url}` must be a plain http:// URL"
        );
        let Some(authority) = uri.authority() else {
            panic!("upstream `{upstream_url}` has no host");
        };
        let upstream = Upstream {
            url: format!("http://{authority}"),
            client: Client::builder(TokioExecutor::new()).build_http(),
        };
        Self::serve_with(Some(Arc::new(upstream)), false, "recording HTTP proxy").await
    }

    async fn serve_with(upstream: Option<Arc<Upstream>>, counting: bool, what: &str) -> Self {
        let (listener, addr) = bind_loopback(what).await;
        let shared = Arc::new(Recorder::new(Response::ok()));
        let routes = Arc::new(Routes::default());
        let counts = counting.then(|| Arc::new(Counts::default()));
        let peer = Peer {
            shared: shared.clone(),
            routes: routes.clone(),
            upstream: upstream.clone(),
            counts: counts.clone(),
        };
        let task = tokio::spawn(serve(listener, Arc::new(peer)));
        RecordingHttpServer {
            addr,
            shared,
            routes,
            upstream,
            counts,
            task,
        }
    }

    /// Answers every `method` request for `path` (exact, without the query) with
    /// `response` whenever no queued answer is due: for peers a client calls on several
    /// paths in an order the test does not control, such as the EC2 instance metadata
    /// service or the ECS credentials endpoint. Queued answers still come first; a proxy
    /// forwards only the requests no route matches. A later route for the same method
    /// and path replaces the earlier one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use stratus_testkit::http::{RecordingHttpServer, Response};
    ///
    /// let imds = RecordingHttpServer::start().await;
    /// imds.route("PUT", "/latest/api/token", Response::ok().body("token"));
    /// imds.route("GET", "/latest/meta-data/placement/region", Response::ok().body("eu-west-1"));
    /// # }
    /// ```
    pub fn route(&self, method: &str, path: &str, response: Response) {
        self.routes.set(method, path, response);
    }

    /// The upstream a proxy forwards to (`http://host:port`); `None` for a plain
    /// recording server.
    pub fn upstream(&self) -> Option<&str> {
        self.upstream.as_deref().map(|u| u.url.as_str())
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

/// What a connection task answers with.
struct Peer {
    shared: Arc<Shared>,
    routes: Arc<Routes>,
    upstream: Option<Arc<Upstream>>,
    counts: Option<Arc<Counts>>,
}

/// Accepts connections until aborted; aborting drops the set, which aborts every
/// connection task too.
async fn serve(listener: TcpListener, peer: Arc<Peer>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let peer = peer.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let peer = peer.clone();
                        async move {
                            Ok::<_, Infallible>(match &peer.counts {
                                Some(counts) => count(req, counts, &peer.shared, &peer.routes).await,
                                None => answer(
                                    req,
                                    &peer.shared,
                                    &peer.routes,
                                    peer.upstream.as_deref(),
                                )
                                .await,
                            })
                        }
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

/// A counting server's answer: the counts for `GET /stats`, else the route's or the
/// default answer once the body is read, counted and dropped.
async fn count(
    req: http::Request<Incoming>,
    counts: &Counts,
    shared: &Shared,
    routes: &Routes,
) -> http::Response<Full<Bytes>> {
    let (parts, mut body) = req.into_parts();
    if parts.method == Method::GET && parts.uri.path() == "/stats" {
        return Response::ok().json(&counts.json()).into_http();
    }
    let mut bytes = 0;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => bytes += frame.data_ref().map_or(0, |d| d.len()),
            Err(e) => {
                return Response::status(400)
                    .body(format!("reading the body failed: {e}"))
                    .into_http();
            }
        }
    }
    let path = parts.uri.path();
    counts.add(destination(&parts.method, path, &parts.headers), bytes);
    routes
        .find(&parts.method, path)
        .unwrap_or_else(|| shared.default_answer())
        .into_http()
}

async fn answer(
    req: http::Request<Incoming>,
    shared: &Shared,
    routes: &Routes,
    upstream: Option<&Upstream>,
) -> http::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let authority = parts.uri.authority().map(|a| a.to_string());
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
    let route = routes.find(&recorded.method, &recorded.path);
    let Some(upstream) = upstream else {
        return match shared.record_scripted(recorded).await {
            Some(scripted) => scripted.into_http(),
            None => {
                let answer = route.unwrap_or_else(|| shared.default_answer());
                if !answer.delay.is_zero() {
                    tokio::time::sleep(answer.delay).await;
                }
                answer.into_http()
            }
        };
    };
    let forward = ForwardRequest {
        method: recorded.method.clone(),
        path_and_query: match &recorded.query {
            Some(q) => format!("{}?{q}", recorded.path),
            None => recorded.path.clone(),
        },
        headers: recorded.headers.clone(),
        authority,
        body: Bytes::from(recorded.raw_body.clone()),
    };
    match (shared.record_scripted(recorded).await, route) {
        (Some(scripted), _) => scripted.into_http(),
        (None, Some(route)) => route.into_http(),
        (None, None) => upstream.forward(forward).await,
    }
}

/// What a proxy sends on: the request as received.
struct ForwardRequest {
    method: Method,
    path_and_query: String,
    headers: HeaderMap,
    /// The request URI's authority (HTTP/2 sends `:authority` instead of `Host`).
    authority: Option<String>,
    body: Bytes,
}

/// Headers that belong to one connection, not to the request (RFC 9110 section 7.6.1),
/// and `Expect`: the proxy already holds the whole body.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
];

/// Removes the hop-by-hop headers, those named by `Connection` too.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    for name in HOP_BY_HOP
        .iter()
        .copied()
        .chain(named.iter().map(String::as_str))
    {
        headers.remove(name);
    }
}

impl Upstream {
    /// Sends `req` to the upstream and returns its answer, or `502` saying why not.
    async fn forward(&self, req: ForwardRequest) -> http::Response<Full<Bytes>> {
        match self.try_forward(req).await {
            Ok(resp) => resp,
            Err(e) => Response::status(502)
                .body(format!(
                    "recording proxy: upstream {} failed: {e}",
                    self.url
                ))
                .into_http(),
        }
    }

    async fn try_forward(
        &self,
        req: ForwardRequest,
    ) -> Result<http::Response<Full<Bytes>>, String> {
        let uri: http::Uri = format!("{}{}", self.url, req.path_and_query)
            .parse()
            .map_err(|e| format!("bad request URI: {e}"))?;
        let mut headers = req.headers;
        strip_hop_by_hop(&mut headers);
        if !headers.contains_key(http::header::HOST)
            && let Some(authority) = req.authority.as_deref()
            && let Ok(host) = HeaderValue::from_str(authority)
        {
            headers.insert(http::header::HOST, host);
        }
        let mut out = http::Request::new(Full::new(req.body));
        *out.method_mut() = req.method;
        *out.uri_mut() = uri;
        *out.headers_mut() = headers;
        let resp = self.client.request(out).await.map_err(|e| e.to_string())?;
        let (mut parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("reading the answer failed: {e}"))?
            .to_bytes();
        strip_hop_by_hop(&mut parts.headers);
        Ok(http::Response::from_parts(parts, Full::new(body)))
    }
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
