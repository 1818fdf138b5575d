//! The plain-HTTP client the metadata detectors share.
//!
//! Metadata services (EC2 IMDS, the ECS task metadata endpoint, Azure IMDS) are
//! link-local HTTP endpoints: no TLS, and never through a proxy (the hyper client does
//! not read `HTTP_PROXY`, which is what AWS and Azure ask for). Every request is
//! bounded by a deadline; bodies are capped at [`MAX_BODY`].

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::time::Instant;

/// The largest metadata answer read, in bytes (documents are a few KiB).
pub(crate) const MAX_BODY: usize = 1 << 20;

/// Why a metadata request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HttpError {
    /// No answer before the deadline.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection could not be made or broke.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// What the client said.
        reason: String,
    },
    /// The URL is not a valid `http://` URL.
    #[error("invalid URL `{0}`")]
    InvalidUrl(String),
    /// The body could not be read (too large, connection lost).
    #[error("reading the answer from {url} failed: {reason}")]
    Body {
        /// The URL asked.
        url: String,
        /// Why.
        reason: String,
    },
}

impl HttpError {
    /// A bounded label value for metrics.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            HttpError::Timeout(_) => "timeout",
            HttpError::Unreachable { .. } => "unreachable",
            HttpError::InvalidUrl(_) => "invalid_url",
            HttpError::Body { .. } => "invalid_response",
        }
    }
}

/// An answer: status and body.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body, at most [`MAX_BODY`] bytes.
    pub body: Bytes,
}

impl Answer {
    /// The body as text (lossy), trimmed.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).trim().to_string()
    }
}

/// A small HTTP/1.1 client for metadata endpoints.
#[derive(Clone, Debug)]
pub(crate) struct MetadataClient {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl MetadataClient {
    /// A client with no proxy and no TLS.
    pub(crate) fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.enforce_http(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(5))
            .build(connector);
        MetadataClient { client }
    }

    /// Sends `method url` with `headers` and returns the answer, whatever its status;
    /// gives up at `deadline` or after `limit`, whichever comes first.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        deadline: Instant,
        limit: Option<Duration>,
    ) -> Result<Answer, HttpError> {
        let uri: http::Uri = url
            .parse()
            .map_err(|_| HttpError::InvalidUrl(url.to_string()))?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(HttpError::InvalidUrl(url.to_string()));
        }
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(Full::new(Bytes::new()))
            .map_err(|_| HttpError::InvalidUrl(url.to_string()))?;
        let now = Instant::now();
        let deadline = match limit {
            Some(limit) => deadline.min(now + limit),
            None => deadline,
        };
        let waited = deadline.saturating_duration_since(now);
        let exchange = async {
            let response =
                self.client
                    .request(request)
                    .await
                    .map_err(|e| HttpError::Unreachable {
                        url: url.to_string(),
                        reason: error_chain(&e),
                    })?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| HttpError::Body {
                    url: url.to_string(),
                    reason: e.to_string(),
                })?
                .to_bytes();
            Ok(Answer { status, body })
        };
        match tokio::time::timeout_at(deadline, exchange).await {
            Ok(result) => result,
            Err(_) => Err(HttpError::Timeout(waited)),
        }
    }
}

/// Whether `url` is `http://host[:port][/path]`.
pub(crate) fn is_plain_http_url(url: &str) -> bool {
    url.parse::<http::Uri>()
        .is_ok_and(|u| u.scheme_str() == Some("http") && u.authority().is_some())
}

/// An error and its sources, `a: b: c`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
