//! Attribute helpers: lookup, stringification and the service's length limits.

use crate::envelope::{NumMap, StrMap};
use base64::Engine as _;
use stratus_core::pdata::common::{AnyValue, KeyValue, any_value::Value};

/// Longest property key the service keeps (longer keys are dropped).
pub const MAX_PROPERTY_KEY: usize = 150;
/// Longest property value (longer values are cut).
pub const MAX_PROPERTY_VALUE: usize = 8 * 1024;

/// The value of attribute `key`, if set and not empty.
pub fn get<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

/// Whether attribute `key` is present (with a value).
pub fn has(attrs: &[KeyValue], key: &str) -> bool {
    get(attrs, key).is_some()
}

/// The attribute as a string, if it is a non-empty string or a number/bool (stringified).
pub fn get_str(attrs: &[KeyValue], key: &str) -> Option<String> {
    let s = value_to_string(get(attrs, key)?);
    (!s.is_empty()).then_some(s)
}

/// The first of `keys` that is set, as a string.
pub fn first_str(attrs: &[KeyValue], keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| get_str(attrs, k))
}

/// The attribute as an integer (ints, and strings holding one).
pub fn get_int(attrs: &[KeyValue], key: &str) -> Option<i64> {
    match get(attrs, key)? {
        Value::IntValue(i) => Some(*i),
        Value::StringValue(s) => s.trim().parse().ok(),
        Value::DoubleValue(d) if d.fract() == 0.0 && d.is_finite() => Some(*d as i64),
        _ => None,
    }
}

/// A value as the text the properties carry: strings as is, booleans `true`/`false`,
/// numbers in shortest round-trip form, arrays and maps as JSON, bytes as base64.
pub fn value_to_string(v: &Value) -> String {
    match v {
        Value::StringValue(s) => s.clone(),
        Value::BoolValue(b) => if *b { "true" } else { "false" }.to_owned(),
        Value::IntValue(i) => i.to_string(),
        Value::StringValueStrindex(i) => i.to_string(),
        Value::DoubleValue(d) => double_to_string(*d),
        Value::BytesValue(b) => base64::engine::general_purpose::STANDARD.encode(b),
        Value::ArrayValue(_) | Value::KvlistValue(_) => {
            serde_json::to_string(&value_to_json(v)).unwrap_or_default()
        }
    }
}

/// A double as Python's `str(float)` writes it for the common cases (`0.75`, `3.0`, `1e+20`).
pub fn double_to_string(d: f64) -> String {
    if d.is_nan() {
        return "nan".to_owned();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    format!("{d:?}")
}

/// An OTLP value as JSON.
pub fn value_to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::StringValue(s) => J::String(s.clone()),
        Value::BoolValue(b) => J::Bool(*b),
        Value::IntValue(i) => J::from(*i),
        Value::StringValueStrindex(i) => J::from(*i),
        Value::DoubleValue(d) => serde_json::Number::from_f64(*d)
            .map(J::Number)
            .unwrap_or_else(|| J::String(double_to_string(*d))),
        Value::BytesValue(b) => J::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::ArrayValue(a) => J::Array(a.values.iter().map(any_to_json).collect()),
        Value::KvlistValue(kv) => J::Object(
            kv.values
                .iter()
                .map(|kv| {
                    (
                        kv.key.clone(),
                        kv.value.as_ref().map(any_to_json).unwrap_or(J::Null),
                    )
                })
                .collect(),
        ),
    }
}

fn any_to_json(v: &AnyValue) -> serde_json::Value {
    v.value
        .as_ref()
        .map(value_to_json)
        .unwrap_or(serde_json::Value::Null)
}

/// `s` cut to at most `max` characters (not bytes, as the service counts).
pub fn truncate(mut s: String, max: usize) -> String {
    // No more bytes than `max`, so no more characters.
    if s.len() <= max {
        return s;
    }
    if let Some((idx, _)) = s.char_indices().nth(max) {
        s.truncate(idx);
    }
    s
}

/// Copies the attributes that pass `keep` into `props`, within the key and value limits;
/// attributes without a value are skipped, a repeated key keeps its first value.
pub fn properties_into(props: &mut StrMap, attrs: &[KeyValue], keep: impl Fn(&str) -> bool) {
    for kv in attrs {
        let Some(value) = kv.value.as_ref().and_then(|v| v.value.as_ref()) else {
            continue;
        };
        if kv.key.is_empty()
            || (kv.key.len() > MAX_PROPERTY_KEY && kv.key.chars().count() > MAX_PROPERTY_KEY)
            || !keep(&kv.key)
        {
            continue;
        }
        if props.contains(&kv.key) {
            continue;
        }
        props.0.push((
            kv.key.clone(),
            truncate(value_to_string(value), MAX_PROPERTY_VALUE),
        ));
    }
}

/// Attribute carrying custom measurements (a JSON object string or a map of numbers).
pub const CUSTOM_MEASUREMENTS: &str = "microsoft.custom_measurements";

/// Custom measurements from `microsoft.custom_measurements`: finite numbers only, keys cut
/// to 150 chars.
pub fn measurements(attrs: &[KeyValue]) -> NumMap {
    let mut out = NumMap::default();
    let json = match get(attrs, CUSTOM_MEASUREMENTS) {
        Some(Value::StringValue(s)) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(v) => v,
            Err(_) => return out,
        },
        Some(v @ Value::KvlistValue(_)) => value_to_json(v),
        _ => return out,
    };
    if let serde_json::Value::Object(map) = json {
        for (k, v) in map {
            if k.is_empty() {
                continue;
            }
            if let Some(n) = v.as_f64().filter(|n| n.is_finite()) {
                out.0.push((truncate(k, MAX_PROPERTY_KEY), n));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_core::pdata::common::ArrayValue;

    #[test]
    fn values_stringify_like_json_not_python() {
        assert_eq!(value_to_string(&Value::BoolValue(true)), "true");
        assert_eq!(value_to_string(&Value::DoubleValue(3.0)), "3.0");
        assert_eq!(value_to_string(&Value::DoubleValue(0.75)), "0.75");
        let arr = Value::ArrayValue(ArrayValue {
            values: vec![
                AnyValue {
                    value: Some(Value::StringValue("a".into())),
                },
                AnyValue {
                    value: Some(Value::IntValue(2)),
                },
            ],
        });
        assert_eq!(value_to_string(&arr), r#"["a",2]"#);
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("héllo".into(), 2), "hé");
        assert_eq!(truncate("abc".into(), 5), "abc");
    }

    #[test]
    fn measurements_keep_finite_numbers_only() {
        let attrs = vec![KeyValue {
            key: CUSTOM_MEASUREMENTS.into(),
            key_strindex: 0,
            value: Some(AnyValue {
                value: Some(Value::StringValue(r#"{"a":1.5,"b":"x","":2}"#.into())),
            }),
        }];
        assert_eq!(measurements(&attrs).0, vec![("a".to_owned(), 1.5)]);
    }
}
