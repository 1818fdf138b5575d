//! `stratus healthcheck`: the probe every minimal image and manifest uses.

use std::process::{Command, Output};

use crate::common::{Stratus, free_port, wait_for};

fn healthcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stratus"))
        .arg("healthcheck")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn exits_0_against_a_running_stratus_and_1_when_nothing_listens() {
    let dir = tempfile::tempdir().unwrap();
    let (grpc, health) = (free_port(), free_port());
    let config = format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: 127.0.0.1:{grpc} }}
exporters:
  nop: {{}}
extensions:
  health_check: {{ endpoint: 127.0.0.1:{health}, path: /health/status }}
service:
  extensions: [health_check]
  telemetry:
    metrics: {{ level: none }}
  pipelines:
    traces: {{ receivers: [otlp], exporters: [nop] }}
"#
    );
    let url = format!("http://127.0.0.1:{health}/health/status");
    let mut stratus = Stratus::start(dir.path(), "health", &config);
    stratus.wait_running();
    wait_for("stratus healthcheck to pass", || {
        healthcheck(&["--endpoint", &url])
            .status
            .success()
            .then_some(())
    });
    // Another path on the same server is not the health check: unhealthy.
    let wrong = healthcheck(&["--endpoint", &format!("http://127.0.0.1:{health}/nope")]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("answered HTTP 404"));

    stratus.terminate();
    stratus.wait_exit();
    let down = healthcheck(&["--endpoint", &url]);
    assert_eq!(down.status.code(), Some(1));
    let err = String::from_utf8_lossy(&down.stderr);
    assert!(err.contains("nothing answers at"), "{err}");

    // With no flag it probes the health check's default endpoint, localhost:13133.
    let default = healthcheck(&[]);
    let err = String::from_utf8_lossy(&default.stderr);
    assert!(
        default.status.success() || err.contains("http://localhost:13133/"),
        "{err}"
    );
    // A URL it cannot probe is a usage error, not "unhealthy".
    let bad = healthcheck(&["--endpoint", "https://127.0.0.1:1/"]);
    assert_eq!(bad.status.code(), Some(2));
}
