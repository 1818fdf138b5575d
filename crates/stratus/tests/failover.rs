#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The `failover` connector with real processes: an agent sends traces to a primary
//! gateway and falls back to a secondary one when the primary stops; nothing the agent
//! accepted is lost, and traffic returns to the primary once it is back.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::configs::{Ports, gateway};
use common::*;

/// An agent whose traces go through `failover` to `traces/primary` (otlp_grpc to
/// `primary`) or else `traces/secondary` (otlp to `secondary`). Both exporters have no
/// queue and no retries, so a down gateway is seen on the first request.
fn failover_agent(ports: Ports, primary: u16, secondary: u16) -> String {
    // The primary uses upstream's current type name, the secondary the older alias
    // that existing configs still carry: both must work.
    let exporter = |ty: &str, name: &str, port: u16| {
        format!(
            r#"
  {ty}/{name}:
    endpoint: 127.0.0.1:{port}
    tls:
      insecure: true
    timeout: 1s
    sending_queue:
      enabled: false
    retry_on_failure:
      enabled: false"#
        )
    };
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
      http:
        endpoint: 127.0.0.1:{http}
exporters:{primary}{secondary}
connectors:
  failover:
    priority_levels: [[traces/primary], [traces/secondary]]
    retry_interval: 2s
    retry_gap: 1s
    max_retries: 0
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [failover]
    traces/primary:
      receivers: [failover]
      exporters: [otlp_grpc/primary]
    traces/secondary:
      receivers: [failover]
      exporters: [otlp/secondary]
"#,
        grpc = ports.grpc,
        http = ports.http,
        metrics = ports.metrics,
        primary = exporter("otlp_grpc", "primary", primary),
        secondary = exporter("otlp", "secondary", secondary),
    )
}

type Client =
    opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient<
        tonic::transport::Channel,
    >;

fn start_gateway(dir: &Path, name: &str, ports: Ports) -> Stratus {
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    let mut gw = Stratus::start(dir, name, &gateway(ports, &out, "{timeout: 10ms}"));
    gw.wait_running();
    gw
}

fn ids_in(dir: &Path, name: &str) -> BTreeSet<u64> {
    span_ids(&dir.join(name).join("traces.out"))
        .into_iter()
        .collect()
}

#[test]
fn traces_fail_over_to_the_secondary_and_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let (p1, p2, pa) = (Ports::new(), Ports::new(), Ports::new());
    let mut gw1 = start_gateway(dir.path(), "primary", p1);
    let _gw2 = start_gateway(dir.path(), "secondary", p2);
    let mut agent = Stratus::start(dir.path(), "agent", &failover_agent(pa, p1.grpc, p2.grpc));
    agent.wait_running();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut client = rt.block_on(trace_client(pa.grpc));
    let mut accepted = BTreeSet::new();
    let mut next = 0u64;
    // Sends one batch of 10 spans with the next ids; records them when accepted.
    let send = |client: &mut Client, next: &mut u64, accepted: &mut BTreeSet<u64>| {
        let first = *next;
        *next += 10;
        if rt.block_on(client.export(make_spans(first, 10))).is_ok() {
            accepted.extend(first..first + 10);
        }
    };

    // Healthy primary.
    for _ in 0..20 {
        send(&mut client, &mut next, &mut accepted);
    }
    // Stop the primary while data keeps flowing.
    gw1.terminate();
    for _ in 0..30 {
        send(&mut client, &mut next, &mut accepted);
    }
    gw1.wait_exit();
    for _ in 0..20 {
        send(&mut client, &mut next, &mut accepted);
    }
    assert!(
        accepted.len() >= 600,
        "the agent refused data although the secondary was up: accepted {}",
        accepted.len()
    );

    // Everything accepted is in one of the two outputs.
    let primary_ids = ids_in(dir.path(), "primary");
    let secondary_ids = wait_for("the secondary to have every span", || {
        let secondary = ids_in(dir.path(), "secondary");
        accepted
            .iter()
            .all(|id| primary_ids.contains(id) || secondary.contains(id))
            .then_some(secondary)
    });
    assert!(
        primary_ids.iter().any(|id| accepted.contains(id)),
        "nothing reached the primary"
    );
    assert!(
        secondary_ids.iter().any(|id| accepted.contains(id)),
        "nothing reached the secondary"
    );
    let switches =
        r#"stratus_connector_failover_switches{connector="failover",otel_signal="traces"}"#;
    assert!(metric(pa.metrics, switches) >= 1.0);

    // Restart the primary on the same ports; new data goes to it again.
    let _gw1 = start_gateway(dir.path(), "primary-again", p1);
    let restart_from = 1_000_000u64;
    next = restart_from;
    let mut accepted_after = BTreeSet::new();
    wait_for("new spans at the restarted primary", || {
        send(&mut client, &mut next, &mut accepted_after);
        ids_in(dir.path(), "primary-again")
            .iter()
            .any(|id| *id >= restart_from)
            .then_some(())
    });
    assert!(metric(pa.metrics, switches) >= 2.0);
    assert_eq!(
        metric(
            pa.metrics,
            r#"stratus_connector_failover_level{connector="failover",otel_signal="traces"}"#
        ),
        0.0
    );
    // What was accepted meanwhile is in one of the outputs too.
    wait_for("every span after the restart", || {
        let primary = ids_in(dir.path(), "primary-again");
        let secondary = ids_in(dir.path(), "secondary");
        accepted_after
            .iter()
            .all(|id| primary.contains(id) || secondary.contains(id))
            .then_some(())
    });
    let logs = agent.logs();
    assert!(
        logs.contains("switching to the next priority level"),
        "{logs}"
    );
    assert!(
        logs.contains("returning to a higher priority level"),
        "{logs}"
    );
}

#[test]
fn priority_levels_must_name_receiving_pipelines() {
    // Checked before anything runs: `stratus validate` and startup both exit 78 with
    // the exact key of each bad entry.
    let dir = tempfile::tempdir().unwrap();
    let (pa, other) = (Ports::new(), Ports::new());
    let config = failover_agent(pa, other.grpc, other.http).replace(
        "[[traces/primary], [traces/secondary]]",
        "[[traces/primary], [traces/nope], [traces]]",
    );
    let path = dir.path().join("bad-failover.yaml");
    std::fs::write(&path, &config).unwrap();
    for args in [vec!["validate", "--config"], vec!["--config"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_stratus"))
            .args(&args)
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{stderr}");
        assert!(
            stderr.contains(
                "connectors::failover::priority_levels::1::0: pipeline `traces/nope` is not defined"
            ),
            "{stderr}"
        );
        assert!(
            stderr.contains("connectors::failover::priority_levels::2::0: pipeline `traces` does not list `failover` in its receivers"),
            "{stderr}"
        );
    }
}
