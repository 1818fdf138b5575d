//! Drop-in compatibility: upstream's own config blocks for the OTLP receiver and the
//! `otlp` / `otlphttp` exporters, carrying the keys Go collector configs use
//! (`auth`, `authority`, `balancer_name`, `wait_for_ready`, the buffer sizes,
//! `proxy_url`, the connection-pool keys, `response_headers`, the HTTP timeouts,
//! snappy and lz4 bodies, `${file:...}` and `yaml:` sources). Each config is first
//! checked with `stratus validate`, then run against local peers, and data must arrive.
//!
//! The blocks come from open-telemetry/opentelemetry-collector at commit
//! 934999fbab274d10cbf18704b4594a6fb2049887:
//! `receiver/otlpreceiver/testdata/config.yaml`,
//! `exporter/otlpexporter/testdata/config.yaml` and
//! `exporter/otlphttpexporter/testdata/config.yaml`. What had to change to run here is
//! said next to each block: endpoints and file paths made local, and the test-only
//! `nop`/`test` authenticators replaced by real ones.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::auth::{Pki, agent, send_to_agent as send};
use super::common::configs::Ports;
use super::common::{Stratus, http, make_spans, span_ids, wait_for};
use prost::Message;

/// `stratus validate` on `config` (written to `dir/name.yaml`) with `args`; panics
/// with its output unless it passes.
fn validate(dir: &Path, name: &str, config: &str, args: &[&str]) {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(["validate", "--config"])
        .arg(&path)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} does not validate:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The gateway: upstream's OTLP receiver testdata as published, except endpoints (free
/// local ports), TLS files (a local CA's), and `auth.authenticator: test` (a test
/// extension of upstream's) replaced by `bearertokenauth/test`, whose token comes
/// from a `${file:...}` reference.
fn receiver_testdata_gateway(ports: Ports, dir: &Path, pki: &Pki, token_file: &Path) -> String {
    format!(
        r#"
extensions:
  bearertokenauth/test:
    token: ${{file:{token}}}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
        tls:
          cert_file: {cert}
          key_file: {key}
        max_recv_msg_size_mib: 32
        max_concurrent_streams: 16
        read_buffer_size: 1024
        write_buffer_size: 1024
        keepalive:
          server_parameters:
            max_connection_idle: 11s
            max_connection_age: 12s
            max_connection_age_grace: 13s
            time: 30s
            timeout: 5s
          enforcement_policy:
            min_time: 10s
            permit_without_stream: true
      http:
        endpoint: 127.0.0.1:{http}
        auth:
          authenticator: bearertokenauth/test
        cors:
          allowed_origins:
            - https://*.test.com
            - https://test.com
          max_age: 7200
        traces_url_path: traces
        metrics_url_path: /v2/metrics
        logs_url_path: log/ingest
        response_headers:
          x-served-by: stratus-gateway
        read_header_timeout: 10s
        read_timeout: 30s
        write_timeout: 30s
        idle_timeout: 1m
exporters:
  file:
    path: {out}
    format: proto
service:
  extensions: [bearertokenauth/test]
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
"#,
        token = token_file.display(),
        grpc = ports.grpc,
        http = ports.http,
        metrics = ports.metrics,
        cert = pki.cert.display(),
        key = pki.key.display(),
        out = dir.join("traces.out").display(),
    )
}

fn wait_spans(out: &Path, want: usize) {
    wait_for(&format!("{want} spans at the gateway"), || {
        (span_ids(out).len() >= want).then_some(())
    });
}

#[test]
fn otlp_exporter_testdata_delivers_to_the_receiver_testdata() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::write(dir.path());
    let token = dir.path().join("token");
    std::fs::write(&token, "dropin-token-123").unwrap();
    let gw_ports = Ports::new();
    let gw = receiver_testdata_gateway(gw_ports, dir.path(), &pki, &token);
    validate(dir.path(), "gateway", &gw, &[]);
    let mut gateway = Stratus::start(dir.path(), "gateway", &gw);
    gateway.wait_running();

    // Upstream's otlp exporter testdata. Changes: `endpoint` is the gateway through
    // `dns:///` (so `balancer_name: round_robin` resolves it), `tls.ca_file` the
    // local CA, `auth.authenticator: nop` is `bearertokenauth/out`, and the header
    // `can you have a . here?` is left out (not a valid gRPC metadata key, which
    // gRPC-Go refuses at send time and stratus at validate). Added: `authority`,
    // `wait_for_ready`, `read_buffer_size`, `write_buffer_size`.
    let exporter = format!(
        r#"  otlp:
    endpoint: "dns:///localhost:{port}"
    compression: "gzip"
    tls:
      ca_file: {ca}
    timeout: 10s
    sending_queue:
      enabled: true
      sizer: "items"
      num_consumers: 2
      queue_size: 100000
      batch:
        flush_timeout: 200ms
        min_size: 1000
        max_size: 10000
    retry_on_failure:
      enabled: true
      initial_interval: 10s
      randomization_factor: 0.7
      multiplier: 1.3
      max_interval: 60s
      max_elapsed_time: 10m
    auth:
      authenticator: bearertokenauth/out
    headers:
      header1: "234"
      another: "somevalue"
    keepalive:
      time: 20s
      timeout: 30s
      permit_without_stream: true
    balancer_name: "round_robin"
    authority: localhost
    wait_for_ready: true
    read_buffer_size: 65536
    write_buffer_size: 131072
"#,
        port = gw_ports.grpc,
        ca = pki.ca.display(),
    );
    let ag_ports = Ports::new();
    let ag = agent(
        ag_ports,
        "otlp",
        &exporter,
        "bearertokenauth/out",
        "  bearertokenauth/out:\n    token: dropin-token-123\n",
    );
    validate(dir.path(), "agent", &ag, &[]);
    let mut agent = Stratus::start(dir.path(), "agent", &ag);
    agent.wait_running();
    send(ag_ports.grpc, 1, 7);
    let out = dir.path().join("traces.out");
    wait_spans(&out, 7);

    // The receiver testdata's HTTP side: `traces_url_path: traces` serves `/traces`,
    // behind the token read through `${file:...}`, with `response_headers`.
    let body = make_spans(100, 1).encode_to_vec();
    let ok = http(
        "POST",
        gw_ports.http,
        "/traces",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Authorization", "Bearer dropin-token-123"),
        ],
        &body,
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.header("x-served-by"), Some("stratus-gateway"));
    let refused = http(
        "POST",
        gw_ports.http,
        "/traces",
        &[("Content-Type", "application/x-protobuf")],
        &body,
    );
    assert_eq!(refused.status, 401);
    assert_eq!(refused.header("x-served-by"), Some("stratus-gateway"));

    // snappy (block and framed) and lz4 bodies, as upstream's confighttp decodes them.
    let snappy = snap::raw::Encoder::new()
        .compress_vec(&make_spans(200, 1).encode_to_vec())
        .unwrap();
    let mut framed = snap::write::FrameEncoder::new(Vec::new());
    framed
        .write_all(&make_spans(201, 1).encode_to_vec())
        .unwrap();
    let framed = framed.into_inner().unwrap();
    let lz4 = {
        let mut w = lz4_flex::frame::FrameEncoder::new(Vec::new());
        w.write_all(&make_spans(202, 1).encode_to_vec()).unwrap();
        w.finish().unwrap()
    };
    for (encoding, body) in [
        ("snappy", snappy),
        ("x-snappy-framed", framed),
        ("lz4", lz4),
    ] {
        let resp = http(
            "POST",
            gw_ports.http,
            "/traces",
            &[
                ("Content-Type", "application/x-protobuf"),
                ("Content-Encoding", encoding),
                ("Authorization", "Bearer dropin-token-123"),
            ],
            &body,
        );
        assert_eq!(resp.status, 200, "{encoding}: {}", resp.text());
    }
    wait_spans(&out, 11);
    let mut ids = span_ids(&out);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7, 100, 200, 201, 202]);
    let logs = gateway.logs() + &agent.logs();
    assert!(
        !logs.contains("dropin-token-123"),
        "the token reached the logs"
    );
}

/// A plain-HTTP forward proxy: each client connection is tunnelled to the host of
/// its first request's absolute URI (`POST http://127.0.0.1:port/...`). Counts the
/// connections it carried.
fn forward_proxy() -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let carried = Arc::new(AtomicU64::new(0));
    let count = carried.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let count = count.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let line = String::from_utf8_lossy(&head).into_owned();
                let target = line
                    .split(' ')
                    .nth(1)
                    .and_then(|uri| uri.strip_prefix("http://"))
                    .and_then(|rest| rest.split('/').next())
                    .map(str::to_string);
                let Some(target) = target else { return };
                let Ok(mut upstream) = TcpStream::connect(&target) else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                upstream.write_all(&head).unwrap();
                let mut up_read = upstream.try_clone().unwrap();
                let mut client_write = client.try_clone().unwrap();
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut up_read, &mut client_write);
                });
                let _ = std::io::copy(&mut client, &mut upstream);
            });
        }
    });
    (port, carried)
}

#[test]
fn otlphttp_exporter_testdata_through_a_proxy_with_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("traces.out");
    // The gateway: HTTP only, basic auth, `response_headers` in upstream's list form.
    let gw_ports = Ports::new();
    let gw = format!(
        r#"
extensions:
  basicauth/in:
    htpasswd:
      inline: |
        agent:{{PLAIN}}pool-pass-456
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{http}
        auth:
          authenticator: basicauth/in
        response_headers:
          - name: x-gateway
            value: eu-1
exporters:
  file:
    path: {out}
    format: proto
service:
  extensions: [basicauth/in]
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
"#,
        http = gw_ports.http,
        metrics = gw_ports.metrics,
        out = out.display(),
    );
    validate(dir.path(), "gateway", &gw, &[]);
    let mut gateway = Stratus::start(dir.path(), "gateway", &gw);
    gateway.wait_running();

    let (proxy_port, carried) = forward_proxy();
    // Upstream's otlphttp exporter testdata. Changes: `endpoint` is the gateway over
    // plain HTTP, so the `tls` block (files that do not exist) is left out, and
    // `profiles_endpoint` too (stratus has no profiles signal and says so). Added:
    // `proxy_url`, `max_idle_conns`, `idle_conn_timeout`, `auth`.
    let exporter = format!(
        r#"  otlphttp:
    endpoint: "http://127.0.0.1:{port}"
    timeout: 10s
    read_buffer_size: 123
    write_buffer_size: 345
    sending_queue:
      enabled: true
      num_consumers: 2
      queue_size: 10
    retry_on_failure:
      enabled: true
      initial_interval: 10s
      randomization_factor: 0.7
      multiplier: 1.3
      max_interval: 60s
      max_elapsed_time: 10m
    headers:
      header1: "234"
      another: "somevalue"
    compression: gzip
    proxy_url: http://127.0.0.1:{proxy_port}
    max_idle_conns: 10
    idle_conn_timeout: 30s
    auth:
      authenticator: basicauth/out
"#,
        port = gw_ports.http,
    );
    let ag_ports = Ports::new();
    let ag = agent(
        ag_ports,
        "otlphttp",
        &exporter,
        "basicauth/out",
        "  basicauth/out:\n    client_auth:\n      username: agent\n      password: pool-pass-456\n",
    );
    // A `yaml:` source on the command line overrides one key, as upstream's provider.
    let yaml = "yaml:exporters::otlphttp::timeout: 7s";
    validate(dir.path(), "agent", &ag, &["--config", yaml]);
    let mut agent = Stratus::start_with_args(dir.path(), "agent", &ag, &["--config", yaml]);
    agent.wait_running();
    send(ag_ports.grpc, 1, 5);
    wait_spans(&out, 5);
    assert!(
        carried.load(Ordering::SeqCst) >= 1,
        "the exporter did not go through proxy_url"
    );
    let logs = gateway.logs() + &agent.logs();
    assert!(
        !logs.contains("pool-pass-456"),
        "the password reached the logs"
    );
}
