//! The `awss3` exporter end to end: its config in both forms, the conformance check
//! against the recording HTTP server standing in for S3 (REST `PUT /<bucket>/<key>`,
//! path style), and uploads to moto read back with boto3.
//!
//! Credentials: no process environment is touched. Each test writes a shared
//! credentials file with a `stratus-test` profile into a temp dir and names it with
//! the exporter's own `profile` and `shared_credentials_file` keys (neither the
//! recording server nor moto without `INITIAL_NO_AUTH_ACTION_COUNT` checks
//! signatures).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::io::Read as _;
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, Exporter, ExporterFactory, Validate, decode_config};
use stratus_core::pdata::json as otlp_json;
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, Host, Payload, Signal};
use stratus_exporter_awss3::{AwsS3Config, AwsS3ExporterFactory};
use stratus_testkit::http::Response;
use stratus_testkit::metric_value;
use stratus_testkit::moto::Moto;
use stratus_testkit::otlp::{PayloadExt, SpanKind, sample, span, traces};

const ID: &str = "awss3/test";

/// The product brief's block, verbatim.
const BRIEF: &str = "{ region: us-east-1, s3_bucket: otel-traces-archive, s3_prefix: traces/, s3_partition: hour, compression: gzip, marshaler: otlp_json }";

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

    /// `config` plus this profile's session keys.
    fn with(&self, mut config: Value) -> Value {
        config["profile"] = json!("stratus-test");
        config["shared_credentials_file"] = json!([self.dir.path().join("credentials")]);
        config
    }
}

fn brief() -> Value {
    serde_yaml_ng::from_str(BRIEF).unwrap()
}

#[test]
fn both_config_forms_validate_with_session_and_helper_keys() {
    let config: AwsS3Config = decode_config(&brief()).unwrap();
    assert!(config.validate().is_empty());
    let settings = config.settings().unwrap();
    let session = config.session(&settings);
    assert_eq!(session.region, "us-east-1");
    assert_eq!(session.endpoint, "");
    assert!(
        !config.sending_queue.enabled,
        "upstream's default: no queue"
    );

    // The flat form with an endpoint, path style and the session keys.
    let mut flat = brief();
    flat["endpoint"] = json!("127.0.0.1:5000");
    flat["disable_ssl"] = json!(true);
    flat["s3_force_path_style"] = json!(true);
    flat["profile"] = json!("p");
    flat["timeout"] = json!("20s");
    flat["sending_queue"] = json!({"queue_size": 10});
    let config: AwsS3Config = decode_config(&flat).unwrap();
    let settings = config.settings().unwrap();
    let session = config.session(&settings);
    assert_eq!(
        (session.endpoint.as_str(), session.profile.as_str()),
        ("http://127.0.0.1:5000", "p")
    );
    assert!(settings.force_path_style);
    let helper = config.exporter_settings();
    assert_eq!(helper.timeout, std::time::Duration::from_secs(20));
    assert!(helper.queue.enabled && helper.queue.queue_size == 10);

    // Upstream's form: the session checks land at the s3uploader paths.
    let upstream: Value = serde_yaml_ng::from_str(
        "{ s3uploader: { region: eu-west-1, s3_bucket: b, role_arn: not-an-arn }, external_id: x, timeout: 1s }",
    )
    .unwrap();
    let problems = decode_config::<AwsS3Config>(&upstream).unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, vec!["s3uploader::role_arn"], "{problems:?}");
    let upstream: Value = serde_yaml_ng::from_str(
        "{ s3uploader: { region: EU, s3_bucket: b }, sending_queue: { num_consumers: 0 } }",
    )
    .unwrap();
    let problems = decode_config::<AwsS3Config>(&upstream).unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        vec!["s3uploader::region", "sending_queue::num_consumers"],
        "{problems:?}"
    );
}

#[tokio::test]
async fn conformance() {
    let creds = Credentials::new();
    stratus_testkit::conformance::exporter(&AwsS3ExporterFactory)
        .default_config_rejected(&["s3uploader::s3_bucket"])
        .http_destination(|url| {
            creds.with(json!({
                "region": "us-east-1", "s3_bucket": "conformance", "endpoint": url,
                "s3_force_path_style": true,
            }))
        })
        .http_answers(
            Response::ok(),
            Response::status(400)
                .header("content-type", "application/xml")
                .body(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidArgument</Code>\
                     <Message>conformance: refused</Message></Error>",
                ),
        )
        .await;
}

/// A started exporter with its own metrics registry and quick retries.
async fn exporter(config: Value, signal: Signal) -> (Arc<dyn Exporter>, Registry) {
    let mut config = config;
    config["retry_on_failure"] =
        json!({"initial_interval": "10ms", "max_interval": "20ms", "max_elapsed_time": "20s"});
    let registry = Registry::new();
    let ctx = BuildContext::new(
        ComponentId::with_name("awss3", "test"),
        vec![signal],
        registry.clone(),
    );
    let exporter = AwsS3ExporterFactory.build(ctx, &config).await.unwrap();
    exporter.start(&Host::ready()).await.unwrap();
    (exporter, registry)
}

/// Runs boto3 against moto: `create BUCKET` makes the bucket; `dump BUCKET` prints
/// every object as `{key, storage_class, content_type, content_encoding, body}`
/// (body in hex).
fn boto3(endpoint: &str, command: &str, bucket: &str) -> Value {
    let python = std::env::var("STRATUS_TEST_PYTHON").expect("STRATUS_TEST_PYTHON");
    let script = r#"
import boto3, json, sys
endpoint, command, bucket = sys.argv[1:4]
c = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="reader", aws_secret_access_key="reader")
if command == "create":
    c.create_bucket(Bucket=bucket)
    print("[]")
else:
    out = []
    for o in c.list_objects_v2(Bucket=bucket).get("Contents", []):
        got = c.get_object(Bucket=bucket, Key=o["Key"])
        out.append({"key": o["Key"], "storage_class": o.get("StorageClass"),
                    "content_type": got.get("ContentType"),
                    "content_encoding": got.get("ContentEncoding"),
                    "body": got["Body"].read().hex()})
    print(json.dumps(out))
"#;
    let out = Command::new(python)
        .args(["-c", script, endpoint, command, bucket])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 {command} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn hex_body(object: &Value) -> Vec<u8> {
    let hex = object["body"].as_str().unwrap();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn metric(registry: &Registry, name: &str) -> f64 {
    metric_value(registry, name, &[("exporter", ID)])
}

#[tokio::test]
async fn the_briefs_block_archives_gzipped_otlp_json_in_moto() {
    let moto = Moto::start();
    let creds = Credentials::new();
    boto3(&moto.endpoint(), "create", "otel-traces-archive");
    let mut config = creds.with(brief());
    config["endpoint"] = json!(moto.endpoint());
    config["s3_force_path_style"] = json!(true);
    let (exporter, registry) = exporter(config, Signal::Traces).await;
    let batches = [sample(Signal::Traces, 5), sample(Signal::Traces, 3)];
    for batch in &batches {
        exporter.consume(batch.clone()).await.unwrap();
    }
    assert_eq!(metric(&registry, "otelcol_exporter_sent_spans"), 8.0);
    assert_eq!(metric(&registry, "otelcol_exporter_send_failed_spans"), 0.0);

    let objects = boto3(&moto.endpoint(), "dump", "otel-traces-archive");
    let objects = objects.as_array().unwrap();
    assert_eq!(objects.len(), 2, "one object per batch: {objects:?}");
    let mut got: Vec<Payload> = Vec::new();
    for object in objects {
        let key = object["key"].as_str().unwrap();
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts.len(), 6, "{key}");
        assert_eq!(parts[0], "traces", "{key}");
        for (part, name) in parts[1..5].iter().zip(["year", "month", "day", "hour"]) {
            let value = part.strip_prefix(&format!("{name}=")).unwrap_or_else(|| {
                panic!("{key}: `{part}` is not {name}=…");
            });
            assert!(
                !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()),
                "{key}"
            );
        }
        assert!(parts[5].starts_with("traces_"), "{key}");
        assert!(!key.contains("//"), "{key}");
        assert!(key.ends_with(".json.gz"), "{key}");
        assert_eq!(object["content_encoding"], "gzip", "{key}");
        assert_eq!(object["content_type"], "application/json", "{key}");
        assert_eq!(object["storage_class"], "STANDARD", "{key}");
        let mut body = Vec::new();
        flate2::read::GzDecoder::new(hex_body(object).as_slice())
            .read_to_end(&mut body)
            .unwrap();
        got.push(otlp_json::decode_request(Signal::Traces, &body).unwrap());
    }
    let mut want: Vec<Payload> = batches
        .iter()
        .map(|b| b.payload.clone().into_payload())
        .collect();
    let order = |p: &Payload| p.item_count();
    got.sort_by_key(order);
    want.sort_by_key(order);
    assert_eq!(got, want, "the objects hold exactly what was sent");
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn otlp_proto_round_trips_through_moto() {
    let moto = Moto::start();
    let creds = Credentials::new();
    boto3(&moto.endpoint(), "create", "telemetry");
    let config = creds.with(json!({
        "s3uploader": {
            "region": "us-east-1", "s3_bucket": "telemetry", "s3_prefix": "metrics",
            "s3_partition_format": "%Y/%m/%d", "file_prefix": "node-a-",
            "endpoint": moto.endpoint(), "s3_force_path_style": true,
            "storage_class": "STANDARD_IA", "acl": "private",
        },
        "marshaler": "otlp_proto",
    }));
    let (exporter, registry) = exporter(config, Signal::Metrics).await;
    let batch = sample(Signal::Metrics, 4);
    exporter.consume(batch.clone()).await.unwrap();
    assert_eq!(
        metric(&registry, "otelcol_exporter_sent_metric_points"),
        4.0
    );

    let objects = boto3(&moto.endpoint(), "dump", "telemetry");
    let objects = objects.as_array().unwrap();
    assert_eq!(objects.len(), 1, "{objects:?}");
    let object = &objects[0];
    let key = object["key"].as_str().unwrap();
    assert!(
        key.starts_with("metrics/") && key.contains("/node-a-metrics_") && key.ends_with(".binpb"),
        "{key}"
    );
    assert!(!key.contains("//"), "{key}");
    assert_eq!(object["content_type"], "application/x-protobuf");
    assert_eq!(object["content_encoding"], Value::Null);
    assert_eq!(object["storage_class"], "STANDARD_IA");
    assert_eq!(hex_body(object), batch.payload.encode_request());
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_missing_bucket_is_one_permanent_error() {
    let moto = Moto::start();
    let creds = Credentials::new();
    let mut config = creds.with(brief());
    config["endpoint"] = json!(moto.endpoint());
    config["s3_force_path_style"] = json!(true);
    let (exporter, registry) = exporter(config, Signal::Traces).await;
    let err = exporter
        .consume(sample(Signal::Traces, 2))
        .await
        .unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert!(err.message().contains("NoSuchBucket"), "{}", err.message());
    assert_eq!(metric(&registry, "otelcol_exporter_send_failed_spans"), 2.0);
    exporter.shutdown().await.unwrap();
}

#[tokio::test]
async fn slow_down_is_retried_with_the_same_key_and_counted_once() {
    use stratus_testkit::http::RecordingHttpServer;
    let creds = Credentials::new();
    let server = RecordingHttpServer::start().await;
    server.set_default(Response::ok());
    server.respond_times(
        2,
        Response::status(503)
            .header("content-type", "application/xml")
            .body("<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"),
    );
    let mut config = creds.with(brief());
    config["endpoint"] = json!(server.url());
    config["s3_force_path_style"] = json!(true);
    let (exporter, registry) = exporter(config, Signal::Traces).await;
    exporter.consume(sample(Signal::Traces, 3)).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "two SlowDown answers, then success");
    // The SDK percent-encodes `=` in the path; S3 (and moto) decode it.
    for r in &requests {
        assert_eq!(r.method, "PUT");
        assert_eq!(r.path, requests[0].path, "a retry writes the same key");
        assert!(
            r.path.starts_with("/otel-traces-archive/traces/year%3D"),
            "{}",
            r.path
        );
        assert_eq!(r.header("content-encoding"), Some("gzip"));
    }
    assert_eq!(metric(&registry, "otelcol_exporter_sent_spans"), 3.0);
    assert_eq!(metric(&registry, "otelcol_exporter_send_failed_spans"), 0.0);
    exporter.shutdown().await.unwrap();
}

/// S3's throttling in front of the real moto: two `503 SlowDown` answers from the
/// test kit's proxy, then the upload is forwarded and lands in moto.
#[tokio::test]
async fn slow_down_from_a_proxy_in_front_of_moto_then_the_object_lands() {
    use stratus_testkit::http::RecordingHttpServer;
    let moto = Moto::start();
    let creds = Credentials::new();
    boto3(&moto.endpoint(), "create", "otel-traces-archive");
    let proxy = RecordingHttpServer::proxy(&moto.endpoint()).await;
    proxy.respond_times(
        2,
        Response::status(503)
            .header("content-type", "application/xml")
            .body(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
                 <Message>Please reduce your request rate.</Message>\
                 <RequestId>stratus-test</RequestId></Error>",
            ),
    );
    let mut config = creds.with(brief());
    config["endpoint"] = json!(proxy.url());
    config["s3_force_path_style"] = json!(true);
    let (exporter, registry) = exporter(config, Signal::Traces).await;
    let batch = sample(Signal::Traces, 4);
    exporter.consume(batch.clone()).await.unwrap();

    let puts: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(
        puts.len(),
        3,
        "two SlowDown answers, then the forwarded upload"
    );
    assert!(puts.iter().all(|r| r.path == puts[0].path), "one key");
    assert_eq!(metric(&registry, "otelcol_exporter_sent_spans"), 4.0);
    assert_eq!(metric(&registry, "otelcol_exporter_send_failed_spans"), 0.0);

    let objects = boto3(&moto.endpoint(), "dump", "otel-traces-archive");
    let objects = objects.as_array().unwrap();
    assert_eq!(objects.len(), 1, "one object in moto: {objects:?}");
    let key = objects[0]["key"].as_str().unwrap();
    assert_eq!(
        format!("/otel-traces-archive/{}", key.replace('=', "%3D")),
        puts[0].path
    );
    let mut body = Vec::new();
    flate2::read::GzDecoder::new(hex_body(&objects[0]).as_slice())
        .read_to_end(&mut body)
        .unwrap();
    assert_eq!(
        otlp_json::decode_request(Signal::Traces, &body).unwrap(),
        *batch.payload
    );
    exporter.shutdown().await.unwrap();
}

/// `count` server spans with span ids `first..first + count`.
fn spans(first: u64, count: u64) -> stratus_core::Telemetry {
    traces()
        .resource([("service.name", "aggregation")])
        .scope("aggregation")
        .spans((first..first + count).map(|i| {
            span(format!("span-{i:04}"))
                .trace_id(u128::from(i) << 64 | 7)
                .span_id(i)
                .kind(SpanKind::Server)
                .start(1_700_000_000_000_000_000 + i)
                .end(1_700_000_000_000_000_500 + i)
                .attr("i", i)
        }))
        .build()
}

/// The span ids in each gzipped OTLP/JSON object in `bucket`, one list per object.
fn span_ids_per_object(endpoint: &str, bucket: &str) -> Vec<Vec<u64>> {
    let objects = boto3(endpoint, "dump", bucket);
    objects
        .as_array()
        .unwrap()
        .iter()
        .map(|object| {
            let mut body = Vec::new();
            flate2::read::GzDecoder::new(hex_body(object).as_slice())
                .read_to_end(&mut body)
                .unwrap();
            otlp_json::decode_request(Signal::Traces, &body)
                .unwrap()
                .span_ids()
        })
        .collect()
}

/// The brief's block against moto, with `sending_queue` set to `queue`.
async fn queued_exporter(
    moto: &Moto,
    creds: &Credentials,
    queue: Value,
) -> (Arc<dyn Exporter>, Registry) {
    boto3(&moto.endpoint(), "create", "otel-traces-archive");
    let mut config = creds.with(brief());
    config["endpoint"] = json!(moto.endpoint());
    config["s3_force_path_style"] = json!(true);
    config["sending_queue"] = queue;
    exporter(config, Signal::Traces).await
}

async fn wait_sent(registry: &Registry, spans: f64) {
    stratus_testkit::wait_until(
        "every span counted as sent",
        stratus_testkit::DEFAULT_TIMEOUT,
        || metric(registry, "otelcol_exporter_sent_spans") >= spans,
    )
    .await;
}

#[tokio::test]
async fn a_queue_without_a_batch_section_still_writes_one_object_per_batch() {
    let moto = Moto::start();
    let creds = Credentials::new();
    let (exporter, registry) = queued_exporter(&moto, &creds, json!({})).await;
    for b in 0..5 {
        exporter.consume(spans(b * 10, 10)).await.unwrap();
    }
    wait_sent(&registry, 50.0).await;
    exporter.shutdown().await.unwrap();
    let objects = span_ids_per_object(&moto.endpoint(), "otel-traces-archive");
    assert_eq!(
        objects.len(),
        5,
        "upstream's behaviour: one object per batch"
    );
    assert!(objects.iter().all(|ids| ids.len() == 10), "{objects:?}");
}

#[tokio::test]
async fn aggregation_makes_fewer_larger_objects_holding_every_span_once() {
    let moto = Moto::start();
    let creds = Credentials::new();
    // An object once five batches' worth of protobuf bytes are in; the time bound
    // far away, so only the size bound (and the final shutdown) uploads.
    let one = spans(0, 5).payload.encoded_len();
    let queue = json!({"batch": {"min_size": 5 * one - 10, "flush_timeout": "1h"}});
    let (exporter, registry) = queued_exporter(&moto, &creds, queue).await;
    for b in 0..20 {
        exporter.consume(spans(b * 5, 5)).await.unwrap();
    }
    exporter.shutdown().await.unwrap();
    assert_eq!(metric(&registry, "otelcol_exporter_sent_spans"), 100.0);
    assert_eq!(metric(&registry, "otelcol_exporter_send_failed_spans"), 0.0);

    let objects = span_ids_per_object(&moto.endpoint(), "otel-traces-archive");
    assert!(
        (2..=5).contains(&objects.len()),
        "20 batches became {} objects: {objects:?}",
        objects.len()
    );
    assert!(objects.iter().all(|ids| ids.len() >= 20), "{objects:?}");
    let mut all: Vec<u64> = objects.into_iter().flatten().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..100).collect::<Vec<u64>>(),
        "every span exactly once"
    );
}

#[tokio::test]
async fn shutdown_uploads_an_aggregated_object_that_is_not_due_yet() {
    let moto = Moto::start();
    let creds = Credentials::new();
    // awss3's defaults (8 MiB) with an hour's time bound: nothing is due.
    let queue = json!({"batch": {"flush_timeout": "1h"}});
    let (exporter, registry) = queued_exporter(&moto, &creds, queue).await;
    for b in 0..3 {
        exporter.consume(spans(b * 5, 5)).await.unwrap();
    }
    assert!(
        span_ids_per_object(&moto.endpoint(), "otel-traces-archive").is_empty(),
        "aggregating: nothing uploaded yet"
    );
    assert_eq!(metric(&registry, "otelcol_exporter_sent_spans"), 0.0);
    exporter.shutdown().await.unwrap();
    assert_eq!(metric(&registry, "otelcol_exporter_sent_spans"), 15.0);
    let objects = span_ids_per_object(&moto.endpoint(), "otel-traces-archive");
    assert_eq!(objects.len(), 1, "one object on shutdown: {objects:?}");
    assert_eq!(objects[0], (0..15).collect::<Vec<u64>>());
}
