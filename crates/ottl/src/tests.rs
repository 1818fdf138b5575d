//! Table-driven tests: conditions evaluated on one fixture per context, and conditions
//! that must not parse, with the column and a fragment of the message.

use stratus_core::Metadata;
use stratus_core::pdata::logs::ResourceLogs;
use stratus_core::pdata::metrics::{ResourceMetrics, metric::Data};
use stratus_core::pdata::trace::ResourceSpans;
use stratus_testkit::otlp::*;

use super::*;

struct Fixture {
    traces: Vec<ResourceSpans>,
    logs: Vec<ResourceLogs>,
    metrics: Vec<ResourceMetrics>,
    metadata: Metadata,
}

const TRACE_HEX: &str = "5b8efff798038103d269b633813fc60c";

impl Fixture {
    fn new() -> Self {
        let mut traces = traces()
            .resource([("service.name", "checkout"), ("cloud.region", "eu-west-1")])
            .scope(scope("http-server").version("1.2").attr("scope.attr", "s"))
            .span(
                span("GET /cart")
                    .kind(SpanKind::Server)
                    .error("timeout")
                    .trace_id(DEFAULT_TRACE_ID)
                    .span_id(0x00f0_67aa_0ba9_02b7u64)
                    .trace_state("ot=th:8")
                    .start(1000)
                    .end(5000)
                    .attr("http.method", "GET")
                    .attr("http.status_code", 503)
                    .attr("ratio", 0.5)
                    .attr("cached", false)
                    .attr("tags", array(["a", "b"]))
                    .attr("nested", kvlist([("inner", kv_str("x")), ("n", kv_int(2))]))
                    .attr("raw", bytes([1u8, 2]))
                    .attr("empty", "")
                    .attr("quote", "say \"hi\"\n")
                    .attr("letter", "A")
                    .attr("city", "Zürich")
                    .attr("delta", -5)
                    .event(event("cache.miss").time(2000).attr("key", "user:1")),
            )
            .resource_spans();
        if let Some(r) = traces[0].resource.as_mut() {
            r.attributes.push(kv("replicas", 3));
        }
        let logs = logs()
            .resource([("service.name", "auth")])
            .scope("auth-lib")
            .record(
                log("login failed: password=hunter2")
                    .severity(SeverityNumber::Warn)
                    .time(10)
                    .observed(20)
                    .trace(DEFAULT_TRACE_ID, 7u64)
                    .event_name("auth.failure")
                    .flags(1)
                    .attr("user", "alice")
                    .attr("attempts", 3),
            )
            .resource_logs();
        let metrics = metrics()
            .resource([("service.name", "api")])
            .scope("meter")
            .metric(
                gauge("queue.depth")
                    .unit("1")
                    .description("Items waiting")
                    .point(number_point(3).attr("queue", "a").start(100).time(200)),
            )
            .resource_metrics();
        let metadata = Metadata::new(
            None,
            [
                ("X-Tenant".to_string(), "acme".to_string()),
                ("x-region".to_string(), "eu".to_string()),
                ("x-region".to_string(), "us".to_string()),
            ],
        );
        Fixture {
            traces,
            logs,
            metrics,
            metadata,
        }
    }

    fn item(&self, ctx: Context) -> Item<'_> {
        let rs = &self.traces[0];
        let ss = &rs.scope_spans[0];
        let span = &ss.spans[0];
        let rl = &self.logs[0];
        let sl = &rl.scope_logs[0];
        let rm = &self.metrics[0];
        let sm = &rm.scope_metrics[0];
        let metric = &sm.metrics[0];
        match ctx {
            Context::Resource => Item::Resource {
                resource: rs.resource.as_ref(),
            },
            Context::Span => Item::Span {
                resource: rs.resource.as_ref(),
                scope: ss.scope.as_ref(),
                span,
            },
            Context::SpanEvent => Item::SpanEvent {
                resource: rs.resource.as_ref(),
                scope: ss.scope.as_ref(),
                span,
                event: &span.events[0],
            },
            Context::Log => Item::Log {
                resource: rl.resource.as_ref(),
                scope: sl.scope.as_ref(),
                record: &sl.log_records[0],
            },
            Context::Metric => Item::Metric {
                resource: rm.resource.as_ref(),
                scope: sm.scope.as_ref(),
                metric,
            },
            Context::DataPoint => {
                let Some(Data::Gauge(g)) = &metric.data else {
                    panic!("fixture metric is a gauge")
                };
                Item::DataPoint {
                    resource: rm.resource.as_ref(),
                    scope: sm.scope.as_ref(),
                    metric,
                    point: Point::Number(&g.data_points[0]),
                }
            }
            Context::Request => Item::Request {
                metadata: &self.metadata,
            },
        }
    }
}

fn kv_str(s: &str) -> stratus_core::pdata::common::AnyValue {
    s.into_any_value()
}

fn kv_int(i: i64) -> stratus_core::pdata::common::AnyValue {
    i.into_any_value()
}

use Context::{
    DataPoint as D, Log as L, Metric as M, Request as Q, Resource as R, Span as S, SpanEvent as E,
};

/// (context, condition, expected result on the fixture's item of that context).
const TRUTH: &[(Context, &str, bool)] = &[
    // span fields and enums
    (S, r#"name == "GET /cart""#, true),
    (S, r#"name != "GET /cart""#, false),
    (S, r#"span.name == "GET /cart""#, true),
    (S, "kind == SPAN_KIND_SERVER", true),
    (S, "kind == 2", true),
    (S, "kind == SPAN_KIND_CLIENT", false),
    (S, "status.code == STATUS_CODE_ERROR", true),
    (S, "status.code != STATUS_CODE_OK", true),
    (S, r#"status.message == "timeout""#, true),
    (
        S,
        r#"trace_id.string == "5b8efff798038103d269b633813fc60c""#,
        true,
    ),
    (S, r#"span_id.string == "00f067aa0ba902b7""#, true),
    (S, r#"parent_span_id.string == "0000000000000000""#, true),
    (S, r#"trace_state == "ot=th:8""#, true),
    (
        S,
        "start_time_unix_nano == 1000 and end_time_unix_nano > start_time_unix_nano",
        true,
    ),
    // attributes, by type
    (S, r#"attributes["http.method"] == "GET""#, true),
    (S, r#"attributes["http.method"] < "HEAD""#, true),
    (S, r#"attributes["http.method"] >= "GET""#, true),
    (S, r#"attributes["http.status_code"] >= 500"#, true),
    (S, r#"attributes["http.status_code"] > 503"#, false),
    (S, r#"attributes["http.status_code"] == 503.0"#, true),
    (S, r#"attributes["http.status_code"] < 503.5"#, true),
    (S, r#"attributes["ratio"] == 0.5"#, true),
    (S, r#"attributes["ratio"] == .5"#, true),
    (S, r#"attributes["ratio"] < 1"#, true),
    (S, r#"attributes["delta"] == -5"#, true),
    (S, r#"attributes["delta"] < -4.5"#, true),
    (S, r#"attributes["cached"] == false"#, true),
    (S, r#"attributes["cached"] < true"#, true),
    (S, r#"attributes["empty"] == """#, true),
    (S, r#"attributes["quote"] == "say \"hi\"\n""#, true),
    (S, r#"attributes["letter"] == "\u0041""#, true),
    (S, r#"attributes["city"] == "Zürich""#, true),
    (S, r#"attributes["raw"] == 0x0102"#, true),
    (S, r#"attributes["raw"] != nil"#, true),
    (S, r#"attributes["raw"] == nil"#, false),
    // mismatched types: != holds, nothing else does, never an error
    (S, r#"attributes["http.method"] > 5"#, false),
    (S, r#"attributes["http.method"] == 5"#, false),
    (S, r#"attributes["http.method"] != 5"#, true),
    (S, r#"attributes["http.status_code"] == "503""#, false),
    (S, r#"attributes["cached"] == 0"#, false),
    (S, r#"attributes["tags"] != "a""#, true),
    (S, r#"attributes["tags"] == "a""#, false),
    // missing attribute is nil
    (S, r#"attributes["missing"] == nil"#, true),
    (S, r#"attributes["missing"] != nil"#, false),
    (S, r#"attributes["missing"] <= nil"#, true),
    (S, r#"attributes["missing"] < nil"#, false),
    (S, r#"attributes["missing"] == """#, false),
    (S, r#"attributes["missing"] != "x""#, true),
    (S, r#"attributes["missing"] < 1"#, false),
    (S, r#"nil == attributes["missing"]"#, true),
    (
        S,
        r#"attributes["missing"] == attributes["also.missing"]"#,
        true,
    ),
    // nested keys
    (S, r#"attributes["nested"]["inner"] == "x""#, true),
    (S, r#"attributes["nested"]["n"] == 2"#, true),
    (S, r#"attributes["nested"]["gone"] == nil"#, true),
    (S, r#"attributes["missing"]["deeper"] == nil"#, true),
    (S, r#"attributes["tags"][1] == "b""#, true),
    // resource and scope
    (
        S,
        r#"resource.attributes["cloud.region"] == "eu-west-1""#,
        true,
    ),
    (S, r#"resource.attributes["replicas"] == 3"#, true),
    (S, r#"instrumentation_scope.name == "http-server""#, true),
    (S, r#"instrumentation_scope.version == "1.2""#, true),
    (S, r#"scope.version == "1.2""#, true),
    (
        S,
        r#"instrumentation_scope.attributes["scope.attr"] == "s""#,
        true,
    ),
    // IsMatch (unanchored, like Go's MatchString; non-strings by their text)
    (S, r#"IsMatch(name, "^GET")"#, true),
    (S, r#"IsMatch(name, "cart")"#, true),
    (S, r#"IsMatch(name, "POST")"#, false),
    (
        S,
        r#"IsMatch(resource.attributes["cloud.region"], "^eu-")"#,
        true,
    ),
    (
        S,
        r#"IsMatch(attributes["http.status_code"], "^5\\d\\d$")"#,
        true,
    ),
    (S, r#"IsMatch(attributes["ratio"], "^0\\.5$")"#, true),
    (S, r#"IsMatch(attributes["cached"], "^false$")"#, true),
    (S, r#"IsMatch(attributes["raw"], "^0102$")"#, true),
    (S, r#"IsMatch(attributes["missing"], ".*")"#, false),
    (S, r#"IsMatch(attributes["tags"], ".*")"#, false),
    (S, r#"IsMatch(trace_id.string, "^5b8e")"#, true),
    (S, r#"IsMatch("literal", "^lit")"#, true),
    (S, r#"IsMatch(name, "^GET") == true"#, true),
    (S, r#"IsMatch(name, "^GET") != false"#, true),
    (S, r#"not IsMatch(name, "^GET")"#, false),
    // boolean structure: and binds tighter than or
    (S, r#"name == "x" and kind == 2 or status.code == 2"#, true),
    (
        S,
        r#"name == "x" and (kind == 2 or status.code == 2)"#,
        false,
    ),
    (S, r#"status.code == 2 or name == "x" and kind == 1"#, true),
    (S, r#"not name == "x""#, true),
    (S, r#"not (name == "GET /cart" or kind == 1)"#, false),
    (S, r#"not not name == "GET /cart""#, true),
    (S, r#"(((name == "GET /cart")))"#, true),
    (S, "true", true),
    (S, "false", false),
    (S, "true and false", false),
    (S, "false or true", true),
    (S, "   name   ==   \"GET /cart\"   ", true),
    // span events
    (E, r#"name == "cache.miss""#, true),
    (E, r#"spanevent.name == "cache.miss""#, true),
    (E, r#"attributes["key"] == "user:1""#, true),
    (E, r#"attributes["http.method"] == nil"#, true),
    (E, "time_unix_nano == 2000", true),
    (E, r#"span.name == "GET /cart""#, true),
    (E, r#"span.attributes["http.method"] == "GET""#, true),
    (E, "span.status.code == STATUS_CODE_ERROR", true),
    (E, "span.kind == SPAN_KIND_SERVER", true),
    (
        E,
        r#"resource.attributes["service.name"] == "checkout""#,
        true,
    ),
    // resources
    (R, r#"attributes["cloud.region"] == "eu-west-1""#, true),
    (
        R,
        r#"resource.attributes["cloud.region"] == "eu-west-1""#,
        true,
    ),
    (R, r#"attributes["replicas"] > 2"#, true),
    (
        R,
        r#"IsMatch(attributes["cloud.region"], "^(eu|europe)-")"#,
        true,
    ),
    (R, r#"attributes["cloud.region"] == "us-east-1""#, false),
    // logs
    (L, r#"body == "login failed: password=hunter2""#, true),
    (L, r#"IsMatch(body, "password=")"#, true),
    (L, "severity_number == SEVERITY_NUMBER_WARN", true),
    (L, "severity_number == 13", true),
    (L, "severity_number < SEVERITY_NUMBER_ERROR", true),
    (L, "severity_number >= SEVERITY_NUMBER_WARN4", false),
    (L, "severity_number > SEVERITY_NUMBER_INFO4", true),
    (L, r#"severity_text == "WARN""#, true),
    (L, r#"log.severity_text == "WARN""#, true),
    (
        L,
        r#"attributes["user"] == "alice" and attributes["attempts"] >= 3"#,
        true,
    ),
    (
        L,
        r#"trace_id.string == "5b8efff798038103d269b633813fc60c" and IsMatch(trace_id.string, "c60c$")"#,
        true,
    ),
    (L, r#"span_id.string == "0000000000000007""#, true),
    (L, r#"event_name == "auth.failure""#, true),
    (L, "flags == 1", true),
    (
        L,
        "time_unix_nano == 10 and observed_time_unix_nano == 20",
        true,
    ),
    (L, r#"resource.attributes["service.name"] == "auth""#, true),
    (L, r#"instrumentation_scope.name == "auth-lib""#, true),
    (L, r#"instrumentation_scope.version == """#, true),
    // metrics
    (M, r#"name == "queue.depth""#, true),
    (M, r#"metric.name == "queue.depth""#, true),
    (M, "type == METRIC_DATA_TYPE_GAUGE", true),
    (M, "type == METRIC_DATA_TYPE_SUM", false),
    (M, r#"unit == "1" and description == "Items waiting""#, true),
    (
        M,
        "aggregation_temporality == nil and is_monotonic == nil",
        true,
    ),
    (M, r#"resource.attributes["service.name"] == "api""#, true),
    // data points
    (D, r#"metric.name == "queue.depth""#, true),
    (D, "metric.type == METRIC_DATA_TYPE_GAUGE", true),
    (D, r#"attributes["queue"] == "a""#, true),
    (D, r#"datapoint.attributes["queue"] == "a""#, true),
    (D, "value_int == 3 and value_double == 0.0", true),
    (D, "count == nil and sum == nil", true),
    (
        D,
        "start_time_unix_nano == 100 and time_unix_nano == 200",
        true,
    ),
    (D, r#"instrumentation_scope.name == "meter""#, true),
    // requests: any value matches; != needs a value that differs
    (Q, r#"request["X-Tenant"] == "acme""#, true),
    (Q, r#"request["x-tenant"] == "acme""#, true),
    (Q, r#"request["x-tenant"] != "acme""#, false),
    (Q, r#"request["x-region"] == "us""#, true),
    (Q, r#"request["x-region"] == "eu""#, true),
    (Q, r#"request["x-region"] != "eu""#, true),
    (Q, r#"request["missing"] == "x""#, false),
    (Q, r#"request["missing"] != "x""#, false),
    (
        Q,
        r#"request["x-tenant"] == "acme" and request["x-region"] == "eu""#,
        true,
    ),
    (Q, r#"not request["x-tenant"] == "beta""#, true),
];

#[test]
fn conditions_evaluate_as_upstream_ottl() {
    assert_eq!(format!("{DEFAULT_TRACE_ID:032x}"), TRACE_HEX, "fixture id");
    let fx = Fixture::new();
    let mut failures = Vec::new();
    for (ctx, text, want) in TRUTH {
        let cond = match Condition::parse(text, *ctx) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{ctx}: {text:?} did not parse: {e}"));
                continue;
            }
        };
        match cond.eval(&fx.item(*ctx)) {
            Ok(got) if got == *want => {}
            Ok(got) => failures.push(format!("{ctx}: {text:?} gave {got}, want {want}")),
            Err(e) => failures.push(format!("{ctx}: {text:?} failed: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// (context, bad condition, column, fragment of the message).
const BAD: &[(Context, &str, usize, &str)] = &[
    (
        S,
        "name ==",
        8,
        r#"expected a value after "==", found end of condition"#,
    ),
    (
        L,
        "severity_text ==",
        17,
        r#"expected a value after "==", found end of condition"#,
    ),
    (
        S,
        r#"attributes["Zürich"] =="#,
        24,
        r#"expected a value after "==""#,
    ),
    (S, "", 1, "expected a condition, found end of condition"),
    (
        S,
        r#"name == "a" and"#,
        16,
        r#"expected a condition after "and", found end of condition"#,
    ),
    (
        S,
        r#"name == "a" and and"#,
        17,
        r#"expected a condition after "and", found "and""#,
    ),
    (
        S,
        "not",
        4,
        r#"expected a condition after "not", found end of condition"#,
    ),
    (S, r#"== "a""#, 1, r#"expected a condition, found "==""#),
    (
        S,
        r#"attributes["x"] == == 1"#,
        20,
        r#"expected a value after "==", found "==""#,
    ),
    (
        S,
        r#"nmae == "x""#,
        1,
        r#"unknown path "nmae" in the span context; valid paths: attributes["…"], name, kind, status.code"#,
    ),
    (
        S,
        "severity_number == 1",
        1,
        "(it is a path of the log context)",
    ),
    (
        S,
        r#"trace_id == "abc""#,
        1,
        "(ids are read as hex strings: trace_id.string)",
    ),
    (
        Q,
        r#"name == "x""#,
        1,
        r#"unknown path "name" in the request context"#,
    ),
    (R, r#"name == "x""#, 1, r#"valid paths: attributes["…"]"#),
    (
        E,
        r#"span.events == 1"#,
        1,
        r#"unknown path "span.events" in the spanevent context"#,
    ),
    (
        M,
        r#"attributes["x"] == 1"#,
        1,
        r#"unknown path "attributes" in the metric context"#,
    ),
    (
        S,
        "kind == SPAN_KIND_SERVR",
        9,
        r#"unknown enum symbol "SPAN_KIND_SERVR" in the span context; valid symbols: SPAN_KIND_UNSPECIFIED"#,
    ),
    (
        S,
        "kind == SEVERITY_NUMBER_WARN",
        9,
        r#"unknown enum symbol "SEVERITY_NUMBER_WARN""#,
    ),
    (
        R,
        r#"attributes["x"] == SPAN_KIND_SERVER"#,
        20,
        "the resource context has no enum symbols",
    ),
    (S, r#"IsMach(name, "x")"#, 1, r#"unknown function "IsMach""#),
    (
        S,
        r#"ISMATCH(name, "x")"#,
        1,
        r#"unknown function "ISMATCH""#,
    ),
    (
        S,
        "IsMatch(name)",
        13,
        r#"IsMatch takes 2 arguments (target, "pattern"), found 1"#,
    ),
    (S, "IsMatch()", 9, "found none"),
    (
        S,
        r#"IsMatch(name "x")"#,
        14,
        r#"expected "," between the arguments of IsMatch"#,
    ),
    (
        S,
        r#"IsMatch(name, "(")"#,
        15,
        r#"invalid regular expression "(":"#,
    ),
    (
        S,
        r#"IsMatch(name, attributes["p"])"#,
        15,
        "expected the pattern of IsMatch as a string literal",
    ),
    (S, r#"IsMatch(name, "a", "b")"#, 18, "found more"),
    (
        S,
        r#"IsMatch(name, "a""#,
        18,
        r#"expected ")" to close IsMatch( at column 8"#,
    ),
    (S, "IsMatch", 8, r#"expected "(" after IsMatch"#),
    (S, r#"set(name, "x")"#, 1, r#""set" is not a function"#),
    (
        S,
        r#"attributes == "x""#,
        12,
        r#"expected ["key"] after "attributes""#,
    ),
    (
        S,
        r#"resource.attributes == "x""#,
        21,
        r#"expected ["key"] after "resource.attributes""#,
    ),
    (
        S,
        r#"attributes[0] == "x""#,
        12,
        r#"keys of "attributes" are strings"#,
    ),
    (S, r#"name["x"] == "y""#, 5, r#""name" takes no [key]"#),
    (
        S,
        r#"attributes["a" == 1"#,
        16,
        r#"expected "]" to close the "[" at column 11"#,
    ),
    (S, r#"attributes[name] == 1"#, 12, "expected a string key"),
    (
        S,
        r#"attributes["a"].b == 1"#,
        16,
        "a path cannot continue after its keys",
    ),
    (
        S,
        "status. == 1",
        9,
        r#"expected a path segment after "status.""#,
    ),
    (S, r#"name == "x"#, 9, "unterminated string"),
    (S, "name == 'x'", 9, "double quotes"),
    (S, r#"name == "a\d""#, 11, r#"unknown escape "\d""#),
    (S, r#"name == "\u00""#, 10, "expected 4 hex digits"),
    (
        S,
        r#"name = "x""#,
        6,
        r#"expected "==" to compare, found "=""#,
    ),
    (S, r#"! name == "x""#, 1, r#"(negation is written "not")"#),
    (
        S,
        r#"name == "x" name == "y""#,
        13,
        r#"expected "and", "or" or the end of the condition, found "name""#,
    ),
    (S, r#"name == "a" == "b""#, 13, "one operator on each side"),
    (
        S,
        r#"(name == "x""#,
        13,
        r#"expected ")" to close the "(" at column 1, found end of condition"#,
    ),
    (S, r#"name == "x")"#, 12, r#"found ")""#),
    (
        S,
        "name",
        5,
        "expected a comparison operator (==, !=, <, <=, >, >=) after path name, found end of condition",
    ),
    (
        S,
        r#"attributes["x"] and true"#,
        17,
        r#"after path attributes["x"], found "and""#,
    ),
    (
        S,
        r#""x""#,
        4,
        r#"expected a comparison operator (==, !=, <, <=, >, >=) after the string "x", found end"#,
    ),
    (S, r#"name == "x" "y""#, 13, r#"found the string "y""#),
    (
        S,
        r#"attributes["x"] == 1."#,
        22,
        "expected digits after the decimal point",
    ),
    (
        S,
        r#"attributes["x"] == 1e5"#,
        20,
        "(an exponent needs a fraction: 1.0e3)",
    ),
    (
        S,
        "kind == 99999999999999999999",
        9,
        "does not fit in a 64-bit integer",
    ),
    (
        S,
        r#"attributes["x"] == 0x123"#,
        20,
        "odd number of hex digits",
    ),
    (
        S,
        "kind == (1)",
        9,
        r#"expected a value after "==", found "(""#,
    ),
    (S, "kind == @", 9, "unexpected character '@'"),
    (
        Q,
        r#"request["x"] < "a""#,
        14,
        "the request context compares with == or != only",
    ),
    (
        Q,
        r#"request["x"] == 1"#,
        17,
        r#"expected a string after "==""#,
    ),
    (
        Q,
        r#""a" == request["x"]"#,
        1,
        "the request context compares a header",
    ),
    (Q, r#"IsMatch(request["x"], "a")"#, 1, "not IsMatch"),
    (
        Q,
        r#"request == "a""#,
        9,
        r#"expected ["key"] after "request": request is read one key at a time, e.g. request["x-tenant"]"#,
    ),
];

#[test]
fn bad_conditions_name_the_column_and_what_was_expected() {
    let mut failures = Vec::new();
    for (ctx, text, column, fragment) in BAD {
        match Condition::parse(text, *ctx) {
            Ok(_) => failures.push(format!("{ctx}: {text:?} parsed, but must not")),
            Err(e) => {
                if e.column != *column || !e.message.contains(fragment) {
                    failures.push(format!(
                        "{ctx}: {text:?}: got `{e}`, want column {column} containing `{fragment}`"
                    ));
                }
                assert_eq!(e.to_string(), format!("column {}: {}", e.column, e.message));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_path_of_every_context_parses_and_is_listed() {
    for ctx in Context::ALL {
        for path in ctx.paths() {
            // `body, body["…"]` lists two spellings.
            for spelling in path.split(", ") {
                let spelling = spelling.replace('…', "k");
                let text = if ctx == Context::Request {
                    format!("{spelling} == \"v\"")
                } else {
                    format!("{spelling} == nil")
                };
                if let Err(e) = Condition::parse(&text, ctx) {
                    panic!("{ctx}: listed path {spelling} does not parse: {e}");
                }
            }
        }
        for (symbol, _) in ctx.enum_symbols() {
            let path = if ctx == Context::Log {
                "severity_number"
            } else if matches!(ctx, Context::Metric) {
                "type"
            } else if ctx == Context::DataPoint {
                "metric.type"
            } else if ctx == Context::SpanEvent {
                "span.kind"
            } else {
                "kind"
            };
            Condition::parse(&format!("{path} == {symbol}"), ctx).unwrap();
        }
    }
}

#[test]
fn upstream_enum_values() {
    let value = |ctx: Context, name: &str| {
        ctx.enum_symbols()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    };
    assert_eq!(value(S, "SPAN_KIND_CONSUMER"), Some(5));
    assert_eq!(value(E, "STATUS_CODE_ERROR"), Some(2));
    assert_eq!(value(L, "SEVERITY_NUMBER_TRACE"), Some(1));
    assert_eq!(value(L, "SEVERITY_NUMBER_WARN"), Some(13));
    assert_eq!(value(L, "SEVERITY_NUMBER_FATAL4"), Some(24));
    assert_eq!(value(M, "METRIC_DATA_TYPE_SUMMARY"), Some(5));
    assert_eq!(value(D, "AGGREGATION_TEMPORALITY_CUMULATIVE"), Some(2));
    assert_eq!(L.enum_symbols().len(), 25);
}

#[test]
fn evaluation_errors_name_the_path_and_only_happen_where_upstream_fails() {
    let fx = Fixture::new();
    let span = fx.item(S);
    let cases = [
        (
            r#"attributes["http.method"]["x"] == nil"#,
            r#"attributes["http.method"]["x"]: type Str does not support indexing"#,
        ),
        (
            r#"attributes["tags"][5] == "a""#,
            r#"attributes["tags"][5]: index 5 out of bounds (the array has 2 elements)"#,
        ),
        (r#"attributes["tags"][-1] == "a""#, "index -1 out of bounds"),
        (
            r#"attributes["tags"]["a"] == nil"#,
            "an array is indexed by integers",
        ),
        (
            r#"attributes["nested"][0] == nil"#,
            "a map is indexed by string keys",
        ),
        (
            r#"IsMatch(attributes["ratio"]["x"], "a")"#,
            "type Double does not support indexing",
        ),
    ];
    for (text, want) in cases {
        let c = Condition::parse(text, S).unwrap();
        let err = c.eval(&span).unwrap_err();
        assert!(err.message.contains(want), "{text}: {err}");
    }
    // and/or short-circuit: the failing side is not evaluated.
    let c = Condition::parse(r#"true or attributes["tags"][5] == "a""#, S).unwrap();
    assert!(c.eval(&span).unwrap());
    let c = Condition::parse(r#"false and attributes["tags"][5] == "a""#, S).unwrap();
    assert!(!c.eval(&span).unwrap());
    // A condition of one context on an item of another.
    let c = Condition::parse(r#"name == "x""#, S).unwrap();
    let err = c.eval(&fx.item(L)).unwrap_err();
    assert_eq!(
        err.message,
        "a span condition cannot be evaluated on a log item"
    );
}

#[test]
fn absent_resource_and_scope_read_as_empty() {
    let span = span("s").build();
    let item = Item::Span {
        resource: None,
        scope: None,
        span: &span,
    };
    for (text, want) in [
        (r#"resource.attributes["service.name"] == nil"#, true),
        (r#"instrumentation_scope.name == """#, true),
        (
            r#"trace_id.string == "5b8efff798038103d269b633813fc60c""#,
            true,
        ),
        ("status.code == STATUS_CODE_UNSET", true),
        (r#"status.message == """#, true),
    ] {
        let got = Condition::parse(text, S).unwrap().eval(&item).unwrap();
        assert_eq!(got, want, "{text}");
    }
    let empty = stratus_core::pdata::trace::Span::default();
    let item = Item::Span {
        resource: None,
        scope: None,
        span: &empty,
    };
    let c = Condition::parse(
        r#"trace_id.string == "00000000000000000000000000000000""#,
        S,
    );
    assert!(
        c.unwrap().eval(&item).unwrap(),
        "an empty id reads as zeros"
    );
    let m = Condition::parse("metric.is_monotonic == true", D).unwrap();
    let sum_metric = sum("s").monotonic(true).point(1).build();
    let Some(Data::Sum(s)) = &sum_metric.data else {
        panic!()
    };
    let item = Item::DataPoint {
        resource: None,
        scope: None,
        metric: &sum_metric,
        point: Point::Number(&s.data_points[0]),
    };
    assert!(m.eval(&item).unwrap());
}

#[test]
fn map_bodies_and_histogram_points() {
    let record = log(kvlist([("user", "bob"), ("action", "login")])).build();
    let item = Item::Log {
        resource: None,
        scope: None,
        record: &record,
    };
    for (text, want) in [
        (r#"body["user"] == "bob""#, true),
        (r#"body["missing"] == nil"#, true),
        (r#"body == "bob""#, false),
        (r#"IsMatch(body, ".*")"#, false),
    ] {
        assert_eq!(
            Condition::parse(text, L).unwrap().eval(&item).unwrap(),
            want,
            "{text}"
        );
    }
    let h = histogram("latency")
        .bounds([1.0])
        .point(histogram_point([1, 2]).sum(7.5).attr("route", "/a"))
        .delta()
        .build();
    let Some(Data::Histogram(hist)) = &h.data else {
        panic!()
    };
    let item = Item::DataPoint {
        resource: None,
        scope: None,
        metric: &h,
        point: Point::Histogram(&hist.data_points[0]),
    };
    for (text, want) in [
        ("count == 3 and sum == 7.5", true),
        ("value_double == nil", true),
        (
            "metric.aggregation_temporality == AGGREGATION_TEMPORALITY_DELTA",
            true,
        ),
        ("metric.type == METRIC_DATA_TYPE_HISTOGRAM", true),
        (r#"attributes["route"] == "/a""#, true),
    ] {
        assert_eq!(
            Condition::parse(text, D).unwrap().eval(&item).unwrap(),
            want,
            "{text}"
        );
    }
}

#[test]
fn error_mode_from_config_and_applied_to_lists() {
    let mode = |s: &str| serde_json::from_value::<ErrorMode>(serde_json::json!(s));
    assert_eq!(mode("propagate").unwrap(), ErrorMode::Propagate);
    assert_eq!(mode("ignore").unwrap(), ErrorMode::Ignore);
    assert_eq!(mode("silent").unwrap(), ErrorMode::Silent);
    let err = mode("ignored").unwrap_err().to_string();
    assert!(err.contains("unknown variant `ignored`"), "{err}");
    assert_eq!(ErrorMode::default(), ErrorMode::Propagate);
    assert_eq!(
        serde_json::to_value(ErrorMode::Silent).unwrap(),
        serde_json::json!("silent")
    );

    let fx = Fixture::new();
    let span = fx.item(S);
    let texts = [r#"attributes["tags"][9] == "x""#, r#"name == "GET /cart""#];
    let run = |mode, texts: &[&str]| Conditions::parse(texts, S, mode).unwrap().any(&span);
    assert_eq!(
        run(ErrorMode::Propagate, &texts).unwrap_err().message,
        r#"condition `attributes["tags"][9] == "x"`: attributes["tags"][9]: index 9 out of bounds (the array has 2 elements)"#
    );
    assert!(run(ErrorMode::Ignore, &texts).unwrap(), "error skipped");
    assert!(run(ErrorMode::Silent, &texts).unwrap());
    assert!(
        !run(ErrorMode::Ignore, &texts[..1]).unwrap(),
        "error = no match"
    );
    assert!(!run(ErrorMode::Silent, &[]).unwrap());
    let (i, e) = Conditions::parse(&["true", "nmae == 1"], S, ErrorMode::Ignore).unwrap_err();
    assert_eq!((i, e.column), (1, 1));
}

#[test]
fn contexts_by_name() {
    for ctx in Context::ALL {
        assert_eq!(ctx.as_str().parse::<Context>().unwrap(), ctx);
        let from_json: Context = serde_json::from_value(serde_json::json!(ctx.as_str())).unwrap();
        assert_eq!(from_json, ctx);
    }
    assert!(
        "spans"
            .parse::<Context>()
            .unwrap_err()
            .to_string()
            .contains("expected one of")
    );
}

#[test]
fn conditions_are_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_send_sync::<Condition>();
    assert_send_sync::<Conditions>();
    let c = Condition::parse(r#"name == "x""#, S).unwrap();
    assert_eq!(c.text(), r#"name == "x""#);
    assert_eq!(c.context(), S);
    assert_eq!(
        format!("{c:?}"),
        r#"Condition { context: Span, text: "name == \"x\"" }"#
    );
    let shifted = ParseError {
        column: 3,
        message: "m".into(),
    }
    .shifted(10);
    assert_eq!(shifted.column, 13);
}

#[global_allocator]
static ALLOC: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Evaluating attribute lookups, comparisons and IsMatch on strings and ints allocates
/// nothing. The test binary's other threads may allocate while this runs, so the
/// smallest count over several rounds is taken: it is 0 only if evaluation allocates
/// nothing.
#[test]
fn evaluation_does_not_allocate() {
    let fx = Fixture::new();
    let conditions: Vec<(Condition, Item<'_>)> = [
        (
            S,
            r#"attributes["http.method"] == "GET" and resource.attributes["cloud.region"] != "x""#,
        ),
        (
            S,
            r#"IsMatch(name, "^GET") and IsMatch(attributes["http.status_code"], "^5")"#,
        ),
        (
            S,
            r#"trace_id.string == "5b8efff798038103d269b633813fc60c" or kind == 1"#,
        ),
        (
            S,
            r#"attributes["nested"]["inner"] == "x" and attributes["missing"] == nil"#,
        ),
        (
            L,
            "severity_number >= SEVERITY_NUMBER_WARN and IsMatch(body, \"password\")",
        ),
        (
            D,
            r#"attributes["queue"] == "a" and metric.name == "queue.depth""#,
        ),
        (Q, r#"request["x-tenant"] == "acme""#),
    ]
    .into_iter()
    .map(|(ctx, text)| (Condition::parse(text, ctx).unwrap(), fx.item(ctx)))
    .collect();
    // Warm up: the regex engine caches its per-thread scratch space on first use.
    for (c, item) in &conditions {
        assert!(c.eval(item).unwrap());
    }
    let mut least = usize::MAX;
    for _ in 0..50 {
        let before = ALLOC.total_allocated();
        for _ in 0..100 {
            for (c, item) in &conditions {
                std::hint::black_box(c.eval(item).unwrap_or(false));
            }
        }
        least = least.min(ALLOC.total_allocated() - before);
        if least == 0 {
            break;
        }
    }
    assert_eq!(least, 0, "bytes allocated by 700 evaluations");
}
