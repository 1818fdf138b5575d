//! The `awsemf` exporter (and `awscloudwatch`, the same exporter) end to end: the
//! conformance check for both names, the product brief's block against moto's
//! CloudWatch Logs read back with boto3 (`get_log_events`, the EMF JSON parsed),
//! cumulative → delta across exports, unmatched metrics not extracted, throttling
//! through the test kit's recording proxy, a permanent refusal, and
//! `output_destination: stdout`.
//!
//! Credentials: no process environment is touched. Each test writes a shared
//! credentials file with a `stratus-test` profile into a temp dir and names it with
//! the exporter's own `profile` and `shared_credentials_file` keys.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::io::Write;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, Exporter, ExporterFactory, decode_config};
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, Host, Signal, Telemetry};
use stratus_exporter_awsemf::{
    AwsCloudWatchExporterFactory, AwsEmfExporterConfig, AwsEmfExporterFactory, EmfSender,
};
use stratus_testkit::http::{RecordingHttpServer, Response};
use stratus_testkit::metric_value;
use stratus_testkit::moto::Moto;
use stratus_testkit::otlp::*;

const ID: &str = "awsemf/test";
const GROUP: &str = "/metrics/OTLP/Metrics";
const PUT_LOG_EVENTS: &str = "Logs_20140328.PutLogEvents";

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

    /// The product brief's `awscloudwatch` block sending to `endpoint` with these
    /// credentials, plus `extra`.
    fn brief(&self, endpoint: &str, extra: Value) -> Value {
        let mut config = json!({
            "namespace": "OTLP/Metrics",
            "region": "us-east-1",
            "metric_declarations": [{
                "dimensions": [["service.name", "operation"]],
                "metric_name_selectors": ["^http\\..*", "^rpc\\..*"],
            }],
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

#[tokio::test]
async fn conformance_awsemf() {
    // The conformance data is timed in 2023, outside CloudWatch Logs' 14-day window,
    // so it would never reach a destination: the check runs on standard output.
    // Sending and refusals are covered against moto and the recording server below.
    stratus_testkit::conformance::exporter(&AwsEmfExporterFactory)
        .config(json!({"output_destination": "stdout"}))
        .await;
}

#[tokio::test]
async fn conformance_awscloudwatch() {
    stratus_testkit::conformance::exporter(&AwsCloudWatchExporterFactory)
        .config(json!({"output_destination": "stdout"}))
        .await;
}

/// A started exporter (`factory`) with its own metrics registry; `wait_for_result`
/// makes `consume` return once the data was exported, and retries are quick.
async fn exporter_of(
    factory: &dyn ExporterFactory,
    config: Value,
) -> (Arc<dyn Exporter>, Registry) {
    let mut config = config;
    config["sending_queue"] = json!({"wait_for_result": true});
    config["retry_on_failure"] =
        json!({"initial_interval": "10ms", "max_interval": "20ms", "max_elapsed_time": "20s"});
    let registry = Registry::new();
    let ctx = BuildContext::new(
        ComponentId::with_name("awsemf", "test"),
        vec![Signal::Metrics],
        registry.clone(),
    );
    let exporter = factory.build(ctx, &config).await.unwrap();
    exporter.start(&Host::ready()).await.unwrap();
    (exporter, registry)
}

async fn exporter(config: Value) -> (Arc<dyn Exporter>, Registry) {
    exporter_of(&AwsEmfExporterFactory, config).await
}

fn metric(registry: &Registry, name: &str) -> f64 {
    metric_value(registry, name, &[("exporter", ID)])
}

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// One collection of the brief's kind of metrics at `t_ms`: a cumulative counter
/// `http.server.requests` at `requests`, a histogram `http.server.duration`, a gauge
/// `rpc.queue.depth`, a cumulative counter `db.calls` at `db_calls` that no
/// selector matches (same labels: it shares the counter's event), and a gauge
/// `db.pool.size` with labels of its own (an event no selector matches). Data point
/// labels `service.name` and `operation`, as the brief's dimension set needs.
fn collection(t_ms: u64, requests: i64, db_calls: i64) -> Telemetry {
    let t = t_ms * 1_000_000;
    let start = t - 60_000_000_000;
    let labelled = |p: NumberPoint| {
        p.attr("service.name", "checkout")
            .attr("operation", "GET")
            .start(start)
            .time(t)
    };
    metrics()
        .resource([("service.name", "checkout")])
        .scope("io.opentelemetry.http")
        .metric(
            sum("http.server.requests")
                .unit("1")
                .point(labelled(number_point(requests))),
        )
        .metric(sum("db.calls").point(labelled(number_point(db_calls))))
        .metric(
            histogram("http.server.duration")
                .unit("ms")
                .bounds([10.0, 100.0])
                .point(
                    histogram_point([1, 2, 0])
                        .sum(15.0)
                        .min(1.0)
                        .max(9.0)
                        .attr("service.name", "checkout")
                        .attr("operation", "GET")
                        .start(start)
                        .time(t),
                ),
        )
        .metric(gauge("rpc.queue.depth").point(labelled(number_point(4))))
        .metric(
            gauge("db.pool.size").point(number_point(10).attr("db.system", "postgresql").time(t)),
        )
        .build()
}

/// With boto3 against moto: the log groups (name and retention), the tags of
/// `group`, and every event of every stream of `group`, parsed, oldest first.
fn read_back(endpoint: &str, group: &str) -> Value {
    let python = std::env::var("STRATUS_TEST_PYTHON").expect("STRATUS_TEST_PYTHON");
    let script = r#"
import boto3, json, sys
c = boto3.client("logs", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="reader", aws_secret_access_key="reader")
group = sys.argv[2]
groups = c.describe_log_groups()["logGroups"]
out = {"groups": {g["logGroupName"]: g.get("retentionInDays") for g in groups},
       "tags": {}, "streams": [], "events": []}
if group in out["groups"]:
    out["tags"] = c.list_tags_log_group(logGroupName=group).get("tags", {})
    for s in c.describe_log_streams(logGroupName=group)["logStreams"]:
        out["streams"].append(s["logStreamName"])
        events = c.get_log_events(logGroupName=group, logStreamName=s["logStreamName"],
                                  startFromHead=True)["events"]
        for e in events:
            out["events"].append({"timestamp": e["timestamp"], "message": json.loads(e["message"])})
out["events"].sort(key=lambda e: e["timestamp"])
print(json.dumps(out))
"#;
    let out = Command::new(python)
        .args(["-c", script, endpoint, group])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 read-back failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The EMF documents of `found` that carry field `name`.
fn with_field<'a>(found: &'a Value, name: &str) -> Vec<&'a Value> {
    found["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["message"])
        .filter(|m| m.get(name).is_some())
        .collect()
}

/// Every metric name extracted in any `_aws.CloudWatchMetrics` of `found`.
fn extracted(found: &Value) -> Vec<String> {
    let mut names = Vec::new();
    for e in found["events"].as_array().unwrap() {
        if let Some(directives) = e["message"]["_aws"]["CloudWatchMetrics"].as_array() {
            for d in directives {
                for m in d["Metrics"].as_array().unwrap() {
                    names.push(m["Name"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    names
}

#[tokio::test]
async fn the_briefs_block_arrives_in_cloudwatch_logs_as_emf() {
    let moto = Moto::start();
    let creds = Credentials::new();
    let (exporter, registry) = exporter(creds.brief(&moto.endpoint(), json!({}))).await;
    let t1 = now_ms() - 60_000;
    let t2 = t1 + 30_000;
    exporter.consume(collection(t1, 5, 3)).await.unwrap();
    exporter.consume(collection(t2, 12, 8)).await.unwrap();
    assert_eq!(
        metric(&registry, "otelcol_exporter_sent_metric_points"),
        10.0
    );
    assert_eq!(
        metric(&registry, "otelcol_exporter_send_failed_metric_points"),
        0.0
    );

    let found = read_back(&moto.endpoint(), GROUP);
    assert!(
        found["groups"].get(GROUP).is_some(),
        "log group {GROUP} created: {}",
        found["groups"]
    );
    let streams = found["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 1, "{streams:?}");
    assert!(
        streams[0].as_str().unwrap().starts_with("otel-stream-"),
        "{streams:?}"
    );

    // Every event with metadata: the brief's namespace and dimension set, and
    // StorageResolution 60 and a Unit on each metric.
    let mut with_aws = 0;
    for e in found["events"].as_array().unwrap() {
        let m = &e["message"];
        let Some(aws) = m.get("_aws") else { continue };
        with_aws += 1;
        assert_eq!(m["Version"], "1");
        assert_eq!(aws["Timestamp"], e["timestamp"], "{m}");
        assert!(
            aws["Timestamp"] == json!(t1) || aws["Timestamp"] == json!(t2),
            "Timestamp in ms: {m}"
        );
        let d = &aws["CloudWatchMetrics"][0];
        assert_eq!(d["Namespace"], "OTLP/Metrics");
        assert!(
            d["Dimensions"]
                .as_array()
                .unwrap()
                .contains(&json!(["operation", "service.name"])),
            "{m}"
        );
        for metric in d["Metrics"].as_array().unwrap() {
            assert!(metric["Name"].is_string(), "{m}");
            assert!(metric["Unit"].is_string(), "{m}");
            assert_eq!(metric["StorageResolution"], 60, "{m}");
        }
        assert_eq!(m["service.name"], "checkout");
        assert_eq!(m["operation"], "GET");
        assert_eq!(m["OTelLib"], "io.opentelemetry.http");
    }
    assert!(with_aws >= 4, "{found}");

    // Cumulative → delta: the first export is the baseline, the second sends 12 - 5.
    let requests = with_field(&found, "http.server.requests");
    assert_eq!(
        requests.len(),
        1,
        "only the second export carries the counter: {found}"
    );
    assert_eq!(requests[0]["http.server.requests"], 7);
    assert_eq!(requests[0]["_aws"]["Timestamp"], t2);
    // db.calls matches no selector: a field of the counter's event (its delta too),
    // never extracted.
    assert_eq!(requests[0]["db.calls"], 5);
    let names = extracted(&found);
    assert!(
        names.contains(&"http.server.requests".to_owned()),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.starts_with("db.")), "{names:?}");
    // A group where nothing matches is a plain log line, without _aws or Version.
    let pool = with_field(&found, "db.pool.size");
    assert_eq!(pool.len(), 2, "{found}");
    for p in &pool {
        assert_eq!(p["db.pool.size"], 10);
        assert_eq!(p["db.system"], "postgresql");
        assert!(p.get("_aws").is_none() && p.get("Version").is_none(), "{p}");
    }

    // Histogram → statistic set, gauge as is, both in each export.
    let durations = with_field(&found, "http.server.duration");
    assert_eq!(durations.len(), 2);
    assert_eq!(
        durations[0]["http.server.duration"],
        json!({"Count": 3, "Sum": 15, "Min": 1, "Max": 9})
    );
    let unit = durations[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Name"] == "http.server.duration")
        .unwrap()["Unit"]
        .clone();
    assert_eq!(unit, "Milliseconds");
    let depth = with_field(&found, "rpc.queue.depth");
    assert_eq!(depth.len(), 2);
    assert_eq!(depth[0]["rpc.queue.depth"], 4);
    assert!(names.contains(&"rpc.queue.depth".to_owned()), "{names:?}");
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn awscloudwatch_is_the_same_exporter() {
    let moto = Moto::start();
    let creds = Credentials::new();
    let (exporter, _) = exporter_of(
        &AwsCloudWatchExporterFactory,
        creds.brief(&moto.endpoint(), json!({})),
    )
    .await;
    let t = now_ms() - 10_000;
    exporter.consume(collection(t, 1, 1)).await.unwrap();
    let found = read_back(&moto.endpoint(), GROUP);
    let depth = with_field(&found, "rpc.queue.depth");
    assert_eq!(depth.len(), 1, "{found}");
    assert_eq!(
        depth[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "OTLP/Metrics"
    );
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn throttled_puts_are_retried_and_the_delta_advances_once() {
    let moto = Moto::start();
    let proxy = RecordingHttpServer::proxy(&moto.endpoint()).await;
    let creds = Credentials::new();
    let config = creds.brief(
        &proxy.url(),
        json!({"log_retention": 7, "tags": {"team": "observability"}}),
    );
    let (exporter, registry) = exporter(config).await;
    let t1 = now_ms() - 60_000;
    // The first export creates the group and stream and holds the counter's baseline.
    exporter.consume(collection(t1, 5, 3)).await.unwrap();
    let puts = || {
        proxy
            .requests()
            .iter()
            .filter(|r| r.header("x-amz-target") == Some(PUT_LOG_EVENTS))
            .count()
    };
    assert_eq!(puts(), 1);
    // The next two PutLogEvents are throttled, then the proxy forwards to moto.
    proxy.respond_times(
        2,
        Response::status(400)
            .header("content-type", "application/x-amz-json-1.1")
            .body(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#),
    );
    exporter
        .consume(collection(t1 + 30_000, 12, 8))
        .await
        .unwrap();
    assert_eq!(
        puts(),
        4,
        "two throttled attempts, then the one that went through"
    );
    assert_eq!(
        metric_value(
            &registry,
            "stratus_exporter_retries",
            &[
                ("exporter", ID),
                ("signal", "metrics"),
                ("reason", "throttled")
            ]
        ),
        2.0
    );
    assert_eq!(
        metric(&registry, "otelcol_exporter_sent_metric_points"),
        10.0
    );
    assert_eq!(
        metric(&registry, "otelcol_exporter_send_failed_metric_points"),
        0.0
    );

    let found = read_back(&moto.endpoint(), GROUP);
    // Arrived once, and the delta is still 12 - 5: the retries re-sent the encoded
    // request, the translation did not run again.
    let requests = with_field(&found, "http.server.requests");
    assert_eq!(requests.len(), 1, "{found}");
    assert_eq!(requests[0]["http.server.requests"], 7);
    assert_eq!(with_field(&found, "rpc.queue.depth").len(), 2);
    // The group settings applied to the created group.
    assert_eq!(found["groups"][GROUP], 7);
    assert_eq!(found["tags"], json!({"team": "observability"}));
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_refused_put_is_one_permanent_failure() {
    let server = RecordingHttpServer::start().await;
    server.set_default(
        Response::status(400)
            .header("content-type", "application/x-amz-json-1.1")
            .body(r#"{"__type":"InvalidParameterException","message":"bad events"}"#),
    );
    let creds = Credentials::new();
    let (exporter, registry) = exporter(creds.brief(&server.url(), json!({}))).await;
    let err = exporter
        .consume(collection(now_ms() - 1_000, 1, 1))
        .await
        .unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert_eq!(
        metric(&registry, "otelcol_exporter_send_failed_metric_points"),
        5.0
    );
    assert_eq!(
        metric(&registry, "otelcol_exporter_sent_metric_points"),
        0.0
    );
    exporter.shutdown().await.unwrap();
}

/// A writer the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn stdout_writes_one_emf_document_per_line() {
    let config: AwsEmfExporterConfig = decode_config(&json!({
        "namespace": "OTLP/Metrics",
        "output_destination": "stdout",
        "metric_declarations": [{
            "dimensions": [["service.name", "operation"]],
            "metric_name_selectors": ["^http\\..*", "^rpc\\..*"],
        }],
    }))
    .unwrap();
    let registry = Registry::new();
    let ctx = BuildContext::new(
        ComponentId::with_name("awsemf", "test"),
        vec![Signal::Metrics],
        registry.clone(),
    );
    let out = Captured::default();
    let sender = EmfSender::writer(&ctx, &config, Box::new(out.clone())).unwrap();
    let mut settings = config.settings();
    settings.queue.wait_for_result = true;
    let exporter = stratus_exporter_helper::build_exporter(&ctx, settings, sender);
    exporter.start(&Host::ready()).await.unwrap();
    let t = now_ms();
    exporter.consume(collection(t, 5, 3)).await.unwrap();
    exporter.consume(collection(t + 1_000, 9, 3)).await.unwrap();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // First export: histogram, gauge, unmatched gauge (the sums are baselines);
    // second: the same plus the sums' event.
    assert_eq!(lines.len(), 7, "{text}");
    let delta: Vec<&Value> = lines
        .iter()
        .filter(|l| l.get("http.server.requests").is_some())
        .collect();
    assert_eq!(delta.len(), 1);
    assert_eq!(delta[0]["http.server.requests"], 4);
    assert_eq!(
        delta[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "OTLP/Metrics"
    );
    assert!(text.ends_with('\n'));
    assert_eq!(
        metric(&registry, "otelcol_exporter_sent_metric_points"),
        10.0
    );
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn stdout_makes_no_aws_call() {
    // An endpoint that records: nothing may reach it. No credentials given either.
    let server = RecordingHttpServer::start().await;
    let config = json!({
        "namespace": "OTLP/Metrics",
        "output_destination": "stdout",
        "endpoint": server.url(),
    });
    let (exporter, registry) = exporter(config).await;
    exporter.consume(collection(now_ms(), 1, 1)).await.unwrap();
    assert_eq!(
        metric(&registry, "otelcol_exporter_sent_metric_points"),
        5.0
    );
    exporter.shutdown().await.unwrap();
    assert_eq!(server.request_count(), 0, "stdout made an AWS call");
}
