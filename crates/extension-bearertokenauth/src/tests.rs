use std::time::Instant;

use super::*;
use serde_json::json;
use stratus_core::auth::AuthFailure;
use stratus_core::factory::ExtensionFactory;
use stratus_core::telemetry::Registry;

fn id() -> ComponentId {
    ComponentId::with_name("bearertokenauth", "t")
}

fn ctx() -> BuildContext {
    BuildContext::new(id(), vec![], Registry::new())
}

fn ext(raw: serde_json::Value) -> BearerTokenAuthExtension {
    let config: BearerTokenAuthConfig = stratus_core::factory::decode_config(&raw).unwrap();
    BearerTokenAuthExtension::new(&id(), &config).unwrap()
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_bytes(v.as_bytes()).unwrap(),
        );
    }
    h
}

fn failure(auth: &BearerTokenAuthenticator, h: &HeaderMap) -> AuthFailure {
    auth.check(h).unwrap_err().failure
}

#[tokio::test]
async fn server_accepts_the_token_and_refuses_every_failure_kind() {
    let ext = ext(json!({"token": "s3cr3t"}));
    let sides = ext.authenticators().unwrap();
    let server = sides.server.unwrap();
    let ok = server
        .authenticate(&headers(&[("authorization", "Bearer s3cr3t")]))
        .await
        .unwrap();
    assert_eq!(ok, AuthInfo::default(), "bearer tokens carry no subject");
    // The scheme is case-insensitive (RFC 9110), the token is not.
    server
        .authenticate(&headers(&[("Authorization", "bearer s3cr3t")]))
        .await
        .unwrap();
    let auth = ext.authenticator();
    assert_eq!(failure(&auth, &headers(&[])), AuthFailure::Missing);
    assert_eq!(
        failure(&auth, &headers(&[("authorization", "")])),
        AuthFailure::Missing
    );
    let e = auth.check(&headers(&[])).unwrap_err();
    assert_eq!(
        e.message,
        "missing or empty authorization header: authorization"
    );
    for bad in [
        "Basic s3cr3t",
        "s3cr3t",
        "Bearer",
        "Bearer ",
        "Bearers3cr3t",
        "Token s3cr3t",
    ] {
        assert_eq!(
            failure(&auth, &headers(&[("authorization", bad)])),
            AuthFailure::Malformed,
            "{bad}"
        );
    }
    // Bytes beyond ASCII are a valid header value, but never a token we hold.
    assert_eq!(
        failure(&auth, &headers(&[("authorization", "Bearer s3cr3\u{e9}")])),
        AuthFailure::Invalid
    );
    for bad in [
        "Bearer s3cr3",
        "Bearer s3cr3t ",
        "Bearer S3CR3T",
        "Bearer  s3cr3t",
    ] {
        let e = auth.check(&headers(&[("authorization", bad)])).unwrap_err();
        assert_eq!(e.failure, AuthFailure::Invalid, "{bad:?}");
        assert!(!e.message.contains("s3cr3"), "{e}");
    }
}

#[tokio::test]
async fn any_of_several_tokens_is_accepted_and_the_client_sends_the_first() {
    let ext = ext(json!({"tokens": ["one", "two"]}));
    let auth = ext.authenticator();
    auth.check(&headers(&[("authorization", "Bearer one")]))
        .unwrap();
    auth.check(&headers(&[("authorization", "Bearer two")]))
        .unwrap();
    assert_eq!(
        failure(&auth, &headers(&[("authorization", "Bearer three")])),
        AuthFailure::Invalid
    );
    let client = ext.authenticators().unwrap().client.unwrap();
    let mut h = HeaderMap::new();
    client.apply(&mut h).await.unwrap();
    assert_eq!(h.get("authorization").unwrap(), "Bearer one");
    assert!(h.get("authorization").unwrap().is_sensitive());
}

#[tokio::test]
async fn custom_header_and_scheme_work_on_both_sides() {
    let ext = ext(json!({"token": "k", "header": "X-Api-Key", "scheme": "Token"}));
    let sides = ext.authenticators().unwrap();
    let mut h = headers(&[("x-api-key", "stale"), ("authorization", "keep me")]);
    sides.client.unwrap().apply(&mut h).await.unwrap();
    let values: Vec<_> = h.get_all("x-api-key").iter().collect();
    assert_eq!(values, ["Token k"], "the client replaces the header");
    assert_eq!(h.get("authorization").unwrap(), "keep me");
    let server = sides.server.unwrap();
    server.authenticate(&h).await.unwrap();
    let e = server
        .authenticate(&headers(&[("authorization", "Token k")]))
        .await
        .unwrap_err();
    assert_eq!(e.failure, AuthFailure::Missing);
    assert_eq!(
        e.message,
        "missing or empty authorization header: x-api-key"
    );
}

#[tokio::test]
async fn an_empty_scheme_sends_and_expects_the_bare_token() {
    let ext = ext(json!({"token": "bare", "scheme": ""}));
    let auth = ext.authenticator();
    auth.check(&headers(&[("authorization", "bare")])).unwrap();
    assert_eq!(
        failure(&auth, &headers(&[("authorization", "Bearer bare")])),
        AuthFailure::Invalid
    );
    let mut h = HeaderMap::new();
    ClientAuthenticator::apply(auth.as_ref(), &mut h)
        .await
        .unwrap();
    assert_eq!(h.get("authorization").unwrap(), "bare");
}

/// Polls until `auth` accepts `token` and refuses `old`, with a bounded deadline.
async fn wait_for_token(auth: &BearerTokenAuthenticator, token: &str, old: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let new = headers(&[("authorization", &format!("Bearer {token}"))]);
    let stale = headers(&[("authorization", &format!("Bearer {old}"))]);
    while auth.check(&new).is_err() || auth.check(&stale).is_ok() {
        assert!(
            Instant::now() < deadline,
            "token file change to {token} not picked up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_changed_token_file_takes_effect_and_an_unreadable_one_keeps_the_last_good() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "first\n").unwrap();
    let ext = ext(json!({"filename": path, "token": "inline-ignored"}))
        .with_reload_interval(Duration::from_millis(20));
    let auth = ext.authenticator();
    auth.check(&headers(&[("authorization", "Bearer first")]))
        .unwrap();
    assert_eq!(
        failure(
            &auth,
            &headers(&[("authorization", "Bearer inline-ignored")])
        ),
        AuthFailure::Invalid,
        "filename takes precedence over token"
    );
    ext.start(&Host::ready()).await.unwrap();

    // Rewritten in place.
    std::fs::write(&path, "  second  \n\n third\n").unwrap();
    wait_for_token(&auth, "second", "first").await;
    auth.check(&headers(&[("authorization", "Bearer third")]))
        .unwrap();
    let mut h = HeaderMap::new();
    ClientAuthenticator::apply(auth.as_ref(), &mut h)
        .await
        .unwrap();
    assert_eq!(h.get("authorization").unwrap(), "Bearer second");

    // Replaced by a rename, the way Kubernetes swaps secret volumes.
    let tmp = dir.path().join("token.new");
    std::fs::write(&tmp, "fourth").unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    wait_for_token(&auth, "fourth", "second").await;

    // Gone, then empty: the last good token stays through several checks.
    std::fs::remove_file(&path).unwrap();
    wait_for_checks(&ext, 3).await;
    auth.check(&headers(&[("authorization", "Bearer fourth")]))
        .expect("the last good token is kept while the file is missing");
    std::fs::write(&path, "\n \n").unwrap();
    wait_for_checks(&ext, 3).await;
    auth.check(&headers(&[("authorization", "Bearer fourth")]))
        .expect("an empty token file keeps the last good token");
    std::fs::write(&tmp, "fifth").unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    wait_for_token(&auth, "fifth", "fourth").await;

    ext.shutdown().await.unwrap();
    ext.shutdown().await.unwrap();
    assert!(ext.watcher().is_none(), "shutdown stops the watcher");
}

/// Waits until the watcher has checked the file `n` more times.
async fn wait_for_checks(ext: &BearerTokenAuthExtension, n: u64) {
    let target = ext.file_checks() + n;
    let deadline = Instant::now() + Duration::from_secs(20);
    while ext.file_checks() < target {
        assert!(
            Instant::now() < deadline,
            "the token file is not being checked"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn the_factory_reloads_with_the_default_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "before").unwrap();
    let ext = BearerTokenAuthExtensionFactory
        .build(ctx(), &json!({"filename": path}))
        .await
        .unwrap();
    ext.start(&Host::ready()).await.unwrap();
    let server = ext.authenticators().unwrap().server.unwrap();
    server
        .authenticate(&headers(&[("authorization", "Bearer before")]))
        .await
        .unwrap();
    std::fs::write(&path, "after").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server
        .authenticate(&headers(&[("authorization", "Bearer after")]))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "reload not seen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ext.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unreadable_token_file_fails_the_build_without_showing_content() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = BearerTokenAuthExtensionFactory
        .build(ctx(), &json!({"filename": missing}))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("cannot read") && err.contains("nope"), "{err}");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n\n").unwrap();
    let err = BearerTokenAuthExtensionFactory
        .build(ctx(), &json!({"filename": empty}))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("holds no token"), "{err}");
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "good\nsecret-marker with space\n").unwrap();
    let err = BearerTokenAuthExtensionFactory
        .build(ctx(), &json!({"filename": bad}))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("token 2"), "{err}");
    assert!(!err.contains("secret-marker"), "{err}");
}

#[test]
fn an_unvalidated_config_is_refused_by_new() {
    let config = BearerTokenAuthConfig::default();
    let err = BearerTokenAuthExtension::new(&id(), &config).unwrap_err();
    assert!(
        err.to_string().contains("no bearer token provided"),
        "{err}"
    );
    let config = BearerTokenAuthConfig {
        tokens: vec![stratus_core::confval::Secret::new("")],
        ..BearerTokenAuthConfig::default()
    };
    let err = BearerTokenAuthExtension::new(&id(), &config).unwrap_err();
    assert!(err.to_string().contains("tokens::0"), "{err}");
}

#[test]
fn debug_of_the_extension_never_shows_a_token() {
    let ext = ext(json!({"tokens": ["marker-one", "marker-two"]}));
    let shown = format!("{ext:?} {:?}", ext.authenticator());
    assert!(!shown.contains("marker"), "{shown}");
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::extension(&BearerTokenAuthExtensionFactory)
        .config(json!({"token": "conformance"}))
        .default_config_rejected(&[""])
        .await;
}
