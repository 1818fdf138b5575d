//! Include/exclude tables after upstream's `filterspan_test.go`, `filterlog_test.go`,
//! `severity_matcher_test.go` and `filtermetric_test.go`.

use super::*;
use serde_json::{Value, json};
use stratus_testkit::otlp::{
    LogBuilder, SeverityNumber, SpanBuilder, SpanKind, gauge, kv, log, span,
};

fn block(v: Value) -> MatchProperties {
    serde_json::from_value(v).unwrap()
}

fn filter(signal: Signal, include: Option<Value>, exclude: Option<Value>) -> Filter {
    let (i, e) = (include.map(block), exclude.map(block));
    Filter::new(signal, i.as_ref(), e.as_ref()).unwrap()
}

fn resource(attrs: &[(&str, &str)]) -> Resource {
    Resource {
        attributes: attrs.iter().map(|(k, v)| kv(*k, *v)).collect(),
        ..Default::default()
    }
}

fn scope(name: &str, version: &str) -> InstrumentationScope {
    InstrumentationScope {
        name: name.into(),
        version: version.into(),
        ..Default::default()
    }
}

/// A span of service `svc` (none when empty) from scope `lib` 1.0.
struct SpanCase {
    svc: &'static str,
    span: SpanBuilder,
}

fn processed(f: &Filter, case: &SpanCase) -> bool {
    let r = (!case.svc.is_empty()).then(|| resource(&[("service.name", case.svc)]));
    let s = scope("lib", "1.0");
    !f.resource(r.as_ref())
        .scope(Some(&s))
        .skip_span(&case.span.clone().build())
}

fn spans_table(include: Option<Value>, exclude: Option<Value>, cases: &[(&str, SpanCase, bool)]) {
    let f = filter(Signal::Traces, include.clone(), exclude.clone());
    for (name, case, want) in cases {
        assert_eq!(
            processed(&f, case),
            *want,
            "{name}: include {include:?} exclude {exclude:?}"
        );
    }
}

fn sp(svc: &'static str, span: SpanBuilder) -> SpanCase {
    SpanCase { svc, span }
}

#[test]
fn services_strict_and_regexp() {
    spans_table(
        Some(json!({"match_type": "strict", "services": ["svcA", "svcB"]})),
        None,
        &[
            ("listed", sp("svcA", span("x")), true),
            ("other listed", sp("svcB", span("x")), true),
            ("not listed", sp("svcC", span("x")), false),
            ("prefix only", sp("svcA2", span("x")), false),
            ("no service.name", sp("", span("x")), false),
        ],
    );
    spans_table(
        Some(json!({"match_type": "regexp", "services": ["^svc[AB]$", "other"]})),
        None,
        &[
            ("regexp", sp("svcA", span("x")), true),
            ("unanchored", sp("an-other-svc", span("x")), true),
            ("no match", sp("svcC", span("x")), false),
        ],
    );
    spans_table(
        Some(json!({"match_type": "strict", "services": ["<nil-service-name>"]})),
        None,
        &[(
            "no service.name is <nil-service-name>",
            sp("", span("x")),
            true,
        )],
    );
}

#[test]
fn span_names_and_kinds() {
    spans_table(
        None,
        Some(json!({"match_type": "regexp", "span_names": ["^health", "ready$"]})),
        &[
            ("excluded", sp("a", span("healthz")), false),
            ("excluded suffix", sp("a", span("is-ready")), false),
            ("kept", sp("a", span("GET /cart")), true),
        ],
    );
    spans_table(
        Some(
            json!({"match_type": "strict", "span_kinds": ["SPAN_KIND_SERVER", "SPAN_KIND_CONSUMER"]}),
        ),
        None,
        &[
            ("server", sp("a", span("x").kind(SpanKind::Server)), true),
            (
                "consumer",
                sp("a", span("x").kind(SpanKind::Consumer)),
                true,
            ),
            ("client", sp("a", span("x").kind(SpanKind::Client)), false),
            ("unspecified", sp("a", span("x")), false),
        ],
    );
    spans_table(
        Some(json!({"match_type": "regexp", "span_kinds": ["SERVER|CLIENT"]})),
        None,
        &[
            ("client", sp("a", span("x").kind(SpanKind::Client)), true),
            (
                "internal",
                sp("a", span("x").kind(SpanKind::Internal)),
                false,
            ),
        ],
    );
}

#[test]
fn attributes_strict_need_type_and_value() {
    spans_table(
        Some(json!({"match_type": "strict", "attributes": [
            {"key": "http.status_code", "value": 200},
            {"key": "tenant"}
        ]})),
        None,
        &[
            (
                "both",
                sp(
                    "a",
                    span("x").attr("http.status_code", 200).attr("tenant", "t1"),
                ),
                true,
            ),
            (
                "int vs string",
                sp(
                    "a",
                    span("x")
                        .attr("http.status_code", "200")
                        .attr("tenant", "t1"),
                ),
                false,
            ),
            (
                "missing one",
                sp("a", span("x").attr("http.status_code", 200)),
                false,
            ),
            (
                "wrong value",
                sp(
                    "a",
                    span("x").attr("http.status_code", 500).attr("tenant", 1),
                ),
                false,
            ),
            ("no attributes", sp("a", span("x")), false),
        ],
    );
    spans_table(
        Some(
            json!({"match_type": "strict", "attributes": [{"key": "ratio", "value": 0.5}, {"key": "ok", "value": true}]}),
        ),
        None,
        &[
            (
                "double and bool",
                sp("a", span("x").attr("ratio", 0.5).attr("ok", true)),
                true,
            ),
            (
                "bool differs",
                sp("a", span("x").attr("ratio", 0.5).attr("ok", false)),
                false,
            ),
        ],
    );
}

#[test]
fn attributes_regexp_match_scalars_as_text() {
    spans_table(
        Some(
            json!({"match_type": "regexp", "attributes": [{"key": "code", "value": "^2\\d\\d$"}]}),
        ),
        None,
        &[
            ("int", sp("a", span("x").attr("code", 204)), true),
            ("string", sp("a", span("x").attr("code", "200")), true),
            ("no match", sp("a", span("x").attr("code", 404)), false),
            (
                "list never matches",
                sp(
                    "a",
                    span("x").attr("code", stratus_testkit::otlp::array([200])),
                ),
                false,
            ),
        ],
    );
    spans_table(
        Some(
            json!({"match_type": "regexp", "attributes": [{"key": "v", "value": "^1\\.5$"}, {"key": "b", "value": "true"}]}),
        ),
        None,
        &[(
            "double and bool as text",
            sp("a", span("x").attr("v", 1.5).attr("b", true)),
            true,
        )],
    );
}

#[test]
fn resources_and_libraries() {
    let f = filter(
        Signal::Traces,
        Some(
            json!({"match_type": "strict", "resources": [{"key": "cloud.region", "value": "eu-west-1"}]}),
        ),
        None,
    );
    let eu = resource(&[("cloud.region", "eu-west-1")]);
    let us = resource(&[("cloud.region", "us-east-1")]);
    let s = span("x").build();
    assert!(!f.resource(Some(&eu)).scope(None).skip_span(&s));
    assert!(f.resource(Some(&us)).scope(None).skip_span(&s));
    assert!(
        f.resource(None).scope(None).skip_span(&s),
        "no resource: no match"
    );

    let f = filter(
        Signal::Traces,
        Some(json!({"match_type": "strict", "libraries": [
            {"name": "lib-a"},
            {"name": "lib-b", "version": ""},
            {"name": "lib-c", "version": "2.0"}
        ]})),
        None,
    );
    let at = |name: &str, version: &str| {
        !f.resource(None)
            .scope(Some(&scope(name, version)))
            .skip_span(&s)
    };
    assert!(at("lib-a", "9"), "no version: any version");
    assert!(at("lib-b", ""), "empty version: only empty");
    assert!(!at("lib-b", "1"));
    assert!(at("lib-c", "2.0"));
    assert!(!at("lib-c", "2.1"));
    assert!(!at("lib-d", ""));
    assert!(
        f.resource(None).scope(None).skip_span(&s),
        "no scope: name and version empty"
    );
}

#[test]
fn include_is_checked_before_exclude() {
    spans_table(
        Some(json!({"match_type": "strict", "services": ["checkout"]})),
        Some(json!({"match_type": "regexp", "span_names": ["^health"]})),
        &[
            ("included", sp("checkout", span("GET /cart")), true),
            (
                "included then excluded",
                sp("checkout", span("healthz")),
                false,
            ),
            ("not included", sp("payments", span("GET /pay")), false),
        ],
    );
    let f = filter(Signal::Traces, None, None);
    assert!(f.is_empty());
    assert!(processed(&f, &sp("", span("x"))));
}

fn logs_table(include: Option<Value>, exclude: Option<Value>, cases: &[(&str, LogBuilder, bool)]) {
    let f = filter(Signal::Logs, include.clone(), exclude.clone());
    for (name, record, want) in cases {
        let got = !f
            .resource(None)
            .scope(None)
            .skip_log(&record.clone().build());
        assert_eq!(
            got, *want,
            "{name}: include {include:?} exclude {exclude:?}"
        );
    }
}

#[test]
fn log_bodies_and_severity_texts() {
    logs_table(
        Some(json!({"match_type": "regexp", "log_bodies": ["^disk", "timeout"]})),
        None,
        &[
            ("body", log("disk almost full"), true),
            ("unanchored", log("request timeout after 5s"), true),
            ("other", log("all good"), false),
            ("non-string body as text", log(42), false),
        ],
    );
    logs_table(
        Some(json!({"match_type": "strict", "log_bodies": ["42"]})),
        None,
        &[("int body as its string", log(42), true)],
    );
    logs_table(
        Some(json!({"match_type": "regexp", "log_severity_texts": ["^(?i)warn", "ERROR"]})),
        None,
        &[
            (
                "regexp, case-insensitive",
                log("x").severity_text("Warning"),
                true,
            ),
            ("regexp, unanchored", log("x").severity_text("ERROR2"), true),
            ("regexp, no match", log("x").severity_text("INFO"), false),
            ("no severity text", log("x"), false),
        ],
    );
    logs_table(
        None,
        Some(json!({"match_type": "strict", "log_severity_texts": ["DEBUG", "TRACE"]})),
        &[
            ("debug excluded", log("x").severity_text("DEBUG"), false),
            ("info kept", log("x").severity_text("INFO"), true),
        ],
    );
}

#[test]
fn log_severity_number() {
    let cases = |undefined: bool| -> Vec<(&str, LogBuilder, bool)> {
        vec![
            ("below", log("x").severity(SeverityNumber::Debug4), false),
            ("equal", log("x").severity(SeverityNumber::Info), true),
            ("above", log("x").severity(SeverityNumber::Fatal), true),
            ("undefined", log("x"), undefined),
        ]
    };
    for min in [
        json!(9),
        json!("INFO"),
        json!("info"),
        json!("SEVERITY_NUMBER_INFO"),
    ] {
        logs_table(
            Some(json!({"match_type": "strict", "log_severity_number": {"min": min}})),
            None,
            &cases(false),
        );
    }
    logs_table(
        Some(
            json!({"match_type": "strict", "log_severity_number": {"min": "INFO", "match_undefined": true}}),
        ),
        None,
        &cases(true),
    );
    logs_table(
        Some(json!({"match_type": "strict", "attributes": [{"key": "disk", "value": "/dev/sda"}]})),
        None,
        &[
            ("attribute", log("x").attr("disk", "/dev/sda"), true),
            ("other", log("x").attr("disk", "/dev/sdb"), false),
        ],
    );
}

#[test]
fn metric_names_and_resources() {
    let f = filter(
        Signal::Metrics,
        Some(json!({"match_type": "regexp", "metric_names": ["^http\\."]})),
        Some(json!({"match_type": "strict", "metric_names": ["http.client.duration"]})),
    );
    let at = f.resource(None);
    assert!(!at.skip_metric(&gauge("http.server.duration").build()));
    assert!(
        at.skip_metric(&gauge("http.client.duration").build()),
        "excluded"
    );
    assert!(at.skip_metric(&gauge("db.calls").build()), "not included");
    assert!(at.scope(None).skip_metric(&gauge("db.calls").build()));

    let f = filter(
        Signal::Metrics,
        Some(json!({"match_type": "strict", "resources": [{"key": "env", "value": "prod"}]})),
        None,
    );
    let prod = resource(&[("env", "prod")]);
    assert!(!f.resource(Some(&prod)).skip_metric(&gauge("m").build()));
    assert!(f.resource(None).skip_metric(&gauge("m").build()));

    // Span keys do not filter metrics: upstream ignores them there.
    let f = filter(
        Signal::Metrics,
        Some(json!({"match_type": "strict", "services": ["a"], "span_names": ["b"]})),
        None,
    );
    assert!(f.is_empty());
}

fn problems(signal: Option<Signal>, include: Value) -> Vec<(String, String)> {
    let b = block(include);
    let got = match signal {
        None => b.validate("include"),
        Some(s) => Filter::new(s, Some(&b), None).err().unwrap_or_default(),
    };
    got.into_iter().map(|p| (p.path, p.message)).collect()
}

#[test]
fn invalid_blocks_are_reported_at_their_key_paths() {
    let cases: Vec<(Option<Signal>, Value, &str, &str)> = vec![
        (
            None,
            json!({"services": ["a"]}),
            "include::match_type",
            "required",
        ),
        (
            None,
            json!({"match_type": "glob", "services": ["a"]}),
            "include::match_type",
            "unrecognized match_type `glob`",
        ),
        (
            None,
            json!({"match_type": "regexp", "span_names": ["ok", "(unclosed"]}),
            "include::span_names[1]",
            "invalid regular expression",
        ),
        (
            None,
            json!({"match_type": "strict", "span_kinds": ["SERVER"]}),
            "include::span_kinds[0]",
            "is not a span kind",
        ),
        (
            None,
            json!({"match_type": "regexp", "attributes": [{"key": "code", "value": 200}]}),
            "include::attributes[0]::value",
            "only supports Str, but found Int",
        ),
        (
            None,
            json!({"match_type": "strict", "resources": [{"value": "x"}]}),
            "include::resources[0]::key",
            "required",
        ),
        (
            None,
            json!({"match_type": "strict", "log_severity_number": {"min": "LOUD"}}),
            "include::log_severity_number::min",
            "`LOUD` is not a severity",
        ),
        (
            None,
            json!({"match_type": "strict", "log_severity_number": {"min": 30}}),
            "include::log_severity_number::min",
            "30 is not a severity",
        ),
        (
            None,
            json!({"match_type": "regexp", "libraries": [{"name": "("}]}),
            "include::libraries[0]::name[0]",
            "invalid regular expression",
        ),
        (
            Some(Signal::Traces),
            json!({"match_type": "strict", "services": ["a"], "log_bodies": ["x"]}),
            "include::log_bodies",
            "should not be specified for trace spans",
        ),
        (
            Some(Signal::Traces),
            json!({"match_type": "strict", "metric_names": ["m"]}),
            "include",
            "for spans, at least one of",
        ),
        (
            Some(Signal::Logs),
            json!({"match_type": "strict", "services": ["a"], "log_bodies": ["x"]}),
            "include::services",
            "not valid for log records",
        ),
        (
            Some(Signal::Logs),
            json!({"match_type": "strict"}),
            "include",
            "for log records, at least one of",
        ),
    ];
    for (signal, include, path, message) in cases {
        let got = problems(signal, include.clone());
        assert!(
            got.iter().any(|(p, m)| p == path && m.contains(message)),
            "{signal:?} {include}: want `{path}: ...{message}...`, got {got:?}"
        );
    }
    assert!(problems(None, json!({"match_type": "strict", "services": ["a"]})).is_empty());
}

#[test]
fn unknown_keys_are_rejected() {
    let err = serde_json::from_value::<MatchProperties>(
        json!({"match_type": "strict", "span_name": ["x"]}),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("unknown field `span_name`"),
        "{err}"
    );
}
