//! The CloudWatch Logs pusher that `awscloudwatchlogs` and `awsemf`
//! share: log events, and splitting a batch of them into PutLogEvents requests that
//! AWS accepts.
//!
//! A batch is split **before** it is queued: each [`PutLogEventsRequest`] is then
//! queued, sent and retried on its own, so a retry never resends events that AWS
//! already took in another request. Splitting does, per event,
//!
//! 1. truncate a message over [`MAX_EVENT_PAYLOAD_BYTES`] (counting the 26-byte
//!    header) to fit, ending it with [`TRUNCATED_SUFFIX`];
//! 2. give an event without a timestamp (`0`) the time `now`;
//! 3. drop an empty message, an event older than [`MAX_EVENT_AGE_MS`] or more than
//!    [`MAX_EVENT_FUTURE_MS`] ahead of `now`, and count it by reason;
//!
//! then sorts a stream's events by time (stably) and cuts them into requests of at
//! most [`MAX_REQUEST_EVENT_COUNT`] events and [`MAX_REQUEST_PAYLOAD_BYTES`] bytes
//! whose first and last events are at most [`MAX_REQUEST_SPAN_MS`] apart.
//!
//! No clock is read here: the caller passes `now` (Unix milliseconds).
//!
//! [`group_settings`] checks the `log_retention` and `tags` of the log groups both
//! exporters create; [`pusher`] is the I/O half: the client, group and stream
//! creation, and the calls.
//!
//! ```
//! use stratus_aws_common::cwlogs::{Event, StreamBatches, StreamKey};
//!
//! let now_ms = 1_700_000_000_000;
//! let key = StreamKey::new("/aws/otel/app", "collector");
//! let mut batches = StreamBatches::new();
//! batches.push(&key, Event::new(now_ms - 1_000, "second"));
//! batches.push(&key, Event::new(now_ms - 2_000, "first"));
//! batches.push(&key, Event::new(now_ms - 30 * 24 * 3_600_000, "a month old"));
//! let split = batches.split(now_ms);
//! assert_eq!(split.requests.len(), 1);
//! assert_eq!(split.requests[0].events[0].message, "first");
//! assert_eq!(split.counts.too_old, 1);
//! ```
//!
//! Upstream: `internal/aws/cwlogs/pusher.go` (`Event.Validate`, `eventBatch`,
//! `logPusher.addLogEvent`) at 45af4ed, whose constants these are. Where this differs,
//! on purpose:
//! - upstream flushes a batch once it passes 256 KiB (it compares the running total
//!   with the per-event constant, leaving `maxRequestPayloadBytes` unused); we fill
//!   requests up to AWS's real 1 MiB limit, so a batch needs about 4x fewer requests;
//! - upstream cuts batches in arrival order and sorts each one; we sort a stream's
//!   events first and then cut, which yields the fewest requests that satisfy the
//!   24-hour rule (arrival order can force a cut at every out-of-order event);
//! - upstream truncates at a byte offset, which can split a UTF-8 character; we cut
//!   at the character boundary at or before that offset, so the message stays valid
//!   UTF-8 (and may end up to 3 bytes shorter).

pub mod group_settings;
pub mod pusher;

use std::fmt;

use serde::{Deserialize, Serialize};

/// Largest event AWS accepts, in bytes, counting [`PER_EVENT_HEADER_BYTES`]: 256 KiB.
/// Source: CloudWatch Logs quotas ("Event size: 256 KB"), upstream
/// `defaultMaxEventPayloadBytes`.
pub const MAX_EVENT_PAYLOAD_BYTES: usize = 256 * 1024;

/// Bytes AWS adds to each event's message when it sizes a request: 26. Source:
/// PutLogEvents API reference ("the sum of all event messages in UTF-8, plus 26 bytes
/// for each log event").
pub const PER_EVENT_HEADER_BYTES: usize = 26;

/// Most events in one PutLogEvents request: 10,000. Source: PutLogEvents API reference.
pub const MAX_REQUEST_EVENT_COUNT: usize = 10_000;

/// Largest PutLogEvents request, in bytes (messages plus 26 per event): 1,048,576.
/// Source: PutLogEvents API reference.
pub const MAX_REQUEST_PAYLOAD_BYTES: usize = 1_048_576;

/// Longest time between the first and the last event of one request, in milliseconds:
/// 24 hours. Source: PutLogEvents API reference ("cannot span more than 24 hours");
/// exactly 24 hours is allowed, as upstream's `isActive` allows it.
pub const MAX_REQUEST_SPAN_MS: i64 = 24 * 3_600_000;

/// Oldest event AWS accepts, in milliseconds before now: 14 days. Source: PutLogEvents
/// API reference, upstream `eventTimestampLimitInPast`.
pub const MAX_EVENT_AGE_MS: i64 = 14 * 24 * 3_600_000;

/// Farthest into the future an event may be, in milliseconds after now: 2 hours.
/// Source: PutLogEvents API reference, upstream `evenTimestampLimitInFuture`.
pub const MAX_EVENT_FUTURE_MS: i64 = 2 * 3_600_000;

/// What a truncated message ends with (upstream `truncatedSuffix`).
pub const TRUNCATED_SUFFIX: &str = "[Truncated...]";

/// A CloudWatch Logs destination: log group and log stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamKey {
    /// The log group name.
    pub log_group_name: String,
    /// The log stream name.
    pub log_stream_name: String,
}

impl StreamKey {
    /// The stream `log_stream_name` in group `log_group_name`.
    pub fn new(log_group_name: impl Into<String>, log_stream_name: impl Into<String>) -> Self {
        StreamKey {
            log_group_name: log_group_name.into(),
            log_stream_name: log_stream_name.into(),
        }
    }

    fn is(&self, other: &StreamKey) -> bool {
        self.log_group_name == other.log_group_name && self.log_stream_name == other.log_stream_name
    }
}

impl fmt::Display for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.log_group_name, self.log_stream_name)
    }
}

/// One log event: an `InputLogEvent` of PutLogEvents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened, Unix milliseconds; `0` means "not known" and becomes `now`
    /// when the batch is split (upstream's `GeneratedTime`).
    pub timestamp_ms: i64,
    /// The message.
    pub message: String,
}

impl Event {
    /// An event at `timestamp_ms` (Unix milliseconds) with `message`.
    pub fn new(timestamp_ms: i64, message: impl Into<String>) -> Self {
        Event {
            timestamp_ms,
            message: message.into(),
        }
    }

    /// The bytes AWS counts for this event: its message plus
    /// [`PER_EVENT_HEADER_BYTES`].
    pub fn payload_bytes(&self) -> usize {
        self.message.len() + PER_EVENT_HEADER_BYTES
    }
}

/// Why an event was dropped before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejected {
    /// The message is empty (AWS rejects empty messages).
    Empty,
    /// Older than [`MAX_EVENT_AGE_MS`].
    TooOld,
    /// More than [`MAX_EVENT_FUTURE_MS`] ahead.
    TooNew,
}

impl Rejected {
    /// A low-cardinality code for metrics and logs: `empty`, `too_old`, `too_new`.
    pub fn code(&self) -> &'static str {
        match self {
            Rejected::Empty => "empty",
            Rejected::TooOld => "too_old",
            Rejected::TooNew => "too_new",
        }
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Upstream's messages.
        f.write_str(match self {
            Rejected::Empty => "empty log event message",
            Rejected::TooOld | Rejected::TooNew => {
                "the log entry's timestamp is older than 14 days or more than 2 hours in the future"
            }
        })
    }
}

impl std::error::Error for Rejected {}

/// Cuts `message` to fit [`MAX_EVENT_PAYLOAD_BYTES`] with its header, ending it with
/// [`TRUNCATED_SUFFIX`]. Returns whether it was cut.
pub fn truncate_message(message: &mut String) -> bool {
    if message.len() + PER_EVENT_HEADER_BYTES <= MAX_EVENT_PAYLOAD_BYTES {
        return false;
    }
    let mut keep = MAX_EVENT_PAYLOAD_BYTES - PER_EVENT_HEADER_BYTES - TRUNCATED_SUFFIX.len();
    while !message.is_char_boundary(keep) {
        keep -= 1;
    }
    message.truncate(keep);
    message.push_str(TRUNCATED_SUFFIX);
    true
}

/// Readies one event for sending, as upstream's `Event.Validate`: truncates an
/// oversized message, gives a `0` timestamp the time `now_ms`, and rejects an empty
/// message or a timestamp outside the window AWS accepts around `now_ms`. Returns
/// whether the message was truncated.
pub fn prepare_event(event: &mut Event, now_ms: i64) -> Result<bool, Rejected> {
    let truncated = truncate_message(&mut event.message);
    if event.timestamp_ms == 0 {
        event.timestamp_ms = now_ms;
    }
    if event.message.is_empty() {
        return Err(Rejected::Empty);
    }
    let age = now_ms.saturating_sub(event.timestamp_ms);
    if age > MAX_EVENT_AGE_MS {
        return Err(Rejected::TooOld);
    }
    if age < -MAX_EVENT_FUTURE_MS {
        return Err(Rejected::TooNew);
    }
    Ok(truncated)
}

/// One PutLogEvents call: events of one stream, sorted by time, within AWS's limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutLogEventsRequest {
    /// Where the events go.
    pub key: StreamKey,
    /// The events, oldest first.
    pub events: Vec<Event>,
}

impl PutLogEventsRequest {
    /// The bytes AWS counts for this request (messages plus 26 per event).
    pub fn payload_bytes(&self) -> usize {
        self.events.iter().map(Event::payload_bytes).sum()
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether the request holds no events (a split never makes one).
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// What splitting did besides making requests: events truncated (still sent) and
/// events dropped, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SplitCounts {
    /// Events whose message was truncated to fit; they are sent.
    pub truncated: usize,
    /// Events dropped for an empty message.
    pub empty: usize,
    /// Events dropped for being older than 14 days.
    pub too_old: usize,
    /// Events dropped for being more than 2 hours in the future.
    pub too_new: usize,
}

impl SplitCounts {
    /// All dropped events.
    pub fn dropped(&self) -> usize {
        self.empty + self.too_old + self.too_new
    }

    fn add(&mut self, other: SplitCounts) {
        self.truncated += other.truncated;
        self.empty += other.empty;
        self.too_old += other.too_old;
        self.too_new += other.too_new;
    }

    fn reject(&mut self, why: Rejected) {
        match why {
            Rejected::Empty => self.empty += 1,
            Rejected::TooOld => self.too_old += 1,
            Rejected::TooNew => self.too_new += 1,
        }
    }
}

/// The requests a batch became, and what was truncated or dropped on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    /// The requests, stream by stream in the order the streams first appeared, each
    /// stream's requests oldest first.
    pub requests: Vec<PutLogEventsRequest>,
    /// Truncated and dropped events.
    pub counts: SplitCounts,
}

impl Split {
    /// Events in all requests.
    pub fn event_count(&self) -> usize {
        self.requests.iter().map(PutLogEventsRequest::len).sum()
    }
}

/// Splits the events of one stream into PutLogEvents requests (see the module docs),
/// with `now_ms` (Unix milliseconds) as the present.
pub fn split_stream(key: StreamKey, events: Vec<Event>, now_ms: i64) -> Split {
    let (parts, counts) = split_tagged(events.into_iter().map(|e| (e, ())).collect(), now_ms);
    let requests = parts
        .into_iter()
        .map(|part| PutLogEventsRequest {
            key: key.clone(),
            events: part.into_iter().map(|(e, ())| e).collect(),
        })
        .collect();
    Split { requests, counts }
}

/// [`split_stream`] for events that carry a tag (where each came from, say a log
/// record's position in its batch): the same preparation, drops, order and cuts, and
/// each request's events come back with their tags. An exporter that splits its
/// *input* into one part per request (the exporter helper's `Sender::split`) maps
/// the tags back to the items.
pub fn split_tagged<T>(
    events: Vec<(Event, T)>,
    now_ms: i64,
) -> (Vec<Vec<(Event, T)>>, SplitCounts) {
    let mut counts = SplitCounts::default();
    let mut kept = Vec::with_capacity(events.len());
    for (mut event, tag) in events {
        match prepare_event(&mut event, now_ms) {
            Ok(truncated) => {
                counts.truncated += usize::from(truncated);
                kept.push((event, tag));
            }
            Err(why) => counts.reject(why),
        }
    }
    // Stable, so events of the same millisecond keep their order.
    kept.sort_by_key(|(e, _)| e.timestamp_ms);

    let mut requests = Vec::new();
    let mut current: Vec<(Event, T)> = Vec::new();
    let mut bytes = 0usize;
    let mut first_ms = 0i64;
    for (event, tag) in kept {
        let size = event.payload_bytes();
        let full = current.len() == MAX_REQUEST_EVENT_COUNT
            || bytes + size > MAX_REQUEST_PAYLOAD_BYTES
            || event.timestamp_ms - first_ms > MAX_REQUEST_SPAN_MS;
        if !current.is_empty() && full {
            requests.push(std::mem::take(&mut current));
            bytes = 0;
        }
        if current.is_empty() {
            first_ms = event.timestamp_ms;
            current.reserve(MAX_REQUEST_EVENT_COUNT.min(64));
        }
        bytes += size;
        current.push((event, tag));
    }
    if !current.is_empty() {
        requests.push(current);
    }
    (requests, counts)
}

/// Events of one batch grouped by destination stream, to be split into requests.
///
/// Streams keep the order they first appeared in; events keep their order within a
/// stream until [`StreamBatches::split`] sorts them by time.
#[derive(Debug, Clone, Default)]
pub struct StreamBatches {
    streams: Vec<(StreamKey, Vec<Event>)>,
    /// Index of the stream the last event went to: consecutive events usually share it.
    last: usize,
}

impl StreamBatches {
    /// No events yet.
    pub fn new() -> Self {
        StreamBatches::default()
    }

    /// Adds an event for stream `key` (cloned only the first time a stream is seen).
    ///
    /// Finding the stream is a comparison with the previous event's stream, then a
    /// scan of the streams seen so far: a batch goes to a handful of streams.
    pub fn push(&mut self, key: &StreamKey, event: Event) {
        let index = match self.streams.get(self.last) {
            Some((k, _)) if k.is(key) => self.last,
            _ => match self.streams.iter().position(|(k, _)| k.is(key)) {
                Some(i) => i,
                None => {
                    self.streams.push((key.clone(), Vec::new()));
                    self.streams.len() - 1
                }
            },
        };
        self.last = index;
        self.streams[index].1.push(event);
    }

    /// Events added so far.
    pub fn len(&self) -> usize {
        self.streams.iter().map(|(_, e)| e.len()).sum()
    }

    /// Whether no event was added.
    pub fn is_empty(&self) -> bool {
        self.streams.iter().all(|(_, e)| e.is_empty())
    }

    /// The streams seen so far, in order.
    pub fn streams(&self) -> impl Iterator<Item = &StreamKey> {
        self.streams.iter().map(|(k, _)| k)
    }

    /// Splits every stream's events into requests ([`split_stream`]).
    pub fn split(self, now_ms: i64) -> Split {
        let mut out = Split::default();
        for (key, events) in self.streams {
            let split = split_stream(key, events, now_ms);
            out.requests.extend(split.requests);
            out.counts.add(split.counts);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;
    const HOUR: i64 = 3_600_000;

    fn key() -> StreamKey {
        StreamKey::new("group", "stream")
    }

    fn ev(ts: i64, msg: &str) -> Event {
        Event::new(ts, msg)
    }

    /// Every request satisfies every AWS rule.
    fn assert_valid(split: &Split) {
        for r in &split.requests {
            assert!(!r.events.is_empty());
            assert!(r.len() <= MAX_REQUEST_EVENT_COUNT);
            assert!(r.payload_bytes() <= MAX_REQUEST_PAYLOAD_BYTES);
            let first = r.events.first().unwrap().timestamp_ms;
            let last = r.events.last().unwrap().timestamp_ms;
            assert!(last - first <= MAX_REQUEST_SPAN_MS);
            assert!(
                r.events
                    .windows(2)
                    .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms)
            );
            for e in &r.events {
                assert!(e.payload_bytes() <= MAX_EVENT_PAYLOAD_BYTES);
            }
        }
    }

    // Upstream TestLogEvent_eventPayloadBytes.
    #[test]
    fn tags_follow_their_events_through_drops_sorting_and_cuts() {
        let mut events: Vec<(Event, usize)> = (0..MAX_REQUEST_EVENT_COUNT + 5)
            .map(|i| (ev(NOW - 1_000 - i as i64, "m"), i))
            .collect();
        events.push((ev(NOW - 15 * 24 * HOUR, "old"), 99_999));
        events.push((ev(NOW + 3 * HOUR, "ahead"), 99_998));
        let (parts, counts) = split_tagged(events.clone(), NOW);
        assert_eq!((counts.too_old, counts.too_new), (1, 1));
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].len(), MAX_REQUEST_EVENT_COUNT);
        // Sorted oldest first: the last-pushed (oldest) event leads, with its tag.
        assert_eq!(parts[0][0].1, MAX_REQUEST_EVENT_COUNT + 4);
        for part in &parts {
            for (event, tag) in part {
                assert_eq!(event.timestamp_ms, NOW - 1_000 - *tag as i64);
            }
        }
        // The same cuts as split_stream.
        let plain = split_stream(key(), events.into_iter().map(|(e, _)| e).collect(), NOW);
        let sizes: Vec<usize> = plain
            .requests
            .iter()
            .map(PutLogEventsRequest::len)
            .collect();
        assert_eq!(sizes, parts.iter().map(Vec::len).collect::<Vec<_>>());
    }

    #[test]
    fn payload_bytes_count_the_header() {
        let e = ev(0, "test message");
        assert_eq!(
            e.payload_bytes(),
            "test message".len() + PER_EVENT_HEADER_BYTES
        );
    }

    // Upstream TestValidateLogEventWithMutating / TestAddLogEventWithValidation /
    // TestValidateLogEventFailed, as a table: (timestamp, message) -> outcome.
    #[test]
    fn prepare_event_table() {
        let big = "a".repeat(MAX_EVENT_PAYLOAD_BYTES);
        let just_fits = "b".repeat(MAX_EVENT_PAYLOAD_BYTES - PER_EVENT_HEADER_BYTES);
        let one_over = "c".repeat(MAX_EVENT_PAYLOAD_BYTES - PER_EVENT_HEADER_BYTES + 1);
        let truncated_a = format!(
            "{}{TRUNCATED_SUFFIX}",
            &big[..MAX_EVENT_PAYLOAD_BYTES - PER_EVENT_HEADER_BYTES - TRUNCATED_SUFFIX.len()]
        );
        type Case<'a> = (
            &'a str,
            i64,
            &'a str,
            Result<bool, Rejected>,
            i64,
            Option<&'a str>,
        );
        let cases: Vec<Case> = vec![
            (
                "in window",
                NOW - 1_000,
                "hello",
                Ok(false),
                NOW - 1_000,
                Some("hello"),
            ),
            (
                "zero timestamp becomes now",
                0,
                "hello",
                Ok(false),
                NOW,
                Some("hello"),
            ),
            (
                "oversized is truncated",
                NOW,
                &big,
                Ok(true),
                NOW,
                Some(&truncated_a),
            ),
            (
                "exactly the limit is kept",
                NOW,
                &just_fits,
                Ok(false),
                NOW,
                Some(&just_fits),
            ),
            (
                "one byte over is truncated",
                NOW,
                &one_over,
                Ok(true),
                NOW,
                None,
            ),
            ("empty", NOW, "", Err(Rejected::Empty), NOW, None),
            (
                "a month old",
                NOW - 30 * 24 * HOUR,
                "x",
                Err(Rejected::TooOld),
                0,
                None,
            ),
            (
                "exactly 14 days",
                NOW - MAX_EVENT_AGE_MS,
                "x",
                Ok(false),
                0,
                None,
            ),
            (
                "14 days and 1 ms",
                NOW - MAX_EVENT_AGE_MS - 1,
                "x",
                Err(Rejected::TooOld),
                0,
                None,
            ),
            (
                "exactly 2 hours ahead",
                NOW + MAX_EVENT_FUTURE_MS,
                "x",
                Ok(false),
                0,
                None,
            ),
            (
                "2 hours and 1 ms ahead",
                NOW + MAX_EVENT_FUTURE_MS + 1,
                "x",
                Err(Rejected::TooNew),
                0,
                None,
            ),
            (
                "negative timestamp",
                -5,
                "x",
                Err(Rejected::TooOld),
                0,
                None,
            ),
        ];
        for (name, ts, msg, want, want_ts, want_msg) in cases {
            let mut e = ev(ts, msg);
            let got = prepare_event(&mut e, NOW);
            assert_eq!(got, want, "{name}");
            if want.is_ok() {
                assert!(e.payload_bytes() <= MAX_EVENT_PAYLOAD_BYTES, "{name}");
                if want_ts != 0 {
                    assert_eq!(e.timestamp_ms, want_ts, "{name}");
                }
                if let Some(m) = want_msg {
                    assert_eq!(e.message, m, "{name}");
                }
                if want == Ok(true) {
                    assert!(e.message.ends_with(TRUNCATED_SUFFIX), "{name}");
                    assert_eq!(e.payload_bytes(), MAX_EVENT_PAYLOAD_BYTES, "{name}");
                }
            }
        }
        assert_eq!(Rejected::Empty.to_string(), "empty log event message");
        assert_eq!(
            Rejected::TooOld.to_string(),
            "the log entry's timestamp is older than 14 days or more than 2 hours in the future"
        );
    }

    #[test]
    fn truncation_keeps_utf8_whole() {
        // 'é' is 2 bytes: put one across the cut offset.
        let cut = MAX_EVENT_PAYLOAD_BYTES - PER_EVENT_HEADER_BYTES - TRUNCATED_SUFFIX.len();
        let mut m = "a".repeat(cut - 1);
        m.push_str(&"é".repeat(10_000));
        assert!(truncate_message(&mut m));
        assert!(m.ends_with(TRUNCATED_SUFFIX));
        assert_eq!(m.len(), cut - 1 + TRUNCATED_SUFFIX.len());
        assert!(m.len() + PER_EVENT_HEADER_BYTES <= MAX_EVENT_PAYLOAD_BYTES);
    }

    // Upstream TestLogEventBatch_timestampWithin24Hours: a batch may span exactly
    // 24 hours, not 24 hours and 1 ms, in either direction.
    #[test]
    fn span_of_24_hours_table() {
        let cases: &[(&str, &[i64], usize)] = &[
            ("23 hours", &[NOW - 23 * HOUR, NOW], 1),
            ("exactly 24 hours", &[NOW - 24 * HOUR, NOW], 1),
            ("24 hours and 1 ms", &[NOW - 24 * HOUR - 1, NOW], 2),
            ("out of order, exactly 24 hours", &[NOW, NOW - 24 * HOUR], 1),
            (
                "out of order, 24 hours and 1 ms",
                &[NOW, NOW - 24 * HOUR - 1],
                2,
            ),
            (
                "three days in hours",
                &(0..72).map(|h| NOW - h * HOUR).collect::<Vec<_>>(),
                3,
            ),
        ];
        for (name, times, want) in cases {
            let events = times.iter().map(|t| ev(*t, "m")).collect();
            let split = split_stream(key(), events, NOW);
            assert_eq!(split.requests.len(), *want, "{name}");
            assert_eq!(split.event_count(), times.len(), "{name}");
            assert_valid(&split);
        }
    }

    // Upstream TestLogEventBatch_sortLogEvents.
    #[test]
    fn requests_are_sorted_and_stable() {
        let events = vec![
            ev(NOW - 5, "c"),
            ev(NOW - 9, "a"),
            ev(NOW - 5, "d"),
            ev(NOW - 7, "b"),
        ];
        let split = split_stream(key(), events, NOW);
        let msgs: Vec<_> = split.requests[0]
            .events
            .iter()
            .map(|e| e.message.as_str())
            .collect();
        assert_eq!(msgs, ["a", "b", "c", "d"]);
    }

    // Upstream TestPusher_addLogEventBatch: a full batch (count or bytes) starts a new one.
    #[test]
    fn count_and_byte_limits_table() {
        // (name, number of events, message size, expected request sizes)
        let per_mib = MAX_REQUEST_PAYLOAD_BYTES / (1000 + PER_EVENT_HEADER_BYTES);
        let cases: Vec<(&str, usize, usize, Vec<usize>)> = vec![
            ("one event", 1, 10, vec![1]),
            ("exactly 10,000", 10_000, 10, vec![10_000]),
            ("10,001", 10_001, 10, vec![10_000, 1]),
            ("25,000 small", 25_000, 10, vec![10_000, 10_000, 5_000]),
            (
                "1 KB events fill 1 MiB",
                per_mib + 1,
                1000,
                vec![per_mib, 1],
            ),
            (
                "max-size events: 4 per request",
                9,
                MAX_EVENT_PAYLOAD_BYTES - PER_EVENT_HEADER_BYTES,
                vec![4, 4, 1],
            ),
        ];
        for (name, n, size, want) in cases {
            let msg = "x".repeat(size);
            let events = (0..n)
                .map(|i| ev(NOW - 1_000 + (i % 1000) as i64, &msg))
                .collect();
            let split = split_stream(key(), events, NOW);
            let sizes: Vec<usize> = split
                .requests
                .iter()
                .map(PutLogEventsRequest::len)
                .collect();
            assert_eq!(sizes, want, "{name}");
            assert_valid(&split);
            assert!(split.requests.iter().all(|r| r.key == key()), "{name}");
        }
    }

    #[test]
    fn exact_byte_limit_fits_in_one_request() {
        // Four events whose payloads add up to exactly 1 MiB.
        let size = MAX_REQUEST_PAYLOAD_BYTES / 4 - PER_EVENT_HEADER_BYTES;
        let msg = "y".repeat(size);
        let events = (0..4).map(|_| ev(NOW, &msg)).collect();
        let split = split_stream(key(), events, NOW);
        assert_eq!(split.requests.len(), 1);
        assert_eq!(split.requests[0].payload_bytes(), MAX_REQUEST_PAYLOAD_BYTES);
        // One more byte of message does not fit.
        let mut events: Vec<Event> = (0..4).map(|_| ev(NOW, &msg)).collect();
        events.push(ev(NOW, "z"));
        let split = split_stream(key(), events, NOW);
        let sizes: Vec<usize> = split
            .requests
            .iter()
            .map(PutLogEventsRequest::len)
            .collect();
        assert_eq!(sizes, [4, 1]);
    }

    #[test]
    fn dropped_and_truncated_are_counted() {
        let events = vec![
            ev(NOW, "ok"),
            ev(NOW, ""),
            ev(NOW - 15 * 24 * HOUR, "old"),
            ev(NOW + 3 * HOUR, "future"),
            ev(NOW + 3 * HOUR, "future2"),
            ev(NOW, &"z".repeat(MAX_EVENT_PAYLOAD_BYTES)),
        ];
        let split = split_stream(key(), events, NOW);
        assert_eq!(
            split.counts,
            SplitCounts {
                truncated: 1,
                empty: 1,
                too_old: 1,
                too_new: 2
            }
        );
        assert_eq!(split.counts.dropped(), 4);
        assert_eq!(split.event_count(), 2);
        let nothing = split_stream(key(), vec![ev(NOW, "")], NOW);
        assert!(nothing.requests.is_empty());
    }

    // Upstream TestMultiStreamPusher: events for two streams become separate requests.
    #[test]
    fn stream_batches_group_by_stream() {
        let a = StreamKey::new("foo", "bar");
        let b = StreamKey::new("foo", "bar2");
        let mut batches = StreamBatches::new();
        assert!(batches.is_empty());
        batches.push(&a, ev(NOW, "1"));
        batches.push(&b, ev(NOW, "2"));
        batches.push(&a, ev(NOW - 1, "0"));
        batches.push(&a, ev(NOW, "3"));
        assert_eq!(batches.len(), 4);
        assert_eq!(
            batches.streams().cloned().collect::<Vec<_>>(),
            [a.clone(), b.clone()]
        );
        let split = batches.split(NOW);
        assert_eq!(split.requests.len(), 2);
        assert_eq!(split.requests[0].key, a);
        let msgs: Vec<_> = split.requests[0]
            .events
            .iter()
            .map(|e| e.message.as_str())
            .collect();
        assert_eq!(msgs, ["0", "1", "3"]);
        assert_eq!(split.requests[1].key, b);
        assert_eq!(split.requests[1].len(), 1);
        assert_eq!(a.to_string(), "foo/bar");
    }

    #[test]
    fn requests_round_trip_through_serde() {
        let split = split_stream(key(), vec![ev(NOW, "m")], NOW);
        let json = serde_json::to_string(&split.requests[0]).unwrap();
        let back: PutLogEventsRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, split.requests[0]);
    }
}
