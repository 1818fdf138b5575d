//! Mapping rules the golden pairs do not exercise: RPC, old HTTP/DB semconv, Azure SDK and
//! GenAI spans, links, sampling, custom events, exception logs without a body, exponential
//! histograms, summaries, and the per-item failures.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use crate::common;

use common::*;
use serde_json::{Value, json};
use stratus_core::pdata::metrics::{
    Gauge, Metric, NumberDataPoint, metric::Data, number_data_point,
};
use stratus_exporter_azuremonitor::translate::{Translation, Translator, TranslatorConfig};

fn translator() -> Translator {
    Translator::new(TranslatorConfig {
        instrumentation_key: IKEY.to_owned(),
        span_events_enabled: true,
        custom_events_enabled: true,
        exception_events_enabled: true,
    })
}

fn parsed(t: &Translation) -> Vec<Value> {
    t.envelopes
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect()
}

#[test]
fn spans_outside_the_pairs() {
    let payloads = coverage_payloads();
    let t = translator().translate(&payloads[0]);
    assert!(t.failures.is_empty(), "{:?}", t.failures);
    assert_eq!(t.items, 6);
    assert_eq!(t.item_of, vec![0, 1, 2, 3, 4, 5]);
    let e = parsed(&t);

    // gRPC client: the type is the RPC system, not the attribute name; links in _MS.links.
    let rpc = &e[0]["data"]["baseData"];
    assert_eq!(
        e[0]["name"],
        "Microsoft.ApplicationInsights.RemoteDependency"
    );
    assert_eq!(rpc["type"], "grpc");
    assert_eq!(rpc["target"], "greeter.internal:50051");
    assert_eq!(rpc["success"], true);
    assert_eq!(rpc["duration"], "0.00:00:00.001500");
    assert_eq!(
        rpc["properties"],
        json!({"_MS.links": format!(r#"[{{"operation_Id": "{}", "id": "{}"}}]"#, "aa".repeat(16), "bb".repeat(8))})
    );
    assert_eq!(e[0]["tags"]["ai.operation.parentId"], "3333333333333333");
    assert_eq!(e[0]["tags"]["ai.operation.id"], "11".repeat(16));
    assert_eq!(e[0]["tags"]["ai.cloud.role"], "api");
    assert_eq!(e[0]["tags"]["ai.cloud.roleInstance"], "api-0");

    // Old HTTP semconv server span: URL from scheme/host/target, name from the path.
    let req = &e[1]["data"]["baseData"];
    assert_eq!(e[1]["name"], "Microsoft.ApplicationInsights.Request");
    assert_eq!(req["name"], "GET /x");
    assert_eq!(req["url"], "http://h.example:8080/x?y=1");
    assert_eq!(req["responseCode"], "404");
    assert_eq!(req["success"], false);
    assert_eq!(req["properties"], json!({}));
    assert_eq!(e[1]["tags"]["ai.location.ip"], "10.0.0.1");
    assert_eq!(e[1]["tags"]["ai.user.userAgent"], "curl");
    assert_eq!(e[1]["tags"]["ai.user.authUserId"], "alice");
    assert_eq!(e[1]["tags"]["ai.operation.name"], "GET /x");

    // Old DB semconv: SQL family, default port left out, database appended.
    let db = &e[2]["data"]["baseData"];
    assert_eq!(db["type"], "SQL");
    assert_eq!(db["data"], "SELECT 1");
    assert_eq!(db["target"], "sql.internal|main");

    assert_eq!(
        e[3]["data"]["baseData"]["type"],
        "InProc | Microsoft.ServiceBus"
    );
    assert_eq!(e[4]["data"]["baseData"]["type"], "GenAI | openai");
    assert_eq!(e[4]["data"]["baseData"]["target"], "openai");

    // UNSPECIFIED is INTERNAL; arrays are JSON; _MS.sampleRate goes to the envelope.
    assert_eq!(e[5]["data"]["baseData"]["type"], "InProc");
    assert_eq!(
        e[5]["data"]["baseData"]["properties"],
        json!({"list": "[false]"})
    );
    assert_eq!(e[5]["sampleRate"], 50.0);
    assert!(e[0].get("sampleRate").is_none());
}

#[test]
fn logs_outside_the_pairs() {
    let t = translator().translate(&coverage_payloads()[1]);
    assert!(t.failures.is_empty(), "{:?}", t.failures);
    let e = parsed(&t);
    assert_eq!(e[0]["name"], "Microsoft.ApplicationInsights.Event");
    assert_eq!(
        e[0]["data"],
        json!({"baseType": "EventData", "baseData": {
            "ver": 2, "name": "CheckoutCompleted",
            "properties": {"cart": "c-1", "logger_name": "app.log"},
            "measurements": {"total": 12.5}}})
    );
    assert_eq!(e[0]["tags"]["ai.operation.id"], "0".repeat(32));
    assert_eq!(e[0]["tags"]["ai.operation.parentId"], "0".repeat(16));

    // Blank body -> "n/a"; no time -> observed time.
    assert_eq!(e[1]["data"]["baseData"]["message"], "n/a");
    assert_eq!(e[1]["data"]["baseData"]["severityLevel"], 0);
    assert_eq!(e[1]["time"], "2024-05-01T10:00:00.000000Z");

    // FATAL exception without a body or message: no invented stack.
    assert_eq!(e[2]["name"], "Microsoft.ApplicationInsights.Exception");
    assert_eq!(e[2]["data"]["baseData"]["severityLevel"], 4);
    assert_eq!(
        e[2]["data"]["baseData"]["exceptions"],
        json!([{"typeName": "Panic", "message": "Exception", "hasFullStack": false}])
    );
}

#[test]
fn custom_events_need_the_switch() {
    let t = Translator::new(TranslatorConfig {
        instrumentation_key: IKEY.to_owned(),
        ..TranslatorConfig::default()
    })
    .translate(&coverage_payloads()[1]);
    let e = parsed(&t);
    assert_eq!(e[0]["name"], "Microsoft.ApplicationInsights.Message");
    assert_eq!(e[0]["data"]["baseData"]["message"], "checkout");
    assert_eq!(e[2]["name"], "Microsoft.ApplicationInsights.Message");
    assert_eq!(
        e[2]["data"]["baseData"]["properties"]["exception.type"],
        "Panic"
    );
}

#[test]
fn exponential_histograms_and_summaries_carry_their_aggregates() {
    let t = translator().translate(&coverage_payloads()[2]);
    assert!(t.failures.is_empty(), "{:?}", t.failures);
    let e = parsed(&t);
    assert_eq!(
        e[0]["data"]["baseData"],
        json!({"ver": 2, "properties": {"route": "/a"},
               "metrics": [{"name": "latency", "value": 12.0, "count": 3, "min": 1.0, "max": 8.0}]})
    );
    assert_eq!(
        e[1]["data"]["baseData"]["metrics"],
        json!([{"name": "rpc_duration", "value": 10.0, "count": 4, "min": 0.5, "max": 6.0}])
    );
    assert_eq!(e[0]["tags"]["ai.cloud.role"], "api");
}

#[test]
fn untranslatable_items_are_failures_and_keep_indexes_aligned() {
    let mut bad = span(2, "bad", vec![]);
    bad.trace_id = vec![1, 2, 3];
    let good = span(2, "good", vec![]);
    let t = translator().translate(&traces(vec![bad, good]));
    assert_eq!(t.items, 2);
    assert_eq!(t.failures.len(), 1);
    assert_eq!(t.failures[0].0, 0);
    assert!(t.failures[0].1.contains("trace id"), "{}", t.failures[0].1);
    assert_eq!(t.item_of, vec![1]);

    let point = |v: f64| NumberDataPoint {
        time_unix_nano: T0,
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    };
    let gauge = Metric {
        name: "g".into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![point(1.0), point(f64::NAN), point(2.0)],
        })),
        ..Default::default()
    };
    let t = translator().translate(&metrics(vec![gauge]));
    assert_eq!(t.items, 3);
    assert_eq!(t.item_of, vec![0, 2]);
    assert_eq!(t.failures.iter().map(|f| f.0).collect::<Vec<_>>(), vec![1]);

    let mut untimed = record(9, "x", vec![]);
    untimed.time_unix_nano = 0;
    untimed.observed_time_unix_nano = 0;
    let t = translator().translate(&logs(vec![untimed]));
    assert!(t.envelopes.is_empty());
    assert_eq!(t.failures.len(), 1);
}

#[test]
fn long_values_are_cut_to_the_service_limits() {
    let long_key = "k".repeat(151);
    let t = translator().translate(&traces(vec![span(
        1,
        &"n".repeat(2000),
        vec![s("v", &"é".repeat(9000)), s(&long_key, "dropped")],
    )]));
    let e = parsed(&t);
    let data = &e[0]["data"]["baseData"];
    assert_eq!(data["name"].as_str().unwrap().chars().count(), 1024);
    assert_eq!(
        data["properties"]["v"].as_str().unwrap().chars().count(),
        8192
    );
    assert!(data["properties"].get(&long_key).is_none());
}

#[test]
fn http_edge_cases() {
    let server = span(
        2,
        "GET",
        vec![
            s("http.request.method", "GET"),
            s("url.full", "https://h.example"),
            i("http.response.status_code", 503),
        ],
    );
    let client = span(
        3,
        "GET",
        vec![
            s("http.request.method", "GET"),
            s("url.full", "https://api.example/v1?q=1"),
            s("server.address", "api.example"),
        ],
    );
    let e = parsed(&translator().translate(&traces(vec![server, client])));
    assert_eq!(e[0]["data"]["baseData"]["name"], "GET /");
    assert_eq!(e[0]["data"]["baseData"]["responseCode"], "503");
    assert_eq!(e[0]["data"]["baseData"]["success"], false);
    assert_eq!(e[1]["data"]["baseData"]["name"], "GET /v1");
    assert_eq!(e[1]["data"]["baseData"]["target"], "api.example");
    assert_eq!(e[1]["data"]["baseData"]["resultCode"], "0");
    assert_eq!(e[1]["data"]["baseData"]["success"], true);
}
