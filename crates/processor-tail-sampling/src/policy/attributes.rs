//! The attribute policies: `string_attribute`, `numeric_attribute`,
//! `boolean_attribute`. Each looks at every batch's resource attributes, then at its
//! spans' attributes.
//!
//! Values are read the way upstream's pdata accessors read them: a value of another
//! type reads as the empty string, `0` or `false` (so an `int` attribute is `""` to
//! `string_attribute`, and a string attribute is `0` to `numeric_attribute`).

use std::collections::HashSet;

use regex::Regex;
use stratus_core::pdata::common::any_value::Value;

use super::{
    Decision, Evaluator, PolicyError, TraceData, any_resource_or_span, attribute,
    resource_attributes,
};
use crate::config::{BooleanAttributeConfig, NumericAttributeConfig, StringAttributeConfig};
use crate::lru::Lru;

/// The regex result cache size when `cache_max_size` is 0 or less (upstream's).
pub const DEFAULT_REGEX_CACHE_SIZE: usize = 128;

fn as_str(v: Option<&Value>) -> &str {
    match v {
        Some(Value::StringValue(s)) => s,
        _ => "",
    }
}

fn as_int(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::IntValue(i)) => *i,
        _ => 0,
    }
}

fn as_bool(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::BoolValue(true)))
}

enum Matcher {
    Exact(HashSet<String>),
    Regex {
        list: Vec<Regex>,
        results: Lru<String, bool>,
    },
}

impl Matcher {
    fn matches(&mut self, value: &str) -> bool {
        match self {
            Matcher::Exact(values) => values.contains(value),
            Matcher::Regex { list, results } => {
                if let Some(hit) = results.get(value) {
                    return *hit;
                }
                let hit = list.iter().any(|r| r.is_match(value));
                results.put(value.to_string(), hit);
                hit
            }
        }
    }
}

/// `string_attribute`.
pub(crate) struct StringAttribute {
    key: String,
    matcher: Matcher,
    invert: bool,
}

impl StringAttribute {
    pub(crate) fn new(c: &StringAttributeConfig) -> Result<Self, String> {
        let matcher = if c.enabled_regex_matching {
            let list = c
                .values
                .iter()
                .map(|v| Regex::new(v).map_err(|e| format!("invalid regex `{v}`: {e}")))
                .collect::<Result<_, _>>()?;
            let size = usize::try_from(c.cache_max_size)
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or(DEFAULT_REGEX_CACHE_SIZE);
            Matcher::Regex {
                list,
                results: Lru::new(size),
            }
        } else {
            // Empty values never match (upstream leaves them out).
            Matcher::Exact(c.values.iter().filter(|v| !v.is_empty()).cloned().collect())
        };
        Ok(StringAttribute {
            key: c.key.clone(),
            matcher,
            invert: c.invert_match,
        })
    }
}

impl Evaluator for StringAttribute {
    fn evaluate(&mut self, trace: &TraceData) -> Result<Decision, PolicyError> {
        let key = self.key.as_str();
        let matcher = &mut self.matcher;
        let mut hit = false;
        for rs in &trace.batches {
            // A resource attribute is matched whatever its value; a span attribute only
            // when its string value is not empty (upstream's asymmetry).
            if attribute(resource_attributes(rs), key).is_some_and(|v| matcher.matches(as_str(v))) {
                hit = true;
                break;
            }
            let mut spans = rs.scope_spans.iter().flat_map(|ss| ss.spans.iter());
            if spans.any(|span| match attribute(&span.attributes, key) {
                Some(v) if !as_str(v).is_empty() => matcher.matches(as_str(v)),
                _ => false,
            }) {
                hit = true;
                break;
            }
        }
        Ok(decide(hit, self.invert))
    }
}

/// The decision of an attribute policy: whether anything matched, and `invert_match`.
fn decide(matched: bool, invert: bool) -> Decision {
    match (matched, invert) {
        (true, false) => Decision::Sampled,
        (false, false) => Decision::NotSampled,
        (true, true) => Decision::InvertNotSampled,
        (false, true) => Decision::InvertSampled,
    }
}

/// `numeric_attribute`. A bound of 0 is no bound.
pub(crate) struct NumericAttribute {
    key: String,
    min: i64,
    max: i64,
    invert: bool,
}

impl NumericAttribute {
    pub(crate) fn new(c: &NumericAttributeConfig) -> Self {
        NumericAttribute {
            key: c.key.clone(),
            min: if c.min_value == 0 {
                i64::MIN
            } else {
                c.min_value
            },
            max: if c.max_value == 0 {
                i64::MAX
            } else {
                c.max_value
            },
            invert: c.invert_match,
        }
    }
}

impl Evaluator for NumericAttribute {
    fn evaluate(&mut self, trace: &TraceData) -> Result<Decision, PolicyError> {
        let in_range = |attrs: &[_]| {
            attribute(attrs, &self.key).map(|v| (self.min..=self.max).contains(&as_int(v)))
        };
        let hit = any_resource_or_span(
            trace,
            |attrs| in_range(attrs) == Some(true),
            |span| in_range(&span.attributes) == Some(true),
        );
        Ok(decide(hit == Decision::Sampled, self.invert))
    }
}

/// `boolean_attribute`.
pub(crate) struct BooleanAttribute {
    key: String,
    value: bool,
    invert: bool,
}

impl BooleanAttribute {
    pub(crate) fn new(c: &BooleanAttributeConfig) -> Self {
        BooleanAttribute {
            key: c.key.clone(),
            value: c.value,
            invert: c.invert_match,
        }
    }
}

impl Evaluator for BooleanAttribute {
    fn evaluate(&mut self, trace: &TraceData) -> Result<Decision, PolicyError> {
        let matches = |attrs: &[_]| attribute(attrs, &self.key).map(|v| as_bool(v) == self.value);
        let hit = any_resource_or_span(
            trace,
            |attrs| matches(attrs) == Some(true),
            |span| matches(&span.attributes) == Some(true),
        );
        Ok(decide(hit == Decision::Sampled, self.invert))
    }
}
