//! The `debug` exporter's config, with the collector's keys and defaults.

use serde::{Deserialize, Deserializer};
use stratus_core::factory::{ConfigProblem, Validate};

/// How much the exporter prints per batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// One line per batch with its counts.
    Basic,
    /// Also one line per span, data point or log record.
    Normal,
    /// Also every field of every item.
    Detailed,
}

impl<'de> Deserialize<'de> for Verbosity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        match text.to_ascii_lowercase().as_str() {
            "basic" => Ok(Verbosity::Basic),
            "normal" => Ok(Verbosity::Normal),
            "detailed" => Ok(Verbosity::Detailed),
            _ => Err(serde::de::Error::custom(format!(
                "unknown verbosity `{text}`, expected `basic`, `normal` or `detailed`"
            ))),
        }
    }
}

/// The config of the `debug` exporter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DebugConfig {
    /// `basic`, `normal` or `detailed`. Default `basic`.
    pub verbosity: Verbosity,
    /// Batches printed each second before sampling starts. Default `2`.
    pub sampling_initial: u64,
    /// After `sampling_initial` in a second, print every n-th batch. Default `1` (all).
    pub sampling_thereafter: u64,
    /// Print through stratus's logger (`true`) or straight to standard output
    /// (`false`). Default `true`.
    pub use_internal_logger: bool,
}

impl Default for DebugConfig {
    fn default() -> Self {
        DebugConfig {
            verbosity: Verbosity::Basic,
            sampling_initial: 2,
            sampling_thereafter: 1,
            use_internal_logger: true,
        }
    }
}

impl Validate for DebugConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        if self.sampling_thereafter == 0 {
            vec![ConfigProblem::new(
                "sampling_thereafter",
                "must be at least 1 (1 prints every batch)",
            )]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_core::factory::decode_config;

    #[test]
    fn defaults_and_problems() {
        let c: DebugConfig = decode_config(&serde_json::Value::Null).unwrap();
        assert_eq!(c, DebugConfig::default());
        assert_eq!(c.verbosity, Verbosity::Basic);
        assert_eq!((c.sampling_initial, c.sampling_thereafter), (2, 1));
        let c: DebugConfig = decode_config(&json!({"verbosity": "Detailed"})).unwrap();
        assert_eq!(c.verbosity, Verbosity::Detailed);
        let e = decode_config::<DebugConfig>(&json!({"verbosity": "loud"})).unwrap_err();
        assert_eq!(e[0].path, "verbosity");
        assert!(e[0].message.contains("loud"), "{}", e[0].message);
        let e = decode_config::<DebugConfig>(&json!({"verbosty": "basic"})).unwrap_err();
        assert_eq!(e[0].path, "verbosty");
        let e = decode_config::<DebugConfig>(&json!({"sampling_thereafter": 0})).unwrap_err();
        assert_eq!(e[0].path, "sampling_thereafter");
    }
}
