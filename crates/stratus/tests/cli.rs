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
        ("processors", "attributes".into(), all("beta")),
        ("processors", "batch".into(), all("stable")),
        ("processors", "filter".into(), all("alpha")),
        (
            "processors",
            "probabilistic_sampler".into(),
            "traces (beta), logs (alpha)".into(),
        ),
        (
            "processors",
            "redaction".into(),
            "traces (beta), metrics (alpha), logs (alpha)".into(),
        ),
        ("processors", "resource".into(), all("beta")),
        ("processors", "tail_sampling".into(), "traces (beta)".into()),
        ("processors", "memory_limiter".into(), all("beta")),
        ("processors", "resource_detection".into(), all("beta")),
        (
            "processors",
            "resourcedetection".into(),
            format!("{} [deprecated name of resource_detection]", all("beta")),
        ),
        ("exporters", "awscloudwatch".into(), "metrics (beta)".into()),
        ("exporters", "awsemf".into(), "metrics (beta)".into()),
        (
            "exporters",
            "awscloudwatchlogs".into(),
            "logs (beta)".into(),
        ),
        ("exporters", "awss3".into(), all("alpha")),
        ("exporters", "awsxray".into(), "traces (beta)".into()),
        ("exporters", "azureloganalytics".into(), all("alpha")),
        ("exporters", "azuremonitor".into(), all("beta")),
        ("exporters", "debug".into(), all("development")),
        ("exporters", "file".into(), all("alpha")),
        (
            "exporters",
            "loadbalancing".into(),
            "traces (beta), metrics (development), logs (beta)".into(),
        ),
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
        ("connectors", "routing".into(), routes("alpha")),
        ("extensions", "admin".into(), String::new()),
        ("extensions", "basicauth".into(), String::new()),
        ("extensions", "bearertokenauth".into(), String::new()),
        ("extensions", "file_storage".into(), String::new()),
        ("extensions", "health_check".into(), String::new()),
        ("extensions", "oauth2client".into(), String::new()),
        ("extensions", "oidc".into(), String::new()),
        ("extensions", "zpages".into(), String::new()),
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
fn env_and_file_references_expand_in_a_running_config() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::new();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // The HTTP endpoint comes from a file, as a mounted secret or config map would.
    let endpoint_file = dir.path().join("http-endpoint");
    std::fs::write(&endpoint_file, format!("127.0.0.1:{}\n", ports.http)).unwrap();
    let config = gateway(ports, &out, "{timeout: 10ms}")
        .replace(
            &format!("endpoint: 127.0.0.1:{}", ports.grpc),
            "endpoint: ${env:STRATUS_E2E_HOST:-127.0.0.1}:${STRATUS_E2E_PORT}",
        )
        .replace(
            &format!("endpoint: 127.0.0.1:{}", ports.http),
            &format!("endpoint: ${{file:{}}}", endpoint_file.display()),
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
    wait_port(ports.http);
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

/// A small config of its own for one stratus: OTLP/gRPC in, `nop` out, and
/// `telemetry` (YAML text indented under `service::telemetry`).
fn with_telemetry(grpc: u16, telemetry: &str) -> String {
    format!(
        "receivers:\n  otlp:\n    protocols:\n      grpc: {{endpoint: \"127.0.0.1:{grpc}\"}}\n\
         exporters:\n  nop:\n\
         service:\n  pipelines:\n    traces: {{receivers: [otlp], exporters: [nop]}}\n  telemetry:\n{telemetry}"
    )
}

#[test]
fn prometheus_readers_serve_metrics_with_the_resource() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, suffixed) = (free_port(), free_port());
    let telemetry = format!(
        r#"    resource:
      deployment.environment: e2e
    metrics:
      readers:
        - pull:
            exporter:
              prometheus: {{host: 127.0.0.1, port: {plain}}}
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: {suffixed}
                without_type_suffix: false
                with_resource_constant_labels: {{included: [deployment.environment]}}
"#
    );
    let mut s = Stratus::start(dir.path(), "prom", &with_telemetry(free_port(), &telemetry));
    s.wait_running();
    let resp = http("GET", plain, "/metrics", &[], b"");
    assert_eq!(resp.status, 200);
    assert!(
        resp.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = resp.text();
    assert!(
        text.contains("# TYPE otelcol_process_uptime gauge"),
        "{text}"
    );
    let target = text
        .lines()
        .find(|l| l.starts_with("target_info{"))
        .unwrap_or_else(|| panic!("no target_info in:\n{text}"));
    for label in [
        "service_name=\"stratus\"",
        "deployment_environment=\"e2e\"",
        "service_instance_id=\"",
        &format!("service_version=\"{}\"", env!("CARGO_PKG_VERSION")),
    ] {
        assert!(target.contains(label), "{target}");
    }
    assert!(target.ends_with(" 1"), "{target}");
    // The second reader: counters with `_total`, the resource label on each series.
    let text = http("GET", suffixed, "/metrics", &[], b"").text();
    assert!(
        text.contains("otelcol_receiver_accepted_spans_total{receiver=\"otlp\",transport=\"grpc\",deployment_environment=\"e2e\"} 0"),
        "{text}"
    );
    assert_eq!(http("GET", plain, "/other", &[], b"").status, 404);
}

#[test]
fn periodic_readers_push_internal_metrics_over_otlp() {
    let dir = tempfile::tempdir().unwrap();
    let gw_ports = Ports::new();
    let out = dir.path().join("gw");
    std::fs::create_dir_all(&out).unwrap();
    let mut gw = Stratus::start(
        dir.path(),
        "gw",
        &gateway(gw_ports, &out, "{timeout: 10ms}"),
    );
    gw.wait_running();
    let telemetry = format!(
        r#"    metrics:
      level: detailed
      readers:
        - periodic:
            interval: 200
            exporter:
              otlp: {{protocol: grpc, endpoint: "http://127.0.0.1:{grpc}"}}
        - periodic:
            interval: 200ms
            timeout: 5s
            exporter:
              otlp_http: {{endpoint: "http://127.0.0.1:{http}", encoding: json}}
"#,
        grpc = gw_ports.grpc,
        http = gw_ports.http,
    );
    let mut s = Stratus::start(
        dir.path(),
        "pusher",
        &with_telemetry(free_port(), &telemetry),
    );
    s.wait_running();
    for transport in ["grpc", "http"] {
        let series = format!(
            "otelcol_receiver_accepted_metric_points{{receiver=\"otlp\",transport=\"{transport}\"}}"
        );
        wait_for(&format!("internal metrics over OTLP/{transport}"), || {
            (metric(gw_ports.metrics, &series) > 0.0).then_some(())
        });
    }
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    let names = wait_for("the pushed metric names in the gateway's file", || {
        let mut names = std::collections::BTreeSet::new();
        for raw in read_length_prefixed(&out.join("metrics.out")) {
            let req = <ExportMetricsServiceRequest as prost::Message>::decode(&raw[..]).unwrap();
            for rm in req.resource_metrics {
                let service = rm
                    .resource
                    .unwrap_or_default()
                    .attributes
                    .into_iter()
                    .find(|kv| kv.key == "service.name")
                    .and_then(|kv| kv.value?.value);
                assert_eq!(service, Some(V::StringValue("stratus".into())));
                for sm in rm.scope_metrics {
                    assert_eq!(sm.scope.unwrap_or_default().name, "stratus");
                    names.extend(sm.metrics.into_iter().map(|m| m.name));
                }
            }
        }
        names
            .contains("otelcol_receiver_accepted_spans")
            .then_some(names)
    });
    for name in [
        "otelcol_process_uptime",
        "otelcol_process_memory_rss",
        "otelcol_receiver_refused_spans",
    ] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
    // Shutdown pushes once more and exits cleanly.
    s.terminate();
    assert!(s.wait_exit().success(), "{}", s.logs());
}

#[test]
fn log_processors_export_stratus_logs_over_otlp() {
    let dir = tempfile::tempdir().unwrap();
    let gw_ports = Ports::new();
    let out = dir.path().join("gw");
    std::fs::create_dir_all(&out).unwrap();
    let mut gw = Stratus::start(
        dir.path(),
        "gw",
        &gateway(gw_ports, &out, "{timeout: 10ms}"),
    );
    gw.wait_running();
    let telemetry = format!(
        r#"    resource:
      service.name: edge-agent
    metrics:
      level: none
    logs:
      initial_fields: {{cell: c1}}
      processors:
        - batch:
            schedule_delay: 100
            exporter:
              otlp: {{protocol: grpc, endpoint: "127.0.0.1:{grpc}", insecure: true}}
        - simple:
            exporter:
              otlp: {{protocol: http/protobuf, endpoint: "http://127.0.0.1:{http}"}}
"#,
        grpc = gw_ports.grpc,
        http = gw_ports.http,
    );
    let mut s = Stratus::start(
        dir.path(),
        "logger",
        &with_telemetry(free_port(), &telemetry),
    );
    s.wait_running();
    // Console lines carry the initial fields and the configured resource.
    let line = s
        .logs()
        .lines()
        .find(|l| l.contains("stratus is running"))
        .unwrap()
        .to_string();
    assert!(line.contains("cell=c1"), "{line}");
    assert!(
        line.contains("resource={service.name=edge-agent}"),
        "{line}"
    );
    for transport in ["grpc", "http"] {
        let series = format!(
            "otelcol_receiver_accepted_log_records{{receiver=\"otlp\",transport=\"{transport}\"}}"
        );
        wait_for(&format!("stratus's logs over OTLP/{transport}"), || {
            (metric(gw_ports.metrics, &series) > 0.0).then_some(())
        });
    }
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
    let running = wait_for("the startup line twice in the gateway's file", || {
        let mut found = Vec::new();
        for raw in read_length_prefixed(&out.join("logs.out")) {
            let req = <ExportLogsServiceRequest as prost::Message>::decode(&raw[..]).unwrap();
            for rl in req.resource_logs {
                let resource = rl.resource.unwrap_or_default();
                for sl in rl.scope_logs {
                    for record in sl.log_records {
                        let body = record.body.clone().and_then(|b| b.value);
                        if body == Some(V::StringValue("stratus is running".into())) {
                            found.push((resource.clone(), record));
                        }
                    }
                }
            }
        }
        (found.len() >= 2).then_some(found)
    });
    let (resource, record) = &running[0];
    let attr = |attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue], key: &str| {
        attrs
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.clone()?.value)
    };
    assert_eq!(
        attr(&resource.attributes, "service.name"),
        Some(V::StringValue("edge-agent".into()))
    );
    assert_eq!(record.severity_text, "INFO");
    assert_eq!(record.severity_number, 9);
    assert_eq!(attr(&record.attributes, "pipelines"), Some(V::IntValue(1)));
    assert_eq!(
        attr(&record.attributes, "cell"),
        Some(V::StringValue("c1".into()))
    );
    s.terminate();
    assert!(s.wait_exit().success(), "{}", s.logs());
}

#[test]
fn colon_port_endpoints_listen_on_every_interface() {
    let dir = tempfile::tempdir().unwrap();
    let (grpc, http_port, health, metrics, prom) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    let config = format!(
        r#"receivers:
  otlp:
    protocols:
      grpc: {{endpoint: ":{grpc}"}}
      http: {{endpoint: ":{http_port}"}}
exporters:
  nop:
extensions:
  health_check: {{endpoint: ":{health}"}}
service:
  extensions: [health_check]
  pipelines:
    traces: {{receivers: [otlp], exporters: [nop]}}
  telemetry:
    metrics:
      address: ":{metrics}"
      readers:
        - pull: {{exporter: {{prometheus: {{host: "", port: {prom}}}}}}}
"#
    );
    let path = dir.path().join("any.yaml");
    std::fs::write(&path, &config).unwrap();
    let out = stratus(&["validate", "--config", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`address` is deprecated"),
        "the deprecation hint is missing"
    );
    let mut s = Stratus::start(dir.path(), "any", &config);
    s.wait_running();
    assert_eq!(http("GET", health, "/", &[], b"").status, 200);
    for port in [metrics, prom] {
        let text = http("GET", port, "/metrics", &[], b"").text();
        assert!(text.contains("otelcol_process_uptime"), "{port}: {text}");
    }
    let body = prost::Message::encode_to_vec(&make_spans(1, 2));
    let resp = http(
        "POST",
        http_port,
        "/v1/traces",
        &[("Content-Type", "application/x-protobuf")],
        &body,
    );
    assert_eq!(resp.status, 200);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        trace_client(grpc)
            .await
            .export(make_spans(3, 2))
            .await
            .unwrap();
    });
    let accepted = |transport: &str| {
        metric(
            prom,
            &format!(
                "otelcol_receiver_accepted_spans{{receiver=\"otlp\",transport=\"{transport}\"}}"
            ),
        )
    };
    assert_eq!((accepted("http"), accepted("grpc")), (2.0, 2.0));
    // Listening on every interface: the logs say 0.0.0.0, not a loopback address.
    assert!(
        s.logs().contains(&format!("0.0.0.0:{grpc}")),
        "{}",
        s.logs()
    );
}

#[test]
fn telemetry_that_validate_rejects_never_starts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        with_telemetry(
            free_port(),
            "    metrics:\n      address: \"::1:8888\"\n      readers:\n        - periodic: {exporter: {otlp: {protocol: grpc, temporality_preference: delta}}}\n",
        )
        .replace(
            "  pipelines:\n",
            "  pipelines:\n    profiles: {receivers: [otlp], exporters: [nop]}\n",
        ),
    )
    .unwrap();
    let out = stratus(&["--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "service::telemetry::metrics::address: invalid address: `::1:8888` has an IPv6 address without brackets: write `[::1]:8888`",
        "service::telemetry::metrics::readers::0::periodic::exporter::otlp::temporality_preference",
        "service::pipelines::profiles: the OTLP profiles signal is not supported by stratus yet",
    ] {
        assert!(
            stderr.contains(expected),
            "missing `{expected}` in:\n{stderr}"
        );
    }
}

/// Real collector configs from public repositories (`tests/data/upstream-configs`,
/// each with its `source:`): every one validates as published, then starts and stops
/// cleanly with its listeners moved to free loopback ports, its files into a temporary
/// directory, and its destinations to closed loopback ports (nothing leaves the machine).
#[test]
fn upstream_configs_validate_then_start_and_stop() {
    let dir_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/upstream-configs"
    );
    let env: Vec<(String, String)> = std::fs::read_to_string(format!("{dir_path}/env.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    let mut files: Vec<_> = std::fs::read_dir(dir_path)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    let tmp = tempfile::tempdir().unwrap();
    let tls = upstream::TestCert::write(tmp.path());
    let issuer = common::Issuer::start(tmp.path());
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.starts_with("# source: https://github.com/"),
            "{name}: no source line"
        );
        let out = Command::new(env!("CARGO_BIN_EXE_stratus"))
            .args(["validate", "--config"])
            .arg(file)
            .envs(env.iter().cloned())
            .output()
            .unwrap();
        if !out.status.success() {
            failures.push(format!(
                "{name}: validate failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        let work = tmp.path().join(&name);
        std::fs::create_dir_all(&work).unwrap();
        let config = upstream::relocate(&text, &work, &tls, &issuer.url());
        let config_path = work.join("config.yaml");
        std::fs::write(&config_path, config).unwrap();
        let log = work.join("stratus.log");
        let mut child = KillOnDrop(
            Command::new(env!("CARGO_BIN_EXE_stratus"))
                .arg("--config")
                .arg(&config_path)
                .envs(env.iter().cloned())
                .env("STRATUS_LOG", "info")
                .stdout(std::process::Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap(),
        );
        let logs = || std::fs::read_to_string(&log).unwrap_or_default();
        let started = wait_for("stratus to start or exit", || {
            if logs().contains("stratus is running") {
                return Some(true);
            }
            child.0.try_wait().unwrap().map(|_| false)
        });
        if !started {
            failures.push(format!("{name}: did not start:\n{}", logs()));
            continue;
        }
        Command::new("kill")
            .args(["-TERM", &child.0.id().to_string()])
            .status()
            .unwrap();
        let status = wait_for("stratus to exit", || child.0.try_wait().unwrap());
        if !status.success() || !logs().contains("shutdown complete") {
            failures.push(format!("{name}: unclean stop ({status}):\n{}", logs()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} upstream configs failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

/// Moves an upstream config onto this machine for a start/stop test.
mod upstream {
    use std::path::{Path, PathBuf};

    use serde_yaml_ng::{Mapping, Value};

    use super::common::free_port;

    /// A self-signed certificate and key for configs whose receivers serve TLS.
    pub struct TestCert {
        pub cert: PathBuf,
        pub key: PathBuf,
    }

    impl TestCert {
        pub fn write(dir: &Path) -> TestCert {
            let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
            let out = TestCert {
                cert: dir.join("test.crt"),
                key: dir.join("test.key"),
            };
            std::fs::write(&out.cert, cert.cert.pem()).unwrap();
            std::fs::write(&out.key, cert.signing_key.serialize_pem()).unwrap();
            out
        }
    }

    fn key(k: &str) -> Value {
        Value::String(k.to_string())
    }

    /// The mapping at `k` in `map`, created (or replacing a null) when missing.
    fn map_at<'a>(map: &'a mut Mapping, k: &str) -> &'a mut Mapping {
        let slot = map.entry(key(k)).or_insert(Value::Null);
        if !slot.is_mapping() {
            *slot = Value::Mapping(Mapping::new());
        }
        slot.as_mapping_mut().unwrap()
    }

    fn free_listener() -> Value {
        key(&format!("127.0.0.1:{}", free_port()))
    }

    /// `scheme://host:port/path` or `host:port`, pointed at a closed loopback port.
    fn closed_destination(endpoint: &str) -> Value {
        let port = free_port();
        match endpoint.split_once("://") {
            Some((scheme, rest)) => {
                let path = rest.find('/').map_or("", |i| &rest[i..]);
                key(&format!("{scheme}://127.0.0.1:{port}{path}"))
            }
            None => key(&format!("127.0.0.1:{port}")),
        }
    }

    fn relocate_destinations(map: &mut Mapping) {
        for k in [
            "endpoint",
            "traces_endpoint",
            "metrics_endpoint",
            "logs_endpoint",
        ] {
            if let Some(Value::String(e)) = map.get(k) {
                let moved = closed_destination(e);
                map.insert(key(k), moved);
            }
        }
    }

    /// Telemetry `readers` / `processors` lists: pull readers serve on a free port,
    /// OTLP exporters push to a closed one.
    fn relocate_telemetry_list(list: &mut Value) {
        for item in list.as_sequence_mut().into_iter().flatten() {
            for (_, reader) in item.as_mapping_mut().into_iter().flatten() {
                let Some(reader) = reader.as_mapping_mut() else {
                    continue;
                };
                let Some(exporter) = reader.get_mut("exporter").and_then(|e| e.as_mapping_mut())
                else {
                    continue;
                };
                if let Some(prom) = exporter
                    .get_mut("prometheus")
                    .and_then(|p| p.as_mapping_mut())
                {
                    prom.insert(key("host"), key("127.0.0.1"));
                    prom.insert(key("port"), Value::Number(free_port().into()));
                }
                for (_, otlp) in exporter.iter_mut() {
                    if let Some(otlp) = otlp.as_mapping_mut() {
                        relocate_destinations(otlp);
                    }
                }
            }
        }
    }

    pub fn relocate(text: &str, work: &Path, tls: &TestCert, issuer: &str) -> String {
        let mut doc: Value = serde_yaml_ng::from_str(text).unwrap();
        let root = doc.as_mapping_mut().unwrap();
        for (_, receiver) in map_at(root, "receivers").iter_mut() {
            let Some(protocols) = receiver
                .get_mut("protocols")
                .and_then(|p| p.as_mapping_mut())
            else {
                continue;
            };
            for (_, protocol) in protocols.iter_mut() {
                if !protocol.is_mapping() {
                    *protocol = Value::Mapping(Mapping::new());
                }
                let protocol = protocol.as_mapping_mut().unwrap();
                protocol.insert(key("endpoint"), free_listener());
                if let Some(t) = protocol.get_mut("tls").and_then(|t| t.as_mapping_mut()) {
                    t.insert(key("cert_file"), key(&tls.cert.display().to_string()));
                    t.insert(key("key_file"), key(&tls.key.display().to_string()));
                }
            }
        }
        for (id, exporter) in map_at(root, "exporters").iter_mut() {
            let id = id.as_str().unwrap_or_default().replace('/', "_");
            if !exporter.is_mapping() {
                *exporter = Value::Mapping(Mapping::new());
            }
            let exporter = exporter.as_mapping_mut().unwrap();
            if id == "file" || id.starts_with("file_") {
                let path = work.join(format!("{id}.out"));
                exporter.insert(key("path"), key(&path.display().to_string()));
            }
            relocate_destinations(exporter);
            if let Some(t) = exporter.get_mut("tls").and_then(|t| t.as_mapping_mut())
                && t.contains_key("ca_file")
            {
                t.insert(key("ca_file"), key(&tls.cert.display().to_string()));
            }
        }
        for (id, extension) in map_at(root, "extensions").iter_mut() {
            let id = id.as_str().unwrap_or_default().replace('/', "_");
            if !extension.is_mapping() {
                *extension = Value::Mapping(Mapping::new());
            }
            let extension = extension.as_mapping_mut().unwrap();
            if id.starts_with("health_check") {
                extension.insert(key("endpoint"), free_listener());
            } else if id.starts_with("file_storage") {
                let dir = work.join(&id);
                std::fs::create_dir_all(&dir).unwrap();
                extension.insert(key("directory"), key(&dir.display().to_string()));
            } else if id.starts_with("oidc") {
                // The gateway needs its issuer at start: the local one.
                extension.insert(key("issuer_url"), key(issuer));
            } else if id.starts_with("oauth2client") {
                extension.insert(key("token_url"), key(&format!("{issuer}/oauth2/token")));
            }
        }
        let telemetry = map_at(map_at(root, "service"), "telemetry");
        let metrics = map_at(telemetry, "metrics");
        if let Some(readers) = metrics.get_mut("readers") {
            relocate_telemetry_list(readers);
        } else {
            metrics.insert(key("address"), free_listener());
        }
        for signal in ["logs", "traces"] {
            if let Some(list) = telemetry
                .get_mut(signal)
                .and_then(|s| s.as_mapping_mut())
                .and_then(|s| s.get_mut("processors"))
            {
                relocate_telemetry_list(list);
            }
        }
        serde_yaml_ng::to_string(&doc).unwrap()
    }
}

/// `stratus validate` reports every TLS problem of real components at its key path
/// and line, before anything runs (no file is opened: `/x.crt` does not exist).
#[test]
fn validate_reports_tls_problems_at_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tls.yaml");
    std::fs::write(
        &path,
        r#"receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
        tls:
          cert_file: /x.crt
          key_file: /x.key
          min_version: "1.1"
exporters:
  otlp_grpc:
    endpoint: gw:4317
    tls:
      ca_file: /ca.pem
      ca_pem: "abc"
      cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]
      max_version: "1.2"
      min_version: "1.3"
  otlp_http:
    endpoint: https://gw:4318
    tls:
      cert_file: /c.pem
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [otlp_grpc, otlp_http]}
"#,
    )
    .unwrap();
    let out = stratus(&["validate", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(78));
    let text = String::from_utf8_lossy(&out.stderr).replace(path.to_str().unwrap(), "tls.yaml");
    for line in [
        "Error: invalid configuration (5 problems):",
        "tls.yaml:15:7: exporters::otlp_grpc::tls::ca_pem: give either `ca_file` or `ca_pem`, not both",
        "tls.yaml:16:7: exporters::otlp_grpc::tls::cipher_suites: cipher suite `TLS_RSA_WITH_RC4_128_SHA` is not supported: rustls implements only AEAD suites with forward secrecy",
        "tls.yaml:17:7: exporters::otlp_grpc::tls::max_version: `1.2` is lower than `min_version` `1.3`",
        "tls.yaml:21:5: exporters::otlp_http::tls::key_file: must be set (or `key_pem`) when a certificate is given",
        "tls.yaml:9:11: receivers::otlp::protocols::grpc::tls::min_version: TLS 1.1 is not supported: rustls speaks only TLS 1.2 and 1.3; use `1.2` or `1.3`",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
}

/// `metrics::level: none` really serves nothing (even with an address), and
/// `logs::output_paths` / `initial_fields` shape the running collector's log lines.
#[test]
fn level_none_serves_no_metrics_and_logs_go_to_output_paths() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = free_port();
    let log_file = dir.path().join("stratus-own.log");
    let telemetry = format!(
        "    metrics: {{level: none, address: \"127.0.0.1:{metrics}\"}}\n    logs:\n      output_paths: [\"{}\"]\n      initial_fields: {{cell: c9}}\n",
        log_file.display()
    );
    let grpc = free_port();
    let mut s = Stratus::start(dir.path(), "quiet", &with_telemetry(grpc, &telemetry));
    let line = wait_for("the startup line in the output path", || {
        let text = std::fs::read_to_string(&log_file).unwrap_or_default();
        text.lines()
            .find(|l| l.contains("stratus is running"))
            .map(str::to_string)
    });
    assert!(line.contains("cell") && line.contains("c9"), "{line}");
    wait_port(grpc);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", metrics)).is_err(),
        "level none still serves /metrics on {metrics}"
    );
    s.terminate();
    assert!(s.wait_exit().success(), "{}", s.logs());
}

/// The product brief's four AWS exporter blocks, exactly as the brief (and issue 7)
/// writes them.
const BRIEF_AWS_EXPORTERS: &str = r#"  awscloudwatchlogs: { log_group_name: /aws/otel/traces, log_stream_name: otel-collector, region: us-east-1 }
  awscloudwatch:
    namespace: OTLP/Metrics
    region: us-east-1
    metric_declarations:
      - dimensions: [[service.name, operation]]
        metric_name_selectors: ["^http\\..*", "^rpc\\..*"]
  awsxray: { region: us-east-1, index_all_attributes: true, indexed_attributes: [http.method, http.status_code, error] }
  awss3: { region: us-east-1, s3_bucket: otel-traces-archive, s3_prefix: traces/, s3_partition: hour, compression: gzip, marshaler: otlp_json }
"#;

/// `config/examples/aws.yaml` holds the brief's four blocks verbatim, validates, and
/// runs: with its listeners moved to free loopback ports by a second `--config`,
/// stratus starts, answers its health check and metrics, and stops cleanly.
#[test]
fn the_aws_example_holds_the_briefs_blocks_validates_and_runs() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/examples/aws.yaml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains(BRIEF_AWS_EXPORTERS),
        "aws.yaml must hold the brief's exporter blocks verbatim"
    );
    let out = stratus(&["validate", "--config", path]);
    assert!(
        out.status.success(),
        "aws.yaml does not validate:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("WARN"),
        "a newcomer's example warns about nothing:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::new();
    let overrides = dir.path().join("ports.yaml");
    std::fs::write(
        &overrides,
        format!(
            "receivers: {{otlp: {{protocols: {{grpc: {{endpoint: 127.0.0.1:{}}}, http: {{endpoint: 127.0.0.1:{}}}}}}}}}\n\
             extensions: {{health_check: {{endpoint: 127.0.0.1:{}}}}}\n\
             service: {{telemetry: {{metrics: {{readers: [{{pull: {{exporter: {{prometheus: {{host: 127.0.0.1, port: {}}}}}}}}}]}}}}}}\n",
            ports.grpc, ports.http, ports.health, ports.metrics
        ),
    )
    .unwrap();
    let mut s = Stratus::start_with_args(
        dir.path(),
        "aws",
        &text,
        &["--config", overrides.to_str().unwrap()],
    );
    s.wait_running();
    assert_eq!(http("GET", ports.health, "/", &[], b"").status, 200);
    let metrics = http("GET", ports.metrics, "/metrics", &[], b"").text();
    for exporter in ["awscloudwatchlogs", "awscloudwatch", "awsxray", "awss3"] {
        assert!(
            metrics.contains(&format!(
                "otelcol_exporter_send_failed_log_records{{exporter=\"{exporter}\"}} 0"
            )),
            "{exporter} is running:\n{metrics}"
        );
    }
    s.terminate();
    assert!(s.wait_exit().success(), "{}", s.logs());
}

/// `stratus validate` on the brief's `azuremonitor` block: it validates with the key
/// from the environment; a broken connection string (in the config, or in
/// `APPLICATIONINSIGHTS_CONNECTION_STRING`, which wins) is reported at its path, and
/// the instrumentation key appears nowhere in the output.
#[test]
fn validate_keeps_azure_monitor_secrets_out_of_its_output() {
    const KEY: &str = "5b0e8c1d-7a2f-4e3b-9c6d-1f2a3b4c5d6e";
    let dir = tempfile::tempdir().unwrap();
    let config = |extra: &str| {
        format!(
            "receivers: {{ otlp: {{ protocols: {{ grpc: {{ endpoint: 127.0.0.1:4317 }} }} }} }}\n\
             exporters:\n  \
               azuremonitor:\n    \
                 instrumentation_key: ${{APPLICATIONINSIGHTS_INSTRUMENTATION_KEY}}\n    \
                 endpoint: https://dc.services.visualstudio.com/v2/track\n    \
                 maxbatchsize: 100\n    \
                 maxbatchinterval: 10s\n\
             {extra}\
             service:\n  pipelines:\n    traces: {{ receivers: [otlp], exporters: [azuremonitor{}] }}\n",
            if extra.is_empty() {
                ""
            } else {
                ", azuremonitor/broken"
            }
        )
    };
    let run = |text: String, env: &[(&str, String)]| {
        let path = dir.path().join("azure.yaml");
        std::fs::write(&path, text).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stratus"));
        cmd.args(["validate", "--config", path.to_str().unwrap()])
            .env("APPLICATIONINSIGHTS_INSTRUMENTATION_KEY", KEY)
            .env_remove("APPLICATIONINSIGHTS_CONNECTION_STRING");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(KEY), "the key was printed:\n{text}");
        (out.status.code(), text)
    };
    let (code, text) = run(config(""), &[]);
    assert_eq!(code, Some(0), "{text}");
    let broken = format!(
        "  azuremonitor/broken:\n    connection_string: \"InstrumentationKey={KEY};{KEY}\"\n"
    );
    let (code, text) = run(config(&broken), &[]);
    assert_eq!(code, Some(78), "{text}");
    assert!(
        text.contains("exporters::azuremonitor/broken::connection_string"),
        "{text}"
    );
    assert!(!text.contains("exporters::azuremonitor::"), "{text}");
    let env = [(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        format!("InstrumentationKey={KEY};garbage"),
    )];
    let (code, text) = run(config(""), &env);
    assert_eq!(code, Some(78), "{text}");
    assert!(
        text.contains("exporters::azuremonitor::connection_string"),
        "{text}"
    );
    assert!(
        text.contains("APPLICATIONINSIGHTS_CONNECTION_STRING"),
        "{text}"
    );
}

const BRIEF_APPLICATION_INSIGHTS: &str = "  azuremonitor:
    instrumentation_key: ${APPLICATIONINSIGHTS_INSTRUMENTATION_KEY}
    endpoint: https://dc.services.visualstudio.com/v2/track
    maxbatchsize: 100
    maxbatchinterval: 10s
";

const BRIEF_LOG_ANALYTICS: &str = "  azureloganalytics:
    workspace_id: ${WORKSPACE_ID}
    workspace_key: ${WORKSPACE_KEY}
    log_type: OTelTraces
";

/// `config/examples/azure.yaml` holds the brief's two Azure blocks verbatim, validates
/// with the secrets in the environment (and never prints them), and runs: with the
/// listeners on free ports and both exporters' `endpoint`s pointed at recording servers
/// by a second `--config`, spans sent over OTLP reach Application Insights' Track API and
/// the Log Analytics Data Collector API, and the retirement of the latter is said once.
#[test]
fn the_azure_example_holds_the_briefs_blocks_validates_and_runs() {
    use stratus_testkit::http::RecordingHttpServer;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/examples/azure.yaml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains(BRIEF_APPLICATION_INSIGHTS),
        "the brief's azuremonitor block"
    );
    assert!(
        text.contains(BRIEF_LOG_ANALYTICS),
        "the brief's azureloganalytics block"
    );
    let ikey = "11111111-2222-3333-4444-555555555555";
    // base64("stratus workspace key")
    let workspace_key = "c3RyYXR1cyB3b3Jrc3BhY2Uga2V5";
    let env = [
        ("APPLICATIONINSIGHTS_INSTRUMENTATION_KEY", ikey),
        ("WORKSPACE_ID", "0f0e0d0c-0b0a-0908-0706-050403020100"),
        ("WORKSPACE_KEY", workspace_key),
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(["validate", "--config", path])
        .envs(env)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "azure.yaml does not validate:\n{stderr}"
    );
    for secret in [ikey, workspace_key] {
        assert!(
            !stderr.contains(secret) && !stdout.contains(secret),
            "{stdout}{stderr}"
        );
    }

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (insights, analytics) = rt.block_on(async {
        (
            RecordingHttpServer::start().await,
            RecordingHttpServer::start().await,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::new();
    let overrides = dir.path().join("local.yaml");
    std::fs::write(
        &overrides,
        format!(
            "receivers: {{otlp: {{protocols: {{grpc: {{endpoint: 127.0.0.1:{}}}, http: {{endpoint: 127.0.0.1:{}}}}}}}}}\n\
             extensions: {{health_check: {{endpoint: 127.0.0.1:{}}}}}\n\
             exporters: {{azuremonitor: {{endpoint: {}/v2/track}}, azureloganalytics: {{endpoint: {}}}}}\n\
             service: {{telemetry: {{metrics: {{readers: [{{pull: {{exporter: {{prometheus: {{host: 127.0.0.1, port: {}}}}}}}}}]}}}}}}\n",
            ports.grpc,
            ports.http,
            ports.health,
            insights.url(),
            analytics.url(),
            ports.metrics
        ),
    )
    .unwrap();
    let mut s = Stratus::start_with_env(
        dir.path(),
        "azure",
        &text,
        &["--config", overrides.to_str().unwrap()],
        &env,
    );
    s.wait_running();
    rt.block_on(async {
        let mut client = trace_client(ports.grpc).await;
        client.export(make_spans(1, 3)).await.unwrap();
    });
    // Shutdown flushes the exporters' batches (maxbatchinterval is 10s).
    s.terminate();
    assert!(s.wait_exit().success(), "{}", s.logs());
    let track = insights.requests();
    assert_eq!(track.len(), 1, "one Track API POST");
    assert_eq!(track[0].path, "/v2/track");
    let envelopes = track[0].json();
    let envelopes = envelopes.as_array().unwrap();
    assert_eq!(envelopes.len(), 3, "{envelopes:?}");
    for e in envelopes {
        assert_eq!(e["name"], "Microsoft.ApplicationInsights.Request");
        assert_eq!(e["iKey"], ikey);
    }
    let rows = analytics.requests();
    assert_eq!(rows.len(), 1, "one Data Collector POST");
    assert_eq!(rows[0].path, "/api/logs");
    assert_eq!(rows[0].header("log-type"), Some("OTelTraces"));
    assert!(
        rows[0]
            .header("authorization")
            .is_some_and(|a| a.starts_with("SharedKey 0f0e0d0c-0b0a-0908-0706-050403020100:")),
        "{:?}",
        rows[0].header("authorization")
    );
    assert_eq!(rows[0].json().as_array().unwrap().len(), 3);
    let logs = s.logs();
    assert_eq!(
        logs.matches("2026-09-14").count(),
        1,
        "the retirement is said once:\n{logs}"
    );
    for secret in [ikey, workspace_key] {
        assert!(!logs.contains(secret), "no secret in the logs:\n{logs}");
    }
}
