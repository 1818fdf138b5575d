//! Safe defaults: every component that listens binds loopback unless its config says
//! otherwise, and so does the embedded default config. Nothing listens on `0.0.0.0`
//! by default.
//!
//! The listeners of this build: the OTLP receiver (gRPC and HTTP), `health_check`,
//! and the internal metrics endpoint (`service::telemetry::metrics`, its `address`
//! and its Prometheus pull readers). A new listening component adds its row here.

use serde_json::{Value, json};
use stratus_config::{MetricReader, Source, load, validate};
use stratus_core::endpoint::{Endpoint, Host};
use stratus_core::factory::{Factories, decode_config, exposure_warning};

/// Fails unless `endpoint` is a loopback address or `localhost`.
fn assert_loopback(what: &str, endpoint: &str) {
    let parsed: Endpoint = endpoint
        .parse()
        .unwrap_or_else(|e| panic!("{what}: `{endpoint}` does not parse: {e}"));
    let loopback = match parsed.host() {
        Host::Any => false,
        Host::Ip(ip) => ip.is_loopback(),
        Host::Name(name) => name == "localhost",
    };
    assert!(loopback, "{what} listens on `{endpoint}` by default");
    assert!(
        exposure_warning("endpoint", endpoint, false).is_none(),
        "{what}: `{endpoint}` would be warned about"
    );
}

fn factories() -> Factories {
    Factories::new()
        .receiver(stratus_receiver_otlp::OtlpReceiverFactory)
        .exporter(stratus_exporter_debug::DebugExporterFactory)
        .extension(stratus_extension_health_check::HealthCheckExtensionFactory)
}

#[test]
fn every_listener_defaults_to_loopback() {
    use stratus_receiver_otlp::config::{GrpcConfig, HttpConfig};
    assert_loopback("otlp receiver, gRPC", &GrpcConfig::default().endpoint);
    assert_loopback("otlp receiver, HTTP", &HttpConfig::default().endpoint);
    // `protocols: {grpc:, http:}`, as configs write it.
    let otlp: stratus_receiver_otlp::Config =
        decode_config(&json!({"protocols": {"grpc": null, "http": null}})).unwrap();
    let grpc = otlp.protocols.grpc.expect("grpc enabled");
    let http = otlp.protocols.http.expect("http enabled");
    assert_loopback("otlp receiver `grpc:`", &grpc.endpoint);
    assert_loopback("otlp receiver `http:`", &http.endpoint);
    assert!(grpc.tls.is_none() && http.tls.is_none());

    let health: stratus_extension_health_check::HealthCheckConfig =
        decode_config(&Value::Null).unwrap();
    assert_loopback("health_check", &health.endpoint);

    // Internal metrics: the default reader, a pull reader without `host`.
    let base = "receivers: {otlp: {protocols: {grpc: , http: }}}\nexporters: {debug: }\n\
                extensions: {health_check: }\n\
                service:\n  extensions: [health_check]\n  pipelines:\n    \
                traces: {receivers: [otlp], exporters: [debug]}\n";
    let pull_without_host = format!(
        "{base}  telemetry:\n    metrics:\n      readers:\n        \
         - pull: {{exporter: {{prometheus: {{port: 9999}}}}}}\n"
    );
    for (what, yaml) in [
        ("telemetry metrics default", base.to_string()),
        ("a prometheus pull reader without host", pull_without_host),
    ] {
        let source = Source::Inline {
            name: "config.yaml".into(),
            text: yaml,
        };
        let doc = load(&[source], &[], &|_| None).unwrap();
        let validated = validate(&doc, &factories()).unwrap();
        let readers = &validated.config.service.telemetry.metrics.readers;
        assert!(!readers.is_empty(), "{what}: no reader");
        for reader in readers {
            let MetricReader::Pull(pull) = reader else {
                panic!("{what}: not a pull reader")
            };
            assert_loopback(what, &pull.endpoint.to_string());
        }
        // Every component listed with an empty body: no exposure warning.
        assert!(
            validated.warnings.is_empty(),
            "{what}: {:?}",
            validated.warnings
        );
    }
}

/// The config stratus runs with no `--config` listens on loopback only.
#[test]
fn the_embedded_default_config_listens_on_loopback() {
    let text = include_str!("../../src/default.yaml");
    let source = Source::Inline {
        name: "default.yaml".into(),
        text: text.into(),
    };
    let doc = load(&[source], &[], &|_| None).unwrap();
    let receivers = doc.value()["receivers"].as_object().unwrap();
    let mut listeners = 0;
    for (id, config) in receivers {
        for protocol in ["grpc", "http"] {
            if let Some(endpoint) = config.pointer(&format!("/protocols/{protocol}/endpoint")) {
                assert_loopback(&format!("{id} {protocol}"), endpoint.as_str().unwrap());
                listeners += 1;
            }
        }
    }
    assert_eq!(listeners, 2);
    assert!(!text.contains("0.0.0.0") && !text.contains("[::]"));
    assert!(
        doc.value().pointer("/service/telemetry").is_none(),
        "the default config keeps the telemetry defaults"
    );
}
