//! The `awsxray` exporter's [`Sender`]: a batch of spans becomes segment documents
//! (encode), sent with `PutTraceSegments`, at most [`MAX_SEGMENTS_PER_PUT`] per
//! call (send).
//!
//! **Unprocessed segments.** X-Ray may accept a call and still list some documents
//! in `UnprocessedTraceSegments`. Those are not sent: the request remembers which
//! documents X-Ray took, and `send` fails with a retryable error, so the exporter
//! helper's retry sends only the documents still pending (never one X-Ray already
//! took). A call that fails as a whole leaves its documents pending; the calls
//! before it stay done. The same memory makes a timed-out attempt resume where it
//! stopped.
//!
//! **Errors** are classified by [`classify_sdk_error`]: throttling, 5xx and network
//! failures are retryable, validation and access errors permanent. The first
//! authentication or access failure is logged once at error level with the identity
//! in use ([`current_identity`](stratus_aws_common::session::current_identity): profile, role, access key id prefix, never a
//! secret) and what to check; later ones only at debug level, as the helper already
//! logs failed requests.
//!
//! **Spans that do not translate** (an invalid id, a document too large even after
//! shrinking) are dropped: counted in `stratus_exporter_awsxray_dropped_spans` and
//! logged; a batch with no span left is a permanent error. Documents shrunk to fit
//! 64 KB are counted in `stratus_exporter_awsxray_shrunk_segments`, and documents
//! X-Ray left unprocessed in `stratus_exporter_awsxray_unprocessed_segments`.

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;
use aws_config::SdkConfig;
use stratus_aws_common::errors::classify_sdk_error;
use stratus_aws_common::session::{AuthReporter, AwsSessionConfig};
use stratus_core::factory::BuildContext;
use stratus_core::telemetry::Counter;
use stratus_core::{ConsumeError, Payload, Telemetry};
use stratus_exporter_helper::Sender;

use crate::config::AwsXrayConfig;
use crate::document::{MAX_SEGMENTS_PER_PUT, SegmentDocument};
use crate::translate::Translator;

/// The AWS operation this exporter calls.
pub const OPERATION: &str = "PutTraceSegments";

/// One batch's documents and which of them X-Ray has taken.
#[derive(Debug)]
pub struct XrayRequest {
    documents: Vec<SegmentDocument>,
    /// `done[i]`: X-Ray took `documents[i]`; kept across attempts.
    done: Mutex<Vec<bool>>,
}

impl XrayRequest {
    /// A request for `documents`, none sent yet.
    pub fn new(documents: Vec<SegmentDocument>) -> Self {
        let done = Mutex::new(vec![false; documents.len()]);
        XrayRequest { documents, done }
    }

    /// The documents, in span order.
    pub fn documents(&self) -> &[SegmentDocument] {
        &self.documents
    }

    /// The indexes of the documents X-Ray has not taken yet.
    pub fn pending(&self) -> Vec<usize> {
        let done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        (0..self.documents.len()).filter(|&i| !done[i]).collect()
    }

    fn mark_done(&self, indexes: impl IntoIterator<Item = usize>) {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        for i in indexes {
            done[i] = true;
        }
    }
}

/// What X-Ray said about one call's documents: the indexes it took, and the
/// unprocessed ones with their reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOutcome {
    /// Indexes (into the request) X-Ray took.
    pub taken: Vec<usize>,
    /// `"<id>: <error code> <message>"` of each unprocessed document.
    pub unprocessed: Vec<String>,
}

/// Splits one call's documents by X-Ray's `UnprocessedTraceSegments` answer, given as
/// `(id, error code, message)`. An unprocessed entry without an id cannot be matched:
/// then nothing of the call counts as taken (X-Ray deduplicates by segment id, so
/// resending the taken ones does no harm).
pub fn call_outcome(
    request: &XrayRequest,
    call: &[usize],
    unprocessed: &[(Option<&str>, Option<&str>, Option<&str>)],
) -> CallOutcome {
    let describe = |(id, code, message): &(Option<&str>, Option<&str>, Option<&str>)| {
        format!(
            "{}: {} {}",
            id.unwrap_or("(no id)"),
            code.unwrap_or("(no code)"),
            message.unwrap_or("")
        )
        .trim_end()
        .to_owned()
    };
    let described: Vec<String> = unprocessed.iter().map(describe).collect();
    if unprocessed.iter().any(|(id, _, _)| id.is_none()) {
        return CallOutcome {
            taken: Vec::new(),
            unprocessed: described,
        };
    }
    let left: HashSet<&str> = unprocessed.iter().filter_map(|(id, _, _)| *id).collect();
    let taken = call
        .iter()
        .copied()
        .filter(|&i| !left.contains(request.documents[i].id.as_str()))
        .collect();
    CallOutcome {
        taken,
        unprocessed: described,
    }
}

/// The exporter's counters beyond the helper's standard ones.
#[derive(Debug, Clone)]
struct XrayMetrics {
    dropped_spans: Counter,
    shrunk_segments: Counter,
    unprocessed_segments: Counter,
}

/// The `awsxray` exporter's [`Sender`].
pub struct XraySender {
    id: String,
    translator: Translator,
    client: aws_sdk_xray::Client,
    sdk: SdkConfig,
    session: AwsSessionConfig,
    metrics: XrayMetrics,
    auth: AuthReporter,
}

impl XraySender {
    /// The sender for `config`, on the one client built from `sdk` (the session's
    /// `session::load`), registering its counters in `ctx`.
    pub fn new(ctx: &BuildContext, config: &AwsXrayConfig, sdk: SdkConfig) -> Self {
        let id = ctx.id.to_string();
        let labels = [("exporter", id.as_str())];
        let r = &ctx.telemetry;
        let metrics = XrayMetrics {
            dropped_spans: r.counter(
                "stratus_exporter_awsxray_dropped_spans",
                "Spans dropped because they could not be translated to segment documents.",
                &labels,
            ),
            shrunk_segments: r.counter(
                "stratus_exporter_awsxray_shrunk_segments",
                "Segment documents shrunk to fit X-Ray's 64 KB limit.",
                &labels,
            ),
            unprocessed_segments: r.counter(
                "stratus_exporter_awsxray_unprocessed_segments",
                "Segment documents X-Ray returned as unprocessed (retried).",
                &labels,
            ),
        };
        XraySender {
            translator: Translator::new(&config.translator()),
            client: aws_sdk_xray::Client::new(&sdk),
            sdk,
            session: config.session(),
            metrics,
            auth: AuthReporter::new(id.clone(), "X-Ray", "xray:PutTraceSegments"),
            id,
        }
    }
}

#[async_trait]
impl Sender for XraySender {
    type Request = XrayRequest;

    fn encode(&self, data: Telemetry) -> Result<XrayRequest, ConsumeError> {
        let Payload::Traces(resource_spans) = &*data.payload else {
            return Err(ConsumeError::permanent(format!(
                "exporter {} exports traces only, got {}",
                self.id,
                data.signal()
            )));
        };
        let translation = self.translator.translate(resource_spans);
        let failed: HashSet<usize> = translation.failures.iter().map(|f| f.span).collect();
        if !failed.is_empty() {
            self.metrics.dropped_spans.add(failed.len() as u64);
            let first = &translation.failures[0];
            tracing::warn!(
                exporter = %self.id,
                dropped = failed.len(),
                spans = translation.spans,
                first_error = %first.error,
                "spans dropped: they cannot be X-Ray segment documents"
            );
        }
        let shrunk = translation.shrunk();
        if shrunk > 0 {
            self.metrics.shrunk_segments.add(shrunk as u64);
            tracing::debug!(exporter = %self.id, shrunk, "segment documents shrunk to fit 64 KB");
        }
        if translation.documents.is_empty() && translation.spans > 0 {
            return Err(ConsumeError::permanent(format!(
                "none of the {} spans could be translated to X-Ray segments: {}",
                translation.spans,
                translation
                    .failures
                    .first()
                    .map(|f| f.error.to_string())
                    .unwrap_or_default()
            )));
        }
        Ok(XrayRequest::new(translation.documents))
    }

    async fn send(&self, request: &XrayRequest) -> Result<(), ConsumeError> {
        let pending = request.pending();
        let mut unprocessed: Vec<String> = Vec::new();
        for call in pending.chunks(MAX_SEGMENTS_PER_PUT) {
            let documents: Vec<String> = call
                .iter()
                .map(|&i| request.documents[i].json.clone())
                .collect();
            let answer = self
                .client
                .put_trace_segments()
                .set_trace_segment_documents(Some(documents))
                .send()
                .await;
            let output = match answer {
                Ok(output) => output,
                Err(e) => {
                    let (error, reason) = classify_sdk_error(OPERATION, &e);
                    if reason.is_auth() {
                        self.auth
                            .report(&self.session, &self.sdk, &error, reason)
                            .await;
                    }
                    return Err(error);
                }
            };
            let left: Vec<_> = output
                .unprocessed_trace_segments()
                .iter()
                .map(|u| (u.id(), u.error_code(), u.message()))
                .collect();
            let outcome = call_outcome(request, call, &left);
            request.mark_done(outcome.taken);
            if !outcome.unprocessed.is_empty() {
                self.metrics
                    .unprocessed_segments
                    .add(outcome.unprocessed.len() as u64);
                unprocessed.extend(outcome.unprocessed);
            }
        }
        if unprocessed.is_empty() {
            return Ok(());
        }
        let total = unprocessed.len();
        unprocessed.truncate(3);
        Err(ConsumeError::retryable(format!(
            "{OPERATION}: X-Ray left {total} segment documents unprocessed (retrying only \
             those): {}",
            unprocessed.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str) -> SegmentDocument {
        SegmentDocument {
            id: id.to_owned(),
            span: 0,
            json: format!("{{\"id\":\"{id}\"}}"),
            shrunk: None,
        }
    }

    #[test]
    fn unprocessed_documents_stay_pending() {
        let request = XrayRequest::new(vec![doc("a"), doc("b"), doc("c"), doc("d")]);
        assert_eq!(request.pending(), vec![0, 1, 2, 3]);
        let outcome = call_outcome(
            &request,
            &[0, 1, 2],
            &[(Some("b"), Some("ThrottledException"), Some("slow down"))],
        );
        assert_eq!(outcome.taken, vec![0, 2]);
        assert_eq!(outcome.unprocessed, vec!["b: ThrottledException slow down"]);
        request.mark_done(outcome.taken);
        assert_eq!(request.pending(), vec![1, 3]);
    }

    #[test]
    fn an_unprocessed_entry_without_id_keeps_the_whole_call_pending() {
        let request = XrayRequest::new(vec![doc("a"), doc("b")]);
        let outcome = call_outcome(&request, &[0, 1], &[(None, Some("X"), None)]);
        assert!(outcome.taken.is_empty());
        assert_eq!(outcome.unprocessed, vec!["(no id): X"]);
    }

    #[test]
    fn a_clean_answer_takes_every_document() {
        let request = XrayRequest::new(vec![doc("a"), doc("b")]);
        let outcome = call_outcome(&request, &[0, 1], &[]);
        assert_eq!(outcome.taken, vec![0, 1]);
        assert!(outcome.unprocessed.is_empty());
    }
}
