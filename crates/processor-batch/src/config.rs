//! The batch processor's config: the collector's `batch` keys and defaults.

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;
use stratus_core::factory::{ConfigProblem, Validate};

/// Config of the `batch` processor.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// Items (spans, metric data points or log records) that make a batch go out at
    /// once instead of waiting for `timeout`. A trigger, not a cap: a sent batch can
    /// hold more unless `send_batch_max_size` is set. `0` sends data as soon as it
    /// arrives (what accumulated while a batch was being delivered goes out as one).
    /// Default `8192`.
    pub send_batch_size: u32,
    /// Most items in one sent batch; larger batches are split. `0` means no limit;
    /// otherwise it must be at least `send_batch_size`. Default `0`.
    pub send_batch_max_size: u32,
    /// How long a batch waits for more data, counted from its first item, before it
    /// goes out anyway (a duration such as `200ms`). `0` sends data as soon as it
    /// arrives, split to `send_batch_max_size`. Default `200ms`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
    /// Request metadata keys (header names kept by a receiver's `include_metadata`,
    /// case-insensitive). Data is batched separately for every distinct combination
    /// of their values, and each sent batch carries those keys and values. Default
    /// empty (one batch for all data).
    pub metadata_keys: Vec<String>,
    /// Most distinct combinations of `metadata_keys` values batched at once per
    /// signal; data bringing a new combination beyond it is refused with a permanent
    /// error. `0` means no limit. Default `1000`.
    pub metadata_cardinality_limit: u32,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            send_batch_size: 8192,
            send_batch_max_size: 0,
            timeout: Duration::from_millis(200),
            metadata_keys: Vec::new(),
            metadata_cardinality_limit: 1000,
        }
    }
}

impl BatchConfig {
    /// Items a batcher may hold (pending plus being delivered) before it refuses new
    /// data: `max(2 * send_batch_size, send_batch_max_size)`. With `send_batch_size:
    /// 0` ("send at once") and no maximum, twice the default `send_batch_size`
    /// (16384): the limit is never 0, which would refuse every request that arrives
    /// while a batch is being delivered.
    pub fn buffer_limit(&self) -> usize {
        let twice = 2 * self.send_batch_size as usize;
        match twice.max(self.send_batch_max_size as usize) {
            0 => 2 * BatchConfig::default().send_batch_size as usize,
            limit => limit,
        }
    }
}

impl Validate for BatchConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.send_batch_max_size != 0 && self.send_batch_max_size < self.send_batch_size {
            problems.push(ConfigProblem::new(
                "send_batch_max_size",
                format!(
                    "must be 0 (no limit) or at least send_batch_size ({}), got {}",
                    self.send_batch_size, self.send_batch_max_size
                ),
            ));
        }
        let mut seen = HashSet::new();
        for (i, key) in self.metadata_keys.iter().enumerate() {
            let path = format!("metadata_keys[{i}]");
            if key.trim().is_empty() {
                problems.push(ConfigProblem::new(path, "must not be empty"));
            } else if !seen.insert(key.to_ascii_lowercase()) {
                problems.push(ConfigProblem::new(
                    path,
                    format!(
                        "duplicate entry `{}` (metadata keys are case-insensitive)",
                        key.to_ascii_lowercase()
                    ),
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use stratus_core::factory::decode_config;

    #[test]
    fn defaults_match_the_collector() {
        let c: BatchConfig = decode_config(&Value::Null).unwrap();
        assert_eq!(c.send_batch_size, 8192);
        assert_eq!(c.send_batch_max_size, 0);
        assert_eq!(c.timeout, Duration::from_millis(200));
        assert!(c.metadata_keys.is_empty());
        assert_eq!(c.metadata_cardinality_limit, 1000);
        assert_eq!(c.buffer_limit(), 16384);
        assert_eq!(decode_config::<BatchConfig>(&json!({})).unwrap(), c);
    }

    #[test]
    fn decodes_every_key() {
        let c: BatchConfig = decode_config(&json!({
            "send_batch_size": 100,
            "send_batch_max_size": 1000,
            "timeout": "1s",
            "metadata_keys": ["X-Tenant"],
            "metadata_cardinality_limit": 5,
        }))
        .unwrap();
        assert_eq!(c.send_batch_size, 100);
        assert_eq!(c.send_batch_max_size, 1000);
        assert_eq!(c.timeout, Duration::from_secs(1));
        assert_eq!(c.metadata_keys, vec!["X-Tenant".to_string()]);
        assert_eq!(c.metadata_cardinality_limit, 5);
        assert_eq!(c.buffer_limit(), 1000);
        let zero: BatchConfig = decode_config(&json!({"timeout": "0"})).unwrap();
        assert_eq!(zero.timeout, Duration::ZERO);
    }

    #[test]
    fn rejects_max_size_below_size() {
        let err = decode_config::<BatchConfig>(&json!({
            "send_batch_size": 100, "send_batch_max_size": 99
        }))
        .unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].path, "send_batch_max_size");
        assert!(err[0].message.contains("at least send_batch_size (100)"));
        // Equal is fine, and 0 means no limit.
        decode_config::<BatchConfig>(&json!({"send_batch_size": 100, "send_batch_max_size": 100}))
            .unwrap();
        decode_config::<BatchConfig>(&json!({"send_batch_size": 100, "send_batch_max_size": 0}))
            .unwrap();
    }

    #[test]
    fn rejects_bad_metadata_keys_all_at_once() {
        let err = decode_config::<BatchConfig>(&json!({
            "send_batch_size": 10,
            "send_batch_max_size": 5,
            "metadata_keys": ["tenant", "", "Tenant"],
        }))
        .unwrap_err();
        let paths: Vec<&str> = err.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "send_batch_max_size",
                "metadata_keys[1]",
                "metadata_keys[2]"
            ]
        );
        assert!(err[2].message.contains("duplicate entry `tenant`"));
    }

    #[test]
    fn rejects_unknown_keys_and_bad_types() {
        let err = decode_config::<BatchConfig>(&json!({"send_batch_sise": 1})).unwrap_err();
        assert_eq!(err[0].path, "send_batch_sise");
        assert!(err[0].message.contains("unknown field"));
        let err = decode_config::<BatchConfig>(&json!({"timeout": "fast"})).unwrap_err();
        assert_eq!(err[0].path, "timeout");
        let err = decode_config::<BatchConfig>(&json!({"send_batch_size": -1})).unwrap_err();
        assert_eq!(err[0].path, "send_batch_size");
    }
}
