//! The redaction rules, compiled once from a [`RedactionConfig`] and applied to a
//! batch in place.
//!
//! What is redacted, as in the current contrib processor:
//! - traces: resource attributes, scope attributes, span attributes, span event
//!   attributes (not links);
//! - logs: resource and scope attributes, log record attributes, and the record body
//!   (a string, or every leaf of a map or array body);
//! - metrics: resource and scope attributes, and the attributes of every data point
//!   of every metric type (not exemplars).
//!
//! For each attribute, in order: an ignored key (`ignored_keys`,
//! `ignored_key_patterns`) is left alone; a key that is not allowed (`allowed_keys`,
//! unless `allow_all_keys`) is removed; a value matching `allowed_values` is left
//! alone; a key matching `blocked_key_patterns` has its whole value masked;
//! otherwise each `blocked_values` regex masks what it matches. A map body's keys go
//! through the same steps, except that a blocked key is masked before
//! `allowed_values` is looked at (as upstream does).

use std::borrow::Cow;
use std::collections::HashSet;

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use regex::{Captures, NoExpand, Regex, RegexSet};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use sha3::Sha3_256;
use stratus_core::Payload;
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_core::pdata::common::{AnyValue, KeyValue, any_value::Value};
use stratus_core::pdata::logs::ResourceLogs;
use stratus_core::pdata::metrics::{ResourceMetrics, metric::Data};
use stratus_core::pdata::trace::ResourceSpans;

use crate::config::{HashFunction, RedactionConfig, Summary};
use crate::value::{as_string, set_str, set_value_str, str_of};

/// Keys of the attributes removed, comma-separated and sorted (`summary: debug`).
pub const REDACTED_KEYS: &str = "redaction.redacted.keys";
/// How many attributes were removed (`summary: debug` or `info`).
pub const REDACTED_COUNT: &str = "redaction.redacted.count";
/// Keys of the attributes whose value was masked, comma-separated and sorted.
pub const MASKED_KEYS: &str = "redaction.masked.keys";
/// How many attribute values were masked.
pub const MASKED_COUNT: &str = "redaction.masked.count";
/// Keys of the attributes left alone because their value matched `allowed_values`.
pub const ALLOWED_KEYS: &str = "redaction.allowed.keys";
/// How many attributes were left alone because of `allowed_values`.
pub const ALLOWED_COUNT: &str = "redaction.allowed.count";
/// How many attributes were ignored (`ignored_keys`, `ignored_key_patterns`).
pub const IGNORED_COUNT: &str = "redaction.ignored.count";
/// Paths of the log body entries removed (`nested.key`, `list.[0]`).
pub const BODY_REDACTED_KEYS: &str = "redaction.body.redacted.keys";
/// How many log body entries were removed.
pub const BODY_REDACTED_COUNT: &str = "redaction.body.redacted.count";
/// Paths of the log body values masked (`body` for a string body).
pub const BODY_MASKED_KEYS: &str = "redaction.body.masked.keys";
/// How many log body values were masked.
pub const BODY_MASKED_COUNT: &str = "redaction.body.masked.count";
/// Paths of the log body values left alone because of `allowed_values`.
pub const BODY_ALLOWED_KEYS: &str = "redaction.body.allowed.keys";
/// How many log body values were left alone because of `allowed_values`.
pub const BODY_ALLOWED_COUNT: &str = "redaction.body.allowed.count";
/// How many log body entries were ignored.
pub const BODY_IGNORED_COUNT: &str = "redaction.body.ignored.count";

/// Every attribute the processor writes. They are always allowed, so data that passes
/// a second redaction processor keeps its summary, and the summary adds up.
pub const SUMMARY_KEYS: [&str; 14] = [
    REDACTED_KEYS,
    REDACTED_COUNT,
    MASKED_KEYS,
    MASKED_COUNT,
    ALLOWED_KEYS,
    ALLOWED_COUNT,
    IGNORED_COUNT,
    BODY_REDACTED_KEYS,
    BODY_REDACTED_COUNT,
    BODY_MASKED_KEYS,
    BODY_MASKED_COUNT,
    BODY_ALLOWED_KEYS,
    BODY_ALLOWED_COUNT,
    BODY_IGNORED_COUNT,
];

/// What masked text becomes.
const MASK: &str = "****";

/// The summary attribute names of one place (attributes, or a log body).
struct Names {
    redacted_keys: &'static str,
    redacted_count: &'static str,
    masked_keys: &'static str,
    masked_count: &'static str,
    allowed_keys: &'static str,
    allowed_count: &'static str,
    ignored_count: &'static str,
}

const ATTRIBUTE_NAMES: Names = Names {
    redacted_keys: REDACTED_KEYS,
    redacted_count: REDACTED_COUNT,
    masked_keys: MASKED_KEYS,
    masked_count: MASKED_COUNT,
    allowed_keys: ALLOWED_KEYS,
    allowed_count: ALLOWED_COUNT,
    ignored_count: IGNORED_COUNT,
};

const BODY_NAMES: Names = Names {
    redacted_keys: BODY_REDACTED_KEYS,
    redacted_count: BODY_REDACTED_COUNT,
    masked_keys: BODY_MASKED_KEYS,
    masked_count: BODY_MASKED_COUNT,
    allowed_keys: BODY_ALLOWED_KEYS,
    allowed_count: BODY_ALLOWED_COUNT,
    ignored_count: BODY_IGNORED_COUNT,
};

/// The compiled rules of one `redaction` processor. Built once; [`Redactor::redact`]
/// takes `&self`, so one redactor serves every batch, concurrently.
#[derive(Debug, Clone)]
pub struct Redactor {
    allow_all_keys: bool,
    /// `allowed_keys` plus [`SUMMARY_KEYS`].
    allowed: HashSet<String>,
    ignored: HashSet<String>,
    ignored_patterns: Patterns,
    blocked_keys: Patterns,
    blocked_values: Vec<Regex>,
    /// Every blocked value at once: one pass tells whether a value needs any of them.
    blocked_any: Patterns,
    allowed_values: Patterns,
    redact_all_types: bool,
    hasher: Hasher,
    summary: Summary,
    /// Masks a whole value (`.*`), for keys matching `blocked_key_patterns`.
    whole: Regex,
}

/// What replaces masked text.
#[derive(Clone)]
enum Hasher {
    Mask,
    Md5,
    Sha1,
    Sha3,
    /// Keyed once; each use clones the keyed state.
    HmacSha256(Hmac<Sha256>),
    HmacSha512(Hmac<Sha512>),
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.write_str(match self {
            Hasher::Mask => "Mask",
            Hasher::Md5 => "Md5",
            Hasher::Sha1 => "Sha1",
            Hasher::Sha3 => "Sha3",
            Hasher::HmacSha256(_) => "HmacSha256",
            Hasher::HmacSha512(_) => "HmacSha512",
        })
    }
}

impl Hasher {
    fn new(config: &RedactionConfig) -> Result<Hasher, ConfigProblem> {
        let key = config.hmac_key.expose().as_bytes();
        let bad_key = |_| ConfigProblem::new("hmac_key", "the HMAC key cannot be used");
        Ok(match config.hash_function {
            HashFunction::None => Hasher::Mask,
            HashFunction::Md5 => Hasher::Md5,
            HashFunction::Sha1 => Hasher::Sha1,
            HashFunction::Sha3 => Hasher::Sha3,
            HashFunction::HmacSha256 => {
                Hasher::HmacSha256(Hmac::new_from_slice(key).map_err(bad_key)?)
            }
            HashFunction::HmacSha512 => {
                Hasher::HmacSha512(Hmac::new_from_slice(key).map_err(bad_key)?)
            }
        })
    }

    /// The replacement for one match: the lowercase hex digest of its bytes.
    fn digest(&self, text: &str) -> String {
        let bytes = text.as_bytes();
        match self {
            Hasher::Mask => MASK.to_string(),
            Hasher::Md5 => hex::encode(Md5::digest(bytes)),
            Hasher::Sha1 => hex::encode(Sha1::digest(bytes)),
            Hasher::Sha3 => hex::encode(Sha3_256::digest(bytes)),
            Hasher::HmacSha256(keyed) => {
                let mut mac = keyed.clone();
                mac.update(bytes);
                hex::encode(mac.finalize().into_bytes())
            }
            Hasher::HmacSha512(keyed) => {
                let mut mac = keyed.clone();
                mac.update(bytes);
                hex::encode(mac.finalize().into_bytes())
            }
        }
    }
}

impl Redactor {
    /// Compiles the rules of `config`: every problem [`Validate`] finds, or one
    /// compiling them together (a regex set over the size limit).
    pub fn new(config: &RedactionConfig) -> Result<Redactor, Vec<ConfigProblem>> {
        let problems = config.validate();
        if !problems.is_empty() {
            return Err(problems);
        }
        let set = |key: &str, patterns: &[String]| {
            Patterns::new(patterns).map_err(|e| vec![ConfigProblem::new(key, e.to_string())])
        };
        let mut blocked_values = Vec::with_capacity(config.blocked_values.len());
        for (i, pattern) in config.blocked_values.iter().enumerate() {
            let re = Regex::new(pattern).map_err(|e| {
                vec![ConfigProblem::new(
                    format!("blocked_values::{i}"),
                    e.to_string(),
                )]
            })?;
            blocked_values.push(re);
        }
        let whole = Regex::new(".*")
            .map_err(|e| vec![ConfigProblem::new("", format!("internal regex: {e}"))])?;
        Ok(Redactor {
            allow_all_keys: config.allow_all_keys,
            allowed: config
                .allowed_keys
                .iter()
                .cloned()
                .chain(SUMMARY_KEYS.iter().map(|k| k.to_string()))
                .collect(),
            ignored: config.ignored_keys.iter().cloned().collect(),
            ignored_patterns: set("ignored_key_patterns", &config.ignored_key_patterns)?,
            blocked_keys: set("blocked_key_patterns", &config.blocked_key_patterns)?,
            blocked_any: set("blocked_values", &config.blocked_values)?,
            blocked_values,
            allowed_values: set("allowed_values", &config.allowed_values)?,
            redact_all_types: config.redact_all_types,
            hasher: Hasher::new(config).map_err(|p| vec![p])?,
            summary: config.summary,
            whole,
        })
    }

    /// Whether every attribute is removed: `allow_all_keys: false` with no
    /// `allowed_keys` (only ignored keys survive). Upstream does this on purpose (the
    /// list fails closed), and it surprises people: the factory warns about it.
    pub fn removes_every_attribute(&self) -> bool {
        !self.allow_all_keys && self.allowed.len() == SUMMARY_KEYS.len()
    }

    /// Redacts a batch in place.
    pub fn redact(&self, payload: &mut Payload) {
        match payload {
            Payload::Traces(r) => r.iter_mut().for_each(|rs| self.spans(rs)),
            Payload::Metrics(r) => r.iter_mut().for_each(|rm| self.metrics(rm)),
            Payload::Logs(r) => r.iter_mut().for_each(|rl| self.logs(rl)),
        }
    }

    fn spans(&self, rs: &mut ResourceSpans) {
        if let Some(resource) = rs.resource.as_mut() {
            self.attributes(&mut resource.attributes);
        }
        for ss in &mut rs.scope_spans {
            if let Some(scope) = ss.scope.as_mut() {
                self.attributes(&mut scope.attributes);
            }
            for span in &mut ss.spans {
                self.attributes(&mut span.attributes);
                for event in &mut span.events {
                    self.attributes(&mut event.attributes);
                }
            }
        }
    }

    fn logs(&self, rl: &mut ResourceLogs) {
        if let Some(resource) = rl.resource.as_mut() {
            self.attributes(&mut resource.attributes);
        }
        for sl in &mut rl.scope_logs {
            if let Some(scope) = sl.scope.as_mut() {
                self.attributes(&mut scope.attributes);
            }
            for record in &mut sl.log_records {
                self.attributes(&mut record.attributes);
                self.body(&mut record.body, &mut record.attributes);
            }
        }
    }

    fn metrics(&self, rm: &mut ResourceMetrics) {
        if let Some(resource) = rm.resource.as_mut() {
            self.attributes(&mut resource.attributes);
        }
        for sm in &mut rm.scope_metrics {
            if let Some(scope) = sm.scope.as_mut() {
                self.attributes(&mut scope.attributes);
            }
            for metric in &mut sm.metrics {
                match &mut metric.data {
                    Some(Data::Gauge(g)) => {
                        for p in &mut g.data_points {
                            self.attributes(&mut p.attributes);
                        }
                    }
                    Some(Data::Sum(s)) => {
                        for p in &mut s.data_points {
                            self.attributes(&mut p.attributes);
                        }
                    }
                    Some(Data::Histogram(h)) => {
                        for p in &mut h.data_points {
                            self.attributes(&mut p.attributes);
                        }
                    }
                    Some(Data::ExponentialHistogram(h)) => {
                        for p in &mut h.data_points {
                            self.attributes(&mut p.attributes);
                        }
                    }
                    Some(Data::Summary(s)) => {
                        for p in &mut s.data_points {
                            self.attributes(&mut p.attributes);
                        }
                    }
                    None => {}
                }
            }
        }
    }

    fn is_ignored(&self, key: &str) -> bool {
        (!self.ignored.is_empty() && self.ignored.contains(key))
            || self.ignored_patterns.is_match(key)
    }

    fn is_removed(&self, key: &str) -> bool {
        !self.allow_all_keys && !self.allowed.contains(key)
    }

    /// Replaces every match of `re` in `text` by `****` or its digest.
    fn mask<'t>(&self, text: &'t str, re: &Regex) -> Cow<'t, str> {
        match self.hasher {
            Hasher::Mask => re.replace_all(text, NoExpand(MASK)),
            _ => re.replace_all(text, |caps: &Captures<'_>| self.hasher.digest(&caps[0])),
        }
    }

    /// `text` after every blocked value regex, in order, each on the result of the one
    /// before; `None` when that changes nothing.
    fn block_values(&self, text: &str) -> Option<String> {
        if self.blocked_values.is_empty() || !self.blocked_any.is_match(text) {
            return None;
        }
        let mut current: Cow<'_, str> = Cow::Borrowed(text);
        for re in &self.blocked_values {
            // `replace_all` borrows when nothing matches: upstream's MatchString check.
            if let Cow::Owned(next) = self.mask(&current, re) {
                current = Cow::Owned(next);
            }
        }
        (current != text).then(|| current.into_owned())
    }

    /// Redacts one attribute list and adds its summary.
    fn attributes(&self, attrs: &mut Vec<KeyValue>) {
        if attrs.is_empty() {
            return;
        }
        let mut tally = Tally::new(self.summary);
        attrs.retain_mut(|kv| {
            if self.is_ignored(&kv.key) {
                tally.ignored += 1;
                return true;
            }
            if self.is_removed(&kv.key) {
                tally.redacted.add(std::mem::take(&mut kv.key));
                return false;
            }
            let replacement = {
                let text: Cow<'_, str> = if self.redact_all_types {
                    as_string(kv.value.as_ref())
                } else {
                    Cow::Borrowed(str_of(kv.value.as_ref()))
                };
                if self.allowed_values.is_match(&text) {
                    tally.allowed.add_str(&kv.key);
                    return true;
                }
                if self.blocked_keys.is_match(&kv.key) {
                    Some(self.mask(&text, &self.whole).into_owned())
                } else {
                    self.block_values(&text)
                }
            };
            if let Some(new) = replacement {
                tally.masked.add_str(&kv.key);
                set_str(kv, new);
            }
            true
        });
        tally.write(attrs, &ATTRIBUTE_NAMES);
    }

    /// Redacts a log record body and adds its summary to the record's attributes.
    fn body(&self, body: &mut Option<AnyValue>, attrs: &mut Vec<KeyValue>) {
        let mut tally = Tally::new(self.summary);
        match body.as_mut().and_then(|b| b.value.as_mut()) {
            Some(Value::KvlistValue(map)) => self.body_map(&mut map.values, None, &mut tally),
            Some(Value::ArrayValue(list)) => {
                for (i, v) in list.values.iter_mut().enumerate() {
                    let path = tally.path(|| format!("[{i}]"));
                    self.body_value(&path, v, &mut tally);
                }
            }
            _ => {
                let replacement = {
                    let text = as_string(body.as_ref());
                    if self.allowed_values.is_match(&text) {
                        // Upstream returns here, before writing any summary.
                        return;
                    }
                    self.block_values(&text)
                };
                if let Some(new) = replacement {
                    tally.masked.add_str("body");
                    set_value_str(body.get_or_insert_with(AnyValue::default), new);
                }
            }
        }
        tally.write(attrs, &BODY_NAMES);
    }

    /// The entries of a map in a log body; `prefix` is the map's path (`None` at the
    /// top of the body).
    fn body_map(&self, entries: &mut Vec<KeyValue>, prefix: Option<&str>, tally: &mut Tally) {
        entries.retain_mut(|kv| {
            let path = tally.path(|| match prefix {
                None => kv.key.clone(),
                Some(p) => format!("{p}.{}", kv.key),
            });
            if self.is_ignored(&kv.key) {
                tally.ignored += 1;
                return true;
            }
            if self.is_removed(&kv.key) {
                tally.redacted.add(path);
                return false;
            }
            if self.blocked_keys.is_match(&kv.key) {
                let masked = self
                    .mask(str_of(kv.value.as_ref()), &self.whole)
                    .into_owned();
                tally.masked.add(path);
                set_str(kv, masked);
                return true;
            }
            match kv.value.as_mut() {
                Some(v) => self.body_value(&path, v, tally),
                None => {
                    // An absent value is the collector's empty value.
                    let mut v = AnyValue::default();
                    self.body_value(&path, &mut v, tally);
                    if v.value.is_some() {
                        kv.value = Some(v);
                    }
                }
            }
            true
        });
    }

    /// One value in a log body at `path`: a map or array is walked, anything else is
    /// checked through its string form.
    fn body_value(&self, path: &str, v: &mut AnyValue, tally: &mut Tally) {
        match v.value.as_mut() {
            Some(Value::KvlistValue(map)) => self.body_map(&mut map.values, Some(path), tally),
            Some(Value::ArrayValue(list)) => {
                for (i, item) in list.values.iter_mut().enumerate() {
                    let item_path = tally.path(|| format!("{path}.[{i}]"));
                    self.body_value(&item_path, item, tally);
                }
            }
            _ => {
                let replacement = {
                    let text = as_string(Some(v));
                    if self.allowed_values.is_match(&text) {
                        tally.allowed.add_str(path);
                        return;
                    }
                    self.block_values(&text)
                };
                if let Some(new) = replacement {
                    tally.masked.add_str(path);
                    set_value_str(v, new);
                }
            }
        }
    }
}

/// A list of regexes asked only whether any matches; an empty list answers without
/// running a regex engine.
#[derive(Debug, Clone)]
struct Patterns(Option<RegexSet>);

impl Patterns {
    fn new(patterns: &[String]) -> Result<Patterns, regex::Error> {
        if patterns.is_empty() {
            return Ok(Patterns(None));
        }
        RegexSet::new(patterns).map(|set| Patterns(Some(set)))
    }

    fn is_match(&self, text: &str) -> bool {
        self.0.as_ref().is_some_and(|set| set.is_match(text))
    }
}

/// Keys (or paths) of one kind, kept only for `summary: debug`; counted always.
struct Keys {
    keep: bool,
    count: i64,
    names: Vec<String>,
}

impl Keys {
    fn add(&mut self, name: String) {
        self.count += 1;
        if self.keep {
            self.names.push(name);
        }
    }

    fn add_str(&mut self, name: &str) {
        self.count += 1;
        if self.keep {
            self.names.push(name.to_string());
        }
    }
}

/// What one attribute list or log body had redacted, for its summary attributes.
struct Tally {
    summary: Summary,
    redacted: Keys,
    masked: Keys,
    allowed: Keys,
    ignored: i64,
}

impl Tally {
    fn new(summary: Summary) -> Tally {
        let keys = || Keys {
            keep: summary == Summary::Debug,
            count: 0,
            names: Vec::new(),
        };
        Tally {
            summary,
            redacted: keys(),
            masked: keys(),
            allowed: keys(),
            ignored: 0,
        }
    }

    /// A path for the key lists, built only when they are kept.
    fn path(&self, make: impl FnOnce() -> String) -> String {
        if self.summary == Summary::Debug {
            make()
        } else {
            String::new()
        }
    }

    /// Adds the summary attributes, merging into any a previous redaction left: key
    /// lists are joined and sorted again, counts added.
    fn write(self, attrs: &mut Vec<KeyValue>, names: &Names) {
        if self.summary == Summary::Silent {
            return;
        }
        let Tally {
            summary,
            redacted,
            masked,
            allowed,
            ignored,
        } = self;
        let ignored = Keys {
            keep: false,
            count: ignored,
            names: Vec::new(),
        };
        for (keys, keys_attr, count_attr) in [
            (redacted, Some(names.redacted_keys), names.redacted_count),
            (masked, Some(names.masked_keys), names.masked_count),
            (allowed, Some(names.allowed_keys), names.allowed_count),
            (ignored, None, names.ignored_count),
        ] {
            add_summary(attrs, summary, keys, keys_attr, count_attr);
        }
    }
}

/// Upstream's `addMetaAttrs`: nothing when nothing happened; for `debug` the sorted,
/// comma-joined key list (with the keys an earlier redaction listed); for `debug` and
/// `info` the count (plus an earlier count).
fn add_summary(
    attrs: &mut Vec<KeyValue>,
    summary: Summary,
    mut keys: Keys,
    keys_attr: Option<&str>,
    count_attr: &str,
) {
    if keys.count == 0 {
        return;
    }
    if summary == Summary::Debug
        && let Some(keys_attr) = keys_attr
    {
        let existing = attrs.iter().find(|kv| kv.key == keys_attr);
        let earlier = str_of(existing.and_then(|kv| kv.value.as_ref()));
        if !earlier.is_empty() {
            keys.names.extend(earlier.split(',').map(str::to_string));
        }
        keys.names.sort();
        put(attrs, keys_attr, Value::StringValue(keys.names.join(",")));
    }
    let earlier = attrs
        .iter()
        .find(|kv| kv.key == count_attr)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| match v.value {
            Some(Value::IntValue(i)) => Some(i),
            _ => None,
        })
        .unwrap_or(0);
    put(
        attrs,
        count_attr,
        Value::IntValue(keys.count.saturating_add(earlier)),
    );
}

/// Sets the first attribute named `key`, or appends one.
fn put(attrs: &mut Vec<KeyValue>, key: &str, value: Value) {
    let value = Some(AnyValue { value: Some(value) });
    match attrs.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => kv.value = value,
        None => attrs.push(KeyValue {
            key: key.to_string(),
            value,
            ..Default::default()
        }),
    }
}
