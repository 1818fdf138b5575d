//! OTLP values as the redaction rules see them: their text the way the collector's
//! `pcommon.Value` gives it (`Str()`, `AsString()`), and setting a value to a string.

use std::borrow::Cow;
use std::fmt::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use stratus_attraction::value::{go_json_float, write_json_string};
use stratus_core::pdata::common::{AnyValue, KeyValue, any_value::Value};

/// The string held by a string value; `""` for any other kind (or none), like the
/// collector's `Value.Str()`.
pub(crate) fn str_of(v: Option<&AnyValue>) -> &str {
    match v.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s,
        _ => "",
    }
}

/// A value as text, like the collector's `Value.AsString()`: strings as they are,
/// integers in decimal, doubles in the shortest form that reads back (exponent form
/// below 1e-6 and from 1e21), `true`/`false`, bytes in standard base64, maps and
/// arrays as JSON (keys sorted), nothing as `""`.
pub(crate) fn as_string(v: Option<&AnyValue>) -> Cow<'_, str> {
    match v.and_then(|v| v.value.as_ref()) {
        // A profiles string-table index is no text of its own: the empty value.
        None | Some(Value::StringValueStrindex(_)) => Cow::Borrowed(""),
        Some(Value::StringValue(s)) => Cow::Borrowed(s),
        Some(Value::IntValue(i)) => Cow::Owned(i.to_string()),
        Some(Value::BoolValue(b)) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Some(Value::DoubleValue(d)) => Cow::Owned(go_json_float(*d)),
        Some(Value::BytesValue(b)) => Cow::Owned(STANDARD.encode(b)),
        Some(Value::ArrayValue(_) | Value::KvlistValue(_)) => {
            let mut out = String::new();
            // Go's encoder refuses NaN and infinities, and the collector then gives "".
            match write_json(&mut out, v) {
                Ok(()) => Cow::Owned(out),
                Err(Unsupported) => Cow::Borrowed(""),
            }
        }
    }
}

/// Sets `kv`'s value to the string `s`, whatever kind it had.
pub(crate) fn set_str(kv: &mut KeyValue, s: String) {
    set_value_str(kv.value.get_or_insert_with(AnyValue::default), s);
}

/// Sets a value to the string `s`, whatever kind it had.
pub(crate) fn set_value_str(v: &mut AnyValue, s: String) {
    v.value = Some(Value::StringValue(s));
}

/// A map or array holds a value Go's JSON encoder refuses (NaN, an infinity).
struct Unsupported;

/// Writes a value as Go's `encoding/json` writes the collector's raw form of it: map
/// keys sorted, HTML characters escaped, bytes as base64 strings, no value as `null`.
fn write_json(out: &mut String, v: Option<&AnyValue>) -> Result<(), Unsupported> {
    match v.and_then(|v| v.value.as_ref()) {
        None | Some(Value::StringValueStrindex(_)) => out.push_str("null"),
        Some(Value::StringValue(s)) => write_json_string(out, s),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(d)) => {
            if !d.is_finite() {
                return Err(Unsupported);
            }
            out.push_str(&go_json_float(*d));
        }
        Some(Value::BytesValue(b)) => write_json_string(out, &STANDARD.encode(b)),
        Some(Value::ArrayValue(a)) => {
            out.push('[');
            for (i, v) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, Some(v))?;
            }
            out.push(']');
        }
        Some(Value::KvlistValue(kvs)) => {
            // A Go map: one entry per key (the last one wins), keys in byte order.
            let mut entries: Vec<&KeyValue> = Vec::with_capacity(kvs.values.len());
            for kv in &kvs.values {
                match entries.iter_mut().find(|e| e.key == kv.key) {
                    Some(e) => *e = kv,
                    None => entries.push(kv),
                }
            }
            entries.sort_by(|a, b| a.key.cmp(&b.key));
            out.push('{');
            for (i, kv) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, &kv.key);
                out.push(':');
                write_json(out, kv.value.as_ref())?;
            }
            out.push('}');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_testkit::otlp::{IntoAnyValue, array, bytes, kvlist};

    fn text(v: impl IntoAnyValue) -> String {
        as_string(Some(&v.into_any_value())).into_owned()
    }

    #[test]
    fn scalars_read_like_the_collector() {
        assert_eq!(text("4111 1111"), "4111 1111");
        assert_eq!(text(4_111_111_111_111_111_i64), "4111111111111111");
        assert_eq!(text(-7), "-7");
        assert_eq!(text(true), "true");
        assert_eq!(text(bytes(*b"hi!")), "aGkh");
        assert_eq!(as_string(None), "");
        assert_eq!(as_string(Some(&AnyValue::default())), "");
        assert_eq!(str_of(Some(&5.into_any_value())), "");
        assert_eq!(str_of(Some(&"x".into_any_value())), "x");
    }

    /// Go's `strconv.FormatFloat(f, 'f'|'e', -1, 64)` with the collector's cut-offs.
    #[test]
    fn doubles_read_like_the_collector() {
        for (f, want) in [
            (3.0, "3"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (0.0, "0"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (0.000001, "0.000001"),
            (1.5e-7, "1.5e-7"),
            (123456.789, "123456.789"),
        ] {
            assert_eq!(text(f), want, "{f}");
        }
        assert_eq!(text(f64::NAN), "json: unsupported value: NaN");
        assert_eq!(text(f64::NEG_INFINITY), "json: unsupported value: -Inf");
    }

    #[test]
    fn maps_and_arrays_read_as_go_json() {
        assert_eq!(text(array([1, 2])), "[1,2]");
        let nested = kvlist([
            ("z", "<a&b>".into_any_value()),
            ("a", array([0.5.into_any_value(), true.into_any_value()])),
            ("m", kvlist([("k", "line\n\"q\"")])),
            ("b", bytes(*b"hi!")),
        ]);
        assert_eq!(
            text(nested),
            r#"{"a":[0.5,true],"b":"aGkh","m":{"k":"line\n\"q\""},"z":"\u003ca\u0026b\u003e"}"#
        );
        assert_eq!(text(array([f64::NAN])), "");
    }
}
