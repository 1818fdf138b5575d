//! The Track API on the wire: the HTTP client (hyper over the kit's TLS), the
//! request body (a gzipped JSON array of envelopes), and what the answer means.
//!
//! Answers (`{itemsReceived, itemsAccepted, errors: [{index, statusCode, message}]}`,
//! Microsoft's `TrackResponse`), classified by [`classify`]:
//!
//! | status | meaning |
//! |---|---|
//! | 200 | every envelope accepted |
//! | 206 | some accepted: each `errors[]` entry names an envelope (its index in the POSTed array) that was not, with its own status; those with a retryable status ([`RETRYABLE_ITEM_STATUSES`]) are resent, the others are rejected for good; envelopes not listed were accepted |
//! | 408, 500, 502, 504 | retryable, nothing accepted |
//! | 429, 439, 503 | retryable and throttled: `Retry-After` (seconds or an HTTP date) is the next delay |
//! | 400 | permanent: the envelopes are invalid |
//! | 401, 403 | permanent, with what to check (instrumentation key, connection string, Entra ID role) |
//! | other 4xx | permanent; other 5xx retryable |
//!
//! 502 and 504 (gateway errors, not named by upstream) are retried as Microsoft's
//! Python exporter does. A `206` whose body cannot be read is retried whole: the
//! Track API deduplicates nothing, so that may resend envelopes it took, but it
//! drops none.

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use stratus_core::ConsumeError;
use stratus_core::confval::Secret;

/// Per-envelope statuses of a `206` that are resent (upstream's and Microsoft's
/// list): timeout, too many requests, daily quota (439), internal error, unavailable.
pub const RETRYABLE_ITEM_STATUSES: [u16; 5] = [408, 429, 439, 500, 503];

/// The largest response body read, in bytes; Track API answers are small.
const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// The HTTP client the exporter sends with: pooled, HTTP/1.1 and HTTP/2, `https://`
/// through rustls with the system's roots (the kit's provider), `http://` for local
/// endpoints.
pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Whether a per-envelope status of a `206` is resent.
pub fn is_retryable_item(status: u16) -> bool {
    RETRYABLE_ITEM_STATUSES.contains(&status)
}

/// Builds the client for `url`: TLS roots are loaded only when it is `https://`.
pub fn http_client(url: &Uri) -> Result<HttpClient, String> {
    let tls = if url.scheme_str() == Some("https") {
        // hyper-rustls sets ALPN itself.
        let config = stratus_tls::TlsClientConfig::default()
            .client_config(&[])
            .map_err(|e| e.to_string())?;
        std::sync::Arc::unwrap_or_clone(config)
    } else {
        rustls::ClientConfig::builder_with_provider(stratus_tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth()
    };
    let mut connector = HttpConnector::new();
    connector.enforce_http(false);
    connector.set_nodelay(true);
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(connector);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

/// The body of one POST: the envelopes as one JSON array, gzipped.
pub fn encode_body<'a>(envelopes: impl IntoIterator<Item = &'a str>) -> std::io::Result<Bytes> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"[")?;
    for (i, envelope) in envelopes.into_iter().enumerate() {
        if i > 0 {
            gz.write_all(b",")?;
        }
        gz.write_all(envelope.as_bytes())?;
    }
    gz.write_all(b"]")?;
    Ok(Bytes::from(gz.finish()?))
}

/// One entry of the answer's `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemError {
    /// The envelope's index in the POSTed array.
    pub index: usize,
    /// Its own status.
    pub status_code: u16,
    /// Why, as the service says.
    #[serde(default)]
    pub message: String,
}

/// The Track API's answer body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrackResponse {
    /// Envelopes the service read.
    pub items_received: usize,
    /// Envelopes it accepted.
    pub items_accepted: usize,
    /// The envelopes it did not accept.
    pub errors: Vec<ItemError>,
}

/// What one POST achieved when it was not a failure as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Every envelope was accepted (`200`, or a `206` listing no error).
    Accepted,
    /// Some were not (`206`): the listed envelopes with their statuses; the others
    /// were accepted. `throttle` is the answer's `Retry-After`, if any.
    Partial {
        /// The envelopes not accepted.
        errors: Vec<ItemError>,
        /// `Retry-After` of the answer.
        throttle: Option<Duration>,
    },
}

/// Parses `Retry-After`: delta-seconds or an HTTP date (a date in the past means
/// now).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now))
        .filter(|d| !d.is_zero())
}

/// What to check after a 401 or 403 (no secret in it).
pub fn auth_hint(status: u16) -> &'static str {
    match status {
        401 => {
            "check the instrumentation key (`instrumentation_key`, or InstrumentationKey in \
             `connection_string` / APPLICATIONINSIGHTS_CONNECTION_STRING): it must be the key \
             of an existing Application Insights resource, and the connection string's \
             IngestionEndpoint must be that resource's; a resource with local authentication \
             disabled takes only Entra ID tokens, so configure Entra ID authentication for \
             it"
        }
        _ => {
            "the Entra ID identity in use needs the Monitoring Metrics Publisher role on the \
             Application Insights resource, and the token must be for its audience \
             (AADAudience in the connection string); also check that the instrumentation key \
             belongs to that resource"
        }
    }
}

/// The first error message of a body, if it is a Track API answer with one.
fn first_message(body: &[u8]) -> Option<String> {
    let r: TrackResponse = serde_json::from_slice(body).ok()?;
    let e = r.errors.into_iter().find(|e| !e.message.is_empty())?;
    Some(e.message.chars().take(300).collect())
}

/// Classifies one answer of the Track API to a POST of `sent` envelopes (see the
/// module docs). Messages name the status and the service's first message; the
/// caller removes secrets from them.
pub fn classify(
    url: &Uri,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    sent: usize,
    now: SystemTime,
) -> Result<Answer, ConsumeError> {
    let code = status.as_u16();
    if code == 200 {
        return Ok(Answer::Accepted);
    }
    if code == 206 {
        let Ok(answer) = serde_json::from_slice::<TrackResponse>(body) else {
            return Err(ConsumeError::retryable(format!(
                "Application Insights at {url} answered 206 (partial success) with a body \
                 that is not a Track API response; resending the {sent} envelopes"
            )));
        };
        let mut errors: Vec<ItemError> = answer
            .errors
            .into_iter()
            .filter(|e| e.index < sent)
            .collect();
        errors.sort_by_key(|e| e.index);
        errors.dedup_by_key(|e| e.index);
        if errors.is_empty() {
            return Ok(Answer::Accepted);
        }
        return Ok(Answer::Partial {
            errors,
            throttle: retry_after(headers, now),
        });
    }
    let mut message = format!("Application Insights at {url} answered HTTP {code}");
    if let Some(reason) = status.canonical_reason() {
        message.push_str(&format!(" ({})", reason.to_ascii_lowercase()));
    } else if code == 439 {
        message.push_str(" (daily quota exceeded)");
    }
    if let Some(m) = first_message(body) {
        message.push_str(&format!(": {m}"));
    }
    match code {
        401 | 403 => Err(ConsumeError::permanent(format!(
            "{message}; {}",
            auth_hint(code)
        ))),
        429 | 439 | 503 => Err(match retry_after(headers, now) {
            Some(delay) => ConsumeError::throttled(message, delay),
            None => ConsumeError::retryable(message),
        }),
        408 | 500..=599 => Err(ConsumeError::retryable(message)),
        _ => Err(ConsumeError::permanent(message)),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// An answer as received: status, headers, body.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body (at most 1 MiB read).
    pub body: Bytes,
}

/// POSTs one gzipped body, with a bearer token when Entra ID is in use. A request
/// that gets no answer is a retryable error.
pub async fn post(
    client: &HttpClient,
    url: &Uri,
    body: Bytes,
    token: Option<&Secret>,
) -> Result<RawAnswer, ConsumeError> {
    let mut request = http::Request::post(url.clone())
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_ENCODING, "gzip")
        .header(USER_AGENT, concat!("stratus/", env!("CARGO_PKG_VERSION")))
        .body(Full::new(body))
        .map_err(|e| ConsumeError::permanent(format!("building the request failed: {e}")))?;
    if let Some(token) = token {
        let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose()))
            .map_err(|_| ConsumeError::permanent("the Entra ID token is not a header value"))?;
        value.set_sensitive(true);
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, value);
    }
    let response = client.request(request).await.map_err(|e| {
        ConsumeError::retryable(format!(
            "POST to Application Insights at {url} failed: {}",
            error_chain(&e)
        ))
    })?;
    let (parts, body) = response.into_parts();
    let body = match Limited::new(body, MAX_RESPONSE_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if parts.status == StatusCode::OK => {
            tracing::debug!(error = %e, "could not read the Track API's answer body");
            Bytes::new()
        }
        Err(e) => {
            return Err(ConsumeError::retryable(format!(
                "Application Insights at {url} answered HTTP {}, and reading the answer \
                 failed: {e}",
                parts.status.as_u16()
            )));
        }
    };
    Ok(RawAnswer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn url() -> Uri {
        Uri::from_static("http://127.0.0.1:1/v2.1/track")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn bodies_are_a_gzipped_json_array() {
        let body = encode_body([r#"{"a":1}"#, r#"{"b":2}"#]).unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, r#"[{"a":1},{"b":2}]"#);
        let empty = encode_body([]).unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&empty[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "[]");
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn statuses() {
        let now = SystemTime::now();
        let none = HeaderMap::new();
        let c = |code, h: &HeaderMap, body: &[u8]| classify(&url(), status(code), h, body, 3, now);
        assert_eq!(c(200, &none, b""), Ok(Answer::Accepted));
        assert_eq!(c(200, &none, b"not json"), Ok(Answer::Accepted));
        for code in [408, 500, 502, 504, 429, 439, 503] {
            let e = c(code, &none, b"").unwrap_err();
            assert!(!e.is_permanent(), "{code}");
            assert_eq!(e.throttle(), None, "{code}");
            assert!(e.message().contains(&format!("HTTP {code}")), "{e}");
        }
        for code in [429, 439, 503] {
            let e = c(code, &headers(&[("retry-after", "7")]), b"").unwrap_err();
            assert_eq!(e.throttle(), Some(Duration::from_secs(7)), "{code}");
            let date = httpdate::fmt_http_date(now + Duration::from_secs(40));
            let e = c(code, &headers(&[("retry-after", &date)]), b"").unwrap_err();
            let d = e.throttle().unwrap();
            assert!(
                d > Duration::from_secs(30) && d <= Duration::from_secs(40),
                "{d:?}"
            );
        }
        // Retry-After on a status that is not a throttle is not one.
        let e = c(500, &headers(&[("retry-after", "7")]), b"").unwrap_err();
        assert_eq!(e.throttle(), None);
        for code in [400, 404, 413] {
            assert!(c(code, &none, b"").unwrap_err().is_permanent(), "{code}");
        }
        let body = br#"{"itemsReceived":3,"itemsAccepted":0,"errors":[{"index":0,"statusCode":400,"message":"Field 'time' on type 'Envelope' is required"}]}"#;
        let e = c(400, &none, body).unwrap_err();
        assert!(
            e.message().contains("HTTP 400 (bad request): Field 'time'"),
            "{e}"
        );
        for code in [401, 403] {
            let e = c(code, &none, b"").unwrap_err();
            assert!(e.is_permanent());
            assert!(e.message().contains("instrumentation key"), "{e}");
            assert!(
                e.message().contains(if code == 401 {
                    "Entra ID"
                } else {
                    "Monitoring Metrics Publisher"
                }),
                "{e}"
            );
        }
    }

    #[test]
    fn partial_success() {
        let now = SystemTime::now();
        let body = br#"{"itemsReceived":4,"itemsAccepted":1,"errors":[
            {"index":3,"statusCode":500,"message":"Internal"},
            {"index":1,"statusCode":429,"message":"Throttled"},
            {"index":2,"statusCode":400,"message":"Invalid"},
            {"index":9,"statusCode":400,"message":"not ours"}]}"#;
        let a = classify(
            &url(),
            status(206),
            &headers(&[("retry-after", "5")]),
            body,
            4,
            now,
        );
        let Ok(Answer::Partial { errors, throttle }) = a else {
            panic!("{a:?}")
        };
        let idx: Vec<(usize, u16)> = errors.iter().map(|e| (e.index, e.status_code)).collect();
        assert_eq!(idx, [(1, 429), (2, 400), (3, 500)]);
        assert_eq!(throttle, Some(Duration::from_secs(5)));
        let clean = br#"{"itemsReceived":2,"itemsAccepted":2,"errors":[]}"#;
        assert_eq!(
            classify(&url(), status(206), &HeaderMap::new(), clean, 2, now),
            Ok(Answer::Accepted)
        );
        let e = classify(&url(), status(206), &HeaderMap::new(), b"<html>", 2, now).unwrap_err();
        assert!(!e.is_permanent());
        assert!(
            RETRYABLE_ITEM_STATUSES
                .iter()
                .all(|s| is_retryable_item(*s))
        );
        assert!(!is_retryable_item(400) && !is_retryable_item(206));
    }
}
