//! The memory limiter's config: the collector's `memory_limiter` keys and defaults.

use std::time::Duration;

use serde::Deserialize;
use stratus_core::factory::{ConfigProblem, Validate};

/// Config of the `memory_limiter` processor.
///
/// Exactly one of `limit_mib` and `limit_percentage` must be set. The soft limit is
/// the hard limit minus the spike limit; while the process uses at least the soft
/// limit, data is refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryLimiterConfig {
    /// Time between two measurements of the process's memory use (a duration such as
    /// `1s`). Must be greater than zero. Default `0` (unset, so it must be given).
    #[serde(with = "stratus_core::confval::duration")]
    pub check_interval: Duration,
    /// Hard limit on the process's memory use, in MiB. Default `0` (unset).
    pub limit_mib: u32,
    /// Largest expected growth of memory use between two checks, in MiB; must be
    /// smaller than `limit_mib`. Default `0`, meaning 20% of the hard limit.
    pub spike_limit_mib: u32,
    /// Hard limit as a percentage (1–100) of the memory available to the process: the
    /// container's cgroup memory limit, else the machine's physical memory.
    /// Default `0` (unset).
    pub limit_percentage: u32,
    /// Spike limit as a percentage of the same total; must be smaller than
    /// `limit_percentage`. Default `0`, meaning 20% of the hard limit.
    pub spike_limit_percentage: u32,
    /// Accepted for compatibility with collector configs and ignored: stratus has no
    /// garbage collector to force. Default `10s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub min_gc_interval_when_soft_limited: Duration,
    /// Accepted for compatibility with collector configs and ignored: stratus has no
    /// garbage collector to force. Default `0s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub min_gc_interval_when_hard_limited: Duration,
    /// Accepted for compatibility with collector configs and ignored: stratus has no
    /// garbage collector to force. Default `30s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub max_gc_interval_when_soft_limited: Duration,
    /// Accepted for compatibility with collector configs and ignored: stratus has no
    /// garbage collector to force. Default `30s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub max_gc_interval_when_hard_limited: Duration,
}

impl Default for MemoryLimiterConfig {
    fn default() -> Self {
        MemoryLimiterConfig {
            check_interval: Duration::ZERO,
            limit_mib: 0,
            spike_limit_mib: 0,
            limit_percentage: 0,
            spike_limit_percentage: 0,
            min_gc_interval_when_soft_limited: Duration::from_secs(10),
            min_gc_interval_when_hard_limited: Duration::ZERO,
            max_gc_interval_when_soft_limited: Duration::from_secs(30),
            max_gc_interval_when_hard_limited: Duration::from_secs(30),
        }
    }
}

impl Validate for MemoryLimiterConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.check_interval.is_zero() {
            problems.push(ConfigProblem::new(
                "check_interval",
                "must be greater than zero (e.g. `1s`)",
            ));
        }
        match (self.limit_mib, self.limit_percentage) {
            (0, 0) => problems.push(ConfigProblem::new(
                "limit_mib",
                "one of `limit_mib` or `limit_percentage` must be set",
            )),
            (mib, pct) if mib > 0 && pct > 0 => problems.push(ConfigProblem::new(
                "limit_percentage",
                "set either `limit_mib` or `limit_percentage`, not both",
            )),
            _ => {}
        }
        if self.limit_percentage > 100 {
            problems.push(ConfigProblem::new(
                "limit_percentage",
                format!("must be at most 100, got {}", self.limit_percentage),
            ));
        }
        if self.spike_limit_percentage > 100 {
            problems.push(ConfigProblem::new(
                "spike_limit_percentage",
                format!("must be at most 100, got {}", self.spike_limit_percentage),
            ));
        }
        if self.limit_mib > 0 && self.spike_limit_mib >= self.limit_mib {
            problems.push(ConfigProblem::new(
                "spike_limit_mib",
                format!(
                    "must be smaller than limit_mib ({}), got {}",
                    self.limit_mib, self.spike_limit_mib
                ),
            ));
        }
        if self.limit_percentage > 0 && self.spike_limit_percentage >= self.limit_percentage {
            problems.push(ConfigProblem::new(
                "spike_limit_percentage",
                format!(
                    "must be smaller than limit_percentage ({}), got {}",
                    self.limit_percentage, self.spike_limit_percentage
                ),
            ));
        }
        if self.min_gc_interval_when_soft_limited < self.min_gc_interval_when_hard_limited {
            problems.push(ConfigProblem::new(
                "min_gc_interval_when_soft_limited",
                "must be at least min_gc_interval_when_hard_limited",
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use stratus_core::factory::decode_config;

    fn problems(raw: Value) -> Vec<(String, String)> {
        decode_config::<MemoryLimiterConfig>(&raw)
            .unwrap_err()
            .into_iter()
            .map(|p| (p.path, p.message))
            .collect()
    }

    fn paths(raw: Value) -> Vec<String> {
        problems(raw).into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn decodes_a_typical_config() {
        let c: MemoryLimiterConfig = decode_config(&json!({
            "check_interval": "1s", "limit_mib": 400, "spike_limit_mib": 100,
            "min_gc_interval_when_soft_limited": "5s",
            "max_gc_interval_when_hard_limited": "1m",
        }))
        .unwrap();
        assert_eq!(c.check_interval, Duration::from_secs(1));
        assert_eq!(c.limit_mib, 400);
        assert_eq!(c.spike_limit_mib, 100);
        assert_eq!(c.min_gc_interval_when_soft_limited, Duration::from_secs(5));
        assert_eq!(c.max_gc_interval_when_hard_limited, Duration::from_secs(60));
        assert_eq!(c.max_gc_interval_when_soft_limited, Duration::from_secs(30));
        let c: MemoryLimiterConfig = decode_config(&json!({
            "check_interval": "250ms", "limit_percentage": 80, "spike_limit_percentage": 15,
        }))
        .unwrap();
        assert_eq!(c.limit_percentage, 80);
        assert_eq!(c.spike_limit_percentage, 15);
    }

    #[test]
    fn defaults_are_the_collectors_and_need_a_limit_and_interval() {
        let d = MemoryLimiterConfig::default();
        assert_eq!(d.min_gc_interval_when_soft_limited, Duration::from_secs(10));
        assert_eq!(d.min_gc_interval_when_hard_limited, Duration::ZERO);
        assert_eq!(d.max_gc_interval_when_soft_limited, Duration::from_secs(30));
        assert_eq!(d.max_gc_interval_when_hard_limited, Duration::from_secs(30));
        // An empty config reports both missing settings at once.
        assert_eq!(paths(Value::Null), ["check_interval", "limit_mib"]);
        assert_eq!(paths(json!({})), ["check_interval", "limit_mib"]);
    }

    #[test]
    fn check_interval_must_be_positive() {
        let p = problems(json!({"check_interval": "0s", "limit_mib": 100}));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "check_interval");
        assert!(p[0].1.contains("greater than zero"));
    }

    #[test]
    fn exactly_one_limit_must_be_set() {
        let p = problems(json!({"check_interval": "1s"}));
        assert_eq!(p[0].0, "limit_mib");
        assert!(p[0].1.contains("must be set"));
        let p = problems(json!({"check_interval": "1s", "limit_mib": 100, "limit_percentage": 50}));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "limit_percentage");
        assert!(p[0].1.contains("not both"));
    }

    #[test]
    fn spike_must_stay_below_the_limit() {
        let p = problems(json!({"check_interval": "1s", "limit_mib": 100, "spike_limit_mib": 100}));
        assert_eq!(p[0].0, "spike_limit_mib");
        assert!(p[0].1.contains("smaller than limit_mib (100)"));
        let p = problems(json!({
            "check_interval": "1s", "limit_percentage": 50, "spike_limit_percentage": 60
        }));
        assert_eq!(p[0].0, "spike_limit_percentage");
        decode_config::<MemoryLimiterConfig>(
            &json!({"check_interval": "1s", "limit_mib": 100, "spike_limit_mib": 99}),
        )
        .unwrap();
    }

    #[test]
    fn percentages_are_at_most_100() {
        let p = paths(json!({
            "check_interval": "1s", "limit_percentage": 101, "spike_limit_percentage": 10
        }));
        assert_eq!(p, ["limit_percentage"]);
        let p = paths(json!({
            "check_interval": "1s", "limit_percentage": 50, "spike_limit_percentage": 150
        }));
        assert_eq!(p, ["spike_limit_percentage", "spike_limit_percentage"]);
    }

    #[test]
    fn gc_intervals_are_checked_like_the_collector() {
        let p = paths(json!({
            "check_interval": "1s", "limit_mib": 100,
            "min_gc_interval_when_soft_limited": "1s",
            "min_gc_interval_when_hard_limited": "2s",
        }));
        assert_eq!(p, ["min_gc_interval_when_soft_limited"]);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        assert_eq!(
            paths(json!({"check_interval": "1s", "limit_mb": 100})),
            ["limit_mb"]
        );
        assert_eq!(
            paths(json!({"check_interval": "1s", "limit_mib": -5})),
            ["limit_mib"]
        );
        assert_eq!(
            paths(json!({"check_interval": "soon", "limit_mib": 5})),
            ["check_interval"]
        );
    }
}
