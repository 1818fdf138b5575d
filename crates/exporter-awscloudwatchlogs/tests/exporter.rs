//! The `awscloudwatchlogs` exporter end to end: the conformance check against the
//! recording HTTP server standing in for CloudWatch Logs, and logs sent to moto
//! (directly, or through the test kit's recording proxy to count and throttle calls),
//! read back with boto3 (`get_log_events`, `describe_log_groups`,
//! `describe_log_streams`, `list_tags_log_group`).
//!
//! Credentials: no process environment is touched. Each test writes a shared
//! credentials file with a `stratus-test` profile into a temp dir and names it with
//! the exporter's own `profile` and `shared_credentials_file` keys (moto without
//! `INITIAL_NO_AUTH_ACTION_COUNT` does not check signatures).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::collections::{BTreeMap, HashSet};
use std::process::Command;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use stratus_core::factory::{
    BuildContext, ConfigProblem, Exporter, ExporterFactory, FactoryInfo, Stability,
};
use stratus_core::telemetry::Registry;
use stratus_core::{
    Component, ComponentError, ComponentId, ConsumeError, Consumer, Host, Payload, Signal,
    Telemetry,
};
use stratus_exporter_awscloudwatchlogs::AwsCloudWatchLogsExporterFactory;
use stratus_testkit::http::{RecordedRequest, RecordingHttpServer, Response};
use stratus_testkit::metric_value;
use stratus_testkit::moto::Moto;
use stratus_testkit::otlp::*;

const PUT_TARGET: &str = "Logs_20140328.PutLogEvents";
const HOUR_NS: u64 = 3_600_000_000_000;

/// A temp dir holding a credentials file with keys in profile `stratus-test`.
struct Credentials {
    dir: tempfile::TempDir,
}

impl Credentials {
    fn new() -> Self {
        Credentials::with_keys("AKIASTRATUSTEST00000", "stratus-test-secret")
    }

    fn with_keys(id: &str, secret: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("credentials"),
            format!("[stratus-test]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
        )
        .unwrap();
        Credentials { dir }
    }

    /// The brief's block sending to `endpoint` with these credentials, plus `extra`.
    fn config(&self, endpoint: &str, extra: Value) -> Value {
        let mut config = json!({
            "log_group_name": "/aws/otel/traces",
            "log_stream_name": "otel-collector",
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

/// The conformance check's sample records are timed at
/// [`SAMPLE_TIME_NS`](stratus_testkit::otlp::SAMPLE_TIME_NS) (November 2023), which
/// CloudWatch Logs refuses (more than 14 days old) and this exporter therefore drops
/// before sending. This factory builds the real exporter and moves every record's
/// time by the same offset, to the present, before handing it over; nothing else
/// changes.
struct Retimed;

struct RetimedExporter(Arc<dyn Exporter>);

impl FactoryInfo for Retimed {
    fn type_name(&self) -> &'static str {
        AwsCloudWatchLogsExporterFactory.type_name()
    }
    fn signals(&self) -> &'static [(Signal, Stability)] {
        FactoryInfo::signals(&AwsCloudWatchLogsExporterFactory)
    }
    fn check_config(&self, raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        AwsCloudWatchLogsExporterFactory.check_config(raw)
    }
}

#[async_trait::async_trait]
impl ExporterFactory for Retimed {
    async fn build(
        &self,
        ctx: BuildContext,
        raw: &Value,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        let inner = AwsCloudWatchLogsExporterFactory.build(ctx, raw).await?;
        Ok(Arc::new(RetimedExporter(inner)))
    }
}

#[async_trait::async_trait]
impl Consumer for RetimedExporter {
    async fn consume(&self, mut data: Telemetry) -> Result<(), ConsumeError> {
        let shift = now_ns() - SAMPLE_TIME_NS;
        if let Payload::Logs(rls) = &mut *data.payload {
            for r in rls
                .iter_mut()
                .flat_map(|rl| &mut rl.scope_logs)
                .flat_map(|sl| &mut sl.log_records)
            {
                r.time_unix_nano += shift;
            }
        }
        self.0.consume(data).await
    }
}

#[async_trait::async_trait]
impl Component for RetimedExporter {
    async fn start(&self, host: &Host) -> Result<(), ComponentError> {
        self.0.start(host).await
    }
    async fn shutdown(&self) -> Result<(), ComponentError> {
        self.0.shutdown().await
    }
}

#[tokio::test]
async fn conformance() {
    let creds = Credentials::new();
    stratus_testkit::conformance::exporter(&Retimed)
        .default_config_rejected(&["log_group_name", "log_stream_name"])
        .http_destination(|url| creds.config(url, json!({})))
        .http_answers(
            Response::ok().json(&json!({})),
            Response::status(400)
                .header("x-amzn-errortype", "InvalidParameterException")
                .json(&json!({"__type": "InvalidParameterException", "message": "conformance"})),
        )
        .await;
}

/// A started exporter `awscloudwatchlogs/<name>` with its own registry;
/// `wait_for_result` makes `consume` return once the data was exported, and retries
/// are quick.
async fn exporter(name: &str, config: Value) -> (Arc<dyn Exporter>, Registry) {
    let mut config = config;
    if config.get("sending_queue").is_none() {
        config["sending_queue"] = json!({"wait_for_result": true});
    }
    config["retry_on_failure"] =
        json!({"initial_interval": "10ms", "max_interval": "20ms", "max_elapsed_time": "30s"});
    let registry = Registry::new();
    let ctx = BuildContext::new(
        ComponentId::with_name("awscloudwatchlogs", name),
        vec![Signal::Logs],
        registry.clone(),
    );
    let exporter = AwsCloudWatchLogsExporterFactory
        .build(ctx, &config)
        .await
        .unwrap();
    exporter.start(&Host::ready()).await.unwrap();
    (exporter, registry)
}

fn metric(registry: &Registry, name: &str, exporter: &str, extra: &[(&str, &str)]) -> f64 {
    let id = format!("awscloudwatchlogs/{exporter}");
    let mut labels = vec![("exporter", id.as_str())];
    labels.extend_from_slice(extra);
    metric_value(registry, name, &labels)
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Runs `code` with boto3: `c` is a CloudWatch Logs client on `endpoint`, `args` the
/// JSON argument, `events(group, stream)` reads a whole stream; the script prints
/// JSON.
fn boto(endpoint: &str, code: &str, args: Value) -> Value {
    let python = std::env::var("STRATUS_TEST_PYTHON").expect("STRATUS_TEST_PYTHON");
    let script = format!(
        r#"
import boto3, json, sys
c = boto3.client("logs", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="reader", aws_secret_access_key="reader")
args = json.loads(sys.argv[2])
def events(g, s):
    out, token = [], None
    while True:
        kw = dict(logGroupName=g, logStreamName=s, startFromHead=True)
        if token:
            kw["nextToken"] = token
        r = c.get_log_events(**kw)
        out.extend(r["events"])
        if not r["events"] or r.get("nextForwardToken") == token:
            return out
        token = r["nextForwardToken"]
{code}
"#
    );
    let out = Command::new(python)
        .args(["-c", &script, endpoint, &args.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every event of a stream: `[{"timestamp": ms, "message": "..."}]`.
fn events(endpoint: &str, group: &str, stream: &str) -> Vec<Value> {
    let v = boto(
        endpoint,
        r#"print(json.dumps([{"timestamp": e["timestamp"], "message": e["message"]} for e in events(args["g"], args["s"])]))"#,
        json!({"g": group, "s": stream}),
    );
    v.as_array().unwrap().clone()
}

fn messages(endpoint: &str, group: &str, stream: &str) -> Vec<String> {
    events(endpoint, group, stream)
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_owned())
        .collect()
}

/// `describe_log_groups` by prefix: `{name: group}`.
fn groups(endpoint: &str, prefix: &str) -> BTreeMap<String, Value> {
    let v = boto(
        endpoint,
        r#"print(json.dumps({g["logGroupName"]: g for g in c.describe_log_groups(logGroupNamePrefix=args["p"])["logGroups"]}))"#,
        json!({"p": prefix}),
    );
    serde_json::from_value(v).unwrap()
}

fn puts(requests: &[RecordedRequest]) -> Vec<&RecordedRequest> {
    requests
        .iter()
        .filter(|r| r.header("x-amz-target") == Some(PUT_TARGET))
        .collect()
}

#[tokio::test]
async fn the_briefs_block_creates_group_and_stream_and_writes_upstreams_json() {
    let moto = Moto::start();
    let creds = Credentials::new();
    let (exporter, registry) = exporter("default", creds.config(&moto.endpoint(), json!({}))).await;
    let t = now_ns() - 1_000_000_000;
    let trace_id: u128 = 0x5b8e_fff7_9803_8103_d269_b633_813f_c60c;
    let batch = logs()
        .resource([("service.name", "checkout"), ("host.name", "ip-10-0-1-17")])
        .scope(scope("io.opentelemetry.logback").version("2.1.0"))
        .record(
            log("order placed")
                .severity(SeverityNumber::Warn)
                .time(t)
                .trace(trace_id, 0x0102_0304_0506_0708u64)
                .flags(1)
                .attr("http.status_code", 201)
                .attr("order.id", "A-17")
                .attr("retry", true),
        )
        .record(log("no trace").time(t + 1_000_000))
        .build();
    exporter.consume(batch).await.unwrap();
    assert_eq!(
        metric(
            &registry,
            "otelcol_exporter_sent_log_records",
            "default",
            &[]
        ),
        2.0
    );

    let found = groups(&moto.endpoint(), "/aws/otel/traces");
    assert!(found.contains_key("/aws/otel/traces"), "{found:?}");
    assert!(
        found["/aws/otel/traces"].get("retentionInDays").is_none(),
        "no retention by default: {found:?}"
    );
    let streams = boto(
        &moto.endpoint(),
        r#"print(json.dumps([s["logStreamName"] for s in c.describe_log_streams(logGroupName=args["g"])["logStreams"]]))"#,
        json!({"g": "/aws/otel/traces"}),
    );
    assert_eq!(streams, json!(["otel-collector"]));

    let got = events(&moto.endpoint(), "/aws/otel/traces", "otel-collector");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["timestamp"], json!(t / 1_000_000));
    assert_eq!(got[1]["timestamp"], json!(t / 1_000_000 + 1));
    let first: Value = serde_json::from_str(got[0]["message"].as_str().unwrap()).unwrap();
    // Field by field with what was sent.
    assert_eq!(first["body"], "order placed");
    assert_eq!(first["severity_number"], 13);
    assert_eq!(first["severity_text"], "WARN");
    assert_eq!(first["flags"], 1);
    assert_eq!(first["trace_id"], format!("{trace_id:032x}"));
    assert_eq!(first["span_id"], "0102030405060708");
    assert_eq!(
        first["attributes"],
        json!({"http.status_code": 201, "order.id": "A-17", "retry": true})
    );
    assert_eq!(
        first["scope"],
        json!({"name": "io.opentelemetry.logback", "version": "2.1.0"})
    );
    assert_eq!(
        first["resource"],
        json!({"host.name": "ip-10-0-1-17", "service.name": "checkout"})
    );
    assert_eq!(first.as_object().unwrap().len(), 9, "{first}");
    // Upstream's key order, empty fields left out.
    assert_eq!(
        got[1]["message"],
        r#"{"body":"no trace","scope":{"name":"io.opentelemetry.logback","version":"2.1.0"},"resource":{"host.name":"ip-10-0-1-17","service.name":"checkout"}}"#
    );
    assert!(
        got[0]["message"]
            .as_str()
            .unwrap()
            .starts_with(r#"{"body":"order placed","severity_number":13,"severity_text":"WARN","flags":1,"trace_id":"#)
    );
    let created = |r| {
        metric(
            &registry,
            "stratus_exporter_cloudwatch_logs_created",
            "default",
            &[("resource", r)],
        )
    };
    assert_eq!((created("log_group"), created("log_stream")), (1.0, 1.0));
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn retention_and_tags_apply_to_new_groups_only() {
    let moto = Moto::start();
    let creds = Credentials::new();
    boto(
        &moto.endpoint(),
        r#"c.create_log_group(logGroupName="/pre/existing"); print("{}")"#,
        json!({}),
    );
    let settings = json!({"log_retention": 7, "tags": {"team": "obs", "env": "test"}});
    let mut new_cfg = creds.config(&moto.endpoint(), settings.clone());
    new_cfg["log_group_name"] = json!("/new/group");
    let mut pre_cfg = creds.config(&moto.endpoint(), settings);
    pre_cfg["log_group_name"] = json!("/pre/existing");
    let (new_exp, _) = exporter("new", new_cfg).await;
    let (pre_exp, _) = exporter("pre", pre_cfg).await;
    let now = now_ns();
    new_exp
        .consume(logs().record(log("to new").time(now)).build())
        .await
        .unwrap();
    pre_exp
        .consume(logs().record(log("to pre").time(now)).build())
        .await
        .unwrap();

    let new = groups(&moto.endpoint(), "/new/group");
    assert_eq!(new["/new/group"]["retentionInDays"], 7, "{new:?}");
    let tags = boto(
        &moto.endpoint(),
        r#"print(json.dumps(c.list_tags_log_group(logGroupName=args["g"])["tags"]))"#,
        json!({"g": "/new/group"}),
    );
    assert_eq!(tags, json!({"team": "obs", "env": "test"}));
    let pre = groups(&moto.endpoint(), "/pre/existing");
    assert!(
        pre["/pre/existing"].get("retentionInDays").is_none(),
        "a pre-existing group keeps its retention: {pre:?}"
    );
    let pre_tags = boto(
        &moto.endpoint(),
        r#"print(json.dumps(c.list_tags_log_group(logGroupName=args["g"])["tags"]))"#,
        json!({"g": "/pre/existing"}),
    );
    assert_eq!(pre_tags, json!({}));
    assert_eq!(
        messages(&moto.endpoint(), "/pre/existing", "otel-collector").len(),
        1
    );
    assert_eq!(
        messages(&moto.endpoint(), "/new/group", "otel-collector").len(),
        1
    );
    new_exp.shutdown().await.unwrap();
    pre_exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_group_deleted_while_running_is_created_again() {
    let moto = Moto::start();
    let creds = Credentials::new();
    let (exporter, registry) = exporter("deleted", creds.config(&moto.endpoint(), json!({}))).await;
    exporter
        .consume(logs().record(log("before").time(now_ns())).build())
        .await
        .unwrap();
    assert_eq!(
        messages(&moto.endpoint(), "/aws/otel/traces", "otel-collector").len(),
        1
    );
    boto(
        &moto.endpoint(),
        r#"c.delete_log_group(logGroupName="/aws/otel/traces"); print("{}")"#,
        json!({}),
    );
    assert!(groups(&moto.endpoint(), "/aws/otel/traces").is_empty());
    exporter
        .consume(logs().record(log("after").time(now_ns())).build())
        .await
        .unwrap();
    let got = messages(&moto.endpoint(), "/aws/otel/traces", "otel-collector");
    assert_eq!(got, vec![r#"{"body":"after"}"#]);
    assert_eq!(
        metric(
            &registry,
            "stratus_exporter_cloudwatch_logs_created",
            "deleted",
            &[("resource", "log_group")]
        ),
        2.0
    );
    assert_eq!(
        metric(
            &registry,
            "otelcol_exporter_sent_log_records",
            "deleted",
            &[]
        ),
        2.0
    );
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn twenty_five_thousand_logs_go_out_in_at_least_three_requests() {
    let moto = Moto::start();
    let proxy = RecordingHttpServer::proxy(&moto.endpoint()).await;
    let creds = Credentials::new();
    let (exporter, registry) = exporter("many", creds.config(&proxy.url(), json!({}))).await;
    let now = now_ns();
    let batch = logs()
        .resource([("service.name", "bulk")])
        .records((0..25_000u64).map(|i| log(format!("record {i:05}")).time(now - i * 1_000_000)))
        .build();
    exporter.consume(batch).await.unwrap();
    let requests = proxy.requests();
    let puts = puts(&requests);
    assert!(puts.len() >= 3, "{} PutLogEvents requests", puts.len());
    let per_put: Vec<usize> = puts
        .iter()
        .map(|r| r.json()["logEvents"].as_array().unwrap().len())
        .collect();
    assert!(per_put.iter().all(|&n| n <= 10_000), "{per_put:?}");
    assert_eq!(per_put.iter().sum::<usize>(), 25_000);

    let got = messages(&moto.endpoint(), "/aws/otel/traces", "otel-collector");
    assert_eq!(got.len(), 25_000);
    let distinct: HashSet<&String> = got.iter().collect();
    assert_eq!(distinct.len(), 25_000, "each record once");
    assert_eq!(
        metric(&registry, "otelcol_exporter_sent_log_records", "many", &[]),
        25_000.0
    );
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn out_of_window_events_are_dropped_counted_and_not_sent() {
    let moto = Moto::start();
    let creds = Credentials::new();
    let (exporter, registry) = exporter("window", creds.config(&moto.endpoint(), json!({}))).await;
    let now = now_ns();
    let batch = logs()
        .record(log("fifteen days old").time(now - 15 * 24 * HOUR_NS))
        .record(log("now").time(now))
        .record(log("three hours ahead").time(now + 3 * HOUR_NS))
        .record(log("an hour ago").time(now - HOUR_NS))
        .record(log("an hour ahead").time(now + HOUR_NS))
        .build();
    exporter.consume(batch).await.unwrap();
    let dropped = |reason| {
        metric(
            &registry,
            "stratus_exporter_cloudwatch_logs_dropped_events",
            "window",
            &[("reason", reason)],
        )
    };
    assert_eq!((dropped("too_old"), dropped("too_new")), (1.0, 1.0));
    let got = messages(&moto.endpoint(), "/aws/otel/traces", "otel-collector");
    assert_eq!(
        got,
        vec![
            r#"{"body":"an hour ago"}"#,
            r#"{"body":"now"}"#,
            r#"{"body":"an hour ahead"}"#
        ]
    );
    assert_eq!(
        metric(
            &registry,
            "otelcol_exporter_sent_log_records",
            "window",
            &[]
        ),
        3.0
    );
    assert_eq!(
        metric(
            &registry,
            "otelcol_exporter_send_failed_log_records",
            "window",
            &[]
        ),
        0.0
    );
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn raw_log_emf_bodies_land_in_the_groups_they_name() {
    let moto = Moto::start();
    let creds = Credentials::new();
    let (exporter, _) = exporter(
        "raw",
        creds.config(&moto.endpoint(), json!({"raw_log": true})),
    )
    .await;
    let now = now_ns();
    let v1 = r#"{"_aws":{"Timestamp":1,"LogGroupName":"/emf/v1","LogStreamName":"emf-stream","CloudWatchMetrics":[]},"latency":3}"#;
    let v1_no_stream = r#"{"_aws":{"LogGroupName":"/emf/v1-default-stream"},"x":1}"#;
    let v0 = r#"{"log_group_name":"/emf/v0","log_stream_name":"v0-stream","count":2}"#;
    let batch = logs()
        .record(log(v1).time(now))
        .record(log(v1_no_stream).time(now))
        .record(log(v0).time(now))
        .record(log("plain text line").time(now))
        .build();
    exporter.consume(batch).await.unwrap();
    let e = moto.endpoint();
    assert_eq!(messages(&e, "/emf/v1", "emf-stream"), vec![v1]);
    assert_eq!(
        messages(&e, "/emf/v1-default-stream", "otel-collector"),
        vec![v1_no_stream]
    );
    assert_eq!(messages(&e, "/emf/v0", "v0-stream"), vec![v0]);
    assert_eq!(
        messages(&e, "/aws/otel/traces", "otel-collector"),
        vec!["plain text line"]
    );
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn throttling_is_retried_counted_and_the_data_arrives_once() {
    let moto = Moto::start();
    let proxy = RecordingHttpServer::proxy(&moto.endpoint()).await;
    proxy.respond_times(
        3,
        Response::status(400)
            .header("content-type", "application/x-amz-json-1.1")
            .body(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#),
    );
    let creds = Credentials::new();
    let (exporter, registry) = exporter("throttled", creds.config(&proxy.url(), json!({}))).await;
    let now = now_ns();
    exporter
        .consume(
            logs()
                .records((0..5).map(|i| log(format!("t{i}")).time(now)))
                .build(),
        )
        .await
        .unwrap();
    let got = messages(&moto.endpoint(), "/aws/otel/traces", "otel-collector");
    assert_eq!(
        got,
        (0..5)
            .map(|i| format!(r#"{{"body":"t{i}"}}"#))
            .collect::<Vec<_>>()
    );
    let retries = |reason| {
        metric(
            &registry,
            "stratus_exporter_retries",
            "throttled",
            &[("signal", "logs"), ("reason", reason)],
        )
    };
    assert_eq!(retries("throttled"), 3.0);
    assert_eq!(retries("failed"), 0.0);
    assert_eq!(
        metric(
            &registry,
            "otelcol_exporter_sent_log_records",
            "throttled",
            &[]
        ),
        5.0
    );
    assert_eq!(
        metric(
            &registry,
            "otelcol_exporter_send_failed_log_records",
            "throttled",
            &[]
        ),
        0.0
    );
    exporter.shutdown().await.unwrap();
}

/// The split-before-queue property against a scripted CloudWatch Logs (the recording
/// server answers every call itself, so the failure can be put on the second
/// PutLogEvents exactly): a batch of three requests' worth, the second request's
/// first attempt failing with a 500. The retry resends only that request's events;
/// every event is taken exactly once.
#[tokio::test]
async fn a_failed_second_request_does_not_resend_the_first() {
    let server = RecordingHttpServer::start().await;
    server.set_default(Response::ok().json(&json!({})));
    // CreateLogStream, PutLogEvents #1: fine; PutLogEvents #2: a 500, once.
    server.respond(Response::ok().json(&json!({})));
    server.respond(Response::ok().json(&json!({})));
    server.respond(
        Response::status(500)
            .header("x-amzn-errortype", "ServiceUnavailableException")
            .json(&json!({"__type": "ServiceUnavailableException", "message": "try later"})),
    );
    let creds = Credentials::new();
    let (exporter, registry) = exporter("parts", creds.config(&server.url(), json!({}))).await;
    let now = now_ns();
    let batch = logs()
        .records((0..25_000u64).map(|i| log(format!("e{i:05}")).time(now - i * 1_000_000)))
        .build();
    exporter.consume(batch).await.unwrap();
    let requests = server.requests();
    let targets: Vec<&str> = requests
        .iter()
        .map(|r| r.header("x-amz-target").unwrap_or_default())
        .collect();
    assert_eq!(targets[0], "Logs_20140328.CreateLogStream");
    let puts = puts(&requests);
    let bodies: Vec<Vec<String>> = puts
        .iter()
        .map(|r| {
            r.json()["logEvents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["message"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect();
    assert_eq!(bodies.len(), 4, "three requests and one retry");
    assert_eq!(bodies[1], bodies[2], "the retry resends the failed request");
    assert_ne!(bodies[0], bodies[1]);
    // What was taken (every answer but the 500): each event exactly once.
    let mut taken: Vec<&String> = bodies
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .flat_map(|(_, b)| b)
        .collect();
    assert_eq!(taken.len(), 25_000);
    taken.sort();
    taken.dedup();
    assert_eq!(taken.len(), 25_000, "no event taken twice");
    assert_eq!(
        metric(
            &registry,
            "stratus_exporter_retries",
            "parts",
            &[("signal", "logs"), ("reason", "failed")]
        ),
        1.0
    );
    assert_eq!(
        metric(&registry, "otelcol_exporter_sent_log_records", "parts", &[]),
        25_000.0
    );
    exporter.shutdown().await.unwrap();
}

/// Moto with signature checking on after the IAM setup calls, and a user allowed
/// everything: `(moto, access key id)`.
fn moto_with_user() -> (Moto, String) {
    let moto = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let python = std::env::var("STRATUS_TEST_PYTHON").unwrap();
    let script = r#"
import boto3, json, sys
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="setup", aws_secret_access_key="setup")
iam.create_user(UserName="stratus-test")
iam.put_user_policy(UserName="stratus-test", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
print(iam.create_access_key(UserName="stratus-test")["AccessKey"]["AccessKeyId"])
"#;
    let out = Command::new(python)
        .args(["-c", script, &moto.endpoint()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "IAM setup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    (moto, id)
}

#[tokio::test]
async fn a_wrong_secret_is_one_permanent_error_and_one_request() {
    let (moto, id) = moto_with_user();
    let proxy = RecordingHttpServer::proxy(&moto.endpoint()).await;
    let creds = Credentials::with_keys(&id, "definitely-wrong-secret");
    let (exporter, registry) = exporter("auth", creds.config(&proxy.url(), json!({}))).await;
    let err = exporter
        .consume(logs().record(log("x").time(now_ns())).build())
        .await
        .unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert!(
        err.message().contains("check the credentials"),
        "{}",
        err.message()
    );
    assert!(
        !err.message().contains("definitely-wrong"),
        "no secret in the error"
    );
    assert_eq!(
        proxy.request_count(),
        1,
        "one call, not retried: {:?}",
        proxy
            .requests()
            .iter()
            .map(|r| r.header("x-amz-target").unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        metric(
            &registry,
            "otelcol_exporter_send_failed_log_records",
            "auth",
            &[]
        ),
        1.0
    );
    let retries: f64 = ["throttled", "failed", "timeout"]
        .iter()
        .map(|r| {
            metric(
                &registry,
                "stratus_exporter_retries",
                "auth",
                &[("signal", "logs"), ("reason", r)],
            )
        })
        .sum();
    assert_eq!(retries, 0.0);
    exporter.shutdown().await.unwrap();
}
