//! OTLP over HTTP: `POST` of a protobuf or JSON export request, optionally compressed.

use std::convert::Infallible;
use std::future::Future;
use std::io::Read;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Incoming};
use prost::Message;
use stratus_core::memory::{AdmissionGate, OverLimit, Reservation};
use stratus_core::pdata::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};
use stratus_core::{Contents, Signal};

use crate::auth::Auth;
use crate::config::{CompressionAlgorithms, CorsConfig};
use crate::intake::{ExportRequest, Intake};
use crate::status::Refusal;

/// A boxed error, as bodies report them.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// The body encoding of a request, and so of its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Proto,
    Json,
}

impl Encoding {
    /// From a `Content-Type` value; media type parameters (`; charset=utf-8`) are ignored.
    fn from_content_type(value: &HeaderValue) -> Option<Self> {
        let media = value.to_str().ok()?.split(';').next()?.trim();
        if media.eq_ignore_ascii_case(PROTOBUF) {
            Some(Encoding::Proto)
        } else if media.eq_ignore_ascii_case(JSON) {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Encoding::Proto => PROTOBUF,
            Encoding::Json => JSON,
        }
    }
}

/// A `Content-Encoding` the receiver can undo: upstream confighttp's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Identity,
    Gzip,
    Zstd,
    Zlib,
    /// `snappy`: the block format, or the framing format when the body starts with
    /// the framing format's stream identifier (older collectors sent framed data
    /// under this name; upstream detects it the same way).
    Snappy,
    /// `x-snappy-framed`: the snappy framing format.
    SnappyFramed,
    /// `lz4`: the LZ4 frame format.
    Lz4,
}

/// The first bytes of every snappy framing-format stream: the stream identifier
/// chunk (type `0xff`, length 6, `sNaPpY`).
const SNAPPY_STREAM_IDENTIFIER: [u8; 10] =
    [0xff, 0x06, 0x00, 0x00, b's', b'N', b'a', b'P', b'p', b'Y'];

impl Compression {
    fn from_headers(headers: &HeaderMap) -> Result<Self, String> {
        let Some(value) = headers.get(header::CONTENT_ENCODING) else {
            return Ok(Compression::Identity);
        };
        let text = value.to_str().unwrap_or("").trim().to_ascii_lowercase();
        match text.as_str() {
            "" | "identity" => Ok(Compression::Identity),
            "gzip" | "x-gzip" => Ok(Compression::Gzip),
            "zstd" => Ok(Compression::Zstd),
            "deflate" | "zlib" => Ok(Compression::Zlib),
            "snappy" => Ok(Compression::Snappy),
            "x-snappy-framed" => Ok(Compression::SnappyFramed),
            "lz4" => Ok(Compression::Lz4),
            _ => Err(format!(
                "unsupported Content-Encoding `{}`: use gzip, zstd, deflate, zlib, snappy, x-snappy-framed, lz4 or none",
                String::from_utf8_lossy(value.as_bytes())
            )),
        }
    }
}

/// What every HTTP connection of one receiver shares.
pub(crate) struct HttpShared {
    pub intake: Intake,
    pub traces_path: String,
    pub metrics_path: String,
    pub logs_path: String,
    /// Largest body, as sent and after decompression, in bytes.
    pub max_body: usize,
    /// Largest decoded-size bound of a body, in bytes (`decoded::decoded_cap`).
    pub max_decoded: u64,
    pub cors: Option<Cors>,
    /// Where memory limiters publish their soft limit: asked before each step that
    /// allocates for a request (reading, decompressing, decoding).
    pub gate: Arc<AdmissionGate>,
    /// Checks every request but CORS preflights, before its body is read.
    pub auth: Option<Auth>,
    /// Added to every response, where the receiver did not set the header itself.
    pub response_headers: Vec<(header::HeaderName, HeaderValue)>,
    /// The `Content-Encoding`s accepted.
    pub compression: CompressionAlgorithms,
    /// `read_timeout`: longest time to read a body once the headers are read.
    pub read_timeout: Option<Duration>,
    /// `write_timeout`: longest time from the headers read to the answer.
    pub write_timeout: Option<Duration>,
}

impl HttpShared {
    fn route(&self, path: &str) -> Option<Signal> {
        let signal = if path == self.traces_path {
            Signal::Traces
        } else if path == self.metrics_path {
            Signal::Metrics
        } else if path == self.logs_path {
            Signal::Logs
        } else {
            return None;
        };
        self.intake.serves(signal).then_some(signal)
    }
}

/// The request handler of one HTTP connection.
#[derive(Clone)]
pub(crate) struct HttpHandler {
    shared: Arc<HttpShared>,
    peer: SocketAddr,
}

impl HttpHandler {
    pub fn new(shared: Arc<HttpShared>, peer: SocketAddr) -> Self {
        HttpHandler { shared, peer }
    }
}

type HttpResponse = Response<Full<Bytes>>;

impl hyper::service::Service<Request<Incoming>> for HttpHandler {
    type Response = HttpResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let handler = self.clone();
        Box::pin(async move {
            let shared = handler.shared.clone();
            let mut response = handler.handle(req).await;
            add_response_headers(&shared.response_headers, &mut response);
            Ok(response)
        })
    }
}

/// Adds the configured `response_headers` the response does not already carry.
fn add_response_headers(
    headers: &[(header::HeaderName, HeaderValue)],
    response: &mut HttpResponse,
) {
    let h = response.headers_mut();
    for (name, value) in headers {
        if !h.contains_key(name) {
            h.insert(name.clone(), value.clone());
        }
    }
}

impl HttpHandler {
    async fn handle<B>(self, req: Request<B>) -> HttpResponse
    where
        B: Body<Data = Bytes> + Unpin,
        B::Error: Into<BoxError>,
    {
        let route = self.shared.route(req.uri().path());
        let cors = self.shared.cors.as_ref();
        let origin = req.headers().get(header::ORIGIN).cloned();
        // A CORS preflight carries no credentials (browsers never send them on one),
        // so it is answered before authentication, as upstream does.
        if route.is_some()
            && req.method() == Method::OPTIONS
            && let (Some(cors), Some(origin)) = (cors, &origin)
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return cors.preflight(origin, req.headers());
        }
        let mut response = match self.authenticate(&req).await {
            Err(response) => response,
            Ok(()) => match route {
                None => text(StatusCode::NOT_FOUND, "404 page not found"),
                Some(signal) => self.export(signal, req).await,
            },
        };
        if let (Some(cors), Some(origin)) = (cors, origin) {
            cors.decorate(&origin, &mut response);
        }
        response
    }

    /// Checks the request's headers with the configured authenticator, before
    /// anything else looks at the request: the route is not revealed and the body is
    /// not read for an unauthenticated client. The refusal is 401 with a
    /// `google.rpc.Status` (`UNAUTHENTICATED`) in the request's encoding, JSON when
    /// the `Content-Type` is neither protobuf nor JSON.
    async fn authenticate<B>(&self, req: &Request<B>) -> Result<(), HttpResponse> {
        let Some(auth) = &self.shared.auth else {
            return Ok(());
        };
        match auth
            .check(req.headers(), req.uri().query(), self.peer)
            .await
        {
            // The authenticated subject has no place in the pipeline's metadata yet.
            Ok(_info) => Ok(()),
            Err(refusal) => {
                let encoding = req
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(Encoding::from_content_type)
                    .unwrap_or(Encoding::Json);
                Err(refused(encoding, &refusal))
            }
        }
    }

    async fn export<B>(&self, signal: Signal, req: Request<B>) -> HttpResponse
    where
        B: Body<Data = Bytes> + Unpin,
        B::Error: Into<BoxError>,
    {
        if req.method() != Method::POST {
            let mut r = text(
                StatusCode::METHOD_NOT_ALLOWED,
                "405 method not allowed, supported: [POST]",
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return r;
        }
        let Some(encoding) = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(Encoding::from_content_type)
        else {
            return text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "415 unsupported media type, supported: [application/json, application/x-protobuf]",
            );
        };
        let content_encoding = req.headers().get(header::CONTENT_ENCODING);
        let named = content_encoding.map_or(Some(""), |v| v.to_str().ok());
        if !named.is_some_and(|name| self.shared.compression.allows(name)) {
            let shown = content_encoding
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            return refused(
                encoding,
                &Refusal::bad_request(format!(
                    "unsupported Content-Encoding `{shown}`: not in compression_algorithms"
                )),
            );
        }
        let version = req.version();
        let work = async {
            match signal {
                Signal::Traces => {
                    self.process::<ExportTraceServiceRequest, B>(encoding, req)
                        .await
                }
                Signal::Metrics => {
                    self.process::<ExportMetricsServiceRequest, B>(encoding, req)
                        .await
                }
                Signal::Logs => {
                    self.process::<ExportLogsServiceRequest, B>(encoding, req)
                        .await
                }
            }
        };
        let result = match self.shared.write_timeout {
            None => work.await,
            Some(limit) => tokio::time::timeout(limit, work)
                .await
                .unwrap_or_else(|_| Err(Refusal::write_timed_out(limit))),
        };
        if let Err(refusal) = &result
            && refusal.http == StatusCode::REQUEST_TIMEOUT
        {
            let mut r = refused(encoding, refusal);
            // The rest of the body was not read: the connection cannot carry another
            // request.
            if version < http::Version::HTTP_2 {
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            return r;
        }
        match result {
            Ok(body) => respond(StatusCode::OK, encoding, body),
            Err(refusal) => refused(encoding, &refusal),
        }
    }

    /// Reads, decodes and delivers one request; returns the success body.
    ///
    /// Before each step that allocates for the request, the admission gate is asked
    /// whether the live heap plus what requests in flight reserved plus what that step
    /// allocates reaches the memory limiter's soft limit: reading (the
    /// `Content-Length`), decompressing (each growth of the output), decoding (the
    /// decoded size: the decoded message takes at least as much memory as its
    /// encoding). Over it, the request is refused with 503 and `Retry-After` before it
    /// is decoded, as the limiter itself would refuse it. What each step admitted stays
    /// reserved until the request is decoded, so requests arriving together cannot all
    /// pass on the same reading.
    async fn process<R: ExportRequest, B>(
        &self,
        encoding: Encoding,
        req: Request<B>,
    ) -> Result<Bytes, Refusal>
    where
        B: Body<Data = Bytes> + Unpin,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = req.into_parts();
        let compression =
            Compression::from_headers(&parts.headers).map_err(Refusal::bad_request)?;
        let max = self.shared.max_body;
        let gate = &self.shared.gate;
        let read = read_body(body, &parts.headers, max, gate);
        let (body, mut reservation) = match self.shared.read_timeout {
            None => read.await?,
            Some(limit) => tokio::time::timeout(limit, read)
                .await
                .map_err(|_| Refusal::read_timed_out(limit))??,
        };
        let body = decompress(compression, body, max, &mut reservation)?;
        // What the body decodes to, at most: refused over the cap, reserved below it.
        // A protobuf body is checked field by field as prost would decode it, and
        // handed on as it came: decoded only by a stage that looks inside.
        let max_decoded = self.shared.max_decoded;
        let payload: Contents = match encoding {
            Encoding::Proto => {
                let scanned = crate::decoded::protobuf_within(&body, R::TYPE, max_decoded)?;
                reservation.grow(scanned.bound).map_err(memory_refusal)?;
                Contents::encoded(R::SIGNAL, body, scanned.items)
            }
            Encoding::Json => {
                let bound = crate::decoded::json_within(&body, R::TYPE, max_decoded)?;
                reservation.grow(bound).map_err(memory_refusal)?;
                serde_json::from_slice::<R>(&body)
                    .map_err(crate::intake::json_refusal)?
                    .into_payload()
                    .into()
            }
        };
        // What it holds is in the heap now, where the memory limiter sees it.
        drop(reservation);
        let intake = &self.shared.intake;
        let metadata = intake.metadata(
            self.peer,
            parts
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))),
        );
        intake.consume(payload, metadata).await?;
        Ok(match encoding {
            Encoding::Proto => Bytes::from(R::Response::default().encode_to_vec()),
            // An export response with no partial success.
            Encoding::Json => Bytes::from_static(b"{}"),
        })
    }
}

/// Collects the body, refusing one larger than `max` bytes without reading past it,
/// and one whose `Content-Length` would take the heap over the memory limit without
/// keeping it (it is read and discarded, so the client gets the answer). Returns the
/// body with the reservation of its length.
async fn read_body<B>(
    body: B,
    headers: &HeaderMap,
    max: usize,
    gate: &Arc<AdmissionGate>,
) -> Result<(Bytes, Reservation), Refusal>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large(max));
    }
    let reservation = match gate.reserve(declared.unwrap_or(0)) {
        Ok(reservation) => reservation,
        Err(over) => {
            discard(body, max).await;
            return Err(memory_refusal(over));
        }
    };
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok((collected.to_bytes(), reservation)),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(max)),
        Err(e) => Err(Refusal::bad_request(format!(
            "cannot read request body: {e}"
        ))),
    }
}

/// Reads up to `max` bytes of a refused request's body and drops them as they come,
/// so an HTTP/1.1 client that is still sending gets the answer instead of a reset
/// connection. Memory use is one chunk at a time.
async fn discard<B>(body: B, max: usize)
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let mut body = body;
    let mut read = 0usize;
    while read <= max {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, Bytes::len),
            Some(Err(_)) | None => return,
        }
    }
}

/// The refusal for a request that would take the heap over the memory limit.
fn memory_refusal(over: OverLimit) -> Refusal {
    tracing::debug!(
        heap_bytes = over.heap_bytes,
        extra_bytes = over.extra_bytes,
        soft_limit_bytes = over.soft_limit_bytes,
        "request refused before decoding: memory limit"
    );
    Refusal::memory_limited(over.retry_after)
}

fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

fn too_large(max: usize) -> Refusal {
    Refusal::too_large(format!("request body larger than {max} bytes"))
}

/// Undoes the `Content-Encoding`, stopping as soon as the output passes `max` bytes,
/// or would take the heap over the memory limit (each growth is added to
/// `reservation`).
fn decompress(
    compression: Compression,
    body: Bytes,
    max: usize,
    reservation: &mut Reservation,
) -> Result<Bytes, Refusal> {
    let input: &[u8] = &body;
    match compression {
        Compression::Identity => Ok(body),
        Compression::Gzip => inflate(
            flate2::bufread::MultiGzDecoder::new(input),
            input.len(),
            max,
            reservation,
        ),
        Compression::Zlib => inflate(
            flate2::bufread::ZlibDecoder::new(input),
            input.len(),
            max,
            reservation,
        ),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(input)
                .map_err(|e| Refusal::bad_request(format!("cannot decompress zstd body: {e}")))?;
            inflate(decoder, input.len(), max, reservation)
        }
        Compression::Snappy if input.starts_with(&SNAPPY_STREAM_IDENTIFIER) => inflate(
            snap::read::FrameDecoder::new(input),
            input.len(),
            max,
            reservation,
        ),
        Compression::Snappy => snappy_block(input, max, reservation),
        Compression::SnappyFramed => inflate(
            snap::read::FrameDecoder::new(input),
            input.len(),
            max,
            reservation,
        ),
        Compression::Lz4 => inflate(Lz4Frames::new(input), input.len(), max, reservation),
    }
}

/// Reads a body of concatenated LZ4 frames (the format allows several; one
/// `FrameDecoder` stops at the end of the first).
struct Lz4Frames<'a> {
    frame: lz4_flex::frame::FrameDecoder<&'a [u8]>,
}

impl<'a> Lz4Frames<'a> {
    fn new(input: &'a [u8]) -> Self {
        Lz4Frames {
            frame: lz4_flex::frame::FrameDecoder::new(input),
        }
    }
}

impl Read for Lz4Frames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.frame.read(buf)?;
            let rest: &[u8] = self.frame.get_ref();
            if n > 0 || buf.is_empty() || rest.is_empty() {
                return Ok(n);
            }
            self.frame = lz4_flex::frame::FrameDecoder::new(rest);
        }
    }
}

/// Undoes the snappy block format. Its header declares the decompressed length,
/// which is checked against `max` (and reserved) before anything is allocated.
fn snappy_block(input: &[u8], max: usize, reservation: &mut Reservation) -> Result<Bytes, Refusal> {
    let bad = |e: snap::Error| Refusal::bad_request(format!("cannot decompress snappy body: {e}"));
    let len = snap::raw::decompress_len(input).map_err(bad)?;
    if len > max {
        return Err(Refusal::too_large(format!(
            "decompressed request body larger than {max} bytes"
        )));
    }
    reservation.grow(len_u64(len)).map_err(memory_refusal)?;
    let out = snap::raw::Decoder::new()
        .decompress_vec(input)
        .map_err(bad)?;
    Ok(Bytes::from(out))
}

/// Smallest growth of the decompression buffer.
const INFLATE_STEP: usize = 64 * 1024;

/// Decompresses into a buffer that grows by doubling, reserving each growth first, so
/// a small body that inflates past the memory limit is refused once the output would
/// cross it rather than after it is all in memory.
fn inflate(
    reader: impl Read,
    compressed_len: usize,
    max: usize,
    reservation: &mut Reservation,
) -> Result<Bytes, Refusal> {
    let limit = max.saturating_add(1);
    let first = compressed_len
        .saturating_mul(4)
        .max(INFLATE_STEP)
        .min(limit);
    reservation.grow(len_u64(first)).map_err(memory_refusal)?;
    let mut out = vec![0u8; first];
    let mut len = 0;
    let mut reader = reader.take(u64::try_from(limit).unwrap_or(u64::MAX));
    loop {
        if len == out.len() {
            if len >= limit {
                break;
            }
            let grow = len.max(INFLATE_STEP).min(limit - len);
            reservation.grow(len_u64(grow)).map_err(memory_refusal)?;
            out.resize(len + grow, 0);
        }
        match reader.read(&mut out[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(Refusal::bad_request(format!(
                    "cannot decompress request body: {e}"
                )));
            }
        }
    }
    if len > max {
        return Err(Refusal::too_large(format!(
            "decompressed request body larger than {max} bytes"
        )));
    }
    out.truncate(len);
    Ok(Bytes::from(out))
}

fn respond(status: StatusCode, encoding: Encoding, body: Bytes) -> HttpResponse {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(encoding.content_type()),
    );
    r
}

/// An error answer: a `google.rpc.Status` in the request's encoding.
fn refused(encoding: Encoding, refusal: &Refusal) -> HttpResponse {
    let body = match encoding {
        Encoding::Proto => refusal.proto_body(),
        Encoding::Json => refusal.json_body(),
    };
    let mut r = respond(refusal.http, encoding, body);
    if let Some(secs) = refusal.retry_after_header() {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

fn text(status: StatusCode, message: &'static str) -> HttpResponse {
    let mut r = Response::new(Full::new(Bytes::from(format!("{message}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Request headers browsers may always send.
const ALWAYS_ALLOWED_HEADERS: [&str; 4] = [
    "accept",
    "content-type",
    "content-encoding",
    "x-requested-with",
];

/// Cross-origin access rules.
pub(crate) struct Cors {
    origins: Vec<String>,
    headers: Vec<String>,
    max_age: u64,
    /// `Access-Control-Expose-Headers` for allowed origins' answers.
    exposed: Option<HeaderValue>,
}

impl Cors {
    /// Rules from the config; `None` when no origin is allowed.
    pub fn new(cfg: &CorsConfig) -> Option<Self> {
        if cfg.allowed_origins.is_empty() {
            return None;
        }
        Some(Cors {
            origins: cfg
                .allowed_origins
                .iter()
                .map(|o| o.to_ascii_lowercase())
                .collect(),
            headers: cfg
                .allowed_headers
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            max_age: cfg.max_age,
            exposed: (!cfg.exposed_headers.is_empty())
                .then(|| HeaderValue::from_str(&cfg.exposed_headers.join(", ")).ok())
                .flatten(),
        })
    }

    fn origin_allowed(&self, origin: &HeaderValue) -> bool {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.to_ascii_lowercase();
        self.origins
            .iter()
            .any(|pattern| match pattern.split_once('*') {
                None => *pattern == origin,
                Some((prefix, suffix)) => {
                    origin.len() >= prefix.len() + suffix.len()
                        && origin.starts_with(prefix)
                        && origin.ends_with(suffix)
                }
            })
    }

    fn header_allowed(&self, name: &str) -> bool {
        let name = name.trim().to_ascii_lowercase();
        name.is_empty()
            || ALWAYS_ALLOWED_HEADERS.contains(&name.as_str())
            || self.headers.iter().any(|h| h == "*" || *h == name)
    }

    /// The answer to a preflight `OPTIONS`: 204, with the CORS headers only when the
    /// origin, method and headers asked for are all allowed.
    fn preflight(&self, origin: &HeaderValue, headers: &HeaderMap) -> HttpResponse {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NO_CONTENT;
        let h = r.headers_mut();
        h.insert(
            header::VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        let method_ok = headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .is_some_and(|m| m.as_bytes().eq_ignore_ascii_case(b"POST"));
        let requested = headers
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let headers_ok = requested.split(',').all(|n| self.header_allowed(n));
        if !(self.origin_allowed(origin) && method_ok && headers_ok) {
            return r;
        }
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST"),
        );
        if !requested.trim().is_empty()
            && let Ok(v) = HeaderValue::from_str(requested)
        {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
        }
        if self.max_age > 0 {
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from(self.max_age),
            );
        }
        r
    }

    /// Adds the CORS headers to the answer of an allowed origin's request.
    fn decorate(&self, origin: &HeaderValue, response: &mut HttpResponse) {
        if self.origin_allowed(origin) {
            let h = response.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
            if let Some(exposed) = &self.exposed {
                h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use stratus_core::factory::SignalConsumers;
    use stratus_core::memory::SoftLimit;
    use stratus_core::telemetry::{ReceiverMetrics, Registry};
    use stratus_testkit::RecordingConsumer;

    use crate::hostile::{gzip_bomb, nested_any_value, nested_json, span_request};

    #[test]
    fn content_types() {
        let ct = |v: &'static str| Encoding::from_content_type(&HeaderValue::from_static(v));
        assert_eq!(ct("application/x-protobuf"), Some(Encoding::Proto));
        assert_eq!(ct("application/json; charset=utf-8"), Some(Encoding::Json));
        assert_eq!(ct("Application/JSON"), Some(Encoding::Json));
        assert_eq!(ct("text/plain"), None);
        assert_eq!(ct("application/jsonx"), None);
    }

    #[test]
    fn content_encodings() {
        let ce = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(v));
            Compression::from_headers(&h)
        };
        assert_eq!(
            Compression::from_headers(&HeaderMap::new()),
            Ok(Compression::Identity)
        );
        assert_eq!(ce("identity"), Ok(Compression::Identity));
        assert_eq!(ce("GZIP"), Ok(Compression::Gzip));
        assert_eq!(ce("zstd"), Ok(Compression::Zstd));
        assert_eq!(ce("deflate"), Ok(Compression::Zlib));
        assert_eq!(ce("zlib"), Ok(Compression::Zlib));
        assert_eq!(ce("snappy"), Ok(Compression::Snappy));
        assert_eq!(ce("x-snappy-framed"), Ok(Compression::SnappyFramed));
        assert_eq!(ce("lz4"), Ok(Compression::Lz4));
        assert!(ce("br").unwrap_err().contains("`br`"));
    }

    fn gzip(data: &[u8]) -> Bytes {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(data).unwrap();
        Bytes::from(enc.finish().unwrap())
    }

    #[test]
    fn decompression_is_bounded() {
        let open = AdmissionGate::with_heap_reader(|| None);
        let decompress =
            |c, body, max| super::decompress(c, body, max, &mut open.reserve(0).unwrap());
        let data = vec![7u8; 10_000];
        assert_eq!(
            decompress(Compression::Gzip, gzip(&data), 10_000).unwrap(),
            data
        );
        let err = decompress(Compression::Gzip, gzip(&data), 9_999).unwrap_err();
        assert_eq!(err.http, StatusCode::PAYLOAD_TOO_LARGE);
        let z = Bytes::from(zstd::encode_all(&data[..], 3).unwrap());
        assert_eq!(
            decompress(Compression::Zstd, z.clone(), 10_000).unwrap(),
            data
        );
        assert_eq!(
            decompress(Compression::Zstd, z, 100).unwrap_err().http,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let bad = decompress(Compression::Gzip, Bytes::from_static(b"not gzip"), 100);
        assert_eq!(bad.unwrap_err().http, StatusCode::BAD_REQUEST);
        let bad = decompress(Compression::Zstd, Bytes::from_static(b"not zstd"), 100);
        assert_eq!(bad.unwrap_err().http, StatusCode::BAD_REQUEST);
        // Larger than one growth step, across several growths.
        let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(
            decompress(Compression::Zlib, zlib(&big), 1_000_000).unwrap(),
            big
        );
        assert_eq!(
            decompress(Compression::Zlib, zlib(&big), 999_999)
                .unwrap_err()
                .http,
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    fn zlib(data: &[u8]) -> Bytes {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        Bytes::from(enc.finish().unwrap())
    }

    const MIB: u64 = 1024 * 1024;

    /// An HTTP receiver's handler on `gate`, delivering traces to a recorder.
    fn handler(gate: Arc<AdmissionGate>) -> (HttpHandler, Arc<RecordingConsumer>) {
        handler_with(gate, None, None)
    }

    /// [`handler`] with `read_timeout` and `write_timeout`.
    fn handler_with(
        gate: Arc<AdmissionGate>,
        read_timeout: Option<Duration>,
        write_timeout: Option<Duration>,
    ) -> (HttpHandler, Arc<RecordingConsumer>) {
        let sink = RecordingConsumer::new();
        let mut consumers = SignalConsumers::default();
        consumers.set(Signal::Traces, sink.clone().boxed());
        let shared = HttpShared {
            intake: Intake {
                receiver: "otlp".into(),
                transport: "http",
                consumers,
                metrics: ReceiverMetrics::new(&Registry::new(), "otlp", "http"),
                include_metadata: false,
            },
            traces_path: "/v1/traces".into(),
            metrics_path: "/v1/metrics".into(),
            logs_path: "/v1/logs".into(),
            max_body: 20 * MIB as usize,
            max_decoded: crate::decoded::decoded_cap(20 * MIB as usize),
            cors: None,
            gate,
            auth: None,
            response_headers: Vec::new(),
            compression: CompressionAlgorithms::default(),
            read_timeout,
            write_timeout,
        };
        let peer = "127.0.0.1:5555".parse().unwrap();
        (HttpHandler::new(Arc::new(shared), peer), sink)
    }

    /// A gate whose heap reading the test sets, with a soft limit of 10 MiB and a
    /// retry delay of 1.5 s registered (kept registered by the returned guard).
    fn gate() -> (Arc<AdmissionGate>, Arc<AtomicU64>, SoftLimit) {
        let heap = Arc::new(AtomicU64::new(0));
        let gate = {
            let heap = heap.clone();
            AdmissionGate::with_heap_reader(move || Some(heap.load(Ordering::SeqCst)))
        };
        let limit = gate.register(10 * MIB, Duration::from_millis(1500));
        (gate, heap, limit)
    }

    fn post(body: Bytes, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
        let mut req = Request::post("/v1/traces")
            .header(header::CONTENT_TYPE, PROTOBUF)
            .body(Full::new(body))
            .unwrap();
        for (k, v) in headers {
            req.headers_mut().insert(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        req
    }

    /// Asserts the memory limiter's refusal: 503, `Retry-After`, `UNAVAILABLE` status.
    async fn assert_memory_refusal(resp: HttpResponse) {
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "2");
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let status = stratus_core::rpc::RpcStatus::decode(body).unwrap();
        assert_eq!(status.code, tonic::Code::Unavailable as i32);
        assert_eq!(status.message, crate::status::DATA_REFUSED);
        assert_eq!(status.retry_delay(), Some(Duration::from_millis(1500)));
    }

    fn traces(n: usize) -> ExportTraceServiceRequest {
        use stratus_testkit::otlp::{span, traces};
        traces()
            .spans((0..n).map(|i| span(format!("op{}", i % 3))))
            .request()
    }

    /// A protobuf body is handed on as the client sent it, with its span count and
    /// undecoded; a JSON body is decoded (there are no protobuf bytes to keep).
    #[tokio::test]
    async fn protobuf_bodies_are_handed_on_as_sent_and_json_is_decoded() {
        let (gate, _heap, _limit) = gate();
        let (handler, sink) = handler(gate);
        let request = traces(3);
        let body = Bytes::from(request.encode_to_vec());
        let resp = handler.clone().handle(post(body.clone(), &[])).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let got = sink.take().remove(0);
        assert!(got.payload.is_encoded());
        assert_eq!(got.item_count(), 3);
        assert_eq!(got.payload.encode_request(), body);
        assert_eq!(
            *got.payload,
            stratus_core::Payload::Traces(request.resource_spans.clone())
        );

        let json = serde_json::to_vec(&request).unwrap();
        let mut req = post(Bytes::from(json), &[]);
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert_eq!(handler.handle(req).await.status(), StatusCode::OK);
        let got = sink.take().remove(0);
        assert!(!got.payload.is_encoded());
        assert_eq!(
            *got.payload,
            stratus_core::Payload::Traces(request.resource_spans)
        );
    }

    #[tokio::test]
    async fn refuses_by_content_length_before_decoding() {
        let (gate, heap, _limit) = gate();
        let (handler, sink) = handler(gate);
        // Not protobuf: decoding it would answer 400. The header declares more than
        // the 16 bytes sent, so only the declared length can refuse it.
        let garbage = Bytes::from(vec![0xffu8; 16]);
        let declared = [(header::CONTENT_LENGTH.as_str(), "4096")];

        // 10 MiB soft limit, heap 4 KiB below it: the declared 4 KiB would reach it.
        heap.store(10 * MIB - 4096, Ordering::SeqCst);
        let resp = handler
            .clone()
            .handle(post(garbage.clone(), &declared))
            .await;
        assert_memory_refusal(resp).await;

        // Room for the declared 4096 bytes and for decoding the 16 read: the body is
        // read, and decoding it is what fails.
        heap.store(10 * MIB - 4096 - 16 - 1, Ordering::SeqCst);
        let resp = handler
            .clone()
            .handle(post(garbage.clone(), &declared))
            .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(sink.batches().is_empty());

        // A real request with room for it goes through.
        heap.store(MIB, Ordering::SeqCst);
        let body = Bytes::from(traces(3).encode_to_vec());
        let length = body.len().to_string();
        let resp = handler
            .clone()
            .handle(post(body, &[("content-length", length.as_str())]))
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(sink.batches().len(), 1);
    }

    #[tokio::test]
    async fn refuses_by_decoded_size_before_decoding() {
        let (gate, heap, limit) = gate();
        let (handler, sink) = handler(gate.clone());
        let request = traces(20_000);
        let encoded = request.encode_to_vec();
        assert!(encoded.len() > 300_000, "{}", encoded.len());
        let compressed = gzip(&encoded);
        assert!(compressed.len() < 64 * 1024, "{}", compressed.len());
        let length = compressed.len().to_string();
        let headers = [
            ("content-encoding", "gzip"),
            ("content-length", length.as_str()),
        ];

        // 200 KiB of room: the compressed body fits, its decompressed size does not.
        heap.store(10 * MIB - 200 * 1024, Ordering::SeqCst);
        let resp = handler
            .clone()
            .handle(post(compressed.clone(), &headers))
            .await;
        assert_memory_refusal(resp).await;
        assert!(sink.batches().is_empty());

        // Uncompressed without a Content-Length (so nothing is known before reading):
        // refused on its size once read, before decoding.
        let resp = handler
            .clone()
            .handle(post(Bytes::from(encoded.clone()), &[]))
            .await;
        assert_memory_refusal(resp).await;
        assert!(sink.batches().is_empty());

        // With room, the same requests are decoded and delivered (20 000 spans decode
        // to about 8.5 MiB by the bound, reserved before decoding).
        heap.store(0, Ordering::SeqCst);
        let resp = handler.clone().handle(post(compressed, &headers)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let resp = handler
            .clone()
            .handle(post(Bytes::from(encoded), &[]))
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let batches = sink.batches();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].item_count(), 20_000);

        // No limiter registered: the gate never refuses.
        drop(limit);
        heap.store(u64::MAX / 2, Ordering::SeqCst);
        let body = Bytes::from(traces(1).encode_to_vec());
        let resp = handler.clone().handle(post(body, &[])).await;
        assert_eq!(resp.status(), StatusCode::OK);
    }

    fn snappy_framed(data: &[u8]) -> Bytes {
        let mut enc = snap::write::FrameEncoder::new(Vec::new());
        enc.write_all(data).unwrap();
        Bytes::from(enc.into_inner().unwrap())
    }

    fn lz4(data: &[u8]) -> Bytes {
        let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
        enc.write_all(data).unwrap();
        Bytes::from(enc.finish().unwrap())
    }

    #[test]
    fn snappy_and_lz4_bodies() {
        let open = AdmissionGate::with_heap_reader(|| None);
        let decompress =
            |c, body, max| super::decompress(c, body, max, &mut open.reserve(0).unwrap());
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 97) as u8).collect();
        let block = Bytes::from(snap::raw::Encoder::new().compress_vec(&data).unwrap());
        // `snappy` is the block format, and the framing format when the body starts
        // with the stream identifier; `x-snappy-framed` is the framing format.
        for (c, body) in [
            (Compression::Snappy, block.clone()),
            (Compression::Snappy, snappy_framed(&data)),
            (Compression::SnappyFramed, snappy_framed(&data)),
            (Compression::Lz4, lz4(&data)),
        ] {
            assert_eq!(decompress(c, body.clone(), 200_000).unwrap(), data, "{c:?}");
            let err = decompress(c, body.clone(), 199_999).unwrap_err();
            assert_eq!(err.http, StatusCode::PAYLOAD_TOO_LARGE, "{c:?}");
            // Truncated: a client error, never a panic. (The framing formats carry
            // no end marker, so they are cut inside a chunk.)
            let cut = body.slice(..body.len() / 2);
            let err = decompress(c, cut, 200_000).unwrap_err();
            assert_eq!(err.http, StatusCode::BAD_REQUEST, "{c:?}: {}", err.message);
            let err = decompress(c, Bytes::from_static(b"\x01\x02garbage"), 100).unwrap_err();
            assert_eq!(err.http, StatusCode::BAD_REQUEST, "{c:?}");
        }
        // The block format declares its length: refused on the header alone.
        let mut claims_1g = Vec::new();
        let mut n: u64 = 1 << 30;
        while n >= 0x80 {
            claims_1g.push((n as u8) | 0x80);
            n >>= 7;
        }
        claims_1g.push(n as u8);
        claims_1g.extend_from_slice(b"\x00\x00");
        let err = decompress(Compression::Snappy, Bytes::from(claims_1g), 1024).unwrap_err();
        assert_eq!(err.http, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn truncated_gzip_and_zstd_are_bad_requests() {
        let open = AdmissionGate::with_heap_reader(|| None);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 89) as u8).collect();
        let z = Bytes::from(zstd::encode_all(&data[..], 3).unwrap());
        for (c, body) in [
            (Compression::Gzip, gzip(&data)),
            (Compression::Zlib, zlib(&data)),
            (Compression::Zstd, z),
        ] {
            // Cut in the middle, and just before the end (inside the trailer).
            for cut in [body.len() / 2, body.len() - 2] {
                let err = super::decompress(
                    c,
                    body.slice(..cut),
                    1_000_000,
                    &mut open.reserve(0).unwrap(),
                )
                .unwrap_err();
                assert_eq!(err.http, StatusCode::BAD_REQUEST, "{c:?} cut at {cut}");
                assert!(err.message.contains("decompress"), "{}", err.message);
            }
        }
    }

    #[test]
    fn bombs_stop_at_the_limit_while_inflating() {
        // A gate that refuses any growth past 8 MiB: a decompressor that inflated a
        // bomb before checking its size would be refused with 503, not 413.
        let heap = Arc::new(AtomicU64::new(0));
        let gate = {
            let heap = heap.clone();
            AdmissionGate::with_heap_reader(move || Some(heap.load(Ordering::SeqCst)))
        };
        let _limit = gate.register(8 * MIB, Duration::from_secs(1));
        let max = MIB as usize;
        let check = |c, body: Bytes| {
            let err = super::decompress(c, body, max, &mut gate.reserve(0).unwrap()).unwrap_err();
            assert_eq!(
                err.http,
                StatusCode::PAYLOAD_TOO_LARGE,
                "{c:?}: {}",
                err.message
            );
        };
        // 1 GiB of zeros in about 1 MiB of gzip.
        let bomb = gzip_bomb(1024);
        assert!(bomb.len() < 2 * MIB as usize, "{}", bomb.len());
        // The bomb is well formed: its first 4 MiB inflate.
        let mut head = vec![0u8; 4 << 20];
        std::io::Read::read_exact(&mut flate2::read::GzDecoder::new(&bomb[..]), &mut head).unwrap();
        assert!(head.iter().all(|b| *b == 0));
        check(Compression::Gzip, Bytes::from(bomb));
        // zstd and lz4 frames of 1 MiB zeros, concatenated to 1 GiB; snappy (which
        // compresses zeros only 20:1) to 64 MiB.
        let zeros = vec![0u8; 1 << 20];
        let frame = zstd::encode_all(&zeros[..], 3).unwrap();
        check(Compression::Zstd, Bytes::from(frame.repeat(1024)));
        let framed = snappy_framed(&zeros);
        let chunks = &framed[SNAPPY_STREAM_IDENTIFIER.len()..];
        let mut snappy = framed.to_vec();
        for _ in 1..64 {
            snappy.extend_from_slice(chunks);
        }
        check(Compression::SnappyFramed, Bytes::from(snappy));
        let lz4_frames = lz4(&zeros).repeat(1024);
        check(Compression::Lz4, Bytes::from(lz4_frames.clone()));
        // Concatenated frames are one body, as the LZ4 frame format allows.
        let two = super::decompress(
            Compression::Lz4,
            Bytes::from(lz4_frames[..2 * lz4_frames.len() / 1024].to_vec()),
            4 * max,
            &mut gate.reserve(0).unwrap(),
        )
        .unwrap();
        assert_eq!(two.len(), 2 * max);
    }

    async fn body_text(resp: HttpResponse) -> String {
        let json =
            resp.headers().get(header::CONTENT_TYPE) == Some(&HeaderValue::from_static(JSON));
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        if json {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            return v["message"].as_str().unwrap().to_string();
        }
        match stratus_core::rpc::RpcStatus::decode(body.clone()) {
            Ok(status) if !status.message.is_empty() => status.message,
            _ => String::from_utf8_lossy(&body).into_owned(),
        }
    }

    #[tokio::test]
    async fn hostile_bodies_get_clear_client_errors() {
        let open = AdmissionGate::with_heap_reader(|| None);
        let (handler, sink) = handler(open);
        let call = |body: Vec<u8>, headers: &[(&str, &str)]| {
            let req = post(Bytes::from(body), headers);
            handler.clone().handle(req)
        };
        // Malformed protobuf.
        let resp = call(vec![0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2], &[]).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(
            body_text(resp)
                .await
                .contains("cannot decode protobuf request")
        );

        // Invalid UTF-8 in a string.
        let resp = call(span_request(b"\xff\xfe", b""), &[]).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(body_text(resp).await.contains("not UTF-8"));
        let mut json = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"#.to_vec();
        json.extend_from_slice(b"\"\xff\xfe\"}]}]}]}");
        let resp = call(json, &[("content-type", JSON)]).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let text = body_text(resp).await;
        assert!(text.contains("cannot decode JSON request"), "{text}");

        // 10,000 levels of AnyValue, in protobuf and in JSON.
        let resp = call(span_request(b"s", &nested_any_value(10_000)), &[]).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let text = body_text(resp).await;
        assert!(
            text.contains("nested more than 100 deep (the depth limit)"),
            "{text}"
        );
        let resp = call(nested_json(10_000).into_bytes(), &[("content-type", JSON)]).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let text = body_text(resp).await;
        assert!(
            text.contains("nested more than 128 deep (the depth limit)"),
            "{text}"
        );
        // Within the limits, nested values are accepted.
        let resp = call(span_request(b"s", &nested_any_value(40)), &[]).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let resp = call(nested_json(30).into_bytes(), &[("content-type", JSON)]).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(sink.batches().len(), 2);

        // Wrong and missing content types.
        let resp = call(b"{}".to_vec(), &[("content-type", "text/plain")]).await;
        assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let mut req = post(Bytes::from_static(b"{}"), &[]);
        req.headers_mut().remove(header::CONTENT_TYPE);
        let resp = handler.clone().handle(req).await;
        assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

        // Over the limit by Content-Length: refused before reading.
        let resp = call(vec![], &[("content-length", "1073741824")]).await;
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        // Over the limit as sent, without a Content-Length.
        let resp = call(vec![0u8; 20 * MIB as usize + 1], &[]).await;
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(sink.batches().len(), 2);
    }

    /// A body that sends `first` and then nothing, never ending.
    fn stalled_body(
        first: &'static [u8],
    ) -> http_body_util::StreamBody<
        futures::stream::BoxStream<'static, Result<hyper::body::Frame<Bytes>, Infallible>>,
    > {
        use futures::StreamExt;
        let frames = futures::stream::once(async move {
            Ok::<_, Infallible>(hyper::body::Frame::data(Bytes::from_static(first)))
        })
        .chain(futures::stream::pending());
        http_body_util::StreamBody::new(frames.boxed())
    }

    #[tokio::test]
    async fn slow_bodies_time_out() {
        let open = AdmissionGate::with_heap_reader(|| None);
        let stalled = || {
            Request::post("/v1/traces")
                .header(header::CONTENT_TYPE, PROTOBUF)
                .body(stalled_body(b"\x0a"))
                .unwrap()
        };
        let (handler, sink) = handler_with(open.clone(), Some(Duration::from_millis(50)), None);
        let resp = handler.clone().handle(stalled()).await;
        assert_eq!(resp.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(resp.headers()[header::CONNECTION], "close");
        assert!(body_text(resp).await.contains("read_timeout"));
        let (handler, _) = handler_with(open, None, Some(Duration::from_millis(50)));
        let resp = handler.clone().handle(stalled()).await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(body_text(resp).await.contains("write_timeout"));
        assert!(sink.batches().is_empty());
    }

    #[test]
    fn cors_origins_and_headers() {
        let cors = Cors::new(&CorsConfig {
            allowed_origins: vec![
                "https://*.example.com".into(),
                "http://localhost:3000".into(),
            ],
            allowed_headers: vec!["X-Tenant".into()],
            max_age: 60,
            exposed_headers: Vec::new(),
        })
        .unwrap();
        let ok = |o: &'static str| cors.origin_allowed(&HeaderValue::from_static(o));
        assert!(ok("https://app.example.com"));
        assert!(ok("http://localhost:3000"));
        assert!(!ok("https://example.org"));
        assert!(!ok("http://app.example.com"));
        assert!(cors.header_allowed("x-tenant"));
        assert!(cors.header_allowed("Content-Type"));
        assert!(!cors.header_allowed("x-other"));
        assert!(Cors::new(&CorsConfig::default()).is_none());
    }
}
