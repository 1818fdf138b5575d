//! The `attributes` processor's config: upstream's keys (`actions`, `include`,
//! `exclude`).

use serde::Deserialize;
use stratus_attraction::{ActionConfig, Actions, MatchProperties};
use stratus_core::factory::{ConfigProblem, Validate};

/// Config of the `attributes` processor.
///
/// ```yaml
/// processors:
///   attributes/pii:
///     include:
///       match_type: strict
///       services: [checkout]
///     actions:
///       - {key: user.email, action: hash}
///       - {key: http.request.header.authorization, action: delete}
///       - {key: env, value: prod, action: insert}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttributesConfig {
    /// The actions, applied in this order to the attributes of every span, log record
    /// and metric data point that passes `include` / `exclude`. Required: at least
    /// one. Default: none.
    pub actions: Vec<ActionConfig>,
    /// Only items matching this block are processed. Default: unset (all items).
    pub include: Option<MatchProperties>,
    /// Items matching this block are not processed; checked after `include`. Default:
    /// unset (no item left out).
    pub exclude: Option<MatchProperties>,
}

impl Validate for AttributesConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.actions.is_empty() {
            problems.push(ConfigProblem::new(
                "actions",
                "missing required field: list at least one action, e.g. \
                 `- {key: env, value: prod, action: insert}`",
            ));
        } else if let Err(mut p) = Actions::compile("actions", &self.actions) {
            problems.append(&mut p);
        }
        for (path, block) in [("include", &self.include), ("exclude", &self.exclude)] {
            if let Some(block) = block {
                problems.extend(block.validate(path));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_core::factory::decode_config;

    fn paths(raw: serde_json::Value) -> Vec<String> {
        decode_config::<AttributesConfig>(&raw)
            .unwrap_err()
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn actions_are_required() {
        assert_eq!(paths(serde_json::Value::Null), ["actions"]);
        assert_eq!(paths(json!({"actions": []})), ["actions"]);
    }

    #[test]
    fn problems_carry_key_paths() {
        let raw = json!({
            "actions": [
                {"key": "a", "value": 1, "action": "insert"},
                {"key": "b", "action": "upsert"},
                {"key": "c", "action": "extract", "pattern": "(x)"},
            ],
            "include": {"services": ["svc"]},
            "exclude": {"match_type": "regexp", "span_names": ["("]},
        });
        assert_eq!(
            paths(raw),
            [
                "actions[1]::value",
                "actions[2]::pattern",
                "include::match_type",
                "exclude::span_names[0]"
            ]
        );
        // Decoding errors name the key too.
        assert_eq!(
            paths(json!({"actions": [{"key": "a", "action": "delete", "regex": "x"}]})),
            ["actions[0]::regex"]
        );
    }

    #[test]
    fn a_valid_config_decodes() {
        let c: AttributesConfig = decode_config(&json!({
            "actions": [{"key": "db.table", "action": "delete"}],
            "include": {"match_type": "strict", "services": ["svc"]},
        }))
        .unwrap();
        assert_eq!(c.actions.len(), 1);
        assert_eq!(c.include.unwrap().services, ["svc"]);
    }
}
