//! The `azureloganalytics` exporter against recording servers playing Azure (the
//! Data Collector API, the Logs Ingestion API and the Entra ID token endpoint).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::collections::BTreeSet;
use std::io::Read as _;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use stratus_azure_common::Clock;
use stratus_core::factory::{BuildContext, Exporter, ExporterFactory};
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, Host, Signal};
use stratus_exporter_azureloganalytics::client::{LOGS_INGESTION_MAX_BODY, RowsRequest};
use stratus_exporter_azureloganalytics::{
    AzureLogAnalyticsConfig, AzureLogAnalyticsExporterFactory, LogAnalyticsSender,
};
use stratus_exporter_helper::Sender;
use stratus_testkit::http::{RecordedRequest, RecordingHttpServer, Response};
use stratus_testkit::otlp::{log, logs, sample};

const KEY: &str = "c3RyYXR1cy10ZXN0LXdvcmtzcGFjZS1rZXktMDEyMzQ1Njc4OQ==";
const TOKEN_PATH: &str = "/tenant-1/oauth2/v2.0/token";
const WAIT: Duration = Duration::from_secs(20);

#[derive(Clone)]
struct ManualClock(Arc<Mutex<SystemTime>>);
impl ManualClock {
    fn at(secs: u64) -> Self {
        ManualClock(Arc::new(Mutex::new(UNIX_EPOCH + Duration::from_secs(secs))))
    }
    fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}
impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

fn config(v: Value) -> AzureLogAnalyticsConfig {
    serde_json::from_value(v).unwrap()
}

fn sender(v: Value) -> LogAnalyticsSender {
    let client = stratus_azure_common::http::client().unwrap();
    LogAnalyticsSender::new("azureloganalytics/test".into(), &config(v), client).unwrap()
}

/// A Logs Ingestion config sending to `server`, with its token endpoint on `tokens`.
fn ingestion_config(
    server: &RecordingHttpServer,
    tokens: &RecordingHttpServer,
    dcr: &str,
    stream: &str,
) -> Value {
    json!({"endpoint": server.url(), "dcr_immutable_id": dcr, "stream_name": stream,
        "authentication": {"type": "client_secret", "tenant_id": "tenant-1", "client_id": "app",
            "client_secret": "top-secret-value", "authority_host": tokens.url()}})
}

fn token(server: &RecordingHttpServer, value: &str, expires_in: u64) {
    server.route(
        "POST",
        TOKEN_PATH,
        Response::ok().json(
            &json!({"token_type": "Bearer", "expires_in": expires_in, "access_token": value}),
        ),
    );
}

fn uploads(server: &RecordingHttpServer) -> Vec<RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/dataCollectionRules/"))
        .collect()
}

fn rows_of(r: &RecordedRequest) -> Vec<Value> {
    r.json().as_array().unwrap().clone()
}

async fn exporter(config: Value, signal: Signal) -> Arc<dyn Exporter> {
    let mut config = config;
    config["retry_on_failure"] =
        json!({"initial_interval": "10ms", "max_interval": "20ms", "max_elapsed_time": "20s"});
    let ctx = BuildContext::new(
        ComponentId::with_name("azureloganalytics", "test"),
        vec![signal],
        Registry::new(),
    );
    let exporter = AzureLogAnalyticsExporterFactory
        .build(ctx, &config)
        .await
        .unwrap();
    exporter.start(&Host::ready()).await.unwrap();
    exporter
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::exporter(&AzureLogAnalyticsExporterFactory)
        .http_destination(|url| {
            json!({"workspace_id": "ws-1", "workspace_key": KEY, "log_type": "OTelTraces",
                "endpoint": url})
        })
        .default_config_rejected(&["workspace_id", "workspace_key", "log_type"])
        .await;
}

/// The product brief's block with an `endpoint` override: it runs and the rows arrive
/// at the Data Collector path with its headers.
#[tokio::test]
async fn the_briefs_block_runs_and_data_arrives() {
    let server = RecordingHttpServer::start().await;
    let exp = exporter(
        json!({"workspace_id": "ws-1", "workspace_key": KEY, "log_type": "OTelTraces",
            "endpoint": server.url()}),
        Signal::Traces,
    )
    .await;
    exp.consume(sample(Signal::Traces, 3)).await.unwrap();
    let reqs = server.wait_for_requests(1, WAIT).await;
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/api/logs"));
    assert_eq!(r.query.as_deref(), Some("api-version=2016-04-01"));
    assert_eq!(r.header("log-type"), Some("OTelTraces"));
    assert_eq!(r.header("time-generated-field"), Some("TimeGenerated"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(
        r.header("authorization")
            .unwrap()
            .starts_with("SharedKey ws-1:")
    );
    let rows = rows_of(r);
    assert_eq!(rows.len(), 3);
    let ids: BTreeSet<_> = rows
        .iter()
        .map(|r| r["SpanId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r["TraceId"].as_str().unwrap().len() == 32 && r["Kind"].is_string())
    );
    exp.shutdown().await.unwrap();
}

/// The recorded SharedKey signature verifies against one Python's `hmac` computes from
/// the recorded date and body length.
#[tokio::test]
async fn shared_key_signature_matches_python_hmac() {
    let server = RecordingHttpServer::start().await;
    let s = sender(
        json!({"workspace_id": "ws-1", "workspace_key": KEY, "log_type": "T",
        "endpoint": server.url()}),
    )
    .with_clock(Arc::new(ManualClock::at(1_714_557_600))); // 2024-05-01T10:00:00Z
    let req = s.encode(sample(Signal::Logs, 2)).unwrap();
    s.send(&req).await.unwrap();
    let r = &server.requests()[0];
    assert_eq!(r.header("x-ms-date"), Some("Wed, 01 May 2024 10:00:00 GMT"));
    let python = std::env::var("STRATUS_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = r#"
import base64, hashlib, hmac, sys
key, length, date = sys.argv[1], sys.argv[2], sys.argv[3]
msg = "POST\n" + length + "\napplication/json\nx-ms-date:" + date + "\n/api/logs"
sig = base64.b64encode(hmac.new(base64.b64decode(key), msg.encode(), hashlib.sha256).digest())
print("SharedKey ws-1:" + sig.decode(), end="")
"#;
    let out = Command::new(python)
        .args([
            "-c",
            script,
            KEY,
            &r.raw_body.len().to_string(),
            r.header("x-ms-date").unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        r.header("authorization").unwrap(),
        String::from_utf8(out.stdout).unwrap()
    );
}

/// Logs Ingestion: the Bearer token from the local token endpoint is used, cached, and
/// replaced before it expires.
#[tokio::test]
async fn logs_ingestion_uses_the_bearer_token_and_refreshes_it_before_expiry() {
    let server = RecordingHttpServer::start().await;
    server.set_default(Response::status(204));
    let tokens = RecordingHttpServer::start().await;
    token(&tokens, "tok-1", 3600);
    let clock = ManualClock::at(1_714_557_600);
    let s = sender(ingestion_config(
        &server,
        &tokens,
        "dcr-1",
        "Custom-OTelLogs_CL",
    ))
    .with_clock(Arc::new(clock.clone()));
    s.send(&s.encode(sample(Signal::Logs, 1)).unwrap())
        .await
        .unwrap();
    clock.advance(Duration::from_secs(60));
    s.send(&s.encode(sample(Signal::Logs, 1)).unwrap())
        .await
        .unwrap();
    token(&tokens, "tok-2", 3600);
    clock.advance(Duration::from_secs(3600 - 60 - 299)); // 4m59s left: refresh
    s.send(&s.encode(sample(Signal::Logs, 1)).unwrap())
        .await
        .unwrap();
    let auth: Vec<_> = uploads(&server)
        .iter()
        .map(|r| r.header("authorization").unwrap().to_string())
        .collect();
    assert_eq!(auth, ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]);
    let token_requests = tokens
        .requests()
        .iter()
        .filter(|r| r.path == TOKEN_PATH)
        .count();
    assert_eq!(token_requests, 2);
    let form = tokens
        .requests()
        .iter()
        .find(|r| r.path == TOKEN_PATH)
        .unwrap()
        .text();
    assert!(
        form.contains("scope=https%3A%2F%2Fmonitor.azure.com%2F.default"),
        "{form}"
    );
}

/// A 5,000-record export through the whole exporter: bodies under 1 MiB uncompressed,
/// each row arrives once.
#[tokio::test]
async fn five_thousand_records_are_split_under_one_mib_and_all_arrive_once() {
    let server = RecordingHttpServer::start().await;
    server.set_default(Response::status(204));
    let tokens = RecordingHttpServer::start().await;
    token(&tokens, "tok", 3600);
    let exp = exporter(
        ingestion_config(&server, &tokens, "dcr-big", "Custom-OTelLogs_CL"),
        Signal::Logs,
    )
    .await;
    let pad = "x".repeat(400);
    let batch = logs()
        .records((0..5000).map(|i| log(format!("record {i:05} {pad}"))))
        .build();
    exp.consume(batch).await.unwrap();
    let mut seen = Vec::new();
    stratus_testkit::wait_until("5000 rows", WAIT, || {
        seen = uploads(&server).iter().flat_map(rows_of).collect();
        seen.len() >= 5000
    })
    .await;
    let ups = uploads(&server);
    assert!(ups.len() >= 3, "{} bodies", ups.len());
    for u in &ups {
        assert!(
            u.body.len() <= LOGS_INGESTION_MAX_BODY,
            "{} bytes",
            u.body.len()
        );
        assert_eq!(u.header("content-encoding"), Some("gzip"));
    }
    let bodies: BTreeSet<_> = seen
        .iter()
        .map(|r| r["Body"].as_str().unwrap()[..12].to_string())
        .collect();
    assert_eq!((seen.len(), bodies.len()), (5000, 5000));
    exp.shutdown().await.unwrap();
}

/// Method, path and query, the listed headers and the decoded body match the requests
/// Microsoft's `azure-monitor-ingestion` client sent for the same records.
#[tokio::test]
async fn requests_match_the_captured_microsoft_client_requests() {
    for case in ["logs-ingestion-01", "logs-ingestion-02"] {
        let path = format!(
            "{}/../../../shared/reference/azure/pairs/{case}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let path = if std::path::Path::new(&path).exists() {
            path
        } else {
            format!("/work/shared/reference/azure/pairs/{case}.json")
        };
        let golden: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let input = &golden["input"];
        let server = RecordingHttpServer::start().await;
        server.set_default(Response::status(204));
        let tokens = RecordingHttpServer::start().await;
        token(&tokens, "dummy-token", 3600);
        let s = sender(ingestion_config(
            &server,
            &tokens,
            input["rule_id"].as_str().unwrap(),
            input["stream_name"].as_str().unwrap(),
        ));
        let rows: Vec<String> = input["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::to_string)
            .collect();
        s.send(&RowsRequest::new(rows, LOGS_INGESTION_MAX_BODY))
            .await
            .unwrap();
        let got = uploads(&server);
        let want = golden["requests"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{case}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.method.as_str(), w["method"], "{case}");
            let pq = format!("{}?{}", g.path, g.query.as_deref().unwrap_or(""));
            assert_eq!(pq, w["path_and_query"].as_str().unwrap(), "{case}");
            for (name, value) in w["headers"].as_object().unwrap() {
                assert_eq!(g.header(name), value.as_str(), "{case}: header {name}");
            }
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(&g.raw_body[..])
                .read_to_end(&mut decoded)
                .unwrap();
            let body: Value = serde_json::from_slice(&decoded).unwrap();
            assert_eq!(body, w["body"], "{case}");
            let theirs: Value =
                serde_json::from_str(w["body_decoded_text"].as_str().unwrap()).unwrap();
            assert_eq!(body, theirs, "{case}");
        }
    }
}

/// A 413 cuts the body smaller and sends the rest; every row arrives once.
#[tokio::test]
async fn a_413_splits_the_body_smaller_and_retries() {
    let server = RecordingHttpServer::start().await;
    server.set_default(Response::status(204));
    let tokens = RecordingHttpServer::start().await;
    token(&tokens, "tok", 3600);
    let s = sender(ingestion_config(&server, &tokens, "dcr-1", "Custom-X_CL"));
    server.respond_times(2, Response::status(413));
    let req = s.encode(sample(Signal::Logs, 10)).unwrap();
    s.send(&req).await.unwrap();
    let ups = uploads(&server);
    let counts: Vec<usize> = ups.iter().map(|u| rows_of(u).len()).collect();
    assert_eq!(counts[0], 10);
    assert!(counts[1] < 10 && counts[2] < counts[1], "{counts:?}");
    let delivered: Vec<Value> = ups[2..].iter().flat_map(rows_of).collect();
    let bodies: BTreeSet<_> = delivered
        .iter()
        .map(|r| r["Body"].as_str().unwrap().to_string())
        .collect();
    assert_eq!((delivered.len(), bodies.len()), (10, 10));
    assert_eq!(req.delivered(), 10);
}

/// 429 / 503 report `Retry-After` as the throttle delay; 400, 401 and 403 are permanent,
/// with what to check; no secret in any message.
#[tokio::test]
async fn status_codes_are_classified() {
    let server = RecordingHttpServer::start().await;
    let tokens = RecordingHttpServer::start().await;
    token(&tokens, "tok", 3600);
    let s = sender(ingestion_config(&server, &tokens, "dcr-1", "Custom-X_CL"));
    let req = s.encode(sample(Signal::Logs, 1)).unwrap();
    server.respond(Response::status(429).header("Retry-After", "7"));
    let e = s.send(&req).await.unwrap_err();
    assert!(!e.is_permanent());
    assert_eq!(e.throttle(), Some(Duration::from_secs(7)));
    server.respond(Response::status(503).header("Retry-After", "2"));
    assert_eq!(
        s.send(&req).await.unwrap_err().throttle(),
        Some(Duration::from_secs(2))
    );
    server.respond(Response::status(400).body(r#"{"error":{"code":"InvalidStream"}}"#));
    let e = s.send(&req).await.unwrap_err();
    assert!(
        e.is_permanent() && e.message().contains("InvalidStream"),
        "{e:?}"
    );
    server.respond(Response::status(403));
    let e = s.send(&req).await.unwrap_err();
    assert!(
        e.is_permanent() && e.message().contains("Monitoring Metrics Publisher"),
        "{e:?}"
    );
    server.respond(Response::status(401));
    let e = s.send(&req).await.unwrap_err();
    assert!(e.is_permanent() && e.message().contains("scope"), "{e:?}");
    assert!(!format!("{s:?}").contains("top-secret-value"));

    let dc = RecordingHttpServer::start().await;
    dc.respond(Response::status(403));
    let s = sender(
        json!({"workspace_id": "ws-1", "workspace_key": KEY, "log_type": "T",
        "endpoint": dc.url()}),
    );
    let e = s
        .send(&s.encode(sample(Signal::Logs, 1)).unwrap())
        .await
        .unwrap_err();
    assert!(
        e.is_permanent() && e.message().contains("workspace_key"),
        "{e:?}"
    );
    assert!(!e.message().contains(KEY) && !format!("{e:?}").contains(KEY));
    assert!(!format!("{s:?}").contains(KEY));
    let c = config(json!({"workspace_id": "ws-1", "workspace_key": KEY, "log_type": "T"}));
    assert!(!format!("{c:?}").contains(KEY));
}

/// The ARM template's tables and DCR stream declarations have exactly the row schema's
/// columns and types.
#[test]
fn arm_template_matches_the_row_schema() {
    use stratus_exporter_azureloganalytics::rows::{LOG_COLUMNS, METRIC_COLUMNS, TRACE_COLUMNS};
    let path = format!(
        "{}/../../deploy/azure/loganalytics.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let t: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let resources = t["resources"].as_array().unwrap();
    let cols = |v: &Value| -> Vec<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["type"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let want = |c: &[(&str, &str)]| -> Vec<(String, String)> {
        c.iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    };
    for (table, columns) in [
        ("OTelTraces_CL", TRACE_COLUMNS),
        ("OTelLogs_CL", LOG_COLUMNS),
        ("OTelMetrics_CL", METRIC_COLUMNS),
    ] {
        let r = resources
            .iter()
            .find(|r| {
                r["type"] == "Microsoft.OperationalInsights/workspaces/tables"
                    && r["name"].as_str().unwrap().contains(&format!("/{table}'"))
            })
            .unwrap_or_else(|| panic!("no table {table}"));
        assert_eq!(
            cols(&r["properties"]["schema"]["columns"]),
            want(columns),
            "{table}"
        );
        let dcr = resources
            .iter()
            .find(|r| r["type"] == "Microsoft.Insights/dataCollectionRules")
            .unwrap();
        let stream = &dcr["properties"]["streamDeclarations"][format!("Custom-{table}")]["columns"];
        assert_eq!(cols(stream), want(columns), "stream of {table}");
    }
}

/// A writer into a shared buffer, for the log capture below.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The Data Collector API's retirement is logged once at start, naming the Logs
/// Ingestion keys, and sending still works; the Logs Ingestion API logs no such thing.
#[tokio::test]
async fn data_collector_warns_once_at_start_and_still_sends() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = RecordingHttpServer::start().await;
    let s = sender(
        json!({"workspace_id": "ws-1", "workspace_key": KEY, "log_type": "T",
        "endpoint": server.url()}),
    );
    s.start(&Host::ready()).await.unwrap();
    for _ in 0..3 {
        s.send(&s.encode(sample(Signal::Logs, 1)).unwrap())
            .await
            .unwrap();
    }
    assert_eq!(server.requests().len(), 3);
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches("retired on 2026-09-14").count(), 1, "{text}");
    for key in [
        "Logs Ingestion API",
        "dcr_immutable_id",
        "stream_name",
        "authentication",
        "WARN",
    ] {
        assert!(text.contains(key), "{key}: {text}");
    }
    assert!(!text.contains(KEY));

    let tokens = RecordingHttpServer::start().await;
    let li = sender(ingestion_config(&server, &tokens, "dcr-1", "Custom-X_CL"));
    li.start(&Host::ready()).await.unwrap();
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text.matches("retired on 2026-09-14").count(), 1);
}
