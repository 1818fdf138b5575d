//! The `azuremonitor` exporter's [`Sender`]: a batch becomes envelopes (encode, by
//! the translator), POSTed to the Track API as gzipped JSON arrays of at most
//! `maxbatchsize` envelopes (send), with the answer read envelope by envelope.
//!
//! **What Azure took.** A [`TrackRequest`] remembers the state of each of its
//! envelopes across attempts: pending, accepted, or rejected for good. An attempt
//! POSTs only the pending ones, each exactly once. On a `206` the envelopes Azure
//! listed with a retryable status (408, 429, 439, 500, 503) stay pending and the
//! attempt fails retryably (throttled by the answer's `Retry-After`), so the exporter
//! helper's retry resends just those; envelopes listed with another status are
//! rejected; the rest are accepted. A POST that fails as a whole leaves its envelopes
//! pending when the failure is retryable (later POSTs of the attempt are not made)
//! and rejects them when it is permanent (400). When nothing is pending any more, a
//! request with rejected envelopes fails permanently, naming the first reasons.
//!
//! **Counting.** An OTLP item (span, log record, data point) counts as sent when
//! every envelope made from it was accepted ([`Sender::accepted_items`]); items the
//! translator could not translate, and items with an envelope that was rejected or
//! still pending when retries ran out, count in `otelcol_exporter_send_failed_*`.
//! Untranslatable items are also counted in
//! `stratus_exporter_azuremonitor_dropped_items` and logged; resent envelopes in
//! `stratus_exporter_azuremonitor_resent_envelopes`.
//!
//! **401 and 403** are permanent; the error says what to check (instrumentation key,
//! connection string, Entra ID role). The first one is logged at error level with
//! that hint, later ones at debug level (the helper logs every failed batch).
//!
//! **Secrets.** The instrumentation key travels in every envelope's `iKey`, and the
//! service may quote it in its messages: every message this sender builds has it
//! replaced by `[REDACTED]`. A bearer token is sent as a sensitive header value.
//!
//! **Entra ID.** With a [`TokenProvider`] ([`AzureMonitorSender::with_token_provider`])
//! every POST carries `Authorization: Bearer <token>`. The provider (client secret,
//! managed identity, workload identity; `crates/azure-common`) asks for
//! [`Connection::entra_scope`](crate::connection::Connection::entra_scope).

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use async_trait::async_trait;
use http::Uri;
use stratus_core::confval::Secret;
use stratus_core::factory::BuildContext;
use stratus_core::telemetry::Counter;
use stratus_core::{ComponentError, ConsumeError, Telemetry};
use stratus_exporter_helper::Sender;

use crate::config::AzureMonitorConfig;
use crate::connection::Connection;
use crate::translate::{Translation, Translator};
use crate::transport::{self, Answer, HttpClient, ItemError, is_retryable_item};

/// How many rejection reasons a permanent error quotes.
const REASONS_QUOTED: usize = 3;

/// Supplies Entra ID access tokens for Application Insights: the seam for the
/// credentials of `crates/azure-common`. A provider caches its token and refreshes
/// it before it expires; `token` is called before every POST.
#[async_trait]
pub trait TokenProvider: Send + Sync + 'static {
    /// A token valid now. An error that a later try may not have (the token endpoint
    /// is down) is retryable; one that cannot go away (the credential is refused) is
    /// permanent. Messages must not hold secrets.
    async fn token(&self) -> Result<Secret, ConsumeError>;
}

/// Where one envelope stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not taken yet: sent on the next attempt.
    Pending,
    /// Azure accepted it.
    Accepted,
    /// Azure rejected it for good (or a permanent failure of its POST).
    Rejected,
}

#[derive(Debug)]
struct Progress {
    states: Vec<State>,
    /// How many envelopes were rejected, and the first reasons.
    rejected: usize,
    reasons: Vec<String>,
}

/// One batch's envelopes and what Azure did with each, kept across attempts.
#[derive(Debug)]
pub struct TrackRequest {
    envelopes: Vec<String>,
    item_of: Vec<usize>,
    items: usize,
    untranslated: Vec<usize>,
    progress: Mutex<Progress>,
}

impl TrackRequest {
    /// A request for a translation's envelopes, none sent yet.
    pub fn new(translation: Translation) -> Self {
        let Translation {
            envelopes,
            item_of,
            items,
            failures,
        } = translation;
        let progress = Progress {
            states: vec![State::Pending; envelopes.len()],
            rejected: 0,
            reasons: Vec::new(),
        };
        TrackRequest {
            envelopes,
            item_of,
            items,
            untranslated: failures.into_iter().map(|(i, _)| i).collect(),
            progress: Mutex::new(progress),
        }
    }

    fn progress(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The envelopes, in order.
    pub fn envelopes(&self) -> &[String] {
        &self.envelopes
    }

    /// The indexes of the envelopes Azure has not taken or rejected yet.
    pub fn pending(&self) -> Vec<usize> {
        let p = self.progress();
        (0..self.envelopes.len())
            .filter(|&i| p.states[i] == State::Pending)
            .collect()
    }

    /// The indexes of the envelopes Azure accepted.
    pub fn accepted(&self) -> Vec<usize> {
        let p = self.progress();
        (0..self.envelopes.len())
            .filter(|&i| p.states[i] == State::Accepted)
            .collect()
    }

    /// OTLP items every envelope of which Azure accepted (an item that needed no
    /// envelope and did not fail to translate counts too).
    pub fn accepted_items(&self) -> usize {
        let mut ok = vec![true; self.items];
        for &i in &self.untranslated {
            if let Some(slot) = ok.get_mut(i) {
                *slot = false;
            }
        }
        let p = self.progress();
        for (e, &item) in self.item_of.iter().enumerate() {
            if p.states.get(e) != Some(&State::Accepted)
                && let Some(slot) = ok.get_mut(item)
            {
                *slot = false;
            }
        }
        ok.into_iter().filter(|&b| b).count()
    }

    fn set(&self, indexes: &[usize], state: State) {
        let mut p = self.progress();
        for &i in indexes {
            p.states[i] = state;
        }
    }

    fn reject(&self, indexes: &[usize], reason: impl FnOnce() -> String) {
        let mut p = self.progress();
        for &i in indexes {
            p.states[i] = State::Rejected;
        }
        p.rejected += indexes.len();
        if p.reasons.len() < REASONS_QUOTED && !indexes.is_empty() {
            p.reasons.push(reason());
        }
    }
}

/// The exporter's counters beyond the helper's standard ones.
#[derive(Debug, Clone)]
struct AzureMetrics {
    dropped_items: Counter,
    resent_envelopes: Counter,
}

/// The `azuremonitor` exporter's [`Sender`].
pub struct AzureMonitorSender {
    id: String,
    translator: Translator,
    client: HttpClient,
    url: Uri,
    /// The instrumentation key, only to scrub it from messages.
    ikey: Secret,
    max_per_post: usize,
    token: Option<Arc<dyn TokenProvider>>,
    metrics: AzureMetrics,
    auth_reported: AtomicBool,
}

impl std::fmt::Debug for AzureMonitorSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureMonitorSender")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("max_per_post", &self.max_per_post)
            .field("entra_id", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

impl AzureMonitorSender {
    /// The sender for `config` to `connection` (from [`AzureMonitorConfig::connection`]),
    /// registering its counters in `ctx`.
    pub fn new(
        ctx: &BuildContext,
        config: &AzureMonitorConfig,
        connection: Connection,
    ) -> Result<Self, ComponentError> {
        let id = ctx.id.to_string();
        let client = transport::http_client(&connection.track_url)
            .map_err(|e| ComponentError::new(format!("exporter {id}: TLS setup failed: {e}")))?;
        let labels = [("exporter", id.as_str())];
        let r = &ctx.telemetry;
        let metrics = AzureMetrics {
            dropped_items: r.counter(
                "stratus_exporter_azuremonitor_dropped_items",
                "Spans, log records and data points dropped because they could not be \
                 translated to Application Insights envelopes.",
                &labels,
            ),
            resent_envelopes: r.counter(
                "stratus_exporter_azuremonitor_resent_envelopes",
                "Envelopes Application Insights answered with a retryable status in a 206, \
                 to be sent again.",
                &labels,
            ),
        };
        Ok(AzureMonitorSender {
            translator: Translator::new(config.translator(&connection.instrumentation_key)),
            client,
            url: connection.track_url,
            ikey: connection.instrumentation_key,
            max_per_post: config.maxbatchsize.max(1),
            token: None,
            metrics,
            auth_reported: AtomicBool::new(false),
            id,
        })
    }

    /// Sends with Entra ID bearer tokens from `provider`.
    pub fn with_token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.token = Some(provider);
        self
    }

    /// The URL envelopes are POSTed to.
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// `text` with the instrumentation key replaced by `[REDACTED]`.
    fn scrub(&self, text: &str) -> String {
        let key = self.ikey.expose().trim();
        if key.is_empty() {
            text.to_owned()
        } else {
            text.replace(key, "[REDACTED]")
        }
    }

    fn scrub_error(&self, e: ConsumeError) -> ConsumeError {
        match e {
            ConsumeError::Permanent { message } => ConsumeError::Permanent {
                message: self.scrub(&message),
            },
            ConsumeError::Retryable { message, throttle } => ConsumeError::Retryable {
                message: self.scrub(&message),
                throttle,
            },
        }
    }

    /// Logs the first 401/403 at error level with the hint, later ones at debug.
    fn report_auth(&self, error: &ConsumeError) {
        if !self.auth_reported.swap(true, Ordering::Relaxed) {
            tracing::error!(
                exporter = %self.id,
                url = %self.url,
                error = %error,
                "Application Insights refused the credentials; later refusals are logged at \
                 debug level",
            );
        } else {
            tracing::debug!(exporter = %self.id, error = %error, "Application Insights refused the credentials");
        }
    }

    /// POSTs one chunk of pending envelopes and records what Azure did with them.
    /// `Ok(Some(e))`: some stay pending (retryable `e`); `Err`: the POST failed as a
    /// whole and the attempt stops.
    async fn post_chunk(
        &self,
        request: &TrackRequest,
        chunk: &[usize],
    ) -> Result<Option<ConsumeError>, ConsumeError> {
        let body = transport::encode_body(chunk.iter().map(|&i| request.envelopes[i].as_str()))
            .map_err(|e| {
                ConsumeError::permanent(format!("compressing the envelopes failed: {e}"))
            })?;
        let token = match &self.token {
            Some(provider) => Some(provider.token().await.map_err(|e| self.scrub_error(e))?),
            None => None,
        };
        let raw = transport::post(&self.client, &self.url, body, token.as_ref()).await?;
        let answer = transport::classify(
            &self.url,
            raw.status,
            &raw.headers,
            &raw.body,
            chunk.len(),
            SystemTime::now(),
        )
        .map_err(|e| self.scrub_error(e));
        match answer {
            Ok(Answer::Accepted) => {
                request.set(chunk, State::Accepted);
                Ok(None)
            }
            Ok(Answer::Partial { errors, throttle }) => {
                Ok(self.record_partial(request, chunk, &errors, throttle))
            }
            Err(e) => {
                if !e.is_permanent() {
                    return Err(e);
                }
                let status = raw.status.as_u16();
                if status == 401 || status == 403 {
                    self.report_auth(&e);
                }
                request.reject(chunk, || e.message().to_owned());
                Err(e)
            }
        }
    }

    /// Applies a 206: listed retryable envelopes stay pending, other listed ones are
    /// rejected, the rest accepted. Returns the retryable error when some stay.
    fn record_partial(
        &self,
        request: &TrackRequest,
        chunk: &[usize],
        errors: &[ItemError],
        throttle: Option<std::time::Duration>,
    ) -> Option<ConsumeError> {
        let mut listed = vec![None; chunk.len()];
        for e in errors {
            listed[e.index] = Some(e);
        }
        let (mut accepted, mut retry, mut rejected) = (Vec::new(), Vec::new(), Vec::new());
        let mut retry_statuses: Vec<u16> = Vec::new();
        for (pos, &envelope) in chunk.iter().enumerate() {
            match listed[pos] {
                None => accepted.push(envelope),
                Some(e) if is_retryable_item(e.status_code) => {
                    retry.push(envelope);
                    if !retry_statuses.contains(&e.status_code) {
                        retry_statuses.push(e.status_code);
                    }
                }
                Some(_) => rejected.push((envelope, pos)),
            }
        }
        request.set(&accepted, State::Accepted);
        if let Some(&(_, pos)) = rejected.first() {
            let indexes: Vec<usize> = rejected.iter().map(|&(e, _)| e).collect();
            let first = listed[pos];
            let reason = || match first {
                Some(e) => self.scrub(&format!(
                    "{} envelopes rejected with status {}: {}",
                    indexes.len(),
                    e.status_code,
                    e.message
                )),
                None => String::new(),
            };
            request.reject(&indexes, reason);
        }
        if retry.is_empty() {
            return None;
        }
        self.metrics.resent_envelopes.add(retry.len() as u64);
        retry_statuses.sort_unstable();
        let statuses: Vec<String> = retry_statuses.iter().map(u16::to_string).collect();
        let message = format!(
            "Application Insights at {} answered 206 (partial success): {} of {} envelopes \
             accepted, {} rejected, {} to resend (status {})",
            self.url,
            accepted.len(),
            chunk.len(),
            rejected.len(),
            retry.len(),
            statuses.join(", ")
        );
        Some(match throttle {
            Some(delay) => ConsumeError::throttled(message, delay),
            None => ConsumeError::retryable(message),
        })
    }
}

#[async_trait]
impl Sender for AzureMonitorSender {
    type Request = TrackRequest;

    fn encode(&self, data: Telemetry) -> Result<TrackRequest, ConsumeError> {
        let translation = self.translator.translate(&data.payload);
        if let Some((_, first)) = translation.failures.first() {
            let dropped = translation.failures.len();
            self.metrics.dropped_items.add(dropped as u64);
            tracing::warn!(
                exporter = %self.id,
                dropped,
                items = translation.items,
                first_error = %self.scrub(first),
                "items dropped: they cannot be Application Insights envelopes",
            );
            if translation.envelopes.is_empty() {
                return Err(ConsumeError::permanent(format!(
                    "none of the {} items could be translated to Application Insights \
                     envelopes: {}",
                    translation.items,
                    self.scrub(first)
                )));
            }
        }
        Ok(TrackRequest::new(translation))
    }

    async fn send(&self, request: &TrackRequest) -> Result<(), ConsumeError> {
        let pending = request.pending();
        let mut retry: Option<ConsumeError> = None;
        for chunk in pending.chunks(self.max_per_post) {
            match self.post_chunk(request, chunk).await {
                Ok(None) => {}
                Ok(Some(e)) => {
                    // Keep the longest throttle of the attempt's answers.
                    retry = match retry {
                        Some(prev) if prev.throttle() >= e.throttle() => Some(prev),
                        _ => Some(e),
                    };
                }
                // A POST failed as a whole: retryable leaves the rest pending for
                // the next attempt; permanent (400, 401, 403) ends the request, as
                // later POSTs would fail the same way.
                Err(e) => return Err(e),
            }
        }
        if let Some(e) = retry {
            return Err(e);
        }
        let p = request.progress();
        if p.rejected > 0 {
            return Err(ConsumeError::permanent(format!(
                "Application Insights rejected {} of {} envelopes: {}",
                p.rejected,
                request.envelopes.len(),
                p.reasons.join("; ")
            )));
        }
        Ok(())
    }

    fn accepted_items(&self, request: &TrackRequest) -> Option<usize> {
        Some(request.accepted_items())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translation(item_of: &[usize], items: usize, failures: &[usize]) -> Translation {
        Translation {
            envelopes: item_of
                .iter()
                .enumerate()
                .map(|(i, _)| format!("{{\"n\":{i}}}"))
                .collect(),
            item_of: item_of.to_vec(),
            items,
            failures: failures.iter().map(|&i| (i, "bad".to_owned())).collect(),
        }
    }

    #[test]
    fn an_item_counts_when_all_its_envelopes_were_accepted() {
        // Item 0 has envelopes 0 and 1, item 1 has 2, item 2 failed to translate,
        // item 3 needed none.
        let r = TrackRequest::new(translation(&[0, 0, 1], 4, &[2]));
        assert_eq!(r.pending(), [0, 1, 2]);
        assert_eq!(r.accepted_items(), 1);
        r.set(&[0, 2], State::Accepted);
        assert_eq!(r.accepted_items(), 2);
        assert_eq!(r.pending(), [1]);
        r.reject(&[1], || "no".into());
        assert_eq!(r.accepted_items(), 2);
        assert!(r.pending().is_empty());
        r.set(&[1], State::Accepted);
        assert_eq!(r.accepted_items(), 3);
        assert_eq!(r.accepted(), [0, 1, 2]);
    }
}
