//! The `oauth2client` extension against a local token endpoint on 127.0.0.1: the form
//! it sends, token reuse and refresh, one fetch for concurrent callers, failures.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use http::HeaderMap;
use serde_json::{Value, json};
use stratus_core::auth::{AuthFailure, ClientAuthenticator};
use stratus_core::factory::{ExtensionFactory, decode_config};
use stratus_core::{ComponentId, Host};
use stratus_extension_oauth2client::{
    GRANT_JWT_BEARER, OAuth2ClientAuthenticator, OAuth2ClientConfig, OAuth2ClientExtension,
    OAuth2ClientExtensionFactory,
};
use stratus_testkit::http::{RecordedRequest, RecordingHttpServer, Response};

const SECRET: &str = "s3cr:t/+ marker";

fn token(access: &str, expires_in: u64) -> Response {
    Response::ok().json(&json!({
        "access_token": access, "token_type": "bearer", "expires_in": expires_in
    }))
}

async fn endpoint(answer: Response) -> RecordingHttpServer {
    let server = RecordingHttpServer::start().await;
    server.route("POST", "/token", answer);
    server
}

fn auth(raw: Value) -> Arc<OAuth2ClientAuthenticator> {
    let config: OAuth2ClientConfig = decode_config(&raw).unwrap_or_else(|p| panic!("{raw}: {p:?}"));
    OAuth2ClientExtension::new(config).unwrap().authenticator()
}

fn base(server: &RecordingHttpServer) -> Value {
    json!({"client_id": "agent", "client_secret": SECRET,
           "token_url": format!("{}/token", server.url())})
}

fn with(mut v: Value, extra: Value) -> Value {
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    v
}

async fn apply(auth: &OAuth2ClientAuthenticator) -> Result<String, stratus_core::auth::AuthError> {
    let mut h = HeaderMap::new();
    auth.apply(&mut h).await?;
    let v = h.get("authorization").unwrap();
    assert!(v.is_sensitive());
    Ok(v.to_str().unwrap().to_string())
}

fn form(r: &RecordedRequest) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(&r.body) {
        out.entry(k.into_owned()).or_default().push(v.into_owned());
    }
    out
}

#[tokio::test]
async fn sends_the_client_credentials_form_and_sets_the_bearer_header() {
    let server = endpoint(token("tok-1", 3600)).await;
    let a = auth(with(
        base(&server),
        json!({"scopes": ["api.read", "api.write"],
               "endpoint_params": {"audience": "ingest", "resource": ["r1", "r2"]}}),
    ));
    assert_eq!(apply(&a).await.unwrap(), "Bearer tok-1");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/token"));
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let f = form(r);
    assert_eq!(f["grant_type"], ["client_credentials"]);
    assert_eq!(f["scope"], ["api.read api.write"]);
    assert_eq!(f["audience"], ["ingest"]);
    assert_eq!(f["resource"], ["r1", "r2"]);
    assert!(
        !f.contains_key("client_secret"),
        "secret sent in the body and the header"
    );
    // HTTP Basic with the form-encoded id and secret, as golang.org/x/oauth2 does.
    let basic = r
        .header("authorization")
        .unwrap()
        .strip_prefix("Basic ")
        .unwrap();
    let decoded = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(basic)
            .unwrap(),
    )
    .unwrap();
    let enc: String = form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
    assert_eq!(decoded, format!("agent:{enc}"));
}

#[tokio::test]
async fn a_refused_basic_header_falls_back_to_the_body_and_is_remembered() {
    let server = endpoint(token("tok", 10)).await;
    server.respond(Response::status(401).json(&json!({"error": "invalid_client"})));
    // expiry_buffer above the lifetime: every call fetches.
    let a = auth(with(base(&server), json!({"expiry_buffer": "1m"})));
    assert_eq!(apply(&a).await.unwrap(), "Bearer tok");
    apply(&a).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests[0].header("authorization").is_some());
    for r in &requests[1..] {
        assert_eq!(r.header("authorization"), None);
        let f = form(r);
        assert_eq!(f["client_id"], ["agent"]);
        assert_eq!(f["client_secret"], [SECRET]);
    }
}

#[tokio::test]
async fn a_token_is_reused_until_expiry_buffer_then_refreshed() {
    let server = endpoint(token("tok", 3600)).await;
    let a = auth(base(&server));
    for _ in 0..5 {
        assert_eq!(apply(&a).await.unwrap(), "Bearer tok");
    }
    assert_eq!(server.request_count(), 1, "a fresh token is reused");
    assert_eq!(a.tokens_fetched(), 1);

    // A token inside expiry_buffer of its expiry is replaced before use.
    let server = endpoint(token("short", 300)).await;
    let a = auth(base(&server)); // expiry_buffer 5m = the lifetime
    apply(&a).await.unwrap();
    apply(&a).await.unwrap();
    assert_eq!(server.request_count(), 2);

    // Reused while fresh, refreshed once near expiry.
    let server = endpoint(token("t", 3600)).await;
    let a = auth(with(base(&server), json!({"expiry_buffer": "3599.7s"})));
    apply(&a).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.request_count() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "never refreshed");
        apply(&a).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A token without expires_in is kept.
    let server = endpoint(Response::ok().json(&json!({"access_token": "forever"}))).await;
    let a = auth(base(&server));
    for _ in 0..3 {
        assert_eq!(apply(&a).await.unwrap(), "Bearer forever");
    }
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn concurrent_callers_share_one_fetch() {
    let server = endpoint(token("shared", 3600).delay(Duration::from_millis(300))).await;
    let a = auth(base(&server));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let a = a.clone();
        set.spawn(async move { apply(&a).await });
    }
    while let Some(r) = set.join_next().await {
        assert_eq!(r.unwrap().unwrap(), "Bearer shared");
    }
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn a_failing_endpoint_is_unavailable_and_shared_then_recovers() {
    let server = endpoint(token("back", 3600)).await;
    server.route(
        "POST",
        "/token",
        Response::status(503).delay(Duration::from_millis(300)),
    );
    let a = auth(base(&server));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let a = a.clone();
        set.spawn(async move { apply(&a).await });
    }
    while let Some(r) = set.join_next().await {
        let err = r.unwrap().unwrap_err();
        assert_eq!(err.failure, AuthFailure::Unavailable);
        assert!(err.message.contains("503"), "{}", err.message);
        assert!(!err.message.contains("s3cr"), "{}", err.message);
    }
    // Basic refused with a status, then the body tried: two requests for 8 callers.
    assert_eq!(server.request_count(), 2);
    server.route("POST", "/token", token("back", 3600));
    assert_eq!(apply(&a).await.unwrap(), "Bearer back");

    // Nothing listening.
    let port = stratus_testkit::net::free_port();
    let a = auth(json!({"client_id": "a", "client_secret": SECRET,
        "token_url": format!("http://127.0.0.1:{port}/token")}));
    let err = apply(&a).await.unwrap_err();
    assert_eq!(err.failure, AuthFailure::Unavailable);
    assert!(!err.message.contains("s3cr"));

    // No answer within `timeout`.
    let slow = endpoint(token("late", 3600).delay(Duration::from_secs(30))).await;
    let a = auth(with(base(&slow), json!({"timeout": "100ms"})));
    let err = apply(&a).await.unwrap_err();
    assert_eq!(err.failure, AuthFailure::Unavailable);
    assert!(err.message.contains("no answer"), "{}", err.message);
}

#[tokio::test]
async fn bad_token_answers_are_unavailable() {
    for answer in [
        Response::ok().json(&json!({"token_type": "bearer"})),
        Response::ok().body("<html>"),
        Response::status(400).json(&json!({"error": "invalid_scope"})),
    ] {
        let server = endpoint(answer).await;
        let err = apply(&auth(base(&server))).await.unwrap_err();
        assert_eq!(err.failure, AuthFailure::Unavailable, "{}", err.message);
    }
    // The token type is kept (normalized) in the header.
    let server =
        endpoint(Response::ok().json(&json!({"access_token": "m", "token_type": "mac"}))).await;
    assert_eq!(apply(&auth(base(&server))).await.unwrap(), "MAC m");
    // A form-encoded answer.
    let server = endpoint(
        Response::ok()
            .header("content-type", "application/x-www-form-urlencoded")
            .body("access_token=f%2Fo&expires_in=3600"),
    )
    .await;
    assert_eq!(apply(&auth(base(&server))).await.unwrap(), "Bearer f/o");
}

#[tokio::test]
async fn credential_files_are_read_at_every_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let (id, secret) = (dir.path().join("id"), dir.path().join("secret"));
    std::fs::write(&id, "file-agent\n").unwrap();
    std::fs::write(&secret, "first\n").unwrap();
    let server = endpoint(token("t", 1)).await;
    // Basic refused, so the credentials show in the body.
    server.respond(Response::status(401));
    let a = auth(json!({
        "client_id": "ignored", "client_id_file": id, "client_secret_file": secret,
        "token_url": format!("{}/token", server.url()),
    }));
    apply(&a).await.unwrap();
    std::fs::write(&secret, "second").unwrap();
    apply(&a).await.unwrap(); // expires_in 1 < expiry_buffer: fetches again
    let requests = server.requests();
    let secrets: Vec<String> = requests[1..]
        .iter()
        .map(|r| form(r)["client_secret"][0].clone())
        .collect();
    assert_eq!(secrets, ["first", "second"]);
    assert_eq!(form(&requests[1])["client_id"], ["file-agent"]);
    // An empty file fails the fetch.
    std::fs::write(&secret, "  \n").unwrap();
    let err = apply(&a).await.unwrap_err();
    assert_eq!(err.failure, AuthFailure::Unavailable);
}

#[tokio::test]
async fn jwt_bearer_sends_a_signed_assertion() {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey};
    let key = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&key).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<String> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let server = endpoint(token("jwt-tok", 3600)).await;
    let token_url = format!("{}/token", server.url());
    let a = auth(json!({
        "client_id": "agent", "token_url": token_url, "grant_type": GRANT_JWT_BEARER,
        "client_certificate_key": pem, "client_certificate_key_id": "key-1",
        "scopes": ["s1"], "claims": {"tenant": "t1"},
    }));
    assert_eq!(apply(&a).await.unwrap(), "Bearer jwt-tok");
    let r = &server.requests()[0];
    assert_eq!(r.header("authorization"), None);
    let f = form(r);
    assert_eq!(f["grant_type"], [GRANT_JWT_BEARER]);
    assert_eq!(f["scope"], ["s1"]);
    let jwt = &f["assertion"][0];
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let dec = |s: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .unwrap()
    };
    let header: Value = serde_json::from_slice(&dec(parts[0])).unwrap();
    assert_eq!(
        header,
        json!({"alg": "RS256", "typ": "JWT", "kid": "key-1"})
    );
    let claims: Value = serde_json::from_slice(&dec(parts[1])).unwrap();
    assert_eq!(claims["iss"], "agent");
    assert_eq!(claims["sub"], "agent");
    assert_eq!(claims["aud"], token_url);
    assert_eq!(claims["scope"], "s1");
    assert_eq!(claims["tenant"], "t1");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        1800
    );
    UnparsedPublicKey::new(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        key.public_key().as_ref(),
    )
    .verify(
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &dec(parts[2]),
    )
    .expect("the assertion is signed by the configured key");
    // A key that is not PEM fails the fetch, as Unavailable, without quoting it.
    let a = auth(json!({
        "client_id": "agent", "token_url": token_url, "grant_type": GRANT_JWT_BEARER,
        "client_certificate_key": "not-a-key-marker",
    }));
    let err = apply(&a).await.unwrap_err();
    assert_eq!(err.failure, AuthFailure::Unavailable);
    assert!(!err.message.contains("marker"), "{}", err.message);
}

#[tokio::test]
async fn secrets_stay_out_of_debug_output() {
    let server = endpoint(token("tok-secret-value", 3600)).await;
    let config: OAuth2ClientConfig = decode_config(&base(&server)).unwrap();
    assert!(!format!("{config:?}").contains("s3cr"));
    let ext = OAuth2ClientExtension::new(config).unwrap();
    apply(&ext.authenticator()).await.unwrap();
    let shown = format!("{ext:?}");
    assert!(
        !shown.contains("s3cr") && !shown.contains("tok-secret-value"),
        "{shown}"
    );
    let mut h = HeaderMap::new();
    ext.authenticator().apply(&mut h).await.unwrap();
    assert!(
        !format!("{h:?}").contains("tok-secret-value"),
        "header not sensitive"
    );
}

#[tokio::test]
async fn the_factory_offers_a_client_authenticator() {
    let server = endpoint(token("f", 3600)).await;
    let ctx = stratus_core::factory::BuildContext::new(
        ComponentId::new("oauth2client"),
        vec![],
        stratus_core::telemetry::Registry::new(),
    );
    let ext = OAuth2ClientExtensionFactory
        .build(ctx, &base(&server))
        .await
        .unwrap();
    ext.start(&Host::ready()).await.unwrap();
    let auths = ext.authenticators().unwrap();
    assert!(auths.server.is_none());
    let mut h = HeaderMap::new();
    auths.client.unwrap().apply(&mut h).await.unwrap();
    assert_eq!(h["authorization"], "Bearer f");
    ext.shutdown().await.unwrap();
}

/// An https token endpoint whose certificate a private CA signed: trusted through
/// `tls.ca_file`, refused without it.
#[tokio::test]
async fn tls_ca_file_trusts_a_private_ca() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca.pem()).unwrap();

    // TLS in front of the recording endpoint.
    let backend = endpoint(token("over-tls", 3600)).await;
    let server_tls: stratus_tls::TlsServerConfig = decode_config(&json!({
        "cert_pem": leaf.pem(), "key_pem": leaf_key.serialize_pem()
    }))
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(server_tls.server_config(&[]).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}/token",
        listener.local_addr().unwrap().port()
    );
    let backend_addr = backend.addr();
    let front = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut up) = tokio::net::TcpStream::connect(backend_addr).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
            });
        }
    });
    let trusted = auth(
        json!({"client_id": "a", "client_secret": SECRET, "token_url": url,
        "tls": {"ca_file": ca_path}}),
    );
    assert_eq!(apply(&trusted).await.unwrap(), "Bearer over-tls");
    let untrusted = auth(
        json!({"client_id": "a", "client_secret": SECRET, "token_url": url,
        "tls": {"ca_pem": rcgen_other_ca()}}),
    );
    let err = apply(&untrusted).await.unwrap_err();
    assert_eq!(err.failure, AuthFailure::Unavailable);
    assert_eq!(
        backend.request_count(),
        1,
        "the untrusted client reached the endpoint"
    );
    // A CA file that cannot be read fails the build, naming the key.
    let config: OAuth2ClientConfig = decode_config(&json!({"client_id": "a",
        "client_secret": SECRET, "token_url": "https://idp/token",
        "tls": {"ca_file": dir.path().join("missing.pem")}}))
    .unwrap();
    let err = OAuth2ClientExtension::new(config).unwrap_err();
    assert!(err.contains("ca_file"), "{err}");
    front.abort();
}

fn rcgen_other_ca() -> String {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap())
        .unwrap()
        .pem()
}

#[tokio::test]
async fn conformance() {
    let server = endpoint(token("c", 3600)).await;
    stratus_testkit::conformance::extension(&OAuth2ClientExtensionFactory)
        .config(base(&server))
        .default_config_rejected(&["client_id", "client_secret", "token_url"])
        .await;
}
