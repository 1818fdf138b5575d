//! The processor's behaviour, checked against upstream's own test expectations where
//! upstream has them (`processor_test.go` of the contrib redaction processor).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use stratus_core::factory::{BuildContext, ProcessorFactory, decode_config};
use stratus_core::pdata::common::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use stratus_core::pdata::logs::{LogRecord, ResourceLogs, ScopeLogs};
use stratus_core::pdata::metrics::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary as SummaryData,
    SummaryDataPoint, metric::Data,
};
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::{ResourceSpans, ScopeSpans, Span, span::Event};
use stratus_core::telemetry::Registry;
use stratus_core::{
    BoxConsumer, ComponentId, ConsumeError, Consumer, Destination, Payload, Prepared, Signal,
    Telemetry,
};
use stratus_testkit::RecordingConsumer;
use stratus_testkit::otlp::{IntoAnyValue, array, kv, kvlist, log, logs, span, traces};

use crate::redact::*;
use crate::{RedactionConfig, RedactionProcessorFactory, Redactor};

/// Upstream README's card regexes.
const VISA: &str = "4[0-9]{12}(?:[0-9]{3})?";
const MASTERCARD: &str = "(5[1-5][0-9]{14})";
/// An e-mail address.
const EMAIL: &str = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}";

fn redactor(config: Json) -> Redactor {
    let config: RedactionConfig = decode_config(&config).unwrap();
    Redactor::new(&config).unwrap()
}

fn attrs<K: Into<String>, V: IntoAnyValue>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> Vec<KeyValue> {
    pairs.into_iter().map(|(k, v)| kv(k, v)).collect()
}

/// One batch per signal (and one metric of every type) carrying `a` on every
/// attribute list the processor redacts; log bodies are maps holding `a` too.
fn everywhere(a: &[KeyValue]) -> Vec<Payload> {
    let resource = || {
        Some(Resource {
            attributes: a.to_vec(),
            ..Default::default()
        })
    };
    let scope = || {
        Some(InstrumentationScope {
            name: "lib".into(),
            attributes: a.to_vec(),
            ..Default::default()
        })
    };
    let traces = Payload::Traces(vec![ResourceSpans {
        resource: resource(),
        scope_spans: vec![ScopeSpans {
            scope: scope(),
            spans: vec![Span {
                name: "span".into(),
                attributes: a.to_vec(),
                events: vec![Event {
                    name: "event".into(),
                    attributes: a.to_vec(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }]);
    let logs = Payload::Logs(vec![ResourceLogs {
        resource: resource(),
        scope_logs: vec![ScopeLogs {
            scope: scope(),
            log_records: vec![LogRecord {
                attributes: a.to_vec(),
                body: Some(AnyValue {
                    value: Some(Value::KvlistValue(
                        stratus_core::pdata::common::KeyValueList { values: a.to_vec() },
                    )),
                }),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }]);
    let number = || NumberDataPoint {
        attributes: a.to_vec(),
        ..Default::default()
    };
    let metric = |data| Metric {
        name: "m".into(),
        data: Some(data),
        ..Default::default()
    };
    let metrics = Payload::Metrics(vec![ResourceMetrics {
        resource: resource(),
        scope_metrics: vec![ScopeMetrics {
            scope: scope(),
            metrics: vec![
                metric(Data::Gauge(Gauge {
                    data_points: vec![number()],
                })),
                metric(Data::Sum(Sum {
                    data_points: vec![number()],
                    ..Default::default()
                })),
                metric(Data::Histogram(Histogram {
                    data_points: vec![HistogramDataPoint {
                        attributes: a.to_vec(),
                        ..Default::default()
                    }],
                    ..Default::default()
                })),
                metric(Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: vec![ExponentialHistogramDataPoint {
                        attributes: a.to_vec(),
                        ..Default::default()
                    }],
                    ..Default::default()
                })),
                metric(Data::Summary(SummaryData {
                    data_points: vec![SummaryDataPoint {
                        attributes: a.to_vec(),
                        ..Default::default()
                    }],
                })),
            ],
            ..Default::default()
        }],
        ..Default::default()
    }]);
    vec![traces, logs, metrics]
}

/// Every attribute list of a batch, named, in order (not log bodies).
fn lists(p: &Payload) -> Vec<(&'static str, &Vec<KeyValue>)> {
    let mut out = Vec::new();
    match p {
        Payload::Traces(r) => {
            for rs in r {
                out.extend(rs.resource.iter().map(|r| ("span resource", &r.attributes)));
                for ss in &rs.scope_spans {
                    out.extend(ss.scope.iter().map(|s| ("span scope", &s.attributes)));
                    for s in &ss.spans {
                        out.push(("span", &s.attributes));
                        out.extend(s.events.iter().map(|e| ("span event", &e.attributes)));
                    }
                }
            }
        }
        Payload::Logs(r) => {
            for rl in r {
                out.extend(rl.resource.iter().map(|r| ("log resource", &r.attributes)));
                for sl in &rl.scope_logs {
                    out.extend(sl.scope.iter().map(|s| ("log scope", &s.attributes)));
                    out.extend(sl.log_records.iter().map(|l| ("log record", &l.attributes)));
                }
            }
        }
        Payload::Metrics(r) => {
            for rm in r {
                out.extend(
                    rm.resource
                        .iter()
                        .map(|r| ("metric resource", &r.attributes)),
                );
                for sm in &rm.scope_metrics {
                    out.extend(sm.scope.iter().map(|s| ("metric scope", &s.attributes)));
                    for m in &sm.metrics {
                        let points: Vec<&Vec<KeyValue>> = match &m.data {
                            Some(Data::Gauge(g)) => {
                                g.data_points.iter().map(|p| &p.attributes).collect()
                            }
                            Some(Data::Sum(s)) => {
                                s.data_points.iter().map(|p| &p.attributes).collect()
                            }
                            Some(Data::Histogram(h)) => {
                                h.data_points.iter().map(|p| &p.attributes).collect()
                            }
                            Some(Data::ExponentialHistogram(h)) => {
                                h.data_points.iter().map(|p| &p.attributes).collect()
                            }
                            Some(Data::Summary(s)) => {
                                s.data_points.iter().map(|p| &p.attributes).collect()
                            }
                            None => Vec::new(),
                        };
                        out.extend(points.into_iter().map(|a| ("data point", a)));
                    }
                }
            }
        }
    }
    out
}

/// The log record's body map of a logs batch made by [`everywhere`].
fn body_map(p: &Payload) -> &Vec<KeyValue> {
    let Payload::Logs(r) = p else {
        panic!("not logs")
    };
    match r[0].scope_logs[0].log_records[0]
        .body
        .as_ref()
        .and_then(|b| b.value.as_ref())
    {
        Some(Value::KvlistValue(m)) => &m.values,
        other => panic!("body is {other:?}"),
    }
}

fn record_attrs(p: &Payload) -> &Vec<KeyValue> {
    let Payload::Logs(r) = p else {
        panic!("not logs")
    };
    &r[0].scope_logs[0].log_records[0].attributes
}

fn get<'a>(a: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    a.iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn str_at<'a>(a: &'a [KeyValue], key: &str) -> &'a str {
    match get(a, key) {
        Some(Value::StringValue(s)) => s,
        other => panic!("{key} is {other:?}, not a string, in {a:?}"),
    }
}

fn int_at(a: &[KeyValue], key: &str) -> i64 {
    match get(a, key) {
        Some(Value::IntValue(i)) => *i,
        other => panic!("{key} is {other:?}, not an int, in {a:?}"),
    }
}

/// Redacts `a` on every attribute list of every signal and runs `check` on each.
fn check_everywhere(r: &Redactor, a: &[KeyValue], check: impl Fn(&str, &[KeyValue])) {
    for mut p in everywhere(a) {
        r.redact(&mut p);
        for (label, list) in lists(&p) {
            check(label, list);
        }
    }
}

// --- masking values --------------------------------------------------------------

/// The brief's data-privacy promise: card numbers and e-mail addresses in attribute
/// values are masked in every signal, the rest of the value kept.
#[test]
fn card_numbers_and_email_addresses_are_masked() {
    let r = redactor(json!({
        "allow_all_keys": true,
        // Upstream README's Visa and MasterCard regexes, one that also takes the
        // grouped form, and an e-mail address.
        "blocked_values": [VISA, MASTERCARD, r"\b4[0-9]{3}(?:[ -][0-9]{4}){3}\b", EMAIL],
    }));
    let a = attrs([
        ("card", "paid with 4111111111111111 today"),
        ("card.grouped", "4111 1111 1111 1111"),
        ("card.mc", "5500000000000004"),
        (
            "user",
            "contact jane.doe@example.com or j.roe+ops@corp.example.org",
        ),
        ("plain", "nothing to see"),
    ]);
    check_everywhere(&r, &a, |label, got| {
        assert_eq!(str_at(got, "card"), "paid with **** today", "{label}");
        assert_eq!(str_at(got, "card.grouped"), "****", "{label}");
        assert_eq!(str_at(got, "card.mc"), "****", "{label}");
        assert_eq!(str_at(got, "user"), "contact **** or ****", "{label}");
        assert_eq!(str_at(got, "plain"), "nothing to see", "{label}");
    });
}

/// Upstream's Visa regex has no room for separators: a grouped number passes it
/// untouched. The README says so and gives a regex that takes both forms.
#[test]
fn upstreams_visa_regex_misses_grouped_numbers() {
    let r = redactor(json!({"allow_all_keys": true, "blocked_values": [VISA, MASTERCARD]}));
    let mut p = traces()
        .span(
            span("s")
                .attr("a", "4111 1111 1111 1111")
                .attr("b", "4111111111111111"),
        )
        .payload();
    r.redact(&mut p);
    let got = lists(&p)[0].1;
    assert_eq!(str_at(got, "a"), "4111 1111 1111 1111");
    assert_eq!(str_at(got, "b"), "****");
}

/// Upstream's TestMultipleBlockValues: each regex masks what it matches, in order.
#[test]
fn several_blocked_values_each_mask_their_matches() {
    let r = redactor(json!({
        "allowed_keys": ["id", "name", "mystery"],
        "blocked_values": [VISA, "(5[1-5][0-9]{3})"],
        "summary": "debug",
    }));
    let a = vec![
        kv("id", 5),
        kv("mystery", "mystery 52000"),
        kv("name", "placeholder 4111111111111111 52000"),
        kv("credit_card", "4111111111111111"),
    ];
    check_everywhere(&r, &a, |label, got| {
        assert_eq!(str_at(got, "name"), "placeholder **** ****", "{label}");
        assert_eq!(str_at(got, "mystery"), "mystery ****", "{label}");
        assert_eq!(get(got, "id"), Some(&Value::IntValue(5)), "{label}");
        assert!(get(got, "credit_card").is_none(), "{label}");
        assert_eq!(str_at(got, REDACTED_KEYS), "credit_card", "{label}");
        assert_eq!(int_at(got, REDACTED_COUNT), 1, "{label}");
        assert_eq!(str_at(got, MASKED_KEYS), "mystery,name", "{label}");
        assert_eq!(int_at(got, MASKED_COUNT), 2, "{label}");
    });
}

/// A key matching `blocked_key_patterns` has its whole value masked, whatever it is.
#[test]
fn blocked_key_patterns_mask_whole_values() {
    let r = redactor(json!({
        "allow_all_keys": true,
        "blocked_key_patterns": [".*token.*", "(?i)password"],
    }));
    let a = vec![
        kv("auth_token", "eyJhbGciOiJIUzI1NiJ9.e30"),
        kv("DB_PASSWORD", "hunter2"),
        kv("token_count", 3),
        kv("user", "ann"),
    ];
    check_everywhere(&r, &a, |label, got| {
        assert_eq!(str_at(got, "auth_token"), "****", "{label}");
        assert_eq!(str_at(got, "DB_PASSWORD"), "****", "{label}");
        // As upstream: a non-string value reads as "" and becomes the mask.
        assert_eq!(str_at(got, "token_count"), "****", "{label}");
        assert_eq!(str_at(got, "user"), "ann", "{label}");
    });
}

/// `.` does not cross a newline, in Go or here: a multi-line secret is masked line by
/// line.
#[test]
fn whole_value_masking_keeps_newlines_like_go() {
    let r = redactor(json!({"allow_all_keys": true, "blocked_key_patterns": ["secret"]}));
    let mut p = traces()
        .span(span("s").attr("secret", "line one\nline two"))
        .payload();
    r.redact(&mut p);
    assert_eq!(str_at(lists(&p)[0].1, "secret"), "****\n****");
}

/// Upstream's TestAllowAllKeysMaskValues: `allowed_values` wins over blocked values.
#[test]
fn allowed_values_take_precedence() {
    let r = redactor(json!({
        "allow_all_keys": true,
        "blocked_values": [VISA, EMAIL, "mycompany.com"],
        "blocked_key_patterns": ["email"],
        "allowed_values": [".+@mycompany.com"],
        "summary": "info",
    }));
    let a = attrs([
        ("email", "user@mycompany.com"),
        ("other", "user@elsewhere.com"),
        ("credit_card", "placeholder 4111111111111111"),
    ]);
    check_everywhere(&r, &a, |label, got| {
        assert_eq!(str_at(got, "email"), "user@mycompany.com", "{label}");
        assert_eq!(str_at(got, "other"), "****", "{label}");
        assert_eq!(str_at(got, "credit_card"), "placeholder ****", "{label}");
        assert_eq!(int_at(got, ALLOWED_COUNT), 1, "{label}");
        assert_eq!(int_at(got, MASKED_COUNT), 2, "{label}");
    });
}

/// Upstream's TestRedactAllTypesFalse / True.
#[test]
fn redact_all_types_checks_non_string_values() {
    let a = vec![
        kv("credit_card_int", 4_111_111_111_111_111_i64),
        kv("credit_card", "placeholder 4111111111111111"),
        kv("list", array([4_111_111_111_111_111_i64, 7])),
        kv("id", 5),
    ];
    let off = redactor(json!({"allow_all_keys": true, "blocked_values": [VISA]}));
    check_everywhere(&off, &a, |label, got| {
        assert_eq!(
            get(got, "credit_card_int"),
            Some(&Value::IntValue(4_111_111_111_111_111)),
            "{label}"
        );
        assert_eq!(str_at(got, "credit_card"), "placeholder ****", "{label}");
        assert!(
            matches!(get(got, "list"), Some(Value::ArrayValue(_))),
            "{label}"
        );
    });
    let on = redactor(
        json!({"allow_all_keys": true, "blocked_values": [VISA], "redact_all_types": true}),
    );
    check_everywhere(&on, &a, |label, got| {
        assert_eq!(str_at(got, "credit_card_int"), "****", "{label}");
        assert_eq!(str_at(got, "credit_card"), "placeholder ****", "{label}");
        // An array is checked as its JSON text, and replaced by the masked text.
        assert_eq!(str_at(got, "list"), "[****,7]", "{label}");
        assert_eq!(get(got, "id"), Some(&Value::IntValue(5)), "{label}");
    });
}

/// The README's data-privacy example, read from the README itself.
#[test]
fn readme_example_does_what_the_readme_says() {
    let readme = include_str!("../README.md");
    let start = readme
        .find("```yaml\nprocessors:\n  redaction/pii:")
        .unwrap()
        + "```yaml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let key = "k".repeat(32);
    let yaml = readme[start..end].replace("${env:REDACTION_HMAC_KEY}", &key);
    let doc: Json = serde_yaml_ng::from_str(&yaml).unwrap();
    let r = redactor(doc["processors"]["redaction/pii"].clone());
    let hmac = |text: &str| {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(text.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    };
    let a = vec![
        kv("service.name", "checkout"),
        kv("user.email", "jane.doe@example.com"),
        kv("payment.note", "card 4111 1111 1111 1111 charged"),
        kv("http.request.header.authorization", "Bearer abc.def"),
        kv("DB_PASSWORD", "hunter2"),
        kv("http.route", "/checkout"),
    ];
    check_everywhere(&r, &a, |label, got| {
        assert_eq!(str_at(got, "service.name"), "checkout", "{label}");
        assert_eq!(
            str_at(got, "user.email"),
            hmac("jane.doe@example.com"),
            "{label}"
        );
        assert_eq!(
            str_at(got, "payment.note"),
            format!("card {} charged", hmac("4111 1111 1111 1111")),
            "{label}"
        );
        assert_eq!(
            str_at(got, "http.request.header.authorization"),
            hmac("Bearer abc.def"),
            "{label}"
        );
        assert_eq!(str_at(got, "DB_PASSWORD"), hmac("hunter2"), "{label}");
        assert_eq!(str_at(got, "http.route"), "/checkout", "{label}");
        assert_eq!(int_at(got, MASKED_COUNT), 4, "{label}");
        assert!(get(got, MASKED_KEYS).is_none(), "{label}: summary is info");
    });
    // The fail-closed example validates too.
    let start = readme
        .find("```yaml\nprocessors:\n  redaction/allowlist:")
        .unwrap()
        + 8;
    let end = start + readme[start..].find("```").unwrap();
    let doc: Json = serde_yaml_ng::from_str(&readme[start..end]).unwrap();
    let r = redactor(doc["processors"]["redaction/allowlist"].clone());
    assert!(!r.removes_every_attribute());
}

// --- hashing -----------------------------------------------------------------------

/// Digests computed independently (Python's hashlib and hmac); the MD5 ones are also
/// upstream's TestRedactSummaryDebugHashMD5 expectations.
#[test]
fn hash_functions_replace_the_masked_text_with_its_digest() {
    const KEY32: &str = "0123456789abcdef0123456789abcdef";
    for (function, key, card, token) in [
        (
            "md5",
            "",
            "5910f4ea0062a0e29afd3dccc741e3ce",
            "77e9ef3680c5518785ef0121d3884c3d",
        ),
        (
            "sha1",
            "",
            "68bfb396f35af3876fc509665b3dc23a0930aab1",
            "70a62ec5d8473e2687167f889dfe377270114e99",
        ),
        (
            "sha3",
            "",
            "6099154214406cce6105a4688ab66533d3a55d1d7dd393cbccf22b487a22d922",
            "52477f97ae28f8534eddc9303746b3323225ce8fc70bbabf1b4127b27284dc93",
        ),
        (
            "hmac-sha256",
            KEY32,
            "7b7e6cb2715c7b1c37110f035123abd3fe93c04fa302da2946c4bd9342d2fd2c",
            "",
        ),
        (
            "hmac-sha512",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "c3e759dbe03dcb4b3c7388988749e92241d68f060aca6b4ee13f1df573ac0007\
             863883398a177f243fbf4bc6da69bae896fbf8a00ff8ce8226c31582b8e05961",
            "",
        ),
    ] {
        let r = redactor(json!({
            "allow_all_keys": true,
            "blocked_values": [VISA],
            "blocked_key_patterns": [".*token.*"],
            "hash_function": function,
            "hmac_key": key,
        }));
        let mut p = traces()
            .span(
                span("s")
                    .attr("name", "placeholder 4111111111111111")
                    .attr("token_some", "tokenize"),
            )
            .payload();
        r.redact(&mut p);
        let got = lists(&p)[0].1;
        assert_eq!(
            str_at(got, "name"),
            format!("placeholder {card}"),
            "{function}"
        );
        if !token.is_empty() {
            assert_eq!(str_at(got, "token_some"), token, "{function}");
        }
    }
}

#[test]
fn the_hmac_key_never_shows() {
    let key = "a-very-secret-key-of-32-bytes!!!";
    let config: RedactionConfig =
        decode_config(&json!({"hash_function": "hmac-sha256", "hmac_key": key})).unwrap();
    let r = Redactor::new(&config).unwrap();
    assert!(!format!("{config:?} {r:?}").contains(key));
}

// --- which keys survive ------------------------------------------------------------

/// Upstream's TestRedactUnknownAttributes: keys not allowed are removed, allowed
/// ones kept with their values and types, ignored ones untouched.
#[test]
fn keys_not_allowed_are_removed_and_ignored_keys_untouched() {
    let r = redactor(json!({
        "allowed_keys": ["group", "id", "name"],
        "ignored_keys": ["safe_attribute"],
        "ignored_key_patterns": ["^safeRE_"],
        "blocked_values": [VISA],
        "blocked_key_patterns": ["safe"],
    }));
    let a = vec![
        kv("group", "temporary"),
        kv("id", 5),
        kv("name", "placeholder"),
        kv("safe_attribute", "4111111111111112"),
        kv("safeRE_attribute_id", "4111111111111113"),
        kv("credit_card", "4111111111111111"),
        kv("birth_date", "1970-01-01"),
    ];
    check_everywhere(&r, &a, |label, got| {
        let keys: Vec<&str> = got.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "group",
                "id",
                "name",
                "safe_attribute",
                "safeRE_attribute_id"
            ],
            "{label}"
        );
        assert_eq!(get(got, "id"), Some(&Value::IntValue(5)), "{label}");
        // Ignored keys pass even though a blocked value and a blocked key pattern match.
        assert_eq!(str_at(got, "safe_attribute"), "4111111111111112", "{label}");
        assert_eq!(
            str_at(got, "safeRE_attribute_id"),
            "4111111111111113",
            "{label}"
        );
    });
}

/// Upstream's documented, surprising default: no allowed keys and `allow_all_keys`
/// false remove every attribute (only ignored keys survive), map log bodies included.
#[test]
fn default_config_removes_every_attribute() {
    let r = redactor(Json::Null);
    assert!(r.removes_every_attribute());
    let a = attrs([("service.name", "checkout"), ("http.method", "GET")]);
    for mut p in everywhere(&a) {
        r.redact(&mut p);
        for (label, got) in lists(&p) {
            assert!(got.is_empty(), "{label}: {got:?}");
        }
        if matches!(p, Payload::Logs(_)) {
            assert!(body_map(&p).is_empty());
        }
    }
    let r = redactor(json!({"ignored_keys": ["service.name"]}));
    assert!(r.removes_every_attribute());
    check_everywhere(&r, &a, |label, got| {
        assert_eq!(got, &attrs([("service.name", "checkout")])[..], "{label}");
    });
    assert!(!redactor(json!({"allow_all_keys": true})).removes_every_attribute());
    assert!(!redactor(json!({"allowed_keys": ["a"]})).removes_every_attribute());
}

/// Upstream's TestAllowAllKeys.
#[test]
fn allow_all_keys_keeps_everything_unmasked() {
    let r =
        redactor(json!({"allowed_keys": ["group"], "allow_all_keys": true, "summary": "debug"}));
    let a = vec![
        kv("group", "temporary"),
        kv("id", 5),
        kv("name", "placeholder"),
    ];
    check_everywhere(&r, &a, |label, got| assert_eq!(got, &a[..], "{label}"));
}

// --- summary -------------------------------------------------------------------------

/// The attributes of upstream's TestRedactSummaryDebug.
fn summary_case_attrs() -> Vec<KeyValue> {
    vec![
        kv("id", 5),
        kv("group.id", "some.valid.id"),
        kv("member (id)", "some other valid id"),
        kv("name", "placeholder 4111111111111111"),
        kv("safe_attribute", "harmless 4111111111111112"),
        kv("safeRE_attribute_id", "safe id"),
        kv("safeRE_attribute_source", "safe source"),
        kv("credit_card", "4111111111111111"),
        kv("token_some", "tokenize"),
        kv("api_key_some", "apinize"),
        kv("email", "user@mycompany.com"),
    ]
}

fn summary_case(summary: &str) -> Redactor {
    redactor(json!({
        "allowed_keys": ["id", "group", "name", "group.id", "member (id)", "token_some", "api_key_some", "email"],
        "blocked_values": [VISA],
        "ignored_keys": ["safe_attribute"],
        "ignored_key_patterns": ["safeRE_attribute.*"],
        "blocked_key_patterns": [".*(token|api_key).*"],
        "allowed_values": [".+@mycompany.com"],
        "summary": summary,
    }))
}

/// `debug`: key lists (sorted, comma-joined) and counts, exactly as upstream's test
/// expects them, on every attribute list, and the body's under `redaction.body.*`.
#[test]
fn summary_debug_lists_keys_and_counts() {
    let r = summary_case("debug");
    check_everywhere(&r, &summary_case_attrs(), |label, got| {
        assert_eq!(str_at(got, REDACTED_KEYS), "credit_card", "{label}");
        assert_eq!(int_at(got, REDACTED_COUNT), 1, "{label}");
        assert_eq!(
            str_at(got, MASKED_KEYS),
            "api_key_some,name,token_some",
            "{label}"
        );
        assert_eq!(int_at(got, MASKED_COUNT), 3, "{label}");
        assert_eq!(str_at(got, ALLOWED_KEYS), "email", "{label}");
        assert_eq!(int_at(got, ALLOWED_COUNT), 1, "{label}");
        assert_eq!(int_at(got, IGNORED_COUNT), 3, "{label}");
        assert_eq!(str_at(got, "name"), "placeholder ****", "{label}");
        assert_eq!(str_at(got, "api_key_some"), "****", "{label}");
        assert_eq!(str_at(got, "email"), "user@mycompany.com", "{label}");
    });
    let mut p = everywhere(&summary_case_attrs()).remove(1);
    r.redact(&mut p);
    let record = record_attrs(&p);
    assert_eq!(str_at(record, BODY_REDACTED_KEYS), "credit_card");
    assert_eq!(int_at(record, BODY_REDACTED_COUNT), 1);
    assert_eq!(
        str_at(record, BODY_MASKED_KEYS),
        "api_key_some,name,token_some"
    );
    assert_eq!(int_at(record, BODY_MASKED_COUNT), 3);
    assert_eq!(str_at(record, BODY_ALLOWED_KEYS), "email");
    assert_eq!(int_at(record, BODY_ALLOWED_COUNT), 1);
    assert_eq!(int_at(record, BODY_IGNORED_COUNT), 3);
}

/// `info`: counts only.
#[test]
fn summary_info_counts_only() {
    let r = summary_case("info");
    check_everywhere(&r, &summary_case_attrs(), |label, got| {
        for key in [REDACTED_KEYS, MASKED_KEYS, ALLOWED_KEYS] {
            assert!(get(got, key).is_none(), "{label}: {key}");
        }
        assert_eq!(int_at(got, REDACTED_COUNT), 1, "{label}");
        assert_eq!(int_at(got, MASKED_COUNT), 3, "{label}");
        assert_eq!(int_at(got, ALLOWED_COUNT), 1, "{label}");
        assert_eq!(int_at(got, IGNORED_COUNT), 3, "{label}");
        assert_eq!(
            str_at(got, "safe_attribute"),
            "harmless 4111111111111112",
            "{label}"
        );
    });
}

/// `silent`, and the default: no summary attributes at all, the redaction the same.
#[test]
fn summary_silent_and_default_add_nothing() {
    for r in [summary_case("silent"), summary_case("")] {
        check_everywhere(&r, &summary_case_attrs(), |label, got| {
            assert!(
                got.iter().all(|kv| !kv.key.starts_with("redaction.")),
                "{label}: {got:?}"
            );
            assert!(get(got, "credit_card").is_none(), "{label}");
            assert_eq!(str_at(got, "name"), "placeholder ****", "{label}");
        });
    }
    let defaulted = redactor(json!({"allowed_keys": ["name"], "blocked_values": [VISA]}));
    check_everywhere(&defaulted, &summary_case_attrs(), |label, got| {
        assert_eq!(got, &attrs([("name", "placeholder ****")])[..], "{label}");
    });
}

/// Nothing redacted: no summary attributes, even with `debug`.
#[test]
fn summary_is_only_added_where_something_happened() {
    let r = redactor(json!({"allow_all_keys": true, "blocked_values": [VISA], "summary": "debug"}));
    let a = attrs([("plain", "text")]);
    check_everywhere(&r, &a, |label, got| assert_eq!(got, &a[..], "{label}"));
}

/// Upstream's TestProcessAttrsAppliedTwice: a second redaction merges into the
/// summary the first one left.
#[test]
fn summary_accumulates_across_two_processors() {
    let r = redactor(json!({
        "allowed_keys": ["id", "credit_card", "mystery"],
        "blocked_values": [VISA],
        "summary": "debug",
    }));
    let mut p = traces()
        .span(
            span("s")
                .attr("id", 5)
                .attr("redundant", 1.2)
                .attr("mystery", "mystery ****")
                .attr("credit_card", "4111111111111111")
                .attr(REDACTED_KEYS, "dropped_attr1,dropped_attr2")
                .attr(REDACTED_COUNT, 2)
                .attr(MASKED_KEYS, "mystery")
                .attr(MASKED_COUNT, 1),
        )
        .payload();
    r.redact(&mut p);
    let got = lists(&p)[0].1;
    assert_eq!(got.len(), 7, "{got:?}");
    assert_eq!(
        str_at(got, REDACTED_KEYS),
        "dropped_attr1,dropped_attr2,redundant"
    );
    assert_eq!(int_at(got, REDACTED_COUNT), 3);
    assert_eq!(str_at(got, MASKED_KEYS), "credit_card,mystery");
    assert_eq!(int_at(got, MASKED_COUNT), 2);
}

// --- log bodies ----------------------------------------------------------------------

fn only_record(p: &Payload) -> &LogRecord {
    let Payload::Logs(r) = p else {
        panic!("not logs")
    };
    &r[0].scope_logs[0].log_records[0]
}

/// Upstream's TestLogBodyRedactionDifferentTypes, string body.
#[test]
fn string_bodies_are_masked() {
    let r = redactor(
        json!({"allowed_keys": ["id"], "blocked_values": [VISA, EMAIL], "summary": "debug"}),
    );
    let mut p = logs()
        .record(log("paid 4111111111111111, mail jane@example.com"))
        .payload();
    r.redact(&mut p);
    let record = only_record(&p);
    assert_eq!(
        record.body.as_ref().and_then(|b| b.value.as_ref()),
        Some(&Value::StringValue("paid ****, mail ****".into()))
    );
    assert_eq!(str_at(&record.attributes, BODY_MASKED_KEYS), "body");
    assert_eq!(int_at(&record.attributes, BODY_MASKED_COUNT), 1);
}

/// An allowed string body is left alone, with no summary at all (upstream returns
/// before writing it).
#[test]
fn allowed_string_body_adds_no_summary() {
    let r = redactor(json!({
        "allow_all_keys": true,
        "blocked_values": [EMAIL],
        "allowed_values": ["@mycompany\\.com"],
        "summary": "debug",
    }));
    let mut p = logs().record(log("mail ops@mycompany.com")).payload();
    r.redact(&mut p);
    let record = only_record(&p);
    assert!(record.attributes.is_empty(), "{:?}", record.attributes);
}

/// Upstream's TestLogBodyRedactionDifferentTypes, nested map body: paths of nested
/// keys and list items, exactly as upstream's test expects them.
#[test]
fn map_bodies_are_redacted_recursively_with_paths() {
    let r = redactor(json!({
        "allowed_keys": ["id", "email", "credit_card", "nested", "slice"],
        "blocked_values": [VISA],
        "ignored_keys": ["safe_attribute"],
        "allowed_values": [".+@mycompany.com"],
        "summary": "debug",
    }));
    let body = kvlist([
        ("credit_card", "4111111111111111".into_any_value()),
        ("not_allowed_key", "temp".into_any_value()),
        ("id", "user123".into_any_value()),
        (
            "nested",
            kvlist([
                ("credit_card", "4111111111111111"),
                ("not_allowed_key", "temp"),
                ("id", "user123"),
                ("safe_attribute", "4111111111111111"),
                ("email", "user@mycompany.com"),
            ]),
        ),
        ("slice", array(["4111111111111111", "user123"])),
    ]);
    let mut p = logs().record(log(body)).payload();
    r.redact(&mut p);
    let record = only_record(&p);
    let expected = kvlist([
        ("credit_card", "****".into_any_value()),
        ("id", "user123".into_any_value()),
        (
            "nested",
            kvlist([
                ("credit_card", "****"),
                ("id", "user123"),
                ("safe_attribute", "4111111111111111"),
                ("email", "user@mycompany.com"),
            ]),
        ),
        ("slice", array(["****", "user123"])),
    ]);
    assert_eq!(record.body.as_ref(), Some(&expected));
    let a = &record.attributes;
    assert_eq!(
        str_at(a, BODY_REDACTED_KEYS),
        "nested.not_allowed_key,not_allowed_key"
    );
    assert_eq!(int_at(a, BODY_REDACTED_COUNT), 2);
    assert_eq!(
        str_at(a, BODY_MASKED_KEYS),
        "credit_card,nested.credit_card,slice.[0]"
    );
    assert_eq!(int_at(a, BODY_MASKED_COUNT), 3);
    assert_eq!(str_at(a, BODY_ALLOWED_KEYS), "nested.email");
    assert_eq!(int_at(a, BODY_ALLOWED_COUNT), 1);
    assert_eq!(int_at(a, BODY_IGNORED_COUNT), 1);
}

/// A list body's items are named `[i]`; non-string leaves are checked through their
/// string form and replaced by a string when masked.
#[test]
fn list_bodies_and_non_string_leaves() {
    let r = redactor(json!({"allow_all_keys": true, "blocked_values": [VISA], "summary": "debug"}));
    let body = array([
        "4111111111111111".into_any_value(),
        4_111_111_111_111_111_i64.into_any_value(),
        array(["x 4111111111111111"]),
    ]);
    let mut p = logs().record(log(body)).payload();
    r.redact(&mut p);
    let record = only_record(&p);
    assert_eq!(
        record.body.as_ref(),
        Some(&array([
            "****".into_any_value(),
            "****".into_any_value(),
            array(["x ****"])
        ]))
    );
    assert_eq!(
        str_at(&record.attributes, BODY_MASKED_KEYS),
        "[0],[1],[2].[0]"
    );
}

// --- the processor -----------------------------------------------------------------

fn ctx() -> BuildContext {
    BuildContext::new(
        ComponentId::new("redaction"),
        vec![Signal::Traces],
        Registry::new(),
    )
}

fn pii_batch() -> Telemetry {
    traces()
        .span(
            span("checkout")
                .attr("user.email", "jane@example.com")
                .attr("card", "4111111111111111"),
        )
        .build()
}

fn pii_config() -> Json {
    json!({"allow_all_keys": true, "blocked_values": [VISA, EMAIL]})
}

fn masked(t: &Telemetry) -> Vec<KeyValue> {
    lists(&t.payload)[0].1.clone()
}

#[tokio::test]
async fn consume_redacts_before_passing_on() {
    let sink = RecordingConsumer::new();
    let p = RedactionProcessorFactory
        .build(ctx(), &pii_config(), sink.clone())
        .await
        .unwrap();
    p.consume(pii_batch()).await.unwrap();
    let got = sink.batches();
    assert_eq!(
        masked(&got[0]),
        attrs([("user.email", "****"), ("card", "****")])
    );
    // Errors from downstream reach the sender.
    sink.refuse_next(1, ConsumeError::retryable("full"));
    assert!(!p.consume(pii_batch()).await.unwrap_err().is_permanent());
}

/// Two-phase admission passes through, redacting first: what a reserving consumer
/// holds and commits is the redacted batch, and a refusal hands back redacted data.
#[tokio::test]
async fn prepare_redacts_and_forwards() {
    let sink = RecordingConsumer::reserving();
    let p = RedactionProcessorFactory
        .build(ctx(), &pii_config(), sink.clone())
        .await
        .unwrap();
    assert!(p.can_prepare());
    let Prepared::Ready(admission) = p.prepare(pii_batch()).await else {
        panic!("not ready")
    };
    assert_eq!(sink.batch_count(), 0, "held, not yet committed");
    admission.commit().await.unwrap();
    assert_eq!(
        masked(&sink.batches()[0]),
        attrs([("user.email", "****"), ("card", "****")])
    );
    sink.refuse_next(1, ConsumeError::retryable("full"));
    match p.prepare(pii_batch()).await {
        Prepared::Refused(_, back) => {
            assert_eq!(
                masked(&back),
                attrs([("user.email", "****"), ("card", "****")])
            )
        }
        other => panic!("{other:?}"),
    }
    let plain = RedactionProcessorFactory
        .build(ctx(), &pii_config(), RecordingConsumer::new())
        .await
        .unwrap();
    assert!(!plain.can_prepare());
    assert!(matches!(
        plain.prepare(pii_batch()).await,
        Prepared::Unsupported(_)
    ));
}

/// A consumer that only reports a destination.
struct WithDestination(Arc<Destination>);

#[async_trait]
impl Consumer for WithDestination {
    async fn consume(&self, _data: Telemetry) -> Result<(), ConsumeError> {
        Ok(())
    }
    fn destinations(&self) -> Vec<Arc<Destination>> {
        vec![self.0.clone()]
    }
}

#[tokio::test]
async fn destinations_are_the_next_consumers() {
    let d = Destination::new("otlp/eu");
    let next: BoxConsumer = Arc::new(WithDestination(d.clone()));
    let p = RedactionProcessorFactory
        .build(ctx(), &pii_config(), next)
        .await
        .unwrap();
    let got = p.destinations();
    assert_eq!(got.len(), 1);
    assert!(Arc::ptr_eq(&got[0], &d));
}

#[tokio::test]
async fn build_refuses_invalid_config_with_paths() {
    let err = RedactionProcessorFactory
        .build(
            ctx(),
            &json!({"blocked_values": ["ok", "(bad"]}),
            RecordingConsumer::new(),
        )
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("blocked_values::1: invalid regular expression `(bad`"),
        "{err}"
    );
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::processor(&RedactionProcessorFactory).await;
}
