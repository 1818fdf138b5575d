//! Keeping AWS secrets out of messages.
//!
//! The secret access key never leaves the process (it only signs), but the session
//! token travels in every request (`X-Amz-Security-Token`), and an endpoint that
//! echoes requests (a proxy, a mock, a misbehaving S3-compatible store) hands it back
//! in its error message, which stratus logs and returns to clients. So every
//! credential the session resolves is remembered here ([`Remembering`] wraps the
//! session's provider), and [`scrub`] replaces each remembered secret in a message
//! with `[REDACTED]`. [`crate::errors::classify_sdk_error`] scrubs every message it
//! builds.
//!
//! Only the last [`REMEMBERED`] secrets are kept: credentials rotate (STS, IMDS), and
//! an error names the ones of the moment.

use std::collections::VecDeque;
use std::sync::Mutex;

use aws_credential_types::provider::{ProvideCredentials, future};

/// How many secrets are remembered; older ones are forgotten.
pub const REMEMBERED: usize = 32;

/// Secrets shorter than this are not scrubbed: they would replace ordinary words.
const MIN_LEN: usize = 8;

/// A bounded set of secrets to scrub.
#[derive(Debug)]
struct Registry(Mutex<VecDeque<String>>);

impl Registry {
    const fn new() -> Self {
        Registry(Mutex::new(VecDeque::new()))
    }

    fn remember(&self, secret: &str) {
        if secret.len() < MIN_LEN {
            return;
        }
        let Ok(mut secrets) = self.0.lock() else {
            return;
        };
        if secrets.iter().any(|s| s == secret) {
            return;
        }
        if secrets.len() == REMEMBERED {
            secrets.pop_front();
        }
        secrets.push_back(secret.to_owned());
    }

    fn scrub(&self, text: &str) -> String {
        let Ok(secrets) = self.0.lock() else {
            return text.to_owned();
        };
        let mut out = text.to_owned();
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[REDACTED]");
            }
            let encoded = percent_encode(secret);
            if encoded != *secret && out.contains(&encoded) {
                out = out.replace(&encoded, "[REDACTED]");
            }
        }
        out
    }
}

static SECRETS: Registry = Registry::new();

/// Remembers `secret`, so [`scrub`] removes it from messages.
pub fn remember(secret: &str) {
    SECRETS.remember(secret);
}

/// `text` with every remembered secret (and its percent-encoded form, as a signed
/// query string would carry it) replaced by `[REDACTED]`.
pub fn scrub(text: &str) -> String {
    SECRETS.scrub(text)
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A credentials provider that remembers the secret key and session token of every
/// credential it hands out (see the module docs).
#[derive(Debug)]
pub struct Remembering<P>(pub P);

impl<P: ProvideCredentials> ProvideCredentials for Remembering<P> {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let credentials = self.0.provide_credentials().await?;
            remember(credentials.secret_access_key());
            if let Some(token) = credentials.session_token() {
                remember(token);
            }
            Ok(credentials)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;

    #[test]
    fn remembered_secrets_are_scrubbed() {
        remember("scrub-test-secret/with+plus");
        remember("short");
        let text = "echo: X-Amz-Security-Token: scrub-test-secret/with+plus, \
                    query: scrub-test-secret%2Fwith%2Bplus, short stays";
        assert_eq!(
            scrub(text),
            "echo: X-Amz-Security-Token: [REDACTED], query: [REDACTED], short stays"
        );
    }

    #[test]
    fn only_the_latest_are_kept() {
        let registry = Registry::new();
        for i in 0..REMEMBERED + 1 {
            registry.remember(&format!("rotating-secret-{i:04}"));
        }
        assert_eq!(
            registry.scrub("rotating-secret-0000"),
            "rotating-secret-0000"
        );
        let last = format!("rotating-secret-{REMEMBERED:04}");
        assert_eq!(registry.scrub(&last), "[REDACTED]");
    }

    #[tokio::test]
    async fn the_provider_remembers_what_it_hands_out() {
        let provider = Remembering(Credentials::new(
            "AKIDREMEMBER",
            "remembering-secret-key",
            Some("remembering-session-token".into()),
            None,
            "test",
        ));
        let c = provider.provide_credentials().await.unwrap();
        assert_eq!(c.secret_access_key(), "remembering-secret-key");
        assert_eq!(
            scrub("a remembering-secret-key b remembering-session-token"),
            "a [REDACTED] b [REDACTED]"
        );
    }
}
