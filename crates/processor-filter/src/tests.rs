use std::sync::Arc;

use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, FactoryInfo, Processor, ProcessorFactory};
use stratus_core::pdata::metrics::metric::Data;
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, ConsumeError, Payload, Prepared, Signal, Telemetry};
use stratus_testkit::otlp::*;
use stratus_testkit::{RecordingConsumer, metric_value};

use super::*;

struct Setup {
    filter: Arc<dyn Processor>,
    next: Arc<RecordingConsumer>,
    registry: Registry,
}

async fn setup_with(config: Value, next: Arc<RecordingConsumer>) -> Setup {
    let registry = Registry::new();
    let ctx = BuildContext::new(
        ComponentId::with_name("filter", "drop"),
        Signal::ALL.to_vec(),
        registry.clone(),
    );
    let filter = FilterProcessorFactory
        .build(ctx, &config, next.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Setup {
        filter,
        next,
        registry,
    }
}

async fn setup(config: Value) -> Setup {
    setup_with(config, RecordingConsumer::new()).await
}

impl Setup {
    fn counted(&self, name: &str) -> f64 {
        metric_value(&self.registry, name, &[("filter", "filter/drop")])
    }
}

/// Two resources: `api` with a health check, a slow call and a GET, `batch` with only a
/// health check (so its resource goes when health checks are dropped).
fn spans() -> Telemetry {
    traces()
        .resource([("service.name", "api")])
        .scope("http")
        .span(span("GET /healthz").attr("http.route", "/healthz"))
        .span(
            span("GET /cart")
                .attr("http.route", "/cart")
                .event(event("cache.miss").attr("grpc", true))
                .event(event("retry")),
        )
        .scope("db")
        .span(
            span("SELECT")
                .kind(SpanKind::Client)
                .event(event("query").attr("sql", "SELECT 1")),
        )
        .resource([("service.name", "batch")])
        .span(span("GET /healthz").attr("http.route", "/healthz"))
        .build()
}

#[tokio::test]
async fn drops_matching_spans_and_empty_scopes_and_resources() {
    let s = setup(json!({"traces": {"span": [
        r#"attributes["http.route"] == "/healthz""#,
        "kind == SPAN_KIND_CLIENT",
    ]}}))
    .await;
    s.filter.consume(spans()).await.unwrap();
    let batches = s.next.batches();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].span_names(), ["GET /cart"]);
    let Payload::Traces(r) = &*batches[0].payload else {
        panic!()
    };
    assert_eq!(r.len(), 1, "the resource left without spans is gone");
    assert_eq!(
        r[0].scope_spans.len(),
        1,
        "the scope left without spans is gone"
    );
    assert_eq!(r[0].scope_spans[0].scope.as_ref().unwrap().name, "http");
    assert_eq!(s.counted(SPANS_FILTERED), 3.0);
    // The span's events are untouched without spanevent conditions.
    assert_eq!(batches[0].spans()[0].events.len(), 2);
}

#[tokio::test]
async fn span_events_are_dropped_but_their_span_stays() {
    let s = setup(json!({"traces": {
        "span": [r#"name == "SELECT""#],
        "spanevent": [
            r#"attributes["grpc"] == true"#,
            r#"name == "retry" and span.attributes["http.route"] == "/cart""#,
            // Fails to evaluate on SELECT's event (indexing into a string), which would
            // refuse the batch: SELECT is dropped first, so its events are not evaluated.
            r#"attributes["sql"]["x"] == "never""#,
        ],
    }}))
    .await;
    s.filter.consume(spans()).await.unwrap();
    let got = s.next.spans();
    let cart = got.iter().find(|s| s.name == "GET /cart").unwrap();
    assert!(cart.events.is_empty(), "both events dropped, the span kept");
    assert_eq!(got.len(), 3);
    assert_eq!(
        s.counted(SPANS_FILTERED),
        1.0,
        "events are not counted as spans"
    );
}

#[tokio::test]
async fn a_batch_dropped_whole_is_not_passed_on() {
    let s = setup(json!({"traces": {"span": ["true"]}})).await;
    s.filter.consume(spans()).await.unwrap();
    assert_eq!(s.next.calls(), 0);
    assert_eq!(s.counted(SPANS_FILTERED), 4.0);
}

fn points() -> Telemetry {
    metrics()
        .resource([("service.name", "api")])
        .metric(
            gauge("queue.depth")
                .point(number_point(1).attr("queue", "a"))
                .point(number_point(2).attr("queue", "b")),
        )
        .metric(sum("requests").point(number_point(5).attr("route", "/healthz")))
        .metric(
            histogram("latency")
                .bounds([1.0])
                .point(histogram_point([1, 1]).attr("route", "/cart"))
                .point(histogram_point([0, 3]).attr("route", "/healthz")),
        )
        .metric(summary("debug.timing").point(summary_point(3, 1.5)))
        .build()
}

#[tokio::test]
async fn metrics_and_data_points() {
    let s = setup(json!({"metrics": {
        "metric": [r#"name == "debug.timing""#],
        "datapoint": [
            r#"attributes["route"] == "/healthz""#,
            r#"metric.name == "queue.depth" and attributes["queue"] == "b""#,
        ],
    }}))
    .await;
    s.filter.consume(points()).await.unwrap();
    let got = s.next.metrics();
    let names: Vec<&str> = got.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["queue.depth", "latency"],
        "requests lost its only point, debug.timing matched"
    );
    let Some(Data::Gauge(g)) = &got[0].data else {
        panic!()
    };
    assert_eq!(g.data_points.len(), 1);
    let Some(Data::Histogram(h)) = &got[1].data else {
        panic!()
    };
    assert_eq!(h.data_points.len(), 1);
    assert_eq!(
        s.counted(DATAPOINTS_FILTERED),
        4.0,
        "1 gauge + 1 sum + 1 histogram + 1 summary point"
    );
}

#[tokio::test]
async fn metric_conditions_alone_keep_metrics_without_points() {
    let s = setup(json!({"metrics": {"metric": [r#"name == "nothing""#]}})).await;
    let batch = metrics().metric(gauge("empty")).build();
    s.filter.consume(batch).await.unwrap();
    assert_eq!(s.next.metrics().len(), 1);
}

#[tokio::test]
async fn log_records() {
    let s = setup(json!({"logs": {"log_record": [
        "severity_number < SEVERITY_NUMBER_WARN",
        r#"IsMatch(body, ".*password.*")"#,
    ]}}))
    .await;
    let batch = logs()
        .record(log("started").severity(SeverityNumber::Info))
        .record(log("disk full").severity(SeverityNumber::Error))
        .record(log("login password=x").severity(SeverityNumber::Warn))
        .record(log("no severity"))
        .build();
    s.filter.consume(batch).await.unwrap();
    let bodies: Vec<_> = s
        .next
        .log_records()
        .iter()
        .map(|r| r.body.clone())
        .collect();
    assert_eq!(bodies, [Some("disk full".into_any_value())]);
    assert_eq!(s.counted(LOGS_FILTERED), 3.0);
}

/// Indexing into a string attribute fails to evaluate, as upstream's does.
const FAILS: &str = r#"attributes["http.route"]["x"] == nil"#;

#[tokio::test]
async fn propagate_refuses_the_batch_with_a_permanent_error() {
    let s = setup(json!({"error_mode": "propagate", "traces": {"span": [FAILS]}})).await;
    let err = s.filter.consume(spans()).await.unwrap_err();
    assert!(err.is_permanent());
    assert!(
        err.message().contains(
            r#"filter processor: condition `attributes["http.route"]["x"] == nil`: attributes["http.route"]["x"]: type Str does not support indexing"#
        ),
        "{err}"
    );
    assert_eq!(s.next.calls(), 0);
}

#[tokio::test]
async fn ignore_and_silent_keep_the_item_and_go_on() {
    for mode in ["ignore", "silent"] {
        let s = setup(json!({
            "error_mode": mode,
            "traces": {"span": [FAILS, r#"name == "SELECT""#]},
        }))
        .await;
        s.filter.consume(spans()).await.unwrap();
        // Every span but SELECT: the failing condition counts as not matching, and the
        // next condition is still evaluated.
        assert_eq!(
            s.next.spans().len(),
            3,
            "{mode}: {:?}",
            s.next.batches()[0].span_names()
        );
    }
}

#[tokio::test]
async fn two_phase_admission_passes_through() {
    let next = RecordingConsumer::reserving();
    let s = setup_with(json!({"traces": {"span": [r#"name == "SELECT""#]}}), next).await;
    assert!(s.filter.can_prepare());
    // Admitted filtered, handed over at commit.
    match s.filter.prepare(spans()).await {
        Prepared::Ready(a) => a.commit().await.unwrap(),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.next.batches()[0].item_count(), 3);
    // Refused downstream: the (filtered) data comes back.
    s.next.refuse_next(1, ConsumeError::retryable("full"));
    match s.filter.prepare(spans()).await {
        Prepared::Refused(e, data) => {
            assert!(!e.is_permanent());
            assert_eq!(data.item_count(), 3);
        }
        other => panic!("{other:?}"),
    }
    // Dropped whole: ready, and nothing reaches the next consumer.
    let all = setup_with(
        json!({"traces": {"span": ["true"]}}),
        RecordingConsumer::reserving(),
    )
    .await;
    match all.filter.prepare(spans()).await {
        Prepared::Ready(a) => a.commit().await.unwrap(),
        other => panic!("{other:?}"),
    }
    assert_eq!(all.next.calls(), 0);
    // A failing condition under propagate refuses at prepare.
    let bad = setup_with(
        json!({"error_mode": "propagate", "traces": {"span": [FAILS]}}),
        RecordingConsumer::reserving(),
    )
    .await;
    assert!(
        matches!(bad.filter.prepare(spans()).await, Prepared::Refused(e, _) if e.is_permanent())
    );
}

#[tokio::test]
async fn signals_without_conditions_pass_untouched() {
    let s = setup(json!({"logs": {"log_record": ["true"]}})).await;
    let batch = spans();
    s.filter.consume(batch.clone()).await.unwrap();
    assert_eq!(s.next.batches(), [batch]);
}

#[test]
fn config_problems_name_the_list_index_and_column() {
    let f = FilterProcessorFactory;
    let problems = f
        .check_config(&json!({
            "traces": {"span": [r#"name == "ok""#, "kind == "]},
            "logs": {"log_record": ["severity_numbr > 1"]},
        }))
        .unwrap_err();
    let got: Vec<(String, String)> = problems.into_iter().map(|p| (p.path, p.message)).collect();
    assert_eq!(got[0].0, "traces::span[1]");
    assert_eq!(
        got[0].1,
        r#"column 9: expected a value after "==", found end of condition"#
    );
    assert_eq!(got[1].0, "logs::log_record[0]");
    assert!(
        got[1]
            .1
            .starts_with(r#"column 1: unknown path "severity_numbr" in the log context"#),
        "{}",
        got[1].1
    );
    // Null lists are empty lists; the default error mode is propagate.
    let ok: FilterConfig =
        stratus_core::factory::decode_config(&json!({"traces": {"span": null}})).unwrap();
    assert!(ok.traces.span.is_empty());
    assert_eq!(ok.error_mode, stratus_ottl::ErrorMode::Ignore);
    let problems = f.check_config(&json!({"error_mode": "loud"})).unwrap_err();
    assert_eq!(problems[0].path, "error_mode");
}

#[test]
fn the_older_forms_are_rejected_with_the_ottl_form() {
    let f = FilterProcessorFactory;
    let problems = f
        .check_config(&json!({
            "spans": {"exclude": {"match_type": "strict", "services": ["app_1"]}},
            "metrics": {"include": {"match_type": "regexp", "metric_names": ["prefix/.*"]}},
            "logs": {"exclude": {"match_type": "strict"}},
            "trace_conditions": ["span.name == \"x\""],
        }))
        .unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spans",
            "metrics::include",
            "logs::exclude",
            "trace_conditions"
        ]
    );
    assert!(
        problems[0]
            .message
            .contains("not supported; write OTTL conditions")
    );
    assert!(
        problems[0].message.contains("traces: {span: ["),
        "{}",
        problems[0].message
    );
    assert!(problems[1].message.contains("negated"));
    assert!(problems[3].message.contains("traces: {span: [...]"));
}

#[test]
fn rules_report_the_path_at_build() {
    let config = FilterConfig {
        traces: TracesConditions {
            span: vec!["true".into(), "nmae == 1".into()],
            spanevent: vec![],
        },
        ..Default::default()
    };
    let err = Rules::from_config(&config).unwrap_err();
    assert!(
        err.starts_with("traces::span[1]: column 1: unknown path"),
        "{err}"
    );
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::processor(&FilterProcessorFactory).await;
    stratus_testkit::conformance::processor(&FilterProcessorFactory)
        .config(json!({"error_mode": "ignore", "traces": {"span": ["kind == SPAN_KIND_CLIENT"]}}))
        .await;
}
