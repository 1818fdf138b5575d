//! `session::load` against moto: each credential source of the default chain, and
//! `role_arn`, resolve credentials that sign a real STS GetCallerIdentity call.
//!
//! aws-config reads the process environment, and this crate forbids `unsafe` (so no
//! `set_var`): each env-dependent test starts moto, then re-runs itself in a child
//! process (`<test exe> <name> --exact`) with exactly the AWS environment it needs
//! (every inherited `AWS_*` variable removed, `HOME` and the shared files pointed at
//! a temp dir, IMDS disabled). The child does the SDK work; the parent checks it
//! succeeded. This runs the real, process-env path of the chain, under nextest and
//! `cargo test` alike.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::path::Path;
use std::process::Command;

use stratus_aws_common::errors::{Reason, classify_sdk_error};
use stratus_aws_common::session::{AwsSessionConfig, current_identity, load};
use stratus_core::factory::Validate;
use stratus_testkit::moto::Moto;

const CHILD: &str = "STRATUS_SESSION_TEST_CHILD";
const ENDPOINT: &str = "STRATUS_SESSION_TEST_ENDPOINT";
const EXPECT: &str = "STRATUS_SESSION_TEST_EXPECT";
const SCRATCH: &str = "STRATUS_SESSION_TEST_SCRATCH";

fn in_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} not set for the child"))
}

/// Runs test `name` again in a child process with `env` as its only AWS
/// environment, and asserts it passed.
fn run_child(name: &str, scratch: &Path, env: &[(&str, &str)]) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"]);
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    let missing = scratch.join("missing");
    cmd.env(CHILD, "1")
        .env(SCRATCH, scratch)
        .env("HOME", scratch)
        .env("AWS_CONFIG_FILE", missing.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", missing.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child {name} failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A moto with signature checking on after three setup calls, and an IAM user
/// allowed everything: `(moto, access key id, secret, user arn)`.
fn moto_with_user() -> (Moto, String, String, String) {
    let moto = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let python = std::env::var("STRATUS_TEST_PYTHON").unwrap();
    let script = r#"
import boto3, json, sys
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="setup", aws_secret_access_key="setup")
user = iam.create_user(UserName="stratus-test")["User"]
iam.put_user_policy(UserName="stratus-test", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="stratus-test")["AccessKey"]
print(key["AccessKeyId"], key["SecretAccessKey"], user["Arn"])
"#;
    let out = Command::new(python)
        .args(["-c", script, &moto.endpoint()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "IAM setup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut it = text.split_whitespace().map(str::to_owned);
    let (id, secret, arn) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
    (moto, id, secret, arn)
}

fn config(endpoint: &str) -> AwsSessionConfig {
    AwsSessionConfig {
        region: "us-east-1".into(),
        endpoint: endpoint.into(),
        ..AwsSessionConfig::default()
    }
}

/// GetCallerIdentity through the SDK with the session of `cfg`: the caller's ARN.
async fn caller_arn(cfg: &AwsSessionConfig) -> String {
    let sdk = load(cfg).await.unwrap();
    let sts = aws_sdk_sts::Client::new(&sdk);
    match sts.get_caller_identity().send().await {
        Ok(out) => out.arn().unwrap().to_owned(),
        Err(e) => panic!("GetCallerIdentity failed: {}", aws_smithy_types_display(&e)),
    }
}

fn aws_smithy_types_display(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[tokio::test]
async fn static_environment_keys() {
    if in_child() {
        let arn = caller_arn(&config(&var(ENDPOINT))).await;
        assert_eq!(arn, var(EXPECT));
        return;
    }
    let (moto, id, secret, arn) = moto_with_user();
    let dir = tempfile::tempdir().unwrap();
    run_child(
        "static_environment_keys",
        dir.path(),
        &[
            (ENDPOINT, &moto.endpoint()),
            (EXPECT, &arn),
            ("AWS_ACCESS_KEY_ID", &id),
            ("AWS_SECRET_ACCESS_KEY", &secret),
        ],
    );
}

#[tokio::test]
async fn shared_credentials_file_with_a_named_profile() {
    if in_child() {
        let scratch = var(SCRATCH);
        let cfg = AwsSessionConfig {
            profile: "collector".into(),
            shared_credentials_file: vec![format!("{scratch}/credentials")],
            ..config(&var(ENDPOINT))
        };
        let arn = caller_arn(&cfg).await;
        assert_eq!(arn, var(EXPECT));
        let sdk = load(&cfg).await.unwrap();
        let who = current_identity(&cfg, &sdk).await;
        assert!(who.contains("profile collector"), "{who}");
        return;
    }
    let (moto, id, secret, arn) = moto_with_user();
    let dir = tempfile::tempdir().unwrap();
    // The default profile's keys are wrong: only the named profile signs correctly.
    std::fs::write(
        dir.path().join("credentials"),
        format!(
            "[default]\naws_access_key_id = AKIAWRONGWRONGWRONG0\naws_secret_access_key = wrong\n\n\
             [collector]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"
        ),
    )
    .unwrap();
    run_child(
        "shared_credentials_file_with_a_named_profile",
        dir.path(),
        &[(ENDPOINT, &moto.endpoint()), (EXPECT, &arn)],
    );
}

#[tokio::test]
async fn web_identity_with_only_role_arn_and_token_file() {
    if in_child() {
        let arn = caller_arn(&config(&var(ENDPOINT))).await;
        assert!(
            arn.starts_with("arn:aws:sts::123456789012:assumed-role/irsa-collector/"),
            "{arn}"
        );
        return;
    }
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdHJhdHVzIn0.c2ln").unwrap();
    run_child(
        "web_identity_with_only_role_arn_and_token_file",
        dir.path(),
        &[
            (ENDPOINT, &moto.endpoint()),
            (
                "AWS_ROLE_ARN",
                "arn:aws:iam::123456789012:role/irsa-collector",
            ),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.to_str().unwrap()),
            // The chain's STS calls go to moto too.
            ("AWS_ENDPOINT_URL_STS", &moto.endpoint()),
        ],
    );
}

#[tokio::test]
async fn role_arn_is_assumed_on_top_of_static_keys() {
    if in_child() {
        let cfg = AwsSessionConfig {
            role_arn: "arn:aws:iam::123456789012:role/cross-account".into(),
            external_id: "stratus-ext".into(),
            ..config(&var(ENDPOINT))
        };
        let arn = caller_arn(&cfg).await;
        assert_eq!(
            arn,
            "arn:aws:sts::123456789012:assumed-role/cross-account/stratus"
        );
        return;
    }
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    run_child(
        "role_arn_is_assumed_on_top_of_static_keys",
        dir.path(),
        &[
            (ENDPOINT, &moto.endpoint()),
            ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
            (
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
            ("AWS_ENDPOINT_URL_STS", &moto.endpoint()),
        ],
    );
}

#[tokio::test]
async fn a_wrong_secret_is_one_permanent_auth_error() {
    if in_child() {
        let cfg = config(&var(ENDPOINT));
        let sdk = load(&cfg).await.unwrap();
        let sts = aws_sdk_sts::Client::new(&sdk);
        let err = sts.get_caller_identity().send().await.unwrap_err();
        let (error, reason) = classify_sdk_error("GetCallerIdentity", &err);
        assert_eq!(reason, Reason::Auth, "{error}");
        assert!(error.is_permanent(), "{error}");
        let text = error.to_string();
        assert!(text.contains("GetCallerIdentity"), "{text}");
        assert!(text.contains("HTTP 403"), "{text}");
        assert!(text.contains("check the credentials"), "{text}");
        let who = current_identity(&cfg, &sdk).await;
        let id = var("AWS_ACCESS_KEY_ID");
        assert!(who.contains(&format!("access key {}…", &id[..8])), "{who}");
        assert!(!who.contains(&id), "the whole key id is not shown: {who}");
        assert!(!who.contains("definitely-wrong"), "no secret: {who}");
        return;
    }
    let (moto, id, _secret, _arn) = moto_with_user();
    let dir = tempfile::tempdir().unwrap();
    run_child(
        "a_wrong_secret_is_one_permanent_auth_error",
        dir.path(),
        &[
            (ENDPOINT, &moto.endpoint()),
            ("AWS_ACCESS_KEY_ID", &id),
            ("AWS_SECRET_ACCESS_KEY", "definitely-wrong-secret"),
        ],
    );
}

#[test]
fn config_validation_table() {
    let d = AwsSessionConfig::default;
    let cases: Vec<(&str, AwsSessionConfig, &[&str])> = vec![
        ("defaults", d(), &[]),
        (
            "the brief's keys",
            AwsSessionConfig {
                region: "us-east-1".into(),
                endpoint: "https://logs.us-east-1.amazonaws.com".into(),
                role_arn: "arn:aws:iam::123456789012:role/x".into(),
                external_id: "ext".into(),
                ..d()
            },
            &[],
        ),
        (
            "plain http endpoint",
            AwsSessionConfig {
                endpoint: "http://127.0.0.1:4566".into(),
                ..d()
            },
            &[],
        ),
        (
            "endpoint without scheme",
            AwsSessionConfig {
                endpoint: "logs.us-east-1.amazonaws.com".into(),
                ..d()
            },
            &["endpoint"],
        ),
        (
            "ftp endpoint",
            AwsSessionConfig {
                endpoint: "ftp://example.com".into(),
                ..d()
            },
            &["endpoint"],
        ),
        (
            "bad region",
            AwsSessionConfig {
                region: "US East 1".into(),
                ..d()
            },
            &["region"],
        ),
        (
            "bad role_arn",
            AwsSessionConfig {
                role_arn: "my-role".into(),
                ..d()
            },
            &["role_arn"],
        ),
        (
            "external_id alone",
            AwsSessionConfig {
                external_id: "ext".into(),
                ..d()
            },
            &["external_id"],
        ),
        (
            "not wired yet, and a proxy that is not http://",
            AwsSessionConfig {
                no_verify_ssl: true,
                proxy_address: "socks5://proxy:1080".into(),
                certificate_file_path: "/etc/ca.pem".into(),
                imds_retries: 3,
                ..d()
            },
            &["proxy_address", "imds_retries"],
        ),
        (
            "zero workers, empty credentials file",
            AwsSessionConfig {
                num_workers: 0,
                shared_credentials_file: vec![String::new()],
                ..d()
            },
            &["shared_credentials_file", "num_workers"],
        ),
    ];
    for (name, cfg, want) in cases {
        let got: Vec<String> = cfg.validate().into_iter().map(|p| p.path).collect();
        assert_eq!(got, want, "{name}");
    }
    // Paths under an exporter's prefix, and a reason in the message.
    let problems = AwsSessionConfig {
        proxy_address: "proxy:3128".into(),
        ..d()
    }
    .problems_at("exporters::awsxray");
    assert_eq!(problems[0].path, "exporters::awsxray::proxy_address");
    assert!(
        problems[0].message.contains("http://host:port"),
        "{}",
        problems[0].message
    );
    // Defaults as upstream's CreateDefaultSessionConfig.
    assert_eq!(d().request_timeout_seconds, 30);
    assert_eq!(d().max_retries, 2);
    assert_eq!(d().num_workers, 8);
    // Unknown keys are refused; upstream keys accepted.
    let parsed: AwsSessionConfig =
        serde_json::from_str(r#"{"region":"eu-west-1","max_retries":5,"local_mode":true}"#)
            .unwrap();
    assert_eq!(parsed.region, "eu-west-1");
    assert_eq!(parsed.max_retries, 5);
    assert!(serde_json::from_str::<AwsSessionConfig>(r#"{"regoin":"x"}"#).is_err());
}

#[tokio::test]
async fn load_refuses_an_invalid_config() {
    let err = load(&AwsSessionConfig {
        endpoint: "nope".into(),
        ..AwsSessionConfig::default()
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("endpoint"), "{err}");
}

// ---- TLS and proxy: stratus's own HTTP client ----

/// A TLS endpoint with a certificate of a private CA for 127.0.0.1, forwarding the
/// decrypted bytes to `upstream` (moto): `(https URL, CA PEM)`.
async fn private_ca_endpoint(upstream: u16) -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(stratus_tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut moto) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut moto).await;
            });
        }
    });
    (format!("https://127.0.0.1:{port}"), ca.pem())
}

/// A `CONNECT` proxy on 127.0.0.1: `(http URL, the request heads it received)`.
async fn connect_proxy() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let record = record.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let target = head
                    .strip_prefix("CONNECT ")
                    .and_then(|r| r.split_whitespace().next())
                    .map(str::to_owned);
                record.lock().unwrap().push(head);
                let Some(target) = target else {
                    let _ = client
                        .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                        .await;
                    return;
                };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (format!("http://127.0.0.1:{port}"), seen)
}

/// Static keys in a credentials file named by the session, so no process
/// environment is needed.
fn with_profile(cfg: AwsSessionConfig, dir: &Path) -> AwsSessionConfig {
    let file = dir.join("credentials");
    std::fs::write(
        &file,
        "[tls-test]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n\
         aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    )
    .unwrap();
    AwsSessionConfig {
        profile: "tls-test".into(),
        shared_credentials_file: vec![file.display().to_string()],
        ..cfg
    }
}

async fn try_caller(cfg: &AwsSessionConfig) -> Result<String, String> {
    try_caller_reason(cfg).await.map_err(|(e, _)| e)
}

async fn try_caller_reason(cfg: &AwsSessionConfig) -> Result<String, (String, Reason)> {
    let sdk = load(cfg).await.unwrap();
    let sts = aws_sdk_sts::Client::new(&sdk);
    match sts.get_caller_identity().send().await {
        Ok(out) => Ok(out.arn().unwrap_or_default().to_owned()),
        Err(e) => {
            let (error, reason) = classify_sdk_error("GetCallerIdentity", &e);
            Err((error.to_string(), reason))
        }
    }
}

/// An endpoint behind a private CA: refused with the system's roots, reached with
/// `certificate_file_path`, and with `no_verify_ssl`.
#[tokio::test]
async fn certificate_file_path_and_no_verify_ssl() {
    let moto = Moto::start();
    let (url, ca_pem) = private_ca_endpoint(moto.port()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let base = with_profile(config(&url), dir.path());

    let refused = try_caller(&base).await.unwrap_err();
    assert!(
        refused.contains("certificate") || refused.contains("Unknown"),
        "{refused}"
    );

    let trusted = AwsSessionConfig {
        certificate_file_path: ca.display().to_string(),
        ..base.clone()
    };
    assert!(try_caller(&trusted).await.unwrap().starts_with("arn:aws:"));

    let unverified = AwsSessionConfig {
        no_verify_ssl: true,
        ..base
    };
    assert!(
        try_caller(&unverified)
            .await
            .unwrap()
            .starts_with("arn:aws:")
    );
}

/// `proxy_address` tunnels the calls through the proxy with `CONNECT`, with
/// `Proxy-Authorization` from the URL's user info, to plain and TLS endpoints.
#[tokio::test]
async fn proxy_address_tunnels_every_call() {
    let moto = Moto::start();
    let (proxy, seen) = connect_proxy().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = AwsSessionConfig {
        proxy_address: proxy.replace("http://", "http://svc:s3cret@"),
        ..with_profile(config(&moto.endpoint()), dir.path())
    };
    assert!(try_caller(&cfg).await.unwrap().starts_with("arn:aws:"));
    let heads = seen.lock().unwrap().clone();
    assert!(!heads.is_empty());
    let moto_target = format!("CONNECT 127.0.0.1:{} HTTP/1.1", moto.port());
    assert!(heads[0].starts_with(&moto_target), "{heads:?}");
    // base64("svc:s3cret")
    assert!(
        heads[0].contains("Proxy-Authorization: Basic c3ZjOnMzY3JldA=="),
        "{heads:?}"
    );

    // TLS inside the tunnel.
    let (url, _) = private_ca_endpoint(moto.port()).await;
    let cfg = AwsSessionConfig {
        proxy_address: proxy.clone(),
        no_verify_ssl: true,
        ..with_profile(config(&url), dir.path())
    };
    assert!(try_caller(&cfg).await.unwrap().starts_with("arn:aws:"));
    let port = url.rsplit(':').next().unwrap().to_owned();
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|h| h.starts_with(&format!("CONNECT 127.0.0.1:{port} "))),
        "the TLS endpoint was reached through the proxy"
    );

    // A proxy that is not there: a network error (retryable), not a hang.
    let gone = AwsSessionConfig {
        proxy_address: format!("http://127.0.0.1:{}", stratus_testkit::net::free_port()),
        ..with_profile(config(&moto.endpoint()), dir.path())
    };
    let (err, reason) = try_caller_reason(&gone).await.unwrap_err();
    assert_eq!(reason, Reason::Network, "{err}");
}
