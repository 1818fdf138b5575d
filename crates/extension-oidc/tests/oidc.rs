//! The `oidc` extension against a local issuer on 127.0.0.1: discovery, JWKS,
//! tokens signed in the test, key rotation, an unreachable JWKS, a private CA.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Issuer, Signer, bearer, claims, now};
use serde_json::{Value, json};
use stratus_core::auth::{AuthFailure, ServerAuthenticator};
use stratus_core::factory::{ExtensionFactory, decode_config};
use stratus_core::{Component, ComponentId, Host};
use stratus_extension_oidc::{OidcConfig, OidcExtension, OidcExtensionFactory, Tuning};

fn config(raw: Value) -> OidcConfig {
    decode_config(&raw).unwrap_or_else(|p| panic!("{raw}: {p:?}"))
}

async fn started(raw: Value, tuning: Tuning) -> OidcExtension {
    let ext = OidcExtension::new(&config(raw), tuning).unwrap();
    ext.start(&Host::ready()).await.unwrap();
    ext
}

fn provider(issuer: &Issuer) -> Value {
    json!({"providers": [{"issuer_url": issuer.url(), "audience": "otel",
        "username_claim": "email", "groups_claim": "groups"}]})
}

async fn failure(auth: &dyn ServerAuthenticator, token: &str) -> AuthFailure {
    let err = auth.authenticate(&bearer(token)).await.unwrap_err();
    assert!(!err.message.contains(token), "the message quotes the token");
    err.failure
}

/// Polls `check` until it holds, for at most 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if check().await {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_valid_token_gives_the_subject_and_groups() {
    let (rsa, ec) = (Signer::rsa("r1"), Signer::ec("e1"));
    let issuer = Issuer::start(&[&rsa, &ec]).await;
    let ext = started(provider(&issuer), Tuning::default()).await;
    let auth = ext.authenticator();
    for signer in [&rsa, &ec] {
        let info = auth
            .authenticate(&bearer(&signer.sign(&claims(&issuer.url()))))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", signer.alg()));
        assert_eq!(info.subject.as_deref(), Some("svc@example.com"));
        assert_eq!(info.groups, ["ingest", "ops"]);
    }
    // A string groups claim is one group; without username_claim the subject is `sub`.
    let ext2 = started(
        json!({"issuer_url": issuer.url(), "audience": "otel", "groups_claim": "team"}),
        Tuning::default(),
    )
    .await;
    let mut c = claims(&issuer.url());
    c["team"] = json!("blue");
    let info = ext2
        .authenticator()
        .authenticate(&bearer(&rsa.sign(&c)))
        .await
        .unwrap();
    assert_eq!(info.subject.as_deref(), Some("svc-1"));
    assert_eq!(info.groups, ["blue"]);
    // Discovery and one JWKS fetch per extension; tokens need no further fetch.
    assert_eq!(issuer.jwks_fetches(), 2);
    ext.shutdown().await.unwrap();
    ext2.shutdown().await.unwrap();
}

#[tokio::test]
async fn wrong_tokens_are_refused_with_their_failure_kind() {
    let key = Signer::rsa("k1");
    let impostor = Signer::rsa("k1"); // same kid, other key
    let issuer = Issuer::start(&[&key]).await;
    let ext = started(provider(&issuer), Tuning::default()).await;
    let auth = ext.authenticator();
    let url = issuer.url();
    let with = |patch: Value| {
        let mut c = claims(&url);
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };

    use AuthFailure::*;
    let cases: Vec<(&str, String, AuthFailure)> = vec![
        (
            "wrong audience",
            key.sign(&with(json!({"aud": "other"}))),
            Invalid,
        ),
        (
            "wrong issuer",
            key.sign(&with(json!({"iss": "https://evil"}))),
            Invalid,
        ),
        (
            "expired",
            key.sign(&with(json!({"exp": now() - 600}))),
            Expired,
        ),
        (
            "not yet valid",
            key.sign(&with(json!({"nbf": now() + 3600}))),
            Invalid,
        ),
        ("no exp", key.sign(&with(json!({"exp": null}))), Invalid),
        ("bad signature", impostor.sign(&claims(&url)), Invalid),
        (
            "missing email claim",
            key.sign(&with(json!({"email": null}))),
            Invalid,
        ),
        (
            "alg the issuer does not announce",
            key.sign_with_header(json!({"alg": "RS512", "kid": "k1"}), &claims(&url)),
            Invalid,
        ),
        (
            "alg none",
            key.sign_with_header(json!({"alg": "none", "kid": "k1"}), &claims(&url)),
            Invalid,
        ),
        (
            "HS256 with the public key",
            key.sign_with_header(json!({"alg": "HS256", "kid": "k1"}), &claims(&url)),
            Invalid,
        ),
        (
            "ES256 header on an RSA key",
            key.sign_with_header(json!({"alg": "ES256", "kid": "k1"}), &claims(&url)),
            Invalid,
        ),
        ("not a JWT", "abc.def".to_string(), Malformed),
    ];
    for (what, token, want) in &cases {
        assert_eq!(failure(auth.as_ref(), token).await, *want, "{what}");
    }
    // A tampered payload with the original signature.
    let good = key.sign(&claims(&url));
    let parts: Vec<&str> = good.split('.').collect();
    let mut evil = claims(&url);
    evil["email"] = json!("admin@example.com");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        stratus_extension_oidc::jwt::base64url(evil.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(failure(auth.as_ref(), &forged).await, Invalid);
    // The good one still passes; no header at all is Missing.
    auth.authenticate(&bearer(&good)).await.unwrap();
    let err = auth
        .authenticate(&http::HeaderMap::new())
        .await
        .unwrap_err();
    assert_eq!(err.failure, Missing);
    ext.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unknown_kid_refetches_once_and_a_rotated_key_works() {
    let old = Signer::rsa("old");
    let issuer = Issuer::start(&[&old]).await;
    let ext = started(provider(&issuer), Tuning::default()).await;
    let auth = ext.authenticator();
    assert_eq!(issuer.jwks_fetches(), 1);

    // The issuer rotates: the new key is published, tokens are signed with it.
    let new = Signer::ec("new");
    issuer.set_keys(&[&old, &new]);
    let tokens: Vec<String> = (0..8).map(|_| new.sign(&claims(&issuer.url()))).collect();
    let results = futures_join(auth.clone(), tokens).await;
    for r in &results {
        assert_eq!(
            r.as_ref().unwrap().subject.as_deref(),
            Some("svc@example.com")
        );
    }
    assert_eq!(
        issuer.jwks_fetches(),
        2,
        "concurrent tokens share one refetch"
    );

    // Another unknown kid right after: rate limited, no fetch, refused.
    let stranger = Signer::rsa("stranger");
    assert_eq!(
        failure(auth.as_ref(), &stranger.sign(&claims(&issuer.url()))).await,
        AuthFailure::Invalid
    );
    assert_eq!(issuer.jwks_fetches(), 2, "the refetch is rate limited");
    // Old and new keys both work without a fetch.
    auth.authenticate(&bearer(&old.sign(&claims(&issuer.url()))))
        .await
        .unwrap();
    assert_eq!(issuer.jwks_fetches(), 2);
    ext.shutdown().await.unwrap();
}

async fn futures_join(
    auth: Arc<stratus_extension_oidc::OidcAuthenticator>,
    tokens: Vec<String>,
) -> Vec<Result<stratus_core::auth::AuthInfo, stratus_core::auth::AuthError>> {
    let mut set = tokio::task::JoinSet::new();
    for t in tokens {
        let auth = auth.clone();
        set.spawn(async move { auth.authenticate(&bearer(&t)).await });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out
}

#[tokio::test]
async fn an_unreachable_jwks_is_unavailable_and_known_keys_keep_working() {
    let key = Signer::rsa("k1");
    let issuer = Issuer::start(&[&key]).await;
    let ext = started(provider(&issuer), Tuning::default()).await;
    let auth = ext.authenticator();
    issuer.jwks_down();
    let rotated = Signer::rsa("k2");
    assert_eq!(
        failure(auth.as_ref(), &rotated.sign(&claims(&issuer.url()))).await,
        AuthFailure::Unavailable
    );
    // Within the rate limit the failure is remembered, not refetched.
    let fetches = issuer.jwks_fetches();
    assert_eq!(
        failure(auth.as_ref(), &rotated.sign(&claims(&issuer.url()))).await,
        AuthFailure::Unavailable
    );
    assert_eq!(issuer.jwks_fetches(), fetches);
    auth.authenticate(&bearer(&key.sign(&claims(&issuer.url()))))
        .await
        .unwrap();
    ext.shutdown().await.unwrap();
}

#[tokio::test]
async fn keys_are_refreshed_periodically() {
    let old = Signer::rsa("old");
    let issuer = Issuer::start(&[&old]).await;
    let tuning = Tuning {
        refresh_interval: Duration::from_millis(100),
        unknown_kid_refetch_interval: Duration::from_secs(3600),
        ..Tuning::default()
    };
    let ext = started(provider(&issuer), tuning).await;
    let auth = ext.authenticator();
    // Use up the one unknown-kid refetch, so only the periodic refresh can help.
    let stranger = Signer::rsa("stranger");
    assert_eq!(
        failure(auth.as_ref(), &stranger.sign(&claims(&issuer.url()))).await,
        AuthFailure::Invalid
    );
    let new = Signer::rsa("new");
    issuer.set_keys(&[&new]);
    let token = new.sign(&claims(&issuer.url()));
    eventually(
        "the rotated key is picked up by the periodic refresh",
        || {
            let auth = auth.clone();
            let token = token.clone();
            async move { auth.authenticate(&bearer(&token)).await.is_ok() }
        },
    )
    .await;
    ext.shutdown().await.unwrap();
    // After shutdown the refresh stops.
    let after = issuer.jwks_fetches();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        issuer.jwks_fetches() <= after + 1,
        "refresh went on after shutdown"
    );
}

#[tokio::test]
async fn start_fails_when_the_issuer_cannot_be_used() {
    let key = Signer::rsa("k1");
    // JWKS down at start.
    let issuer = Issuer::start(&[&key]).await;
    issuer.jwks_down();
    let ext = OidcExtension::new(&config(provider(&issuer)), Tuning::default()).unwrap();
    let err = ext.start(&Host::ready()).await.unwrap_err().to_string();
    assert!(err.contains("503"), "{err}");
    // Discovery names another issuer.
    let liar = Issuer::start(&[&key]).await;
    liar.server.route(
        "GET",
        "/.well-known/openid-configuration",
        stratus_testkit::http::Response::ok().json(&json!({
            "issuer": "https://someone-else", "jwks_uri": format!("{}/jwks", liar.url())
        })),
    );
    let ext = OidcExtension::new(&config(provider(&liar)), Tuning::default()).unwrap();
    let err = ext.start(&Host::ready()).await.unwrap_err().to_string();
    assert!(err.contains("someone-else"), "{err}");
    // A JWKS whose keys are all unusable.
    let empty = Issuer::start(&[]).await;
    let ext = OidcExtension::new(&config(provider(&empty)), Tuning::default()).unwrap();
    let err = ext.start(&Host::ready()).await.unwrap_err().to_string();
    assert!(err.contains("no usable key"), "{err}");
    // A closed port.
    let port = stratus_testkit::net::free_port();
    let raw = json!({"issuer_url": format!("http://127.0.0.1:{port}"), "audience": "otel"});
    let ext = OidcExtension::new(&config(raw), Tuning::default()).unwrap();
    assert!(ext.start(&Host::ready()).await.is_err());
}

#[tokio::test]
async fn several_providers_are_picked_by_iss() {
    let (ka, kb) = (Signer::rsa("a"), Signer::rsa("b"));
    let (a, b) = (Issuer::start(&[&ka]).await, Issuer::start(&[&kb]).await);
    let raw = json!({
        "issuer_url": a.url(), "audience": "otel",
        "providers": [{"issuer_url": b.url(), "ignore_audience": true, "username_claim": "email"}],
    });
    let ext = started(raw, Tuning::default()).await;
    let auth = ext.authenticator();
    let info = auth
        .authenticate(&bearer(&ka.sign(&claims(&a.url()))))
        .await
        .unwrap();
    assert_eq!(info.subject.as_deref(), Some("svc-1"));
    let mut c = claims(&b.url());
    c["aud"] = json!("anything");
    let info = auth.authenticate(&bearer(&kb.sign(&c))).await.unwrap();
    assert_eq!(info.subject.as_deref(), Some("svc@example.com"));
    // b's key on a token claiming a: a's keys do not have it.
    assert_eq!(
        failure(auth.as_ref(), &kb.sign(&claims(&a.url()))).await,
        AuthFailure::Invalid
    );
    assert_eq!(
        failure(auth.as_ref(), &ka.sign(&claims("https://unknown"))).await,
        AuthFailure::Invalid
    );
    ext.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_custom_attribute_header_is_read() {
    let key = Signer::rsa("k1");
    let issuer = Issuer::start(&[&key]).await;
    let raw = json!({"attribute": "X-Auth", "issuer_url": issuer.url(), "audience": "otel"});
    let ext = started(raw, Tuning::default()).await;
    let token = key.sign(&claims(&issuer.url()));
    let mut h = http::HeaderMap::new();
    h.insert("x-auth", format!("Bearer {token}").parse().unwrap());
    ext.authenticator().authenticate(&h).await.unwrap();
    let err = ext
        .authenticator()
        .authenticate(&bearer(&token))
        .await
        .unwrap_err();
    assert_eq!(err.failure, AuthFailure::Missing);
}

#[tokio::test]
async fn public_keys_file_is_used_and_reloaded() {
    let (old, new) = (Signer::rsa("old"), Signer::ec("new"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    let write = |keys: &[&Signer]| {
        let jwks: Vec<Value> = keys.iter().map(|k| k.jwk()).collect();
        let tmp = dir.path().join(".jwks.tmp");
        std::fs::write(&tmp, json!({ "keys": jwks }).to_string()).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    };
    write(&[&old]);
    let iss = "https://idp.example.com";
    let raw = json!({"providers": [{"issuer_url": iss, "audience": "otel",
        "public_keys_file": path}]});
    let tuning = Tuning {
        file_poll_interval: Duration::from_millis(50),
        ..Tuning::default()
    };
    let ext = started(raw, tuning).await;
    let auth = ext.authenticator();
    auth.authenticate(&bearer(&old.sign(&claims(iss))))
        .await
        .unwrap();
    let token = new.sign(&claims(iss));
    assert_eq!(failure(auth.as_ref(), &token).await, AuthFailure::Invalid);
    write(&[&new]);
    eventually("the rewritten JWKS file is read", || {
        let (auth, token) = (auth.clone(), token.clone());
        async move { auth.authenticate(&bearer(&token)).await.is_ok() }
    })
    .await;
    // A missing file at start fails the start.
    let raw = json!({"providers": [{"issuer_url": iss, "audience": "otel",
        "public_keys_file": dir.path().join("missing.json")}]});
    let ext2 = OidcExtension::new(&config(raw), Tuning::default()).unwrap();
    let err = ext2.start(&Host::ready()).await.unwrap_err().to_string();
    assert!(err.contains("missing.json"), "{err}");
    ext.shutdown().await.unwrap();
}

/// An HTTPS issuer whose certificate a private CA signed: trusted with
/// `issuer_ca_path`, refused without.
#[tokio::test]
async fn issuer_ca_path_trusts_a_private_ca() {
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

    // A TLS front for the plain issuer: terminates TLS, forwards bytes.
    let key = Signer::rsa("k1");
    let backend = Issuer::start(&[&key]).await;
    let server_tls: stratus_tls::TlsServerConfig = decode_config(&json!({
        "cert_pem": leaf.pem(), "key_pem": leaf_key.serialize_pem()
    }))
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(server_tls.server_config(&[]).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let backend_addr = backend.server.addr();
    let proxy = tokio::spawn(async move {
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
    // The discovery document must name the https issuer.
    backend.server.route(
        "GET",
        "/.well-known/openid-configuration",
        stratus_testkit::http::Response::ok().json(&json!({
            "issuer": front, "jwks_uri": format!("{front}/jwks")
        })),
    );
    let trusted = json!({"issuer_url": front, "audience": "otel",
        "issuer_ca_path": ca_path});
    let ext = started(trusted, Tuning::default()).await;
    ext.authenticator()
        .authenticate(&bearer(&key.sign(&claims(&front))))
        .await
        .unwrap();
    ext.shutdown().await.unwrap();

    let untrusted = json!({"issuer_url": front, "audience": "otel"});
    let ext = OidcExtension::new(&config(untrusted), Tuning::default()).unwrap();
    let err = ext.start(&Host::ready()).await.unwrap_err().to_string();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    // A CA file that is not PEM fails at build.
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let raw = json!({"issuer_url": front, "audience": "otel", "issuer_ca_path": bad});
    assert!(OidcExtension::new(&config(raw), Tuning::default()).is_err());
    proxy.abort();
}

#[tokio::test]
async fn the_factory_offers_a_server_authenticator() {
    let key = Signer::rsa("k1");
    let issuer = Issuer::start(&[&key]).await;
    let ctx = stratus_core::factory::BuildContext::new(
        ComponentId::new("oidc"),
        vec![],
        stratus_core::telemetry::Registry::new(),
    );
    let ext = OidcExtensionFactory
        .build(
            ctx,
            &json!({"issuer_url": issuer.url(), "audience": "otel"}),
        )
        .await
        .unwrap();
    ext.start(&Host::ready()).await.unwrap();
    let auths = ext.authenticators().unwrap();
    assert!(auths.client.is_none());
    let server = auths.server.unwrap();
    server
        .authenticate(&bearer(&key.sign(&claims(&issuer.url()))))
        .await
        .unwrap();
    ext.shutdown().await.unwrap();
}

#[tokio::test]
async fn conformance() {
    let key = Signer::rsa("k1");
    let issuer = Issuer::start(&[&key]).await;
    stratus_testkit::conformance::extension(&OidcExtensionFactory)
        .config(json!({"providers": [{"issuer_url": issuer.url(), "audience": "otel"}]}))
        .default_config_rejected(&[""])
        .await;
}
