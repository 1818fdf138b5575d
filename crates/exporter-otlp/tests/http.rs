//! The `otlphttp` exporter against a real hyper server on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

mod common;

use std::collections::VecDeque;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use common::*;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use stratus_core::factory::{Exporter, ExporterFactory, decode_config};
use stratus_core::telemetry::Registry;
use stratus_core::{Host, Payload, Signal, Telemetry};
use stratus_exporter_helper::Sender;
use stratus_exporter_otlp::rpc::RpcStatus;
use stratus_exporter_otlp::{HttpSender, OtlpHttpConfig, OtlpHttpExporterFactory};
use tokio::net::TcpListener;

struct Recorded {
    path: String,
    headers: HeaderMap,
    payload: Result<Payload, String>,
}

struct Reply {
    status: StatusCode,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn status(code: u16) -> Reply {
        Reply {
            status: StatusCode::from_u16(code).unwrap(),
            headers: vec![],
            body: vec![],
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    fn body(mut self, content_type: &str, body: Vec<u8>) -> Reply {
        self.headers
            .push(("content-type", content_type.to_string()));
        self.body = body;
        self
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    script: VecDeque<Reply>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<State>>);

impl Recorder {
    fn script(&self, replies: Vec<Reply>) {
        self.0.lock().unwrap().script = replies.into();
    }

    fn count(&self) -> usize {
        self.0.lock().unwrap().requests.len()
    }

    fn with<T>(&self, index: usize, f: impl FnOnce(&Recorded) -> T) -> T {
        f(&self.0.lock().unwrap().requests[index])
    }
}

fn decode(path: &str, headers: &HeaderMap, body: &[u8]) -> Result<Payload, String> {
    let body = match headers.get("content-encoding").map(|v| v.to_str().unwrap()) {
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .map_err(|e| e.to_string())?;
            out
        }
        Some("zstd") => zstd::decode_all(body).map_err(|e| e.to_string())?,
        None => body.to_vec(),
        Some(other) => return Err(format!("unexpected encoding {other}")),
    };
    let signal = match path {
        "/v1/traces" | "/custom/traces" => Signal::Traces,
        "/v1/metrics" => Signal::Metrics,
        "/v1/logs" => Signal::Logs,
        other => return Err(format!("unexpected path {other}")),
    };
    match headers.get("content-type").map(|v| v.to_str().unwrap()) {
        Some("application/json") => stratus_core::pdata::json::decode_request(signal, &body),
        Some("application/x-protobuf") => Ok(match signal {
            Signal::Traces => Payload::Traces(
                ExportTraceServiceRequest::decode(body.as_slice())
                    .map_err(|e| e.to_string())?
                    .resource_spans,
            ),
            Signal::Metrics => Payload::Metrics(
                ExportMetricsServiceRequest::decode(body.as_slice())
                    .map_err(|e| e.to_string())?
                    .resource_metrics,
            ),
            Signal::Logs => Payload::Logs(
                ExportLogsServiceRequest::decode(body.as_slice())
                    .map_err(|e| e.to_string())?
                    .resource_logs,
            ),
        }),
        other => Err(format!("unexpected content type {other:?}")),
    }
}

async fn handle(
    recorder: Recorder,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let path = parts.uri.path().to_string();
    let payload = decode(&path, &parts.headers, &body);
    let mut state = recorder.0.lock().unwrap();
    state.requests.push(Recorded {
        path,
        headers: parts.headers,
        payload,
    });
    let reply = state.script.pop_front().unwrap_or_else(|| {
        Reply::status(200).body(
            "application/x-protobuf",
            ExportTraceServiceResponse::default().encode_to_vec(),
        )
    });
    let mut response = Response::builder().status(reply.status);
    for (k, v) in reply.headers {
        response = response.header(k, v);
    }
    Ok(response.body(Full::new(Bytes::from(reply.body))).unwrap())
}

struct TestServer {
    addr: SocketAddr,
    recorder: Recorder,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(tls: Option<Arc<rustls::ServerConfig>>) -> TestServer {
    serve_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), tls)
}

fn serve_on(listener: TcpListener, tls: Option<Arc<rustls::ServerConfig>>) -> TestServer {
    let addr = listener.local_addr().unwrap();
    let recorder = Recorder::default();
    let rec = recorder.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let rec = rec.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(rec.clone(), req));
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                match tls {
                    Some(config) => {
                        let acceptor = tokio_rustls::TlsAcceptor::from(config);
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            });
        }
    });
    TestServer {
        addr,
        recorder,
        task,
    }
}

async fn exporter(registry: &Registry, config: serde_json::Value) -> Arc<dyn Exporter> {
    let exporter = OtlpHttpExporterFactory
        .build(ctx("otlphttp", registry), &config)
        .await
        .unwrap();
    exporter.start(&Host::ready()).await.unwrap();
    exporter
}

fn direct(endpoint: String, extra: serde_json::Value) -> serde_json::Value {
    let mut config = json!({
        "endpoint": endpoint,
        "sending_queue": {"enabled": false},
        "retry_on_failure": {"enabled": false},
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    config
}

fn sender(endpoint: String) -> HttpSender {
    let config: OtlpHttpConfig = decode_config(&json!({"endpoint": endpoint})).unwrap();
    HttpSender::new("otlphttp/test".into(), &config, &Signal::ALL).unwrap()
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::exporter(&OtlpHttpExporterFactory)
        .http_destination(|url| json!({"endpoint": url}))
        .default_config_rejected(&["endpoint"])
        .await;
}

#[tokio::test]
async fn proto_and_json_bodies_carry_the_same_data() {
    let server = serve(None).await;
    let registry = Registry::new();
    let mut index = 0;
    for encoding in ["proto", "json"] {
        for compression in ["gzip", "zstd", "none"] {
            let exp = exporter(
                &registry,
                direct(
                    format!("http://{}", server.addr),
                    json!({
                        "encoding": encoding,
                        "compression": compression,
                        "headers": {"X-Tenant": "acme"},
                    }),
                ),
            )
            .await;
            for signal in Signal::ALL {
                exp.consume(Telemetry::new(payload(signal))).await.unwrap();
                server.recorder.with(index, |r| {
                    assert_eq!(r.path, format!("/v1/{signal}"));
                    let content_type = r.headers["content-type"].to_str().unwrap();
                    let expected = if encoding == "json" {
                        "application/json"
                    } else {
                        "application/x-protobuf"
                    };
                    assert_eq!(content_type, expected);
                    let content_encoding = r.headers.get("content-encoding");
                    match compression {
                        "none" => assert!(content_encoding.is_none()),
                        c => assert_eq!(content_encoding.unwrap(), c),
                    }
                    assert_eq!(r.headers["x-tenant"], "acme");
                    assert!(
                        r.headers["user-agent"]
                            .to_str()
                            .unwrap()
                            .starts_with("stratus/")
                    );
                    assert_eq!(
                        r.payload.as_ref().unwrap(),
                        &payload(signal),
                        "{encoding}/{compression}/{signal}"
                    );
                });
                index += 1;
            }
        }
    }
    // Six exporters with the same id share the counters: 6 batches of 3 spans.
    assert!(has_line(
        &registry,
        "otelcol_exporter_sent_spans{exporter=\"otlphttp/test\"} 18"
    ));
}

#[tokio::test]
async fn signal_endpoints_override_the_base() {
    let server = serve(None).await;
    let exp = exporter(
        &Registry::new(),
        direct(
            format!("http://{}", server.addr),
            json!({"traces_endpoint": format!("http://{}/custom/traces", server.addr)}),
        ),
    )
    .await;
    exp.consume(Telemetry::new(spans(1))).await.unwrap();
    exp.consume(Telemetry::new(logs())).await.unwrap();
    assert_eq!(
        server.recorder.with(0, |r| r.path.clone()),
        "/custom/traces"
    );
    assert_eq!(server.recorder.with(1, |r| r.path.clone()), "/v1/logs");
}

#[tokio::test]
async fn retry_after_seconds_and_date_become_the_throttle() {
    let server = serve(None).await;
    let in_two_minutes = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
    server.recorder.script(vec![
        Reply::status(503).header("retry-after", "7"),
        Reply::status(429).header("retry-after", in_two_minutes),
        Reply::status(504),
    ]);
    let sender = sender(format!("http://{}", server.addr));
    let request = sender.encode(Telemetry::new(spans(1))).unwrap();
    let err = sender.send(&request).await.unwrap_err();
    assert!(!err.is_permanent());
    assert_eq!(err.throttle(), Some(Duration::from_secs(7)));
    let err = sender.send(&request).await.unwrap_err();
    let throttle = err.throttle().unwrap();
    assert!(
        throttle > Duration::from_secs(100) && throttle <= Duration::from_secs(120),
        "{throttle:?}"
    );
    let err = sender.send(&request).await.unwrap_err();
    assert!(!err.is_permanent());
    assert_eq!(err.throttle(), None);
    sender.send(&request).await.unwrap();
    assert_eq!(server.recorder.count(), 4);
}

#[tokio::test]
async fn bad_request_is_permanent_with_the_status_message() {
    let server = serve(None).await;
    let status = RpcStatus {
        code: 3,
        message: "invalid span: empty trace id".into(),
        details: vec![],
    };
    server.recorder.script(vec![
        Reply::status(400).body("application/x-protobuf", status.encode_to_vec()),
        Reply::status(400).body(
            "application/json",
            br#"{"code":3,"message":"invalid json span"}"#.to_vec(),
        ),
    ]);
    let registry = Registry::new();
    let mut config = direct(format!("http://{}", server.addr), json!({}));
    config["retry_on_failure"] = fast_retry();
    let exp = exporter(&registry, config).await;
    let err = exp.consume(Telemetry::new(spans(2))).await.unwrap_err();
    assert!(err.is_permanent());
    assert!(err.message().contains("HTTP status 400"), "{err}");
    assert!(
        err.message().contains("invalid span: empty trace id"),
        "{err}"
    );
    assert_eq!(
        server.recorder.count(),
        1,
        "a permanent error is not retried"
    );
    assert!(has_line(
        &registry,
        "otelcol_exporter_send_failed_spans{exporter=\"otlphttp/test\"} 2"
    ));
    let err = exp.consume(Telemetry::new(spans(1))).await.unwrap_err();
    assert!(err.message().contains("invalid json span"), "{err}");
}

/// A destination that echoes the request's headers in its error message: the
/// configured header values (whole, and the credential after its scheme) are
/// scrubbed from the error the receivers answer with and the logs show.
#[tokio::test]
async fn echoed_header_values_are_scrubbed_from_errors() {
    let server = serve(None).await;
    let echo = |text: &str| {
        Reply::status(401).body(
            "application/json",
            serde_json::to_vec(&json!({"code": 16, "message": text})).unwrap(),
        )
    };
    server.recorder.script(vec![
        echo("you sent authorization: Bearer echo-token-0123456789 and x-api-key: key-abcdefgh"),
        echo("token echo-token-0123456789 alone"),
    ]);
    let registry = Registry::new();
    let config = direct(
        format!("http://{}", server.addr),
        json!({"headers": {"authorization": "Bearer echo-token-0123456789",
            "x-api-key": "key-abcdefgh"}}),
    );
    let exp = exporter(&registry, config).await;
    for _ in 0..2 {
        let err = exp.consume(Telemetry::new(spans(1))).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("HTTP status 401") && text.contains("[REDACTED]"),
            "{text}"
        );
        assert!(
            !text.contains("echo-token-0123456789") && !text.contains("key-abcdefgh"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn too_many_requests_and_bad_gateway_are_retried() {
    let server = serve(None).await;
    server
        .recorder
        .script(vec![Reply::status(429), Reply::status(502)]);
    let registry = Registry::new();
    let mut config = direct(format!("http://{}", server.addr), json!({}));
    config["retry_on_failure"] = fast_retry();
    let exp = exporter(&registry, config).await;
    exp.consume(Telemetry::new(metrics())).await.unwrap();
    assert_eq!(server.recorder.count(), 3);
    assert_eq!(
        server.recorder.with(2, |r| r.payload.clone()).unwrap(),
        metrics()
    );
    assert!(has_line(
        &registry,
        "otelcol_exporter_sent_metric_points{exporter=\"otlphttp/test\"} 2"
    ));
}

#[tokio::test]
async fn partial_success_is_success() {
    let server = serve(None).await;
    let partial = ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: 2,
            error_message: "two spans too old".into(),
        }),
    };
    server.recorder.script(vec![
        Reply::status(200).body("application/x-protobuf", partial.encode_to_vec()),
        Reply::status(200).body(
            "application/json",
            br#"{"partialSuccess":{"rejectedSpans":"1","errorMessage":"x"}}"#.to_vec(),
        ),
    ]);
    let registry = Registry::new();
    let exp = exporter(
        &registry,
        direct(format!("http://{}", server.addr), json!({})),
    )
    .await;
    exp.consume(Telemetry::new(spans(3))).await.unwrap();
    exp.consume(Telemetry::new(spans(3))).await.unwrap();
    assert!(has_line(
        &registry,
        "otelcol_exporter_sent_spans{exporter=\"otlphttp/test\"} 6"
    ));
}

#[tokio::test]
async fn connection_refused_is_retryable_then_delivered_from_the_queue() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let sender = sender(endpoint.clone());
    let request = sender.encode(Telemetry::new(logs())).unwrap();
    let err = sender.send(&request).await.unwrap_err();
    assert!(!err.is_permanent(), "{err}");
    assert!(err.message().contains(&port.to_string()), "{err}");

    // With the default queue, start and consume succeed while the destination is down,
    // and the batch is delivered once it comes up.
    let registry = Registry::new();
    let exp = exporter(
        &registry,
        json!({"endpoint": endpoint, "retry_on_failure": fast_retry()}),
    )
    .await;
    exp.consume(Telemetry::new(logs())).await.unwrap();
    let server = serve_on(TcpListener::bind(("127.0.0.1", port)).await.unwrap(), None);
    wait_for("the queued batch", || {
        let n = server.recorder.count();
        async move { n == 1 }
    })
    .await;
    assert_eq!(
        server.recorder.with(0, |r| r.payload.clone()).unwrap(),
        logs()
    );
    exp.shutdown().await.unwrap();
    assert!(has_line(
        &registry,
        "otelcol_exporter_sent_log_records{exporter=\"otlphttp/test\"} 1"
    ));
}

#[tokio::test]
async fn https_with_a_private_ca() {
    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(pki.server_cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_slice(pki.server_key_pem.as_bytes()).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let server = serve(Some(Arc::new(config))).await;
    let endpoint = format!("https://127.0.0.1:{}", server.addr.port());
    let exp = exporter(
        &Registry::new(),
        direct(
            endpoint.clone(),
            json!({"tls": {"ca_file": pki.path("ca.pem")}}),
        ),
    )
    .await;
    exp.consume(Telemetry::new(logs())).await.unwrap();
    assert_eq!(
        server.recorder.with(0, |r| r.payload.clone()).unwrap(),
        logs()
    );
    // Not trusted with another CA.
    let other = Pki::new(&["127.0.0.1"]);
    let untrusted = exporter(
        &Registry::new(),
        direct(endpoint, json!({"tls": {"ca_file": other.path("ca.pem")}})),
    )
    .await;
    let err = untrusted.consume(Telemetry::new(logs())).await.unwrap_err();
    assert!(!err.is_permanent(), "{err}");
    assert_eq!(server.recorder.count(), 1);
    // The CA as PEM text, and TLS 1.2 only.
    let inline = exporter(
        &Registry::new(),
        direct(
            format!("https://localhost:{}", server.addr.port()),
            json!({"tls": {"ca_pem": pki.ca_pem, "max_version": "1.2"}}),
        ),
    )
    .await;
    inline.consume(Telemetry::new(logs())).await.unwrap();
    assert_eq!(server.recorder.count(), 2);
}

#[tokio::test]
async fn build_needs_a_url_for_every_signal_used() {
    let registry = Registry::new();
    let err = OtlpHttpExporterFactory
        .build(
            ctx("otlphttp", &registry),
            &json!({"traces_endpoint": "http://127.0.0.1:1/v1/traces"}),
        )
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("metrics"), "{err}");
    let mut only_traces = ctx("otlphttp", &registry);
    only_traces.signals = vec![Signal::Traces];
    assert!(
        OtlpHttpExporterFactory
            .build(
                only_traces,
                &json!({"traces_endpoint": "http://127.0.0.1:1/v1/traces"})
            )
            .await
            .is_ok()
    );
    let err = OtlpHttpExporterFactory
        .build(
            ctx("otlphttp", &registry),
            &json!({"endpoint": "http://a:1", "encodng": "json"}),
        )
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("encodng"), "{err}");
}
