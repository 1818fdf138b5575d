//! The `resource` processor's config: upstream's one key, `attributes`.

use serde::Deserialize;
use stratus_attraction::{ActionConfig, Actions};
use stratus_core::factory::{ConfigProblem, Validate};

/// Config of the `resource` processor.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceConfig {
    /// The actions, applied in this order to the attributes of every resource (the
    /// `attributes` processor's actions: insert, update, upsert, delete, hash,
    /// extract, convert). Required: at least one. Default: none.
    pub attributes: Vec<ActionConfig>,
}

impl Validate for ResourceConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        if self.attributes.is_empty() {
            return vec![ConfigProblem::new(
                "attributes",
                "missing required field: list at least one action, e.g. \
                 `- {key: cloud.region, value: eu-west-1, action: upsert}`",
            )];
        }
        Actions::compile("attributes", &self.attributes)
            .err()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_core::factory::decode_config;

    fn paths(raw: serde_json::Value) -> Vec<String> {
        decode_config::<ResourceConfig>(&raw)
            .unwrap_err()
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn attributes_are_required_and_checked_with_paths() {
        assert_eq!(paths(serde_json::Value::Null), ["attributes"]);
        assert_eq!(paths(json!({"attributes": []})), ["attributes"]);
        assert_eq!(
            paths(json!({"attributes": [
                {"key": "a", "value": 1, "action": "upsert"},
                {"key": "b", "action": "insert"},
                {"key": "c", "action": "convert", "converted_type": "float"},
            ]})),
            ["attributes[1]::value", "attributes[2]::converted_type"]
        );
        // `actions` is the attributes processor's key, not this one's.
        assert_eq!(
            paths(json!({"actions": [{"key": "a", "action": "delete"}]})),
            ["actions"]
        );
        let ok: ResourceConfig =
            decode_config(&json!({"attributes": [{"key": "a", "action": "delete"}]})).unwrap();
        assert_eq!(ok.attributes.len(), 1);
    }
}
