//! CloudWatch Logs (`awscloudwatchlogs`) end to end.
//!
//! The OpenTelemetry Python SDK (`tests/python/aws_logs_client.py`: LoggerProvider,
//! OTLPLogExporter over gRPC) sends logs to a stratus process whose config is the
//! brief's `awscloudwatchlogs` block plus `endpoint` (moto) and credentials through
//! `profile` / `shared_credentials_file`; boto3 reads back what arrived, compared with
//! what the script says it sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use serde_json::{Value, json};
use stratus_testkit::moto::Moto;

use crate::common::{Stratus, free_port, metric, python, python_dir, wait_for};

/// Every event of `group`/`stream` via boto3, `[]` while the stream does not exist.
fn read_events(endpoint: &str, group: &str, stream: &str) -> Vec<Value> {
    let script = r#"
import boto3, json, sys
c = boto3.client("logs", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="reader", aws_secret_access_key="reader")
try:
    r = c.get_log_events(logGroupName=sys.argv[2], logStreamName=sys.argv[3], startFromHead=True)
    print(json.dumps([{"timestamp": e["timestamp"], "message": e["message"]} for e in r["events"]]))
except c.exceptions.ResourceNotFoundException:
    print("[]")
"#;
    let out = Command::new(python())
        .args(["-c", script, endpoint, group, stream])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn python_sdk_logs_arrive_in_cloudwatch_logs_in_upstreams_shape() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &credentials,
        "[stratus-test]\naws_access_key_id = AKIASTRATUSTEST00000\n\
         aws_secret_access_key = stratus-test-secret\n",
    )
    .unwrap();
    let (grpc, metrics) = (free_port(), free_port());
    let config = format!(
        r#"
receivers:
  otlp: {{ protocols: {{ grpc: {{ endpoint: "127.0.0.1:{grpc}" }} }} }}
exporters:
  awscloudwatchlogs:
    {{ log_group_name: /aws/otel/traces, log_stream_name: otel-collector, region: us-east-1,
      endpoint: "{endpoint}", profile: stratus-test, shared_credentials_file: ["{credentials}"] }}
service:
  pipelines:
    logs: {{ receivers: [otlp], exporters: [awscloudwatchlogs] }}
  telemetry: {{ metrics: {{ address: "127.0.0.1:{metrics}" }} }}
"#,
        endpoint = moto.endpoint(),
        credentials = credentials.display(),
    );
    let mut stratus = Stratus::start(dir.path(), "cwlogs", &config);
    stratus.wait_running();

    let out = Command::new(python())
        .arg(python_dir().join("aws_logs_client.py"))
        .args(["--endpoint", &format!("127.0.0.1:{grpc}"), "--count", "6"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python client failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let sent: Value = serde_json::from_slice(&out.stdout).unwrap();
    let records = sent["records"].as_array().unwrap();
    assert_eq!(records.len(), 6);

    let events = wait_for("6 events in CloudWatch Logs", || {
        let e = read_events(&moto.endpoint(), "/aws/otel/traces", "otel-collector");
        (e.len() >= 6).then_some(e)
    });
    assert_eq!(events.len(), 6, "{events:?}\n{}", stratus.logs());
    for (event, record) in events.iter().zip(records) {
        let message: Value = serde_json::from_str(event["message"].as_str().unwrap()).unwrap();
        let ts_ms = record["timestamp_ns"].as_u64().unwrap() / 1_000_000;
        assert_eq!(event["timestamp"], json!(ts_ms), "{message}");
        assert_eq!(message["body"], record["body"]);
        assert_eq!(message["severity_number"], record["severity_number"]);
        assert_eq!(message["severity_text"], record["severity_text"]);
        assert_eq!(message["attributes"], record["attributes"], "{message}");
        assert_eq!(message["scope"], sent["scope"]);
        assert_eq!(message["resource"], sent["resource"], "{message}");
        match record.get("trace_id") {
            Some(trace_id) => {
                assert_eq!(&message["trace_id"], trace_id);
                assert_eq!(message["span_id"], record["span_id"]);
                assert_eq!(message["flags"], record["flags"]);
            }
            None => {
                assert!(message.get("trace_id").is_none(), "{message}");
                assert!(message.get("span_id").is_none(), "{message}");
            }
        }
        // Nothing else: upstream's fields, empty ones left out.
        let keys: Vec<&String> = message.as_object().unwrap().keys().collect();
        let expected = if record.get("trace_id").is_some() {
            9
        } else {
            6
        };
        assert_eq!(keys.len(), expected, "{message}");
    }
    let sent_series = "otelcol_exporter_sent_log_records{exporter=\"awscloudwatchlogs\"}";
    wait_for("the sent count", || {
        (metric(metrics, sent_series) == 6.0).then_some(())
    });
    stratus.terminate();
    assert!(stratus.wait_exit().success(), "{}", stratus.logs());
}
