//! The `bearertokenauth` config, with the upstream collector's keys, defaults and
//! validation messages.

use std::path::PathBuf;

use http::{HeaderName, HeaderValue};
use serde::Deserialize;
use stratus_core::confval::Secret;
use stratus_core::factory::{ConfigProblem, Validate};

/// The header tokens travel in, by default.
pub const DEFAULT_HEADER: &str = "Authorization";
/// The scheme put before the token, by default.
pub const DEFAULT_SCHEME: &str = "Bearer";

/// `bearertokenauth`: which token(s) to send (client side) or accept (server side).
///
/// `Debug` is safe to log: tokens are [`Secret`]s and print as `[REDACTED]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BearerTokenAuthConfig {
    /// The header the token is sent in and read from (matched without regard to
    /// case). Default `Authorization`.
    pub header: String,
    /// The auth scheme written before the token, `<scheme> <token>`; empty sends the
    /// bare token. Default `Bearer`.
    pub scheme: String,
    /// One static token. Default: none.
    pub token: Secret,
    /// Several static tokens: the server side accepts any of them, the client side
    /// sends the first. Not together with `token`. Default: none.
    pub tokens: Vec<Secret>,
    /// A file holding the token(s), one per line (blank lines ignored), re-read when
    /// it changes. Takes precedence over `token` and `tokens`. Default: none.
    pub filename: Option<PathBuf>,
}

impl Default for BearerTokenAuthConfig {
    fn default() -> Self {
        BearerTokenAuthConfig {
            header: DEFAULT_HEADER.to_string(),
            scheme: DEFAULT_SCHEME.to_string(),
            token: Secret::default(),
            tokens: Vec::new(),
            filename: None,
        }
    }
}

impl BearerTokenAuthConfig {
    /// Whether `filename` is set and the inline token(s) are therefore ignored.
    pub fn inline_tokens_ignored(&self) -> bool {
        self.filename.is_some() && (!self.token.is_empty() || !self.tokens.is_empty())
    }
}

/// Why a token cannot be sent in a header, in words that never quote it.
pub(crate) fn token_problem(token: &str) -> Option<&'static str> {
    if token.is_empty() {
        Some("must not be empty")
    } else if HeaderValue::from_str(token).is_err() || token.contains([' ', '\t']) {
        Some("contains characters a header value cannot carry (control characters or whitespace)")
    } else {
        None
    }
}

impl Validate for BearerTokenAuthConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.token.is_empty() && self.tokens.is_empty() && self.filename.is_none() {
            // Upstream's message, word for word.
            problems.push(ConfigProblem::new("", "no bearer token provided"));
        }
        if !self.token.is_empty() && !self.tokens.is_empty() {
            problems.push(ConfigProblem::new(
                "",
                "either tokens or token should be provided, not both",
            ));
        }
        if HeaderName::from_bytes(self.header.as_bytes()).is_err() {
            problems.push(ConfigProblem::new(
                "header",
                format!("`{}` is not a valid HTTP header name", self.header),
            ));
        }
        if HeaderValue::from_str(&self.scheme).is_err() || self.scheme.contains([' ', '\t']) {
            problems.push(ConfigProblem::new(
                "scheme",
                format!("`{}` is not a valid auth scheme (one word)", self.scheme),
            ));
        }
        if !self.token.is_empty()
            && let Some(why) = token_problem(self.token.expose())
        {
            problems.push(ConfigProblem::new("token", why));
        }
        for (i, t) in self.tokens.iter().enumerate() {
            if let Some(why) = token_problem(t.expose()) {
                problems.push(ConfigProblem::new(format!("tokens::{i}"), why));
            }
        }
        if let Some(f) = &self.filename
            && f.as_os_str().is_empty()
        {
            problems.push(ConfigProblem::new("filename", "must not be empty when set"));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_core::factory::decode_config;

    #[test]
    fn defaults_match_upstream() {
        let c = BearerTokenAuthConfig::default();
        assert_eq!(c.header, "Authorization");
        assert_eq!(c.scheme, "Bearer");
        assert!(c.token.is_empty() && c.tokens.is_empty() && c.filename.is_none());
    }

    #[test]
    fn a_token_source_is_required() {
        let e = decode_config::<BearerTokenAuthConfig>(&serde_json::Value::Null).unwrap_err();
        assert_eq!(e, vec![ConfigProblem::new("", "no bearer token provided")]);
        let e = decode_config::<BearerTokenAuthConfig>(&json!({"scheme": "Token"})).unwrap_err();
        assert_eq!(e[0].message, "no bearer token provided");
    }

    #[test]
    fn token_and_tokens_are_exclusive_but_filename_may_come_with_either() {
        let e = decode_config::<BearerTokenAuthConfig>(&json!({"token": "a", "tokens": ["b"]}))
            .unwrap_err();
        assert_eq!(
            e,
            vec![ConfigProblem::new(
                "",
                "either tokens or token should be provided, not both"
            )]
        );
        // Upstream accepts both and warns that the token is ignored.
        let c: BearerTokenAuthConfig =
            decode_config(&json!({"token": "a", "filename": "/run/token"})).unwrap();
        assert!(c.inline_tokens_ignored());
        let c: BearerTokenAuthConfig = decode_config(&json!({"tokens": ["a", "b"]})).unwrap();
        assert!(!c.inline_tokens_ignored());
        assert_eq!(c.tokens.len(), 2);
    }

    #[test]
    fn every_upstream_key_is_accepted_and_others_are_not() {
        let c: BearerTokenAuthConfig = decode_config(&json!({
            "header": "X-Api-Key", "scheme": "", "token": "t", "filename": "/f"
        }))
        .unwrap();
        assert_eq!(c.header, "X-Api-Key");
        assert_eq!(c.scheme, "");
        let e = decode_config::<BearerTokenAuthConfig>(&json!({"token": "t", "tokn": "x"}))
            .unwrap_err();
        assert!(e[0].message.contains("tokn"), "{e:?}");
    }

    #[test]
    fn bad_header_scheme_and_tokens_are_reported_with_their_paths_without_the_token() {
        let e = decode_config::<BearerTokenAuthConfig>(&json!({
            "header": "Bad Header", "scheme": "Two words", "tokens": ["ok", "sec ret", ""],
            "filename": ""
        }))
        .unwrap_err();
        let paths: Vec<&str> = e.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            ["header", "scheme", "tokens::1", "tokens::2", "filename"]
        );
        assert!(e.iter().all(|p| !p.message.contains("sec ret")), "{e:?}");
        let e =
            decode_config::<BearerTokenAuthConfig>(&json!({"token": "line\nbreak"})).unwrap_err();
        assert_eq!(e[0].path, "token");
        assert!(!e[0].message.contains("line"), "{e:?}");
    }

    #[test]
    fn debug_never_shows_a_token() {
        let c: BearerTokenAuthConfig = decode_config(&json!({
            "token": "s3cr3t-marker", "filename": "/run/t"
        }))
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t-marker"), "{shown}");
        assert!(shown.contains("[REDACTED]"), "{shown}");
        let c: BearerTokenAuthConfig =
            decode_config(&json!({"tokens": ["s3cr3t-marker", "other-marker"]})).unwrap();
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("marker"), "{shown}");
    }
}
