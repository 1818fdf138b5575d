//! stratus as an AWS Lambda extension, driven by a local fake of the Lambda
//! Extensions and Telemetry APIs: register, next event, INVOKE, `platform.runtimeDone`
//! and SHUTDOWN, as Lambda sends them. The function is the OpenTelemetry Python SDK,
//! exporting to the extension on localhost during the invocation.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::common::{
    Stratus, flat_spans, free_port, read_length_prefixed, run_python_client, wait_for, wait_within,
};

/// One call stratus made to the fake Lambda.
#[derive(Debug, Clone)]
struct Call {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Value,
    /// For `event/next`: the spans the file exporter had written when the call came.
    spans_written: usize,
}

impl Call {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    calls: Mutex<Vec<Call>>,
    /// Events handed out to `event/next`, in order; a call waits until one is there.
    events: Mutex<VecDeque<Value>>,
    new_event: Notify,
}

/// The fake Runtime API on 127.0.0.1: records every call, answers register and the
/// telemetry subscription, and holds each `event/next` until the test pushes an event.
struct FakeLambda {
    addr: std::net::SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

const EXTENSION_ID: &str = "8a7f7d1e-stratus-test";

impl FakeLambda {
    async fn start(output: PathBuf) -> FakeLambda {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let task = tokio::spawn({
            let state = state.clone();
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let (state, output) = (state.clone(), output.clone());
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            handle(state.clone(), output.clone(), req)
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        });
        FakeLambda { addr, state, task }
    }

    fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    fn nexts(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.path == "/2020-01-01/extension/event/next")
            .collect()
    }

    fn push(&self, event: Value) {
        self.state.events.lock().unwrap().push_back(event);
        self.state.new_event.notify_waiters();
    }

    /// The Telemetry API destination stratus subscribed.
    fn telemetry_uri(&self) -> String {
        self.calls()
            .iter()
            .find(|c| c.path == "/2022-07-01/telemetry")
            .and_then(|c| {
                c.body
                    .pointer("/destination/URI")?
                    .as_str()
                    .map(str::to_owned)
            })
            .expect("stratus subscribed to the Telemetry API")
    }
}

impl Drop for FakeLambda {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn spans_in(path: &Path) -> usize {
    flat_spans(&read_length_prefixed(path)).len()
}

async fn handle(
    state: Arc<State>,
    output: PathBuf,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let body = req.into_body().collect().await?.to_bytes();
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let is_next = path == "/2020-01-01/extension/event/next";
    let spans_written = if is_next { spans_in(&output) } else { 0 };
    state.calls.lock().unwrap().push(Call {
        method,
        path: path.clone(),
        headers,
        body,
        spans_written,
    });
    let ok = |body: Value| {
        let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
        r.headers_mut()
            .insert("Lambda-Extension-Identifier", EXTENSION_ID.parse().unwrap());
        Ok(r)
    };
    match path.as_str() {
        "/2020-01-01/extension/register" => ok(json!({
            "functionName": "orders", "functionVersion": "$LATEST", "handler": "app.handler"
        })),
        "/2022-07-01/telemetry" => ok(json!("OK")),
        "/2020-01-01/extension/event/next" => loop {
            let notified = state.new_event.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(event) = state.events.lock().unwrap().pop_front() {
                break ok(event);
            }
            notified.await;
        },
        _ => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"not found")));
            *r.status_mut() = StatusCode::NOT_FOUND;
            Ok(r)
        }
    }
}

fn epoch_ms_in(d: Duration) -> u64 {
    (SystemTime::now() + d)
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// What Lambda's Telemetry API posts when the function returned from invocation `id`.
async fn post_runtime_done(uri: &str, id: &str) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let body = json!([
        {"time": "2026-12-02T10:00:00.000Z", "type": "platform.start",
         "record": {"requestId": id, "version": "$LATEST"}},
        {"time": "2026-12-02T10:00:00.120Z", "type": "platform.runtimeDone",
         "record": {"requestId": id, "status": "success",
                    "metrics": {"durationMs": 120.0, "producedBytes": 12}}},
    ]);
    let req = Request::post(uri)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
}

/// A config for the extension: OTLP on loopback, a batch that would hold data for an
/// hour unless flushed, and a file exporter.
fn config(grpc: u16, http: u16, out: &Path) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: 127.0.0.1:{grpc} }}
      http: {{ endpoint: 127.0.0.1:{http} }}
processors:
  batch: {{ timeout: 1h, send_batch_size: 100000 }}
exporters:
  file:
    path: {}
    format: proto
service:
  telemetry:
    metrics: {{ level: none }}
  pipelines:
    traces: {{ receivers: [otlp], processors: [batch], exporters: [file] }}
"#,
        out.display()
    )
}

fn send_spans(port: u16, dump: &Path, n: &str) -> usize {
    run_python_client(&[
        "--protocol",
        "grpc",
        "--endpoint",
        &format!("127.0.0.1:{port}"),
        "--spans",
        n,
        "--logs",
        "0",
        "--dump",
        dump.to_str().unwrap(),
    ]);
    spans_in(&dump.join("traces.bin"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocation_is_flushed_before_the_next_event_and_shutdown_drains() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("traces.out");
    let fake = FakeLambda::start(out.clone()).await;
    let (grpc, http) = (free_port(), free_port());
    // As from a layer: no --config, the config named by STRATUS_CONFIG.
    let config_path = dir.path().join("lambda.yaml");
    std::fs::write(&config_path, config(grpc, http, &out)).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stratus"));
    cmd.env("AWS_LAMBDA_RUNTIME_API", fake.addr.to_string())
        .env("STRATUS_CONFIG", &config_path)
        .env("STRATUS_LAMBDA_TELEMETRY_HOST", "127.0.0.1");
    let mut stratus = Stratus::launch(dir.path(), "extension", cmd);

    // Init: register for INVOKE and SHUTDOWN, subscribe, then wait for an event.
    wait_for("the extension's first event/next", || {
        (!fake.nexts().is_empty()).then_some(())
    });
    let calls = fake.calls();
    let register = &calls[0];
    assert_eq!(
        (register.method.as_str(), register.path.as_str()),
        ("POST", "/2020-01-01/extension/register")
    );
    assert_eq!(register.header("Lambda-Extension-Name"), Some("stratus"));
    assert_eq!(register.body, json!({"events": ["INVOKE", "SHUTDOWN"]}));
    let subscribe = calls
        .iter()
        .find(|c| c.path == "/2022-07-01/telemetry")
        .expect("a Telemetry API subscription");
    assert_eq!(subscribe.method, "PUT");
    assert_eq!(
        subscribe.header("Lambda-Extension-Identifier"),
        Some(EXTENSION_ID)
    );
    assert_eq!(subscribe.body["types"], json!(["platform"]));
    for next in fake.nexts() {
        assert_eq!(
            next.header("Lambda-Extension-Identifier"),
            Some(EXTENSION_ID)
        );
    }

    // INVOKE: the function runs and exports spans to the extension.
    fake.push(json!({
        "eventType": "INVOKE",
        "deadlineMs": epoch_ms_in(Duration::from_secs(60)),
        "requestId": "req-1",
        "invokedFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders",
        "tracing": {"type": "X-Amzn-Trace-Id", "value": "Root=1-5759e988-bd862e3fe1be46a994272793"},
    }));
    let dump = dir.path().join("dump");
    let sent = send_spans(grpc, &dump, "20");
    assert!(sent > 0);
    // The batch holds them (timeout 1h), and the extension waits for the function.
    assert_eq!(fake.nexts().len(), 1, "{}", stratus.logs());
    assert_eq!(spans_in(&out), 0);
    post_runtime_done(&fake.telemetry_uri(), "req-1").await;

    // Everything the function sent was written before the extension asked again.
    wait_for("the extension's second event/next", || {
        (fake.nexts().len() == 2).then_some(())
    });
    assert_eq!(fake.nexts()[1].spans_written, sent, "{}", stratus.logs());

    // Spans still held when Lambda shuts the environment down are drained in the
    // 2 s Lambda gives, and stratus exits.
    let more = send_spans(grpc, &dir.path().join("dump2"), "5");
    assert_eq!(spans_in(&out), sent);
    fake.push(json!({
        "eventType": "SHUTDOWN",
        "shutdownReason": "spindown",
        "deadlineMs": epoch_ms_in(Duration::from_secs(2)),
    }));
    let status = {
        let limit = Duration::from_secs(5);
        wait_within("the extension to exit after SHUTDOWN", limit, || {
            (!stratus.running()).then_some(())
        });
        stratus.wait_exit()
    };
    assert!(status.success(), "{status}: {}", stratus.logs());
    assert_eq!(spans_in(&out), sent + more);
    let logs = stratus.logs();
    assert!(logs.contains("shutdown complete"), "{logs}");
    // The SHUTDOWN came as the answer to the second call; there is no third.
    assert_eq!(fake.nexts().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_registration_stops_the_extension_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = stratus_testkit::http::RecordingHttpServer::start().await;
    server.respond(
        stratus_testkit::http::Response::status(403).body(
            r#"{"errorMessage":"Extension.AccessDenied","errorType":"Extension.AccessDenied"}"#,
        ),
    );
    let api = server.url().trim_start_matches("http://").to_string();
    let (grpc, http) = (free_port(), free_port());
    let config_path = dir.path().join("lambda.yaml");
    std::fs::write(&config_path, config(grpc, http, &dir.path().join("t.out"))).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stratus"));
    cmd.env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("STRATUS_LAMBDA_TELEMETRY_HOST", "127.0.0.1")
        .arg("--config")
        .arg(&config_path);
    let mut stratus = Stratus::launch(dir.path(), "refused", cmd);
    let status = stratus.wait_exit();
    assert!(!status.success());
    let logs = stratus.logs();
    assert!(logs.contains("refused registration: HTTP 403"), "{logs}");
    assert!(logs.contains("Extension.AccessDenied"), "{logs}");
}
