//! Config builders for the end-to-end tests.

use std::path::Path;

/// Ports of one stratus instance.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub grpc: u16,
    pub http: u16,
    pub metrics: u16,
    pub health: u16,
}

impl Ports {
    pub fn new() -> Ports {
        Ports {
            grpc: super::free_port(),
            http: super::free_port(),
            metrics: super::free_port(),
            health: super::free_port(),
        }
    }
}

/// A gateway: OTLP in on both protocols, batch, one `file` exporter per signal
/// (proto format) writing `traces.out`, `metrics.out`, `logs.out` in `dir`.
pub fn gateway(ports: Ports, dir: &Path, batch: &str) -> String {
    let d = dir.display();
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
      http:
        endpoint: 127.0.0.1:{http}
processors:
  batch: {batch}
exporters:
  file/traces:
    path: {d}/traces.out
    format: proto
  file/metrics:
    path: {d}/metrics.out
    format: proto
  file/logs:
    path: {d}/logs.out
    format: proto
extensions:
  health_check:
    endpoint: 127.0.0.1:{health}
service:
  extensions: [health_check]
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [file/traces]
    metrics:
      receivers: [otlp]
      processors: [batch]
      exporters: [file/metrics]
    logs:
      receivers: [otlp]
      processors: [batch]
      exporters: [file/logs]
"#,
        grpc = ports.grpc,
        http = ports.http,
        health = ports.health,
        metrics = ports.metrics,
    )
}

/// An agent: OTLP in, memory_limiter and batch, forwarding everything with the `otlp`
/// exporter to `gateway_grpc` with `exporter_extra` merged into the exporter block.
pub fn agent(ports: Ports, gateway_grpc: u16, batch: &str, exporter_extra: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
      http:
        endpoint: 127.0.0.1:{http}
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 4000
  batch: {batch}
exporters:
  otlp:
    endpoint: 127.0.0.1:{gateway_grpc}
    tls:
      insecure: true
    compression: gzip
{exporter_extra}
service:
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [otlp]
    metrics:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [otlp]
    logs:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [otlp]
"#,
        grpc = ports.grpc,
        http = ports.http,
        metrics = ports.metrics,
    )
}
