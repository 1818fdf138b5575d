//! Factory, start/shutdown, bind failures and TLS.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use common::*;
use http::StatusCode;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use serde_json::json;
use stratus_core::factory::{
    BuildContext, FactoryInfo, ReceiverFactory, SignalConsumers, Stability,
};
use stratus_core::pdata::ExportTraceServiceRequest;
use stratus_core::telemetry::Registry;
use stratus_core::{
    BoxConsumer, Component, ComponentId, ConsumeError, Consumer, Host, Signal, Telemetry,
};
use stratus_receiver_otlp::{OtlpReceiver, OtlpReceiverFactory};
use tokio::sync::{Notify, Semaphore};

const PROTO: &str = "application/x-protobuf";

fn ctx() -> BuildContext {
    BuildContext::new(
        ComponentId::with_name("otlp", "edge"),
        Signal::ALL.to_vec(),
        Registry::new(),
    )
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn trace_body() -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: spans(1),
    }
    .encode_to_vec()
}

#[test]
fn factory_describes_itself_and_checks_configs() {
    let f = OtlpReceiverFactory;
    assert_eq!(f.type_name(), "otlp");
    assert_eq!(
        f.signals(),
        &[
            (Signal::Traces, Stability::Stable),
            (Signal::Metrics, Stability::Stable),
            (Signal::Logs, Stability::Stable),
        ]
    );
    f.check_config(&json!({"protocols": {"grpc": null}}))
        .unwrap();
    let err = f.check_config(&serde_json::Value::Null).unwrap_err();
    assert!(err[0].message.contains("at least one protocol"));
    let err = f.check_config(&json!({"protocols": {"http": {"endpoint": "x:1", "cros": {}}}}));
    assert_eq!(err.unwrap_err()[0].path, "protocols::http::cros");
}

#[tokio::test]
async fn conformance() {
    use stratus_testkit::net::free_endpoint;
    stratus_testkit::conformance::receiver(&OtlpReceiverFactory)
        .config(json!({"protocols": {
            "grpc": {"endpoint": free_endpoint()},
            "http": {"endpoint": free_endpoint()},
        }}))
        .default_config_rejected(&["protocols"])
        .await;
}

#[tokio::test]
async fn factory_build_rejects_bad_config() {
    let err = OtlpReceiverFactory
        .build(ctx(), &json!({"protocols": {}}), SignalConsumers::default())
        .await
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("invalid config") && msg.contains("at least one protocol"),
        "{msg}"
    );
}

#[tokio::test]
async fn built_receiver_serves_then_shuts_down_and_refuses_connections() {
    let rec = Recorder::ok();
    let (gport, hport) = (free_port(), free_port());
    let raw = json!({"protocols": {
        "grpc": {"endpoint": format!("127.0.0.1:{gport}")},
        "http": {"endpoint": format!("127.0.0.1:{hport}")},
    }});
    let receiver = OtlpReceiverFactory
        .build(ctx(), &raw, all(&rec))
        .await
        .unwrap();
    receiver.start(&Host::ready()).await.unwrap();
    let haddr = format!("127.0.0.1:{hport}").parse().unwrap();
    let a = post(haddr, "/v1/traces", PROTO, None, trace_body()).await;
    assert_eq!(a.status, StatusCode::OK);
    let mut client = TraceServiceClient::connect(format!("http://127.0.0.1:{gport}"))
        .await
        .unwrap();
    client
        .export(ExportTraceServiceRequest {
            resource_spans: spans(1),
        })
        .await
        .unwrap();
    assert_eq!(rec.count(), 2);

    receiver.shutdown().await.unwrap();
    for port in [gport, hport] {
        let err = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::ConnectionRefused,
            "port {port}"
        );
    }
    // The established gRPC channel cannot reach the receiver any more either.
    assert!(
        client
            .export(ExportTraceServiceRequest {
                resource_spans: spans(1)
            })
            .await
            .is_err()
    );
    receiver.shutdown().await.unwrap();
    assert_eq!(rec.count(), 2);
}

#[tokio::test]
async fn shutdown_without_start_and_twice_is_fine() {
    let receiver = OtlpReceiverFactory
        .build(
            ctx(),
            &json!({"protocols": {"grpc": null, "http": null}}),
            SignalConsumers::default(),
        )
        .await
        .unwrap();
    receiver.shutdown().await.unwrap();
    receiver.shutdown().await.unwrap();
}

#[tokio::test]
async fn start_twice_is_an_error() {
    let rec = Recorder::ok();
    let r = start(local_config(json!({}), json!({})), all(&rec)).await;
    assert!(r.receiver.start(&Host::ready()).await.is_err());
    r.receiver.shutdown().await.unwrap();
}

#[tokio::test]
async fn bind_failure_is_a_start_error_naming_the_endpoint() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = taken.local_addr().unwrap().to_string();
    let free = format!("127.0.0.1:{}", free_port());
    for raw in [
        json!({"protocols": {"grpc": {"endpoint": endpoint}}}),
        json!({"protocols": {"grpc": {"endpoint": free}, "http": {"endpoint": endpoint}}}),
    ] {
        let receiver = OtlpReceiverFactory
            .build(ctx(), &raw, SignalConsumers::default())
            .await
            .unwrap();
        let msg = receiver
            .start(&Host::ready())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(&endpoint) && msg.contains("otlp/edge"),
            "{msg}"
        );
        receiver.shutdown().await.unwrap();
    }
    // The gRPC listener bound before the HTTP one failed was released.
    tokio::net::TcpListener::bind(&free).await.unwrap();
}

/// A consumer that holds each batch until released.
struct Gate {
    entered: Notify,
    release: Semaphore,
}

#[async_trait]
impl Consumer for Gate {
    async fn consume(&self, _data: Telemetry) -> Result<(), ConsumeError> {
        self.entered.notify_one();
        let permit = self
            .release
            .acquire()
            .await
            .map_err(|_| ConsumeError::retryable("closed"))?;
        permit.forget();
        Ok(())
    }
}

fn gated() -> (Arc<Gate>, SignalConsumers) {
    let gate = Arc::new(Gate {
        entered: Notify::new(),
        release: Semaphore::new(0),
    });
    let c: BoxConsumer = gate.clone();
    let next = SignalConsumers {
        traces: Some(c),
        ..Default::default()
    };
    (gate, next)
}

fn receiver_with(next: SignalConsumers, drain: Duration) -> OtlpReceiver {
    let config = stratus_core::factory::decode_config(&local_config(json!({}), json!({}))).unwrap();
    OtlpReceiver::new(&ctx(), config, next).with_drain_timeout(drain)
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let (gate, next) = gated();
    let receiver = Arc::new(receiver_with(next, Duration::from_secs(30)));
    receiver.start(&Host::ready()).await.unwrap();
    let (gaddr, haddr) = (receiver.grpc_addr().unwrap(), receiver.http_addr().unwrap());

    let http_req = tokio::spawn(post(haddr, "/v1/traces", PROTO, None, trace_body()));
    gate.entered.notified().await;
    let mut client = TraceServiceClient::connect(format!("http://{gaddr}"))
        .await
        .unwrap();
    let grpc_req = tokio::spawn(async move {
        client
            .export(ExportTraceServiceRequest {
                resource_spans: spans(1),
            })
            .await
    });
    gate.entered.notified().await;

    let stopping = tokio::spawn({
        let receiver = receiver.clone();
        async move { receiver.shutdown().await }
    });
    // New connections are refused while the two requests are still in flight.
    let refused = |addr| async move {
        matches!(
            tokio::net::TcpStream::connect(addr).await,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
        )
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(refused(haddr).await && refused(gaddr).await) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "listeners still open"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(!stopping.is_finished());

    gate.release.add_permits(2);
    assert_eq!(http_req.await.unwrap().status, StatusCode::OK);
    grpc_req.await.unwrap().unwrap();
    stopping.await.unwrap().unwrap();
}

#[tokio::test]
async fn shutdown_is_bounded_when_a_request_never_finishes() {
    let (gate, next) = gated();
    let receiver = receiver_with(next, Duration::from_millis(100));
    receiver.start(&Host::ready()).await.unwrap();
    let haddr = receiver.http_addr().unwrap();
    let stuck = tokio::spawn(async move {
        let stream = tokio::net::TcpStream::connect(haddr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = http::Request::post("/v1/traces")
            .header("host", "x")
            .header("content-type", PROTO)
            .body(http_body_util::Full::new(Bytes::from(trace_body())))
            .unwrap();
        sender.send_request(req).await
    });
    gate.entered.notified().await;
    tokio::time::timeout(Duration::from_secs(30), receiver.shutdown())
        .await
        .expect("shutdown returned")
        .unwrap();
    // The stuck request's connection was closed rather than answered.
    assert!(stuck.await.unwrap().is_err());
}

fn tls_file(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn tls_client(with_cert: bool) -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(tls_file("ca.pem")).unwrap();
    for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&ca) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = if with_cert {
        use rustls_pki_types::pem::PemObject;
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(tls_file("client.pem"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls_pki_types::PrivateKeyDer::from_pem_file(tls_file("client.key")).unwrap();
        builder.with_client_auth_cert(certs, key).unwrap()
    } else {
        builder.with_no_client_auth()
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// POSTs a trace over TLS; `None` when the TLS session or request fails.
async fn tls_post(addr: std::net::SocketAddr, with_cert: bool) -> Option<StatusCode> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tls_client(with_cert).connect(name, tcp).await.ok()?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .ok()?;
    tokio::spawn(conn);
    let req = http::Request::post("/v1/traces")
        .header("host", "localhost")
        .header("content-type", PROTO)
        .body(http_body_util::Full::new(Bytes::from(trace_body())))
        .unwrap();
    Some(sender.send_request(req).await.ok()?.status())
}

#[tokio::test]
async fn tls_for_http_and_grpc() {
    let rec = Recorder::ok();
    let tls = json!({"cert_file": tls_file("server.pem"), "key_file": tls_file("server.key")});
    let r = start(
        local_config(json!({"tls": tls}), json!({"tls": tls})),
        all(&rec),
    )
    .await;

    assert_eq!(tls_post(r.http(), false).await, Some(StatusCode::OK));
    // Plaintext HTTP is not answered on a TLS port.
    {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut tcp = tokio::net::TcpStream::connect(r.http()).await.unwrap();
        tcp.write_all(b"POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer))
            .await
            .expect("connection closed")
            .ok();
        assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");
    }
    assert_eq!(rec.count(), 1);

    let ca = std::fs::read(tls_file("ca.pem")).unwrap();
    let channel =
        tonic::transport::Channel::from_shared(format!("https://localhost:{}", r.grpc().port()))
            .unwrap()
            .tls_config(
                tonic::transport::ClientTlsConfig::new()
                    .ca_certificate(tonic::transport::Certificate::from_pem(ca))
                    .domain_name("localhost"),
            )
            .unwrap()
            .connect()
            .await
            .unwrap();
    TraceServiceClient::new(channel)
        .export(ExportTraceServiceRequest {
            resource_spans: spans(1),
        })
        .await
        .unwrap();
    assert_eq!(rec.count(), 2);
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate() {
    let rec = Recorder::ok();
    let tls = json!({"cert_file": tls_file("server.pem"), "key_file": tls_file("server.key"),
                     "client_ca_file": tls_file("ca.pem")});
    let r = start(local_config(json!({}), json!({"tls": tls})), all(&rec)).await;
    assert_eq!(tls_post(r.http(), false).await, None);
    assert_eq!(tls_post(r.http(), true).await, Some(StatusCode::OK));
    assert_eq!(rec.count(), 1);
}

#[tokio::test]
async fn tls_from_inline_pem_with_upstream_keys() {
    let rec = Recorder::ok();
    let read = |name: &str| std::fs::read_to_string(tls_file(name)).unwrap();
    let tls = json!({"cert_pem": read("server.pem"), "key_pem": read("server.key"),
                     "ca_pem": read("ca.pem"), "min_version": "1.3", "reload_interval": "1h"});
    let r = start(local_config(json!({}), json!({"tls": tls})), all(&rec)).await;
    // `ca_pem` on a server is a client CA, as `client_ca_file` is.
    assert_eq!(tls_post(r.http(), false).await, None);
    assert_eq!(tls_post(r.http(), true).await, Some(StatusCode::OK));
    assert_eq!(rec.count(), 1);
}

#[tokio::test]
async fn unreadable_tls_files_fail_start() {
    let tls = json!({"cert_file": tls_file("missing.pem"), "key_file": tls_file("server.key")});
    let config = stratus_core::factory::decode_config(
        &json!({"protocols": {"http": {"endpoint": "127.0.0.1:0", "tls": tls}}}),
    )
    .unwrap();
    let receiver = OtlpReceiver::new(&ctx(), config, SignalConsumers::default());
    let msg = receiver
        .start(&Host::ready())
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("missing.pem"), "{msg}");
    assert!(msg.contains("protocols::http::tls::cert_file"), "{msg}");
}
