//! Shared helpers of the OTLP exporter integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use stratus_core::factory::BuildContext;
use stratus_core::pdata::common::{AnyValue, InstrumentationScope, KeyValue, any_value};
use stratus_core::pdata::logs::{LogRecord, ResourceLogs, ScopeLogs};
use stratus_core::pdata::metrics::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use stratus_core::pdata::resource::Resource;
use stratus_core::pdata::trace::{ResourceSpans, ScopeSpans, Span, Status};
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, Payload, Signal};

pub fn attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![attr("service.name", "checkout")],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "shop".into(),
        version: "1.0".into(),
        ..Default::default()
    })
}

pub fn spans(n: u8) -> Payload {
    Payload::Traces(vec![ResourceSpans {
        resource: resource(),
        scope_spans: vec![ScopeSpans {
            scope: scope(),
            spans: (0..n)
                .map(|i| Span {
                    trace_id: vec![0x4b; 16],
                    span_id: vec![i + 1; 8],
                    name: format!("span-{i}"),
                    kind: 2,
                    start_time_unix_nano: 1_714_557_600_000_000_000,
                    end_time_unix_nano: 1_714_557_600_100_000_000,
                    attributes: vec![attr("http.route", "/orders/{id}")],
                    status: Some(Status::default()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }])
}

pub fn metrics() -> Payload {
    Payload::Metrics(vec![ResourceMetrics {
        resource: resource(),
        scope_metrics: vec![ScopeMetrics {
            scope: scope(),
            metrics: vec![
                Metric {
                    name: "requests".into(),
                    unit: "1".into(),
                    data: Some(metric::Data::Sum(Sum {
                        data_points: vec![NumberDataPoint {
                            time_unix_nano: 1_714_557_600_000_000_000,
                            value: Some(number_data_point::Value::AsInt(42)),
                            ..Default::default()
                        }],
                        aggregation_temporality: 2,
                        is_monotonic: true,
                    })),
                    ..Default::default()
                },
                Metric {
                    name: "temperature".into(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            value: Some(number_data_point::Value::AsDouble(21.5)),
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        ..Default::default()
    }])
}

pub fn logs() -> Payload {
    Payload::Logs(vec![ResourceLogs {
        resource: resource(),
        scope_logs: vec![ScopeLogs {
            scope: scope(),
            log_records: vec![LogRecord {
                time_unix_nano: 1_714_557_600_000_000_000,
                severity_number: 13,
                severity_text: "WARN".into(),
                body: Some(AnyValue {
                    value: Some(any_value::Value::StringValue("disk almost full".into())),
                }),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }])
}

pub fn payload(signal: Signal) -> Payload {
    match signal {
        Signal::Traces => spans(3),
        Signal::Metrics => metrics(),
        Signal::Logs => logs(),
    }
}

pub fn ctx(ty: &str, registry: &Registry) -> BuildContext {
    BuildContext::new(
        ComponentId::with_name(ty, "test"),
        Signal::ALL.to_vec(),
        registry.clone(),
    )
}

/// Fast retries so tests do not wait for the 5s default back-off.
pub fn fast_retry() -> serde_json::Value {
    serde_json::json!({
        "initial_interval": "10ms", "max_interval": "50ms", "max_elapsed_time": "20s",
        "randomization_factor": 0.0
    })
}

pub fn has_line(registry: &Registry, line: &str) -> bool {
    registry.render().lines().any(|l| l == line)
}

/// Polls `check` until it holds, failing the test after 20s.
pub async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A test CA with a server certificate (for `localhost`, `stratus.test` and
/// 127.0.0.1) and a client certificate, written as PEM files.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    pub client_cert_pem: String,
    pub client_key_pem: String,
}

impl Pki {
    pub fn new(server_names: &[&str]) -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "stratus test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let names: Vec<String> = server_names.iter().map(|s| s.to_string()).collect();
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(names)
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();
        let client_key = KeyPair::generate().unwrap();
        let client = CertificateParams::new(vec!["stratus-client".to_string()])
            .unwrap()
            .signed_by(&client_key, &ca)
            .unwrap();
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
            ca_pem: ca.pem(),
            server_cert_pem: server.pem(),
            server_key_pem: server_key.serialize_pem(),
            client_cert_pem: client.pem(),
            client_key_pem: client_key.serialize_pem(),
        };
        for (name, text) in [
            ("ca.pem", &pki.ca_pem),
            ("client.pem", &pki.client_cert_pem),
            ("client-key.pem", &pki.client_key_pem),
        ] {
            std::fs::write(pki.dir.path().join(name), text).unwrap();
        }
        pki
    }

    pub fn path(&self, name: &str) -> String {
        let p: PathBuf = Path::new(self.dir.path()).join(name);
        p.display().to_string()
    }
}
