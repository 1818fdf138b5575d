//! The redaction processor's config: the contrib `redaction` processor's keys and
//! defaults.

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Deserializer};
use stratus_core::confval::Secret;
use stratus_core::factory::{ConfigProblem, Validate};

/// Config of the `redaction` processor.
///
/// Every key and default is upstream's. Read the crate docs before deploying it:
/// with the defaults (`allow_all_keys: false`, no `allowed_keys`) **every attribute is
/// removed**, as upstream does.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedactionConfig {
    /// Keep every attribute key, making `allowed_keys` irrelevant; `blocked_values`
    /// and `blocked_key_patterns` still apply. Set it when you only want to mask
    /// values. Default `false`: only `allowed_keys` (and `ignored_keys`) survive.
    pub allow_all_keys: bool,
    /// Attribute keys that are kept (and checked against `blocked_values`); every
    /// other key is removed unless ignored. Fails closed: empty means no attribute is
    /// kept. Exact key names. Default empty.
    pub allowed_keys: Vec<String>,
    /// Attribute keys passed through untouched: never removed, never masked.
    /// Exact key names. Default empty.
    pub ignored_keys: Vec<String>,
    /// Regular expressions (unanchored) over attribute keys; a matching key is
    /// treated like one of `ignored_keys`. Default empty.
    pub ignored_key_patterns: Vec<String>,
    /// Regular expressions (unanchored) over attribute keys; the whole value of a
    /// kept attribute whose key matches is masked (or hashed). Default empty.
    pub blocked_key_patterns: Vec<String>,
    /// Regular expressions (unanchored) over the values of kept attributes; every
    /// matching part of a value is replaced by `****` (or its hash). Applied in
    /// order, each to the result of the one before. Default empty.
    pub blocked_values: Vec<String>,
    /// Regular expressions (unanchored); a kept attribute whose value matches one of
    /// them is left as it is, even if a blocked value or key pattern matches too.
    /// Default empty.
    pub allowed_values: Vec<String>,
    /// Check non-string values too, through their string form (`4111111111111111`
    /// as an integer; maps and arrays as JSON), replacing a masked value with a
    /// string. Default `false`: only string values are checked.
    pub redact_all_types: bool,
    /// What replaces masked text: empty (the default) for `****`, else the hex digest
    /// of the masked text under `md5`, `sha1`, `sha3` (SHA3-256), `hmac-sha256` or
    /// `hmac-sha512` (case-insensitive). Default `""`.
    pub hash_function: HashFunction,
    /// The secret key of `hmac-sha256` (at least 32 bytes) and `hmac-sha512` (at
    /// least 64 bytes); unused otherwise. Never logged. Default empty.
    pub hmac_key: Secret,
    /// Diagnostic attributes added where something was redacted: `debug` (counts and
    /// key names), `info` (counts), `silent` (none). Default `silent` (upstream's
    /// default, the empty string, behaves the same).
    pub summary: Summary,
}

impl Default for RedactionConfig {
    fn default() -> Self {
        RedactionConfig {
            allow_all_keys: false,
            allowed_keys: Vec::new(),
            ignored_keys: Vec::new(),
            ignored_key_patterns: Vec::new(),
            blocked_key_patterns: Vec::new(),
            blocked_values: Vec::new(),
            allowed_values: Vec::new(),
            redact_all_types: false,
            hash_function: HashFunction::None,
            hmac_key: Secret::default(),
            summary: Summary::Silent,
        }
    }
}

/// The shortest `hmac_key` for `hmac-sha256`, in bytes (the digest size).
pub const HMAC_SHA256_MIN_KEY: usize = 32;
/// The shortest `hmac_key` for `hmac-sha512`, in bytes (the digest size).
pub const HMAC_SHA512_MIN_KEY: usize = 64;

impl RedactionConfig {
    /// The regex lists of the config, each with its key.
    pub(crate) fn regex_lists(&self) -> [(&'static str, &[String]); 4] {
        [
            ("ignored_key_patterns", &self.ignored_key_patterns),
            ("blocked_key_patterns", &self.blocked_key_patterns),
            ("blocked_values", &self.blocked_values),
            ("allowed_values", &self.allowed_values),
        ]
    }
}

impl Validate for RedactionConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        for (key, patterns) in self.regex_lists() {
            for (i, pattern) in patterns.iter().enumerate() {
                if let Err(e) = Regex::new(pattern) {
                    problems.push(ConfigProblem::new(
                        format!("{key}::{i}"),
                        format!(
                            "invalid regular expression `{pattern}`: {}",
                            one_line(&e.to_string())
                        ),
                    ));
                }
            }
        }
        let min_key = match self.hash_function {
            HashFunction::HmacSha256 => Some(HMAC_SHA256_MIN_KEY),
            HashFunction::HmacSha512 => Some(HMAC_SHA512_MIN_KEY),
            _ => None,
        };
        if let Some(min) = min_key {
            let len = self.hmac_key.expose().len();
            if len == 0 {
                problems.push(ConfigProblem::new(
                    "hmac_key",
                    format!(
                        "hash_function `{}` needs an hmac_key (at least {min} bytes; load it \
                         from the environment, e.g. `${{env:REDACTION_HMAC_KEY}}`)",
                        self.hash_function
                    ),
                ));
            } else if len < min {
                problems.push(ConfigProblem::new(
                    "hmac_key",
                    format!(
                        "hmac_key is {len} bytes long; hash_function `{}` needs at least {min}",
                        self.hash_function
                    ),
                ));
            }
        }
        problems
    }
}

/// The regex crate's error text spans several lines (pattern, caret, message); a
/// config problem is one line.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What replaces the text a blocked value or key pattern matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashFunction {
    /// The fixed string `****` (config value `""`, the default).
    #[default]
    None,
    /// The MD5 digest of the text, lowercase hex (`md5`).
    Md5,
    /// The SHA-1 digest, lowercase hex (`sha1`).
    Sha1,
    /// The SHA3-256 digest, lowercase hex (`sha3`).
    Sha3,
    /// HMAC-SHA256 under `hmac_key`, lowercase hex (`hmac-sha256`).
    HmacSha256,
    /// HMAC-SHA512 under `hmac_key`, lowercase hex (`hmac-sha512`).
    HmacSha512,
}

impl HashFunction {
    /// The config value naming it.
    pub fn as_str(self) -> &'static str {
        match self {
            HashFunction::None => "",
            HashFunction::Md5 => "md5",
            HashFunction::Sha1 => "sha1",
            HashFunction::Sha3 => "sha3",
            HashFunction::HmacSha256 => "hmac-sha256",
            HashFunction::HmacSha512 => "hmac-sha512",
        }
    }
}

impl fmt::Display for HashFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for HashFunction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        // Upstream lower-cases the value before matching it.
        Ok(match text.to_lowercase().as_str() {
            "" => HashFunction::None,
            "md5" => HashFunction::Md5,
            "sha1" => HashFunction::Sha1,
            "sha3" => HashFunction::Sha3,
            "hmac-sha256" => HashFunction::HmacSha256,
            "hmac-sha512" => HashFunction::HmacSha512,
            other => {
                return Err(serde::de::Error::custom(format!(
                    "unknown hash_function `{other}`: allowed are md5, sha1, sha3, hmac-sha256 \
                     and hmac-sha512, or leave it out to mask with `****`"
                )));
            }
        })
    }
}

/// How much the processor tells about what it redacted, in attributes it adds next to
/// the ones it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Summary {
    /// `redaction.*.count` attributes and the `redaction.*.keys` lists of key names.
    Debug,
    /// `redaction.*.count` attributes only.
    Info,
    /// No attributes (the default).
    #[default]
    Silent,
}

impl<'de> Deserialize<'de> for Summary {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        // Upstream compares exactly and treats every other value (its default, the
        // empty string, included) as silent; stratus accepts the empty string and
        // refuses typos instead of silently dropping the summary.
        Ok(match text.as_str() {
            "debug" => Summary::Debug,
            "info" => Summary::Info,
            "silent" | "" => Summary::Silent,
            other => {
                return Err(serde::de::Error::custom(format!(
                    "unknown summary `{other}`: expected debug, info or silent"
                )));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use stratus_core::factory::decode_config;

    fn problems(raw: Value) -> Vec<ConfigProblem> {
        decode_config::<RedactionConfig>(&raw).unwrap_err()
    }

    #[test]
    fn defaults_are_upstreams() {
        let c: RedactionConfig = decode_config(&Value::Null).unwrap();
        assert_eq!(c, RedactionConfig::default());
        assert!(!c.allow_all_keys);
        assert!(c.allowed_keys.is_empty());
        assert_eq!(c.hash_function, HashFunction::None);
        assert_eq!(c.summary, Summary::Silent);
        assert!(!c.redact_all_types);
    }

    #[test]
    fn every_key_decodes() {
        let c: RedactionConfig = decode_config(&json!({
            "allow_all_keys": true,
            "allowed_keys": ["id"],
            "ignored_keys": ["safe"],
            "ignored_key_patterns": ["^safe_.*"],
            "blocked_key_patterns": [".*token.*"],
            "blocked_values": ["4[0-9]{12}(?:[0-9]{3})?"],
            "allowed_values": [".+@mycompany.com"],
            "redact_all_types": true,
            "hash_function": "HMAC-SHA256",
            "hmac_key": "0123456789abcdef0123456789abcdef",
            "summary": "debug",
        }))
        .unwrap();
        assert_eq!(c.hash_function, HashFunction::HmacSha256);
        assert_eq!(c.summary, Summary::Debug);
        assert_eq!(c.blocked_values.len(), 1);
        assert_eq!(format!("{:?}", c.hmac_key), "[REDACTED]");
    }

    #[test]
    fn hash_function_values_are_upstreams_case_insensitive() {
        for (text, want) in [
            ("", HashFunction::None),
            ("md5", HashFunction::Md5),
            ("MD5", HashFunction::Md5),
            ("sha1", HashFunction::Sha1),
            ("Sha3", HashFunction::Sha3),
            ("hmac-sha512", HashFunction::HmacSha512),
        ] {
            let c: RedactionConfig = decode_config(&json!({
                "hash_function": text,
                "hmac_key": "k".repeat(64),
            }))
            .unwrap();
            assert_eq!(c.hash_function, want, "{text}");
        }
        let p = problems(json!({"hash_function": "sha256"}));
        assert_eq!(p[0].path, "hash_function");
        assert!(
            p[0].message.contains("unknown hash_function `sha256`"),
            "{p:?}"
        );
        assert!(p[0].message.contains("hmac-sha256"), "{p:?}");
    }

    #[test]
    fn summary_values() {
        for (text, want) in [
            ("debug", Summary::Debug),
            ("info", Summary::Info),
            ("silent", Summary::Silent),
            ("", Summary::Silent),
        ] {
            let c: RedactionConfig = decode_config(&json!({"summary": text})).unwrap();
            assert_eq!(c.summary, want);
        }
        let p = problems(json!({"summary": "verbose"}));
        assert_eq!(p[0].path, "summary");
        assert!(
            p[0].message.contains("expected debug, info or silent"),
            "{p:?}"
        );
    }

    /// Every broken regex is reported, each at its list and index, in one pass.
    #[test]
    fn invalid_regexes_are_reported_with_key_and_index() {
        let p = problems(json!({
            "blocked_values": ["4[0-9]{12}", "(unclosed"],
            "blocked_key_patterns": ["*token"],
            "allowed_values": ["ok", "also ok", "[z-a]"],
            "ignored_key_patterns": ["a{2,1}"],
        }));
        let paths: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "ignored_key_patterns::0",
                "blocked_key_patterns::0",
                "blocked_values::1",
                "allowed_values::2"
            ]
        );
        assert!(
            p[2].message
                .starts_with("invalid regular expression `(unclosed`: "),
            "{}",
            p[2].message
        );
        assert!(p.iter().all(|p| !p.message.contains('\n')), "{p:?}");
    }

    #[test]
    fn hmac_needs_a_long_enough_key() {
        let p = problems(json!({"hash_function": "hmac-sha256"}));
        assert_eq!(p[0].path, "hmac_key");
        assert!(
            p[0].message
                .contains("needs an hmac_key (at least 32 bytes"),
            "{p:?}"
        );
        let p = problems(json!({"hash_function": "hmac-sha512", "hmac_key": "k".repeat(63)}));
        assert_eq!(p[0].path, "hmac_key");
        assert_eq!(
            p[0].message,
            "hmac_key is 63 bytes long; hash_function `hmac-sha512` needs at least 64"
        );
        // The key is never echoed.
        let p = problems(json!({"hash_function": "hmac-sha256", "hmac_key": "s3cr3t"}));
        assert!(!p[0].message.contains("s3cr3t"), "{p:?}");
        // Without an HMAC function the key is not needed.
        decode_config::<RedactionConfig>(&json!({"hash_function": "md5"})).unwrap();
    }

    #[test]
    fn unknown_keys_are_refused() {
        // Upstream's url_sanitizer and db_sanitizer are not implemented: refused, not
        // silently ignored.
        for key in ["url_sanitizer", "db_sanitizer", "allowed_key"] {
            let p = problems(json!({ key: {} }));
            assert_eq!(p[0].path, key);
            assert!(p[0].message.contains("unknown field"), "{p:?}");
        }
    }
}
