//! The `basicauth` config, with the upstream collector's keys and validation
//! messages.

use std::path::PathBuf;

use serde::Deserialize;
use stratus_core::confval::Secret;
use stratus_core::factory::{ConfigProblem, Validate};

/// `basicauth`: either a server side (`htpasswd`) or a client side (`client_auth`),
/// never both (upstream's rule).
///
/// `Debug` is safe to log: passwords and inline htpasswd content are [`Secret`]s.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BasicAuthConfig {
    /// The users receivers accept (server side). Default: none.
    pub htpasswd: Option<HtpasswdConfig>,
    /// The credentials exporters send (client side). Default: none.
    pub client_auth: Option<ClientAuthConfig>,
}

#[allow(clippy::derivable_impls)] // house rule: one hand-written Default
impl Default for BasicAuthConfig {
    fn default() -> Self {
        BasicAuthConfig {
            htpasswd: None,
            client_auth: None,
        }
    }
}

/// `htpasswd`: where the users and their password hashes are.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HtpasswdConfig {
    /// Path of an htpasswd file, read at start. Default: none.
    pub file: Option<PathBuf>,
    /// htpasswd content written in the config, read after `file` (so its users win).
    /// Default: none.
    pub inline: Secret,
}

#[allow(clippy::derivable_impls)] // house rule: one hand-written Default
impl Default for HtpasswdConfig {
    fn default() -> Self {
        HtpasswdConfig {
            file: None,
            inline: Secret::default(),
        }
    }
}

/// `client_auth`: the user name and password sent on every outgoing request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientAuthConfig {
    /// The user name; must not contain `:`. Default: empty.
    pub username: String,
    /// The password. Default: empty.
    pub password: Secret,
}

#[allow(clippy::derivable_impls)] // house rule: one hand-written Default
impl Default for ClientAuthConfig {
    fn default() -> Self {
        ClientAuthConfig {
            username: String::new(),
            password: Secret::default(),
        }
    }
}

impl Validate for BasicAuthConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        match (&self.htpasswd, &self.client_auth) {
            (Some(_), Some(_)) => problems.push(ConfigProblem::new(
                "",
                "only one of `htpasswd` or `client_auth` can be specified",
            )),
            (None, None) => problems.push(ConfigProblem::new("", "no credential source provided")),
            _ => {}
        }
        if let Some(h) = &self.htpasswd {
            if h.file.is_none() && h.inline.is_empty() {
                problems.push(ConfigProblem::new(
                    "htpasswd",
                    "no credential source provided: set `file` or `inline`",
                ));
            }
            if let Some(f) = &h.file
                && f.as_os_str().is_empty()
            {
                problems.push(ConfigProblem::new(
                    "htpasswd::file",
                    "must not be empty when set",
                ));
            }
        }
        if let Some(c) = &self.client_auth
            && c.username.contains(':')
        {
            // Upstream fails when the exporter starts (`invalid authorization format`);
            // stratus says so before anything runs.
            problems.push(ConfigProblem::new(
                "client_auth::username",
                "must not contain `:` (basic auth separates user and password with it)",
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

    #[test]
    fn one_side_is_required_and_both_are_refused_with_upstreams_messages() {
        let e = decode_config::<BasicAuthConfig>(&serde_json::Value::Null).unwrap_err();
        assert_eq!(
            e,
            vec![ConfigProblem::new("", "no credential source provided")]
        );
        let e = decode_config::<BasicAuthConfig>(&json!({
            "htpasswd": {"inline": "u:p"},
            "client_auth": {"username": "u", "password": "p"}
        }))
        .unwrap_err();
        assert_eq!(
            e,
            vec![ConfigProblem::new(
                "",
                "only one of `htpasswd` or `client_auth` can be specified"
            )]
        );
    }

    #[test]
    fn every_upstream_key_is_accepted_and_others_are_not() {
        let c: BasicAuthConfig =
            decode_config(&json!({"htpasswd": {"file": "/etc/htpasswd", "inline": "u:p"}}))
                .unwrap();
        let h = c.htpasswd.unwrap();
        assert_eq!(h.file, Some(PathBuf::from("/etc/htpasswd")));
        assert_eq!(h.inline.expose(), "u:p");
        let c: BasicAuthConfig =
            decode_config(&json!({"client_auth": {"username": "u", "password": "p"}})).unwrap();
        assert_eq!(c.client_auth.unwrap().password.expose(), "p");
        let e = decode_config::<BasicAuthConfig>(&json!({"htpasswd": {"path": "/x"}})).unwrap_err();
        assert_eq!(e[0].path, "htpasswd::path");
        let e =
            decode_config::<BasicAuthConfig>(&json!({"client_auth": {"user": "u"}})).unwrap_err();
        assert_eq!(e[0].path, "client_auth::user");
    }

    #[test]
    fn side_specific_problems_have_their_paths() {
        let e = decode_config::<BasicAuthConfig>(&json!({"htpasswd": {}})).unwrap_err();
        assert_eq!(e[0].path, "htpasswd");
        let e = decode_config::<BasicAuthConfig>(&json!({"htpasswd": {"file": ""}})).unwrap_err();
        assert_eq!(e[0].path, "htpasswd::file");
        let e = decode_config::<BasicAuthConfig>(&json!({
            "client_auth": {"username": "a:b", "password": "pw-marker"}
        }))
        .unwrap_err();
        assert_eq!(e[0].path, "client_auth::username");
        assert!(!e[0].message.contains("pw-marker"));
    }

    #[test]
    fn debug_never_shows_a_password_or_inline_hashes() {
        let c: BasicAuthConfig = decode_config(&json!({
            "client_auth": {"username": "user", "password": "pw-marker"}
        }))
        .unwrap();
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("pw-marker"), "{shown}");
        assert!(
            shown.contains("user") && shown.contains("[REDACTED]"),
            "{shown}"
        );
        let c: BasicAuthConfig =
            decode_config(&json!({"htpasswd": {"inline": "alice:inline-marker"}})).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("marker"), "{shown}");
    }
}
