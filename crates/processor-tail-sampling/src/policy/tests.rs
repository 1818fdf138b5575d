//! Each policy type, table by table: config in, trace in, decision out.

use std::time::Duration;

use serde_json::{Value, json};
use stratus_core::factory::decode_config;
use stratus_core::pdata::common::{InstrumentationScope, KeyValue};
use stratus_core::pdata::trace::Span;
use stratus_testkit::otlp::{
    SAMPLE_TIME_NS, SpanBuilder, StatusCode, TracesBuilder, event, span, traces,
};
use tokio::time::Instant;

use super::*;
use crate::config::TailSamplingConfig;
use stratus_ottl::ErrorMode;

use Decision::*;

const MS: u64 = 1_000_000;

/// A trace of the spans in `b`, decided now.
fn trace(b: TracesBuilder) -> TraceData {
    trace_at(b, Instant::now())
}

fn trace_at(b: TracesBuilder, decision_time: Instant) -> TraceData {
    let batches = b.resource_spans();
    let span_count = batches
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len() as u64)
        .sum();
    TraceData {
        trace_id: [7; 16],
        span_count,
        batches,
        decision_time,
    }
}

/// One span, in a trace of its own.
fn one(s: SpanBuilder) -> TracesBuilder {
    traces().span(s)
}

/// A span lasting from `start_ms` to `end_ms` after a fixed instant.
fn timed(start_ms: u64, end_ms: u64) -> SpanBuilder {
    span("op")
        .start(SAMPLE_TIME_NS + start_ms * MS)
        .end(SAMPLE_TIME_NS + end_ms * MS)
}

/// The evaluator of a top-level policy given as JSON (validated first).
fn policy(p: Value) -> Box<dyn Evaluator> {
    let cfg: TailSamplingConfig = decode_config(&json!({ "policies": [p] }))
        .unwrap_or_else(|e| panic!("invalid policy {p}: {e:?}"));
    build(&cfg.policies[0], Instant::now()).unwrap()
}

/// Runs a table: each case's trace through a fresh evaluator of its policy.
fn check(cases: Vec<(&str, Value, TracesBuilder, Decision)>) {
    for (what, p, b, want) in cases {
        let mut e = policy(p);
        assert_eq!(e.evaluate(&trace(b)).unwrap(), want, "{what}");
    }
}

#[test]
fn combine_follows_upstreams_rule() {
    let cases: &[(&[Decision], Decision)] = &[
        (&[], NotSampled),
        (&[Sampled], Sampled),
        (&[NotSampled], NotSampled),
        (&[Sampled, NotSampled], Sampled),
        (&[Sampled, Dropped], Dropped),
        (&[Dropped, InvertSampled], Dropped),
        (&[Sampled, InvertNotSampled], NotSampled),
        (&[InvertSampled], Sampled),
        (&[InvertSampled, NotSampled], NotSampled),
        (&[InvertSampled, Sampled, NotSampled], Sampled),
        (&[InvertNotSampled, InvertSampled], NotSampled),
    ];
    for (input, want) in cases {
        assert_eq!(combine(input.iter().copied()), *want, "{input:?}");
    }
}

#[test]
fn always_sample() {
    check(vec![(
        "any trace",
        json!({"name": "p", "type": "always_sample"}),
        one(span("x")),
        Sampled,
    )]);
}

#[test]
fn latency() {
    let lat = |t: i64, u: i64| json!({"name": "p", "type": "latency", "latency": {"threshold_ms": t, "upper_threshold_ms": u}});
    check(vec![
        (
            "500 ms against 500",
            lat(500, 0),
            one(timed(0, 500)),
            Sampled,
        ),
        (
            "499 ms against 500",
            lat(500, 0),
            one(timed(0, 499)),
            NotSampled,
        ),
        (
            "earliest start to latest end across spans",
            lat(500, 0),
            traces().span(timed(0, 300)).span(timed(200, 600)),
            Sampled,
        ),
        (
            "within (100, 400]",
            lat(100, 400),
            one(timed(0, 400)),
            Sampled,
        ),
        (
            "lower bound is exclusive with an upper bound",
            lat(100, 400),
            one(timed(0, 100)),
            NotSampled,
        ),
        (
            "above the upper bound",
            lat(100, 400),
            one(timed(0, 500)),
            NotSampled,
        ),
        (
            // Upstream checks after each span: a prefix within the range samples the
            // trace even though the whole trace lasts longer.
            "upstream's span-by-span walk",
            lat(100, 400),
            traces().span(timed(0, 200)).span(timed(0, 900)),
            Sampled,
        ),
        (
            "sub-millisecond remainder is truncated",
            lat(2, 0),
            one(span("op")
                .start(SAMPLE_TIME_NS)
                .end(SAMPLE_TIME_NS + 2 * MS - 1)),
            NotSampled,
        ),
    ]);
}

#[test]
fn status_code() {
    let sc = |codes: Value| json!({"name": "p", "type": "status_code", "status_code": {"status_codes": codes}});
    check(vec![
        (
            "an error span",
            sc(json!(["ERROR"])),
            traces().span(span("a").ok()).span(span("b").error("x")),
            Sampled,
        ),
        (
            "no error span",
            sc(json!(["ERROR"])),
            traces().span(span("a").ok()).span(span("b")),
            NotSampled,
        ),
        (
            "no status is UNSET",
            sc(json!(["UNSET"])),
            one(span("a")),
            Sampled,
        ),
        (
            "OK or UNSET",
            sc(json!(["OK", "UNSET"])),
            one(span("a").status(StatusCode::Ok, "")),
            Sampled,
        ),
    ]);
}

#[test]
fn numeric_attribute() {
    let num = |min: i64, max: i64, invert: bool| {
        json!({"name": "p", "type": "numeric_attribute", "numeric_attribute":
            {"key": "http.status_code", "min_value": min, "max_value": max, "invert_match": invert}})
    };
    let status = |v: i64| one(span("a").attr("http.status_code", v));
    check(vec![
        ("in range", num(400, 599, false), status(503), Sampled),
        (
            "bounds are inclusive",
            num(400, 599, false),
            status(599),
            Sampled,
        ),
        (
            "out of range",
            num(400, 599, false),
            status(200),
            NotSampled,
        ),
        (
            "no such attribute",
            num(400, 599, false),
            one(span("a")),
            NotSampled,
        ),
        (
            "min only: max 0 is unbounded",
            num(400, 0, false),
            status(100_000),
            Sampled,
        ),
        (
            "max only: min 0 is unbounded",
            num(0, 10, false),
            status(-50),
            Sampled,
        ),
        (
            "resource attribute",
            num(400, 599, false),
            traces()
                .resource([("http.status_code", 500)])
                .span(span("a")),
            Sampled,
        ),
        (
            // pdata's Int() of a string is 0.
            "a string value reads as 0",
            num(-5, 5, false),
            one(span("a").attr("http.status_code", "five hundred")),
            Sampled,
        ),
        (
            "inverted, a match",
            num(400, 599, true),
            status(503),
            InvertNotSampled,
        ),
        (
            "inverted, no match",
            num(400, 599, true),
            status(200),
            InvertSampled,
        ),
        (
            "inverted, no attribute",
            num(400, 599, true),
            one(span("a")),
            InvertSampled,
        ),
    ]);
}

#[test]
fn string_attribute() {
    let s = |values: Value, regex: bool, invert: bool| {
        json!({"name": "p", "type": "string_attribute", "string_attribute":
            {"key": "k", "values": values, "enabled_regex_matching": regex, "invert_match": invert}})
    };
    let with = |v: &str| one(span("a").attr("k", v));
    check(vec![
        (
            "exact match",
            s(json!(["v1", "v2"]), false, false),
            with("v2"),
            Sampled,
        ),
        (
            "exact, no match",
            s(json!(["v1", "v2"]), false, false),
            with("v3"),
            NotSampled,
        ),
        (
            "exact is not a prefix match",
            s(json!(["v"]), false, false),
            with("v1"),
            NotSampled,
        ),
        (
            "resource attribute",
            s(json!(["checkout"]), false, false),
            traces().resource([("k", "checkout")]).span(span("a")),
            Sampled,
        ),
        (
            "an int attribute is not a string",
            s(json!(["5"]), false, false),
            one(span("a").attr("k", 5)),
            NotSampled,
        ),
        (
            "regex",
            s(json!(["^/api/.+"]), true, false),
            with("/api/users"),
            Sampled,
        ),
        (
            "regex is unanchored, as upstream",
            s(json!(["health"]), true, false),
            with("/v1/health/live"),
            Sampled,
        ),
        (
            "regex, no match",
            s(json!(["^/api/.+"]), true, false),
            with("/web"),
            NotSampled,
        ),
        (
            // Spans' empty values are skipped, resources' are not.
            "empty span value is never matched",
            s(json!([".*"]), true, false),
            with(""),
            NotSampled,
        ),
        (
            "empty resource value is matched",
            s(json!([".*"]), true, false),
            traces().resource([("k", "")]).span(span("a")),
            Sampled,
        ),
        (
            "inverted, a match",
            s(json!(["v1"]), false, true),
            with("v1"),
            InvertNotSampled,
        ),
        (
            "inverted, no match",
            s(json!(["v1"]), false, true),
            with("v9"),
            InvertSampled,
        ),
        (
            "inverted, no attribute",
            s(json!(["v1"]), false, true),
            one(span("a")),
            InvertSampled,
        ),
        (
            "inverted, one span of two matches",
            s(json!(["v1"]), false, true),
            traces()
                .span(span("a").attr("k", "v9"))
                .span(span("b").attr("k", "v1")),
            InvertNotSampled,
        ),
    ]);
}

#[test]
fn string_attribute_regex_cache_keeps_answers() {
    let mut e = policy(
        json!({"name": "p", "type": "string_attribute", "string_attribute":
        {"key": "k", "values": ["^a"], "enabled_regex_matching": true, "cache_max_size": 2}}),
    );
    for round in 0..3 {
        for (v, want) in [
            ("abc", Sampled),
            ("xyz", NotSampled),
            ("aa", Sampled),
            ("b", NotSampled),
        ] {
            let d = e.evaluate(&trace(one(span("s").attr("k", v)))).unwrap();
            assert_eq!(d, want, "{v} in round {round}");
        }
    }
}

#[test]
fn boolean_attribute() {
    let b = |value: bool, invert: bool| {
        json!({"name": "p", "type": "boolean_attribute", "boolean_attribute":
            {"key": "app.force_sample", "value": value, "invert_match": invert}})
    };
    check(vec![
        (
            "true matches true",
            b(true, false),
            one(span("a").attr("app.force_sample", true)),
            Sampled,
        ),
        (
            "false does not match true",
            b(true, false),
            one(span("a").attr("app.force_sample", false)),
            NotSampled,
        ),
        (
            "false matches false",
            b(false, false),
            one(span("a").attr("app.force_sample", false)),
            Sampled,
        ),
        ("missing", b(true, false), one(span("a")), NotSampled),
        (
            "resource attribute",
            b(true, false),
            traces()
                .resource([("app.force_sample", true)])
                .span(span("a")),
            Sampled,
        ),
        (
            // pdata's Bool() of a string is false.
            "a string value reads as false",
            b(false, false),
            one(span("a").attr("app.force_sample", "yes")),
            Sampled,
        ),
        (
            "inverted, a match",
            b(true, true),
            one(span("a").attr("app.force_sample", true)),
            InvertNotSampled,
        ),
        (
            "inverted, no match",
            b(true, true),
            one(span("a").attr("app.force_sample", false)),
            InvertSampled,
        ),
    ]);
}

#[test]
fn trace_state() {
    let ts = json!({"name": "p", "type": "trace_state", "trace_state": {"key": "key3", "values": ["value1", "value2"]}});
    check(vec![
        (
            "value listed",
            ts.clone(),
            one(span("a").trace_state("ot=th:8,key3=value2")),
            Sampled,
        ),
        (
            "value not listed",
            ts.clone(),
            one(span("a").trace_state("key3=value9")),
            NotSampled,
        ),
        ("no trace state", ts.clone(), one(span("a")), NotSampled),
        (
            "invalid trace state",
            ts.clone(),
            one(span("a").trace_state("key3=value1,BAD=1")),
            NotSampled,
        ),
        (
            "any span",
            ts,
            traces()
                .span(span("a"))
                .span(span("b").trace_state("key3=value1")),
            Sampled,
        ),
    ]);
}

#[test]
fn span_count() {
    let sc = |min: i32, max: i32| json!({"name": "p", "type": "span_count", "span_count": {"min_spans": min, "max_spans": max}});
    let n = |k: usize| traces().spans((0..k).map(|i| span(format!("s{i}"))));
    check(vec![
        ("below min", sc(2, 3), n(1), NotSampled),
        ("min is inclusive", sc(2, 3), n(2), Sampled),
        ("max is inclusive", sc(2, 3), n(3), Sampled),
        ("above max", sc(2, 3), n(4), NotSampled),
        ("max 0 is unbounded", sc(2, 0), n(50), Sampled),
    ]);
}

#[test]
fn probabilistic_threshold_is_upstreams() {
    // Reference values from an independent exact computation (Python fractions): the
    // product (2^64 - 1) * (percent / 100 as f64), rounded to 64 significant bits
    // (nearest even), truncated.
    let cases: &[(f64, u64)] = &[
        (10.0, 0x1999_9999_9999_99ff),
        (25.0, 0x3fff_ffff_ffff_ffff),
        (33.3, 0x553f_7ced_9168_6fff),
        (0.01, 0x0006_8db8_bac7_10cb),
        (0.1, 0x0041_8937_4bc6_a7ef),
        (1.0, 0x028f_5c28_f5c2_8f5f),
        (50.0, 0x7fff_ffff_ffff_ffff),
        (99.99, 0xfff9_7247_4538_e7ff),
        (100.0, u64::MAX),
        (150.0, u64::MAX),
        (0.0, 0),
        (-1.0, 0),
    ];
    for (pct, want) in cases {
        assert_eq!(probabilistic_threshold(pct / 100.0), *want, "{pct}%");
    }
}

#[test]
fn probabilistic_hashes_salt_then_trace_id() {
    assert_eq!(
        basic::fnv1a64(&[b"a"]),
        0xaf63_dc4c_8601_ec8c,
        "FNV-1a 64 test vector"
    );
    let id: Vec<u8> = (0u8..16).collect();
    // fnv1a64("default-hash-seed" ++ 00 01 .. 0f) = 0xa6622cfe5bfb0e0d, 64.99 % of u64::MAX.
    assert_eq!(
        basic::fnv1a64(&[b"default-hash-seed", &id]),
        0xa662_2cfe_5bfb_0e0d
    );
    let decide = |pct: f64, salt: &str| {
        let mut e = policy(json!({"name": "p", "type": "probabilistic",
            "probabilistic": {"sampling_percentage": pct, "hash_salt": salt}}));
        let mut t = trace(one(span("a")));
        t.trace_id.copy_from_slice(&id);
        e.evaluate(&t).unwrap()
    };
    assert_eq!(decide(66.0, ""), Sampled);
    assert_eq!(decide(64.0, ""), NotSampled);
    assert_eq!(
        decide(66.0, "default-hash-seed"),
        Sampled,
        "empty salt is the default"
    );
}

#[test]
fn probabilistic_rate_is_near_the_percentage() {
    let mut e = policy(json!({"name": "p", "type": "probabilistic",
        "probabilistic": {"sampling_percentage": 25, "hash_salt": "s"}}));
    let mut t = trace(one(span("a")));
    let mut sampled = 0;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        // splitmix64: ids spread over the whole space.
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        t.trace_id[..8].copy_from_slice(&z.to_le_bytes());
        t.trace_id[8..].copy_from_slice(&(z ^ x).to_be_bytes());
        if e.evaluate(&t).unwrap() == Sampled {
            sampled += 1;
        }
    }
    // 25 % of 20,000 is 5,000 with a standard deviation of ~61: ±5 sd.
    assert!((4_700..=5_300).contains(&sampled), "{sampled} of 20000");
}

#[test]
fn rate_limiting_counts_spans_per_second() {
    let mut e = policy(
        json!({"name": "p", "type": "rate_limiting", "rate_limiting": {"spans_per_second": 10}}),
    );
    // Windows are counted from the policy's creation: decisions come after it.
    let t0 = Instant::now();
    let four = || traces().spans((0..4).map(|i| span(format!("s{i}"))));
    let at = |secs: u64| trace_at(four(), t0 + Duration::from_secs(secs));
    assert_eq!(e.evaluate(&at(0)).unwrap(), Sampled, "4 < 10");
    assert_eq!(e.evaluate(&at(0)).unwrap(), Sampled, "8 < 10");
    assert_eq!(
        e.evaluate(&at(0)).unwrap(),
        NotSampled,
        "12 would exceed 10"
    );
    assert_eq!(e.evaluate(&at(1)).unwrap(), Sampled, "a new second");
    // Strictly below: a trace of exactly the rate is never sampled, as upstream.
    let ten = trace_at(
        traces().spans((0..10).map(|i| span(format!("s{i}")))),
        t0 + Duration::from_secs(5),
    );
    assert_eq!(e.evaluate(&ten).unwrap(), NotSampled);
}

#[test]
fn and_samples_when_every_sub_policy_samples() {
    let and = json!({"name": "p", "type": "and", "and": {"and_sub_policy": [
        {"name": "a", "type": "numeric_attribute", "numeric_attribute": {"key": "n", "min_value": 50, "max_value": 100}},
        {"name": "b", "type": "string_attribute", "string_attribute": {"key": "s", "values": ["v1"], "invert_match": true}},
    ]}});
    check(vec![
        (
            "both",
            and.clone(),
            one(span("a").attr("n", 60).attr("s", "other")),
            Sampled,
        ),
        (
            "numeric fails",
            and.clone(),
            one(span("a").attr("n", 10).attr("s", "other")),
            NotSampled,
        ),
        (
            "inverted match fails",
            and,
            one(span("a").attr("n", 60).attr("s", "v1")),
            NotSampled,
        ),
    ]);
}

#[test]
fn drop_drops_when_every_sub_policy_matches() {
    let drop = json!({"name": "p", "type": "drop", "drop": {"drop_sub_policy": [
        {"name": "health", "type": "string_attribute",
         "string_attribute": {"key": "url.path", "values": ["/health", "/metrics"], "enabled_regex_matching": true}},
    ]}});
    check(vec![
        (
            "health probe",
            drop.clone(),
            one(span("a").attr("url.path", "/health")),
            Dropped,
        ),
        (
            "other path",
            drop,
            one(span("a").attr("url.path", "/cart")),
            NotSampled,
        ),
    ]);
}

fn composite_policy() -> Box<dyn Evaluator> {
    policy(json!({"name": "c", "type": "composite", "composite": {
        "max_total_spans_per_second": 100,
        "policy_order": ["errors", "checkout", "rest"],
        "composite_sub_policy": [
            {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
            {"name": "checkout", "type": "string_attribute", "string_attribute": {"key": "service", "values": ["checkout"]}},
            {"name": "rest", "type": "always_sample"},
        ],
        "rate_allocation": [
            {"policy": "errors", "percent": 50},
            {"policy": "checkout", "percent": 25},
        ],
    }}))
}

/// A trace of 10 spans, one with `attr`, the first an error when `error`.
fn ten(error: bool, service: &str, at: Instant) -> TraceData {
    let spans = (0..10).map(|i| {
        let s = span(format!("s{i}")).attr("service", service);
        if error && i == 0 { s.error("boom") } else { s }
    });
    trace_at(traces().spans(spans), at)
}

#[test]
fn composite_splits_spans_per_second_by_percent() {
    let mut e = composite_policy();
    let t0 = Instant::now();
    let mut count = |error: bool, service: &str, at: Instant, n: usize| {
        (0..n)
            .filter(|_| e.evaluate(&ten(error, service, at)).unwrap() == Sampled)
            .count()
    };
    // 50 % of 100 spans/s: five 10-span error traces a second.
    assert_eq!(count(true, "other", t0, 8), 5);
    // 25 %: two 10-span checkout traces (20 spans; a third would make 30 > 25).
    assert_eq!(count(false, "checkout", t0, 8), 2);
    // Without a rate_allocation entry a sub-policy has no share (upstream's rule).
    assert_eq!(count(false, "other", t0, 3), 0);
    // The first sub-policy that samples decides: an error trace from checkout uses
    // the errors share, which is spent for this second.
    assert_eq!(count(true, "checkout", t0, 1), 0);
    // The next second starts every share again.
    let t1 = t0 + Duration::from_secs(1);
    assert_eq!(count(true, "checkout", t1, 8), 5);
    assert_eq!(count(false, "checkout", t1, 8), 2);
}

#[test]
fn composite_percent_zero_is_an_equal_share() {
    let c: TailSamplingConfig = decode_config(
        &json!({"policies": [{"name": "c", "type": "composite", "composite": {
            "max_total_spans_per_second": 90,
            "composite_sub_policy": [
                {"name": "a", "type": "always_sample"},
                {"name": "b", "type": "always_sample"},
                {"name": "c", "type": "always_sample"},
            ],
            "rate_allocation": [{"policy": "a", "percent": 0}, {"policy": "b", "percent": 10}],
        }}]}),
    )
    .unwrap();
    let shares = compound::allocations(&c.policies[0].composite);
    assert_eq!(shares.get("a"), Some(&30), "90 / 3 sub-policies");
    assert_eq!(shares.get("b"), Some(&9));
    assert_eq!(shares.get("c"), None);
}

#[test]
fn composite_sub_policy_may_be_and() {
    let mut e = policy(json!({"name": "c", "type": "composite", "composite": {
        "max_total_spans_per_second": 1000,
        "composite_sub_policy": [
            {"name": "both", "type": "and", "and": {"and_sub_policy": [
                {"name": "x", "type": "string_attribute", "string_attribute": {"key": "service", "values": ["a"]}},
                {"name": "y", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
            ]}},
        ],
        "rate_allocation": [{"policy": "both", "percent": 100}],
    }}));
    let t = Instant::now();
    assert_eq!(e.evaluate(&ten(true, "a", t)).unwrap(), Sampled);
    assert_eq!(e.evaluate(&ten(false, "a", t)).unwrap(), NotSampled);
}

fn ottl(mode: &str, span: Value, spanevent: Value) -> Box<dyn Evaluator> {
    policy(json!({"name": "o", "type": "ottl_condition",
        "ottl_condition": {"error_mode": mode, "span": span, "spanevent": spanevent}}))
}

#[test]
fn ottl_condition_ors_conditions_over_spans_and_events() {
    let t = || {
        trace(
            traces()
                .resource([("cloud.region", "eu-west-1")])
                .span(span("a").attr("http.route", "/cart"))
                .span(span("b").error("boom").event(event("retry").attr("n", 2))),
        )
    };
    let cases = vec![
        (
            "no span matches",
            json!([r#"name == "zzz""#]),
            json!([]),
            NotSampled,
        ),
        (
            "the second condition matches the second span",
            json!([r#"name == "zzz""#, "status.code == STATUS_CODE_ERROR"]),
            json!([]),
            Sampled,
        ),
        (
            "resource path",
            json!([r#"resource.attributes["cloud.region"] == "eu-west-1""#]),
            json!([]),
            Sampled,
        ),
        (
            "span event",
            json!([]),
            json!([r#"name == "retry" and attributes["n"] > 1"#]),
            Sampled,
        ),
        (
            "span event, no match",
            json!([]),
            json!([r#"name == "other""#]),
            NotSampled,
        ),
        (
            // Upstream's README example: `!=` on a missing attribute is true.
            "span conditions first, then events",
            json!([r#"name == "zzz""#]),
            json!([r#"attributes["missing"] != "x""#]),
            Sampled,
        ),
    ];
    for (what, span_conds, event_conds, want) in cases {
        let mut e = ottl("propagate", span_conds, event_conds);
        assert_eq!(e.evaluate(&t()).unwrap(), want, "{what}");
    }
}

#[test]
fn ottl_condition_error_modes() {
    // Indexing into a double fails to evaluate; the next condition matches.
    let conds = json!([r#"attributes["ratio"]["x"] == "a""#, r#"name == "keep""#]);
    let t = trace(one(span("keep").attr("ratio", 0.5)));
    let err = ottl("propagate", conds.clone(), json!([]))
        .evaluate(&t)
        .unwrap_err();
    assert!(err.0.contains("does not support indexing"), "{err}");
    // ignore and silent: the failing condition is false, the next one still counts.
    assert_eq!(
        ottl("ignore", conds.clone(), json!([]))
            .evaluate(&t)
            .unwrap(),
        Sampled
    );
    assert_eq!(
        ottl("silent", conds, json!([])).evaluate(&t).unwrap(),
        Sampled
    );
    // The default is propagate, as upstream's.
    let c: TailSamplingConfig = decode_config(&json!({"policies": [
        {"name": "o", "type": "ottl_condition", "ottl_condition": {"span": ["true"]}}
    ]}))
    .unwrap();
    assert_eq!(
        c.policies[0].ottl_condition.error_mode,
        ErrorMode::Propagate
    );
}

#[test]
fn helpers_read_attributes_like_pdata() {
    let attrs: Vec<KeyValue> = vec![
        stratus_testkit::otlp::kv("a", 1),
        stratus_testkit::otlp::kv("a", 2),
        KeyValue {
            key: "empty".into(),
            ..Default::default()
        },
    ];
    assert!(
        matches!(
            attribute(&attrs, "a"),
            Some(Some(any_value::Value::IntValue(1)))
        ),
        "the first wins"
    );
    assert_eq!(attribute(&attrs, "empty"), Some(None));
    assert_eq!(attribute(&attrs, "none"), None);
    // Spans without a scope or resource are still walked.
    let t = TraceData {
        trace_id: [0; 16],
        span_count: 1,
        batches: vec![ResourceSpans {
            scope_spans: vec![stratus_core::pdata::trace::ScopeSpans {
                scope: None::<InstrumentationScope>,
                spans: vec![Span {
                    name: "x".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
        decision_time: Instant::now(),
    };
    assert_eq!(t.spans().count(), 1);
}
