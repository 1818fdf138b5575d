//! Authentication between real processes: stratus agents and gateways, the
//! OpenTelemetry Python SDK as a client, and a local OpenID Connect issuer
//! (`tests/python/oidc_issuer.py`, which signs with the `cryptography` package).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::common::configs::Ports;
use super::common::{
    DEADLINE, Issuer, Stratus, free_port, http, make_spans, python, python_dir, span_ids,
    trace_client, wait_for,
};
use prost::Message;

/// A CA and a server certificate for `localhost` and `127.0.0.1`, written to `dir`.
pub struct Pki {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Pki {
    pub fn write(dir: &Path) -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "stratus test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let pki = Pki {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server-key.pem"),
        };
        std::fs::write(&pki.ca, ca.pem()).unwrap();
        std::fs::write(&pki.cert, cert.pem()).unwrap();
        std::fs::write(&pki.key, key.serialize_pem()).unwrap();
        pki
    }
}

/// Runs the Python SDK client over OTLP/HTTP with `headers`
/// (`OTEL_EXPORTER_OTLP_HEADERS`); returns whether every export succeeded.
fn python_http_client(port: u16, dump: &Path, spans: u32, headers: &str) -> bool {
    let out = Command::new(python())
        .arg(python_dir().join("otlp_client.py"))
        .args(["--protocol", "http", "--endpoint"])
        .arg(format!("http://127.0.0.1:{port}"))
        .arg("--dump")
        .arg(dump)
        .args(["--spans", &spans.to_string(), "--logs", "0"])
        .env("OTEL_EXPORTER_OTLP_HEADERS", headers)
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!(
            "python client failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.success()
}

/// One OTLP/HTTP protobuf trace export to `port` with `headers`; the status code.
fn post_traces(port: u16, headers: &[(&str, &str)], first: u64) -> u16 {
    let body = make_spans(first, 1).encode_to_vec();
    let mut all = vec![("Content-Type", "application/x-protobuf")];
    all.extend_from_slice(headers);
    http("POST", port, "/v1/traces", &all, &body).status
}

/// A gateway whose OTLP receiver (gRPC over TLS and plain HTTP) checks clients with
/// `auth_extension` (YAML of one `extensions:` entry named `auth_id`), writing traces
/// to `dir/traces.out`.
fn gateway(ports: Ports, dir: &Path, pki: &Pki, auth_id: &str, auth_extension: &str) -> String {
    format!(
        r#"
extensions:
{auth_extension}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
        tls:
          cert_file: {cert}
          key_file: {key}
        auth:
          authenticator: {auth_id}
      http:
        endpoint: 127.0.0.1:{http}
        auth:
          authenticator: {auth_id}
exporters:
  file:
    path: {out}
    format: proto
service:
  extensions: [{auth_id}]
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
"#,
        grpc = ports.grpc,
        http = ports.http,
        metrics = ports.metrics,
        cert = pki.cert.display(),
        key = pki.key.display(),
        out = dir.join("traces.out").display(),
    )
}

/// An agent taking OTLP/gRPC on 127.0.0.1 and forwarding traces with `exporter` (YAML of
/// one `exporters:` entry named `exporter_id`), which uses `auth_extension`.
pub fn agent(
    ports: Ports,
    exporter_id: &str,
    exporter: &str,
    auth_id: &str,
    auth_extension: &str,
) -> String {
    format!(
        r#"
extensions:
{auth_extension}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
exporters:
{exporter}
service:
  extensions: [{auth_id}]
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [{exporter_id}]
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
    )
}

fn failures(metrics_port: u16, transport: &str, reason: &str) -> f64 {
    let text = http("GET", metrics_port, "/metrics", &[], b"").text();
    let want = [
        "receiver=\"otlp\"".to_string(),
        format!("transport=\"{transport}\""),
        format!("reason=\"{reason}\""),
    ];
    text.lines()
        .filter(|l| l.starts_with("stratus_receiver_auth_failures{"))
        .find(|l| want.iter().all(|w| l.contains(w.as_str())))
        .and_then(|l| l.rsplit(' ').next())
        .map(|v| v.parse().unwrap())
        .unwrap_or_else(|| panic!("no auth failure series for {transport}/{reason} in:\n{text}"))
}

/// Sends spans `first..first+count` to the agent over gRPC.
pub fn send_to_agent(agent_grpc: u16, first: u64, count: u64) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut client = trace_client(agent_grpc).await;
        client.export(make_spans(first, count)).await.unwrap();
    });
}

#[test]
fn bearer_token_agent_to_gateway_and_token_file_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::write(dir.path());
    let token_file = dir.path().join("gateway.token");
    std::fs::write(&token_file, "tok-1\n").unwrap();
    let gw_ports = Ports::new();
    let gw = gateway(
        gw_ports,
        dir.path(),
        &pki,
        "bearertokenauth/in",
        &format!(
            "  bearertokenauth/in:\n    filename: {}\n",
            token_file.display()
        ),
    );
    let mut gateway = Stratus::start(dir.path(), "gateway", &gw);
    gateway.wait_running();

    // An agent with the default otlp exporter settings and the token inline.
    let ag_ports = Ports::new();
    let exporter = format!(
        "  otlp/gateway:\n    endpoint: localhost:{}\n    tls:\n      ca_file: {}\n    auth:\n      authenticator: bearertokenauth/out\n",
        gw_ports.grpc,
        pki.ca.display()
    );
    let ag = agent(
        ag_ports,
        "otlp/gateway",
        &exporter,
        "bearertokenauth/out",
        "  bearertokenauth/out:\n    token: tok-1\n",
    );
    let mut agent = Stratus::start(dir.path(), "agent", &ag);
    agent.wait_running();
    send_to_agent(ag_ports.grpc, 1, 5);
    let out = dir.path().join("traces.out");
    wait_for("the agent's spans at the gateway", || {
        let ids = span_ids(&out);
        (ids.len() >= 5).then_some(())
    });

    // The Python SDK over OTLP/HTTP: with the token it gets in, without it it does not.
    assert!(python_http_client(
        gw_ports.http,
        &dir.path().join("py-ok"),
        3,
        "authorization=Bearer%20tok-1"
    ));
    assert!(!python_http_client(
        gw_ports.http,
        &dir.path().join("py-none"),
        1,
        ""
    ));
    assert!(failures(gw_ports.metrics, "http", "missing") >= 1.0);
    assert_eq!(
        post_traces(gw_ports.http, &[("Authorization", "Bearer nope")], 100),
        401
    );
    assert!(failures(gw_ports.metrics, "http", "invalid") >= 1.0);

    // Rotating the token file: the new token gets in and the old one is refused,
    // without a restart.
    std::fs::write(&token_file, "tok-2\n").unwrap();
    wait_for("the rotated token to take effect", || {
        (post_traces(gw_ports.http, &[("Authorization", "Bearer tok-2")], 200) == 200).then_some(())
    });
    assert_eq!(
        post_traces(gw_ports.http, &[("Authorization", "Bearer tok-1")], 300),
        401
    );
    assert!(gateway.running(), "{}", gateway.logs());
    let logs = gateway.logs() + &agent.logs();
    assert!(
        !logs.contains("tok-1") && !logs.contains("tok-2"),
        "a token reached the logs"
    );
}

#[test]
fn basic_auth_agent_to_gateway_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::write(dir.path());
    // `{SHA}` is base64(SHA-1(password)), the htpasswd -s format: "s3cret-pass".
    let sha = {
        let out = Command::new(python())
            .args([
                "-c",
                "import base64,hashlib;print(base64.b64encode(hashlib.sha1(b's3cret-pass').digest()).decode())",
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let gw_ports = Ports::new();
    let gw = gateway(
        gw_ports,
        dir.path(),
        &pki,
        "basicauth/in",
        &format!("  basicauth/in:\n    htpasswd:\n      inline: |\n        agent:{{SHA}}{sha}\n"),
    );
    let mut gateway = Stratus::start(dir.path(), "gateway", &gw);
    gateway.wait_running();

    let ag_ports = Ports::new();
    let exporter = format!(
        "  otlphttp/gateway:\n    endpoint: http://127.0.0.1:{}\n    auth:\n      authenticator: basicauth/out\n",
        gw_ports.http
    );
    let ag = agent(
        ag_ports,
        "otlphttp/gateway",
        &exporter,
        "basicauth/out",
        "  basicauth/out:\n    client_auth:\n      username: agent\n      password: s3cret-pass\n",
    );
    let mut agent = Stratus::start(dir.path(), "agent", &ag);
    agent.wait_running();
    send_to_agent(ag_ports.grpc, 1, 4);
    let out = dir.path().join("traces.out");
    wait_for("the agent's spans at the gateway", || {
        (span_ids(&out).len() >= 4).then_some(())
    });

    // Wrong password and unknown user: 401, counted.
    let wrong = format!("Basic {}", b64("agent:wrong"));
    assert_eq!(
        post_traces(gw_ports.http, &[("Authorization", &wrong)], 50),
        401
    );
    let unknown = format!("Basic {}", b64("mallory:s3cret-pass"));
    assert_eq!(
        post_traces(gw_ports.http, &[("Authorization", &unknown)], 51),
        401
    );
    assert!(failures(gw_ports.metrics, "http", "invalid") >= 2.0);
    let logs = gateway.logs() + &agent.logs();
    assert!(
        !logs.contains("s3cret-pass"),
        "the password reached the logs"
    );
    let _ = DEADLINE;
}

fn b64(s: &str) -> String {
    use std::fmt::Write;
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.write_char(T[(n >> (18 - 6 * i) & 63) as usize] as char)
                    .unwrap();
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn oidc_gateway_and_oauth2_agent_from_the_published_configs() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::write(dir.path());
    let issuer = Issuer::start(dir.path());
    let configs = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/upstream-configs"
    );

    // The gateway: 17, as published, with its issuer, certificate and port made local.
    let gw_grpc = free_port();
    let gw_metrics = free_port();
    let server =
        std::fs::read_to_string(format!(
            "{configs}/17-openshift-qe-oidc-server-gateway.yaml"
        ))
        .unwrap()
        .replace("http://hydra:4444", &issuer.url())
        .replace("/certs/server.crt", &pki.cert.display().to_string())
        .replace("/certs/server.key", &pki.key.display().to_string())
        .replace(
            "      grpc:\n        tls:",
            &format!("      grpc:\n        endpoint: 127.0.0.1:{gw_grpc}\n        tls:"),
        ) + &format!("  telemetry:\n    metrics:\n      address: 127.0.0.1:{gw_metrics}\n");
    let mut gateway = Stratus::start(dir.path(), "gateway", &server);
    gateway.wait_running();

    // The agent: 18, as published, pointed at the issuer and the gateway.
    let (ag_grpc, ag_http) = (free_port(), free_port());
    let client = std::fs::read_to_string(format!("{configs}/18-openshift-qe-oauth2client-agent.yaml"))
        .unwrap()
        .replace("http://hydra:4444", &issuer.url())
        .replace(
            "chainsaw-oidc-server-collector:4317",
            &format!("localhost:{gw_grpc}"),
        )
        .replace("/certs/ca.crt", &pki.ca.display().to_string())
        .replace(
            "      grpc:\n      http:\n",
            &format!(
                "      grpc:\n        endpoint: 127.0.0.1:{ag_grpc}\n      http:\n        endpoint: 127.0.0.1:{ag_http}\n"
            ),
        )
        + &format!("  telemetry:\n    metrics:\n      address: 127.0.0.1:{}\n", free_port());
    let mut agent = Stratus::start(dir.path(), "agent", &client);
    agent.wait_running();

    // Three batches through the agent: each arrives (the gateway's debug exporter
    // prints every span), and the agent fetched one token for all of them.
    for batch in 0..3u64 {
        send_to_agent(ag_grpc, batch * 10 + 1, 2);
        let name = format!("span-{}", batch * 10 + 1);
        wait_for(&format!("{name} at the gateway"), || {
            gateway.logs().contains(&name).then_some(())
        });
    }
    assert_eq!(
        issuer.token_requests(),
        1,
        "the token is reused until it nears expiry"
    );

    // Tokens the gateway must refuse, over gRPC: expired, and for another audience.
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (token, reason) in [
        (issuer.mint(Issuer::CLIENT_ID, -120), "expired"),
        (issuer.mint("someone-else", 300), "invalid"),
    ] {
        let code = rt.block_on(async {
            let tls = tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(
                    std::fs::read(&pki.ca).unwrap(),
                ))
                .domain_name("localhost");
            let channel = tonic::transport::Endpoint::from_shared(format!("https://localhost:{gw_grpc}"))
                .unwrap()
                .tls_config(tls)
                .unwrap()
                .connect()
                .await
                .unwrap();
            let mut client = opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient::new(channel);
            let mut req = tonic::Request::new(make_spans(900, 1));
            req.metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
            client.export(req).await.unwrap_err().code()
        });
        assert_eq!(code, tonic::Code::Unauthenticated, "{reason}");
        assert!(
            failures(gw_metrics, "grpc", reason) >= 1.0,
            "{reason} not counted"
        );
    }
    let logs = gateway.logs() + &agent.logs();
    assert!(
        !logs.contains(Issuer::CLIENT_SECRET),
        "the client secret reached the logs"
    );
}
