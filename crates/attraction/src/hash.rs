//! The `hash` action's SHA-256, over the bytes upstream hashes for each kind.

use sha2::{Digest, Sha256};
use stratus_core::pdata::common::{AnyValue, any_value::Value as V};

/// Replaces a value with the lowercase hex SHA-256 of its bytes, as the collector's
/// `hash` action does: a string's UTF-8 bytes, a boolean as one byte (`1` / `0`), an
/// integer as its 8 little-endian bytes, a double as the 8 little-endian bytes of its
/// IEEE 754 bits. Any other kind (bytes, list, map, empty) becomes the empty string,
/// as upstream does. A string value keeps its buffer.
pub fn hash_value(value: &mut Option<AnyValue>) {
    let mut hex = [0u8; 64];
    let text = digest_hex(value.as_ref(), &mut hex);
    if let Some(AnyValue {
        value: Some(V::StringValue(old)),
    }) = value
    {
        old.clear();
        old.push_str(text);
        return;
    }
    *value = Some(string(text));
}

/// The value [`hash_value`] would turn `value` into, leaving `value` as it is.
pub fn hashed(value: Option<&AnyValue>) -> AnyValue {
    let mut hex = [0u8; 64];
    string(digest_hex(value, &mut hex))
}

fn string(s: &str) -> AnyValue {
    AnyValue {
        value: Some(V::StringValue(s.to_string())),
    }
}

/// The hex SHA-256 of a value's bytes, written into `buf`; `""` for kinds upstream does
/// not hash.
fn digest_hex<'b>(value: Option<&AnyValue>, buf: &'b mut [u8; 64]) -> &'b str {
    let mut h = Sha256::new();
    match value.and_then(|v| v.value.as_ref()) {
        Some(V::StringValue(s)) => h.update(s.as_bytes()),
        Some(V::BoolValue(b)) => h.update([u8::from(*b)]),
        Some(V::IntValue(i)) => h.update(i.to_le_bytes()),
        Some(V::DoubleValue(d)) => h.update(d.to_bits().to_le_bytes()),
        _ => return "",
    }
    // 32 bytes always fill the 64 hex digits.
    if hex::encode_to_slice(h.finalize().as_slice(), buf).is_err() {
        return "";
    }
    std::str::from_utf8(buf).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_testkit::otlp::{IntoAnyValue, array, bytes};

    fn sha256_hex(b: &[u8]) -> String {
        hex::encode(Sha256::digest(b))
    }

    fn hashed(v: impl IntoAnyValue) -> String {
        let mut v = Some(v.into_any_value());
        hash_value(&mut v);
        match v.and_then(|v| v.value) {
            Some(V::StringValue(s)) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    /// The table of upstream's `TestSha2Hasher` (`hasher_test.go`).
    #[test]
    fn hashes_each_kind_as_upstream() {
        assert_eq!(hashed("foo"), sha256_hex(b"foo"));
        assert_eq!(
            hashed("foo"),
            "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
        );
        assert_eq!(hashed(true), sha256_hex(&[1]));
        assert_eq!(hashed(false), sha256_hex(&[0]));
        assert_eq!(hashed(24), sha256_hex(&24u64.to_le_bytes()));
        assert_eq!(hashed(-1), sha256_hex(&[0xff; 8]));
        assert_eq!(hashed(2.4), sha256_hex(&2.4f64.to_bits().to_le_bytes()));
        assert_eq!(hashed(bytes([1u8, 2, 3])), "");
        assert_eq!(hashed(array([1, 2])), "");
        let mut empty = Some(AnyValue { value: None });
        hash_value(&mut empty);
        assert_eq!(empty, Some("".into_any_value()));
        let mut absent = None;
        hash_value(&mut absent);
        assert_eq!(absent, Some("".into_any_value()));
        let v = 24.into_any_value();
        let mut in_place = Some(v.clone());
        hash_value(&mut in_place);
        assert_eq!(Some(super::hashed(Some(&v))), in_place);
    }
}
