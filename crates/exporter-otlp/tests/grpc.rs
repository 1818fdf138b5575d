//! The `otlp` exporter against a real tonic OTLP server on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use serde_json::json;
use stratus_core::factory::{Exporter, ExporterFactory};
use stratus_core::telemetry::Registry;
use stratus_core::{Host, Payload, Signal, Telemetry};
use stratus_exporter_helper::Sender;
use stratus_exporter_otlp::rpc::{RetryInfo, RpcStatus};
use stratus_exporter_otlp::{GrpcSender, OtlpConfig, OtlpExporterFactory};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{KeyAndValueRef, MetadataMap};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Code, Request, Response, Status};

struct Received {
    payload: Payload,
    headers: Vec<(String, String)>,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    attempts: usize,
    script: VecDeque<Status>,
    partial: Option<ExportTracePartialSuccess>,
}

/// An OTLP server that records what it receives, failing first with scripted statuses.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<State>>);

impl Recorder {
    fn record(&self, payload: Payload, metadata: &MetadataMap) -> Result<(), Status> {
        let mut state = self.0.lock().unwrap();
        state.attempts += 1;
        if let Some(status) = state.script.pop_front() {
            return Err(status);
        }
        let headers = metadata
            .iter()
            .filter_map(|kv| match kv {
                KeyAndValueRef::Ascii(k, v) => {
                    Some((k.to_string(), v.to_str().unwrap_or_default().to_string()))
                }
                KeyAndValueRef::Binary(..) => None,
            })
            .collect();
        state.received.push(Received { payload, headers });
        Ok(())
    }

    fn script(&self, statuses: Vec<Status>) {
        self.0.lock().unwrap().script = statuses.into();
    }

    fn attempts(&self) -> usize {
        self.0.lock().unwrap().attempts
    }

    fn received(&self) -> usize {
        self.0.lock().unwrap().received.len()
    }

    fn payloads(&self) -> Vec<Payload> {
        let state = self.0.lock().unwrap();
        state.received.iter().map(|r| r.payload.clone()).collect()
    }

    fn header(&self, index: usize, name: &str) -> Option<String> {
        let state = self.0.lock().unwrap();
        state.received[index]
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

#[async_trait]
impl TraceService for Recorder {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let payload = Payload::Traces(request.get_ref().resource_spans.clone());
        self.record(payload, request.metadata())?;
        let partial_success = self.0.lock().unwrap().partial.clone();
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success,
        }))
    }
}

#[async_trait]
impl MetricsService for Recorder {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let payload = Payload::Metrics(request.get_ref().resource_metrics.clone());
        self.record(payload, request.metadata())?;
        Ok(Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[async_trait]
impl LogsService for Recorder {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let payload = Payload::Logs(request.get_ref().resource_logs.clone());
        self.record(payload, request.metadata())?;
        Ok(Response::new(ExportLogsServiceResponse::default()))
    }
}

struct TestServer {
    addr: SocketAddr,
    recorder: Recorder,
    _stop: oneshot::Sender<()>,
}

async fn serve_on(listener: TcpListener, tls: Option<ServerTlsConfig>) -> TestServer {
    let addr = listener.local_addr().unwrap();
    let recorder = Recorder::default();
    let (stop, stopped) = oneshot::channel::<()>();
    let mut builder = Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls).unwrap();
    }
    let router = builder
        .add_service(
            TraceServiceServer::new(recorder.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd),
        )
        .add_service(
            MetricsServiceServer::new(recorder.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd),
        )
        .add_service(
            LogsServiceServer::new(recorder.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd),
        );
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tokio::spawn(async move {
        let _ = router
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            })
            .await;
    });
    TestServer {
        addr,
        recorder,
        _stop: stop,
    }
}

async fn serve(tls: Option<ServerTlsConfig>) -> TestServer {
    serve_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), tls).await
}

async fn exporter(registry: &Registry, config: serde_json::Value) -> Arc<dyn Exporter> {
    let exporter = OtlpExporterFactory
        .build(ctx("otlp", registry), &config)
        .await
        .unwrap();
    exporter.start(&Host::ready()).await.unwrap();
    exporter
}

/// Sent in the caller's task, without retries: the result is the first attempt's.
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

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::exporter(&OtlpExporterFactory)
        .grpc_destination(|url| json!({"endpoint": url}))
        .default_config_rejected(&["endpoint"])
        .await;
}

#[tokio::test]
async fn all_signals_arrive_identical_with_headers_and_gzip() {
    let server = serve(None).await;
    let registry = Registry::new();
    let exp = exporter(
        &registry,
        direct(
            format!("http://{}", server.addr),
            json!({"headers": {"x-tenant": "acme", "Authorization": "Bearer s3cret"}}),
        ),
    )
    .await;
    for signal in Signal::ALL {
        exp.consume(Telemetry::new(payload(signal))).await.unwrap();
    }
    let rec = &server.recorder;
    assert_eq!(
        rec.payloads(),
        Signal::ALL.map(payload).to_vec(),
        "every signal arrives unchanged"
    );
    for i in 0..3 {
        assert_eq!(rec.header(i, "x-tenant").as_deref(), Some("acme"));
        assert_eq!(
            rec.header(i, "authorization").as_deref(),
            Some("Bearer s3cret")
        );
        assert_eq!(rec.header(i, "grpc-encoding").as_deref(), Some("gzip"));
    }
    let agent = rec.header(0, "user-agent").unwrap();
    assert!(agent.starts_with("stratus/"), "{agent}");
    assert!(has_line(
        &registry,
        "otelcol_exporter_sent_spans{exporter=\"otlp/test\"} 3"
    ));
    assert!(has_line(
        &registry,
        "otelcol_exporter_sent_metric_points{exporter=\"otlp/test\"} 2"
    ));
    assert!(has_line(
        &registry,
        "otelcol_exporter_sent_log_records{exporter=\"otlp/test\"} 1"
    ));
    exp.shutdown().await.unwrap();
}

#[tokio::test]
async fn compression_setting_picks_the_grpc_encoding() {
    let server = serve(None).await;
    for (compression, expected) in [
        ("zstd", Some("zstd")),
        ("none", None),
        ("gzip", Some("gzip")),
    ] {
        let exp = exporter(
            &Registry::new(),
            direct(
                format!("http://{}", server.addr),
                json!({"compression": compression}),
            ),
        )
        .await;
        exp.consume(Telemetry::new(spans(2))).await.unwrap();
        let last = server.recorder.received() - 1;
        let got = server.recorder.header(last, "grpc-encoding");
        assert_eq!(got.as_deref(), expected, "compression {compression}");
        assert_eq!(server.recorder.payloads()[last], spans(2));
    }
}

#[tokio::test]
async fn unavailable_is_retried_then_delivered() {
    let server = serve(None).await;
    server.recorder.script(vec![
        Status::unavailable("warming up"),
        Status::unavailable("still warming up"),
    ]);
    let registry = Registry::new();
    let mut config = direct(format!("http://{}", server.addr), json!({}));
    config["retry_on_failure"] = fast_retry();
    let exp = exporter(&registry, config).await;
    exp.consume(Telemetry::new(spans(4))).await.unwrap();
    assert_eq!(server.recorder.attempts(), 3);
    assert_eq!(server.recorder.payloads(), vec![spans(4)]);
    assert!(has_line(
        &registry,
        "otelcol_exporter_sent_spans{exporter=\"otlp/test\"} 4"
    ));
}

#[tokio::test]
async fn invalid_argument_is_permanent_and_not_retried() {
    let server = serve(None).await;
    server
        .recorder
        .script(vec![Status::invalid_argument("span has no trace id")]);
    let registry = Registry::new();
    let mut config = direct(format!("http://{}", server.addr), json!({}));
    config["retry_on_failure"] = fast_retry();
    let exp = exporter(&registry, config).await;
    let err = exp.consume(Telemetry::new(spans(3))).await.unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert!(err.message().contains("span has no trace id"), "{err}");
    assert_eq!(server.recorder.attempts(), 1);
    assert_eq!(server.recorder.received(), 0);
    assert!(has_line(
        &registry,
        "otelcol_exporter_send_failed_spans{exporter=\"otlp/test\"} 3"
    ));
}

fn with_retry_info(code: Code, delay: Duration) -> Status {
    let details = RpcStatus {
        code: code as i32,
        message: "slow down".into(),
        details: vec![RetryInfo::detail(delay)],
    }
    .encode_to_vec();
    Status::with_details(code, "slow down", details.into())
}

#[tokio::test]
async fn retry_info_becomes_the_throttle() {
    let server = serve(None).await;
    let config: OtlpConfig = stratus_core::factory::decode_config(&json!({
        "endpoint": format!("http://{}", server.addr),
    }))
    .unwrap();
    let sender = GrpcSender::new("otlp/test".into(), &config).unwrap();
    let request = sender.encode(Telemetry::new(spans(1))).unwrap();
    server.recorder.script(vec![
        with_retry_info(Code::ResourceExhausted, Duration::from_secs(3)),
        Status::resource_exhausted("quota"),
        with_retry_info(Code::Unavailable, Duration::from_millis(1500)),
    ]);
    let err = sender.send(&request).await.unwrap_err();
    assert!(!err.is_permanent());
    assert_eq!(err.throttle(), Some(Duration::from_secs(3)));
    let err = sender.send(&request).await.unwrap_err();
    assert!(
        err.is_permanent(),
        "RESOURCE_EXHAUSTED without RetryInfo is permanent"
    );
    let err = sender.send(&request).await.unwrap_err();
    assert_eq!(err.throttle(), Some(Duration::from_millis(1500)));
    sender.send(&request).await.unwrap();
    assert_eq!(server.recorder.payloads(), vec![spans(1)]);
}

#[tokio::test]
async fn partial_success_counts_as_sent() {
    let server = serve(None).await;
    server.recorder.0.lock().unwrap().partial = Some(ExportTracePartialSuccess {
        rejected_spans: 1,
        error_message: "one span too old".into(),
    });
    let registry = Registry::new();
    let exp = exporter(
        &registry,
        direct(format!("http://{}", server.addr), json!({})),
    )
    .await;
    exp.consume(Telemetry::new(spans(2))).await.unwrap();
    assert!(has_line(
        &registry,
        "otelcol_exporter_sent_spans{exporter=\"otlp/test\"} 2"
    ));
}

#[tokio::test]
async fn destination_down_at_start_then_delivered_from_the_queue() {
    // A port nothing listens on (yet).
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let registry = Registry::new();
    let exp = exporter(
        &registry,
        json!({
            "endpoint": format!("http://127.0.0.1:{port}"),
            "retry_on_failure": fast_retry(),
        }),
    )
    .await;
    // Start succeeded; the batch is queued while the destination is down.
    exp.consume(Telemetry::new(spans(2))).await.unwrap();
    exp.consume(Telemetry::new(logs())).await.unwrap();
    let direct_err = {
        let config: OtlpConfig = stratus_core::factory::decode_config(&json!({
            "endpoint": format!("http://127.0.0.1:{port}"),
        }))
        .unwrap();
        let sender = GrpcSender::new("otlp/probe".into(), &config).unwrap();
        let request = sender.encode(Telemetry::new(spans(1))).unwrap();
        sender.send(&request).await.unwrap_err()
    };
    assert!(
        !direct_err.is_permanent(),
        "connection refused is retryable: {direct_err}"
    );

    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let server = serve_on(listener, None).await;
    wait_for("queued batches to be delivered", || {
        let n = server.recorder.received();
        async move { n == 2 }
    })
    .await;
    let mut got = server.recorder.payloads();
    got.sort_by_key(|p| p.signal());
    assert_eq!(got, vec![spans(2), logs()]);
    exp.shutdown().await.unwrap();
    assert!(has_line(
        &registry,
        "otelcol_exporter_sent_spans{exporter=\"otlp/test\"} 2"
    ));
}

fn server_tls(pki: &Pki, client_auth: bool) -> ServerTlsConfig {
    let tls = ServerTlsConfig::new().identity(Identity::from_pem(
        &pki.server_cert_pem,
        &pki.server_key_pem,
    ));
    if client_auth {
        tls.client_ca_root(Certificate::from_pem(&pki.ca_pem))
    } else {
        tls
    }
}

#[tokio::test]
async fn tls_with_a_private_ca() {
    let pki = Pki::new(&["localhost", "127.0.0.1"]);
    let server = serve(Some(server_tls(&pki, false))).await;
    // `host:port` means TLS; the CA file makes the self-signed chain trusted.
    let exp = exporter(
        &Registry::new(),
        direct(
            format!("127.0.0.1:{}", server.addr.port()),
            json!({"tls": {"ca_file": pki.path("ca.pem")}}),
        ),
    )
    .await;
    exp.consume(Telemetry::new(metrics())).await.unwrap();
    assert_eq!(server.recorder.payloads(), vec![metrics()]);

    // With another CA the server is not trusted: a retryable failure.
    let other = Pki::new(&["127.0.0.1"]);
    let exp = exporter(
        &Registry::new(),
        direct(
            format!("127.0.0.1:{}", server.addr.port()),
            json!({"tls": {"ca_file": other.path("ca.pem")}}),
        ),
    )
    .await;
    let err = exp.consume(Telemetry::new(metrics())).await.unwrap_err();
    assert!(!err.is_permanent(), "{err}");
    assert_eq!(server.recorder.received(), 1);

    // Plaintext to a TLS server fails too.
    let exp = exporter(
        &Registry::new(),
        direct(
            format!("http://127.0.0.1:{}", server.addr.port()),
            json!({}),
        ),
    )
    .await;
    assert!(exp.consume(Telemetry::new(metrics())).await.is_err());
    assert_eq!(server.recorder.received(), 1);
}

#[tokio::test]
async fn mutual_tls_sends_the_client_certificate() {
    let pki = Pki::new(&["127.0.0.1"]);
    let server = serve(Some(server_tls(&pki, true))).await;
    let endpoint = format!("https://127.0.0.1:{}", server.addr.port());
    let exp = exporter(
        &Registry::new(),
        direct(
            endpoint.clone(),
            json!({"tls": {
                "ca_file": pki.path("ca.pem"),
                "cert_file": pki.path("client.pem"),
                "key_file": pki.path("client-key.pem"),
            }}),
        ),
    )
    .await;
    exp.consume(Telemetry::new(logs())).await.unwrap();
    assert_eq!(server.recorder.payloads(), vec![logs()]);

    let without_cert = exporter(
        &Registry::new(),
        direct(endpoint, json!({"tls": {"ca_file": pki.path("ca.pem")}})),
    )
    .await;
    assert!(without_cert.consume(Telemetry::new(logs())).await.is_err());
    assert_eq!(server.recorder.received(), 1);
}

#[tokio::test]
async fn mutual_tls_from_inline_pem() {
    let pki = Pki::new(&["127.0.0.1"]);
    let server = serve(Some(server_tls(&pki, true))).await;
    let exp = exporter(
        &Registry::new(),
        direct(
            format!("127.0.0.1:{}", server.addr.port()),
            json!({"tls": {
                "ca_pem": pki.ca_pem,
                "cert_pem": pki.client_cert_pem,
                "key_pem": pki.client_key_pem,
                "min_version": "1.3",
                "reload_interval": "1m",
            }}),
        ),
    )
    .await;
    exp.consume(Telemetry::new(logs())).await.unwrap();
    assert_eq!(server.recorder.payloads(), vec![logs()]);
}

#[tokio::test]
async fn server_name_override_and_skip_verify() {
    let pki = Pki::new(&["collector.stratus.test"]);
    let server = serve(Some(server_tls(&pki, false))).await;
    let endpoint = format!("127.0.0.1:{}", server.addr.port());
    // The certificate does not name 127.0.0.1 ...
    let plain = exporter(
        &Registry::new(),
        direct(
            endpoint.clone(),
            json!({"tls": {"ca_file": pki.path("ca.pem")}}),
        ),
    )
    .await;
    assert!(plain.consume(Telemetry::new(spans(1))).await.is_err());
    // ... but it names the override.
    let overridden = exporter(
        &Registry::new(),
        direct(
            endpoint.clone(),
            json!({"tls": {
                "ca_file": pki.path("ca.pem"),
                "server_name_override": "collector.stratus.test",
            }}),
        ),
    )
    .await;
    overridden.consume(Telemetry::new(spans(1))).await.unwrap();
    // Skipping verification needs no CA at all.
    let skip = exporter(
        &Registry::new(),
        direct(endpoint, json!({"tls": {"insecure_skip_verify": true}})),
    )
    .await;
    skip.consume(Telemetry::new(spans(2))).await.unwrap();
    assert_eq!(server.recorder.payloads(), vec![spans(1), spans(2)]);
}

#[tokio::test]
async fn build_reports_bad_config_and_unreadable_tls_files() {
    let registry = Registry::new();
    let err = OtlpExporterFactory
        .build(ctx("otlp", &registry), &json!({"endpiont": "x:1"}))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("endpiont"), "{err}");
    let err = OtlpExporterFactory
        .build(
            ctx("otlp", &registry),
            &json!({"endpoint": "collector:4317", "tls": {"ca_file": "/nonexistent/ca.pem"}}),
        )
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("tls::ca_file") && err.contains("/nonexistent/ca.pem"),
        "{err}"
    );
    // Secrets never reach an error message.
    let err = OtlpExporterFactory
        .build(
            ctx("otlp", &registry),
            &json!({"endpoint": "", "headers": {"authorization": "Bearer hunter2"}}),
        )
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(!err.contains("hunter2"), "{err}");
}
