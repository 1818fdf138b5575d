//! The config keys, their defaults, and what validation reports.

use stratus_core::factory::decode_config;

use super::*;

fn decode(yaml: &str) -> Result<TranslatorConfig, Vec<ConfigProblem>> {
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).unwrap();
    decode_config(&serde_json::to_value(value).unwrap())
}

#[test]
fn defaults_are_upstreams() {
    let config = decode("null").unwrap();
    assert_eq!(config, TranslatorConfig::default());
    assert!(config.indexed_attributes.is_empty());
    assert!(!config.index_all_attributes);
    assert!(config.aws_log_groups.is_empty());
    // exporter.xray.allowDot is beta, so on, upstream.
    assert!(config.allow_dot_in_annotation_keys);
}

#[test]
fn the_briefs_keys_decode() {
    let config = decode(
        "{ index_all_attributes: true, indexed_attributes: [http.method, http.status_code, error], \
         aws_log_groups: [/aws/app], allow_dot_in_annotation_keys: false }",
    )
    .unwrap();
    assert_eq!(
        config,
        TranslatorConfig {
            indexed_attributes: vec![
                "http.method".into(),
                "http.status_code".into(),
                "error".into()
            ],
            index_all_attributes: true,
            aws_log_groups: vec!["/aws/app".into()],
            allow_dot_in_annotation_keys: false,
        }
    );
}

#[test]
fn unknown_keys_are_refused() {
    let problems = decode("{ indexed_attribute: [a] }").unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].message.contains("indexed_attribute"),
        "{problems:?}"
    );
}

#[test]
fn empty_names_are_problems_at_their_keys() {
    let problems = decode("{ indexed_attributes: [a, ''], aws_log_groups: [''] }").unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, vec!["indexed_attributes::1", "aws_log_groups::0"]);
}

fn decode_exporter(yaml: &str) -> Result<AwsXrayConfig, Vec<ConfigProblem>> {
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).unwrap();
    decode_config(&serde_json::to_value(value).unwrap())
}

#[test]
fn the_briefs_awsxray_block_validates() {
    let config = decode_exporter(
        "{ region: us-east-1, index_all_attributes: true, indexed_attributes: [http.method, http.status_code, error] }",
    )
    .unwrap();
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    assert_eq!(config.session().region, "us-east-1");
    let translator = config.translator();
    assert!(translator.index_all_attributes);
    assert_eq!(
        translator.indexed_attributes,
        vec!["http.method", "http.status_code", "error"]
    );
    assert_eq!(config.settings().timeout, DEFAULT_TIMEOUT);
}

#[test]
fn exporter_defaults_and_session_keys() {
    let config = decode_exporter("null").unwrap();
    assert_eq!(config, AwsXrayConfig::default());
    assert!(config.validate().is_empty());
    assert_eq!(config.session(), AwsSessionConfig::default());
    assert_eq!(config.translator(), TranslatorConfig::default());
    let config = decode_exporter(
        "{ endpoint: 'http://127.0.0.1:4566', role_arn: 'arn:aws:iam::123456789012:role/x', \
         external_id: ext, profile: p, shared_credentials_file: [/c], request_timeout_seconds: 5, \
         local_mode: true, resource_arn: r, telemetry: { enabled: false, include_metadata: true } }",
    )
    .unwrap();
    let session = config.session();
    assert_eq!(session.endpoint, "http://127.0.0.1:4566");
    assert_eq!(session.role_arn, "arn:aws:iam::123456789012:role/x");
    assert_eq!(session.external_id, "ext");
    assert_eq!(session.profile, "p");
    assert_eq!(session.shared_credentials_file, vec!["/c"]);
    assert_eq!(session.request_timeout_seconds, 5);
    assert!(session.local_mode);
    assert!(config.validate().is_empty(), "{:?}", config.validate());
}

#[test]
fn exporter_problems_have_paths() {
    let err = decode_exporter("{ regoin: us-east-1 }").unwrap_err();
    assert!(err.iter().any(|p| p.path == "regoin"), "{err:?}");
    let err = decode_exporter("{ telemetry: { enabeld: true } }").unwrap_err();
    assert!(
        err.iter().any(|p| p.path == "telemetry::enabeld"),
        "{err:?}"
    );
    // decode_config validates too: every problem, each at its path.
    let problems = decode_exporter(
        "{ region: US_EAST, endpoint: 'ftp://x', proxy_address: 'socks5://p:1080', telemetry: { enabled: true }, \
         middleware: awsmiddleware, indexed_attributes: [''], sending_queue: { num_consumers: 0 } }",
    )
    .unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.path == "telemetry::enabled" && p.message.contains("PutTelemetryRecords")),
        "{problems:?}"
    );
    let mut paths: Vec<String> = problems.into_iter().map(|p| p.path).collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "endpoint",
            "indexed_attributes::0",
            "middleware",
            "proxy_address",
            "region",
            "sending_queue::num_consumers",
            "telemetry::enabled",
        ]
    );
}
