//! OTLP over HTTP: `POST` of a protobuf or JSON export request, optionally compressed.

use std::convert::Infallible;
use std::future::Future;
use std::io::Read;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use prost::Message;
use stratus_core::Signal;
use stratus_core::pdata::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};

use crate::config::CorsConfig;
use crate::intake::{ExportRequest, Intake};
use crate::status::Refusal;

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

/// A `Content-Encoding` the receiver can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Identity,
    Gzip,
    Zstd,
    Zlib,
}

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
            _ => Err(format!(
                "unsupported Content-Encoding `{}`: use gzip, zstd, deflate or none",
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
    pub cors: Option<Cors>,
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
        Box::pin(async move { Ok(handler.handle(req).await) })
    }
}

impl HttpHandler {
    async fn handle(self, req: Request<Incoming>) -> HttpResponse {
        let Some(signal) = self.shared.route(req.uri().path()) else {
            return text(StatusCode::NOT_FOUND, "404 page not found");
        };
        let cors = self.shared.cors.as_ref();
        let origin = req.headers().get(header::ORIGIN).cloned();
        if req.method() == Method::OPTIONS
            && let (Some(cors), Some(origin)) = (cors, &origin)
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return cors.preflight(origin, req.headers());
        }
        let mut response = self.export(signal, req).await;
        if let (Some(cors), Some(origin)) = (cors, origin) {
            cors.decorate(&origin, &mut response);
        }
        response
    }

    async fn export(&self, signal: Signal, req: Request<Incoming>) -> HttpResponse {
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
        let result = match signal {
            Signal::Traces => {
                self.process::<ExportTraceServiceRequest>(encoding, req)
                    .await
            }
            Signal::Metrics => {
                self.process::<ExportMetricsServiceRequest>(encoding, req)
                    .await
            }
            Signal::Logs => {
                self.process::<ExportLogsServiceRequest>(encoding, req)
                    .await
            }
        };
        match result {
            Ok(body) => respond(StatusCode::OK, encoding, body),
            Err(refusal) => refused(encoding, &refusal),
        }
    }

    /// Reads, decodes and delivers one request; returns the success body.
    async fn process<R: ExportRequest>(
        &self,
        encoding: Encoding,
        req: Request<Incoming>,
    ) -> Result<Bytes, Refusal> {
        let (parts, body) = req.into_parts();
        let compression =
            Compression::from_headers(&parts.headers).map_err(Refusal::bad_request)?;
        let max = self.shared.max_body;
        let body = read_body(body, &parts.headers, max).await?;
        let body = decompress(compression, body, max)?;
        let request = match encoding {
            Encoding::Proto => R::decode(body).map_err(|e| {
                Refusal::bad_request(format!("cannot decode protobuf request: {e}"))
            })?,
            Encoding::Json => serde_json::from_slice::<R>(&body)
                .map_err(|e| Refusal::bad_request(format!("cannot decode JSON request: {e}")))?,
        };
        let intake = &self.shared.intake;
        let metadata = intake.metadata(
            self.peer,
            parts
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))),
        );
        intake.consume(request.into_payload(), metadata).await?;
        Ok(match encoding {
            Encoding::Proto => Bytes::from(R::Response::default().encode_to_vec()),
            // An export response with no partial success.
            Encoding::Json => Bytes::from_static(b"{}"),
        })
    }
}

/// Collects the body, refusing one larger than `max` bytes without reading past it.
async fn read_body(body: Incoming, headers: &HeaderMap, max: usize) -> Result<Bytes, Refusal> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large(max));
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(max)),
        Err(e) => Err(Refusal::bad_request(format!(
            "cannot read request body: {e}"
        ))),
    }
}

fn too_large(max: usize) -> Refusal {
    Refusal::too_large(format!("request body larger than {max} bytes"))
}

/// Undoes the `Content-Encoding`, stopping as soon as the output passes `max` bytes.
fn decompress(compression: Compression, body: Bytes, max: usize) -> Result<Bytes, Refusal> {
    let input: &[u8] = &body;
    match compression {
        Compression::Identity => Ok(body),
        Compression::Gzip => inflate(
            flate2::bufread::MultiGzDecoder::new(input),
            input.len(),
            max,
        ),
        Compression::Zlib => inflate(flate2::bufread::ZlibDecoder::new(input), input.len(), max),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(input)
                .map_err(|e| Refusal::bad_request(format!("cannot decompress zstd body: {e}")))?;
            inflate(decoder, input.len(), max)
        }
    }
}

fn inflate(reader: impl Read, compressed_len: usize, max: usize) -> Result<Bytes, Refusal> {
    let mut out = Vec::with_capacity(compressed_len.saturating_mul(4).min(max));
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Refusal::bad_request(format!("cannot decompress request body: {e}")))?;
    if out.len() > max {
        return Err(Refusal::too_large(format!(
            "decompressed request body larger than {max} bytes"
        )));
    }
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

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
        assert!(ce("br").unwrap_err().contains("`br`"));
    }

    fn gzip(data: &[u8]) -> Bytes {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(data).unwrap();
        Bytes::from(enc.finish().unwrap())
    }

    #[test]
    fn decompression_is_bounded() {
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
