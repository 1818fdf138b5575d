//! Keeping configured header values (credentials, usually) out of messages.
//!
//! An OTLP destination, or a proxy in front of it, may echo the request's headers or
//! metadata in its error message. That message goes to the logs and, with the sending
//! queue off, back to the client that sent the data. The OTLP senders pass every
//! error through [`scrub_error`] with their configured header values.

use stratus_core::ConsumeError;

/// Values shorter than this are not scrubbed: they would replace ordinary words.
pub const MIN_SECRET_LEN: usize = 8;

/// `text` with each of `values` replaced by `[REDACTED]`: the whole value, and the
/// credential after its scheme (`Bearer <token>`, `Basic <b64>`), as an echo may quote
/// either.
///
/// ```
/// use stratus_otlp_client::redact::scrub_text;
///
/// let text = "denied: authorization: Bearer tok-0123456789; token tok-0123456789";
/// assert_eq!(
///     scrub_text(text, ["Bearer tok-0123456789"]),
///     "denied: authorization: [REDACTED]; token [REDACTED]"
/// );
/// ```
pub fn scrub_text<'a>(text: &str, values: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = text.to_string();
    for value in values {
        let credential = value.split_once(' ').map(|(_, c)| c.trim());
        for secret in [Some(value), credential].into_iter().flatten() {
            if secret.len() >= MIN_SECRET_LEN && out.contains(secret) {
                out = out.replace(secret, "[REDACTED]");
            }
        }
    }
    out
}

/// [`scrub_text`] on an error's message; the error class and throttle stay.
pub fn scrub_error<'a>(e: ConsumeError, values: impl IntoIterator<Item = &'a str>) -> ConsumeError {
    match e {
        ConsumeError::Permanent { message } => ConsumeError::Permanent {
            message: scrub_text(&message, values),
        },
        ConsumeError::Retryable { message, throttle } => ConsumeError::Retryable {
            message: scrub_text(&message, values),
            throttle,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn class_and_throttle_stay() {
        let e = ConsumeError::throttled("echo Basic dXNlcjpwYXNzd29yZA==", Duration::from_secs(3));
        let e = scrub_error(e, ["Basic dXNlcjpwYXNzd29yZA=="]);
        assert_eq!(
            e,
            ConsumeError::throttled("echo [REDACTED]", Duration::from_secs(3))
        );
        let e = scrub_error(ConsumeError::permanent("short abc"), ["abc"]);
        assert_eq!(e, ConsumeError::permanent("short abc"));
    }
}
