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
