//! CloudWatch metrics as EMF (`awsemf`, `awscloudwatch`) end to end.
//!
//! The OpenTelemetry Python SDK's metrics API (`tests/python/aws_metrics_client.py`:
//! a counter, a histogram, a gauge and a counter no selector matches, cumulative,
//! two collection cycles) exports over OTLP/gRPC to a stratus process whose config
//! holds the product brief's `awscloudwatch` block verbatim, plus `endpoint` (moto)
//! and a credentials profile. What arrived in moto's CloudWatch Logs is read back
//! with boto3 and the EMF JSON parsed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use serde_json::{Value, json};
use stratus_testkit::moto::Moto;

use crate::common::{Stratus, free_port, metric, python, python_dir, wait_for, wait_port};

const GROUP: &str = "/metrics/OTLP/Metrics";

/// Every event of every stream of `group` in moto, parsed, oldest first (boto3).
fn events(endpoint: &str, group: &str) -> Vec<Value> {
    let script = r#"
import boto3, json, sys
c = boto3.client("logs", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="reader", aws_secret_access_key="reader")
group = sys.argv[2]
out = []
if any(g["logGroupName"] == group for g in c.describe_log_groups()["logGroups"]):
    for s in c.describe_log_streams(logGroupName=group)["logStreams"]:
        for e in c.get_log_events(logGroupName=group, logStreamName=s["logStreamName"],
                                  startFromHead=True)["events"]:
            out.append({"timestamp": e["timestamp"], "message": json.loads(e["message"])})
out.sort(key=lambda e: e["timestamp"])
print(json.dumps(out))
"#;
    let out = Command::new(python())
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

#[test]
fn python_sdk_metrics_arrive_as_emf_with_the_briefs_namespace_and_dimensions() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &credentials,
        "[stratus-test]\naws_access_key_id = AKIASTRATUSTEST00000\n\
         aws_secret_access_key = stratus-test-secret\n",
    )
    .unwrap();
    let (grpc, telemetry) = (free_port(), free_port());
    // The brief's block verbatim, then where moto is and which credentials to use.
    let config = format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
exporters:
  awscloudwatch:
    namespace: OTLP/Metrics
    region: us-east-1
    metric_declarations:
      - dimensions: [[service.name, operation]]
        metric_name_selectors: ["^http\\..*", "^rpc\\..*"]
    endpoint: {endpoint}
    profile: stratus-test
    shared_credentials_file: [{credentials}]
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{telemetry}
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [awscloudwatch]
"#,
        endpoint = moto.endpoint(),
        credentials = credentials.display(),
    );
    let mut stratus = Stratus::start(dir.path(), "emf", &config);
    stratus.wait_running();
    wait_port(grpc);

    let out = Command::new(python())
        .arg(python_dir().join("aws_metrics_client.py"))
        .args(["--endpoint", &format!("http://127.0.0.1:{grpc}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python client failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Both exports are in once the counter's delta (second export only) and the
    // second gauge value are there.
    let found = wait_for("both exports in CloudWatch Logs", || {
        let found = events(&moto.endpoint(), GROUP);
        let has = |field: &str, value: Value| {
            found
                .iter()
                .any(|e| e["message"].get(field) == Some(&value))
        };
        (has("http.server.requests", json!(7)) && has("rpc.queue.depth", json!(6))).then_some(found)
    });
    let messages: Vec<&Value> = found.iter().map(|e| &e["message"]).collect();
    let with = |field: &str| -> Vec<&Value> {
        messages
            .iter()
            .copied()
            .filter(|m| m.get(field).is_some())
            .collect()
    };

    // Cumulative → delta: the first export (5) is the baseline, the second sends 7.
    let requests = with("http.server.requests");
    assert_eq!(requests.len(), 1, "{messages:#?}");
    assert_eq!(requests[0]["http.server.requests"], 7);
    // db.calls matches no selector: a field of the same event (delta 5), not a metric.
    assert_eq!(requests[0]["db.calls"], 5);

    // Every extracted metric: the brief's namespace and dimension set.
    let mut extracted = Vec::new();
    for m in &messages {
        let Some(directives) = m["_aws"]["CloudWatchMetrics"].as_array() else {
            continue;
        };
        assert_eq!(m["Version"], "1");
        assert!(m["_aws"]["Timestamp"].is_u64(), "{m}");
        for d in directives {
            assert_eq!(d["Namespace"], "OTLP/Metrics", "{m}");
            assert!(
                d["Dimensions"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(["operation", "service.name"])),
                "{m}"
            );
            for metric in d["Metrics"].as_array().unwrap() {
                assert_eq!(metric["StorageResolution"], 60, "{m}");
                extracted.push(metric["Name"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(m["service.name"], "checkout");
        assert_eq!(m["operation"], "GET");
        assert_eq!(m["OTelLib"], "io.opentelemetry.http");
    }
    extracted.sort();
    extracted.dedup();
    assert_eq!(
        extracted,
        [
            "http.server.duration",
            "http.server.requests",
            "rpc.queue.depth"
        ],
        "db.calls is never extracted"
    );

    // The histogram as a statistic set (cumulative, as upstream sends it), the gauge
    // as is.
    let durations = with("http.server.duration");
    assert_eq!(durations.len(), 2, "one per export");
    assert_eq!(
        durations[0]["http.server.duration"],
        json!({"Count": 3, "Sum": 15, "Min": 1, "Max": 9})
    );
    let depths: Vec<&Value> = with("rpc.queue.depth")
        .iter()
        .map(|m| &m["rpc.queue.depth"])
        .collect();
    assert_eq!(depths, [&json!(4), &json!(6)]);

    // Counted once the PutLogEvents call returned, just after moto stored the events.
    let series = "otelcol_exporter_sent_metric_points{exporter=\"awscloudwatch\"}";
    wait_for("the sent points counted", || {
        (metric(telemetry, series) >= 8.0).then_some(())
    });
    assert_eq!(metric(telemetry, series), 8.0, "4 points per export");
    assert_eq!(
        metric(
            telemetry,
            "otelcol_exporter_send_failed_metric_points{exporter=\"awscloudwatch\"}"
        ),
        0.0
    );
    stratus.terminate();
    assert!(stratus.wait_exit().success(), "{}", stratus.logs());
}

#[test]
fn both_names_are_listed_and_neither_is_marked_deprecated() {
    let out = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .arg("components")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for ty in ["awsemf", "awscloudwatch"] {
        let row = text
            .lines()
            .map(str::trim)
            .find(|l| l.split_whitespace().next() == Some(ty))
            .unwrap_or_else(|| panic!("no row for {ty} in\n{text}"));
        assert_eq!(
            row.split_once(' ').unwrap().1.trim(),
            "metrics (beta)",
            "{text}"
        );
    }
}
