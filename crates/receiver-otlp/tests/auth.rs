//! Authentication (`protocols.*.auth.authenticator`) over gRPC and HTTP with a fake
//! authenticator extension, plus the other server keys: `response_headers`,
//! `compression_algorithms`, `keep_alives_enabled`, `read_buffer_size` and
//! `write_buffer_size`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

mod common;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use common::*;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use serde_json::{Value, json};
use stratus_core::auth::{AuthError, AuthInfo, ServerAuthenticator};
use stratus_core::factory::{
    Authenticators, BuildContext, FactoryInfo, ReceiverFactory, decode_config,
};
use stratus_core::pdata::ExportTraceServiceRequest;
use stratus_core::rpc::RpcStatus;
use stratus_core::telemetry::Registry;
use stratus_core::{Component, ComponentId, Host, Payload, Signal};
use stratus_receiver_otlp::{AUTH_FAILURES_METRIC, Config, OtlpReceiver, OtlpReceiverFactory};
use tonic::Code;

const PROTO: &str = "application/x-protobuf";
const JSON: &str = "application/json";
const GOOD: &str = "Bearer good-token";

/// Accepts `authorization: Bearer good-token`; says why anything else fails, in
/// words that never repeat the credential. Counts the requests it was asked about.
#[derive(Default)]
struct FakeAuth {
    calls: AtomicUsize,
}

#[async_trait]
impl ServerAuthenticator for FakeAuth {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<AuthInfo, AuthError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let Some(value) = headers.get("authorization") else {
            return Err(AuthError::missing("missing authorization header"));
        };
        let value = value.to_str().unwrap_or("");
        let Some(token) = value.strip_prefix("Bearer ") else {
            return Err(AuthError::malformed("authorization is not a bearer token"));
        };
        if token == "good-token" {
            Ok(AuthInfo {
                subject: Some("agent".into()),
                groups: Vec::new(),
            })
        } else {
            Err(AuthError::invalid("bearer token does not match"))
        }
    }
}

struct Authed {
    receiver: OtlpReceiver,
    registry: Registry,
    auth: Arc<FakeAuth>,
    rec: Arc<Recorder>,
}

impl Authed {
    fn grpc_url(&self) -> String {
        format!("http://{}", self.receiver.grpc_addr().unwrap())
    }

    fn http(&self) -> std::net::SocketAddr {
        self.receiver.http_addr().unwrap()
    }

    /// `stratus_receiver_auth_failures{transport, reason}` of receiver `otlp`.
    fn failures(&self, transport: &str, reason: &str) -> u64 {
        let needle = format!(
            "{AUTH_FAILURES_METRIC}{{receiver=\"otlp\",transport=\"{transport}\",reason=\"{reason}\"}} "
        );
        let text = self.registry.render();
        text.lines()
            .find_map(|l| l.strip_prefix(&needle).map(|v| v.trim().parse().unwrap()))
            .unwrap_or_else(|| panic!("no series {needle} in\n{text}"))
    }

    fn metric(&self, name: &str, transport: &str) -> u64 {
        let needle = format!("{name}{{receiver=\"otlp\",transport=\"{transport}\"}} ");
        self.registry
            .render()
            .lines()
            .find_map(|l| l.strip_prefix(&needle).map(|v| v.trim().parse().unwrap()))
            .unwrap_or(0)
    }
}

/// A build context offering the fake as extension `fakeauth/in`, and a client-side
/// only authenticator as `fakeclient`.
fn context(auth: &Arc<FakeAuth>, registry: &Registry) -> BuildContext {
    let server: Arc<dyn ServerAuthenticator> = auth.clone();
    BuildContext::new(
        ComponentId::new("otlp"),
        Signal::ALL.to_vec(),
        registry.clone(),
    )
    .with_authenticators(
        [
            (
                "fakeauth/in".parse().unwrap(),
                Authenticators {
                    server: Some(server),
                    client: None,
                },
            ),
            ("fakeclient".parse().unwrap(), Authenticators::default()),
        ]
        .into(),
    )
}

/// Both protocols on 127.0.0.1 with `auth: {authenticator: fakeauth/in}` and the
/// given extra keys.
fn authed_config(grpc: Value, http: Value) -> Value {
    let mut g = json!({"auth": {"authenticator": "fakeauth/in"}});
    let mut h = json!({"auth": {"authenticator": "fakeauth/in"}});
    for (into, from) in [(&mut g, grpc), (&mut h, http)] {
        if let Value::Object(from) = from {
            into.as_object_mut().unwrap().extend(from);
        }
    }
    local_config(g, h)
}

async fn start_authed(raw: Value) -> Authed {
    let auth = Arc::new(FakeAuth::default());
    let registry = Registry::new();
    let rec = Recorder::ok();
    let config: Config = decode_config(&raw).unwrap();
    let receiver = OtlpReceiver::try_new(&context(&auth, &registry), config, all(&rec)).unwrap();
    receiver.start(&Host::ready()).await.unwrap();
    Authed {
        receiver,
        registry,
        auth,
        rec,
    }
}

fn traces(n: usize) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: spans(n),
    }
}

fn with_auth<T>(message: T, value: Option<&str>) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    if let Some(v) = value {
        req.metadata_mut()
            .insert("authorization", v.parse().unwrap());
    }
    req
}

#[tokio::test]
async fn grpc_good_credentials_pass_and_others_are_unauthenticated() {
    let r = start_authed(authed_config(json!({}), json!({}))).await;
    let mut client = TraceServiceClient::connect(r.grpc_url()).await.unwrap();

    client
        .export(with_auth(traces(3), Some(GOOD)))
        .await
        .unwrap();
    assert_eq!(only_payload(&r.rec), Payload::Traces(spans(3)));

    for (value, reason, message) in [
        (None, "missing", "missing authorization header"),
        (
            Some("Bearer wrong-token"),
            "invalid",
            "bearer token does not match",
        ),
        (
            Some("Basic d3Jvbmc="),
            "malformed",
            "authorization is not a bearer token",
        ),
    ] {
        let status = client
            .export(with_auth(traces(2), value))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{value:?}");
        assert_eq!(status.message(), message);
        if let Some(v) = value {
            assert!(!status.message().contains(v), "credential echoed");
        }
        assert_eq!(r.failures("grpc", reason), 1, "{reason}");
    }
    // Nothing unauthenticated reached the pipeline or the item counters.
    assert_eq!(r.rec.count(), 0);
    assert_eq!(r.metric("otelcol_receiver_accepted_spans", "grpc"), 3);
    assert_eq!(r.metric("otelcol_receiver_refused_spans", "grpc"), 0);
    assert_eq!(r.failures("grpc", "expired"), 0);
    assert_eq!(r.failures("http", "missing"), 0);

    // Unknown methods are authenticated first too.
    let status = tonic_raw_call(&r, "/x.Unknown/Export", Some("Bearer nope"), false).await;
    assert_eq!(status, Some(Code::Unauthenticated as i32));
    let status = tonic_raw_call(&r, "/x.Unknown/Export", Some(GOOD), false).await;
    assert_eq!(status, Some(Code::Unimplemented as i32));
}

/// A raw HTTP/2 gRPC call to `path` whose body is garbage (`garbage`) or never
/// ends; returns its `grpc-status` (from the headers of a trailers-only answer, or
/// the trailers), waiting at most 10 s.
async fn tonic_raw_call(r: &Authed, path: &str, auth: Option<&str>, garbage: bool) -> Option<i32> {
    let stream = tokio::net::TcpStream::connect(r.receiver.grpc_addr().unwrap())
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut req = http::Request::post(format!("{}{path}", r.grpc_url()))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    type Chunks = futures::stream::BoxStream<'static, Result<Frame<Bytes>, Infallible>>;
    let chunks: Chunks = if garbage {
        // A frame header announcing 1000 bytes of "message", then junk.
        let mut frame = vec![0u8, 0, 0, 3, 232];
        frame.extend([0xffu8; 1000]);
        Box::pin(futures::stream::iter([Ok(Frame::data(Bytes::from(frame)))]))
    } else {
        Box::pin(futures::stream::pending())
    };
    let answer = async {
        let resp = sender
            .send_request(req.body(StreamBody::new(chunks)).unwrap())
            .await
            .unwrap();
        if let Some(s) = resp.headers().get("grpc-status") {
            return s.to_str().ok().and_then(|s| s.parse().ok());
        }
        let collected = resp.into_body().collect().await.unwrap();
        collected
            .trailers()
            .and_then(|t| t.get("grpc-status"))
            .and_then(|s| s.to_str().ok())
            .and_then(|s| s.parse().ok())
    };
    tokio::time::timeout(Duration::from_secs(10), answer)
        .await
        .expect("no answer within 10 s")
}

#[tokio::test]
async fn grpc_message_is_not_read_when_authentication_fails() {
    let r = start_authed(authed_config(json!({}), json!({}))).await;
    let path = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    // A message that never arrives: with bad credentials the answer comes anyway.
    let status = tonic_raw_call(&r, path, Some("Bearer nope"), false).await;
    assert_eq!(status, Some(Code::Unauthenticated as i32));
    // Garbage that would fail to decode: UNAUTHENTICATED, not INVALID_ARGUMENT.
    let status = tonic_raw_call(&r, path, None, true).await;
    assert_eq!(status, Some(Code::Unauthenticated as i32));
    // With good credentials the same garbage is read, and fails to decode.
    let status = tonic_raw_call(&r, path, Some(GOOD), true).await;
    assert_eq!(status, Some(Code::InvalidArgument as i32));
    assert_eq!(r.failures("grpc", "invalid"), 1);
    assert_eq!(r.failures("grpc", "missing"), 1);
    assert_eq!(r.rec.count(), 0);
}

#[tokio::test]
async fn http_good_credentials_pass_and_others_are_401() {
    let r = start_authed(authed_config(json!({}), json!({}))).await;
    let body = traces(2).encode_to_vec();
    let a = send(
        r.http(),
        Method::POST,
        "/v1/traces",
        &[("content-type", PROTO), ("authorization", GOOD)],
        body.clone(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(only_payload(&r.rec), Payload::Traces(spans(2)));

    // Protobuf request: the refusal is a protobuf google.rpc.Status.
    let a = send(
        r.http(),
        Method::POST,
        "/v1/traces",
        &[("content-type", PROTO)],
        body.clone(),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.header("content-type"), Some(PROTO));
    let status = RpcStatus::decode(a.body).unwrap();
    assert_eq!(status.code, Code::Unauthenticated as i32);
    assert_eq!(status.message, "missing authorization header");

    // JSON request: a JSON status; the credential is not in the answer.
    let json_body = serde_json::to_vec(&traces(1)).unwrap();
    let a = send(
        r.http(),
        Method::POST,
        "/v1/traces",
        &[
            ("content-type", JSON),
            ("authorization", "Bearer s3cr3t-guess"),
        ],
        json_body,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.header("content-type"), Some(JSON));
    let text = String::from_utf8(a.body.to_vec()).unwrap();
    assert!(!text.contains("s3cr3t"), "{text}");
    let status: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status["code"], 16);
    assert_eq!(status["message"], "bearer token does not match");

    // Any other content type still gets 401 (a JSON status).
    let a = send(
        r.http(),
        Method::POST,
        "/v1/traces",
        &[("content-type", "text/plain"), ("authorization", "Token x")],
        "hello",
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.header("content-type"), Some(JSON));

    // Unknown paths and other methods: 401 before routing, as upstream.
    for (method, path) in [(Method::POST, "/v1/nothing"), (Method::GET, "/v1/traces")] {
        let a = send(r.http(), method, path, &[], Bytes::new()).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let a = send(
        r.http(),
        Method::POST,
        "/v1/nothing",
        &[("authorization", GOOD)],
        Bytes::new(),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    assert_eq!(r.failures("http", "missing"), 3);
    assert_eq!(r.failures("http", "invalid"), 1);
    assert_eq!(r.failures("http", "malformed"), 1);
    assert_eq!(r.failures("grpc", "missing"), 0);
    assert_eq!(r.rec.count(), 0);
    assert_eq!(r.metric("otelcol_receiver_accepted_spans", "http"), 2);
    assert_eq!(r.metric("otelcol_receiver_refused_spans", "http"), 0);
}

#[tokio::test]
async fn http_body_is_not_read_when_authentication_fails() {
    let r = start_authed(authed_config(json!({}), json!({}))).await;
    // Garbage that would be a 400 with good credentials...
    let garbage = vec![0xffu8; 64];
    let a = post(r.http(), "/v1/traces", PROTO, None, garbage.clone()).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = send(
        r.http(),
        Method::POST,
        "/v1/traces",
        &[
            ("content-type", PROTO),
            ("content-encoding", "gzip"),
            ("authorization", GOOD),
        ],
        garbage,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    // ...and a body that never arrives: the 401 comes without it.
    let stream = tokio::net::TcpStream::connect(r.http()).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let never = StreamBody::new(futures::stream::pending::<Result<Frame<Bytes>, Infallible>>());
    let req = http::Request::post("/v1/traces")
        .header("host", r.http().to_string())
        .header("content-type", PROTO)
        .header("content-length", "100000")
        .header("authorization", "Bearer nope")
        .body(never)
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(10), sender.send_request(req))
        .await
        .expect("no answer within 10 s")
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.rec.count(), 0);
    assert_eq!(r.failures("http", "missing"), 1);
    assert_eq!(r.failures("http", "invalid"), 1);
}

#[tokio::test]
async fn http_request_params_reach_the_authenticator() {
    let r = start_authed(authed_config(
        json!({}),
        json!({"auth": {"authenticator": "fakeauth/in", "request_params": ["Authorization"]}}),
    ))
    .await;
    let body = traces(1).encode_to_vec();
    let a = post(
        r.http(),
        "/v1/traces?authorization=Bearer+good-token",
        PROTO,
        None,
        body.clone(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(r.rec.count(), 1);
    let a = post(
        r.http(),
        "/v1/traces?authorization=Bearer%20bad",
        PROTO,
        None,
        body,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.failures("http", "invalid"), 1);
}

#[tokio::test]
async fn cors_preflight_needs_no_credentials_and_401s_carry_cors_headers() {
    let r = start_authed(authed_config(
        json!({}),
        json!({"cors": {"allowed_origins": ["https://app.example.com"],
                        "allowed_headers": ["Authorization"],
                        "exposed_headers": ["X-Trace-Ack"]}}),
    ))
    .await;
    let a = send(
        r.http(),
        Method::OPTIONS,
        "/v1/traces",
        &[
            ("origin", "https://app.example.com"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization, content-type",
            ),
        ],
        Bytes::new(),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        a.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(r.auth.calls.load(Ordering::SeqCst), 0);

    let a = send(
        r.http(),
        Method::POST,
        "/v1/traces",
        &[
            ("origin", "https://app.example.com"),
            ("content-type", JSON),
        ],
        "{}",
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        a.header("access-control-expose-headers"),
        Some("X-Trace-Ack")
    );
    // An OPTIONS that is not a preflight is an ordinary request: authenticated.
    let a = send(r.http(), Method::OPTIONS, "/v1/traces", &[], Bytes::new()).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn response_headers_are_on_every_answer() {
    let r = start_authed(authed_config(
        json!({}),
        json!({
            "response_headers": [
                {"name": "X-Served-By", "value": "stratus-gw-1"},
                {"name": "Strict-Transport-Security", "value": "max-age=63072000"},
                {"name": "Content-Type", "value": "text/html"},
            ],
            "cors": {"allowed_origins": ["*"]},
        }),
    ))
    .await;
    let body = traces(1).encode_to_vec();
    let ok = send(
        r.http(),
        Method::POST,
        "/v1/traces",
        &[("content-type", PROTO), ("authorization", GOOD)],
        body,
    )
    .await;
    let bad = send(
        r.http(),
        Method::POST,
        "/v1/traces",
        &[("content-type", PROTO), ("authorization", GOOD)],
        vec![0xffu8; 8],
    )
    .await;
    let unauthenticated = post(r.http(), "/v1/traces", PROTO, None, "x").await;
    let not_found = send(
        r.http(),
        Method::GET,
        "/nothing",
        &[("authorization", GOOD)],
        Bytes::new(),
    )
    .await;
    let preflight = send(
        r.http(),
        Method::OPTIONS,
        "/v1/traces",
        &[
            ("origin", "https://a.test"),
            ("access-control-request-method", "POST"),
        ],
        Bytes::new(),
    )
    .await;
    for (what, a, status) in [
        ("success", &ok, StatusCode::OK),
        ("bad body", &bad, StatusCode::BAD_REQUEST),
        ("401", &unauthenticated, StatusCode::UNAUTHORIZED),
        ("404", &not_found, StatusCode::NOT_FOUND),
        ("preflight", &preflight, StatusCode::NO_CONTENT),
    ] {
        assert_eq!(a.status, status, "{what}");
        assert_eq!(a.header("x-served-by"), Some("stratus-gw-1"), "{what}");
        assert_eq!(
            a.header("strict-transport-security"),
            Some("max-age=63072000"),
            "{what}"
        );
    }
    // The receiver's own Content-Type wins over the configured one.
    assert_eq!(ok.header("content-type"), Some(PROTO));
    assert_eq!(preflight.header("content-type"), Some("text/html"));
}

#[tokio::test]
async fn build_fails_when_the_authenticator_is_not_enabled() {
    let auth = Arc::new(FakeAuth::default());
    let registry = Registry::new();
    let rec = Recorder::ok();
    let ctx = context(&auth, &registry);
    for (raw, key, id) in [
        (
            local_config(
                json!({"auth": {"authenticator": "bearertokenauth/gone"}}),
                json!({}),
            ),
            "protocols::grpc::auth::authenticator",
            "bearertokenauth/gone",
        ),
        (
            local_config(json!({}), json!({"auth": {"authenticator": "basicauth"}})),
            "protocols::http::auth::authenticator",
            "basicauth",
        ),
    ] {
        let err = OtlpReceiverFactory
            .build(ctx.clone(), &raw, all(&rec))
            .await
            .err()
            .expect("build must fail");
        let text = err.to_string();
        assert!(text.contains(key), "{text}");
        assert!(text.contains(&format!("`{id}`")), "{text}");
        assert!(text.contains("service::extensions"), "{text}");

        // Built without checking, it refuses to start rather than serve unchecked.
        let receiver = OtlpReceiver::new(&ctx, decode_config(&raw).unwrap(), all(&rec));
        let err = receiver.start(&Host::ready()).await.unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
        assert!(receiver.grpc_addr().is_none() && receiver.http_addr().is_none());
    }
    // A client-side-only authenticator cannot check clients.
    let raw = local_config(json!({"auth": {"authenticator": "fakeclient"}}), json!({}));
    let err = OtlpReceiverFactory
        .build(ctx.clone(), &raw, all(&rec))
        .await
        .err()
        .expect("build must fail");
    assert!(
        err.to_string()
            .contains("cannot authenticate incoming requests"),
        "{err}"
    );
    // The enabled one builds.
    let raw = authed_config(json!({}), json!({}));
    assert!(
        OtlpReceiverFactory
            .build(ctx, &raw, all(&rec))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn validate_sees_both_authenticator_references() {
    let raw = json!({"protocols": {
        "grpc": {"auth": {"authenticator": "oidc/a"}},
        "http": {"auth": {"authenticator": "basicauth/b"}},
    }});
    assert_eq!(
        FactoryInfo::extension_references(&OtlpReceiverFactory, &raw),
        [
            (
                "protocols::grpc::auth::authenticator".to_string(),
                "oidc/a".to_string()
            ),
            (
                "protocols::http::auth::authenticator".to_string(),
                "basicauth/b".to_string()
            ),
        ]
    );
    let raw = json!({"protocols": {"grpc": null, "http": null}});
    assert!(FactoryInfo::extension_references(&OtlpReceiverFactory, &raw).is_empty());
}

#[tokio::test]
async fn compression_algorithms_limit_the_accepted_encodings() {
    let rec = Recorder::ok();
    let r = start(
        local_config(json!({}), json!({"compression_algorithms": ["", "gzip"]})),
        all(&rec),
    )
    .await;
    let body = traces(1).encode_to_vec();
    let a = post(r.http(), "/v1/traces", PROTO, None, body.clone()).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = post(r.http(), "/v1/traces", PROTO, Some("gzip"), gzip(&body)).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = post(r.http(), "/v1/traces", PROTO, Some("zstd"), zstd(&body)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let status = RpcStatus::decode(a.body).unwrap();
    assert!(
        status.message.contains("`zstd`") && status.message.contains("compression_algorithms"),
        "{}",
        status.message
    );
    assert_eq!(rec.count(), 2);

    // Only compressed bodies: a plain one is refused.
    let r = start(
        local_config(json!({}), json!({"compression_algorithms": ["zstd"]})),
        all(&rec),
    )
    .await;
    let a = post(r.http(), "/v1/traces", PROTO, None, body.clone()).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = post(r.http(), "/v1/traces", PROTO, Some("zstd"), zstd(&body)).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn keep_alives_can_be_disabled() {
    let rec = Recorder::ok();
    let body = traces(1).encode_to_vec();
    for (enabled, expected) in [(true, None), (false, Some("close"))] {
        let r = start(
            local_config(json!({}), json!({"keep_alives_enabled": enabled})),
            all(&rec),
        )
        .await;
        let a = post(r.http(), "/v1/traces", PROTO, None, body.clone()).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(
            a.header("connection"),
            expected,
            "keep_alives_enabled {enabled}"
        );
    }
}

/// The HTTP/2 SETTINGS the gRPC server sends first, as (id, value) pairs.
async fn server_settings(addr: std::net::SocketAddr) -> Vec<(u16, u32)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    // An empty SETTINGS frame.
    s.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap();
    let read = async {
        loop {
            let mut head = [0u8; 9];
            s.read_exact(&mut head).await.unwrap();
            let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
            let mut payload = vec![0u8; len];
            s.read_exact(&mut payload).await.unwrap();
            // SETTINGS, not an ACK.
            if head[3] == 4 && head[4] & 1 == 0 {
                return payload
                    .chunks_exact(6)
                    .map(|c| {
                        (
                            u16::from_be_bytes([c[0], c[1]]),
                            u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
                        )
                    })
                    .collect();
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("no SETTINGS within 10 s")
}

const SETTINGS_MAX_FRAME_SIZE: u16 = 5;

#[tokio::test]
async fn read_buffer_size_sets_the_http2_frame_size() {
    let rec = Recorder::ok();
    for (grpc, expected) in [
        (json!({}), Some(524_288)),
        (json!({"read_buffer_size": 1_048_576}), Some(1_048_576)),
        (json!({"read_buffer_size": 1024}), None), // clamped to 16384, the default
        (json!({"read_buffer_size": 0}), None),
        (json!({"read_buffer_size": 1u64 << 40}), Some(16_777_215)),
    ] {
        let r = start(local_config(grpc.clone(), json!({})), all(&rec)).await;
        let settings = server_settings(r.grpc()).await;
        let frame = settings
            .iter()
            .find(|(id, _)| *id == SETTINGS_MAX_FRAME_SIZE)
            .map(|(_, v)| *v);
        assert_eq!(
            frame.filter(|v| *v != 16_384),
            expected,
            "{grpc} -> {settings:?}"
        );
    }
}

#[tokio::test]
async fn large_messages_flow_with_big_frames_and_a_small_write_buffer() {
    let rec = Recorder::ok();
    let r = start(
        local_config(
            json!({"read_buffer_size": 4_194_304, "write_buffer_size": 16}),
            json!({}),
        ),
        all(&rec),
    )
    .await;
    let mut client = TraceServiceClient::connect(r.grpc_url()).await.unwrap();
    // About 2 MiB, more than one frame of any size.
    let mut big = traces(200);
    for span in &mut big.resource_spans[0].scope_spans[0].spans {
        span.name = "x".repeat(10_000);
    }
    assert!(big.encoded_len() > 2_000_000, "{}", big.encoded_len());
    client.export(big.clone()).await.unwrap();
    assert_eq!(only_payload(&rec), Payload::Traces(big.resource_spans));
}
