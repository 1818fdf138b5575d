//! JSON of OTLP values exactly as the Go collector writes it.
//!
//! The AWS exporters upstream build their documents with Go's `encoding/json` from
//! pdata's `Value.AsRaw()` / `Value.AsString()`. Matching their output byte for byte
//! means matching Go's choices, which differ from `serde_json`'s defaults:
//!
//! - map keys (attributes, key-value lists, documents built as Go maps) are written
//!   **sorted** by their bytes, and of duplicate keys the last one wins (pdata's
//!   `AsRaw` fills a Go map in order; [`sort_keep_last`] does the same for any pairs);
//! - `<`, `>` and `&` are escaped as `\u003c`, `\u003e`, `\u0026` (Go's HTML-safe
//!   default; [`GoFormatter::no_html_escape`] turns it off), and U+2028 / U+2029 are
//!   always escaped;
//! - doubles use the ES6 form Go uses: the shortest round-trip digits as a plain
//!   decimal from 1e-6 up to 1e21 (`1`, not `1.0`; `864691128455135200`, not
//!   `8.646911284551352e17`), exponents outside (`1e+21`, `9e+36`, `1.5e-7`); NaN and
//!   infinities are an error (Go's `json: unsupported value: NaN`), not `null`
//!   ([`finite`], [`finite_seq`], [`Raw`]);
//! - bytes are standard base64 (padded); an empty bytes value is `null`, as pdata's
//!   `ByteSlice.AsRaw` returns a nil slice for it.
//!
//! The pieces: [`GoFormatter`] (a `serde_json` formatter), [`write_go_float`] and
//! [`format_float_g`] (Go's `encoding/json` and `strconv.FormatFloat(v, 'g', -1, 64)`
//! float forms), [`Raw`] (an `AnyValue` as `AsRaw()` serialises it), [`SortedAttrs`]
//! (attributes as a Go map), [`GoValue`] (a decoded JSON value as Go re-marshals
//! it), [`to_vec`] / [`to_string`], and [`as_string`] (pdata's `AsString`).
//!
//! Upstream: `pdata/pcommon/value.go` (`AsRaw`, `AsString`, `float64AsString`), Go
//! `encoding/json/encode.go` (`floatEncoder`, `appendString`,
//! `UnsupportedValueError`), Go `strconv/ftoa.go` (`%e` / `%g`).

use std::borrow::Cow;
use std::io::{self, Write as _};

use base64::Engine as _;
use serde::ser::{Error as _, Serialize, SerializeMap, SerializeSeq, Serializer};
use stratus_core::jsonw;
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

/// The bytes [`GoFormatter`] may rewrite: `<`, `>`, `&`, and 0xE2, the lead byte of
/// U+2028 and U+2029. One table lookup a byte for the scan of every string fragment.
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'&' as usize] = true;
    t[0xE2] = true;
    t
};

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        if !bytes.iter().any(|&b| SPECIAL[usize::from(b)]) {
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

    // serde_json writes NaN and infinities as `null` without calling these; values
    // that must refuse them go through [`finite`].
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
        // `encoding/json` writes Go's `%e` and then cleans `e-07` to `e-7`: an
        // exponent of at least one digit.
        write_exponent_form(writer, value, 1)
    } else {
        // `{}` on f64 is the shortest round-trip decimal without an exponent, which is
        // Go's 'f' format with precision -1 (`-0` included).
        write!(writer, "{value}")
    }
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`: the shortest digits, in `%e` form
/// when the decimal exponent is below -4 or at least 6 (`1e-05`, `1.234567e+06`,
/// exponents of at least two digits), else as a plain decimal; `NaN`, `+Inf`, `-Inf`.
pub fn format_float_g(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let mut out = Vec::with_capacity(24);
    // Writing into a Vec cannot fail.
    let _ = if value != 0.0 && !(-4..6).contains(&decimal_exponent(value)) {
        write_exponent_form(&mut out, value, 2)
    } else {
        write!(out, "{value}")
    };
    String::from_utf8(out).unwrap_or_default()
}

/// The text of Go's `json.UnsupportedValueError` for a NaN or infinite double:
/// `json: unsupported value: NaN` (`+Inf`, `-Inf`).
pub fn unsupported_value(value: f64) -> String {
    format!("json: unsupported value: {}", format_float_g(value))
}

/// Rust's shortest `{:e}` form of `value` (`1.5e-7`, `1e21`) in `buf`, returned as
/// (mantissa, exponent text with its `-` if any); `None` for NaN and infinities.
fn scientific(value: f64, buf: &mut [u8; 40]) -> Option<(&[u8], &[u8])> {
    let mut cursor = io::Cursor::new(&mut buf[..]);
    write!(cursor, "{value:e}").ok()?;
    let len = usize::try_from(cursor.position()).ok()?;
    let text = &buf[..len];
    let e = text.iter().position(|&b| b == b'e')?;
    Some((&text[..e], &text[e + 1..]))
}

/// The decimal exponent of a finite, non-zero `value` (`1234.5` → 3).
fn decimal_exponent(value: f64) -> i32 {
    let mut buf = [0u8; 40];
    scientific(value, &mut buf)
        .and_then(|(_, exp)| std::str::from_utf8(exp).ok()?.parse().ok())
        .unwrap_or(0)
}

/// `value` as `mantissa e ±exponent`, Go style: a sign always, the exponent padded
/// with zeros to `min_digits`. NaN and infinities are written as Rust spells them.
fn write_exponent_form<W: ?Sized + io::Write>(
    writer: &mut W,
    value: f64,
    min_digits: usize,
) -> io::Result<()> {
    let mut buf = [0u8; 40];
    let Some((mantissa, exp)) = scientific(value, &mut buf) else {
        return write!(writer, "{value}");
    };
    let (sign, digits): (&[u8], &[u8]) = match exp.split_first() {
        Some((b'-', rest)) => (b"-", rest),
        _ => (b"+", exp),
    };
    writer.write_all(mantissa)?;
    writer.write_all(b"e")?;
    writer.write_all(sign)?;
    for _ in digits.len()..min_digits {
        writer.write_all(b"0")?;
    }
    writer.write_all(digits)
}

/// A double as pdata's `AsString` writes it: [`write_go_float`], or Go's
/// [`unsupported_value`] text for values JSON cannot hold.
pub fn float_as_string(value: f64) -> String {
    if !value.is_finite() {
        return unsupported_value(value);
    }
    let mut out = Vec::with_capacity(24);
    // Writing into a Vec cannot fail.
    let _ = write_go_float(&mut out, value);
    String::from_utf8(out).unwrap_or_default()
}

/// Serialises a double, refusing NaN and ±Inf with Go's [`unsupported_value`] error
/// (serde_json would write `null`). For `#[serde(serialize_with = "finite")]`.
pub fn finite<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_finite() {
        serializer.serialize_f64(*value)
    } else {
        Err(S::Error::custom(unsupported_value(*value)))
    }
}

/// [`finite`] for every element of a list.
pub fn finite_seq<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
    struct Finite(f64);
    impl Serialize for Finite {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            finite(&self.0, serializer)
        }
    }
    serializer.collect_seq(values.iter().map(|v| Finite(*v)))
}

/// The string escapes of Go's `json.Marshal` (HTML-safe), for [`stratus_core::jsonw`].
pub const GO_ESCAPES: jsonw::Escapes = jsonw::Escapes::JSON.with_html().with_line_separators();
/// The string escapes of a `json.Encoder` with `SetEscapeHTML(false)`.
pub const GO_ESCAPES_NO_HTML: jsonw::Escapes = jsonw::Escapes::JSON.with_line_separators();

/// Appends `s` as a JSON string, escaped as Go's `encoding/json` escapes it (as
/// [`GoFormatter`] writes it, in one pass).
pub fn push_str(out: &mut String, s: &str, escape_html: bool) {
    let escapes = if escape_html {
        &GO_ESCAPES
    } else {
        &GO_ESCAPES_NO_HTML
    };
    jsonw::string(out, s, escapes);
}

/// Appends a double as Go's `encoding/json` writes it ([`write_go_float`]); NaN and
/// infinities are Go's [`unsupported_value`] error, and nothing is written.
pub fn push_finite(out: &mut String, value: f64) -> Result<(), serde_json::Error> {
    if !value.is_finite() {
        return Err(serde_json::Error::custom(unsupported_value(value)));
    }
    // 48 bytes hold any double in either form.
    let mut buf = [0u8; 48];
    let mut cursor = io::Cursor::new(&mut buf[..]);
    let _ = write_go_float(&mut cursor, value);
    let len = usize::try_from(cursor.position()).unwrap_or(0);
    out.push_str(std::str::from_utf8(&buf[..len]).unwrap_or_default());
    Ok(())
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

/// [`to_vec`] as a `String`.
pub fn to_string<T: Serialize + ?Sized>(
    value: &T,
    escape_html: bool,
) -> Result<String, serde_json::Error> {
    let out = to_vec(value, escape_html)?;
    // serde_json writes only valid UTF-8.
    String::from_utf8(out).map_err(|e| serde_json::Error::custom(e.to_string()))
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

/// Sorts `(key, value)` pairs by key, keeping only the last pair of each key, as
/// assigning them one by one into a Go map and marshalling it would. Keys are
/// compared with [`cmp_bytes`].
pub fn sort_keep_last<K: AsRef<str>, V>(entries: &mut Vec<(K, V)>) {
    // A stable sort keeps equal keys in insertion order; keep the last of each run.
    entries.sort_by(|a, b| cmp_bytes(a.0.as_ref().as_bytes(), b.0.as_ref().as_bytes()));
    let mut write = 0;
    for read in 0..entries.len() {
        if read + 1 < entries.len() && entries[read].0.as_ref() == entries[read + 1].0.as_ref() {
            continue;
        }
        entries.swap(write, read);
        write += 1;
    }
    entries.truncate(write);
}
pub use stratus_core::jsonw::cmp_bytes;

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
            Value::DoubleValue(d) => finite(d, serializer),
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
        sort_keep_last(&mut entries);
        SortedAttrs {
            entries: Entries::Sorted(entries),
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
/// pdata writes them since collector#15108; empty when they hold a NaN, as Go's
/// ignored error leaves it), and no value as `""`.
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

/// A decoded JSON value (`serde_json::Value`) as Go re-marshals what `json.Unmarshal`
/// into `any` gave: every number a float64 ([`write_go_float`]), object keys sorted.
#[derive(Debug, Clone, Copy)]
pub struct GoValue<'a>(pub &'a serde_json::Value);

impl Serialize for GoValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde_json::Value as Json;
        match self.0 {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Number(n) => serializer.serialize_f64(n.as_f64().unwrap_or(0.0)),
            Json::String(v) => serializer.serialize_str(v),
            Json::Array(a) => {
                let mut seq = serializer.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&GoValue(v))?;
                }
                seq.end()
            }
            Json::Object(o) => {
                let mut entries: Vec<(&String, &Json)> = o.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, &GoValue(v))?;
                }
                map.end()
            }
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
        let out = String::from_utf8(out).unwrap();
        // The String writer writes the same.
        let mut pushed = String::new();
        push_finite(&mut pushed, v).unwrap();
        assert_eq!(pushed, out, "{v:e}");
        out
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
            (3.25, "3.25"),
            (200.0, "200"),
            (-17.0, "-17"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (2.5e-10, "2.5e-10"),
            (1.234e-10, "1.234e-10"),
            (123456789.0, "123456789"),
            (1596151098037.0, "1596151098037"),
            (8.646911284551352e17, "864691128455135200"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            (1e21, "1e+21"),
            (-2.5e22, "-2.5e+22"),
            (9e36, "9e+36"),
            (-9e36, "-9e+36"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (std::f64::consts::PI, "3.141592653589793"),
            (0.30000000000000004, "0.30000000000000004"),
        ];
        for (v, want) in cases {
            assert_eq!(go_float(*v), *want, "{v:?}");
            assert_eq!(float_as_string(*v), *want, "{v:?}");
            // The formatter writes the same through serde_json.
            assert_eq!(to_string(v, true).unwrap(), *want, "{v:?}");
        }
        assert_eq!(float_as_string(f64::NAN), "json: unsupported value: NaN");
        assert_eq!(
            float_as_string(f64::INFINITY),
            "json: unsupported value: +Inf"
        );
        assert_eq!(
            float_as_string(f64::NEG_INFINITY),
            "json: unsupported value: -Inf"
        );
    }

    #[test]
    fn format_g_as_go_strconv() {
        // Expected values are what Go's strconv.FormatFloat(v, 'g', -1, 64) prints.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (0.5, "0.5"),
            (0.99, "0.99"),
            (1.0, "1"),
            (100.0, "100"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (1e6, "1e+06"),
            (-2.5e-7, "-2.5e-07"),
            (1e-10, "1e-10"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (v, want) in cases {
            assert_eq!(format_float_g(*v), *want, "{v:e}");
        }
    }

    #[test]
    fn finite_refuses_nan_and_inf_as_go() {
        #[derive(serde::Serialize)]
        struct Doc {
            #[serde(serialize_with = "finite")]
            v: f64,
            #[serde(serialize_with = "finite_seq")]
            vs: Vec<f64>,
        }
        let ok = Doc {
            v: 2.5,
            vs: vec![1.0, 9e36],
        };
        assert_eq!(to_string(&ok, true).unwrap(), r#"{"v":2.5,"vs":[1,9e+36]}"#);
        for (v, vs, want) in [
            (f64::NAN, vec![], "json: unsupported value: NaN"),
            (
                1.0,
                vec![0.0, f64::NEG_INFINITY],
                "json: unsupported value: -Inf",
            ),
            (f64::INFINITY, vec![], "json: unsupported value: +Inf"),
        ] {
            let err = to_string(&Doc { v, vs }, true).unwrap_err();
            assert_eq!(err.to_string(), want);
            let mut out = String::new();
            if !v.is_finite() {
                assert_eq!(push_finite(&mut out, v).unwrap_err().to_string(), want);
                assert_eq!(out, "");
            }
        }
    }

    #[test]
    fn strings_escape_like_go() {
        let s = "a<b>&c\u{2028}d\u{2029}\"\\\n\t\u{1}é";
        let html = to_string(s, true).unwrap();
        // The one-pass writer writes what the formatter writes.
        for escape_html in [true, false] {
            let mut every_byte: String = (0u8..0x80).map(char::from).collect();
            every_byte.push_str(s);
            every_byte.push_str("\u{2026}\u{2030}\u{e2}");
            let mut pushed = String::new();
            push_str(&mut pushed, &every_byte, escape_html);
            assert_eq!(pushed, to_string(&every_byte, escape_html).unwrap());
        }
        assert_eq!(
            html,
            r#""a\u003cb\u003e\u0026c\u2028d\u2029\"\\\n\t\u0001é""#
        );
        let plain = to_string(s, false).unwrap();
        assert_eq!(plain, r#""a<b>&c\u2028d\u2029\"\\\n\t\u0001é""#);
        // A lone 0xE2 lead byte of another character is left alone.
        assert_eq!(
            to_string("\u{2026}\u{2030}", true).unwrap(),
            "\"\u{2026}\u{2030}\""
        );
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
            // An empty bytes value inside a list is Go's nil slice too.
            (
                array([bytes(Vec::new()), bytes(b"hi".to_vec())]),
                r#"[null,"aGk="]"#,
            ),
            // Keys sorted, the last duplicate wins.
            (kvlist([("b", 1), ("a", 2), ("b", 3)]), r#"{"a":2,"b":3}"#),
            (kvlist(Vec::<(&str, i64)>::new()), "{}"),
        ];
        for (v, want) in cases {
            let got = to_string(&Raw(Some(&v)), true).unwrap();
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
        let got = to_string(&m, true).unwrap();
        assert_eq!(got, r#"{"a":"y","m":true,"z":1}"#);
        assert!(SortedAttrs::new(&[]).is_empty());
        // Already sorted: borrowed, same output.
        let sorted = vec![kv("a", 1), kv("b", 2)];
        let got = to_string(&SortedAttrs::new(&sorted), true).unwrap();
        assert_eq!(got, r#"{"a":1,"b":2}"#);
        // Equal neighbours are duplicates, not sorted.
        let dup = vec![kv("a", 1), kv("a", 2)];
        assert_eq!(SortedAttrs::new(&dup).len(), 1);
        assert_eq!(
            to_string(&SortedAttrs::new(&dup), true).unwrap(),
            r#"{"a":2}"#
        );
    }

    #[test]
    fn sort_keep_last_keeps_the_later_duplicate() {
        let mut v = vec![("b", 1), ("a", 2), ("b", 3), ("c", 4), ("a", 5)];
        sort_keep_last(&mut v);
        assert_eq!(v, [("a", 5), ("b", 3), ("c", 4)]);
        let mut empty: Vec<(&str, i32)> = Vec::new();
        sort_keep_last(&mut empty);
        assert!(empty.is_empty());
    }

    #[test]
    fn go_value_as_go_remarshals_any() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"z":[1,2.50,1e21,null],"a":{"y":true,"x":"<s>"},"n":9000000000000000000}"#,
        )
        .unwrap();
        assert_eq!(
            to_string(&GoValue(&v), true).unwrap(),
            r#"{"a":{"x":"\u003cs\u003e","y":true},"n":9000000000000000000,"z":[1,2.5,1e+21,null]}"#
        );
    }

    #[test]
    fn as_string_as_pdata() {
        // pdata TestValueAsString (collector 934999f), and the map / slice cases of
        // collector#15108 that stopped HTML escaping.
        let cases: Vec<(AnyValue, &str)> = vec![
            ("plain <b>".into_any_value(), "plain <b>"),
            ("x".into_any_value(), "x"),
            (true.into_any_value(), "true"),
            ((-7).into_any_value(), "-7"),
            ((-42).into_any_value(), "-42"),
            (2.0.into_any_value(), "2"),
            (0.25.into_any_value(), "0.25"),
            (1e21.into_any_value(), "1e+21"),
            (f64::NAN.into_any_value(), "json: unsupported value: NaN"),
            (bytes(b"hello".to_vec()), "aGVsbG8="),
            (bytes(b"hi".to_vec()), "aGk="),
            (bytes(Vec::new()), ""),
            (kvlist([("k", "<v>")]), r#"{"k":"<v>"}"#),
            (
                kvlist([("key", "<a href=\"x\">&y</a>")]),
                r#"{"key":"<a href=\"x\">&y</a>"}"#,
            ),
            (kvlist([("z", 1), ("a", 2)]), r#"{"a":2,"z":1}"#),
            (array(["a", "b"]), r#"["a","b"]"#),
            (array(["<", ">", "&"]), r#"["<",">","&"]"#),
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
