//! The sender: rows → request bodies under the API's size limit → POST, and the
//! classification of Azure's answers.

use std::io::{Read as _, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{
    ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER,
};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use stratus_azure_common::http::HttpClient;
use stratus_azure_common::{Clock, MONITOR_SCOPE, SystemClock, TokenProvider};
use stratus_core::confval::Secret;
use stratus_core::{ComponentError, ConsumeError, Host, Telemetry};
use stratus_exporter_helper::Sender;

use crate::config::{Api, AzureLogAnalyticsConfig};
use crate::rows::rows;
use crate::sharedkey;

/// Logs Ingestion API: the largest uncompressed body, in bytes. Microsoft's client
/// (`azure-monitor-ingestion`, `_helpers.py`: `MAX_CHUNK_SIZE_BYTES = 1024 * 1024`) cuts uploads at
/// 1 MiB of JSON; the service limit is 1 MB per call.
pub const LOGS_INGESTION_MAX_BODY: usize = 1024 * 1024;
/// Data Collector API: the largest body, in bytes (30 MB per post, Microsoft's docs;
/// Vector's `MAX_BATCH_SIZE`).
pub const DATA_COLLECTOR_MAX_BODY: usize = 30 * 1000 * 1000;
/// The largest response body read, in bytes.
const MAX_RESPONSE: usize = 64 * 1024;

/// The retirement notice of the Data Collector API, logged once at start.
pub const RETIREMENT_WARNING: &str = "the Azure Monitor HTTP Data Collector API was retired \
    on 2026-09-14 and may stop accepting data: move to the Logs Ingestion API by creating a \
    data collection endpoint and rule (deploy/azure/ has an ARM template) and setting \
    `endpoint` (the DCE), `dcr_immutable_id`, `stream_name` and `authentication` instead of \
    `workspace_id`, `workspace_key` and `log_type`; sending through the Data Collector API \
    for now";

/// One request: the batch's rows, and how far it got. A body the service refused as
/// too large (413) is cut smaller and the rows already delivered are not sent again
/// on a retry.
#[derive(Debug)]
pub struct RowsRequest {
    /// The serialised rows (JSON objects).
    pub rows: Vec<String>,
    delivered: Mutex<usize>,
    limit: AtomicUsize,
}

impl RowsRequest {
    /// A request for `rows`, cut into bodies of at most `limit` bytes.
    pub fn new(rows: Vec<String>, limit: usize) -> Self {
        RowsRequest {
            rows,
            delivered: Mutex::new(0),
            limit: AtomicUsize::new(limit),
        }
    }

    /// Rows already delivered.
    pub fn delivered(&self) -> usize {
        *self.delivered.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How many of `sizes` (row lengths in bytes) fit in one JSON array body of at most
/// `limit` bytes, at least one.
pub fn fits(sizes: impl IntoIterator<Item = usize>, limit: usize) -> usize {
    let mut total = 2; // [ ]
    let mut n = 0;
    for s in sizes {
        let add = s + usize::from(n > 0);
        if n > 0 && total + add > limit {
            break;
        }
        total += add;
        n += 1;
    }
    n
}

/// A JSON array of rows.
pub fn json_array<'a>(rows: impl IntoIterator<Item = &'a String>) -> Vec<u8> {
    let mut body = Vec::with_capacity(4096);
    body.push(b'[');
    for (i, r) in rows.into_iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(r.as_bytes());
    }
    body.push(b']');
    body
}

enum Auth {
    SharedKey {
        workspace_id: String,
        key: Secret,
        log_type: String,
        time_field: String,
    },
    Bearer(Box<TokenProvider>),
}

/// The `azureloganalytics` sender.
pub struct LogAnalyticsSender {
    id: String,
    api: Api,
    url: String,
    auth: Auth,
    client: HttpClient,
    clock: Arc<dyn Clock>,
    max_body: usize,
}

impl std::fmt::Debug for LogAnalyticsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogAnalyticsSender")
            .field("id", &self.id)
            .field("api", &self.api)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn retry_after(headers: &http::HeaderMap, now: SystemTime) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::default(),
    );
    e.write_all(body)?;
    e.finish()
}

/// The start of an error answer, decompressed when it says gzip, for a message.
fn snippet(encoding: Option<&HeaderValue>, body: &[u8]) -> String {
    let mut text = Vec::new();
    let decoded = match encoding.and_then(|v| v.to_str().ok()) {
        Some("gzip") => flate2::read::GzDecoder::new(body)
            .take(4096)
            .read_to_end(&mut text)
            .is_ok(),
        Some("deflate") => flate2::read::ZlibDecoder::new(body)
            .take(4096)
            .read_to_end(&mut text)
            .is_ok(),
        _ => false,
    };
    let bytes = if decoded { &text[..] } else { body };
    String::from_utf8_lossy(bytes)
        .chars()
        .take(300)
        .collect::<String>()
        .trim()
        .to_string()
}

impl LogAnalyticsSender {
    /// Builds the sender from a validated config (no I/O).
    pub fn new(
        id: String,
        config: &AzureLogAnalyticsConfig,
        client: HttpClient,
    ) -> Result<Self, ComponentError> {
        let fail = |m: String| ComponentError::new(format!("exporter {id}: {m}"));
        let api = config.api();
        let (auth, max_body) = match api {
            Api::DataCollector => (
                Auth::SharedKey {
                    workspace_id: config.workspace_id.trim().to_string(),
                    key: config.workspace_key.clone(),
                    log_type: config.log_type.clone(),
                    time_field: config.time_generated_field.clone(),
                },
                DATA_COLLECTOR_MAX_BODY,
            ),
            Api::LogsIngestion => {
                let auth = config.authentication.as_ref().ok_or_else(|| {
                    fail("authentication: is required with `dcr_immutable_id`".into())
                })?;
                let tokens = TokenProvider::new(auth, MONITOR_SCOPE, client.clone())
                    .map_err(|e| fail(e.to_string()))?;
                (Auth::Bearer(Box::new(tokens)), LOGS_INGESTION_MAX_BODY)
            }
        };
        Ok(LogAnalyticsSender {
            id: id.clone(),
            api,
            url: config.url(),
            auth,
            client,
            clock: Arc::new(SystemClock),
            max_body,
        })
    }

    /// Replaces the clock used for `x-ms-date`, `Retry-After` dates and token expiry
    /// (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        if let Auth::Bearer(t) = self.auth {
            self.auth = Auth::Bearer(Box::new(t.with_clock(clock.clone())));
        }
        self.clock = clock;
        self
    }

    /// Replaces the largest body size (tests).
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The API this sender speaks.
    pub fn api(&self) -> Api {
        self.api
    }

    async fn post(&self, body: Vec<u8>) -> Result<(), Outcome> {
        let mut req = Request::builder().method("POST").uri(self.url.as_str());
        let body = match &self.auth {
            Auth::SharedKey {
                workspace_id,
                key,
                log_type,
                time_field,
            } => {
                let date = httpdate::fmt_http_date(self.clock.now());
                let authorization = sharedkey::authorization(workspace_id, key, body.len(), &date)
                    .map_err(|m| Outcome::Fail(ConsumeError::permanent(m)))?;
                let mut auth = HeaderValue::from_str(&authorization).map_err(|_| {
                    Outcome::Fail(ConsumeError::permanent("bad Authorization header"))
                })?;
                auth.set_sensitive(true);
                req = req
                    .header(CONTENT_TYPE, "application/json")
                    .header("Log-Type", log_type.as_str())
                    .header("x-ms-date", date)
                    .header("time-generated-field", time_field.as_str())
                    .header(AUTHORIZATION, auth);
                body
            }
            Auth::Bearer(tokens) => {
                let token = tokens.token().await.map_err(|e| {
                    Outcome::Fail(if e.is_retryable() {
                        ConsumeError::retryable(e.to_string())
                    } else {
                        ConsumeError::permanent(e.to_string())
                    })
                })?;
                let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.token.expose()))
                    .map_err(|_| {
                    Outcome::Fail(ConsumeError::permanent(
                        "the access token is not a header value",
                    ))
                })?;
                auth.set_sensitive(true);
                req = req
                    .header(ACCEPT_ENCODING, "gzip, deflate")
                    .header(ACCEPT, "application/json")
                    .header(CONTENT_ENCODING, "gzip")
                    .header(CONTENT_TYPE, "application/json")
                    .header(AUTHORIZATION, auth);
                gzip(&body)
                    .map_err(|e| Outcome::Fail(ConsumeError::permanent(format!("gzip: {e}"))))?
            }
        };
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| Outcome::Fail(ConsumeError::permanent(format!("bad request: {e}"))))?;
        let resp = self.client.request(req).await.map_err(|e| {
            Outcome::Fail(ConsumeError::retryable(format!(
                "POST {}: {e}",
                self.url_no_query()
            )))
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = Limited::new(resp.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        self.classify(status, &headers, &body).await
    }

    fn url_no_query(&self) -> &str {
        self.url.split('?').next().unwrap_or_default()
    }

    async fn classify(
        &self,
        status: StatusCode,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<(), Outcome> {
        if status.is_success() {
            return Ok(());
        }
        let code = status.as_u16();
        let detail = snippet(headers.get(CONTENT_ENCODING), body);
        let api = match self.api {
            Api::LogsIngestion => "Logs Ingestion API",
            Api::DataCollector => "Data Collector API",
        };
        let msg = |what: &str| {
            format!(
                "{api} answered {code}: {what}{}",
                if detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({detail})")
                }
            )
        };
        Err(match code {
            413 => Outcome::TooLarge,
            429 | 503 => Outcome::Fail(match retry_after(headers, self.clock.now()) {
                Some(d) => ConsumeError::throttled(msg("throttled"), d),
                None => ConsumeError::retryable(msg("throttled")),
            }),
            401 | 403 => {
                if let Auth::Bearer(t) = &self.auth {
                    t.invalidate().await;
                }
                Outcome::Fail(ConsumeError::permanent(match self.api {
                    Api::LogsIngestion if code == 401 => msg(
                        "the access token was not accepted; check that authentication is for \
                         the right tenant and cloud and the token scope is \
                         https://monitor.azure.com/.default",
                    ),
                    Api::LogsIngestion => msg(
                        "the identity may not write to this rule; grant it the \"Monitoring \
                         Metrics Publisher\" role on the data collection rule (it can take 30 \
                         minutes to apply) and check dcr_immutable_id",
                    ),
                    Api::DataCollector => msg("check workspace_id and workspace_key"),
                }))
            }
            404 => Outcome::Fail(ConsumeError::permanent(match self.api {
                Api::LogsIngestion => msg("check endpoint, dcr_immutable_id and stream_name"),
                Api::DataCollector => msg("check workspace_id and endpoint"),
            })),
            400 => Outcome::Fail(ConsumeError::permanent(msg("the rows were rejected"))),
            408 | 500..=599 => Outcome::Fail(ConsumeError::retryable(msg("will retry"))),
            _ => Outcome::Fail(ConsumeError::permanent(msg("unexpected answer"))),
        })
    }
}

enum Outcome {
    TooLarge,
    Fail(ConsumeError),
}

#[async_trait]
impl Sender for LogAnalyticsSender {
    type Request = RowsRequest;

    /// Cuts a batch so each part's rows fit one body under the API's limit, so each body
    /// is queued and retried on its own.
    fn split(&self, mut data: Telemetry) -> Vec<Telemetry> {
        let sizes: Vec<usize> = rows(&data.payload).iter().map(String::len).collect();
        let mut parts = Vec::new();
        let mut at = 0;
        while at < sizes.len() {
            let n = fits(sizes[at..].iter().copied(), self.max_body);
            at += n;
            if at >= sizes.len() {
                break;
            }
            let front = data.payload.split_front(n);
            parts.push(Telemetry::with_metadata(front, data.metadata.clone()));
        }
        parts.push(data);
        parts
    }

    fn encode(&self, data: Telemetry) -> Result<RowsRequest, ConsumeError> {
        Ok(RowsRequest::new(rows(&data.payload), self.max_body))
    }

    async fn send(&self, request: &RowsRequest) -> Result<(), ConsumeError> {
        loop {
            let start = request.delivered();
            if start >= request.rows.len() {
                return Ok(());
            }
            let limit = request.limit.load(Ordering::Relaxed);
            let n = fits(request.rows[start..].iter().map(String::len), limit);
            let chunk = &request.rows[start..start + n];
            let body = json_array(chunk);
            match self.post(body).await {
                Ok(()) => {
                    *request.delivered.lock().unwrap_or_else(|e| e.into_inner()) = start + n;
                }
                Err(Outcome::TooLarge) if n > 1 => {
                    let size = json_array(chunk).len();
                    tracing::debug!(exporter = %self.id, rows = n, bytes = size, "413: sending smaller bodies");
                    request.limit.store((size / 2).max(1), Ordering::Relaxed);
                }
                Err(Outcome::TooLarge) => {
                    return Err(ConsumeError::permanent(format!(
                        "one row of {} bytes is larger than the service accepts (413)",
                        chunk[0].len()
                    )));
                }
                Err(Outcome::Fail(e)) => return Err(e),
            }
        }
    }

    async fn start(&self, _host: &Host) -> Result<(), ComponentError> {
        if self.api == Api::DataCollector {
            tracing::warn!(exporter = %self.id, "{RETIREMENT_WARNING}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_fit_the_limit() {
        // [a,b] = 2 + 1 + 1 + 1
        assert_eq!(fits([1, 1, 1], 5), 2);
        assert_eq!(fits([10], 5), 1); // one row always goes
        assert_eq!(fits([1, 1], 100), 2);
        let rows = vec!["{}".to_string(), "{\"a\":1}".to_string()];
        assert_eq!(json_array(&rows), b"[{},{\"a\":1}]");
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut h = http::HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(now + Duration::from_secs(30))).unwrap(),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
    }
}
