//! The `awscloudwatchlogs` exporter's [`Sender`], on the shared
//! [`LogsPusher`].
//!
//! **Split before queueing** ([`Sender::split`]). A batch of log records is
//! translated ([`Translator`]), grouped by destination stream (with `raw_log`, an EMF
//! body may name its own group and stream), and its events cut at AWS's PutLogEvents
//! limits ([`split_tagged`]: 10,000 events, 1,048,576 bytes counting 26 per event,
//! 24 hours from first to last, sorted by time). The *records* are then cut the same
//! way: each part holds exactly the records of one PutLogEvents request, with their
//! resource and scope. The exporter helper queues, sends, retries and (persistent
//! queue) confirms every part on its own, so a retry never resends what AWS took,
//! and `otelcol_exporter_sent_log_records` counts what was sent.
//!
//! Records whose events fall outside AWS's window (older than 14 days, more than 2
//! hours ahead) or have an empty message are **not in any part**: they are counted in
//! `stratus_exporter_cloudwatch_logs_dropped_events{reason=too_old|too_new|empty}`
//! (the pusher's counters) and logged at most once a minute. A record that cannot be
//! translated (a NaN or infinite double, as Go's `json.Marshal` refuses it) is left
//! out too, counted in the same counter with `reason="unencodable"` and logged at most
//! once a minute.
//!
//! When nothing is dropped and the batch is one request, the batch is passed on as it
//! is, without being rebuilt.
//!
//! **Encode** translates the part again and [`LogsPusher::prepare`]s it: normally one
//! PutLogEvents request (a record with no timestamp gets `now` twice, at split and at
//! encode, so a part of records near a limit may become two requests; the pusher
//! sends both and remembers which AWS took). **Send** is [`LogsPusher::push`]:
//! group and stream created on first use, recreated when deleted, errors classified
//! (throttling and 5xx retryable, validation and access permanent, an auth failure
//! reported once).

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_config::SdkConfig;
use stratus_aws_common::cwlogs::pusher::{LogsPusher, PushRequest};
use stratus_aws_common::cwlogs::{Event, SplitCounts, StreamKey, split_tagged};
use stratus_aws_common::gojson::SortedAttrs;
use stratus_core::factory::BuildContext;
use stratus_core::pdata::logs::{ResourceLogs, ScopeLogs};
use stratus_core::telemetry::Counter;
use stratus_core::{ConsumeError, Payload, Telemetry};
use stratus_exporter_helper::Sender;

use crate::config::CloudWatchLogsConfig;
use crate::translate::{Route, ScopeBody, Translator};

/// Where a record sits in its batch: resource, scope and record index.
type Origin = (u32, u32, u32);

/// Lets a line through once per interval.
#[derive(Debug)]
struct Every {
    interval: Duration,
    last: Mutex<Option<Instant>>,
}

impl Every {
    fn new(interval: Duration) -> Self {
        Every {
            interval,
            last: Mutex::new(None),
        }
    }

    fn due(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match *last {
            Some(t) if now.duration_since(t) < self.interval => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }
}

/// The `awscloudwatchlogs` exporter's [`Sender`]; see the module docs.
pub struct CloudWatchLogsSender {
    id: String,
    translator: Translator,
    pusher: LogsPusher,
    unencodable: Counter,
    unencodable_log: Every,
}

/// The events of one batch by stream, each with its record's [`Origin`].
#[derive(Debug, Default)]
struct Tagged {
    streams: Vec<(StreamKey, Vec<(Event, Origin)>)>,
    last: usize,
    failed: usize,
    first_error: Option<String>,
}

impl Tagged {
    fn push(&mut self, key: &StreamKey, event: Event, origin: Origin) {
        let index = match self.streams.get(self.last) {
            Some((k, _)) if k == key => self.last,
            _ => match self.streams.iter().position(|(k, _)| k == key) {
                Some(i) => i,
                None => {
                    self.streams.push((key.clone(), Vec::new()));
                    self.streams.len() - 1
                }
            },
        };
        self.last = index;
        self.streams[index].1.push((event, origin));
    }
}

/// The present in Unix milliseconds.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl CloudWatchLogsSender {
    /// The sender for `config`, on one CloudWatch Logs client built from `sdk` (the
    /// session's `session::load`), registering its counters in `ctx`.
    pub fn new(ctx: &BuildContext, config: &CloudWatchLogsConfig, sdk: SdkConfig) -> Self {
        let id = ctx.id.to_string();
        let unencodable = ctx.telemetry.counter(
            "stratus_exporter_cloudwatch_logs_dropped_events",
            "Log events not sent to CloudWatch Logs: outside the 14-days-back / \
             2-hours-ahead window, empty, or rejected by AWS.",
            &[("exporter", id.as_str()), ("reason", "unencodable")],
        );
        CloudWatchLogsSender {
            translator: Translator::new(config.stream_key(), config.raw_log),
            pusher: LogsPusher::new(ctx, config.session(), sdk, config.group_settings()),
            unencodable,
            unencodable_log: Every::new(Duration::from_secs(60)),
            id,
        }
    }

    /// Every record of a batch as an event tagged with its position, by stream.
    fn translate_tagged(&self, resource_logs: &[ResourceLogs]) -> Tagged {
        let mut out = Tagged::default();
        let raw = self.translator.raw_log();
        for (r, rl) in resource_logs.iter().enumerate() {
            let resource = SortedAttrs::new(
                rl.resource
                    .as_ref()
                    .map(|r| r.attributes.as_slice())
                    .unwrap_or_default(),
            );
            for (s, sl) in rl.scope_logs.iter().enumerate() {
                let scope = if raw {
                    None
                } else {
                    ScopeBody::new(sl.scope.as_ref())
                };
                for (i, record) in sl.log_records.iter().enumerate() {
                    let origin = (r as u32, s as u32, i as u32);
                    match self.translator.event(record, scope.as_ref(), &resource) {
                        Ok((Route::Configured, event)) => {
                            out.push(self.translator.key(), event, origin)
                        }
                        Ok((Route::Emf(key), event)) => out.push(&key, event, origin),
                        Err(e) => {
                            out.failed += 1;
                            out.first_error.get_or_insert_with(|| e.to_string());
                        }
                    }
                }
            }
        }
        out
    }

    /// Counts and (at most once a minute) logs records that could not be translated.
    fn unencodable(&self, failed: usize, error: Option<&str>) {
        if failed == 0 {
            return;
        }
        self.unencodable.add(failed as u64);
        if self.unencodable_log.due() {
            tracing::warn!(
                exporter = %self.id,
                dropped = failed,
                error = error.unwrap_or_default(),
                "log records dropped: they cannot be encoded as CloudWatch Logs events \
                 (logged at most once a minute; counted in \
                 stratus_exporter_cloudwatch_logs_dropped_events{{reason=\"unencodable\"}})"
            );
        }
    }
}

/// The records at `origins` taken out of `batch`, under their resource and scope, in
/// batch order.
fn take_records(batch: &mut [ResourceLogs], origins: &mut [Origin]) -> Vec<ResourceLogs> {
    origins.sort_unstable();
    let mut out: Vec<ResourceLogs> = Vec::new();
    let mut at: Option<(u32, u32)> = None;
    for &(r, s, i) in origins.iter() {
        let rl = &mut batch[r as usize];
        if at.map(|(ar, _)| ar) != Some(r) {
            out.push(ResourceLogs {
                resource: rl.resource.clone(),
                schema_url: rl.schema_url.clone(),
                scope_logs: Vec::new(),
            });
        }
        let Some(part) = out.last_mut() else {
            continue;
        };
        let sl = &mut rl.scope_logs[s as usize];
        if at != Some((r, s)) {
            part.scope_logs.push(ScopeLogs {
                scope: sl.scope.clone(),
                schema_url: sl.schema_url.clone(),
                log_records: Vec::new(),
            });
        }
        at = Some((r, s));
        if let Some(scope) = part.scope_logs.last_mut() {
            scope
                .log_records
                .push(std::mem::take(&mut sl.log_records[i as usize]));
        }
    }
    out
}

#[async_trait]
impl Sender for CloudWatchLogsSender {
    type Request = PushRequest;

    fn split(&self, data: Telemetry) -> Vec<Telemetry> {
        let Payload::Logs(resource_logs) = &*data.payload else {
            // encode refuses it.
            return vec![data];
        };
        let now = now_ms();
        let tagged = self.translate_tagged(resource_logs);
        self.unencodable(tagged.failed, tagged.first_error.as_deref());
        let mut counts = SplitCounts::default();
        let mut parts: Vec<Vec<Origin>> = Vec::new();
        for (_, events) in tagged.streams {
            let (requests, c) = split_tagged(events, now);
            counts.truncated += c.truncated;
            counts.empty += c.empty;
            counts.too_old += c.too_old;
            counts.too_new += c.too_new;
            parts.extend(
                requests
                    .into_iter()
                    .map(|r| r.into_iter().map(|(_, o)| o).collect()),
            );
        }
        // Truncation is counted when the part is prepared for sending.
        self.pusher.count(&SplitCounts {
            truncated: 0,
            ..counts
        });
        if parts.len() == 1 && tagged.failed == 0 && counts.dropped() == 0 {
            return vec![data];
        }
        let Telemetry { payload, metadata } = data;
        let payload = payload.into_payload();
        let Payload::Logs(mut batch) = payload else {
            return Vec::new();
        };
        parts
            .into_iter()
            .map(|mut origins| {
                Telemetry::with_metadata(
                    Payload::Logs(take_records(&mut batch, &mut origins)),
                    metadata.clone(),
                )
            })
            .collect()
    }

    fn encode(&self, data: Telemetry) -> Result<PushRequest, ConsumeError> {
        let Payload::Logs(resource_logs) = &*data.payload else {
            return Err(ConsumeError::permanent(format!(
                "exporter {} exports logs only, got {}",
                self.id,
                data.signal()
            )));
        };
        let translated = self.translator.translate(resource_logs);
        self.unencodable(translated.failed, None);
        Ok(self.pusher.prepare(translated.batches, now_ms()))
    }

    async fn send(&self, request: &PushRequest) -> Result<(), ConsumeError> {
        self.pusher.push(request).await
    }

    /// Each record is one event: the records sent are the events AWS took. A record
    /// that left CloudWatch's time window while it waited in the queue (dropped and
    /// counted when the part was encoded) is then not counted as sent.
    fn accepted_items(&self, request: &PushRequest) -> Option<usize> {
        Some(request.taken_events())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_core::ComponentId;
    use stratus_core::Signal;
    use stratus_core::factory::decode_config;
    use stratus_core::telemetry::Registry;
    use stratus_testkit::metric_value;
    use stratus_testkit::otlp::{log, logs};

    const HOUR_NS: u64 = 3_600_000_000_000;

    fn sender(extra: serde_json::Value) -> (CloudWatchLogsSender, Registry) {
        let mut config = serde_json::json!({"log_group_name": "g", "log_stream_name": "s"});
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        let config: CloudWatchLogsConfig = decode_config(&config).unwrap();
        let registry = Registry::new();
        let ctx = BuildContext::new(
            ComponentId::with_name("awscloudwatchlogs", "t"),
            vec![Signal::Logs],
            registry.clone(),
        );
        let sdk = SdkConfig::builder().build();
        (CloudWatchLogsSender::new(&ctx, &config, sdk), registry)
    }

    fn now_ns() -> u64 {
        now_ms() as u64 * 1_000_000
    }

    fn bodies(part: &Telemetry) -> Vec<String> {
        let Payload::Logs(rls) = &*part.payload else {
            panic!("not logs")
        };
        rls.iter()
            .flat_map(|rl| &rl.scope_logs)
            .flat_map(|sl| &sl.log_records)
            .map(|r| gojsonish(r.body.as_ref()))
            .collect()
    }

    fn gojsonish(v: Option<&stratus_core::pdata::common::AnyValue>) -> String {
        stratus_aws_common::gojson::as_string(v).into_owned()
    }

    fn dropped(registry: &Registry, reason: &str) -> f64 {
        metric_value(
            registry,
            "stratus_exporter_cloudwatch_logs_dropped_events",
            &[("exporter", "awscloudwatchlogs/t"), ("reason", reason)],
        )
    }

    /// A part encoded after one of its records left the time window (it waited in the
    /// queue): that record is not in the request, and only events AWS took count.
    #[test]
    fn records_that_left_the_window_in_the_queue_are_not_counted_as_sent() {
        let (sender, registry) = sender(serde_json::json!({}));
        let now = now_ns();
        let part = logs()
            .record(log("fresh").time(now))
            .record(log("aged in the queue").time(now - 15 * 24 * HOUR_NS))
            .record(log("fresh too").time(now))
            .build();
        let request = sender.encode(part).unwrap();
        let events: usize = request.requests().iter().map(|r| r.len()).sum();
        assert_eq!(events, 2);
        assert_eq!(dropped(&registry, "too_old"), 1.0);
        assert_eq!(
            sender.accepted_items(&request),
            Some(0),
            "nothing taken yet"
        );
    }

    #[test]
    fn a_batch_of_one_request_passes_unchanged() {
        let (sender, _) = sender(serde_json::json!({}));
        let now = now_ns();
        let batch = logs()
            .resource([("host", "a")])
            .records((0..10).map(|i| log(format!("m{i}")).time(now)))
            .build();
        let parts = sender.split(batch.clone());
        assert_eq!(parts, vec![batch]);
    }

    #[test]
    fn records_are_cut_into_one_part_per_request() {
        let (sender, _) = sender(serde_json::json!({}));
        let now = now_ns();
        let batch = logs()
            .resource([("host", "a")])
            .records((0..25_000).map(|i| log(format!("record {i:05}")).time(now - i * 1000)))
            .build();
        let parts = sender.split(batch);
        assert!(parts.len() >= 3, "{}", parts.len());
        let mut seen: Vec<String> = Vec::new();
        for part in &parts {
            // Each part is exactly one request when encoded.
            let request = sender.encode(part.clone()).unwrap();
            assert_eq!(request.requests().len(), 1);
            assert_eq!(request.requests()[0].len(), part.item_count());
            let Payload::Logs(rls) = &*part.payload else {
                panic!()
            };
            // The resource travels with every part.
            assert_eq!(rls[0].resource.as_ref().unwrap().attributes.len(), 1);
            seen.extend(bodies(part));
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 25_000, "every record in exactly one part");
    }

    #[test]
    fn out_of_window_records_are_in_no_part_and_counted() {
        let (sender, registry) = sender(serde_json::json!({}));
        let now = now_ns();
        let batch = logs()
            .record(log("old").time(now - 15 * 24 * HOUR_NS))
            .record(log("ok1").time(now))
            .record(log("ahead").time(now + 3 * HOUR_NS))
            .record(log("ok2").time(now - HOUR_NS))
            .build();
        let parts = sender.split(batch);
        assert_eq!(parts.len(), 1);
        assert_eq!(bodies(&parts[0]), vec!["ok1", "ok2"]);
        assert_eq!(parts[0].item_count(), 2);
        assert_eq!(dropped(&registry, "too_old"), 1.0);
        assert_eq!(dropped(&registry, "too_new"), 1.0);
    }

    #[test]
    fn unencodable_records_are_dropped_and_counted() {
        let (sender, registry) = sender(serde_json::json!({}));
        let now = now_ns();
        let batch = logs()
            .record(log("fine").time(now))
            .record(log("nan").time(now).attr("x", f64::NAN))
            .build();
        let parts = sender.split(batch);
        assert_eq!(parts.len(), 1);
        assert_eq!(bodies(&parts[0]), vec!["fine"]);
        assert_eq!(dropped(&registry, "unencodable"), 1.0);
    }

    #[test]
    fn emf_bodies_route_into_parts_of_their_own_streams() {
        let (sender, _) = sender(serde_json::json!({"raw_log": true}));
        let now = now_ns();
        let batch = logs()
            .record(log(r#"{"_aws":{"LogGroupName":"g2","LogStreamName":"s2"},"v":1}"#).time(now))
            .record(log("plain").time(now))
            .record(log(r#"{"log_group_name":"g3","v":2}"#).time(now))
            .build();
        let parts = sender.split(batch);
        let keys: Vec<StreamKey> = parts
            .iter()
            .map(|p| {
                let r = sender.encode(p.clone()).unwrap();
                assert_eq!(r.requests().len(), 1);
                r.requests()[0].key.clone()
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                StreamKey::new("g2", "s2"),
                StreamKey::new("g", "s"),
                StreamKey::new("g3", "s")
            ]
        );
    }
}
