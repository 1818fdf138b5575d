#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real OTLP clients against a real stratus: the official OpenTelemetry Python SDK
//! over gRPC and HTTP/protobuf, OTLP/JSON documents POSTed over HTTP (plain, gzip,
//! zstd), and an agent → gateway chain. Everything must arrive unchanged: the tests
//! compare decoded messages, not counts.

mod common;

use std::io::Write;
use std::path::Path;

use common::configs::{Ports, agent, gateway};
use common::*;

/// Waits until the gateway's file outputs hold as many items as `expected` of each
/// signal, then asserts they are equal message by message.
fn assert_arrived(out_dir: &Path, dumps: &[&Path]) {
    let read_all = |name: &str| -> Vec<Vec<u8>> {
        dumps
            .iter()
            .flat_map(|d| read_length_prefixed(&d.join(name)))
            .collect()
    };
    let sent_spans = flat_spans(&read_all("traces.bin"));
    let sent_metrics = flat_metrics(&read_all("metrics.bin"));
    let sent_logs = flat_logs(&read_all("logs.bin"));
    let got_spans = wait_flat(
        "all spans at the gateway",
        &out_dir.join("traces.out"),
        sent_spans.len(),
        flat_spans,
    );
    let got_metrics = wait_flat(
        "all metrics at the gateway",
        &out_dir.join("metrics.out"),
        sent_metrics.len(),
        flat_metrics,
    );
    let got_logs = wait_flat(
        "all logs at the gateway",
        &out_dir.join("logs.out"),
        sent_logs.len(),
        flat_logs,
    );
    assert_eq!(got_spans.len(), sent_spans.len(), "span count");
    assert!(
        got_spans == sent_spans,
        "spans differ from what the SDK sent"
    );
    assert!(
        got_metrics == sent_metrics,
        "metrics differ from what the SDK sent"
    );
    assert!(got_logs == sent_logs, "logs differ from what the SDK sent");
}

#[test]
fn python_sdk_over_grpc_and_http_arrives_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::new();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut gw = Stratus::start(
        dir.path(),
        "gateway",
        &gateway(ports, &out, "{timeout: 100ms}"),
    );
    gw.wait_running();

    let grpc_dump = dir.path().join("grpc");
    let grpc_endpoint = format!("127.0.0.1:{}", ports.grpc);
    run_python_client(&[
        "--protocol",
        "grpc",
        "--endpoint",
        &grpc_endpoint,
        "--spans",
        "25",
        "--logs",
        "7",
        "--metrics",
        "--dump",
        grpc_dump.to_str().unwrap(),
    ]);
    let http_dump = dir.path().join("http");
    let http_endpoint = format!("http://127.0.0.1:{}", ports.http);
    run_python_client(&[
        "--protocol",
        "http",
        "--endpoint",
        &http_endpoint,
        "--compression",
        "gzip",
        "--spans",
        "30",
        "--logs",
        "9",
        "--metrics",
        "--service",
        "over-http",
        "--dump",
        http_dump.to_str().unwrap(),
    ]);
    assert_arrived(&out, &[&grpc_dump, &http_dump]);
    // Both traces go through the SDK: 2 spans per iteration.
    assert_eq!(
        flat_spans(&read_length_prefixed(&out.join("traces.out"))).len(),
        110
    );
}

#[test]
fn otlp_json_documents_over_http_arrive_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::new();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut gw = Stratus::start(
        dir.path(),
        "gateway",
        &gateway(ports, &out, "{timeout: 50ms}"),
    );
    gw.wait_running();

    let pairs = pairs_dir();
    let (mut spans, mut metrics, mut logs) = (Vec::new(), Vec::new(), Vec::new());
    for case in ["v01", "v02", "v03", "v04", "v05", "v06", "v07"] {
        let json = std::fs::read(pairs.join(format!("{case}.otlp.json"))).unwrap();
        let binpb = std::fs::read(pairs.join(format!("{case}.otlp.binpb"))).unwrap();
        let text = String::from_utf8_lossy(&json);
        let path = if text.contains("\"resourceSpans\"") {
            spans.push(binpb);
            "/v1/traces"
        } else if text.contains("\"resourceMetrics\"") {
            metrics.push(binpb);
            "/v1/metrics"
        } else {
            logs.push(binpb);
            "/v1/logs"
        };
        // Each document three times: plain, gzip and zstd bodies.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&json).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&json[..], 3).unwrap();
        for (encoding, body) in [
            (None, json.clone()),
            (Some("gzip"), gz),
            (Some("zstd"), zst),
        ] {
            let mut headers = vec![("Content-Type", "application/json")];
            if let Some(e) = encoding {
                headers.push(("Content-Encoding", e));
            }
            let resp = http("POST", ports.http, path, &headers, &body);
            assert_eq!(resp.status, 200, "{case} {encoding:?}: {}", resp.text());
            assert!(
                resp.header("content-type")
                    .unwrap()
                    .starts_with("application/json")
            );
        }
    }
    let triple = |v: &Vec<Vec<u8>>| {
        v.iter()
            .flat_map(|x| [x.clone(), x.clone(), x.clone()])
            .collect::<Vec<_>>()
    };
    let want_spans = flat_spans(&triple(&spans));
    let want_metrics = flat_metrics(&triple(&metrics));
    let want_logs = flat_logs(&triple(&logs));
    assert!(!want_spans.is_empty() && !want_metrics.is_empty() && !want_logs.is_empty());
    let got = wait_flat(
        "json spans",
        &out.join("traces.out"),
        want_spans.len(),
        flat_spans,
    );
    assert!(
        got == want_spans,
        "spans from OTLP/JSON differ from the protobuf reference"
    );
    let got = wait_flat(
        "json metrics",
        &out.join("metrics.out"),
        want_metrics.len(),
        flat_metrics,
    );
    assert!(
        got == want_metrics,
        "metrics from OTLP/JSON differ from the protobuf reference"
    );
    let got = wait_flat(
        "json logs",
        &out.join("logs.out"),
        want_logs.len(),
        flat_logs,
    );
    assert!(
        got == want_logs,
        "logs from OTLP/JSON differ from the protobuf reference"
    );
}

#[test]
fn agent_to_gateway_chain_delivers_everything_identical() {
    let dir = tempfile::tempdir().unwrap();
    let gw_ports = Ports::new();
    let agent_ports = Ports::new();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut gw = Stratus::start(
        dir.path(),
        "gateway",
        &gateway(gw_ports, &out, "{timeout: 50ms}"),
    );
    gw.wait_running();
    let mut ag = Stratus::start(
        dir.path(),
        "agent",
        &agent(agent_ports, gw_ports.grpc, "{timeout: 50ms}", ""),
    );
    ag.wait_running();

    let dump = dir.path().join("dump");
    run_python_client(&[
        "--protocol",
        "grpc",
        "--endpoint",
        &format!("127.0.0.1:{}", agent_ports.grpc),
        "--spans",
        "200",
        "--logs",
        "50",
        "--metrics",
        "--dump",
        dump.to_str().unwrap(),
    ]);
    let http_dump = dir.path().join("dump-http");
    run_python_client(&[
        "--protocol",
        "http",
        "--endpoint",
        &format!("http://127.0.0.1:{}", agent_ports.http),
        "--spans",
        "20",
        "--logs",
        "5",
        "--dump",
        http_dump.to_str().unwrap(),
    ]);
    assert_arrived(&out, &[&dump, &http_dump]);

    // The agent sent gzip: the gateway counted what it accepted over gRPC.
    let accepted = metric(
        gw_ports.metrics,
        "otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"grpc\"}",
    );
    assert_eq!(accepted, 440.0);
    let sent = metric(
        agent_ports.metrics,
        "otelcol_exporter_sent_spans{exporter=\"otlp\"}",
    );
    assert_eq!(sent, 440.0);
}
