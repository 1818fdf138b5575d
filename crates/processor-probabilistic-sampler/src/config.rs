//! The `probabilistic_sampler` config: the collector's keys, defaults and checks
//! (contrib `config.go`, `factory.go`, `sampler_mode.go`).

use serde::{Deserialize, Deserializer};
use stratus_core::factory::{ConfigProblem, Validate};

use crate::sampling::{MIN_SAMPLING_PROBABILITY, NUM_HEX_DIGITS};

/// How the sampler decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplerMode {
    /// FNV-1a of the hash seed and the trace id (or a log record attribute), 14 bits:
    /// the collector's original algorithm. Writes `rv` and `th` into kept items.
    HashSeed,
    /// OTEP 235 with an absolute threshold: an item already sampled at this
    /// probability or lower passes unchanged, others are sampled down to it.
    Equalizing,
    /// OTEP 235 relative to earlier sampling: every item's probability is multiplied
    /// by `sampling_percentage`.
    Proportional,
}

impl SamplerMode {
    /// The config name (`hash_seed`, `equalizing`, `proportional`).
    pub fn as_str(self) -> &'static str {
        match self {
            SamplerMode::HashSeed => "hash_seed",
            SamplerMode::Equalizing => "equalizing",
            SamplerMode::Proportional => "proportional",
        }
    }
}

/// The mode an unset `mode` falls back to, after upstream's rule (see
/// [`ProbabilisticSamplerConfig::effective_mode`]). Upstream's `defaultMode` is
/// `hash_seed`; its maintainers mean to move it to `proportional` one day, which
/// would be this one constant.
pub const DEFAULT_MODE: SamplerMode = SamplerMode::HashSeed;

/// Where log records get their randomness in `hash_seed` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum AttributeSource {
    /// The record's trace id; the `from_attribute` attribute when it has none.
    #[default]
    #[serde(rename = "traceID")]
    TraceId,
    /// The `from_attribute` attribute only.
    #[serde(rename = "record")]
    Record,
}

/// The `probabilistic_sampler` processor's config.
///
/// ```yaml
/// processors:
///   probabilistic_sampler:
///     sampling_percentage: 15.3
///     hash_seed: 22
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbabilisticSamplerConfig {
    /// Percentage of items kept (a `float32`, as upstream): `0` drops everything,
    /// `100` or more keeps everything. Default `0`.
    pub sampling_percentage: f32,
    /// Seed of the `hash_seed` mode's hash (`uint32`). Every collector of a tier must
    /// use the same seed to keep the same traces. Default `0`.
    pub hash_seed: u32,
    /// `hash_seed`, `proportional` or `equalizing`; unset (or `""`) picks by
    /// upstream's rule, which gives `hash_seed` today. Default unset.
    #[serde(deserialize_with = "mode_or_unset")]
    pub mode: Option<SamplerMode>,
    /// Drop items whose sampling information cannot be used (no trace id, an
    /// unreadable or inconsistent tracestate) instead of keeping them. Default `true`.
    pub fail_closed: bool,
    /// Hex digits (1 to 14) of the thresholds written in `proportional` and
    /// `equalizing` modes. Default `4`.
    pub sampling_precision: i64,
    /// Logs only: `traceID` or `record`, where the `hash_seed` mode finds the bytes
    /// to hash. Default `traceID`.
    pub attribute_source: AttributeSource,
    /// Logs only: the record attribute hashed when `attribute_source` is `record`, or
    /// when a record has no trace id. Default none; required with `record`.
    pub from_attribute: String,
    /// Logs only: a record attribute holding a sampling percentage (int or double,
    /// above 0 and at most 100) that replaces `sampling_percentage` for that
    /// record. Default none.
    pub sampling_priority: String,
}

impl Default for ProbabilisticSamplerConfig {
    fn default() -> Self {
        ProbabilisticSamplerConfig {
            sampling_percentage: 0.0,
            hash_seed: 0,
            mode: None,
            fail_closed: true,
            sampling_precision: 4,
            attribute_source: AttributeSource::TraceId,
            from_attribute: String::new(),
            sampling_priority: String::new(),
        }
    }
}

/// `mode`: a mode name, or `""` / null for unset (upstream's `modeUnset`).
fn mode_or_unset<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SamplerMode>, D::Error> {
    let raw: Option<String> = Option::deserialize(d)?;
    match raw.as_deref() {
        None | Some("") => Ok(None),
        Some("hash_seed") => Ok(Some(SamplerMode::HashSeed)),
        Some("equalizing") => Ok(Some(SamplerMode::Equalizing)),
        Some("proportional") => Ok(Some(SamplerMode::Proportional)),
        Some(other) => Err(serde::de::Error::custom(format!(
            "unsupported sampler mode {other:?}: expected hash_seed, proportional or equalizing"
        ))),
    }
}

impl ProbabilisticSamplerConfig {
    /// The mode in effect for one signal: `mode` when set; otherwise, by upstream's
    /// rule, `hash_seed` when a `hash_seed` is configured or when logs are hashed by
    /// record attribute (`attribute_source: record`), and [`DEFAULT_MODE`] for the
    /// rest (also `hash_seed`, so an unset mode is `hash_seed` everywhere today).
    pub fn effective_mode(&self, logs: bool) -> SamplerMode {
        match self.mode {
            Some(mode) => mode,
            None if self.hash_seed != 0
                || (logs && self.attribute_source != AttributeSource::TraceId) =>
            {
                SamplerMode::HashSeed
            }
            None => DEFAULT_MODE,
        }
    }
}

impl Validate for ProbabilisticSamplerConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let pct = self.sampling_percentage;
        let ratio = f64::from(pct) / 100.0;
        if !pct.is_finite() {
            problems.push(ConfigProblem::new(
                "sampling_percentage",
                format!("sampling rate is invalid: {pct}%; give a percentage from 0 to 100"),
            ));
        } else if ratio < 0.0 {
            problems.push(ConfigProblem::new(
                "sampling_percentage",
                format!(
                    "sampling rate is negative: {pct}%; give a percentage from 0 (drop everything) \
                     to 100 (keep everything)"
                ),
            ));
        } else if ratio != 0.0 && ratio < MIN_SAMPLING_PROBABILITY {
            problems.push(ConfigProblem::new(
                "sampling_percentage",
                format!(
                    "sampling rate is too small: {pct}%; the smallest rate a sampling threshold \
                     can express is 2^-56 (about 1.4e-15 %); use 0 to drop everything"
                ),
            ));
        }
        if !(1..=i64::from(NUM_HEX_DIGITS)).contains(&self.sampling_precision) {
            problems.push(ConfigProblem::new(
                "sampling_precision",
                format!(
                    "invalid sampling precision: {}; give the number of hex digits of written \
                     thresholds, 1 to 14 (default 4)",
                    self.sampling_precision
                ),
            ));
        }
        if self.attribute_source == AttributeSource::Record && self.from_attribute.is_empty() {
            problems.push(ConfigProblem::new(
                "from_attribute",
                "attribute_source is record but from_attribute is empty; name the log record \
                 attribute to hash (or use attribute_source: traceID)",
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_core::factory::decode_config;

    fn decode(v: serde_json::Value) -> Result<ProbabilisticSamplerConfig, Vec<ConfigProblem>> {
        decode_config(&v)
    }

    fn paths(v: serde_json::Value) -> Vec<String> {
        decode(v).unwrap_err().into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn defaults_are_upstreams() {
        let c = decode(serde_json::Value::Null).unwrap();
        assert_eq!(c, ProbabilisticSamplerConfig::default());
        assert_eq!(c.sampling_percentage, 0.0);
        assert!(c.fail_closed);
        assert_eq!(c.sampling_precision, 4);
        assert_eq!(c.attribute_source, AttributeSource::TraceId);
        assert_eq!(c.mode, None);
        assert_eq!(c.effective_mode(false), SamplerMode::HashSeed);
        assert_eq!(c.effective_mode(true), SamplerMode::HashSeed);
    }

    #[test]
    fn reads_every_key() {
        let c = decode(json!({
            "sampling_percentage": 15.3, "hash_seed": 4294967295u32, "mode": "equalizing",
            "fail_closed": false, "sampling_precision": 14, "attribute_source": "record",
            "from_attribute": "logID", "sampling_priority": "priority"
        }))
        .unwrap();
        assert_eq!(c.sampling_percentage, 15.3f32);
        assert_eq!(c.hash_seed, u32::MAX);
        assert_eq!(c.mode, Some(SamplerMode::Equalizing));
        assert!(!c.fail_closed);
        assert_eq!(c.sampling_precision, 14);
        assert_eq!(c.attribute_source, AttributeSource::Record);
        assert_eq!(c.from_attribute, "logID");
        assert_eq!(c.sampling_priority, "priority");
        assert_eq!(decode(json!({"mode": ""})).unwrap().mode, None);
        assert_eq!(
            decode(json!({"mode": "proportional"})).unwrap().mode,
            Some(SamplerMode::Proportional)
        );
    }

    /// Upstream's rule for an unset mode, which today always lands on `hash_seed`.
    #[test]
    fn unset_mode_follows_the_rule() {
        let seeded = decode(json!({"hash_seed": 1})).unwrap();
        assert_eq!(seeded.effective_mode(false), SamplerMode::HashSeed);
        let record = decode(json!({"attribute_source": "record", "from_attribute": "id"})).unwrap();
        assert_eq!(record.effective_mode(true), SamplerMode::HashSeed);
        assert_eq!(record.effective_mode(false), DEFAULT_MODE);
        let explicit = decode(json!({"hash_seed": 1, "mode": "proportional"})).unwrap();
        assert_eq!(explicit.effective_mode(true), SamplerMode::Proportional);
    }

    #[test]
    fn problems_have_key_paths() {
        assert_eq!(
            paths(json!({"sampling_percentage": -1})),
            ["sampling_percentage"]
        );
        let negative = decode(json!({"sampling_percentage": -0.5})).unwrap_err();
        assert!(negative[0].message.contains("negative"), "{negative:?}");
        let small = decode(json!({"sampling_percentage": 1e-20})).unwrap_err();
        assert_eq!(small[0].path, "sampling_percentage");
        assert!(small[0].message.contains("too small"), "{small:?}");
        // 2^-56 as a ratio is the smallest allowed.
        assert!(decode(json!({"sampling_percentage": 100.0 * 2f64.powi(-55)})).is_ok());
        assert_eq!(
            paths(json!({"sampling_precision": 0})),
            ["sampling_precision"]
        );
        assert_eq!(
            paths(json!({"sampling_precision": 15})),
            ["sampling_precision"]
        );
        assert_eq!(
            paths(json!({"sampling_precision": -1})),
            ["sampling_precision"]
        );
        assert_eq!(
            paths(json!({"attribute_source": "record"})),
            ["from_attribute"]
        );
        // Every problem at once.
        assert_eq!(
            paths(json!({"sampling_percentage": -1, "sampling_precision": 0,
                         "attribute_source": "record"})),
            [
                "sampling_percentage",
                "sampling_precision",
                "from_attribute"
            ]
        );
        assert_eq!(
            paths(json!({"attribute_source": "span"})),
            ["attribute_source"]
        );
        assert_eq!(paths(json!({"hash_seed": -1})), ["hash_seed"]);
        assert_eq!(paths(json!({"hash_seed": 4294967296u64})), ["hash_seed"]);
        let mode = decode(json!({"mode": "consistent"})).unwrap_err();
        assert_eq!(mode[0].path, "mode");
        assert!(
            mode[0].message.contains("unsupported sampler mode"),
            "{mode:?}"
        );
        assert_eq!(paths(json!({"sampler_mode": "x"})), ["sampler_mode"]);
        // Over 100 % is allowed and means everything.
        assert!(decode(json!({"sampling_percentage": 200})).is_ok());
    }
}
