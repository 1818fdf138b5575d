//! Log record → CloudWatch Logs event, exactly as upstream's `logToCWLog`
//! (contrib `exporter/awscloudwatchlogsexporter/exporter.go` at d82fcbb).
//!
//! With `raw_log: false` (the default) the event's message is the JSON of upstream's
//! `cwLogBody`, keys in this order, each left out when empty (Go's `omitempty`):
//!
//! ```json
//! {"body":"hello world","severity_number":5,"severity_text":"debug",
//!  "dropped_attributes_count":4,"flags":1,
//!  "trace_id":"0102030405060708090a0b0c0d0e0f10","span_id":"0102030405060708",
//!  "attributes":{"key1":1,"key2":"attr2"},
//!  "scope":{"name":"lib","version":"1.0","attributes":{"k":"v"}},
//!  "resource":{"host":"abc123","node":5}}
//! ```
//!
//! - `body` is pdata's `AsRaw()` of the body (a string, number, bool, list, map,
//!   base64 bytes); absent when the record has no body. An empty string is kept
//!   (`"body":""`): `omitempty` leaves out only a nil interface.
//! - `severity_number`, `dropped_attributes_count` and `flags` are left out when 0,
//!   `severity_text` when empty; `trace_id` / `span_id` are lowercase hex, left out
//!   when empty or all zero.
//! - attribute maps are written with sorted keys (Go maps), the last of duplicate
//!   keys kept, and left out when empty; `scope` only when the scope has a name.
//! - strings are escaped as Go does (`<` → `\u003c`, ...); a NaN or infinite double
//!   anywhere makes the record fail, as `json.Marshal` does upstream (the exporter
//!   counts it and drops it).
//!
//! The event's timestamp is the record's `time_unix_nano` in milliseconds; a record
//! without one gets `now` when the batch is split (upstream's `GeneratedTime`).
//!
//! With `raw_log: true` the message is the body as a string (pdata's `AsString`), and
//! a JSON body routes its own event: EMF v1 `{"_aws":{"LogGroupName":...,
//! "LogStreamName":...}}`, or else EMF v0 top-level `log_group_name` /
//! `log_stream_name`, replaces the configured group (and the stream, when given).
//! Keys are matched without regard to case, as Go's `json.Unmarshal` matches them.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use stratus_aws_common::cwlogs::{Event, StreamBatches, StreamKey};
use stratus_aws_common::gojson::{self, Raw, SortedAttrs};
use stratus_core::pdata::common::InstrumentationScope;
use stratus_core::pdata::logs::{LogRecord, ResourceLogs};

/// Why a record could not become an event. The record is dropped and counted.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// The record holds a value JSON cannot represent (a NaN or infinite double).
    #[error("cannot encode the log record as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The `scope` object of a message (upstream `scopeCwLogBody`), built once per scope.
#[derive(Debug, Clone, Serialize)]
pub struct ScopeBody<'a> {
    /// The scope name; never empty (a scope without a name has no `scope` object).
    pub name: &'a str,
    /// The scope version, left out when empty.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub version: &'a str,
    /// The scope attributes, left out when empty.
    #[serde(skip_serializing_if = "SortedAttrs::is_empty")]
    pub attributes: SortedAttrs<'a>,
}

impl<'a> ScopeBody<'a> {
    /// The `scope` object for `scope`, or `None` when it has no name.
    pub fn new(scope: Option<&'a InstrumentationScope>) -> Option<Self> {
        let scope = scope.filter(|s| !s.name.is_empty())?;
        Some(ScopeBody {
            name: &scope.name,
            version: &scope.version,
            attributes: SortedAttrs::new(&scope.attributes),
        })
    }
}

/// A trace or span id written as lowercase hex.
#[derive(Debug, Clone, Copy)]
struct HexId<'a>(&'a [u8]);

impl HexId<'_> {
    /// The id, unless it is empty or all zero (pdata's `IsEmpty`).
    fn of(id: &[u8]) -> Option<HexId<'_>> {
        id.iter().any(|&b| b != 0).then_some(HexId(id))
    }
}

impl Serialize for HexId<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 64];
        let len = self.0.len() * 2;
        if len <= buf.len() && hex::encode_to_slice(self.0, &mut buf[..len]).is_ok() {
            // Hex digits are ASCII.
            serializer.serialize_str(std::str::from_utf8(&buf[..len]).unwrap_or_default())
        } else {
            serializer.serialize_str(&hex::encode(self.0))
        }
    }
}

fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

/// The message of one event with `raw_log: false`: upstream's `cwLogBody`, field for
/// field and in its order.
#[derive(Debug, Serialize)]
pub struct CwLogBody<'a> {
    /// The record body (`AsRaw`), left out when the record has none.
    #[serde(skip_serializing_if = "Raw::is_nil")]
    pub body: Raw<'a>,
    /// The severity number, left out when 0.
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub severity_number: i32,
    /// The severity text, left out when empty.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub severity_text: &'a str,
    /// Attributes dropped by the sender, left out when 0.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub dropped_attributes_count: u32,
    /// The record flags, left out when 0.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub flags: u32,
    /// The trace id in hex, left out when empty or zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<HexId<'a>>,
    /// The span id in hex, left out when empty or zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    span_id: Option<HexId<'a>>,
    /// The record attributes, left out when empty.
    #[serde(skip_serializing_if = "SortedAttrs::is_empty")]
    pub attributes: SortedAttrs<'a>,
    /// The scope, when it has a name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'a ScopeBody<'a>>,
    /// The resource attributes, left out when empty.
    #[serde(skip_serializing_if = "SortedAttrs::is_empty")]
    pub resource: &'a SortedAttrs<'a>,
}

impl<'a> CwLogBody<'a> {
    /// The body of `record` under `scope` and `resource`.
    pub fn new(
        record: &'a LogRecord,
        scope: Option<&'a ScopeBody<'a>>,
        resource: &'a SortedAttrs<'a>,
    ) -> Self {
        CwLogBody {
            body: Raw(record.body.as_ref()),
            severity_number: record.severity_number,
            severity_text: &record.severity_text,
            dropped_attributes_count: record.dropped_attributes_count,
            flags: record.flags,
            trace_id: HexId::of(&record.trace_id),
            span_id: HexId::of(&record.span_id),
            attributes: SortedAttrs::new(&record.attributes),
            scope,
            resource,
        }
    }
}

/// Where an event goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The configured group and stream.
    Configured,
    /// A group and stream named by the EMF body (`raw_log: true`).
    Emf(StreamKey),
}

/// Turns log records into CloudWatch Logs events, for one exporter's config.
#[derive(Debug, Clone)]
pub struct Translator {
    key: StreamKey,
    raw_log: bool,
}

/// The events of a batch, grouped by stream, and the records that failed.
#[derive(Debug, Default)]
pub struct Translated {
    /// The events by stream, ready for
    /// [`StreamBatches::split`](stratus_aws_common::cwlogs::StreamBatches::split).
    pub batches: StreamBatches,
    /// Records that could not be encoded (dropped).
    pub failed: usize,
}

impl Translator {
    /// A translator sending to `log_group_name` / `log_stream_name` unless an EMF body
    /// says otherwise (`raw_log`).
    pub fn new(key: StreamKey, raw_log: bool) -> Self {
        Translator { key, raw_log }
    }

    /// The configured destination.
    pub fn key(&self) -> &StreamKey {
        &self.key
    }

    /// Whether bodies are sent as they are (`raw_log`).
    pub fn raw_log(&self) -> bool {
        self.raw_log
    }

    /// Every record of a batch as an event, grouped by destination stream.
    pub fn translate(&self, resource_logs: &[ResourceLogs]) -> Translated {
        let mut out = Translated::default();
        for rl in resource_logs {
            let resource = SortedAttrs::new(
                rl.resource
                    .as_ref()
                    .map(|r| r.attributes.as_slice())
                    .unwrap_or_default(),
            );
            for sl in &rl.scope_logs {
                let scope = if self.raw_log {
                    None
                } else {
                    ScopeBody::new(sl.scope.as_ref())
                };
                for record in &sl.log_records {
                    match self.event(record, scope.as_ref(), &resource) {
                        Ok((Route::Configured, event)) => out.batches.push(&self.key, event),
                        Ok((Route::Emf(key), event)) => out.batches.push(&key, event),
                        Err(_) => out.failed += 1,
                    }
                }
            }
        }
        out
    }

    /// One record as an event and its route: upstream's `logToCWLog`. `scope` and
    /// `resource` are built once per scope and resource ([`ScopeBody::new`],
    /// [`SortedAttrs::new`]); with `raw_log` they are not used.
    pub fn event(
        &self,
        record: &LogRecord,
        scope: Option<&ScopeBody<'_>>,
        resource: &SortedAttrs<'_>,
    ) -> Result<(Route, Event), TranslateError> {
        // Go: int64(log.Timestamp()) / int64(time.Millisecond).
        let timestamp_ms = (record.time_unix_nano as i64) / 1_000_000;
        if self.raw_log {
            let message = gojson::as_string(record.body.as_ref());
            let route = emf_route(&message, &self.key);
            return Ok((route, Event::new(timestamp_ms, message.into_owned())));
        }
        let body = CwLogBody::new(record, scope, resource);
        let json = gojson::to_vec(&body, true)?;
        // serde_json writes UTF-8 only.
        let message = String::from_utf8(json).unwrap_or_default();
        Ok((Route::Configured, Event::new(timestamp_ms, message)))
    }
}

/// Where a raw body routes its event: EMF v1 `_aws.LogGroupName` (and
/// `LogStreamName`), else EMF v0 `log_group_name` (and `log_stream_name`), else the
/// configured stream. Anything that is not a JSON object of the expected shape keeps
/// the configured stream, as a failed `json.Unmarshal` does upstream.
pub fn emf_route(body: &str, configured: &StreamKey) -> Route {
    // Cheap pre-check: only a JSON object can route.
    if !body.trim_start().starts_with('{') {
        return Route::Configured;
    }
    let Ok(meta) = serde_json::from_str::<EmfMetadata>(body) else {
        return Route::Configured;
    };
    let (group, stream) = match meta.aws {
        Some(aws) if !aws.log_group_name.is_empty() => (aws.log_group_name, aws.log_stream_name),
        _ if !meta.log_group_name.is_empty() => (meta.log_group_name, meta.log_stream_name),
        _ => return Route::Configured,
    };
    let stream = if stream.is_empty() {
        configured.log_stream_name.clone()
    } else {
        stream
    };
    Route::Emf(StreamKey::new(group, stream))
}

/// Upstream's `emfMetadata`: the routing keys of an EMF body.
#[derive(Debug, Default)]
struct EmfMetadata {
    aws: Option<AwsMetadata>,
    log_group_name: String,
    log_stream_name: String,
}

/// Upstream's `awsMetadata`: `_aws.LogGroupName` / `_aws.LogStreamName`.
#[derive(Debug, Default)]
struct AwsMetadata {
    log_group_name: String,
    log_stream_name: String,
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A Go string field: `null` leaves it empty, anything but a string is an error.
fn go_string<'de, A: MapAccess<'de>>(map: &mut A) -> Result<String, A::Error> {
    Ok(map.next_value::<Option<String>>()?.unwrap_or_default())
}

impl<'de> Deserialize<'de> for EmfMetadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EmfMetadata;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EmfMetadata, A::Error> {
                let mut out = EmfMetadata::default();
                while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
                    if k.eq_ignore_ascii_case("_aws") {
                        out.aws = map.next_value::<Option<AwsMetadata>>()?;
                    } else if k.eq_ignore_ascii_case("log_group_name") {
                        out.log_group_name = go_string(&mut map)?;
                    } else if k.eq_ignore_ascii_case("log_stream_name") {
                        out.log_stream_name = go_string(&mut map)?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for AwsMetadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AwsMetadata;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AwsMetadata, A::Error> {
                let mut out = AwsMetadata::default();
                while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
                    if k.eq_ignore_ascii_case("logGroupName") {
                        out.log_group_name = go_string(&mut map)?;
                    } else if k.eq_ignore_ascii_case("logStreamName") {
                        out.log_stream_name = go_string(&mut map)?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_core::pdata::common::AnyValue;
    use stratus_core::pdata::logs::ScopeLogs;
    use stratus_core::pdata::resource::Resource;
    use stratus_testkit::otlp::{IntoAnyValue, array, attributes, bytes, kvlist, log, logs, scope};

    const TS_NS: u64 = 1_609_719_139_000_000;

    /// Upstream's `testResource()`.
    fn test_resource() -> Vec<stratus_core::pdata::common::KeyValue> {
        attributes([
            ("host", "abc123".into_any_value()),
            ("node", 5.into_any_value()),
        ])
    }

    /// Upstream's `testLogRecord()`.
    fn test_record() -> LogRecord {
        log("hello world")
            .severity_text("debug")
            .with(|r| {
                r.severity_number = 5;
                r.dropped_attributes_count = 4;
            })
            .attr("key1", 1)
            .attr("key2", "attr2")
            .trace(
                [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
                [1, 2, 3, 4, 5, 6, 7, 8],
            )
            .flags(1)
            .time(TS_NS)
            .build()
    }

    /// Upstream's `testLogRecordWithoutTrace()`.
    fn test_record_without_trace() -> LogRecord {
        let mut r = test_record();
        r.trace_id.clear();
        r.span_id.clear();
        r.flags = 0;
        r
    }

    /// Upstream's `createPLog(body)`.
    fn plog(body: &str) -> LogRecord {
        log(body).time(TS_NS).build()
    }

    fn key() -> StreamKey {
        StreamKey::new("tLogGroup", "tStreamName")
    }

    fn run(
        translator: &Translator,
        resource: &[stratus_core::pdata::common::KeyValue],
        scope: Option<&InstrumentationScope>,
        record: &LogRecord,
    ) -> (Route, Event) {
        let resource = SortedAttrs::new(resource);
        let scope = ScopeBody::new(scope);
        translator.event(record, scope.as_ref(), &resource).unwrap()
    }

    const EMF_V1: &str = r#"{"_aws":{"Timestamp":1574109732004,"LogGroupName":"Foo","CloudWatchMetrics":[{"Namespace":"MyApp","Dimensions":[["Operation"]],"Metrics":[{"Name":"ProcessingLatency","Unit":"Milliseconds","StorageResolution":60}]}]},"Operation":"Aggregator","ProcessingLatency":100}"#;
    const EMF_V1_STREAM: &str = r#"{"_aws":{"Timestamp":1574109732004,"LogGroupName":"Foo","LogStreamName":"Foo","CloudWatchMetrics":[{"Namespace":"MyApp","Dimensions":[["Operation"]],"Metrics":[{"Name":"ProcessingLatency","Unit":"Milliseconds","StorageResolution":60}]}]},"Operation":"Aggregator","ProcessingLatency":100}"#;
    const EMF_V0: &str = r#"{"Timestamp":1574109732004,"log_group_name":"Foo","CloudWatchMetrics":[{"Namespace":"MyApp","Dimensions":[["Operation"]],"Metrics":[{"Name":"ProcessingLatency","Unit":"Milliseconds","StorageResolution":60}]}],"Operation":"Aggregator","ProcessingLatency":100}"#;
    const EMF_V0_STREAM: &str = r#"{"Timestamp":1574109732004,"log_group_name":"Foo","log_stream_name":"Foo","CloudWatchMetrics":[{"Namespace":"MyApp","Dimensions":[["Operation"]],"Metrics":[{"Name":"ProcessingLatency","Unit":"Milliseconds","StorageResolution":60}]}],"Operation":"Aggregator","ProcessingLatency":100}"#;

    // Upstream TestLogToCWLog, case for case (exporter_test.go at 463d773).
    #[test]
    fn log_to_cw_log_upstream_table() {
        let none: &[stratus_core::pdata::common::KeyValue] = &[];
        let res = test_resource();
        type Case<'a> = (
            &'a str,
            &'a [stratus_core::pdata::common::KeyValue],
            LogRecord,
            bool,
            &'a str,
            (&'a str, &'a str),
        );
        let cases: Vec<Case> = vec![
            (
                "basic",
                &res,
                test_record(),
                false,
                r#"{"body":"hello world","severity_number":5,"severity_text":"debug","dropped_attributes_count":4,"flags":1,"trace_id":"0102030405060708090a0b0c0d0e0f10","span_id":"0102030405060708","attributes":{"key1":1,"key2":"attr2"},"resource":{"host":"abc123","node":5}}"#,
                ("tLogGroup", "tStreamName"),
            ),
            (
                "no resource",
                none,
                test_record(),
                false,
                r#"{"body":"hello world","severity_number":5,"severity_text":"debug","dropped_attributes_count":4,"flags":1,"trace_id":"0102030405060708090a0b0c0d0e0f10","span_id":"0102030405060708","attributes":{"key1":1,"key2":"attr2"}}"#,
                ("tLogGroup", "tStreamName"),
            ),
            (
                "no trace",
                &res,
                test_record_without_trace(),
                false,
                r#"{"body":"hello world","severity_number":5,"severity_text":"debug","dropped_attributes_count":4,"attributes":{"key1":1,"key2":"attr2"},"resource":{"host":"abc123","node":5}}"#,
                ("tLogGroup", "tStreamName"),
            ),
            (
                "raw",
                &res,
                test_record_without_trace(),
                true,
                "hello world",
                ("tLogGroup", "tStreamName"),
            ),
            (
                "raw emf v1",
                &res,
                plog(EMF_V1),
                true,
                EMF_V1,
                ("Foo", "tStreamName"),
            ),
            (
                "raw emf v1 with log stream",
                &res,
                plog(EMF_V1_STREAM),
                true,
                EMF_V1_STREAM,
                ("Foo", "Foo"),
            ),
            (
                "raw emf v0",
                &res,
                plog(EMF_V0),
                true,
                EMF_V0,
                ("Foo", "tStreamName"),
            ),
            (
                "raw emf v0 with log stream",
                &res,
                plog(EMF_V0_STREAM),
                true,
                EMF_V0_STREAM,
                ("Foo", "Foo"),
            ),
        ];
        for (name, resource, record, raw, want_msg, (group, stream)) in cases {
            let t = Translator::new(key(), raw);
            let (route, event) = run(&t, resource, None, &record);
            assert_eq!(event.message, want_msg, "{name}");
            assert_eq!(event.timestamp_ms, 1_609_719_139, "{name}");
            let got = match route {
                Route::Configured => key(),
                Route::Emf(k) => k,
            };
            assert_eq!(got, StreamKey::new(group, stream), "{name}");
        }
    }

    #[test]
    fn fields_and_omission_table() {
        let t = Translator::new(key(), false);
        let sc = scope("my-lib").version("1.2").attr("s", "v").build();
        let nameless = scope("").version("9").build();
        let cases: Vec<(&str, LogRecord, Option<&InstrumentationScope>, &str)> = vec![
            (
                "no body at all",
                log(1).with(|r| r.body = None).build(),
                None,
                "{}",
            ),
            (
                "empty body value",
                log(AnyValue::default()).build(),
                None,
                "{}",
            ),
            (
                "empty string body is kept",
                log("").build(),
                None,
                r#"{"body":""}"#,
            ),
            ("int body", log(7).build(), None, r#"{"body":7}"#),
            ("double body", log(2.5).build(), None, r#"{"body":2.5}"#),
            ("bool body", log(false).build(), None, r#"{"body":false}"#),
            (
                "bytes body",
                log(bytes(vec![0xde, 0xad])).build(),
                None,
                r#"{"body":"3q0="}"#,
            ),
            (
                "map body, sorted keys",
                log(kvlist([("z", 1), ("a", 2)])).build(),
                None,
                r#"{"body":{"a":2,"z":1}}"#,
            ),
            (
                "array body",
                log(array(["x", "y"])).build(),
                None,
                r#"{"body":["x","y"]}"#,
            ),
            (
                "html is escaped",
                log("<a href='x'>&</a>").build(),
                None,
                r#"{"body":"\u003ca href='x'\u003e\u0026\u003c/a\u003e"}"#,
            ),
            (
                "zero trace id is left out",
                log("m").trace(0u128, 0u64).build(),
                None,
                r#"{"body":"m"}"#,
            ),
            (
                "span id without trace id",
                log("m")
                    .with(|r| r.span_id = vec![0, 0, 0, 0, 0, 0, 0, 9])
                    .build(),
                None,
                r#"{"body":"m","span_id":"0000000000000009"}"#,
            ),
            (
                "flags without ids",
                log("m").flags(0x101).build(),
                None,
                r#"{"body":"m","flags":257}"#,
            ),
            (
                "scope with name, version, attributes",
                log("m").build(),
                Some(&sc),
                r#"{"body":"m","scope":{"name":"my-lib","version":"1.2","attributes":{"s":"v"}}}"#,
            ),
            (
                "scope without a name is left out",
                log("m").build(),
                Some(&nameless),
                r#"{"body":"m"}"#,
            ),
            (
                "duplicate attribute: last wins",
                log("m").attr("k", 1).attr("k", 2).build(),
                None,
                r#"{"body":"m","attributes":{"k":2}}"#,
            ),
            (
                "nested attribute values",
                log("m")
                    .attr("list", array([1.5, 2.0]))
                    .attr("map", kvlist([("b", true)]))
                    .build(),
                None,
                r#"{"body":"m","attributes":{"list":[1.5,2],"map":{"b":true}}}"#,
            ),
        ];
        for (name, record, scope, want) in cases {
            let (_, event) = run(&t, &[], scope, &record);
            assert_eq!(event.message, want, "{name}");
        }
    }

    #[test]
    fn nan_fails_the_record() {
        let t = Translator::new(key(), false);
        let record = log("m").attr("bad", f64::NAN).build();
        let resource = SortedAttrs::new(&[]);
        let err = t.event(&record, None, &resource).unwrap_err();
        assert!(err.to_string().contains("unsupported value: NaN"), "{err}");
        // In raw mode the body alone counts, as a string.
        let raw = Translator::new(key(), true);
        let (_, e) = raw
            .event(&log(f64::INFINITY).build(), None, &resource)
            .unwrap();
        assert_eq!(e.message, "json: unsupported value: +Inf");
    }

    #[test]
    fn raw_bodies_as_strings_table() {
        let t = Translator::new(key(), true);
        let cases: Vec<(LogRecord, &str)> = vec![
            (log("plain text").build(), "plain text"),
            (log(42).build(), "42"),
            (log(true).build(), "true"),
            (
                log(kvlist([
                    ("b", "<x>".into_any_value()),
                    ("a", 1.into_any_value()),
                ]))
                .build(),
                r#"{"a":1,"b":"<x>"}"#,
            ),
            (log(bytes(b"hi".to_vec())).build(), "aGk="),
            (log(1).with(|r| r.body = None).build(), ""),
        ];
        for (record, want) in cases {
            let (route, e) = run(&t, &[], None, &record);
            assert_eq!(e.message, want);
            assert_eq!(route, Route::Configured);
        }
    }

    #[test]
    fn emf_routing_table() {
        let k = key();
        let emf = |g: &str, s: &str| Route::Emf(StreamKey::new(g, s));
        let cases: Vec<(&str, Route)> = vec![
            (
                r#"{"_aws":{"LogGroupName":"G","LogStreamName":"S"}}"#,
                emf("G", "S"),
            ),
            (r#"{"_aws":{"LogGroupName":"G"}}"#, emf("G", "tStreamName")),
            // Go matches keys without regard to case.
            (
                r#"{"_AWS":{"loggroupname":"G","LOGSTREAMNAME":"S"}}"#,
                emf("G", "S"),
            ),
            (
                r#"{"log_group_name":"G0","log_stream_name":"S0"}"#,
                emf("G0", "S0"),
            ),
            // v1 wins over v0 when both name a group.
            (
                r#"{"_aws":{"LogGroupName":"G"},"log_group_name":"G0"}"#,
                emf("G", "tStreamName"),
            ),
            // v1 without a group falls back to v0.
            (
                r#"{"_aws":{"LogStreamName":"S"},"log_group_name":"G0"}"#,
                emf("G0", "tStreamName"),
            ),
            // A stream alone does not route.
            (r#"{"_aws":{"LogStreamName":"S"}}"#, Route::Configured),
            (r#"{"log_stream_name":"S"}"#, Route::Configured),
            (r#"{"_aws":null,"log_group_name":null}"#, Route::Configured),
            // A failed unmarshal keeps the configured stream.
            (
                r#"{"_aws":"text","log_group_name":"G0"}"#,
                Route::Configured,
            ),
            (r#"{"_aws":{"LogGroupName":5}}"#, Route::Configured),
            (r#"{"log_group_name":"G0"} trailing"#, Route::Configured),
            (r#"["log_group_name"]"#, Route::Configured),
            ("not json", Route::Configured),
            ("", Route::Configured),
            // Escaped keys and values decode.
            (
                r#"{"_aws":{"LogGroup\u004eame":"G\/1"}}"#,
                emf("G/1", "tStreamName"),
            ),
        ];
        for (body, want) in cases {
            assert_eq!(emf_route(body, &k), want, "{body}");
        }
    }

    #[test]
    fn translate_groups_by_stream_and_counts_failures() {
        let batch = logs()
            .resource([("service.name", "api")])
            .scope(scope("lib"))
            .record(log("a").time(TS_NS))
            .record(log("b").attr("x", f64::NAN))
            .record(log("c").time(TS_NS + 1_000_000))
            .resource_logs();
        let t = Translator::new(key(), false);
        let out = t.translate(&batch);
        assert_eq!(out.failed, 1);
        assert_eq!(out.batches.len(), 2);
        let split = out.batches.split(1_609_719_140);
        assert_eq!(split.requests.len(), 1);
        assert_eq!(
            split.requests[0].events[0].message,
            r#"{"body":"a","scope":{"name":"lib"},"resource":{"service.name":"api"}}"#
        );

        let raw = logs()
            .record(EMF_V1_STREAM)
            .record("plain")
            .record(EMF_V0)
            .resource_logs();
        let t = Translator::new(key(), true);
        let out = t.translate(&raw);
        let streams: Vec<_> = out.batches.streams().cloned().collect();
        assert_eq!(
            streams,
            [
                StreamKey::new("Foo", "Foo"),
                key(),
                StreamKey::new("Foo", "tStreamName")
            ]
        );
    }

    #[test]
    fn resource_without_attributes_and_scope_logs_shapes() {
        let rl = vec![ResourceLogs {
            resource: Some(Resource::default()),
            scope_logs: vec![ScopeLogs {
                scope: None,
                log_records: vec![plog("x")],
                ..Default::default()
            }],
            ..Default::default()
        }];
        let out = Translator::new(key(), false).translate(&rl);
        let split = out.batches.split(1_609_719_140);
        assert_eq!(split.requests[0].events[0].message, r#"{"body":"x"}"#);
    }
}
