//! JSON of OTLP values exactly as the Go collector writes it.
//!
//! The AWS exporters upstream build their documents with Go's `encoding/json` from
//! pdata's `Value.AsRaw()` / `Value.AsString()`. Matching their output byte for byte
//! means matching Go's choices, which differ from `serde_json`'s defaults:
//!
//! - map keys (attributes, key-value lists) are written **sorted** by their bytes, and
//!   of duplicate keys the last one wins (pdata's `AsRaw` fills a Go map in order);
//! - `<`, `>` and `&` are escaped as `\u003c`, `\u003e`, `\u0026` (Go's HTML-safe
//!   default; [`GoFormatter::no_html_escape`] turns it off), and U+2028 / U+2029 are
//!   always escaped;
//! - doubles use the ES6 form Go uses: plain decimals from 1e-6 up to 1e21, exponents
//!   outside (`1e+21`, `1.5e-7`); NaN and infinities are an error (Go's
//!   `json: unsupported value`), not `null`;
//! - bytes are standard base64 (padded); an empty bytes value is `null`, as pdata's
//!   `ByteSlice.AsRaw` returns a nil slice for it.
//!
//! The pieces: [`GoFormatter`] (a `serde_json` formatter), [`Raw`] (an `AnyValue` as
//! `AsRaw()` serialises it), [`SortedAttrs`] (attributes as a Go map), [`to_vec`] and
//! [`as_string`] (pdata's `AsString`).
//!
//! Upstream: `pdata/pcommon/value.go` (`AsRaw`, `AsString`, `float64AsString`), Go
//! `encoding/json/encode.go` (`floatEncoder`, `appendString`).

use std::borrow::Cow;
use std::io::{self, Write as _};

use base64::Engine as _;
use serde::ser::{Error as _, Serialize, SerializeMap, SerializeSeq, Serializer};
use stratus_core::pdata::common::{AnyValue, KeyValue, any_value::Value};

/// A `serde_json` formatter that writes strings and numbers as Go's `encoding/json`.
#[derive(Debug, Clone, Copy)]
pub struct GoFormatter {
    escape_html: bool,
}

impl Default for GoFormatter {
    fn default() -> Self {
        GoFormatter { escape_html: true }
    }
}

impl GoFormatter {
    /// Go's `json.Marshal`: `<`, `>` and `&` escaped.
    pub fn new() -> Self {
        GoFormatter::default()
    }

    /// A `json.Encoder` with `SetEscapeHTML(false)`: `<`, `>` and `&` written as they are.
    pub fn no_html_escape() -> Self {
        GoFormatter { escape_html: false }
    }
}

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        let special = |b: &u8| matches!(b, b'<' | b'>' | b'&' | 0xE2);
        if !bytes.iter().any(special) {
            return writer.write_all(bytes);
        }
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let escape: Option<(&[u8], usize)> = match bytes[i] {
                b'<' if self.escape_html => Some((b"\\u003c", 1)),
                b'>' if self.escape_html => Some((b"\\u003e", 1)),
                b'&' if self.escape_html => Some((b"\\u0026", 1)),
                // U+2028 and U+2029 are E2 80 A8 / E2 80 A9 in UTF-8.
                0xE2 if bytes.get(i + 1) == Some(&0x80) => match bytes.get(i + 2) {
                    Some(0xA8) => Some((b"\\u2028", 3)),
                    Some(0xA9) => Some((b"\\u2029", 3)),
                    _ => None,
                },
                _ => None,
            };
            match escape {
                Some((text, len)) => {
                    writer.write_all(&bytes[start..i])?;
                    writer.write_all(text)?;
                    i += len;
                    start = i;
                }
                None => i += 1,
            }
        }
        writer.write_all(&bytes[start..])
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        write_go_float(writer, value)
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        write_go_float(writer, f64::from(value))
    }
}

/// Writes a finite double as Go's `encoding/json` does (`float64AsString`): the
/// shortest digits that read back to the same value, as a plain decimal when
/// 1e-6 <= |v| < 1e21 (or v is 0), else with an exponent (`1e+21`, `-2.5e-7`).
pub fn write_go_float<W: ?Sized + io::Write>(writer: &mut W, value: f64) -> io::Result<()> {
    let abs = value.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust's `{:e}` gives the shortest mantissa with an unpadded exponent
        // (`1.5e-7`, `1e21`); Go writes a sign on positive exponents (`1e+21`) and
        // no leading zero on negative ones (`e-07` is cleaned to `e-7`).
        let mut buf = [0u8; 40];
        let mut cursor = io::Cursor::new(&mut buf[..]);
        write!(cursor, "{value:e}")?;
        let len = usize::try_from(cursor.position()).unwrap_or(0);
        let text = &buf[..len];
        match text.iter().position(|&b| b == b'e') {
            Some(e) if text.get(e + 1) != Some(&b'-') => {
                writer.write_all(&text[..=e])?;
                writer.write_all(b"+")?;
                writer.write_all(&text[e + 1..])
            }
            _ => writer.write_all(text),
        }
    } else {
        // `{}` on f64 is the shortest round-trip decimal without an exponent, which is
        // Go's 'f' format with precision -1 (`-0` included).
        write!(writer, "{value}")
    }
}

/// A double as pdata's `AsString` writes it: [`write_go_float`], or Go's
/// `json: unsupported value: NaN` (`+Inf`, `-Inf`) text for values JSON cannot hold.
pub fn float_as_string(value: f64) -> String {
    if value.is_nan() {
        return "json: unsupported value: NaN".to_string();
    }
    if value.is_infinite() {
        let sign = if value > 0.0 { "+" } else { "-" };
        return format!("json: unsupported value: {sign}Inf");
    }
    let mut out = Vec::with_capacity(24);
    // Writing into a Vec cannot fail.
    let _ = write_go_float(&mut out, value);
    String::from_utf8(out).unwrap_or_default()
}

/// Serialises `value` with a [`GoFormatter`] (HTML escaping as `escape_html` says).
pub fn to_vec<T: Serialize + ?Sized>(
    value: &T,
    escape_html: bool,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(512);
    to_writer(&mut out, value, escape_html)?;
    Ok(out)
}

/// Serialises `value` into `writer` with a [`GoFormatter`].
pub fn to_writer<W: io::Write, T: Serialize + ?Sized>(
    writer: W,
    value: &T,
    escape_html: bool,
) -> Result<(), serde_json::Error> {
    let formatter = if escape_html {
        GoFormatter::new()
    } else {
        GoFormatter::no_html_escape()
    };
    let mut ser = serde_json::Serializer::with_formatter(writer, formatter);
    value.serialize(&mut ser)
}

/// An OTLP value as pdata's `Value.AsRaw()` makes it, ready to serialise: strings,
/// booleans, integers and doubles as themselves, arrays as lists, key-value lists as
/// maps ([`SortedAttrs`] rules), bytes as base64, and an empty value as `null`.
/// A NaN or infinite double is a serialisation error, as in Go.
#[derive(Debug, Clone, Copy)]
pub struct Raw<'a>(pub Option<&'a AnyValue>);

impl<'a> Raw<'a> {
    /// Whether pdata's `AsRaw` would return Go's `nil` for this value (no value set),
    /// which `omitempty` leaves out.
    pub fn is_nil(&self) -> bool {
        matches!(
            self.0.and_then(|v| v.value.as_ref()),
            None | Some(Value::StringValueStrindex(_))
        )
    }
}

impl Serialize for Raw<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(value) = self.0.and_then(|v| v.value.as_ref()) else {
            return serializer.serialize_unit();
        };
        match value {
            // A profiles-only string table index means nothing outside profiles:
            // treated as no value, as the proto comment asks.
            Value::StringValueStrindex(_) => serializer.serialize_unit(),
            Value::StringValue(s) => serializer.serialize_str(s),
            Value::BoolValue(b) => serializer.serialize_bool(*b),
            Value::IntValue(i) => serializer.serialize_i64(*i),
            Value::DoubleValue(d) => {
                if d.is_finite() {
                    serializer.serialize_f64(*d)
                } else {
                    Err(S::Error::custom(float_as_string(*d)))
                }
            }
            Value::ArrayValue(a) => {
                let mut seq = serializer.serialize_seq(Some(a.values.len()))?;
                for v in &a.values {
                    seq.serialize_element(&Raw(Some(v)))?;
                }
                seq.end()
            }
            Value::KvlistValue(kv) => SortedAttrs::new(&kv.values).serialize(serializer),
            Value::BytesValue(b) => {
                if b.is_empty() {
                    serializer.serialize_unit()
                } else {
                    serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
                }
            }
        }
    }
}

/// Attributes (or a key-value list) as the Go map pdata's `Map.AsRaw()` makes:
/// keys sorted by their bytes, the last of duplicate keys kept. Build it once per
/// resource or scope and serialise it for every record under it.
///
/// Attributes that are already sorted without duplicates (the common case) are
/// borrowed as they are; others are sorted into a list of their own.
#[derive(Debug, Clone)]
pub struct SortedAttrs<'a> {
    entries: Entries<'a>,
}

#[derive(Debug, Clone)]
enum Entries<'a> {
    /// Sorted, no duplicates: the attributes themselves.
    Borrowed(&'a [KeyValue]),
    /// Sorted and deduplicated copy of references.
    Sorted(Vec<(&'a str, Option<&'a AnyValue>)>),
}

impl Default for SortedAttrs<'_> {
    fn default() -> Self {
        SortedAttrs {
            entries: Entries::Borrowed(&[]),
        }
    }
}

impl<'a> SortedAttrs<'a> {
    /// The map of `attrs`.
    pub fn new(attrs: &'a [KeyValue]) -> Self {
        if attrs.windows(2).all(|w| w[0].key < w[1].key) {
            return SortedAttrs {
                entries: Entries::Borrowed(attrs),
            };
        }
        let mut entries: Vec<(&str, Option<&AnyValue>)> = attrs
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.as_ref()))
            .collect();
        // Stable: of equal keys the later one stays later, and is the one kept.
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut deduped: Vec<(&str, Option<&AnyValue>)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match deduped.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => deduped.push(entry),
            }
        }
        SortedAttrs {
            entries: Entries::Sorted(deduped),
        }
    }

    /// Whether the map is empty (`omitempty` leaves it out).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        match &self.entries {
            Entries::Borrowed(a) => a.len(),
            Entries::Sorted(v) => v.len(),
        }
    }
}

impl Serialize for SortedAttrs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        match &self.entries {
            Entries::Borrowed(attrs) => {
                for kv in *attrs {
                    map.serialize_entry(&kv.key, &Raw(kv.value.as_ref()))?;
                }
            }
            Entries::Sorted(entries) => {
                for (k, v) in entries {
                    map.serialize_entry(k, &Raw(*v))?;
                }
            }
        }
        map.end()
    }
}

/// An OTLP value as pdata's `Value.AsString()` renders it: a string as itself, a
/// boolean or an integer in decimal, a double as [`float_as_string`], bytes as
/// standard base64, arrays and key-value lists as Go JSON (without HTML escaping, as
/// current pdata writes it; empty when it holds a NaN, as Go's ignored error leaves
/// it), and no value as `""`.
pub fn as_string(value: Option<&AnyValue>) -> Cow<'_, str> {
    let Some(v) = value.and_then(|v| v.value.as_ref()) else {
        return Cow::Borrowed("");
    };
    match v {
        Value::StringValue(s) => Cow::Borrowed(s.as_str()),
        Value::StringValueStrindex(_) => Cow::Borrowed(""),
        Value::BoolValue(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Value::IntValue(i) => Cow::Owned(i.to_string()),
        Value::DoubleValue(d) => Cow::Owned(float_as_string(*d)),
        Value::BytesValue(b) => Cow::Owned(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::ArrayValue(_) | Value::KvlistValue(_) => {
            let json = to_vec(&Raw(value), false).unwrap_or_default();
            Cow::Owned(String::from_utf8(json).unwrap_or_default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_testkit::otlp::{IntoAnyValue, array, bytes, kv, kvlist};

    fn go_float(v: f64) -> String {
        let mut out = Vec::new();
        write_go_float(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_match_go_encoding_json() {
        // Expected values are what Go's json.Marshal(float64) prints.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (1.234e-10, "1.234e-10"),
            (123456789.0, "123456789"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            (1e21, "1e+21"),
            (-2.5e22, "-2.5e+22"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (std::f64::consts::PI, "3.141592653589793"),
            (0.30000000000000004, "0.30000000000000004"),
        ];
        for (v, want) in cases {
            assert_eq!(go_float(*v), *want, "{v:?}");
        }
        assert_eq!(float_as_string(f64::NAN), "json: unsupported value: NaN");
        assert_eq!(
            float_as_string(f64::NEG_INFINITY),
            "json: unsupported value: -Inf"
        );
        assert_eq!(float_as_string(2.5), "2.5");
    }

    #[test]
    fn strings_escape_like_go() {
        let s = "a<b>&c\u{2028}d\u{2029}\"\\\n\t\u{1}é";
        let html = String::from_utf8(to_vec(s, true).unwrap()).unwrap();
        assert_eq!(
            html,
            r#""a\u003cb\u003e\u0026c\u2028d\u2029\"\\\n\t\u0001é""#
        );
        let plain = String::from_utf8(to_vec(s, false).unwrap()).unwrap();
        assert_eq!(plain, r#""a<b>&c\u2028d\u2029\"\\\n\t\u0001é""#);
    }

    #[test]
    fn raw_values_as_go_as_raw() {
        let cases: Vec<(AnyValue, &str)> = vec![
            ("hi".into_any_value(), r#""hi""#),
            (true.into_any_value(), "true"),
            (42.into_any_value(), "42"),
            (2.5.into_any_value(), "2.5"),
            (AnyValue::default(), "null"),
            (bytes(vec![1, 2, 3]), r#""AQID""#),
            (bytes(Vec::new()), "null"),
            (array([1, 2]), "[1,2]"),
            (array(Vec::<i64>::new()), "[]"),
            // Keys sorted, the last duplicate wins.
            (kvlist([("b", 1), ("a", 2), ("b", 3)]), r#"{"a":2,"b":3}"#),
            (kvlist(Vec::<(&str, i64)>::new()), "{}"),
        ];
        for (v, want) in cases {
            let got = String::from_utf8(to_vec(&Raw(Some(&v)), true).unwrap()).unwrap();
            assert_eq!(got, want, "{v:?}");
        }
        let nan = f64::NAN.into_any_value();
        let err = to_vec(&Raw(Some(&nan)), true).unwrap_err();
        assert!(err.to_string().contains("unsupported value: NaN"), "{err}");
        assert!(Raw(None).is_nil());
        assert!(Raw(Some(&AnyValue::default())).is_nil());
        assert!(!Raw(Some(&"".into_any_value())).is_nil());
    }

    #[test]
    fn sorted_attrs_sorts_and_dedups() {
        let attrs = vec![kv("z", 1), kv("a", "x"), kv("m", true), kv("a", "y")];
        let m = SortedAttrs::new(&attrs);
        assert_eq!(m.len(), 3);
        let got = String::from_utf8(to_vec(&m, true).unwrap()).unwrap();
        assert_eq!(got, r#"{"a":"y","m":true,"z":1}"#);
        assert!(SortedAttrs::new(&[]).is_empty());
        // Already sorted: borrowed, same output.
        let sorted = vec![kv("a", 1), kv("b", 2)];
        let got = String::from_utf8(to_vec(&SortedAttrs::new(&sorted), true).unwrap()).unwrap();
        assert_eq!(got, r#"{"a":1,"b":2}"#);
        // Equal neighbours are duplicates, not sorted.
        let dup = vec![kv("a", 1), kv("a", 2)];
        assert_eq!(SortedAttrs::new(&dup).len(), 1);
    }

    #[test]
    fn as_string_as_pdata() {
        let cases: Vec<(AnyValue, &str)> = vec![
            ("plain <b>".into_any_value(), "plain <b>"),
            (true.into_any_value(), "true"),
            ((-7).into_any_value(), "-7"),
            (1e21.into_any_value(), "1e+21"),
            (bytes(b"hello".to_vec()), "aGVsbG8="),
            (kvlist([("k", "<v>")]), r#"{"k":"<v>"}"#),
            (array(["a", "b"]), r#"["a","b"]"#),
            (AnyValue::default(), ""),
        ];
        for (v, want) in cases {
            assert_eq!(as_string(Some(&v)), want, "{v:?}");
        }
        assert_eq!(as_string(None), "");
        let nan_inside = array([f64::NAN]);
        assert_eq!(as_string(Some(&nan_inside)), "");
    }
}
