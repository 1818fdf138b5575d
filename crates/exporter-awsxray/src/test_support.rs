//! Helpers for the tests beside each module: upstream's span and resource
//! constructors (`segment_test.go` `constructServerSpan`, `constructDefaultResource`,
//! …) on the test kit's builders.

use serde_json::Value;
use stratus_core::pdata::common::{AnyValue, KeyValue, KeyValueList, any_value};
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::Span;
use stratus_core::pdata::trace::span::Event;
use stratus_testkit::otlp::{SpanKind, StatusCode, array, kv, span};

use crate::{Translator, TranslatorConfig};

/// A trace id whose first four bytes are a plausible time, like upstream's
/// `newTraceID`: 2023-11-14T22:13:20Z.
pub const TRACE_ID: [u8; 16] = [
    0x65, 0x53, 0xf1, 0x00, 0xa0, 0x06, 0x64, 0x91, 0x27, 0xe3, 0x71, 0x90, 0x3a, 0x2d, 0xe9, 0x79,
];
/// Its X-Ray form.
pub const XRAY_TRACE_ID: &str = "1-6553f100-a006649127e371903a2de979";
/// The span id of test spans.
pub const SPAN_ID: u64 = 0x0102_0304_0506_0708;
/// Its hex form.
pub const SPAN_HEX: &str = "0102030405060708";
/// The parent span id of test spans that have one.
pub const PARENT_ID: u64 = 0x1112_1314_1516_1718;
/// Its hex form.
pub const PARENT_HEX: &str = "1112131415161718";
/// End time of test spans, Unix ns (a whole second, so the JSON is exact).
pub const END_NS: u64 = 1_700_000_000_000_000_000;
/// Start time: 215 ms earlier, as upstream's constructors.
pub const START_NS: u64 = END_NS - 215_000_000;

/// A translator with these indexed attributes.
pub fn translator(indexed: &[&str], index_all: bool) -> Translator {
    Translator::new(&TranslatorConfig {
        indexed_attributes: indexed.iter().map(|s| (*s).to_string()).collect(),
        index_all_attributes: index_all,
        ..TranslatorConfig::default()
    })
}

/// A translator with dots in annotation keys turned into `_`, as upstream tests
/// that set `exporter.xray.allowDot` to false.
pub fn translator_no_dots(indexed: &[&str], index_all: bool) -> Translator {
    Translator::new(&TranslatorConfig {
        indexed_attributes: indexed.iter().map(|s| (*s).to_string()).collect(),
        index_all_attributes: index_all,
        allow_dot_in_annotation_keys: false,
        ..TranslatorConfig::default()
    })
}

/// A span of `kind` with upstream's constructor fields.
pub fn make_span(
    kind: SpanKind,
    parent: Option<u64>,
    name: &str,
    code: StatusCode,
    message: &str,
    attrs: Vec<KeyValue>,
) -> Span {
    let mut b = span(name)
        .trace_id(TRACE_ID)
        .span_id(SPAN_ID)
        .kind(kind)
        .start(START_NS)
        .end(END_NS)
        .status(code, message);
    if let Some(p) = parent {
        b = b.parent(p);
    }
    let mut s = b.build();
    s.attributes = attrs;
    s
}

/// `constructServerSpan`.
pub fn server_span(name: &str, code: StatusCode, message: &str, attrs: Vec<KeyValue>) -> Span {
    make_span(
        SpanKind::Server,
        Some(PARENT_ID),
        name,
        code,
        message,
        attrs,
    )
}

/// `constructClientSpan`.
pub fn client_span(name: &str, code: StatusCode, message: &str, attrs: Vec<KeyValue>) -> Span {
    make_span(
        SpanKind::Client,
        Some(PARENT_ID),
        name,
        code,
        message,
        attrs,
    )
}

/// `constructDefaultResource`.
pub fn default_resource() -> Resource {
    resource(vec![
        kv("service.name", "signup_aggregator"),
        kv("service.version", "semver:1.1.4"),
        kv("container.name", "signup_aggregator"),
        kv("container.image.name", "otel/signupaggregator"),
        kv("container.image.tag", "v1"),
        kv("k8s.cluster.name", "production"),
        kv("k8s.namespace.name", "default"),
        kv("k8s.deployment.name", "signup_aggregator"),
        kv("k8s.pod.name", "signup_aggregator-x82ufje83"),
        kv("cloud.provider", "aws"),
        kv("cloud.account.id", "123456789"),
        kv("cloud.region", "us-east-1"),
        kv("cloud.availability_zone", "us-east-1c"),
        kv("string.key", "string"),
        kv("int.key", 10),
        kv("double.key", 5.0),
        kv("bool.key", true),
        kv("map.key", map(vec![kv("key1", 1), kv("key2", "value")])),
        kv("array.key", array(["foo", "bar"])),
    ])
}

/// A map value of mixed value types.
pub fn map(entries: Vec<KeyValue>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::KvlistValue(KeyValueList {
            values: entries,
        })),
    }
}

/// A resource with these attributes.
pub fn resource(attrs: Vec<KeyValue>) -> Resource {
    Resource {
        attributes: attrs,
        ..Default::default()
    }
}

/// The only segment of `span`, as JSON.
pub fn segment_json(t: &Translator, span: &Span, resource: Option<&Resource>) -> Value {
    let mut all = segments_json(t, span, resource);
    assert_eq!(all.len(), 1, "expected one segment, got {all:#?}");
    all.remove(0)
}

/// Every segment of `span`, as JSON.
pub fn segments_json(t: &Translator, span: &Span, resource: Option<&Resource>) -> Vec<Value> {
    t.span_documents(span, resource, 0)
        .expect("span translates")
        .iter()
        .map(|d| serde_json::from_str(&d.json).expect("document is JSON"))
        .collect()
}

/// The keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    k.sort_unstable();
    k
}

/// The event a test-kit event builder makes.
pub fn to_event(b: stratus_testkit::otlp::EventBuilder) -> Event {
    span("x").event(b).build().events.remove(0)
}
