//! The `otlp_http` exporter's compatibility keys against real servers on 127.0.0.1:
//! `proxy_url` (through a CONNECT / forwarding proxy written here), the connection
//! pool keys, `disable_keep_alives`, `auth`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

mod common;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use common::*;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use stratus_core::auth::{AuthError, ClientAuthenticator};
use stratus_core::factory::{Authenticators, Exporter, ExporterFactory, FactoryInfo};
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, Host, Payload, Telemetry};
use stratus_exporter_otlp::OtlpHttpExporterFactory;
use tokio::net::TcpListener;
use tokio::sync::Barrier;

/// What the OTLP/HTTP server saw.
#[derive(Default)]
struct Seen {
    /// Connections accepted, and still open.
    accepted: AtomicUsize,
    open: AtomicUsize,
    /// Per request: path, `authorization`, body length.
    requests: Mutex<Vec<(String, Option<String>, usize)>>,
    /// Per request: the HTTP version.
    versions: Mutex<Vec<http::Version>>,
}

impl Seen {
    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    fn requests(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

/// An OTLP/HTTP server answering 200, counting connections. With `gate`, each request
/// waits until that many are in flight.
async fn serve(
    tls: Option<Arc<rustls::ServerConfig>>,
    gate: Option<Arc<Barrier>>,
) -> (std::net::SocketAddr, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let state = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            state.accepted.fetch_add(1, Ordering::SeqCst);
            state.open.fetch_add(1, Ordering::SeqCst);
            let state = state.clone();
            let tls = tls.clone();
            let gate = gate.clone();
            tokio::spawn(async move {
                let record = state.clone();
                let service = service_fn(move |req: Request<Incoming>| {
                    let record = record.clone();
                    let gate = gate.clone();
                    async move {
                        record.versions.lock().unwrap().push(req.version());
                        let path = req.uri().path().to_string();
                        let auth = req
                            .headers()
                            .get("authorization")
                            .map(|v| v.to_str().unwrap().to_string());
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        record
                            .requests
                            .lock()
                            .unwrap()
                            .push((path, auth, body.len()));
                        if let Some(gate) = gate {
                            gate.wait().await;
                        }
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
                    }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                match tls {
                    Some(config) => {
                        if let Ok(tls) = tokio_rustls::TlsAcceptor::from(config).accept(tcp).await {
                            let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                        }
                    }
                    None => {
                        let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                    }
                }
                state.open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (addr, seen)
}

/// What the proxy saw: CONNECT tunnels (with their target and `Proxy-Authorization`)
/// and forwarded requests (with their absolute URI).
#[derive(Default)]
struct ProxySeen {
    tunnels: Mutex<Vec<(String, Option<String>)>>,
    forwarded: Mutex<Vec<(String, Option<String>)>>,
}

/// A tiny HTTP proxy: `CONNECT host:port` opens a tunnel; an absolute-form request is
/// forwarded.
async fn proxy() -> (std::net::SocketAddr, Arc<ProxySeen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(ProxySeen::default());
    let state = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let state = state.clone();
                    async move {
                        let auth = req
                            .headers()
                            .get("proxy-authorization")
                            .map(|v| v.to_str().unwrap().to_string());
                        if req.method() == http::Method::CONNECT {
                            let target = req.uri().authority().unwrap().to_string();
                            state.tunnels.lock().unwrap().push((target.clone(), auth));
                            tokio::spawn(async move {
                                let upgraded = hyper::upgrade::on(req).await.unwrap();
                                let mut server =
                                    tokio::net::TcpStream::connect(target).await.unwrap();
                                let _ = tokio::io::copy_bidirectional(
                                    &mut TokioIo::new(upgraded),
                                    &mut server,
                                )
                                .await;
                            });
                            return Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())));
                        }
                        state
                            .forwarded
                            .lock()
                            .unwrap()
                            .push((req.uri().to_string(), auth));
                        let client =
                            hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                                .build_http::<Full<Bytes>>();
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        let answer = client
                            .request(Request::from_parts(parts, Full::new(body)))
                            .await
                            .unwrap();
                        let (parts, body) = answer.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        Ok(Response::from_parts(parts, Full::new(body)))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    (addr, seen)
}

async fn exporter(registry: &Registry, config: serde_json::Value) -> Arc<dyn Exporter> {
    exporter_in(ctx("otlphttp", registry), config).await
}

async fn exporter_in(
    ctx: stratus_core::factory::BuildContext,
    config: serde_json::Value,
) -> Arc<dyn Exporter> {
    let exporter = OtlpHttpExporterFactory.build(ctx, &config).await.unwrap();
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

fn server_tls(pki: &Pki) -> Arc<rustls::ServerConfig> {
    let certs = vec![CertificateDer::from_pem_slice(pki.server_cert_pem.as_bytes()).unwrap()];
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
    Arc::new(config)
}

#[tokio::test]
async fn proxy_url_tunnels_https_and_forwards_http() {
    let (proxy_addr, proxy_seen) = proxy().await;
    // https:// through a CONNECT tunnel, with the proxy's credentials.
    let pki = Pki::new(&["127.0.0.1"]);
    let (tls_addr, tls_seen) = serve(Some(server_tls(&pki)), None).await;
    let exp = exporter(
        &Registry::new(),
        direct(
            format!("https://127.0.0.1:{}", tls_addr.port()),
            json!({
                "proxy_url": format!("http://otel:p%40ss@{proxy_addr}"),
                "tls": {"ca_file": pki.path("ca.pem")},
            }),
        ),
    )
    .await;
    exp.consume(Telemetry::new(spans(3))).await.unwrap();
    exp.consume(Telemetry::new(logs())).await.unwrap();
    let basic = format!("Basic {}", base64_of("otel:p@ss"));
    assert_eq!(
        *proxy_seen.tunnels.lock().unwrap(),
        [(
            format!("127.0.0.1:{}", tls_addr.port()),
            Some(basic.clone())
        )],
        "one tunnel, reused by the pooled connection"
    );
    assert_eq!(tls_seen.requests(), 2);

    // http:// is forwarded: the proxy gets the absolute URL.
    let (addr, seen) = serve(None, None).await;
    let exp = exporter(
        &Registry::new(),
        direct(
            format!("http://127.0.0.1:{}", addr.port()),
            json!({"proxy_url": format!("http://otel:p%40ss@{proxy_addr}")}),
        ),
    )
    .await;
    exp.consume(Telemetry::new(metrics())).await.unwrap();
    assert_eq!(
        *proxy_seen.forwarded.lock().unwrap(),
        [(
            format!("http://127.0.0.1:{}/v1/metrics", addr.port()),
            Some(basic)
        )]
    );
    assert_eq!(seen.requests(), 1);
    assert_eq!(proxy_seen.tunnels.lock().unwrap().len(), 1);

    // A proxy that is down is a retryable failure; a bad proxy URL is a config problem
    // that does not repeat the URL (it may hold a password).
    let exp = exporter(
        &Registry::new(),
        direct(
            format!("http://127.0.0.1:{}", addr.port()),
            json!({"proxy_url": format!("http://127.0.0.1:{}", free_port())}),
        ),
    )
    .await;
    let err = exp.consume(Telemetry::new(spans(1))).await.unwrap_err();
    assert!(!err.is_permanent(), "{err}");
    let problems = OtlpHttpExporterFactory
        .check_config(
            &json!({"endpoint": "http://c:4318", "proxy_url": "socks5://u:hunter2@p:1080"}),
        )
        .unwrap_err();
    assert_eq!(problems[0].path, "proxy_url");
    assert!(problems[0].message.contains("not supported"));
    assert!(!problems[0].message.contains("hunter2"));
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn connections_are_reused_closed_when_idle_or_not_kept() {
    // Default: one connection serves every request.
    let (addr, seen) = serve(None, None).await;
    let url = format!("http://127.0.0.1:{}", addr.port());
    let exp = exporter(&Registry::new(), direct(url.clone(), json!({}))).await;
    for _ in 0..3 {
        exp.consume(Telemetry::new(spans(1))).await.unwrap();
    }
    assert_eq!((seen.requests(), seen.accepted()), (3, 1));

    // idle_conn_timeout: the idle pooled connection is closed.
    let (addr, seen) = serve(None, None).await;
    let exp = exporter(
        &Registry::new(),
        direct(
            format!("http://127.0.0.1:{}", addr.port()),
            json!({"idle_conn_timeout": "200ms"}),
        ),
    )
    .await;
    exp.consume(Telemetry::new(spans(1))).await.unwrap();
    assert_eq!(seen.accepted(), 1);
    wait_for("the idle connection to be closed", || {
        let open = seen.open();
        async move { open == 0 }
    })
    .await;

    // disable_keep_alives: a connection per request, each closed after it.
    let (addr, seen) = serve(None, None).await;
    let exp = exporter(
        &Registry::new(),
        direct(
            format!("http://127.0.0.1:{}", addr.port()),
            json!({"disable_keep_alives": true, "read_buffer_size": 1, "write_buffer_size": 7}),
        ),
    )
    .await;
    for _ in 0..3 {
        exp.consume(Telemetry::new(spans(50))).await.unwrap();
    }
    assert_eq!((seen.requests(), seen.accepted()), (3, 3));
    wait_for("every connection to be closed", || {
        let open = seen.open();
        async move { open == 0 }
    })
    .await;
}

#[tokio::test]
async fn idle_connections_are_capped_per_host_and_in_all() {
    for (extra, kept) in [
        (json!({}), 2),                             // Go's default per host
        (json!({"max_idle_conns_per_host": 3}), 3), // per host
        (
            json!({"max_idle_conns_per_host": 3, "max_idle_conns": 1}),
            1,
        ), // in all
    ] {
        let gate = Arc::new(Barrier::new(4));
        let (addr, seen) = serve(None, Some(gate)).await;
        let exp = exporter(
            &Registry::new(),
            json!({
                "endpoint": format!("http://127.0.0.1:{}", addr.port()),
                "retry_on_failure": {"enabled": false},
                "sending_queue": {"enabled": false},
            })
            .as_object()
            .unwrap()
            .clone()
            .into_iter()
            .chain(extra.as_object().unwrap().clone())
            .collect::<serde_json::Map<_, _>>()
            .into(),
        )
        .await;
        // Four requests in flight at once need four connections.
        let sends: Vec<_> = (0..4)
            .map(|_| {
                let exp = exp.clone();
                tokio::spawn(async move { exp.consume(Telemetry::new(spans(1))).await })
            })
            .collect();
        for send in sends {
            send.await.unwrap().unwrap();
        }
        assert_eq!(seen.accepted(), 4);
        wait_for("the extra idle connections to be closed", || {
            let open = seen.open();
            async move { open == kept }
        })
        .await;
    }
}

/// A client authenticator adding `Bearer tok-<n>`, failing its first `fail` calls.
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

#[tokio::test]
async fn auth_signs_every_request_and_a_failure_is_retried() {
    let (addr, seen) = serve(None, None).await;
    let auth = Arc::new(FakeAuth {
        fail: AtomicUsize::new(1),
        ..FakeAuth::default()
    });
    let mut authenticators = BTreeMap::new();
    authenticators.insert(
        ComponentId::with_name("oauth2client", "out"),
        Authenticators {
            server: None,
            client: Some(auth.clone()),
        },
    );
    let registry = Registry::new();
    let raw = json!({
        "endpoint": format!("http://127.0.0.1:{}", addr.port()),
        "headers": {"authorization": "Bearer static"},
        "auth": {"authenticator": "oauth2client/out"},
        "sending_queue": {"enabled": false},
        "retry_on_failure": fast_retry(),
    });
    assert_eq!(
        FactoryInfo::extension_references(&OtlpHttpExporterFactory, &raw),
        [(
            "auth::authenticator".to_string(),
            "oauth2client/out".to_string()
        )]
    );
    let exp = exporter_in(
        ctx("otlphttp", &registry).with_authenticators(authenticators),
        raw.clone(),
    )
    .await;
    exp.consume(Telemetry::new(spans(1))).await.unwrap();
    exp.consume(Telemetry::new(logs())).await.unwrap();
    let auths: Vec<_> = seen
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.1.clone())
        .collect();
    assert_eq!(
        auths,
        [
            Some("Bearer tok-2".to_string()),
            Some("Bearer tok-3".to_string())
        ],
        "the authenticator runs per request, after the static headers"
    );
    assert!(has_line(
        &registry,
        "stratus_exporter_client_auth_failures{exporter=\"otlphttp/test\",failure=\"unavailable\"} 1"
    ));
    let err = OtlpHttpExporterFactory
        .build(ctx("otlphttp", &registry), &raw)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("auth::authenticator"), "{err}");
}

#[tokio::test]
async fn large_bodies_pass_the_buffers_over_http1_and_http2() {
    let Payload::Traces(mut rs) = spans(200) else {
        unreachable!()
    };
    for span in &mut rs[0].scope_spans[0].spans {
        span.name = "x".repeat(15_000);
    }
    let big = Payload::Traces(rs);
    let pki = Pki::new(&["127.0.0.1"]);
    let (tls_addr, tls_seen) = serve(Some(server_tls(&pki)), None).await;
    let (addr, seen) = serve(None, None).await;
    for (url, extra, seen, version) in [
        (
            format!("https://127.0.0.1:{}", tls_addr.port()),
            json!({"tls": {"ca_file": pki.path("ca.pem")}}),
            &tls_seen,
            http::Version::HTTP_2,
        ),
        (
            format!("https://127.0.0.1:{}", tls_addr.port()),
            json!({"tls": {"ca_file": pki.path("ca.pem")}, "force_attempt_http2": false,
                   "read_buffer_size": 1, "write_buffer_size": 1}),
            &tls_seen,
            http::Version::HTTP_11,
        ),
        (
            format!("http://127.0.0.1:{}", addr.port()),
            json!({"read_buffer_size": 65536, "write_buffer_size": 3}),
            &seen,
            http::Version::HTTP_11,
        ),
    ] {
        let exp = exporter(
            &Registry::new(),
            direct(url, {
                let mut e = extra.clone();
                e["compression"] = json!("none");
                e
            }),
        )
        .await;
        let before = seen.requests();
        exp.consume(Telemetry::new(big.clone())).await.unwrap();
        assert_eq!(seen.requests(), before + 1, "{extra}");
        let expected = big.encode_request().len();
        assert_eq!(seen.requests.lock().unwrap().last().unwrap().2, expected);
        assert_eq!(
            *seen.versions.lock().unwrap().last().unwrap(),
            version,
            "{extra}"
        );
    }
}
