//! The `redaction` processor: keeps only the attributes you allow, and masks (or
//! hashes) sensitive values such as card numbers and e-mail addresses in those it
//! keeps, the way the contrib collector's `redaction` processor does. It is how a
//! stratus agent keeps personal data from leaving a region or a cloud.
//!
//! ```yaml
//! processors:
//!   redaction:
//!     allow_all_keys: true          # keep every key; only mask values
//!     blocked_values:
//!       - "4[0-9]{12}(?:[0-9]{3})?" # Visa
//!       - "(5[1-5][0-9]{14})"       # MasterCard
//!     blocked_key_patterns: [".*token.*", ".*password.*"]
//!     summary: info
//! ```
//!
//! **With the defaults it removes every attribute.** `allow_all_keys` is `false` and
//! `allowed_keys` empty, and upstream's list fails closed: every attribute that is not
//! in `ignored_keys` is removed from resources, scopes, spans, span events, log
//! records, map log bodies and metric data points. Set `allow_all_keys: true` to only
//! mask values, or list the keys to keep. The factory logs a warning when it builds
//! such a processor.
//!
//! For each attribute, in order (see [`redact`] for the parts of each signal):
//! 1. a key in `ignored_keys` or matching `ignored_key_patterns` is left alone;
//! 2. a key not in `allowed_keys` (unless `allow_all_keys`) is removed;
//! 3. a value matching `allowed_values` is left alone;
//! 4. a key matching `blocked_key_patterns` has its whole value masked;
//! 5. each `blocked_values` regex, in order, masks the parts of the value it matches.
//!
//! Masked text becomes `****`, or the lowercase hex digest of the text under
//! `hash_function` (`md5`, `sha1`, `sha3` = SHA3-256, `hmac-sha256`, `hmac-sha512`
//! with `hmac_key`). Only string values are checked unless `redact_all_types`. With
//! `summary: debug` or `info` the processor adds `redaction.*` attributes next to what
//! it changed ([`SUMMARY_KEYS`]).
//!
//! Regexes use the `regex` crate's syntax, which is Go's RE2 syntax for everything
//! upstream's examples use, with one difference: `\d`, `\w`, `\s` and `\b` are
//! Unicode-aware here and ASCII in Go; write `[0-9]` for ASCII digits. They are
//! compiled once, when the processor is built.

pub mod config;
pub mod factory;
pub mod processor;
pub mod redact;
mod value;

pub use config::{HashFunction, RedactionConfig, Summary};
pub use factory::RedactionProcessorFactory;
pub use processor::RedactionProcessor;
pub use redact::{Redactor, SUMMARY_KEYS};

#[cfg(test)]
mod tests;
