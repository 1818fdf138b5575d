//! Attribute values as the collector's `pcommon.Value` treats them: built from config
//! values, rendered as strings (`AsString`), compared, and looked up in attribute lists.

use std::borrow::Cow;
use std::fmt::Write as _;

use base64::Engine as _;
use stratus_core::pdata::common::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value};

use any_value::Value as V;

/// The OTLP value of a config value (the `value` of an action, an attribute to match):
/// strings, booleans, integers, floats, lists and maps map to the OTLP kind of the same
/// name, as `pcommon.Value.FromRaw` maps them; `null` is an empty value.
pub fn from_config(v: &serde_json::Value) -> AnyValue {
    use serde_json::Value as J;
    let value = match v {
        J::Null => None,
        J::Bool(b) => Some(V::BoolValue(*b)),
        J::Number(n) => Some(match n.as_i64() {
            Some(i) => V::IntValue(i),
            None => V::DoubleValue(n.as_f64().unwrap_or(f64::NAN)),
        }),
        J::String(s) => Some(V::StringValue(s.clone())),
        J::Array(items) => Some(V::ArrayValue(ArrayValue {
            values: items.iter().map(from_config).collect(),
        })),
        J::Object(map) => Some(V::KvlistValue(KeyValueList {
            values: map
                .iter()
                .map(|(k, v)| KeyValue {
                    key: k.clone(),
                    value: Some(from_config(v)),
                    ..Default::default()
                })
                .collect(),
        })),
    };
    AnyValue { value }
}

/// The name of a value's kind, as the collector prints it (`Str`, `Int`, ...).
pub fn kind_name(v: Option<&AnyValue>) -> &'static str {
    match v.and_then(|v| v.value.as_ref()) {
        None => "Empty",
        Some(V::StringValue(_)) => "Str",
        Some(V::BoolValue(_)) => "Bool",
        Some(V::IntValue(_)) => "Int",
        Some(V::DoubleValue(_)) => "Double",
        Some(V::ArrayValue(_)) => "Slice",
        Some(V::KvlistValue(_)) => "Map",
        Some(V::BytesValue(_)) => "Bytes",
        Some(V::StringValueStrindex(_)) => "Strindex",
    }
}

/// A value as a string, as `pcommon.Value.AsString` renders it: strings as they are,
/// booleans and integers in decimal, doubles as JSON numbers (`1.5`, `1e+21`), bytes in
/// standard base64, lists and maps as JSON with map keys sorted, empty as `""`.
pub fn as_string(v: Option<&AnyValue>) -> Cow<'_, str> {
    match v.and_then(|v| v.value.as_ref()) {
        None | Some(V::StringValueStrindex(_)) => Cow::Borrowed(""),
        Some(V::StringValue(s)) => Cow::Borrowed(s),
        Some(V::BoolValue(b)) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Some(V::IntValue(i)) => Cow::Owned(i.to_string()),
        Some(V::DoubleValue(d)) => Cow::Owned(go_json_float(*d)),
        Some(V::BytesValue(b)) => Cow::Owned(base64::engine::general_purpose::STANDARD.encode(b)),
        Some(other) => {
            let mut out = String::new();
            write_json(&mut out, Some(other));
            Cow::Owned(out)
        }
    }
}

/// A double as Go's `encoding/json` writes it (what `AsString` uses): the shortest
/// decimal that reads back the same, in exponent form below 1e-6 and from 1e21 up.
pub fn go_json_float(f: f64) -> String {
    if !f.is_finite() {
        let g = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        return format!("json: unsupported value: {g}");
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust writes `1e21` / `1.5e-7`; Go writes `1e+21` / `1.5e-07`, and its JSON
        // encoder then drops the zero of a one-digit negative exponent: `1.5e-7`.
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => s,
        }
    } else {
        // Rust's `Display` is the shortest round-trip decimal without an exponent, as
        // Go's `strconv.FormatFloat(f, 'f', -1, 64)`.
        f.to_string()
    }
}

/// Writes a value as Go's `encoding/json` writes its raw form (`Map.AsRaw`): map keys
/// sorted, bytes as base64 strings, empty values as `null`, `<`, `>` and `&` escaped.
fn write_json(out: &mut String, v: Option<&V>) {
    match v {
        None | Some(V::StringValueStrindex(_)) => out.push_str("null"),
        Some(V::StringValue(s)) => write_json_string(out, s),
        Some(V::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(V::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(V::DoubleValue(d)) => out.push_str(&go_json_float(*d)),
        Some(V::BytesValue(b)) => {
            write_json_string(out, &base64::engine::general_purpose::STANDARD.encode(b))
        }
        Some(V::ArrayValue(a)) => {
            out.push('[');
            for (i, item) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item.value.as_ref());
            }
            out.push(']');
        }
        Some(V::KvlistValue(kv)) => {
            let mut entries: Vec<&KeyValue> = kv.values.iter().collect();
            entries.sort_by(|a, b| a.key.cmp(&b.key));
            entries.dedup_by(|b, a| a.key == b.key);
            out.push('{');
            for (i, e) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, &e.key);
                out.push(':');
                write_json(out, e.value.as_ref().and_then(|v| v.value.as_ref()));
            }
            out.push('}');
        }
    }
}

/// Writes `s` as a JSON string the way Go's `encoding/json` escapes it (HTML-safe):
/// `"`, `\` and control characters escaped (`\n`, `\r`, `\t`, else `\u00XX`), and `<`,
/// `>`, `&`, U+2028, U+2029 as `\u` escapes.
pub fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Whether two values are equal as the collector compares attribute values for strict
/// matching: same kind and same value; maps regardless of key order.
pub fn values_equal(a: Option<&AnyValue>, b: Option<&AnyValue>) -> bool {
    let (a, b) = (
        a.and_then(|v| v.value.as_ref()),
        b.and_then(|v| v.value.as_ref()),
    );
    match (a, b) {
        (None, None) => true,
        (Some(V::StringValue(x)), Some(V::StringValue(y))) => x == y,
        (Some(V::BoolValue(x)), Some(V::BoolValue(y))) => x == y,
        (Some(V::IntValue(x)), Some(V::IntValue(y))) => x == y,
        (Some(V::DoubleValue(x)), Some(V::DoubleValue(y))) => x == y,
        (Some(V::BytesValue(x)), Some(V::BytesValue(y))) => x == y,
        (Some(V::ArrayValue(x)), Some(V::ArrayValue(y))) => {
            x.values.len() == y.values.len()
                && x.values
                    .iter()
                    .zip(&y.values)
                    .all(|(a, b)| values_equal(Some(a), Some(b)))
        }
        (Some(V::KvlistValue(x)), Some(V::KvlistValue(y))) => {
            x.values.len() == y.values.len()
                && x.values.iter().all(|e| {
                    find(&y.values, &e.key)
                        .is_some_and(|i| values_equal(e.value.as_ref(), y.values[i].value.as_ref()))
                })
        }
        _ => false,
    }
}

/// The index of the first attribute with this key.
#[inline]
pub fn find(attrs: &[KeyValue], key: &str) -> Option<usize> {
    attrs.iter().position(|kv| kv.key == key)
}

/// The value of the first attribute with this key; `Some(None)` when the key is there
/// with no value.
#[inline]
pub fn get<'a>(attrs: &'a [KeyValue], key: &str) -> Option<Option<&'a AnyValue>> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| kv.value.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_testkit::otlp::{array, bytes, kvlist};

    fn s(v: AnyValue) -> String {
        as_string(Some(&v)).into_owned()
    }

    fn av(v: V) -> AnyValue {
        AnyValue { value: Some(v) }
    }

    #[test]
    fn as_string_renders_like_pcommon() {
        let cases: Vec<(AnyValue, &str)> = vec![
            (av(V::StringValue("x".into())), "x"),
            (av(V::BoolValue(true)), "true"),
            (av(V::IntValue(-42)), "-42"),
            (av(V::DoubleValue(1.5)), "1.5"),
            (av(V::DoubleValue(3.0)), "3"),
            (av(V::DoubleValue(1e21)), "1e+21"),
            (av(V::DoubleValue(1.5e-7)), "1.5e-7"),
            (av(V::DoubleValue(1.25e-10)), "1.25e-10"),
            (av(V::DoubleValue(0.000001)), "0.000001"),
            (
                av(V::DoubleValue(123456789012345680000.0)),
                "123456789012345680000",
            ),
            (bytes([1u8, 2, 3]), "AQID"),
            (array([1, 2]), "[1,2]"),
            (
                kvlist([
                    ("b", av(V::StringValue("<x>".into()))),
                    ("a", av(V::DoubleValue(2.5))),
                ]),
                r#"{"a":2.5,"b":"\u003cx\u003e"}"#,
            ),
            (AnyValue { value: None }, ""),
        ];
        for (v, want) in cases {
            assert_eq!(s(v.clone()), want, "{v:?}");
        }
        assert_eq!(as_string(None), "");
        assert_eq!(go_json_float(f64::NAN), "json: unsupported value: NaN");
    }

    #[test]
    fn config_values_take_their_otlp_kind() {
        assert_eq!(from_config(&json!("a")), av(V::StringValue("a".into())));
        assert_eq!(from_config(&json!(123)), av(V::IntValue(123)));
        assert_eq!(from_config(&json!(1.5)), av(V::DoubleValue(1.5)));
        assert_eq!(from_config(&json!(true)), av(V::BoolValue(true)));
        assert_eq!(from_config(&json!(null)), AnyValue { value: None });
        assert_eq!(s(from_config(&json!({"k": [1, "x"]}))), r#"{"k":[1,"x"]}"#);
    }

    #[test]
    fn strict_equality_needs_the_same_kind() {
        let one = av(V::IntValue(1));
        assert!(values_equal(Some(&one), Some(&av(V::IntValue(1)))));
        assert!(!values_equal(Some(&one), Some(&av(V::DoubleValue(1.0)))));
        assert!(!values_equal(
            Some(&one),
            Some(&av(V::StringValue("1".into())))
        ));
        let a = kvlist([("x", 1), ("y", 2)]);
        let b = kvlist([("y", 2), ("x", 1)]);
        assert!(
            values_equal(Some(&a), Some(&b)),
            "maps compare regardless of order"
        );
        assert!(!values_equal(Some(&array([1, 2])), Some(&array([2, 1]))));
    }
}
