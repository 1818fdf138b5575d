use std::sync::Arc;

use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, ConnectorFactory, Exporter, FactoryInfo};
use stratus_core::pdata::metrics::metric::Data;
use stratus_core::pdata::trace::ResourceSpans;
use stratus_core::telemetry::Registry;
use stratus_core::{
    BoxConsumer, ComponentId, ConsumeError, Metadata, Payload, Prepared, Signal, Telemetry,
};
use stratus_testkit::otlp::*;
use stratus_testkit::{RecordingConsumer, metric_value};

use super::*;

struct Setup {
    router: Arc<dyn Exporter>,
    sinks: Vec<(String, Arc<RecordingConsumer>)>,
    registry: Registry,
}

impl Setup {
    fn sink(&self, id: &str) -> &RecordingConsumer {
        &self
            .sinks
            .iter()
            .find(|(p, _)| p == id)
            .unwrap_or_else(|| panic!("no pipeline {id}"))
            .1
    }

    fn dropped(&self, signal: Signal) -> f64 {
        metric_value(
            &self.registry,
            &format!("stratus_connector_routing_dropped_{}", signal.item_name()),
            &[("connector", "routing")],
        )
    }
}

async fn build(
    config: Value,
    signal: Signal,
    pipelines: &[&str],
    reserving: bool,
) -> Result<Setup, String> {
    let registry = Registry::new();
    let sinks: Vec<(String, Arc<RecordingConsumer>)> = pipelines
        .iter()
        .map(|p| {
            let sink = if reserving {
                RecordingConsumer::reserving()
            } else {
                RecordingConsumer::new()
            };
            (p.to_string(), sink)
        })
        .collect();
    let heads: Vec<(String, BoxConsumer)> =
        sinks.iter().map(|(p, s)| (p.clone(), s.boxed())).collect();
    let ctx = BuildContext::new(ComponentId::new("routing"), vec![signal], registry.clone());
    let router = RoutingConnectorFactory
        .build(ctx, &config, signal, signal, heads)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Setup {
        router,
        sinks,
        registry,
    })
}

async fn setup(config: Value, signal: Signal, pipelines: &[&str]) -> Setup {
    build(config, signal, pipelines, false)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn regions(batches: &[Telemetry]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| match &*b.payload {
            Payload::Traces(r) => r.clone(),
            _ => Vec::new(),
        })
        .map(|rs: ResourceSpans| {
            rs.resource
                .unwrap_or_default()
                .attributes
                .iter()
                .find(|kv| kv.key == "cloud.region")
                .and_then(|kv| kv.value.clone())
                .map(|v| match v.value {
                    Some(stratus_core::pdata::common::any_value::Value::StringValue(s)) => s,
                    _ => String::new(),
                })
                .unwrap_or_default()
        })
        .collect()
}

/// Three regions, two spans each.
fn regional_spans() -> Telemetry {
    let mut b = traces();
    for region in ["eu-west-1", "us-east-1", "eu-central-1"] {
        b = b
            .resource([("service.name", "checkout"), ("cloud.region", region)])
            .scope("http")
            .span(span(format!("GET {region} a")))
            .span(span(format!("GET {region} b")));
    }
    b.build()
}

const EU: &str = r#"IsMatch(resource.attributes["cloud.region"], "^eu-")"#;

#[tokio::test]
async fn eu_resources_go_only_to_the_eu_pipeline() {
    let s = setup(
        json!({
            "default_pipelines": ["traces/global"],
            "table": [{"condition": EU, "pipelines": ["traces/eu"]}],
        }),
        Signal::Traces,
        &["traces/eu", "traces/global"],
    )
    .await;
    s.router.consume(regional_spans()).await.unwrap();
    let eu = s.sink("traces/eu").batches();
    let global = s.sink("traces/global").batches();
    assert_eq!(regions(&eu), ["eu-west-1", "eu-central-1"]);
    assert_eq!(regions(&global), ["us-east-1"]);
    assert_eq!(eu[0].item_count(), 4);
    assert!(
        eu[0].span_names().iter().all(|n| n.contains(" eu-")),
        "{:?}",
        eu[0].span_names()
    );
    assert_eq!(
        global[0].span_names(),
        ["GET us-east-1 a", "GET us-east-1 b"]
    );
    assert_eq!(s.dropped(Signal::Traces), 0.0);
}

#[tokio::test]
async fn the_context_key_is_resource_by_default_and_attributes_are_the_resources() {
    // Upstream's own example form: `attributes` in the resource context.
    let s = setup(
        json!({
            "default_pipelines": ["traces/global"],
            "table": [{
                "context": "resource",
                "condition": r#"attributes["cloud.region"] == "us-east-1""#,
                "pipelines": ["traces/us"],
            }],
        }),
        Signal::Traces,
        &["traces/us", "traces/global"],
    )
    .await;
    s.router.consume(regional_spans()).await.unwrap();
    assert_eq!(regions(&s.sink("traces/us").batches()), ["us-east-1"]);
    assert_eq!(
        regions(&s.sink("traces/global").batches()),
        ["eu-west-1", "eu-central-1"]
    );
}

fn tenant_spans() -> Telemetry {
    traces()
        .resource([("service.name", "api"), ("cloud.region", "us-east-1")])
        .scope(scope("http").version("2"))
        .span(span("a1").attr("tenant", "acme"))
        .span(span("b1").attr("tenant", "beta"))
        .span(span("a2").attr("tenant", "acme"))
        .scope("db")
        .span(span("b2").attr("tenant", "beta"))
        .build()
}

#[tokio::test]
async fn spans_are_split_by_attribute_keeping_resource_and_scope() {
    let s = setup(
        json!({
            "default_pipelines": ["traces/other"],
            "table": [{
                "context": "span",
                "condition": r#"attributes["tenant"] == "acme""#,
                "pipelines": ["traces/acme"],
            }],
        }),
        Signal::Traces,
        &["traces/acme", "traces/other"],
    )
    .await;
    s.router.consume(tenant_spans()).await.unwrap();
    let acme = s.sink("traces/acme").batches();
    assert_eq!(acme.len(), 1);
    assert_eq!(acme[0].span_names(), ["a1", "a2"]);
    let Payload::Traces(r) = &*acme[0].payload else {
        panic!()
    };
    assert_eq!(
        regions(&acme),
        ["us-east-1"],
        "the resource travels with its spans"
    );
    assert_eq!(r[0].scope_spans.len(), 1);
    let scope = r[0].scope_spans[0].scope.as_ref().unwrap();
    assert_eq!((scope.name.as_str(), scope.version.as_str()), ("http", "2"));
    let other = s.sink("traces/other").batches();
    assert_eq!(other[0].span_names(), ["b1", "b2"]);
    let Payload::Traces(r) = &*other[0].payload else {
        panic!()
    };
    assert_eq!(r.len(), 1, "one resource piece");
    assert_eq!(r[0].scope_spans.len(), 2, "with both scopes");
}

#[tokio::test]
async fn the_first_matching_route_wins_across_contexts() {
    let s = setup(
        json!({
            "default_pipelines": ["traces/other"],
            "table": [
                {"condition": EU, "pipelines": ["traces/eu"]},
                {"context": "span", "condition": r#"attributes["tenant"] == "acme""#,
                 "pipelines": ["traces/acme"]},
                {"context": "span", "condition": r#"IsMatch(name, "^a")"#,
                 "pipelines": ["traces/never"]},
            ],
        }),
        Signal::Traces,
        &["traces/eu", "traces/acme", "traces/never", "traces/other"],
    )
    .await;
    let batch = traces()
        .resource([("cloud.region", "eu-west-1")])
        .span(span("a-eu").attr("tenant", "acme"))
        .resource([("cloud.region", "us-east-1")])
        .span(span("a-us").attr("tenant", "acme"))
        .span(span("b-us").attr("tenant", "beta"))
        .build();
    s.router.consume(batch).await.unwrap();
    assert_eq!(s.sink("traces/eu").batches()[0].span_names(), ["a-eu"]);
    assert_eq!(s.sink("traces/acme").batches()[0].span_names(), ["a-us"]);
    assert_eq!(s.sink("traces/other").batches()[0].span_names(), ["b-us"]);
    assert_eq!(
        s.sink("traces/never").calls(),
        0,
        "each item goes to one route only"
    );
}

fn with_header(batch: TracesBuilder, value: Option<&str>) -> Telemetry {
    let headers: Vec<(String, String)> = value
        .map(|v| vec![("X-Tenant".to_string(), v.to_string())])
        .unwrap_or_default();
    batch.build_with(Metadata::new(None, headers))
}

#[tokio::test]
async fn request_routes_send_the_whole_batch_by_header() {
    let s = setup(
        json!({
            "default_pipelines": ["traces/other"],
            "table": [
                {"context": "request", "condition": r#"request["X-Tenant"] == "acme""#,
                 "pipelines": ["traces/acme"]},
                {"context": "request", "condition": r#"request["x-tenant"] == "globex""#,
                 "pipelines": ["traces/globex"]},
            ],
        }),
        Signal::Traces,
        &["traces/acme", "traces/globex", "traces/other"],
    )
    .await;
    let two = || {
        traces()
            .resource([("cloud.region", "eu-west-1")])
            .span("s1")
            .resource([("cloud.region", "us-east-1")])
            .span("s2")
    };
    s.router
        .consume(with_header(two(), Some("acme")))
        .await
        .unwrap();
    s.router
        .consume(with_header(two(), Some("globex")))
        .await
        .unwrap();
    s.router
        .consume(with_header(two(), Some("initech")))
        .await
        .unwrap();
    s.router.consume(with_header(two(), None)).await.unwrap();
    assert_eq!(s.sink("traces/acme").batch_sizes(), [2]);
    assert_eq!(s.sink("traces/globex").batch_sizes(), [2]);
    assert_eq!(s.sink("traces/other").batch_sizes(), [2, 2]);
    // The batch is handed on as it came, metadata included.
    let acme = &s.sink("traces/acme").batches()[0];
    assert_eq!(acme.metadata.get("x-tenant"), ["acme"]);
}

#[tokio::test]
async fn without_default_pipelines_unmatched_items_are_dropped_and_counted() {
    let s = setup(
        json!({"table": [{"condition": EU, "pipelines": ["traces/eu"]}]}),
        Signal::Traces,
        &["traces/eu"],
    )
    .await;
    s.router.consume(regional_spans()).await.unwrap();
    assert_eq!(s.sink("traces/eu").item_count(), 4);
    assert_eq!(s.dropped(Signal::Traces), 2.0);
    // A batch nothing matches is not handed on at all.
    let us = traces()
        .resource([("cloud.region", "us-west-2")])
        .span("x")
        .build();
    s.router.consume(us).await.unwrap();
    assert_eq!(s.sink("traces/eu").calls(), 1);
    assert_eq!(s.dropped(Signal::Traces), 3.0);
}

#[tokio::test]
async fn logs_by_record_and_routes_sharing_pipelines() {
    let s = setup(
        json!({
            "table": [
                {"context": "log", "condition": "severity_number < SEVERITY_NUMBER_ERROR",
                 "pipelines": ["logs/cheap"]},
                {"context": "log", "condition": r#"attributes["region"] == "east""#,
                 "pipelines": ["logs/east", "logs/archive"]},
                {"context": "log", "condition": r#"attributes["region"] == "west""#,
                 "pipelines": ["logs/archive", "logs/east"]},
            ],
        }),
        Signal::Logs,
        &["logs/cheap", "logs/east", "logs/archive"],
    )
    .await;
    let batch = logs()
        .record(
            log("debug")
                .severity(SeverityNumber::Debug)
                .attr("region", "east"),
        )
        .record(
            log("e1")
                .severity(SeverityNumber::Error)
                .attr("region", "east"),
        )
        .record(
            log("w1")
                .severity(SeverityNumber::Fatal)
                .attr("region", "west"),
        )
        .record(
            log("n1")
                .severity(SeverityNumber::Error)
                .attr("region", "north"),
        )
        .build();
    s.router.consume(batch).await.unwrap();
    assert_eq!(s.sink("logs/cheap").item_count(), 1);
    // Routes 2 and 3 name the same pipelines: one part, one call per pipeline.
    assert_eq!(s.sink("logs/east").batch_sizes(), [2]);
    assert_eq!(s.sink("logs/archive").batch_sizes(), [2]);
    assert_eq!(s.dropped(Signal::Logs), 1.0);
}

#[tokio::test]
async fn metrics_by_name_and_data_points_by_attribute() {
    let s = setup(
        json!({
            "default_pipelines": ["metrics/other"],
            "table": [
                {"context": "metric", "condition": r#"name == "debug.timing""#,
                 "pipelines": ["metrics/cheap"]},
                {"context": "datapoint", "condition": r#"attributes["region"] == "eu""#,
                 "pipelines": ["metrics/eu"]},
            ],
        }),
        Signal::Metrics,
        &["metrics/cheap", "metrics/eu", "metrics/other"],
    )
    .await;
    let batch = metrics()
        .resource([("service.name", "api")])
        .metric(
            sum("requests")
                .unit("1")
                .delta()
                .monotonic(true)
                .point(number_point(1).attr("region", "eu"))
                .point(number_point(2).attr("region", "us"))
                .point(number_point(3).attr("region", "eu")),
        )
        .metric(
            summary("debug.timing")
                .point(summary_point(1, 1.0).attr("region", "eu"))
                .point(summary_point(1, 1.0).attr("region", "us")),
        )
        .build();
    s.router.consume(batch).await.unwrap();
    let eu = s.sink("metrics/eu").metrics();
    assert_eq!(eu.len(), 1);
    assert_eq!(
        (eu[0].name.as_str(), eu[0].unit.as_str()),
        ("requests", "1")
    );
    let Some(Data::Sum(sum)) = &eu[0].data else {
        panic!()
    };
    assert_eq!(sum.data_points.len(), 2);
    assert!(sum.is_monotonic, "the aggregation travels with the points");
    assert_eq!(sum.aggregation_temporality, 1);
    let other = s.sink("metrics/other").metrics();
    assert_eq!(other.len(), 1);
    let Some(Data::Sum(sum)) = &other[0].data else {
        panic!()
    };
    assert_eq!(sum.data_points.len(), 1);
    // The metric route, earlier in the table, takes every point of its metric.
    assert_eq!(s.sink("metrics/cheap").item_count(), 2);
    assert_eq!(s.sink("metrics/cheap").metrics()[0].name, "debug.timing");
}

/// Indexing into a string fails to evaluate, as upstream's does.
const FAILS: &str = r#"attributes["tenant"]["x"] == "y""#;

#[tokio::test]
async fn error_mode_decides_what_a_failing_condition_does() {
    let config = |mode: &str| {
        json!({
            "error_mode": mode,
            "default_pipelines": ["traces/other"],
            "table": [
                {"context": "span", "condition": FAILS, "pipelines": ["traces/acme"]},
                {"context": "span", "condition": "true", "pipelines": ["traces/all"]},
            ],
        })
    };
    let pipelines = ["traces/acme", "traces/all", "traces/other"];
    let s = setup(config("propagate"), Signal::Traces, &pipelines).await;
    let err = s.router.consume(tenant_spans()).await.unwrap_err();
    assert!(err.is_permanent());
    assert!(
        err.message().contains(
            r#"routing connector: route condition `attributes["tenant"]["x"] == "y"`: attributes["tenant"]["x"]: type Str does not support indexing"#
        ),
        "{err}"
    );
    assert!(s.sinks.iter().all(|(_, sink)| sink.calls() == 0));
    // Without `error_mode`, the default is upstream's current one: ignore.
    let mut unset = config("ignore");
    unset.as_object_mut().unwrap().remove("error_mode");
    for (mode, cfg) in [
        ("ignore", config("ignore")),
        ("silent", config("silent")),
        ("unset", unset),
    ] {
        let s = setup(cfg, Signal::Traces, &pipelines).await;
        s.router.consume(tenant_spans()).await.unwrap();
        // As upstream: an item whose condition fails goes to the default pipelines.
        assert_eq!(s.sink("traces/other").item_count(), 4, "{mode}");
        assert_eq!(s.sink("traces/all").calls(), 0, "{mode}");
    }
}

#[tokio::test]
async fn a_batch_split_across_routes_is_admitted_all_or_nothing() {
    let s = build(
        json!({
            "default_pipelines": ["traces/other"],
            "table": [{"context": "span", "condition": r#"attributes["tenant"] == "acme""#,
                       "pipelines": ["traces/acme"]}],
        }),
        Signal::Traces,
        &["traces/acme", "traces/other"],
        true,
    )
    .await
    .unwrap();
    assert!(s.router.can_prepare());
    s.sink("traces/other")
        .refuse_next(1, ConsumeError::retryable("full"));
    let batch = tenant_spans();
    match s.router.prepare(batch.clone()).await {
        Prepared::Refused(e, back) => {
            assert!(!e.is_permanent());
            assert_eq!(back, batch, "the whole batch comes back unchanged");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        s.sink("traces/acme").batches().is_empty(),
        "the acme part was released, not handed over"
    );
    // consume refuses the same way, so the sender's retry duplicates nothing.
    s.sink("traces/other")
        .refuse_next(1, ConsumeError::retryable("full"));
    assert!(s.router.consume(tenant_spans()).await.is_err());
    assert!(s.sink("traces/acme").batches().is_empty());
    // Admitted: both parts are handed over at commit.
    match s.router.prepare(tenant_spans()).await {
        Prepared::Ready(a) => a.commit().await.unwrap(),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.sink("traces/acme").item_count(), 2);
    assert_eq!(s.sink("traces/other").item_count(), 2);
}

#[tokio::test]
async fn build_refuses_pipelines_it_cannot_send_to() {
    let err = build(
        json!({"table": [{"condition": "true", "pipelines": ["logs/eu"]}]}),
        Signal::Traces,
        &["traces/eu"],
        false,
    )
    .await
    .err()
    .unwrap();
    assert!(
        err.contains("table[0] lists `logs/eu`, but this routing connector hands on traces"),
        "{err}"
    );
    let err = build(
        json!({"table": [{"condition": "true", "pipelines": ["traces/missing"]}]}),
        Signal::Traces,
        &["traces/eu"],
        false,
    )
    .await
    .err()
    .unwrap();
    assert!(
        err.contains("`traces/missing`, which does not list this connector"),
        "{err}"
    );
    // Routes of a context the signal does not have are skipped, as upstream's are.
    let s = setup(
        json!({
            "default_pipelines": ["traces/other"],
            "table": [{"context": "log", "condition": "true", "pipelines": ["traces/logs"]}],
        }),
        Signal::Traces,
        &["traces/logs", "traces/other"],
    )
    .await;
    s.router.consume(tenant_spans()).await.unwrap();
    assert_eq!(s.sink("traces/other").item_count(), 4);
}

fn problems(config: Value) -> Vec<(String, String)> {
    RoutingConnectorFactory
        .check_config(&config)
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.path, p.message))
        .collect()
}

#[test]
fn condition_problems_name_the_route_and_the_column() {
    let got = problems(json!({"table": [
        {"condition": EU, "pipelines": ["traces/eu"]},
        {"context": "span", "condition": r#"attributes["tenant"] =="#, "pipelines": ["traces/x"]},
        {"context": "span", "statement": r#"route() where name =="#, "pipelines": ["traces/x"]},
        {"context": "log", "condition": "kind == 1", "pipelines": ["logs/x"]},
    ]}));
    assert_eq!(
        got,
        [
            (
                "table[1]::condition".to_string(),
                r#"column 24: expected a value after "==", found end of condition"#.to_string()
            ),
            (
                "table[2]::statement".to_string(),
                r#"column 22: expected a value after "==", found end of condition"#.to_string()
            ),
            ("table[3]::condition".to_string(), got[2].1.clone()),
        ]
    );
    assert!(
        got[2].1.starts_with(
            r#"column 1: unknown path "kind" in the log context (it is a path of the span context)"#
        ),
        "{}",
        got[2].1
    );
}

#[test]
fn config_problems_say_what_would_be_right() {
    let one = |config: Value| -> (String, String) {
        let mut p = problems(config);
        assert_eq!(p.len(), 1, "{p:?}");
        p.remove(0)
    };
    let (path, message) = one(json!({}));
    assert_eq!(path, "table");
    assert!(message.contains("at least one route"));
    let (path, message) = one(json!({"table": [{"pipelines": ["traces/a"]}]}));
    assert_eq!(path, "table[0]::condition");
    assert!(message.starts_with("required"));
    let (path, _) = one(json!({"table": [{"condition": "true"}]}));
    assert_eq!(path, "table[0]::pipelines");
    let (path, message) = one(
        json!({"table": [{"condition": "true", "statement": "route()",
        "pipelines": ["traces/a"]}]}),
    );
    assert_eq!(
        (path.as_str(), message.as_str()),
        (
            "table[0]::statement",
            "give either `condition` or `statement`, not both"
        )
    );
    let (path, message) = one(json!({"table": [{"context": "request",
        "statement": r#"route() where request["a"] == "b""#, "pipelines": ["traces/a"]}]}));
    assert_eq!(path, "table[0]::statement");
    assert!(message.contains("takes a `condition`"));
    let (path, message) = one(
        json!({"table": [{"statement": r#"route(["traces/a"]) where true"#,
        "pipelines": ["traces/a"]}]}),
    );
    assert_eq!(path, "table[0]::statement");
    assert!(
        message.starts_with("column 7: route(...) with pipelines in it is not supported"),
        "{message}"
    );
    let (path, message) =
        one(json!({"table": [{"statement": "set(x, 1)", "pipelines": ["traces/a"]}]}));
    assert_eq!(path, "table[0]::statement");
    assert!(message.starts_with("column 1: expected a statement of the form `route() where"));
    let (path, message) = one(
        json!({"table": [{"context": "spanevent", "condition": "true",
        "pipelines": ["traces/a"]}]}),
    );
    assert_eq!(path, "table[0]::context");
    assert!(message.contains("does not route by span event"));
    let (path, message) = one(json!({"table": [{"condition": "true", "pipelines": ["trace/a"]}]}));
    assert_eq!(path, "table[0]::pipelines[0]");
    assert!(message.contains("is not a pipeline id"));
    let (path, _) = one(json!({"default_pipelines": ["traces/a", "traces/a"],
        "table": [{"condition": "true", "pipelines": ["traces/b"]}]}));
    assert_eq!(path, "default_pipelines[1]");
    let (path, message) = one(json!({"match_once": true,
        "table": [{"condition": "true", "pipelines": ["traces/b"]}]}));
    assert_eq!(path, "match_once");
    assert!(message.contains("removed upstream in v0.120.0"));
    let (path, message) = one(json!({"table": [r#"route(["traces/a"]) where true"#]}));
    assert_eq!(path, "table[0]");
    assert!(message.contains("the string form of a route"), "{message}");
    let (path, _) =
        one(json!({"table": [{"condition": "true", "pipelines": ["traces/a"], "pipeline": 1}]}));
    assert_eq!(path, "table[0]::pipeline");
    let (path, _) = one(
        json!({"table": [{"context": "otelcol", "condition": "true", "pipelines": ["traces/a"]}]}),
    );
    assert_eq!(path, "table[0]::context");
}

#[tokio::test]
async fn statements_route_like_conditions() {
    let s = setup(
        json!({
            "default_pipelines": ["traces/global"],
            "table": [
                {"statement": format!("route() where {EU}"), "pipelines": ["traces/eu"]},
                {"statement": "route()", "pipelines": ["traces/rest"]},
            ],
        }),
        Signal::Traces,
        &["traces/eu", "traces/rest", "traces/global"],
    )
    .await;
    s.router.consume(regional_spans()).await.unwrap();
    assert_eq!(s.sink("traces/eu").item_count(), 4);
    assert_eq!(
        s.sink("traces/rest").item_count(),
        2,
        "route() with no where matches all"
    );
    assert_eq!(s.sink("traces/global").calls(), 0);
}

#[test]
fn pipeline_references_cover_the_table_and_the_defaults() {
    let refs = RoutingConnectorFactory.pipeline_references(&json!({
        "default_pipelines": ["traces/global"],
        "table": [
            {"condition": "true", "pipelines": ["traces/eu", "traces/archive"]},
            {"condition": "true", "pipelines": ["traces/us"]},
        ],
    }));
    assert_eq!(
        refs,
        [
            (
                "table[0]::pipelines[0]".to_string(),
                "traces/eu".to_string()
            ),
            (
                "table[0]::pipelines[1]".to_string(),
                "traces/archive".to_string()
            ),
            (
                "table[1]::pipelines[0]".to_string(),
                "traces/us".to_string()
            ),
            (
                "default_pipelines[0]".to_string(),
                "traces/global".to_string()
            ),
        ]
    );
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::connector(&RoutingConnectorFactory)
        .config_for(|to| {
            json!({
                "default_pipelines": [format!("{to}/default")],
                "table": [{
                    "condition": r#"attributes["cloud.region"] == "eu-west-1""#,
                    "pipelines": [format!("{to}/eu")],
                }],
            })
        })
        .default_config_rejected(&["table"])
        .await;
}

/// The README's EU-residency example, as written, routes as the README says.
#[tokio::test]
async fn the_readme_eu_example_routes_as_documented() {
    let readme = include_str!("../README.md");
    let section = readme
        .split("### Example: EU data stays in the EU")
        .nth(1)
        .expect("the README has the example");
    let yaml = section
        .split("```yaml")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a yaml block");
    let doc: Value = serde_yaml_ng::from_str(yaml).unwrap();
    let config = doc["connectors"]["routing"].clone();
    RoutingConnectorFactory.check_config(&config).unwrap();
    let s = setup(config, Signal::Traces, &["traces/eu", "traces/global"]).await;
    let batch = traces()
        .resource([("cloud.region", "eu-west-1")])
        .span("eu-resource")
        .resource([("cloud.region", "us-east-1")])
        .span(span("eu-tenant").attr("tenant.residency", "eu"))
        .span(span("us-tenant").attr("tenant.residency", "us"))
        .build();
    s.router.consume(batch).await.unwrap();
    let tagged = traces()
        .resource([("cloud.region", "ap-south-1")])
        .span("tagged")
        .build_with(Metadata::new(
            None,
            [("X-Data-Residency".to_string(), "eu".to_string())],
        ));
    s.router.consume(tagged).await.unwrap();
    let names = |id: &str| -> Vec<String> {
        s.sink(id)
            .batches()
            .iter()
            .flat_map(|b| b.span_names())
            .collect()
    };
    assert_eq!(names("traces/eu"), ["eu-resource", "eu-tenant", "tagged"]);
    assert_eq!(names("traces/global"), ["us-tenant"]);
}
