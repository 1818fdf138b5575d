//! The Data Collector API's SharedKey signature.
//!
//! String to sign (no trailing newline):
//! `POST\n{content length}\napplication/json\nx-ms-date:{date}\n/api/logs`;
//! signature = base64(HMAC-SHA256(key = base64-decoded workspace key, string)).

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use stratus_core::confval::Secret;

/// The string the signature covers.
pub fn string_to_sign(content_length: usize, date: &str) -> String {
    format!("POST\n{content_length}\napplication/json\nx-ms-date:{date}\n/api/logs")
}

/// The `Authorization` header value `SharedKey {workspace_id}:{signature}`; `date` is
/// the `x-ms-date` header (RFC 1123). Fails (without showing the key) when the key is
/// not base64.
pub fn authorization(
    workspace_id: &str,
    key: &Secret,
    content_length: usize,
    date: &str,
) -> Result<String, String> {
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine
        .decode(key.expose().trim())
        .map_err(|_| "workspace_key is not base64".to_string())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|_| "workspace_key cannot be used as an HMAC key".to_string())?;
    mac.update(string_to_sign(content_length, date).as_bytes());
    let sig = engine.encode(mac.finalize().into_bytes());
    Ok(format!("SharedKey {workspace_id}:{sig}"))
}
