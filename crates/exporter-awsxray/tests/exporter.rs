//! The `awsxray` exporter end to end: the conformance check, PutTraceSegments
//! batching, unprocessed segments, throttling and auth failures against the
//! recording HTTP server standing in for X-Ray (REST-JSON `POST /TraceSegments`),
//! and the issue's spans against moto, read back with boto3.
//!
//! Credentials: no process environment is touched. Each test writes a shared
//! credentials file with a `stratus-test` profile into a temp dir and names it with
//! the exporter's own `profile` and `shared_credentials_file` keys, so the SDK's
//! default chain finds static keys in the profile (neither the recording server nor
//! moto without `INITIAL_NO_AUTH_ACTION_COUNT` checks signatures).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::collections::HashSet;
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, Exporter, ExporterFactory};
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, Host, Signal, Telemetry};
use stratus_exporter_awsxray::AwsXrayExporterFactory;
use stratus_testkit::http::{RecordedRequest, RecordingHttpServer, Response};
use stratus_testkit::metric_value;
use stratus_testkit::moto::Moto;
use stratus_testkit::otlp::*;

const ID: &str = "awsxray/test";

/// A temp dir holding a credentials file with static keys in profile `stratus-test`.
struct Credentials {
    dir: tempfile::TempDir,
}

impl Credentials {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("credentials"),
            "[stratus-test]\naws_access_key_id = AKIASTRATUSTEST00000\n\
             aws_secret_access_key = stratus-test-secret\n",
        )
        .unwrap();
        Credentials { dir }
    }

    /// The exporter config sending to `endpoint` with these credentials, plus `extra`.
    fn config(&self, endpoint: &str, extra: Value) -> Value {
        let mut config = json!({
            "region": "us-east-1",
            "endpoint": endpoint,
            "profile": "stratus-test",
            "shared_credentials_file": [self.dir.path().join("credentials")],
        });
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        config
    }
}

/// X-Ray's answer when it took every document.
fn accepted() -> Response {
    Response::ok().json(&json!({"UnprocessedTraceSegments": []}))
}

/// An AWS JSON error answer.
fn aws_error(status: u16, code: &str, message: &str) -> Response {
    Response::status(status)
        .header("x-amzn-errortype", code)
        .json(&json!({"__type": code, "message": message}))
}

#[tokio::test]
async fn conformance() {
    let creds = Credentials::new();
    stratus_testkit::conformance::exporter(&AwsXrayExporterFactory)
        .http_destination(|url| creds.config(url, json!({})))
        .http_answers(
            accepted(),
            aws_error(400, "InvalidRequestException", "conformance: refused"),
        )
        .await;
}

/// A started exporter with its own metrics registry; `wait_for_result` makes
/// `consume` return once the data was exported, and retries are quick.
async fn exporter(config: Value) -> (Arc<dyn Exporter>, Registry) {
    let mut config = config;
    config["sending_queue"] = json!({"wait_for_result": true});
    config["retry_on_failure"] =
        json!({"initial_interval": "10ms", "max_interval": "20ms", "max_elapsed_time": "20s"});
    let registry = Registry::new();
    let ctx = BuildContext::new(
        ComponentId::with_name("awsxray", "test"),
        vec![Signal::Traces],
        registry.clone(),
    );
    let exporter = AwsXrayExporterFactory.build(ctx, &config).await.unwrap();
    exporter.start(&Host::ready()).await.unwrap();
    (exporter, registry)
}

fn metric(registry: &Registry, name: &str) -> f64 {
    metric_value(registry, name, &[("exporter", ID)])
}

/// The documents of a recorded PutTraceSegments call, parsed.
fn documents(request: &RecordedRequest) -> Vec<Value> {
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/TraceSegments");
    request.json()["TraceSegmentDocuments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| serde_json::from_str(d.as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn one_hundred_twenty_spans_go_out_in_three_calls() {
    let creds = Credentials::new();
    let server = RecordingHttpServer::start().await;
    server.set_default(accepted());
    let (exporter, registry) = exporter(creds.config(&server.url(), json!({}))).await;
    exporter.consume(sample_spans(120)).await.unwrap();
    let requests = server.requests();
    let sizes: Vec<usize> = requests.iter().map(|r| documents(r).len()).collect();
    assert_eq!(sizes, vec![50, 50, 20]);
    let ids: HashSet<String> = requests
        .iter()
        .flat_map(documents)
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 120, "every span's segment sent once");
    // Signed with the profile's static keys.
    let auth = requests[0].header("authorization").unwrap();
    assert!(
        auth.contains("Credential=AKIASTRATUSTEST00000/") && auth.contains("/xray/aws4_request"),
        "{auth}"
    );
    assert_eq!(metric(&registry, "otelcol_exporter_sent_spans"), 120.0);
    assert_eq!(metric(&registry, "otelcol_exporter_send_failed_spans"), 0.0);
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn unprocessed_segments_are_retried_alone() {
    let creds = Credentials::new();
    let server = RecordingHttpServer::start().await;
    server.set_default(accepted());
    // Span ids of sample spans are 1..=n: the second span's segment id.
    let second = "0000000000000002";
    server.respond(Response::ok().json(&json!({"UnprocessedTraceSegments": [
        {"Id": second, "ErrorCode": "ThrottledException", "Message": "try again"}
    ]})));
    let (exporter, registry) = exporter(creds.config(&server.url(), json!({}))).await;
    exporter.consume(sample_spans(3)).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "one call, then the retry");
    let first: Vec<Value> = documents(&requests[0]);
    assert_eq!(first.len(), 3);
    assert!(first.iter().any(|d| d["id"] == second));
    let retry: Vec<Value> = documents(&requests[1]);
    assert_eq!(retry.len(), 1, "only the unprocessed document is resent");
    assert_eq!(retry[0]["id"], second);
    assert_eq!(metric(&registry, "otelcol_exporter_sent_spans"), 3.0);
    assert_eq!(metric(&registry, "otelcol_exporter_send_failed_spans"), 0.0);
    assert_eq!(
        metric(&registry, "stratus_exporter_awsxray_unprocessed_segments"),
        1.0
    );
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn throttling_is_retried_and_counted_once() {
    let creds = Credentials::new();
    let server = RecordingHttpServer::start().await;
    server.set_default(accepted());
    server.respond_times(2, aws_error(400, "ThrottlingException", "Rate exceeded"));
    let (exporter, registry) = exporter(creds.config(&server.url(), json!({}))).await;
    exporter.consume(sample_spans(5)).await.unwrap();
    assert_eq!(
        server.request_count(),
        3,
        "two throttled attempts, then success"
    );
    assert_eq!(metric(&registry, "otelcol_exporter_sent_spans"), 5.0);
    assert_eq!(metric(&registry, "otelcol_exporter_send_failed_spans"), 0.0);
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_credentials_are_one_permanent_error() {
    let creds = Credentials::new();
    let server = RecordingHttpServer::start().await;
    server.set_default(aws_error(
        400,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    ));
    let (exporter, registry) = exporter(creds.config(&server.url(), json!({}))).await;
    let err = exporter.consume(sample_spans(4)).await.unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert!(
        err.message().contains("UnrecognizedClientException"),
        "{}",
        err.message()
    );
    assert_eq!(server.request_count(), 1, "an auth failure is not retried");
    assert_eq!(metric(&registry, "otelcol_exporter_send_failed_spans"), 4.0);
    assert_eq!(metric(&registry, "otelcol_exporter_sent_spans"), 0.0);
    exporter.shutdown().await.unwrap();
}

/// The issue's spans: a server span, an HTTP client span, a DB span, an error 500,
/// a 429 and an exception with a Python stack trace, each in a trace of its own,
/// timed at `now_ns`.
fn issue_spans(now_ns: u64) -> Telemetry {
    let python_trace = "Traceback (most recent call last):\n  File \"app.py\", line 3, in handler\n    raise ValueError('bad')\nValueError: bad";
    let timed =
        |s: SpanBuilder, trace: u128| s.trace_id(trace).start(now_ns).end(now_ns + 50_000_000);
    let base: u128 = u128::from(now_ns / 1_000_000_000) << 96;
    traces()
        .resource([
            ("service.name", "shop"),
            ("telemetry.sdk.language", "python"),
        ])
        .span(timed(
            span("GET /cart")
                .kind(SpanKind::Server)
                .span_id(1)
                .attr("http.method", "GET")
                .attr("http.status_code", 200),
            base | 1,
        ))
        .span(timed(
            span("GET")
                .kind(SpanKind::Client)
                .span_id(2)
                .parent(1)
                .attr("http.request.method", "GET")
                .attr("url.full", "https://api.example.com/x")
                .attr("http.response.status_code", 200),
            base | 1,
        ))
        .span(timed(
            span("SELECT orders")
                .kind(SpanKind::Client)
                .span_id(3)
                .parent(1)
                .attr("db.system", "postgresql")
                .attr("db.name", "orders")
                .attr("db.statement", "SELECT * FROM orders"),
            base | 1,
        ))
        .span(timed(
            span("POST /pay")
                .kind(SpanKind::Server)
                .span_id(4)
                .error("boom")
                .attr("http.method", "POST")
                .attr("http.status_code", 500),
            base | 2,
        ))
        .span(timed(
            span("GET /slow")
                .kind(SpanKind::Server)
                .span_id(5)
                .attr("http.method", "GET")
                .attr("http.status_code", 429),
            base | 3,
        ))
        .span(timed(
            span("handler")
                .kind(SpanKind::Server)
                .span_id(6)
                .error("bad")
                .event(
                    event("exception")
                        .attr("exception.type", "ValueError")
                        .attr("exception.message", "bad")
                        .attr("exception.stacktrace", python_trace),
                ),
            base | 4,
        ))
        .build()
}

/// GetTraceSummaries around `now_s`, then BatchGetTraces of every trace found, with
/// boto3: `{"summaries": [...], "documents": {segment id: document}}`.
fn read_back(endpoint: &str, now_s: u64) -> Value {
    let python = std::env::var("STRATUS_TEST_PYTHON").expect("STRATUS_TEST_PYTHON");
    let script = r#"
import boto3, json, sys
c = boto3.client("xray", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="reader", aws_secret_access_key="reader")
now = int(sys.argv[2])
summaries = c.get_trace_summaries(StartTime=now - 3600, EndTime=now + 3600)["TraceSummaries"]
ids = [s["Id"] for s in summaries]
docs = {}
if ids:
    for t in c.batch_get_traces(TraceIds=ids)["Traces"]:
        for seg in t["Segments"]:
            docs[seg["Id"]] = json.loads(seg["Document"])
print(json.dumps({"summaries": summaries, "documents": docs}, default=str))
"#;
    let out = Command::new(python)
        .args(["-c", script, endpoint, &now_s.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 read-back failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn the_issues_spans_arrive_in_xray() {
    let moto = Moto::start();
    let creds = Credentials::new();
    let now_ns = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap();
    let now_s = now_ns / 1_000_000_000;
    // The brief's block, pointed at moto.
    let config = creds.config(
        &moto.endpoint(),
        json!({
            "index_all_attributes": true,
            "indexed_attributes": ["http.method", "http.status_code", "error"],
        }),
    );
    let (exporter, registry) = exporter(config).await;
    exporter.consume(issue_spans(now_ns)).await.unwrap();
    assert_eq!(metric(&registry, "otelcol_exporter_sent_spans"), 6.0);

    let found = read_back(&moto.endpoint(), now_s);
    let summaries = found["summaries"].as_array().unwrap();
    let trace = |n: u128| {
        let id: u128 = (u128::from(now_s) << 96) | n;
        let hex = format!("{id:032x}");
        format!("1-{}-{}", &hex[..8], &hex[8..])
    };
    let summary_ids: HashSet<&str> = summaries
        .iter()
        .map(|s| s["Id"].as_str().unwrap())
        .collect();
    for n in 1..=4 {
        assert!(
            summary_ids.contains(trace(n).as_str()),
            "trace {} missing from GetTraceSummaries: {summary_ids:?}",
            trace(n)
        );
    }
    let docs = &found["documents"];
    let doc = |span: u64| &docs[format!("{span:016x}")];
    // The server span: a segment named after the service, with the brief's
    // indexed attributes as annotations (dots kept).
    let server = doc(1);
    assert_eq!(server["name"], "shop");
    assert_eq!(server["trace_id"], trace(1));
    assert!(server.get("type").is_none());
    assert_eq!(server["annotations"]["http.method"], "GET");
    assert_eq!(server["annotations"]["http.status_code"], 200);
    assert_eq!(server["http"]["request"]["method"], "GET");
    // The HTTP client span: a remote subsegment with its URL.
    let client = doc(2);
    assert_eq!(client["type"], "subsegment");
    assert_eq!(client["parent_id"], "0000000000000001");
    assert_eq!(client["namespace"], "remote");
    assert_eq!(
        client["http"]["request"]["url"],
        "https://api.example.com/x"
    );
    assert_eq!(client["http"]["response"]["status"], 200);
    // The DB span.
    let db = doc(3);
    assert_eq!(db["name"], "orders");
    assert_eq!(db["sql"]["database_type"], "postgresql");
    assert_eq!(db["sql"]["sanitized_query"], "SELECT * FROM orders");
    // 500: a fault, not an error.
    let fault = doc(4);
    assert_eq!(
        (&fault["fault"], &fault["error"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(fault["annotations"]["http.status_code"], 500);
    assert_eq!(fault["http"]["response"]["status"], 500);
    // 429: an error and a throttle.
    let throttle = doc(5);
    assert_eq!(
        (
            &throttle["fault"],
            &throttle["error"],
            &throttle["throttle"]
        ),
        (&json!(false), &json!(true), &json!(true))
    );
    // The exception with its Python stack trace.
    let exception = &doc(6)["cause"]["exceptions"][0];
    assert_eq!(exception["type"], "ValueError");
    assert_eq!(exception["message"], "bad");
    assert_eq!(
        exception["stack"][0],
        json!({"path": "app.py", "line": 3, "label": "handler"})
    );
    assert_eq!(doc(6)["fault"], true);
    assert_eq!(docs.as_object().unwrap().len(), 6, "{docs}");
    exporter.shutdown().await.unwrap();
}

/// 120 spans reach moto's X-Ray in three PutTraceSegments calls (50, 50, 20, counted
/// by a recording proxy in front of moto) and all 120 segments read back.
#[tokio::test]
async fn one_hundred_twenty_spans_arrive_in_moto_in_three_calls() {
    let moto = Moto::start();
    let proxy = RecordingHttpServer::proxy(&moto.endpoint()).await;
    let creds = Credentials::new();
    let now_ns = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap();
    let now_s = now_ns / 1_000_000_000;
    let base: u128 = u128::from(now_s) << 96;
    let batch = traces()
        .resource([("service.name", "shop")])
        .spans((1..=120u64).map(|i| {
            span(format!("GET /item/{i}"))
                .kind(SpanKind::Server)
                .trace_id(base | u128::from(i))
                .span_id(i)
                .start(now_ns)
                .end(now_ns + 1_000_000)
        }))
        .build();
    let (exporter, registry) = exporter(creds.config(&proxy.url(), json!({}))).await;
    exporter.consume(batch).await.unwrap();
    let sizes: Vec<usize> = proxy
        .requests()
        .iter()
        .map(|r| documents(r).len())
        .collect();
    assert_eq!(sizes, vec![50, 50, 20]);
    assert_eq!(metric(&registry, "otelcol_exporter_sent_spans"), 120.0);

    let found = read_back(&moto.endpoint(), now_s);
    assert_eq!(found["summaries"].as_array().unwrap().len(), 120);
    let docs = found["documents"].as_object().unwrap();
    let ids: HashSet<String> = (1..=120u64).map(|i| format!("{i:016x}")).collect();
    assert_eq!(docs.keys().cloned().collect::<HashSet<_>>(), ids);
    exporter.shutdown().await.unwrap();
}
