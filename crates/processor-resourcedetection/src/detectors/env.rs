//! The `env` detector: `OTEL_RESOURCE_ATTRIBUTES` (or the older `OTEL_RESOURCE`),
//! `key1=value1,key2=value2`, parsed the way upstream parses it.
//!
//! Keys and values are ASCII, at most 256 characters each; whitespace around them is
//! dropped; values are URL-query-unescaped (`%3A` is `:`, `+` is a space); any text
//! that is not a `key=value` pair makes the whole variable invalid, and detection
//! fails with the offending text.

use std::sync::OnceLock;

use async_trait::async_trait;
use regex::Regex;

use super::{DetectContext, DetectError, DetectedResource, Detector, string_value};
use crate::config::EnvConfig;

/// The variable the specification names.
pub(crate) const ENV_VAR: &str = "OTEL_RESOURCE_ATTRIBUTES";
/// The variable upstream still reads when [`ENV_VAR`] is empty.
pub(crate) const DEPRECATED_ENV_VAR: &str = "OTEL_RESOURCE";

/// Reads the resource from the environment.
#[derive(Debug)]
pub(crate) struct EnvDetector {
    allow_list: Option<Vec<String>>,
}

impl EnvDetector {
    pub(crate) fn new(config: &EnvConfig) -> Self {
        EnvDetector {
            allow_list: config.allow_list.clone(),
        }
    }
}

#[async_trait]
impl Detector for EnvDetector {
    fn name(&self) -> &'static str {
        "env"
    }

    async fn detect(&self, cx: &DetectContext) -> Result<DetectedResource, DetectError> {
        detect_from(cx.env.as_ref(), self.allow_list.as_deref())
    }
}

fn detect_from(
    env: &dyn crate::environment::Environment,
    allow_list: Option<&[String]>,
) -> Result<DetectedResource, DetectError> {
    let read = |name| env.var(name).map(|v| v.trim().to_string());
    let labels = match read(ENV_VAR).filter(|v| !v.is_empty()) {
        Some(v) => v,
        None => match read(DEPRECATED_ENV_VAR).filter(|v| !v.is_empty()) {
            Some(v) => v,
            None => return Ok(DetectedResource::default()),
        },
    };
    let pairs = parse(&labels).map_err(|m| DetectError::new("invalid_input", m))?;
    let mut out = DetectedResource::default();
    for (k, v) in pairs {
        if let Some(allowed) = allow_list
            && !allowed.contains(&k)
        {
            continue;
        }
        // Later duplicates replace earlier ones, as upstream's map does.
        match out.attributes.iter_mut().find(|kv| kv.key == k) {
            Some(kv) => kv.value = Some(string_value(v)),
            None => out.attributes.push(stratus_core::pdata::common::KeyValue {
                key: k,
                value: Some(string_value(v)),
                ..Default::default()
            }),
        }
    }
    Ok(out)
}

/// Upstream's pattern: a key, `=`, a value, then `,` or the end. `\s` in Go's RE2 is
/// ASCII whitespace, which `[\t\n\f\r ]` spells out for Rust's Unicode-aware regex.
fn pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        #[allow(clippy::expect_used)] // a constant pattern, covered by tests
        Regex::new(r"[\t\n\f\r ]*([[:ascii:]]{1,256}?)[\t\n\f\r ]*=[\t\n\f\r ]*([[:ascii:]]{0,256}?)[\t\n\f\r ]*(?:,|$)")
            .expect("the OTEL_RESOURCE_ATTRIBUTES pattern compiles")
    })
}

/// Parses `key=value,...` into pairs, in order; the error message says what text is
/// not a pair.
pub(crate) fn parse(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut prev = 0;
    let mut any = false;
    for caps in pattern().captures_iter(s) {
        any = true;
        let (Some(whole), Some(key), Some(value)) = (caps.get(0), caps.get(1), caps.get(2)) else {
            continue;
        };
        if whole.start() != prev {
            return Err(format!(
                "invalid resource format, invalid text: {:?}",
                &s[prev..whole.start()]
            ));
        }
        let value = query_unescape(value.as_str()).map_err(|e| {
            format!(
                "invalid resource format in attribute: {:?}, err: {e}",
                whole.as_str()
            )
        })?;
        pairs.push((key.as_str().to_string(), value));
        prev = whole.end();
    }
    if !any {
        return Err(format!("invalid resource format: {s:?}"));
    }
    if prev != s.len() {
        return Err(format!(
            "invalid resource format, invalid text: {:?}",
            &s[prev..]
        ));
    }
    Ok(pairs)
}

/// Go's `url.QueryUnescape`: `%XX` is a byte, `+` a space; a `%` not followed by two
/// hex digits is an error naming the bad escape.
pub(crate) fn query_unescape(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        let end = (i + 3).min(bytes.len());
                        return Err(format!(
                            "invalid URL escape {:?}",
                            String::from_utf8_lossy(&bytes[i..end])
                        ));
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// For tests elsewhere in the crate: the detector over an explicit environment.
#[cfg(test)]
pub(crate) fn detect_with(
    env: std::sync::Arc<dyn crate::environment::Environment>,
    allow_list: Option<&[String]>,
) -> Result<DetectedResource, DetectError> {
    detect_from(env.as_ref(), allow_list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::FixedEnvironment;
    use std::sync::Arc;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Upstream's table (env_test.go `TestInitializeAttributeMap`), message for message.
    #[test]
    fn parses_like_upstream() {
        assert_eq!(
            parse(r#" example.org/test-1 =  test $ %3A \" ,  Abc=Def  "#).unwrap(),
            pairs(&[("example.org/test-1", r#"test $ : \""#), ("Abc", "Def")])
        );
        assert_eq!(parse("single=key").unwrap(), pairs(&[("single", "key")]));
        assert_eq!(
            parse("invalid=url-%3-encoding").unwrap_err(),
            r#"invalid resource format in attribute: "invalid=url-%3-encoding", err: invalid URL escape "%3-""#
        );
        assert_eq!(
            parse("invalid-char-ü=test").unwrap_err(),
            r#"invalid resource format: "invalid-char-ü=test""#
        );
        assert_eq!(
            parse("invalid-char=ü-test").unwrap_err(),
            r#"invalid resource format: "invalid-char=ü-test""#
        );
        assert_eq!(
            parse("extra=chars, a").unwrap_err(),
            r#"invalid resource format, invalid text: " a""#
        );
        assert_eq!(
            parse("invalid=char,übetween=attributes").unwrap_err(),
            r#"invalid resource format, invalid text: "ü""#
        );
    }

    #[test]
    fn percent_decoding_and_plus() {
        assert_eq!(
            parse("service.name=my%20svc,team=a+b,url=https%3A%2F%2Fx").unwrap(),
            pairs(&[
                ("service.name", "my svc"),
                ("team", "a b"),
                ("url", "https://x")
            ])
        );
        assert_eq!(parse("empty=").unwrap(), pairs(&[("empty", "")]));
        // A trailing comma ends the last pair, as in upstream; a trailing space does not.
        assert_eq!(parse("k=v,").unwrap(), pairs(&[("k", "v")]));
        assert!(parse("k=v, ").is_err());
        assert_eq!(
            query_unescape("%4").unwrap_err(),
            r#"invalid URL escape "%4""#
        );
    }

    #[test]
    fn reads_the_variable_with_fallback_and_allow_list() {
        let env = Arc::new(FixedEnvironment::new().with_var(ENV_VAR, "a=1, b=2,a=3"));
        let got = detect_with(env.clone(), None).unwrap();
        assert_eq!(got.get_str("a"), Some("3"));
        assert_eq!(got.get_str("b"), Some("2"));
        assert_eq!(got.schema_url, "");
        let only_b = detect_with(env, Some(&["b".to_string()])).unwrap();
        assert_eq!(only_b.attributes.len(), 1);

        let old = Arc::new(
            FixedEnvironment::new()
                .with_var(ENV_VAR, "  ")
                .with_var(DEPRECATED_ENV_VAR, "k=v"),
        );
        assert_eq!(detect_with(old, None).unwrap().get_str("k"), Some("v"));
        assert!(
            detect_with(Arc::new(FixedEnvironment::new()), None)
                .unwrap()
                .is_empty()
        );
        let bad = Arc::new(FixedEnvironment::new().with_var(ENV_VAR, "key=value,key"));
        let err = detect_with(bad, None).unwrap_err();
        assert_eq!(err.code, "invalid_input");
    }
}
