//! JSON written the way Go's `encoding/json` writes it, so an EMF event is the same
//! text upstream's exporter sends (field for field and byte for byte).
//!
//! Three things differ from serde_json's defaults:
//! - floats: Go writes the shortest round-trip digits without an exponent when
//!   `1e-6 <= |v| < 1e21` (`1`, not `1.0`; `864691128455135200`, not
//!   `8.646911284551352e17`), and `9e+36` / `1e-7` outside that range
//!   (`encoding/json` `floatEncoder`);
//! - strings: Go escapes `<`, `>`, `&`, U+2028 and U+2029 (`encodeState.string`
//!   with `escapeHTML`);
//! - NaN and ±Inf are errors in Go (`UnsupportedValueError`); here too, so such an
//!   event is dropped and counted instead of being written as invalid JSON.
//!
//! Map keys come out in the order the caller serialises them: callers sort them,
//! as Go does for every `map[string]T`.

use std::fmt::Write as _;
use std::io;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq};
use serde_json::ser::Formatter;
use stratus_core::pdata::common::{AnyValue, any_value};

/// Bytes that may start a sequence Go escapes and serde_json does not: `<`, `>`,
/// `&`, and 0xE2, the first byte of U+2028 and U+2029.
static MAY_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'&' as usize] = true;
    t[0xE2] = true;
    t
};

/// A serde_json formatter producing Go `encoding/json` output (compact).
pub(crate) struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        if !value.is_finite() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "json: unsupported value: NaN or Inf",
            ));
        }
        let mut s = String::with_capacity(24);
        push_json_float(&mut s, value);
        writer.write_all(s.as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            if !MAY_ESCAPE[usize::from(bytes[i])] {
                i += 1;
                continue;
            }
            let esc: Option<(&[u8], usize)> = match bytes[i] {
                b'<' => Some((b"\\u003c", 1)),
                b'>' => Some((b"\\u003e", 1)),
                b'&' => Some((b"\\u0026", 1)),
                _ if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => {
                    Some((b"\\u2028", 3))
                }
                _ if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => {
                    Some((b"\\u2029", 3))
                }
                _ => None,
            };
            match esc {
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
}

/// Serialises a float, refusing NaN and ±Inf as Go does (serde_json would write
/// `null`, without asking the formatter).
pub(crate) fn finite<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else {
        Err(serde::ser::Error::custom(format!(
            "json: unsupported value: {}",
            format_float_g(*v)
        )))
    }
}

/// [`finite`] for every element.
pub(crate) fn finite_seq<S: serde::Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
    struct F(f64);
    impl Serialize for F {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            finite(&self.0, s)
        }
    }
    s.collect_seq(v.iter().map(|x| F(*x)))
}

/// Serialises `value` with [`GoFormatter`]; `Err` when it holds NaN or ±Inf.
pub(crate) fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(1024);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value.serialize(&mut ser)?;
    // serde_json writes only valid UTF-8.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// Appends `v` as Go's `encoding/json` (and pdata's `Value.AsString`) writes a
/// float64: ES6 number-to-string style (Go `floatEncoder.encode`).
pub(crate) fn push_json_float(out: &mut String, v: f64) {
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        push_exponent_form(out, v, false);
    } else {
        // Display: shortest round-trip digits, never an exponent.
        let _ = write!(out, "{v}");
    }
}

/// Go `strconv.FormatFloat(v, 'g', -1, 64)`: shortest digits, `%e` form when the
/// decimal exponent is below -4 or at least 6 (`1e-05`, `1e+06`), else `%f` form.
pub(crate) fn format_float_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return format!("{v}");
    }
    let exp = decimal_exponent(v);
    let mut out = String::with_capacity(24);
    if !(-4..6).contains(&exp) {
        push_exponent_form(&mut out, v, true);
    } else {
        let _ = write!(out, "{v}");
    }
    out
}

/// The decimal exponent of `v` (`1234.5` → 3), from Rust's shortest `{:e}` form.
fn decimal_exponent(v: f64) -> i32 {
    let s = format!("{v:e}");
    s.split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0)
}

/// `mantissa e ±exponent`, Go style: a sign always, at least two exponent digits
/// for `'g'` formatting; `encoding/json` then trims `e-07` to `e-7`.
fn push_exponent_form(out: &mut String, v: f64, two_digit_negative: bool) {
    let s = format!("{v:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    out.push_str(mantissa);
    out.push('e');
    if exp < 0 {
        out.push('-');
        if two_digit_negative && exp > -10 {
            out.push('0');
        }
        let _ = write!(out, "{}", -exp);
    } else {
        out.push('+');
        if exp < 10 {
            out.push('0');
        }
        let _ = write!(out, "{exp}");
    }
}

/// Standard base64 with padding, as Go encodes `[]byte` (pdata `AsString` of bytes).
pub(crate) fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let idx = |shift: u32| char::from(ALPHABET[((n >> shift) & 63) as usize]);
        out.push(idx(18));
        out.push(idx(12));
        out.push(if chunk.len() > 1 { idx(6) } else { '=' });
        out.push(if chunk.len() > 2 { idx(0) } else { '=' });
    }
    out
}

/// pdata's `Value.AsString()` of an attribute value: strings as they are, ints in
/// decimal, doubles in JSON style, bools `true`/`false`, bytes in base64, maps and
/// arrays as Go JSON (keys sorted), an empty value as `""`.
pub(crate) fn any_value_as_string(value: Option<&AnyValue>) -> String {
    use any_value::Value;
    match value.and_then(|v| v.value.as_ref()) {
        // A string-table index (profiles only) has no string of its own here.
        None | Some(Value::StringValueStrindex(_)) => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => {
            if d.is_finite() {
                let mut s = String::new();
                push_json_float(&mut s, *d);
                s
            } else {
                // pdata `float64AsString` for NaN and ±Inf.
                format!("json: unsupported value: {}", format_float_g(*d))
            }
        }
        Some(Value::BytesValue(b)) => base64(b),
        // pdata marshals AsRaw() and ignores the error: a NaN inside gives "".
        Some(Value::ArrayValue(_)) | Some(Value::KvlistValue(_)) => {
            to_string(&GoAny(value)).unwrap_or_default()
        }
    }
}

/// An OTLP `AnyValue` serialised as Go marshals its `AsRaw()` form.
pub(crate) struct GoAny<'a>(pub(crate) Option<&'a AnyValue>);

impl Serialize for GoAny<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use any_value::Value;
        match self.0.and_then(|v| v.value.as_ref()) {
            None | Some(Value::StringValueStrindex(_)) => s.serialize_unit(),
            Some(Value::StringValue(v)) => s.serialize_str(v),
            Some(Value::BoolValue(v)) => s.serialize_bool(*v),
            Some(Value::IntValue(v)) => s.serialize_i64(*v),
            Some(Value::DoubleValue(v)) => finite(v, s),
            Some(Value::BytesValue(v)) => s.serialize_str(&base64(v)),
            Some(Value::ArrayValue(a)) => {
                let mut seq = s.serialize_seq(Some(a.values.len()))?;
                for v in &a.values {
                    seq.serialize_element(&GoAny(Some(v)))?;
                }
                seq.end()
            }
            Some(Value::KvlistValue(kv)) => {
                // A Go map: keys sorted, the last of duplicate keys wins.
                let mut entries: Vec<(&str, Option<&AnyValue>)> = kv
                    .values
                    .iter()
                    .map(|e| (e.key.as_str(), e.value.as_ref()))
                    .collect();
                sort_keep_last(&mut entries);
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, &GoAny(v))?;
                }
                map.end()
            }
        }
    }
}

/// A `serde_json::Value` as Go re-marshals what `json.Unmarshal` into `any` gave:
/// every number a float64, object keys sorted.
pub(crate) struct GoValue<'a>(pub(crate) &'a serde_json::Value);

impl Serialize for GoValue<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde_json::Value;
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => s.serialize_f64(n.as_f64().unwrap_or(0.0)),
            Value::String(v) => s.serialize_str(v),
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&GoValue(v))?;
                }
                seq.end()
            }
            Value::Object(o) => {
                let mut keys: Vec<(&String, &Value)> = o.iter().collect();
                keys.sort_by(|a, b| a.0.cmp(b.0));
                let mut map = s.serialize_map(Some(keys.len()))?;
                for (k, v) in keys {
                    map.serialize_entry(k, &GoValue(v))?;
                }
                map.end()
            }
        }
    }
}

/// Sorts `(key, value)` pairs by key, keeping only the last pair of each key, as
/// assigning them one by one into a Go map and marshalling it would.
pub(crate) fn sort_keep_last<K: Ord, V>(entries: &mut Vec<(K, V)>) {
    // A stable sort keeps equal keys in insertion order; keep the last of each run.
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut write = 0;
    for read in 0..entries.len() {
        if read + 1 < entries.len() && entries[read].0 == entries[read + 1].0 {
            continue;
        }
        entries.swap(write, read);
        write += 1;
    }
    entries.truncate(write);
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_testkit::otlp::{array, bytes, kvlist};

    #[test]
    fn floats_as_go_encoding_json() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (0.1, "0.1"),
            (3.25, "3.25"),
            (200.0, "200"),
            (-17.0, "-17"),
            (1e20, "100000000000000000000"),
            (8.646911284551352e17, "864691128455135200"),
            (1e21, "1e+21"),
            (9e36, "9e+36"),
            (-9e36, "-9e+36"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (2.5e-10, "2.5e-10"),
            (1596151098037.0, "1596151098037"),
        ];
        for (v, want) in cases {
            let mut s = String::new();
            push_json_float(&mut s, *v);
            assert_eq!(&s, want, "{v:e}");
            assert_eq!(to_string(v).unwrap(), *want);
        }
        struct F(f64);
        impl Serialize for F {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                finite(&self.0, s)
            }
        }
        assert!(to_string(&F(f64::NAN)).is_err());
        assert!(to_string(&F(f64::NEG_INFINITY)).is_err());
        assert_eq!(to_string(&F(2.5)).unwrap(), "2.5");
    }

    #[test]
    fn format_g_as_go_strconv() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (0.5, "0.5"),
            (0.99, "0.99"),
            (1.0, "1"),
            (100.0, "100"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (1e6, "1e+06"),
            (1e-10, "1e-10"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
        ];
        for (v, want) in cases {
            assert_eq!(format_float_g(*v), *want, "{v:e}");
        }
    }

    #[test]
    fn strings_escaped_as_go() {
        let s = to_string("a<b>&c\u{2028}\u{2029}\"\\\n\t\u{1}é").unwrap();
        assert_eq!(s, r#""a\u003cb\u003e\u0026c\u2028\u2029\"\\\n\t\u0001é""#);
    }

    #[test]
    fn attribute_values_as_pdata_as_string() {
        use stratus_core::pdata::common::AnyValue;
        let s = |v: AnyValue| any_value_as_string(Some(&v));
        let sv = |v: any_value::Value| AnyValue { value: Some(v) };
        assert_eq!(s(sv(any_value::Value::StringValue("x".into()))), "x");
        assert_eq!(s(sv(any_value::Value::IntValue(-42))), "-42");
        assert_eq!(s(sv(any_value::Value::DoubleValue(2.0))), "2");
        assert_eq!(s(sv(any_value::Value::DoubleValue(0.25))), "0.25");
        assert_eq!(
            s(sv(any_value::Value::DoubleValue(f64::NAN))),
            "json: unsupported value: NaN"
        );
        assert_eq!(s(sv(any_value::Value::BoolValue(true))), "true");
        assert_eq!(s(bytes(*b"hello")), "aGVsbG8=");
        assert_eq!(s(bytes(*b"hi")), "aGk=");
        assert_eq!(s(array(["a", "b"])), r#"["a","b"]"#);
        assert_eq!(s(kvlist([("z", 1), ("a", 2)])), r#"{"a":2,"z":1}"#);
        assert_eq!(any_value_as_string(None), "");
    }

    #[test]
    fn sort_keep_last_keeps_the_later_duplicate() {
        let mut v = vec![("b", 1), ("a", 2), ("b", 3), ("c", 4), ("a", 5)];
        sort_keep_last(&mut v);
        assert_eq!(v, [("a", 5), ("b", 3), ("c", 4)]);
    }
}
