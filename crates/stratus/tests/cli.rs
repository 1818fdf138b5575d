#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The command line as users meet it: validate, components, version, the embedded
//! default config, config merging and `--set`, internal metrics and the health check.

mod common;

use std::process::Command;

use common::configs::{Ports, gateway};
use common::*;

/// Kills the process when the test ends, passed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn stratus(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn validate_reports_every_problem_with_path_line_and_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        r#"receivers:
  otlp:
    protocols:
      grpc:
        endpiont: 0.0.0.0:4317
processors:
  batch:
    timeout: soon
exporters:
  debug: {}
  otlphtp:
    endpoint: http://x
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [bacth]
      exporters: [debug]
    logs:
      receivers: [otlp]
"#,
    )
    .unwrap();
    let out = stratus(&["validate", "--config", bad.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    for expected in [
        // unknown key, with line and a suggestion
        "bad.yaml:5:9: receivers::otlp::protocols::grpc::endpiont",
        "did you mean `endpoint`?",
        // bad duration
        "processors::batch::timeout",
        // unknown component type, with a suggestion
        "exporters::otlphtp",
        "did you mean `otlphttp`?",
        // id used but not defined
        "service::pipelines::traces::processors",
        "did you mean `batch`?",
        // a pipeline without exporters
        "service::pipelines::logs",
    ] {
        assert!(
            stderr.contains(expected),
            "missing `{expected}` in:\n{stderr}"
        );
    }

    let good = dir.path().join("good.yaml");
    std::fs::write(&good, gateway(Ports::new(), dir.path(), "{}")).unwrap();
    let out = stratus(&["validate", "--config", good.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn running_with_an_invalid_config_exits_78_without_starting() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "receivers: {nope: {}}\nservice: {pipelines: {}}\n").unwrap();
    let out = stratus(&["--config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("receivers::nope"), "{stderr}");
}

#[test]
fn components_and_version() {
    let out = stratus(&["components"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    // Whole rows, by section: kind, type, signals with stability.
    let all = |st: &str| format!("traces ({st}), metrics ({st}), logs ({st})");
    let routes =
        |st: &str| format!("traces->traces ({st}), metrics->metrics ({st}), logs->logs ({st})");
    let expected: Vec<(&str, String, String)> = vec![
        ("receivers", "otlp".into(), all("stable")),
        ("processors", "batch".into(), all("stable")),
        ("processors", "memory_limiter".into(), all("beta")),
        ("exporters", "debug".into(), all("development")),
        ("exporters", "file".into(), all("alpha")),
        ("exporters", "nop".into(), all("beta")),
        (
            "exporters",
            "otlp".into(),
            format!("{} [deprecated name of otlp_grpc]", all("stable")),
        ),
        ("exporters", "otlp_grpc".into(), all("stable")),
        ("exporters", "otlp_http".into(), all("stable")),
        (
            "exporters",
            "otlphttp".into(),
            format!("{} [deprecated name of otlp_http]", all("stable")),
        ),
        ("connectors", "failover".into(), routes("alpha")),
        ("connectors", "forward".into(), routes("beta")),
        ("extensions", "file_storage".into(), String::new()),
        ("extensions", "health_check".into(), String::new()),
    ];
    let mut rows = Vec::new();
    let mut section = "";
    for line in text.lines().skip(1) {
        if let Some(name) = line.strip_suffix(':') {
            section = name;
            continue;
        }
        let line = line.trim();
        let (ty, rest) = line.split_once(' ').unwrap_or((line, ""));
        rows.push((section, ty.to_string(), rest.trim().to_string()));
    }
    for row in &expected {
        assert!(rows.contains(row), "missing row {row:?} in\n{text}");
    }
    assert_eq!(rows.len(), expected.len(), "unexpected rows in\n{text}");
    let out = stratus(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("stratus {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn merged_configs_and_set_override_take_effect() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::new();
    let out_a = dir.path().join("a");
    let out_b = dir.path().join("b");
    std::fs::create_dir_all(&out_a).unwrap();
    std::fs::create_dir_all(&out_b).unwrap();
    // The second file moves the trace output; --set moves the gRPC port.
    let override_file = dir.path().join("override.yaml");
    std::fs::write(
        &override_file,
        format!(
            "exporters:\n  file/traces:\n    path: {}/traces.out\n",
            out_b.display()
        ),
    )
    .unwrap();
    let new_port = free_port();
    let mut s = Stratus::start_with_args(
        dir.path(),
        "merged",
        &gateway(ports, &out_a, "{timeout: 10ms}"),
        &[
            "--config",
            override_file.to_str().unwrap(),
            "--set",
            &format!("receivers::otlp::protocols::grpc::endpoint=127.0.0.1:{new_port}"),
        ],
    );
    s.wait_running();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut client = trace_client(new_port).await;
        client.export(make_spans(1, 3)).await.unwrap();
    });
    let ids = wait_for("spans in the overridden file", || {
        let ids = span_ids(&out_b.join("traces.out"));
        (ids.len() == 3).then_some(ids)
    });
    assert_eq!(ids, vec![1, 2, 3]);
    assert!(!out_a.join("traces.out").exists() || span_ids(&out_a.join("traces.out")).is_empty());
}

#[test]
fn env_references_expand_in_a_running_config() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::new();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let config = gateway(ports, &out, "{timeout: 10ms}").replace(
        &format!("endpoint: 127.0.0.1:{}", ports.grpc),
        "endpoint: ${env:STRATUS_E2E_HOST:-127.0.0.1}:${STRATUS_E2E_PORT}",
    );
    let path = dir.path().join("env.yaml");
    std::fs::write(&path, config).unwrap();
    let out_log = std::fs::File::create(dir.path().join("env.log")).unwrap();
    let _child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_stratus"))
            .args(["--config", path.to_str().unwrap()])
            .env("STRATUS_E2E_PORT", ports.grpc.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(out_log)
            .spawn()
            .unwrap(),
    );
    wait_port(ports.grpc);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        trace_client(ports.grpc)
            .await
            .export(make_spans(5, 2))
            .await
            .unwrap();
    });
    wait_for("spans via env-configured port", || {
        (span_ids(&out.join("traces.out")).len() == 2).then_some(())
    });
}

#[test]
fn metrics_count_every_span_and_health_check_answers() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::new();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut s = Stratus::start(dir.path(), "gw", &gateway(ports, &out, "{timeout: 10ms}"));
    s.wait_running();

    let health = http("GET", ports.health, "/", &[], b"");
    assert_eq!(health.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&health.body).unwrap();
    assert_eq!(body["status"], "Server available");
    assert!(body["upSince"].as_str().unwrap().contains('T'));
    assert!(body["uptime"].as_str().is_some());

    let n = 137u64;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut client = trace_client(ports.grpc).await;
        let mut sent = 0;
        while sent < n {
            let count = (n - sent).min(40);
            client.export(make_spans(sent, count)).await.unwrap();
            sent += count;
        }
    });
    let accepted = "otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"grpc\"}";
    let sent = "otelcol_exporter_sent_spans{exporter=\"file/traces\"}";
    wait_for("exporter sent count", || {
        (metric(ports.metrics, sent) == n as f64).then_some(())
    });
    assert_eq!(metric(ports.metrics, accepted), n as f64);
    assert_eq!(
        metric(
            ports.metrics,
            "otelcol_processor_incoming_items{processor=\"batch\",otel_signal=\"traces\"}"
        ),
        n as f64
    );
    assert_eq!(
        metric(
            ports.metrics,
            "otelcol_processor_outgoing_items{processor=\"batch\",otel_signal=\"traces\"}"
        ),
        n as f64
    );
    let text = http("GET", ports.metrics, "/metrics", &[], b"").text();
    for name in [
        "otelcol_process_uptime",
        "otelcol_process_memory_rss",
        "otelcol_process_cpu_seconds",
        "otelcol_processor_batch_batch_send_size_count",
        "otelcol_exporter_send_failed_spans",
        "otelcol_receiver_refused_spans",
    ] {
        assert!(text.contains(name), "missing {name}");
    }
    assert!(metric(ports.metrics, "otelcol_process_memory_rss") > 0.0);
    assert_eq!(span_ids(&out.join("traces.out")).len() as u64, n);

    // Shutdown: exit 0.
    s.terminate();
    assert!(s.wait_exit().success());
}

#[test]
fn no_config_runs_the_embedded_default_and_says_where_it_listens() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("default.log");
    // The embedded default listens on 4317/4318/8888; move them to free ports so the
    // test runs beside anything else on the machine. The banner shows the real ones.
    let (grpc, http_port, metrics) = (free_port(), free_port(), free_port());
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_stratus"))
            .args([
                "--set",
                &format!("receivers::otlp::protocols::grpc::endpoint=localhost:{grpc}"),
                "--set",
                &format!("receivers::otlp::protocols::http::endpoint=localhost:{http_port}"),
                "--set",
                &format!("service::telemetry::metrics::address=localhost:{metrics}"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let text = wait_for("the default config banner", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("Ctrl-C stops").then_some(text)
    });
    assert!(
        text.contains(&format!(
            "OTLP/gRPC on localhost:{grpc}, OTLP/HTTP on localhost:{http_port}"
        )) && text.contains(&format!(
            "OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:{grpc}"
        )),
        "{text}"
    );
    assert!(text.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{text}");
    // It really listens, and the debug exporter reports what arrives.
    let body = prost::Message::encode_to_vec(&make_spans(1, 3));
    let resp = http(
        "POST",
        http_port,
        "/v1/traces",
        &[("Content-Type", "application/x-protobuf")],
        &body,
    );
    assert_eq!(resp.status, 200);
    wait_for("the debug exporter's line", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("spans=3").then_some(())
    });
    Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    let status = wait_for("exit", || child.0.try_wait().unwrap());
    assert!(status.success());
}
