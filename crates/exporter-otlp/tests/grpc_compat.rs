//! The `otlp_grpc` exporter's compatibility keys against real servers on 127.0.0.1:
//! `auth`, `authority`, `balancer_name`, `wait_for_ready`, the buffer sizes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use http::HeaderMap;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use serde_json::json;
use stratus_core::auth::{AuthError, ClientAuthenticator};
use stratus_core::factory::{Authenticators, ExporterFactory, FactoryInfo, decode_config};
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, Host, Payload, Telemetry};
use stratus_exporter_helper::Sender;
use stratus_exporter_otlp::grpc::Resolve;
use stratus_exporter_otlp::{GrpcSender, OtlpConfig, OtlpExporterFactory};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::codec::CompressionEncoding;
use tonic::transport::Server;
use tonic::{Request, Response, Status};

/// A trace server that records each request's payload and `authorization` header.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Received>>>);

/// A request's payload and its `authorization` header.
type Received = (Payload, Option<String>);

impl Recorder {
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn authorizations(&self) -> Vec<Option<String>> {
        self.0.lock().unwrap().iter().map(|r| r.1.clone()).collect()
    }
}

#[async_trait]
impl TraceService for Recorder {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let auth = request
            .metadata()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string());
        let payload = Payload::Traces(request.into_inner().resource_spans);
        self.0.lock().unwrap().push((payload, auth));
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

struct TestServer {
    addr: SocketAddr,
    recorder: Recorder,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Stops the server and waits until its listener is closed.
    async fn stop(mut self) {
        drop(self.stop.take());
        self.task.await.unwrap();
    }
}

async fn serve_on(listener: TcpListener) -> TestServer {
    let addr = listener.local_addr().unwrap();
    let recorder = Recorder::default();
    let (stop, stopped) = oneshot::channel::<()>();
    let router = Server::builder().add_service(
        TraceServiceServer::new(recorder.clone()).accept_compressed(CompressionEncoding::Gzip),
    );
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let task = tokio::spawn(async move {
        let _ = router
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            })
            .await;
    });
    TestServer {
        addr,
        recorder,
        stop: Some(stop),
        task,
    }
}

async fn serve() -> TestServer {
    serve_on(TcpListener::bind("127.0.0.1:0").await.unwrap()).await
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(extra: serde_json::Value) -> OtlpConfig {
    let mut raw = json!({"tls": {"insecure": true}});
    for (k, v) in extra.as_object().unwrap() {
        raw[k] = v.clone();
    }
    decode_config(&raw).unwrap()
}

/// A client authenticator that adds `Bearer tok-<n>` (a new token per request) and
/// fails its first `fail` calls.
#[derive(Default)]
struct FakeAuth {
    calls: AtomicUsize,
    fail: AtomicUsize,
}

#[async_trait]
impl ClientAuthenticator for FakeAuth {
    async fn apply(&self, headers: &mut HeaderMap) -> Result<(), AuthError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| f.checked_sub(1))
            .is_ok()
        {
            return Err(AuthError::unavailable("the token endpoint is down"));
        }
        headers.insert("authorization", format!("Bearer tok-{n}").parse().unwrap());
        Ok(())
    }
}

fn ctx_with_auth(registry: &Registry, auth: Arc<FakeAuth>) -> stratus_core::factory::BuildContext {
    let mut authenticators = BTreeMap::new();
    authenticators.insert(
        ComponentId::new("bearertokenauth"),
        Authenticators {
            server: None,
            client: Some(auth),
        },
    );
    ctx("otlp", registry).with_authenticators(authenticators)
}

#[tokio::test]
async fn the_authenticator_signs_every_request() {
    let server = serve().await;
    let auth = Arc::new(FakeAuth::default());
    let registry = Registry::new();
    let raw = json!({
        "endpoint": format!("http://{}", server.addr),
        "headers": {"x-tenant": "acme"},
        "auth": {"authenticator": "bearertokenauth"},
        "sending_queue": {"enabled": false},
        "retry_on_failure": {"enabled": false},
    });
    assert_eq!(
        FactoryInfo::extension_references(&OtlpExporterFactory, &raw),
        [(
            "auth::authenticator".to_string(),
            "bearertokenauth".to_string()
        )],
        "validate checks the authenticator is an enabled extension"
    );
    let exp = OtlpExporterFactory
        .build(ctx_with_auth(&registry, auth.clone()), &raw)
        .await
        .unwrap();
    exp.start(&Host::ready()).await.unwrap();
    for _ in 0..3 {
        exp.consume(Telemetry::new(spans(1))).await.unwrap();
    }
    assert_eq!(
        server.recorder.authorizations(),
        [
            Some("Bearer tok-1".to_string()),
            Some("Bearer tok-2".to_string()),
            Some("Bearer tok-3".to_string())
        ],
        "apply() runs for every request"
    );
    exp.shutdown().await.unwrap();

    // Without the extension enabled, building names the key.
    let err = OtlpExporterFactory
        .build(ctx("otlp", &registry), &raw)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("auth::authenticator") && err.contains("not an authenticator extension"),
        "{err}"
    );
}

#[tokio::test]
async fn a_failing_authenticator_is_retried_then_delivered() {
    let server = serve().await;
    let auth = Arc::new(FakeAuth {
        fail: AtomicUsize::new(2),
        ..FakeAuth::default()
    });
    let registry = Registry::new();
    let raw = json!({
        "endpoint": format!("http://{}", server.addr),
        "auth": {"authenticator": "bearertokenauth"},
        "sending_queue": {"enabled": false},
        "retry_on_failure": fast_retry(),
    });
    let exp = OtlpExporterFactory
        .build(ctx_with_auth(&registry, auth.clone()), &raw)
        .await
        .unwrap();
    exp.start(&Host::ready()).await.unwrap();
    exp.consume(Telemetry::new(spans(2))).await.unwrap();
    assert_eq!(auth.calls.load(Ordering::SeqCst), 3);
    assert_eq!(
        server.recorder.authorizations(),
        [Some("Bearer tok-3".to_string())],
        "nothing is sent without credentials; the third try is"
    );
    assert!(has_line(
        &registry,
        "stratus_exporter_client_auth_failures{exporter=\"otlp/test\",failure=\"unavailable\"} 2"
    ));
    assert!(has_line(
        &registry,
        "otelcol_exporter_sent_spans{exporter=\"otlp/test\"} 2"
    ));
    // A direct sender: the failure is retryable, and its message holds no credential.
    let sender = GrpcSender::from_context(
        &ctx_with_auth(
            &registry,
            Arc::new(FakeAuth {
                fail: AtomicUsize::new(1),
                ..FakeAuth::default()
            }),
        ),
        "otlp/direct".into(),
        &decode_config(&raw).unwrap(),
    )
    .unwrap();
    let err = sender
        .send(&sender.encode(Telemetry::new(spans(1))).unwrap())
        .await
        .unwrap_err();
    assert!(!err.is_permanent());
    assert!(
        err.message().contains("unavailable") && err.message().contains("token endpoint"),
        "{err}"
    );
    // `new` cannot look authenticators up, and says so instead of sending unsigned.
    let err = GrpcSender::new("otlp/x".into(), &decode_config(&raw).unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("auth::authenticator"), "{err}");
}

/// A plain HTTP/2 server answering every gRPC call with OK, recording `:authority`.
async fn authority_server() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    use http_body_util::{BodyExt, StreamBody};
    use hyper::body::Frame;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let record = record.clone();
            let service = hyper::service::service_fn(
                move |req: http::Request<hyper::body::Incoming>| {
                    let record = record.clone();
                    async move {
                        let authority = req
                            .uri()
                            .authority()
                            .map(|a| a.to_string())
                            .unwrap_or_default();
                        record.lock().unwrap().push(authority);
                        let _ = req.into_body().collect().await;
                        let mut trailers = HeaderMap::new();
                        trailers.insert("grpc-status", "0".parse().unwrap());
                        // One uncompressed, empty message: the export response.
                        let frames: Vec<Result<Frame<bytes::Bytes>, std::convert::Infallible>> = vec![
                            Ok(Frame::data(bytes::Bytes::from_static(&[0, 0, 0, 0, 0]))),
                            Ok(Frame::trailers(trailers)),
                        ];
                        let body = StreamBody::new(futures_stream(frames));
                        Ok::<_, std::convert::Infallible>(
                            http::Response::builder()
                                .header("content-type", "application/grpc")
                                .body(body)
                                .unwrap(),
                        )
                    }
                },
            );
            tokio::spawn(async move {
                let _ =
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                        .await;
            });
        }
    });
    (addr, seen)
}

fn futures_stream<T: Send + 'static>(
    items: Vec<T>,
) -> impl tokio_stream::Stream<Item = T> + Send + 'static {
    tokio_stream::iter(items)
}

#[tokio::test]
async fn authority_is_the_http2_authority() {
    let (addr, seen) = authority_server().await;
    for (authority, expected) in [
        ("", format!("127.0.0.1:{}", addr.port())),
        (
            "collector.example.com:4317",
            "collector.example.com:4317".to_string(),
        ),
    ] {
        let sender = GrpcSender::new(
            "otlp/a".into(),
            &config(
                json!({"endpoint": format!("127.0.0.1:{}", addr.port()), "authority": authority}),
            ),
        )
        .unwrap();
        sender
            .send(&sender.encode(Telemetry::new(spans(1))).unwrap())
            .await
            .unwrap();
        assert_eq!(seen.lock().unwrap().last().unwrap(), &expected);
    }
}

/// A resolver whose answer the test sets, counting lookups.
#[derive(Default)]
struct FixedResolver {
    addrs: Mutex<Vec<SocketAddr>>,
    lookups: AtomicUsize,
}

#[async_trait]
impl Resolve for FixedResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        assert_eq!((host, port), ("backends.stratus.test", 4317));
        self.lookups.fetch_add(1, Ordering::SeqCst);
        Ok(self.addrs.lock().unwrap().clone())
    }
}

async fn send_one(sender: &GrpcSender) -> Result<(), stratus_core::ConsumeError> {
    sender
        .send(&sender.encode(Telemetry::new(spans(1))).unwrap())
        .await
}

#[tokio::test]
async fn round_robin_spreads_skips_failing_addresses_and_re_resolves() {
    let a = serve().await;
    let b = serve().await;
    let resolver = Arc::new(FixedResolver::default());
    *resolver.addrs.lock().unwrap() = vec![a.addr, b.addr];
    let sender = GrpcSender::new(
        "otlp/rr".into(),
        &config(json!({"endpoint": "dns:///backends.stratus.test:4317"})),
    )
    .unwrap()
    .with_resolver(resolver.clone(), Duration::from_secs(3600));
    for _ in 0..10 {
        send_one(&sender).await.unwrap();
    }
    assert_eq!(
        (a.recorder.count(), b.recorder.count()),
        (5, 5),
        "requests alternate between the addresses"
    );

    // B goes away: every request still succeeds, on A. (A request may meet B's
    // connection before the client noticed it closed, and fail without reaching
    // anyone: the exporter helper retries those; here the test does.)
    let b_addr = b.addr;
    b.stop().await;
    for _ in 0..6 {
        send_retrying(&sender).await;
    }
    assert_eq!(a.recorder.count(), 11);

    // B comes back on the same address and gets its share again once its back-off
    // has passed.
    let b = serve_on(TcpListener::bind(b_addr).await.unwrap()).await;
    wait_for("the recovered address to get traffic", || {
        let ok = send_one(&sender);
        let b = b.recorder.clone();
        async move { ok.await.is_ok() && b.count() > 0 }
    })
    .await;

    // The name now resolves to C only: after re-resolution C takes the traffic.
    let c = serve().await;
    *resolver.addrs.lock().unwrap() = vec![c.addr];
    let sender = sender.with_resolver(resolver.clone(), Duration::from_millis(10));
    wait_for("the new address to get traffic", || {
        let ok = send_one(&sender);
        let c = c.recorder.clone();
        async move { ok.await.is_ok() && c.count() > 0 }
    })
    .await;
    let (a_before, c_before) = (a.recorder.count(), c.recorder.count());
    for _ in 0..4 {
        send_one(&sender).await.unwrap();
    }
    assert_eq!(a.recorder.count(), a_before, "A is no longer resolved");
    assert_eq!(c.recorder.count(), c_before + 4);
    assert!(resolver.lookups.load(Ordering::SeqCst) >= 2);
}

async fn send_retrying(sender: &GrpcSender) {
    for _ in 0..3 {
        if send_one(sender).await.is_ok() {
            return;
        }
    }
    panic!("three tries failed");
}

#[tokio::test]
async fn round_robin_with_the_system_resolver() {
    let server = serve().await;
    let sender = GrpcSender::new(
        "otlp/dns".into(),
        &config(json!({"endpoint": format!("dns:///localhost:{}", server.addr.port())})),
    )
    .unwrap();
    send_one(&sender).await.unwrap();
    assert_eq!(server.recorder.count(), 1);
    // pick_first through `passthrough:///`, and the buffer sizes at both extremes.
    for extra in [
        json!({"balancer_name": "pick_first", "read_buffer_size": 1, "write_buffer_size": 0}),
        json!({"endpoint": format!("passthrough:///127.0.0.1:{}", server.addr.port()),
               "read_buffer_size": 1 << 20, "write_buffer_size": 16}),
    ] {
        let mut raw = json!({"endpoint": format!("localhost:{}", server.addr.port())});
        for (k, v) in extra.as_object().unwrap() {
            raw[k] = v.clone();
        }
        let sender = GrpcSender::new("otlp/pf".into(), &config(raw)).unwrap();
        let before = server.recorder.count();
        sender
            .send(&sender.encode(Telemetry::new(spans(200))).unwrap())
            .await
            .unwrap();
        assert_eq!(server.recorder.count(), before + 1);
        assert_eq!(
            server.recorder.0.lock().unwrap().last().unwrap().0,
            spans(200)
        );
    }
}

/// A batch of about 3 MiB: many HTTP/2 frames, past the flow-control windows.
fn big_batch() -> Payload {
    let Payload::Traces(mut rs) = spans(200) else {
        unreachable!()
    };
    for span in &mut rs[0].scope_spans[0].spans {
        span.name = "x".repeat(15_000);
    }
    Payload::Traces(rs)
}

#[tokio::test]
async fn large_requests_pass_the_write_and_read_buffers() {
    let server = serve().await;
    for (read, write) in [(0, 512 * 1024), (1, 1), (64 * 1024, 0)] {
        let sender = GrpcSender::new(
            "otlp/big".into(),
            &config(json!({
                "endpoint": format!("127.0.0.1:{}", server.addr.port()),
                "compression": "none",
                "read_buffer_size": read,
                "write_buffer_size": write,
            })),
        )
        .unwrap();
        let before = server.recorder.count();
        sender
            .send(&sender.encode(Telemetry::new(big_batch())).unwrap())
            .await
            .unwrap();
        assert_eq!(server.recorder.count(), before + 1);
        assert!(
            server.recorder.0.lock().unwrap().last().unwrap().0 == big_batch(),
            "read {read}, write {write}"
        );
    }
}

#[tokio::test]
async fn wait_for_ready_waits_for_a_late_server() {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let sender_with = |wait: bool, resolver: Arc<FixedResolver>| {
        *resolver.addrs.lock().unwrap() = vec![addr];
        GrpcSender::new(
            "otlp/wfr".into(),
            &config(json!({
                "endpoint": "backends.stratus.test:4317",
                "wait_for_ready": wait,
                "timeout": "60s",
            })),
        )
        .unwrap()
        .with_resolver(resolver, Duration::from_secs(3600))
    };

    // false: fails at once, after one try.
    let resolver = Arc::new(FixedResolver::default());
    let sender = sender_with(false, resolver.clone());
    let err = send_one(&sender).await.unwrap_err();
    assert!(!err.is_permanent());
    assert!(err.message().contains("gRPC connection failed"), "{err}");
    assert_eq!(resolver.lookups.load(Ordering::SeqCst), 1);

    // true: keeps trying (each try after every address failed looks the name up
    // again), and delivers once the server is up.
    let resolver = Arc::new(FixedResolver::default());
    let sender = Arc::new(sender_with(true, resolver.clone()));
    let sending = tokio::spawn({
        let sender = sender.clone();
        async move { send_one(&sender).await }
    });
    wait_for("a second try", || {
        let n = resolver.lookups.load(Ordering::SeqCst);
        async move { n >= 2 }
    })
    .await;
    assert!(!sending.is_finished(), "still waiting for the server");
    let server = serve_on(TcpListener::bind(addr).await.unwrap()).await;
    sending.await.unwrap().unwrap();
    assert_eq!(server.recorder.count(), 1);

    // With a short timeout, true gives up when the timeout is reached.
    let sender = GrpcSender::new(
        "otlp/wfr".into(),
        &config(json!({
            "endpoint": format!("127.0.0.1:{}", free_port()),
            "wait_for_ready": true,
            "timeout": "1s",
        })),
    )
    .unwrap();
    let err = send_one(&sender).await.unwrap_err();
    assert!(
        err.message().contains("not ready within the timeout"),
        "{err}"
    );
}
