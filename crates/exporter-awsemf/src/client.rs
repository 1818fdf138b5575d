//! The `awsemf` exporter's [`Sender`]: a batch of metrics becomes EMF log events
//! (encode), sent with PutLogEvents through the shared CloudWatch Logs pusher of
//! `aws-common` (send), or written to standard output with `output_destination:
//! stdout`.
//!
//! **The translation is stateful, so it runs once per batch.** Cumulative sums are
//! turned into deltas against the previous value of each series, which the
//! translator keeps. [`Sender::encode`] runs once per queued batch and the helper
//! re-sends the same request on retry, so the translation (and the delta state)
//! advances exactly once per batch, however many attempts the batch takes. The
//! request holds the events already grouped by log stream, with the placeholders of
//! `log_group_name` / `log_stream_name` filled by the translator, and cut at AWS's
//! limits by [`LogsPusher::prepare`] into one or more PutLogEvents calls; its
//! done-mask makes a retry resend only the calls AWS has not taken.
//!
//! **Why there is no [`Sender::split`].** The helper calls `split` *before*
//! queueing, on OTLP data: to cut a batch at PutLogEvents limits it would have to
//! know the events, that is, translate, and translating there and again in `encode`
//! would advance the delta state twice (the second translation of a cumulative
//! point would see its own value as the baseline and send a delta of 0). Cutting the
//! OTLP batch by data points instead cannot know the event sizes, and a cut between
//! points of one event group would split an EMF event in two. So a batch is one
//! queued request; within it the done-mask keeps retries from resending what AWS
//! took. What this gives up: with a persistent queue, a crash between two
//! PutLogEvents calls of one batch re-sends its earlier calls after the restart
//! (and the delta state starts empty then, as after any restart).
//!
//! **`output_destination: stdout`** prints each event's JSON on its own line, as
//! upstream's `fmt.Println` does, and builds no AWS client at all (no credentials,
//! no region needed). [`EmfSender::writer`] takes any writer, for tests.
//!
//! **Counters** beyond the helper's and the pusher's:
//! `stratus_exporter_awsemf_dropped_data_points{exporter,reason}` (`invalid`: no
//! value, NaN or ±Inf, as upstream drops them; `unencodable`: events that could not
//! be written as JSON) and `stratus_exporter_awsemf_evicted_series` (series the
//! bounded delta state forgot because it was full).

use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_config::SdkConfig;
use stratus_aws_common::cwlogs::pusher::{LogsPusher, PushRequest};
use stratus_aws_common::cwlogs::{Event, StreamBatches, StreamKey};
use stratus_core::factory::BuildContext;
use stratus_core::telemetry::Counter;
use stratus_core::{ComponentError, ConsumeError, Payload, Telemetry};
use stratus_exporter_helper::Sender;

use crate::config::AwsEmfExporterConfig;
use crate::translator::{EmfTranslator, Translation, default_log_stream_name};

/// One batch's EMF events, ready to send and to re-send on retry.
#[derive(Debug)]
pub enum EmfRequest {
    /// PutLogEvents calls, and which of them AWS has taken.
    CloudWatch(PushRequest),
    /// EMF JSON documents, one line each.
    Lines(Vec<String>),
}

impl EmfRequest {
    /// The EMF JSON documents of the request, in sending order.
    pub fn messages(&self) -> Vec<&str> {
        match self {
            EmfRequest::CloudWatch(r) => r
                .requests()
                .iter()
                .flat_map(|p| p.events.iter().map(|e| e.message.as_str()))
                .collect(),
            EmfRequest::Lines(lines) => lines.iter().map(String::as_str).collect(),
        }
    }
}

/// Where the events go.
enum Output {
    CloudWatch(Box<LogsPusher>),
    Writer(Mutex<Box<dyn Write + Send>>),
}

#[derive(Debug, Clone)]
struct EmfMetrics {
    invalid: Counter,
    unencodable: Counter,
    evicted: Counter,
}

/// The `awsemf` exporter's [`Sender`]; see the module docs.
pub struct EmfSender {
    id: String,
    translator: EmfTranslator,
    output: Output,
    metrics: EmfMetrics,
    /// `evicted_series_total` already counted.
    evicted_seen: Mutex<u64>,
}

/// A random (version 4) UUID in its usual text form, for the default log stream
/// (upstream's `uuid.New()` per exporter).
pub fn random_uuid() -> String {
    let mut n: u128 = rand::random();
    n = (n & !(0xf << 76)) | (0x4 << 76); // version 4
    n = (n & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl EmfSender {
    /// The sender of `config` to CloudWatch Logs, on the one client built from `sdk`
    /// (the session's `session::load`).
    pub fn cloudwatch(
        ctx: &BuildContext,
        config: &AwsEmfExporterConfig,
        sdk: SdkConfig,
    ) -> Result<Self, ComponentError> {
        let pusher = LogsPusher::new(ctx, config.session(), sdk, config.group_settings());
        Self::new(ctx, config, Output::CloudWatch(Box::new(pusher)))
    }

    /// The sender of `config` writing one EMF document per line to `writer` (what
    /// `output_destination: stdout` does with standard output). No AWS client.
    pub fn writer(
        ctx: &BuildContext,
        config: &AwsEmfExporterConfig,
        writer: Box<dyn Write + Send>,
    ) -> Result<Self, ComponentError> {
        Self::new(ctx, config, Output::Writer(Mutex::new(writer)))
    }

    fn new(
        ctx: &BuildContext,
        config: &AwsEmfExporterConfig,
        output: Output,
    ) -> Result<Self, ComponentError> {
        let id = ctx.id.to_string();
        let stream = default_log_stream_name(&random_uuid());
        let translator = EmfTranslator::new(&config.emf(), stream).map_err(|problems| {
            let details: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            ComponentError::new(format!(
                "exporter {id}: invalid config: {}",
                details.join("; ")
            ))
        })?;
        let r = &ctx.telemetry;
        let dropped = |reason: &str| {
            r.counter(
                "stratus_exporter_awsemf_dropped_data_points",
                "Data points not sent as EMF: no value, NaN or ±Inf (invalid), or an event \
                 that cannot be written as JSON (unencodable).",
                &[("exporter", id.as_str()), ("reason", reason)],
            )
        };
        let metrics = EmfMetrics {
            invalid: dropped("invalid"),
            unencodable: dropped("unencodable"),
            evicted: r.counter(
                "stratus_exporter_awsemf_evicted_series",
                "Cumulative series the bounded delta state forgot because it was full (their \
                 next point is a new baseline).",
                &[("exporter", id.as_str())],
            ),
        };
        Ok(EmfSender {
            id,
            translator,
            output,
            metrics,
            evicted_seen: Mutex::new(0),
        })
    }

    /// The translator, with its delta state.
    pub fn translator(&self) -> &EmfTranslator {
        &self.translator
    }

    fn count(&self, translation: &Translation) {
        let s = &translation.stats;
        self.metrics.invalid.add(s.dropped_invalid as u64);
        self.metrics.unencodable.add(s.unencodable_events as u64);
        let mut seen = self.evicted_seen.lock().unwrap_or_else(|e| e.into_inner());
        if s.evicted_series_total > *seen {
            self.metrics.evicted.add(s.evicted_series_total - *seen);
            *seen = s.evicted_series_total;
        }
        tracing::debug!(
            exporter = %self.id,
            data_points = s.data_points,
            events = translation.events.len(),
            held_as_baseline = s.held_as_baseline,
            dropped_invalid = s.dropped_invalid,
            tracked_series = s.tracked_series,
            "metrics translated to EMF"
        );
    }
}

#[async_trait]
impl Sender for EmfSender {
    type Request = EmfRequest;

    fn encode(&self, data: Telemetry) -> Result<EmfRequest, ConsumeError> {
        let Payload::Metrics(resource_metrics) = &*data.payload else {
            return Err(ConsumeError::permanent(format!(
                "exporter {} exports metrics only, got {}",
                self.id,
                data.signal()
            )));
        };
        let now = SystemTime::now();
        let now_ms = now
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let translation = self.translator.translate(resource_metrics, now);
        self.count(&translation);
        match &self.output {
            Output::CloudWatch(pusher) => {
                let mut batches = StreamBatches::new();
                for e in translation.events {
                    let key = StreamKey {
                        log_group_name: e.log_group_name,
                        log_stream_name: e.log_stream_name,
                    };
                    batches.push(&key, Event::new(e.timestamp_ms, e.message));
                }
                Ok(EmfRequest::CloudWatch(pusher.prepare(batches, now_ms)))
            }
            Output::Writer(_) => Ok(EmfRequest::Lines(
                translation.events.into_iter().map(|e| e.message).collect(),
            )),
        }
    }

    async fn send(&self, request: &EmfRequest) -> Result<(), ConsumeError> {
        match (&self.output, request) {
            (Output::CloudWatch(pusher), EmfRequest::CloudWatch(r)) => pusher.push(r).await,
            (Output::Writer(writer), EmfRequest::Lines(lines)) => {
                if lines.is_empty() {
                    return Ok(());
                }
                let mut text = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
                for line in lines {
                    text.push_str(line);
                    text.push('\n');
                }
                let mut w = writer.lock().unwrap_or_else(|e| e.into_inner());
                // One write of whole lines; a failure is not retried, as a retry could
                // print the lines that did get out twice.
                w.write_all(text.as_bytes())
                    .and_then(|()| w.flush())
                    .map_err(|e| {
                        ConsumeError::permanent(format!("writing EMF to standard output: {e}"))
                    })
            }
            _ => Err(ConsumeError::permanent(
                "an EMF request built for another output",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_uuids_are_version_4() {
        let a = random_uuid();
        let b = random_uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{a}");
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{a}");
    }
}
