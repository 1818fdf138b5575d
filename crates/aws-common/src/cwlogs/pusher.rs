//! The CloudWatch Logs pusher `awscloudwatchlogs` and `awsemf` send through: one
//! CloudWatch Logs client per exporter, the streams it has made sure of, and the
//! calls.
//!
//! A [`PushRequest`] is the PutLogEvents requests one queued batch became
//! ([`LogsPusher::prepare`] splits and counts). [`LogsPusher::push`] sends them in
//! order and remembers which AWS took, so a retry (the exporter helper's) sends only
//! the ones still pending.
//!
//! **Groups and streams.** Before the first PutLogEvents to a stream the pusher calls
//! `CreateLogStream`; when AWS answers `ResourceNotFoundException` (no such group) it
//! calls `CreateLogGroup` with the configured tags, `PutRetentionPolicy` when
//! `log_retention` is set (so retention applies only to groups stratus created), and
//! `CreateLogStream` again. `ResourceAlreadyExistsException` counts as success. The
//! stream is then remembered for the life of the process. A create call refused for
//! good (say the role may put events but not create streams) is logged once and the
//! events are put anyway, as upstream does: the stream may exist already. Bad
//! credentials (`UnrecognizedClientException`, a bad signature, an expired token) are
//! the exception: the attempt fails there, permanently, without a PutLogEvents that
//! would fail the same way. When
//! PutLogEvents answers `ResourceNotFoundException` (the group or stream was deleted
//! while stratus ran), the stream is forgotten, created again, and the events put
//! once more in the same attempt.
//!
//! **Counts.** Events dropped before sending (outside AWS's time window, empty) are
//! counted in `stratus_exporter_cloudwatch_logs_dropped_events{exporter,reason}`
//! (`too_old`, `too_new`, `empty`, and `rejected` for the ones AWS listed in
//! `RejectedLogEventsInfo`), truncated ones in
//! `stratus_exporter_cloudwatch_logs_truncated_events`, and created groups and
//! streams in `stratus_exporter_cloudwatch_logs_created{exporter,resource}`. Drops are
//! logged at warn level at most once a minute.
//!
//! Upstream: `internal/aws/cwlogs/cwlog_client.go` (`CreateStream`, `PutLogEvents`) at
//! 1022aee and `pusher.go` at 45af4ed. Upstream creates the stream at the first push
//! even on error and does not recreate it when PutLogEvents finds it gone unless the
//! error is `ResourceNotFoundException`; the same here.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use stratus_core::ConsumeError;
use stratus_core::factory::BuildContext;
use stratus_core::telemetry::Counter;

use super::{PutLogEventsRequest, Split, SplitCounts, StreamBatches, StreamKey};
use crate::errors::{Reason, classify_sdk_error};
use crate::session::{AuthReporter, AwsSessionConfig};

/// What the pusher applies to the log groups it creates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupSettings {
    /// Retention in days for a group stratus creates; `0` leaves AWS's default (never
    /// expire).
    pub retention_days: i64,
    /// Tags for a group stratus creates.
    pub tags: BTreeMap<String, String>,
}

/// The PutLogEvents requests of one batch, and which of them AWS has taken; kept
/// across attempts.
#[derive(Debug)]
pub struct PushRequest {
    requests: Vec<PutLogEventsRequest>,
    done: Mutex<Vec<bool>>,
}

impl PushRequest {
    /// A request of `requests`, none sent yet.
    pub fn new(requests: Vec<PutLogEventsRequest>) -> Self {
        let done = Mutex::new(vec![false; requests.len()]);
        PushRequest { requests, done }
    }

    /// The PutLogEvents requests, in sending order.
    pub fn requests(&self) -> &[PutLogEventsRequest] {
        &self.requests
    }

    /// Indexes of the requests AWS has not taken yet.
    pub fn pending(&self) -> Vec<usize> {
        let done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        (0..self.requests.len()).filter(|&i| !done[i]).collect()
    }

    /// Events of the requests AWS has taken so far: what an exporter whose items are
    /// one event each reports as sent (the exporter helper's `Sender::accepted_items`).
    pub fn taken_events(&self) -> usize {
        let done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        self.requests
            .iter()
            .zip(done.iter())
            .filter(|(_, d)| **d)
            .map(|(r, _)| r.len())
            .sum()
    }

    fn mark_done(&self, i: usize) {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        done[i] = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cwlogs::Event;

    #[test]
    fn taken_events_count_only_the_requests_aws_took() {
        let key = StreamKey::new("g", "s");
        let request = |n: usize| PutLogEventsRequest {
            key: key.clone(),
            events: (0..n).map(|i| Event::new(1, format!("e{i}"))).collect(),
        };
        let push = PushRequest::new(vec![request(3), request(2)]);
        assert_eq!(push.taken_events(), 0);
        push.mark_done(1);
        assert_eq!(push.taken_events(), 2);
        assert_eq!(push.pending(), vec![0]);
        push.mark_done(0);
        assert_eq!(push.taken_events(), 5);
    }
}

#[derive(Debug, Clone)]
struct PusherMetrics {
    too_old: Counter,
    too_new: Counter,
    empty: Counter,
    rejected: Counter,
    truncated: Counter,
    created_groups: Counter,
    created_streams: Counter,
}

/// Lets a line through once per interval (the drop warnings).
#[derive(Debug)]
struct Every {
    interval: Duration,
    last: Mutex<Option<std::time::Instant>>,
}

impl Every {
    fn due(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        match *last {
            Some(t) if now.duration_since(t) < self.interval => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }
}

/// The CloudWatch Logs side of an exporter; see the module docs.
pub struct LogsPusher {
    id: String,
    client: aws_sdk_cloudwatchlogs::Client,
    sdk: SdkConfig,
    session: AwsSessionConfig,
    group: GroupSettings,
    /// Streams made sure of (created, found, or a create refused for good).
    ready: Mutex<HashSet<StreamKey>>,
    auth: AuthReporter,
    create_refused: AuthReporter,
    metrics: PusherMetrics,
    drop_log: Every,
}

/// The AWS operation that sends events.
pub const PUT_LOG_EVENTS: &str = "PutLogEvents";

impl LogsPusher {
    /// The pusher of exporter `ctx.id`, on one client built from `sdk` (the session's
    /// `session::load`), creating groups with `group`.
    pub fn new(
        ctx: &BuildContext,
        session: AwsSessionConfig,
        sdk: SdkConfig,
        group: GroupSettings,
    ) -> Self {
        let id = ctx.id.to_string();
        let r = &ctx.telemetry;
        let dropped = |reason: &str| {
            r.counter(
                "stratus_exporter_cloudwatch_logs_dropped_events",
                "Log events not sent to CloudWatch Logs: outside the 14-days-back / \
                 2-hours-ahead window, empty, or rejected by AWS.",
                &[("exporter", id.as_str()), ("reason", reason)],
            )
        };
        let created = |resource: &str| {
            r.counter(
                "stratus_exporter_cloudwatch_logs_created",
                "Log groups and streams the exporter created.",
                &[("exporter", id.as_str()), ("resource", resource)],
            )
        };
        let metrics = PusherMetrics {
            too_old: dropped("too_old"),
            too_new: dropped("too_new"),
            empty: dropped("empty"),
            rejected: dropped("rejected"),
            truncated: r.counter(
                "stratus_exporter_cloudwatch_logs_truncated_events",
                "Log events cut to CloudWatch Logs' 256 KiB limit (sent, ending in \
                 [Truncated...]).",
                &[("exporter", id.as_str())],
            ),
            created_groups: created("log_group"),
            created_streams: created("log_stream"),
        };
        LogsPusher {
            client: aws_sdk_cloudwatchlogs::Client::new(&sdk),
            sdk,
            session,
            group,
            ready: Mutex::new(HashSet::new()),
            auth: AuthReporter::new(id.clone(), "CloudWatch Logs", "logs:PutLogEvents"),
            create_refused: AuthReporter::new(
                id.clone(),
                "CloudWatch Logs",
                "logs:CreateLogGroup, logs:CreateLogStream and logs:PutRetentionPolicy",
            ),
            metrics,
            drop_log: Every {
                interval: Duration::from_secs(60),
                last: Mutex::new(None),
            },
            id,
        }
    }

    /// Splits `batches` into PutLogEvents requests with `now_ms` (Unix milliseconds)
    /// as the present, counting and logging what was truncated or dropped.
    pub fn prepare(&self, batches: StreamBatches, now_ms: i64) -> PushRequest {
        let Split { requests, counts } = batches.split(now_ms);
        self.count(&counts);
        PushRequest::new(requests)
    }

    /// Counts (and logs, at most once a minute) what a split truncated or dropped:
    /// for an exporter that splits on its own ([`split_tagged`](super::split_tagged))
    /// before it calls [`LogsPusher::prepare`].
    pub fn count(&self, counts: &SplitCounts) {
        self.metrics.truncated.add(counts.truncated as u64);
        self.metrics.too_old.add(counts.too_old as u64);
        self.metrics.too_new.add(counts.too_new as u64);
        self.metrics.empty.add(counts.empty as u64);
        if counts.dropped() > 0 && self.drop_log.due() {
            tracing::warn!(
                exporter = %self.id,
                too_old = counts.too_old,
                too_new = counts.too_new,
                empty = counts.empty,
                "log events dropped: CloudWatch Logs takes only events from the last 14 days \
                 up to 2 hours ahead, with a message (logged at most once a minute; counted in \
                 stratus_exporter_cloudwatch_logs_dropped_events)"
            );
        }
    }

    /// Sends the pending requests of `request` in order, marking each one AWS took.
    /// Stops at the first failure, which is returned; the requests after it stay
    /// pending for the retry.
    pub async fn push(&self, request: &PushRequest) -> Result<(), ConsumeError> {
        for i in request.pending() {
            self.put(&request.requests[i]).await?;
            request.mark_done(i);
        }
        Ok(())
    }

    fn is_ready(&self, key: &StreamKey) -> bool {
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(key)
    }

    fn set_ready(&self, key: &StreamKey, ready: bool) {
        let mut set = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        if ready {
            set.insert(key.clone());
        } else {
            set.remove(key);
        }
    }

    /// One PutLogEvents call, making sure of the stream first.
    async fn put(&self, request: &PutLogEventsRequest) -> Result<(), ConsumeError> {
        if !self.is_ready(&request.key) {
            self.ensure_stream(&request.key).await?;
        }
        match self.put_events(request).await {
            Err((_, Reason::NotFound)) => {
                tracing::info!(
                    exporter = %self.id,
                    stream = %request.key,
                    "the log group or stream is gone; creating it again"
                );
                self.set_ready(&request.key, false);
                self.ensure_stream(&request.key).await?;
                self.put_events(request).await.map_err(|(e, _)| e)
            }
            other => other.map_err(|(e, _)| e),
        }
    }

    async fn put_events(
        &self,
        request: &PutLogEventsRequest,
    ) -> Result<(), (ConsumeError, Reason)> {
        let mut events = Vec::with_capacity(request.events.len());
        for e in &request.events {
            let event = InputLogEvent::builder()
                .timestamp(e.timestamp_ms)
                .message(e.message.clone())
                .build()
                .map_err(|err| {
                    (
                        ConsumeError::permanent(format!("{PUT_LOG_EVENTS}: {err}")),
                        Reason::Validation,
                    )
                })?;
            events.push(event);
        }
        let answer = self
            .client
            .put_log_events()
            .log_group_name(&request.key.log_group_name)
            .log_stream_name(&request.key.log_stream_name)
            .set_log_events(Some(events))
            .send()
            .await;
        let output = match answer {
            Ok(output) => output,
            Err(e) => {
                let (error, reason) = classify_sdk_error(PUT_LOG_EVENTS, &e);
                if reason.is_auth() {
                    self.auth
                        .report(&self.session, &self.sdk, &error, reason)
                        .await;
                }
                return Err((error, reason));
            }
        };
        if let Some(info) = output.rejected_log_events_info() {
            let n = request.events.len() as i64;
            let mut rejected = 0i64;
            // Indexes are inclusive ends of the too-new start, too-old and expired
            // ranges (AWS's API reference).
            if let Some(i) = info.too_new_log_event_start_index().map(i64::from) {
                rejected += (n - i).max(0);
            }
            if let Some(i) = info.too_old_log_event_end_index().map(i64::from) {
                rejected += (i + 1).min(n).max(0);
            }
            if let Some(i) = info.expired_log_event_end_index().map(i64::from) {
                rejected = rejected.max((i + 1).min(n));
            }
            if rejected > 0 {
                self.metrics.rejected.add(rejected as u64);
                tracing::warn!(
                    exporter = %self.id,
                    stream = %request.key,
                    rejected,
                    "CloudWatch Logs rejected log events as too old, too new or expired"
                );
            }
        }
        Ok(())
    }

    /// `CreateLogStream`, creating the group first when it is missing; remembers the
    /// stream. A create refused for good is reported once and the stream treated as
    /// ready (PutLogEvents tells whether it exists).
    async fn ensure_stream(&self, key: &StreamKey) -> Result<(), ConsumeError> {
        match self.create_stream(key).await {
            Ok(()) => {}
            Err((_, Reason::NotFound)) => {
                self.create_group(key).await?;
                match self.create_stream(key).await {
                    Ok(()) => {}
                    Err((e, r)) => self.create_failed(e, r).await?,
                }
            }
            Err((e, r)) => self.create_failed(e, r).await?,
        }
        self.set_ready(key, true);
        Ok(())
    }

    /// A retryable create failure fails the attempt, and so do bad credentials (the
    /// PutLogEvents would fail the same way: one request, one report, not a second
    /// call); any other permanent one (say `AccessDenied` for a role that may put
    /// events but not create streams) is reported once and passed over.
    async fn create_failed(&self, error: ConsumeError, reason: Reason) -> Result<(), ConsumeError> {
        if reason.is_retryable() {
            return Err(error);
        }
        if reason == Reason::Auth {
            self.auth
                .report(&self.session, &self.sdk, &error, reason)
                .await;
            return Err(error);
        }
        self.create_refused
            .report(&self.session, &self.sdk, &error, reason)
            .await;
        Ok(())
    }

    async fn create_stream(&self, key: &StreamKey) -> Result<(), (ConsumeError, Reason)> {
        let answer = self
            .client
            .create_log_stream()
            .log_group_name(&key.log_group_name)
            .log_stream_name(&key.log_stream_name)
            .send()
            .await;
        match answer {
            Ok(_) => {
                self.metrics.created_streams.add(1);
                tracing::info!(exporter = %self.id, stream = %key, "created log stream");
                Ok(())
            }
            Err(e) => match classify_sdk_error("CreateLogStream", &e) {
                (_, Reason::AlreadyExists) => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn create_group(&self, key: &StreamKey) -> Result<(), ConsumeError> {
        let mut create = self
            .client
            .create_log_group()
            .log_group_name(&key.log_group_name);
        for (k, v) in &self.group.tags {
            create = create.tags(k, v);
        }
        match create.send().await {
            Ok(_) => {
                self.metrics.created_groups.add(1);
                tracing::info!(exporter = %self.id, log_group = %key.log_group_name, "created log group");
            }
            Err(e) => match classify_sdk_error("CreateLogGroup", &e) {
                // Someone else created it meanwhile: their retention stands.
                (_, Reason::AlreadyExists) => return Ok(()),
                (e, r) => return self.create_failed(e, r).await,
            },
        }
        if self.group.retention_days > 0 {
            let days = i32::try_from(self.group.retention_days).unwrap_or(i32::MAX);
            let answer = self
                .client
                .put_retention_policy()
                .log_group_name(&key.log_group_name)
                .retention_in_days(days)
                .send()
                .await;
            if let Err(e) = answer {
                let (error, reason) = classify_sdk_error("PutRetentionPolicy", &e);
                // The group exists now; a retention that did not apply is reported
                // and the events still go.
                tracing::warn!(exporter = %self.id, log_group = %key.log_group_name, error = %error, reason = %reason, "cannot set the retention of the new log group");
            }
        }
        Ok(())
    }
}
