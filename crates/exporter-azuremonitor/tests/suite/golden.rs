//! Golden pairs: the OTLP batches in `tests/pairs/` (copied from
//! `shared/reference/azure/pairs/`) translated by us must equal, field by field, the envelopes
//! Microsoft's exporter sent for the same batch, except for the deviations listed in
//! `DEVIATIONS` (and in the crate README), which must all occur.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use crate::common;

use common::{load_payload, pairs_dir};
use serde_json::Value;
use stratus_exporter_azuremonitor::translate::{Translator, TranslatorConfig};

use common::CASES;

const IKEY: &str = "00000000-0000-0000-0000-000000000000";

/// (case, JSON pointer, ours, theirs): the deliberate differences, each explained in the README.
const DEVIATIONS: &[(&str, &str, &str, &str)] = &[
    // Durations keep microseconds; Microsoft rounds to milliseconds.
    (
        "v01",
        "/0/data/baseData/duration",
        r#""0.00:00:00.123457""#,
        r#""0.00:00:00.123""#,
    ),
    // Booleans are JSON booleans, not Python's `True`.
    (
        "v01",
        "/0/data/baseData/properties/app.cached",
        r#""true""#,
        r#""True""#,
    ),
    // Arrays are JSON arrays, not Python tuples.
    (
        "v01",
        "/0/data/baseData/properties/app.tags",
        r#""[\"a\",\"b\"]""#,
        r#""('a', 'b')""#,
    ),
    (
        "v02",
        "/0/data/baseData/duration",
        r#""0.00:00:00.003250""#,
        r#""0.00:00:00.003""#,
    ),
    (
        "v02",
        "/1/data/baseData/duration",
        r#""0.00:00:00.002000""#,
        r#""0.00:00:00.002""#,
    ),
    (
        "v02",
        "/2/data/baseData/duration",
        r#""0.00:00:00.010000""#,
        r#""0.00:00:00.010""#,
    ),
    (
        "v03",
        "/0/data/baseData/duration",
        r#""0.00:00:02.500000""#,
        r#""0.00:00:02.500""#,
    ),
    (
        "v04",
        "/0/data/baseData/duration",
        r#""0.00:00:00.005000""#,
        r#""0.00:00:00.005""#,
    ),
    (
        "v05",
        "/0/data/baseData/duration",
        r#""0.00:00:00.003000""#,
        r#""0.00:00:00.003""#,
    ),
    (
        "v05",
        "/1/data/baseData/duration",
        r#""0.00:00:00.015000""#,
        r#""0.00:00:00.015""#,
    ),
    (
        "v06",
        "/0/data/baseData/properties/slow",
        r#""true""#,
        r#""True""#,
    ),
];

/// Microsoft's envelopes for a case, without the fields the comparison ignores.
fn theirs(case: &str) -> Vec<Value> {
    let text =
        std::fs::read_to_string(pairs_dir().join(format!("{case}.appinsights.json"))).unwrap();
    let all: Vec<Value> = serde_json::from_str(&text).unwrap();
    all.into_iter()
        .filter(|e| {
            e.pointer("/data/baseData/metrics/0/name") != Some(&Value::from("_OTELRESOURCE_"))
        })
        .map(|mut e| {
            if let Some(tags) = e.get_mut("tags").and_then(Value::as_object_mut) {
                tags.retain(|k, _| k != "ai.internal.sdkVersion" && !k.starts_with("ai.device."));
            }
            e
        })
        .collect()
}

fn golden_translator() -> Translator {
    // Microsoft's exporter always exports span events and turns exception logs into
    // Exceptions; the pairs were made that way, so the golden run enables all three.
    Translator::new(TranslatorConfig {
        instrumentation_key: IKEY.to_owned(),
        span_events_enabled: true,
        custom_events_enabled: true,
        exception_events_enabled: true,
    })
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Every leaf where `ours` and `theirs` differ: (pointer, ours, theirs), `absent` for a
/// missing field.
fn diff(
    path: &str,
    ours: Option<&Value>,
    theirs: Option<&Value>,
    out: &mut Vec<(String, String, String)>,
) {
    match (ours, theirs) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                diff(&format!("{path}/{}", escape(k)), a.get(k), b.get(k), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                diff(&format!("{path}/{i}"), a.get(i), b.get(i), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => {
            let show = |v: Option<&Value>| v.map_or("absent".to_owned(), |v| v.to_string());
            out.push((path.to_owned(), show(a), show(b)));
        }
    }
}

#[test]
fn golden_pairs_match_microsoft_field_by_field() {
    let translator = golden_translator();
    let mut found: Vec<(String, String, String, String)> = Vec::new();
    for case in CASES {
        let payload = load_payload(case);
        let t = translator.translate(&payload);
        assert!(t.failures.is_empty(), "{case}: {:?}", t.failures);
        assert_eq!(t.items, payload.item_count(), "{case}");
        let ours: Vec<Value> = t
            .envelopes
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect();
        let theirs = theirs(case);
        assert_eq!(ours.len(), theirs.len(), "{case}: envelope count");
        let mut d = Vec::new();
        diff(
            "",
            Some(&Value::Array(ours)),
            Some(&Value::Array(theirs)),
            &mut d,
        );
        found.extend(d.into_iter().map(|(p, a, b)| (case.to_string(), p, a, b)));
    }
    let allowed: Vec<(String, String, String, String)> = DEVIATIONS
        .iter()
        .map(|(c, p, a, b)| (c.to_string(), p.to_string(), a.to_string(), b.to_string()))
        .collect();
    let unexpected: Vec<_> = found.iter().filter(|f| !allowed.contains(f)).collect();
    let missing: Vec<_> = allowed.iter().filter(|a| !found.contains(a)).collect();
    assert!(
        unexpected.is_empty() && missing.is_empty(),
        "unexpected differences (case, pointer, ours, theirs): {unexpected:#?}\n\
         listed deviations that did not occur: {missing:#?}"
    );
}

#[test]
fn item_of_maps_span_events_to_their_span() {
    let t = golden_translator().translate(&load_payload("v04"));
    assert_eq!(t.items, 1);
    assert_eq!(t.item_of, vec![0, 0, 0]);
    let t = golden_translator().translate(&load_payload("v07"));
    assert_eq!(t.items, 6);
    assert_eq!(t.item_of, vec![0, 1, 2, 3, 4, 5]);
}

#[test]
fn span_events_other_than_exceptions_need_the_switch() {
    let translator = Translator::new(TranslatorConfig {
        instrumentation_key: IKEY.to_owned(),
        span_events_enabled: false,
        custom_events_enabled: false,
        exception_events_enabled: false,
    });
    let t = translator.translate(&load_payload("v04"));
    let names: Vec<Value> = t
        .envelopes
        .iter()
        .map(|e| serde_json::from_str::<Value>(e).unwrap()["name"].clone())
        .collect();
    assert_eq!(
        names,
        vec![
            Value::from("Microsoft.ApplicationInsights.RemoteDependency"),
            Value::from("Microsoft.ApplicationInsights.Exception"),
        ]
    );
    // Without exception_events_enabled an exception log stays a Message and keeps its
    // exception.* attributes as properties.
    let t = translator.translate(&load_payload("v06"));
    let second: Value = serde_json::from_str(&t.envelopes[1]).unwrap();
    assert_eq!(second["name"], "Microsoft.ApplicationInsights.Message");
    assert_eq!(second["data"]["baseData"]["message"], "payment failed");
    assert_eq!(
        second["data"]["baseData"]["properties"]["exception.type"],
        "ConnectionError"
    );
}

/// Object keys in document order, for every object in a JSON document (path, keys).
#[derive(Default)]
struct KeyOrder(Vec<(String, Vec<String>)>);

struct Node<'a> {
    path: String,
    out: &'a mut KeyOrder,
}

impl<'de> serde::de::DeserializeSeed<'de> for Node<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Node<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let slot = self.out.0.len();
        self.out.0.push((self.path.clone(), Vec::new()));
        while let Some(key) = map.next_key::<String>()? {
            self.out.0[slot].1.push(key.clone());
            map.next_value_seed(Node {
                path: format!("{}/{key}", self.path),
                out: self.out,
            })?;
        }
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq
            .next_element_seed(Node {
                path: format!("{}/{i}", self.path),
                out: self.out,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

fn key_order(json: &str) -> KeyOrder {
    use serde::de::DeserializeSeed as _;
    let mut out = KeyOrder::default();
    let mut d = serde_json::Deserializer::from_str(json);
    Node {
        path: String::new(),
        out: &mut out,
    }
    .deserialize(&mut d)
    .unwrap();
    out
}

#[test]
fn fields_come_in_microsofts_order() {
    let translator = golden_translator();
    for case in CASES {
        let ours: Vec<String> = translator.translate(&load_payload(case)).envelopes;
        let ours = key_order(&format!("[{}]", ours.join(",")));
        let text =
            std::fs::read_to_string(pairs_dir().join(format!("{case}.appinsights.json"))).unwrap();
        let theirs = key_order(&text);
        assert_eq!(ours.0.len(), theirs.0.len(), "{case}: object count");
        for ((path, a), (_, b)) in ours.0.iter().zip(&theirs.0) {
            let b: Vec<&String> = b
                .iter()
                .filter(|k| *k != "ai.internal.sdkVersion" && !k.starts_with("ai.device."))
                .collect();
            let a: Vec<&String> = a.iter().collect();
            assert_eq!(a, b, "{case}: key order of {path}");
        }
    }
}
