//! Attribute actions: the config of one action, its checks, and the compiled list that
//! applies them in order to an attribute list.

use std::borrow::Cow;

use regex::Regex;
use serde::Deserialize;
use stratus_core::Metadata;
use stratus_core::factory::ConfigProblem;
use stratus_core::pdata::common::{AnyValue, KeyValue, any_value::Value as V};

use crate::hash::{hash_value, hashed};
use crate::value::{as_string, find, from_config, get, kind_name};

/// One attribute action, as configured (upstream's `attraction.ActionKeyValue`).
///
/// ```yaml
/// - key: db.statement
///   action: hash
/// - key: region
///   from_attribute: cloud.region
///   default_value: us-east-1
///   action: insert
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActionConfig {
    /// The attribute to act on. Required, except for `delete` and `hash` with a
    /// `pattern`. Default: empty.
    pub key: String,
    /// The value to write (`insert`, `update`, `upsert`); its YAML type (string,
    /// integer, float, boolean, list, map) is the attribute's type. Default: unset.
    pub value: Option<serde_json::Value>,
    /// The value to write when `value`, `from_attribute` or `from_context` yields
    /// none (the attribute or the request header is absent). Only for `insert`,
    /// `update`, `upsert`. Default: unset.
    pub default_value: Option<serde_json::Value>,
    /// Another attribute of the same item whose value is written; if it is absent,
    /// nothing is written (unless `default_value`). Default: empty.
    pub from_attribute: String,
    /// Request context to write: `metadata.<header>` (a request header kept by the
    /// receiver's `include_metadata: true`; several values joined with `;`),
    /// `client.address` (the client's IP address), or a bare header name. `auth.*` is
    /// not supported. Default: empty.
    pub from_context: String,
    /// A regular expression (RE2 syntax, unanchored): for `delete` and `hash`, every
    /// attribute whose key it matches is acted on too; for `extract` (required), the
    /// named capture groups become attributes. Default: empty.
    pub pattern: String,
    /// `insert`, `update`, `upsert`, `delete`, `hash`, `extract` or `convert`, in any
    /// case. Required.
    pub action: String,
    /// For `convert` (required): `int`, `double` or `string`. Default: empty.
    pub converted_type: String,
}

/// Where an `insert`, `update` or `upsert` takes its value from.
#[derive(Debug, Clone)]
enum Source {
    Value(AnyValue),
    Attribute(String),
    Context(ContextKey),
    /// Only `default_value` was given.
    Nothing,
}

#[derive(Debug, Clone)]
enum ContextKey {
    /// A request header, lower-cased.
    Header(String),
    ClientAddress,
}

#[derive(Debug, Clone)]
struct Write {
    key: String,
    source: Source,
    default: Option<AnyValue>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Int,
    Double,
    Str,
}

/// The keys a `delete` or `hash` acts on.
#[derive(Debug, Clone)]
struct Keys {
    key: Option<String>,
    pattern: Option<Regex>,
}

impl Keys {
    #[inline]
    fn matches(&self, key: &str) -> bool {
        self.key.as_deref() == Some(key) || self.pattern.as_ref().is_some_and(|p| p.is_match(key))
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(Write),
    Update(Write),
    Upsert(Write),
    Delete(Keys),
    Hash(Keys),
    Extract {
        key: String,
        regex: Regex,
        /// The name of capture group `i + 1`.
        names: Vec<String>,
    },
    Convert {
        key: String,
        to: Target,
    },
}

/// A compiled, ordered list of attribute actions. Built once from config with
/// [`Actions::compile`]; applying it allocates only where an action changes something.
#[derive(Debug, Clone)]
pub struct Actions {
    ops: Vec<Op>,
}

/// The action names, for messages.
const ACTIONS: &str = "insert, update, upsert, delete, hash, extract or convert";

/// Problems of one action at `path` (`actions[2]`).
struct Checker<'a> {
    path: &'a str,
    action: &'a str,
    problems: Vec<ConfigProblem>,
}

impl Checker<'_> {
    fn problem(&mut self, field: &str, message: impl Into<String>) {
        self.problems.push(ConfigProblem::new(
            format!("{}::{field}", self.path),
            message,
        ));
    }

    /// Reports each field set that this action does not use.
    fn unused(&mut self, c: &ActionConfig, fields: &[&str]) {
        for &field in fields {
            let set = match field {
                "value" => c.value.is_some(),
                "default_value" => c.default_value.is_some(),
                "from_attribute" => !c.from_attribute.is_empty(),
                "from_context" => !c.from_context.is_empty(),
                "pattern" => !c.pattern.is_empty(),
                "converted_type" => !c.converted_type.is_empty(),
                _ => false,
            };
            if set {
                let action = self.action;
                self.problem(
                    field,
                    format!("action `{action}` does not use `{field}`; remove it"),
                );
            }
        }
    }

    fn regex(&mut self, pattern: &str) -> Option<Regex> {
        match Regex::new(pattern) {
            Ok(re) => Some(re),
            Err(e) => {
                self.problem(
                    "pattern",
                    format!("invalid regular expression `{pattern}`: {e}"),
                );
                None
            }
        }
    }
}

impl Actions {
    /// Checks and compiles `configs`, the list at key path `path` (`actions`, or the
    /// resource processor's `attributes`). Every problem is reported, each at its
    /// action's field: `actions[2]::value` for an `insert` with no value.
    pub fn compile(path: &str, configs: &[ActionConfig]) -> Result<Actions, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut ops = Vec::with_capacity(configs.len());
        for (i, c) in configs.iter().enumerate() {
            let at = format!("{path}[{i}]");
            let action = c.action.to_ascii_lowercase();
            let mut check = Checker {
                path: &at,
                action: &action,
                problems: Vec::new(),
            };
            let op = compile_one(c, &mut check);
            problems.append(&mut check.problems);
            if let Some(op) = op {
                ops.push(op);
            }
        }
        if problems.is_empty() {
            Ok(Actions { ops })
        } else {
            Err(problems)
        }
    }

    /// The number of actions.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether there are no actions.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Applies every action, in order, to `attrs`. `metadata` is the request's, for
    /// `from_context`.
    pub fn apply(&self, attrs: &mut Vec<KeyValue>, metadata: &Metadata) {
        self.run(
            Edit {
                attrs,
                record: None,
            },
            metadata,
        );
    }

    /// As [`Actions::apply`], and hands `record` each change as it is made, so a
    /// caller can undo them: [`Change::revert`] the changes in the reverse order they
    /// were recorded and the list is as it was, element for element. Nothing is
    /// recorded when nothing changes. A change holds what it replaced or removed
    /// (moved, not copied), so recording costs little more than the edit itself.
    pub fn apply_recording(
        &self,
        attrs: &mut Vec<KeyValue>,
        metadata: &Metadata,
        record: &mut dyn FnMut(Change),
    ) {
        self.run(
            Edit {
                attrs,
                record: Some(record),
            },
            metadata,
        );
    }

    fn run(&self, mut edit: Edit<'_, '_>, metadata: &Metadata) {
        for op in &self.ops {
            match op {
                Op::Insert(w) => {
                    if find(edit.attrs, &w.key).is_some() {
                        continue;
                    }
                    if let Some(v) = w.resolve(edit.attrs, metadata) {
                        edit.push(w.key.clone(), v);
                    }
                }
                Op::Update(w) => {
                    let Some(i) = find(edit.attrs, &w.key) else {
                        continue;
                    };
                    if let Some(v) = w.resolve(edit.attrs, metadata) {
                        edit.set(i, v);
                    }
                }
                Op::Upsert(w) => {
                    if let Some(v) = w.resolve(edit.attrs, metadata) {
                        upsert(&mut edit, &w.key, v);
                    }
                }
                Op::Delete(keys) => {
                    if let Some(first) = edit.attrs.iter().position(|kv| keys.matches(&kv.key)) {
                        edit.remove_from(first, |kv| keys.matches(&kv.key));
                    }
                }
                Op::Hash(keys) => {
                    for i in 0..edit.attrs.len() {
                        if keys.matches(&edit.attrs[i].key) {
                            edit.hash(i);
                        }
                    }
                }
                Op::Extract { key, regex, names } => extract(&mut edit, key, regex, names),
                Op::Convert { key, to } => convert(&mut edit, key, *to),
            }
        }
    }
}

/// One change [`Actions::apply_recording`] made to an attribute list, holding what it
/// replaced or removed.
#[derive(Debug, Clone, PartialEq)]
pub struct Change(ChangeKind);

#[derive(Debug, Clone, PartialEq)]
enum ChangeKind {
    /// An attribute was appended.
    Pushed,
    /// The value at this index was replaced; this was the old one.
    Replaced(usize, Option<AnyValue>),
    /// This attribute was removed from this index.
    Removed(usize, KeyValue),
}

impl Change {
    /// Undoes this change on the list it was made to, which must be as the changes
    /// recorded after this one left it (revert them last to first).
    pub fn revert(self, attrs: &mut Vec<KeyValue>) {
        match self.0 {
            ChangeKind::Pushed => {
                attrs.pop();
            }
            ChangeKind::Replaced(i, old) => {
                if let Some(kv) = attrs.get_mut(i) {
                    kv.value = old;
                }
            }
            ChangeKind::Removed(i, kv) => {
                if i <= attrs.len() {
                    attrs.insert(i, kv);
                }
            }
        }
    }
}

/// Where [`Actions::apply_recording`] hands its changes.
type Record<'r> = &'r mut dyn FnMut(Change);

/// The attribute list being changed; every change goes through here, so it can be
/// recorded.
struct Edit<'a, 'r> {
    attrs: &'a mut Vec<KeyValue>,
    record: Option<Record<'r>>,
}

impl Edit<'_, '_> {
    fn note(&mut self, change: ChangeKind) {
        if let Some(record) = self.record.as_mut() {
            record(Change(change));
        }
    }

    fn push(&mut self, key: String, value: AnyValue) {
        self.attrs.push(KeyValue {
            key,
            value: Some(value),
            ..Default::default()
        });
        self.note(ChangeKind::Pushed);
    }

    fn set(&mut self, i: usize, value: AnyValue) {
        let old = self.attrs[i].value.replace(value);
        if self.record.is_some() {
            self.note(ChangeKind::Replaced(i, old));
        }
    }

    /// Removes the attribute at `first` (known to match) and every later one that
    /// matches; earlier ones are not looked at again.
    fn remove_from(&mut self, first: usize, matches: impl Fn(&KeyValue) -> bool) {
        if self.record.is_none() {
            let mut i = 0;
            self.attrs.retain(|kv| {
                let keep = i < first || (i > first && !matches(kv));
                i += 1;
                keep
            });
            return;
        }
        // Last to first, so each recorded index is where the attribute goes back.
        for i in (first..self.attrs.len()).rev() {
            if i == first || matches(&self.attrs[i]) {
                let kv = self.attrs.remove(i);
                self.note(ChangeKind::Removed(i, kv));
            }
        }
    }

    fn hash(&mut self, i: usize) {
        if self.record.is_none() {
            // In place: a string value keeps its buffer.
            hash_value(&mut self.attrs[i].value);
            return;
        }
        let hashed = hashed(self.attrs[i].value.as_ref());
        let old = self.attrs[i].value.replace(hashed);
        self.note(ChangeKind::Replaced(i, old));
    }
}

fn upsert(edit: &mut Edit<'_, '_>, key: &str, v: AnyValue) {
    match find(edit.attrs, key) {
        Some(i) => edit.set(i, v),
        None => edit.push(key.to_string(), v),
    }
}

impl Write {
    /// The value to write, or `None` when its source has none and there is no default.
    fn resolve(&self, attrs: &[KeyValue], metadata: &Metadata) -> Option<AnyValue> {
        let found = match &self.source {
            Source::Value(v) => Some(v.clone()),
            Source::Attribute(from) => get(attrs, from).map(|v| v.cloned().unwrap_or_default()),
            Source::Context(key) => from_context(key, metadata),
            Source::Nothing => None,
        };
        found.or_else(|| self.default.clone())
    }
}

fn from_context(key: &ContextKey, metadata: &Metadata) -> Option<AnyValue> {
    let text = match key {
        ContextKey::ClientAddress => metadata.client_addr()?.ip().to_string(),
        ContextKey::Header(name) => {
            // Keys are stored lower-cased; compare without allocating a lower-cased copy.
            let (_, values) = metadata.headers().find(|(k, _)| k == name)?;
            if values.is_empty() {
                return None;
            }
            values.join(";")
        }
    };
    Some(AnyValue {
        value: Some(V::StringValue(text)),
    })
}

fn extract(edit: &mut Edit<'_, '_>, key: &str, regex: &Regex, names: &[String]) {
    let Some(Some(AnyValue {
        value: Some(V::StringValue(text)),
    })) = get(edit.attrs, key)
    else {
        return;
    };
    // `is_match` allocates nothing; `captures` would, even on no match.
    if !regex.is_match(text) {
        return;
    }
    let Some(caps) = regex.captures(text) else {
        return;
    };
    // A group that did not take part in the match is written as "", as upstream does.
    let values: Vec<String> = (1..=names.len())
        .map(|i| caps.get(i).map_or("", |m| m.as_str()).to_string())
        .collect();
    for (name, value) in names.iter().zip(values) {
        upsert(
            edit,
            name,
            AnyValue {
                value: Some(V::StringValue(value)),
            },
        );
    }
}

fn convert(edit: &mut Edit<'_, '_>, key: &str, to: Target) {
    let Some(i) = find(edit.attrs, key) else {
        return;
    };
    let current = edit.attrs[i].value.as_ref();
    let inner = current.and_then(|v| v.value.as_ref());
    let new = match (to, inner) {
        (Target::Str, Some(V::StringValue(_))) => None,
        (Target::Str, _) => Some(V::StringValue(as_string(current).into_owned())),
        (Target::Int, Some(V::DoubleValue(d))) => Some(V::IntValue(*d as i64)),
        (Target::Int, Some(V::BoolValue(b))) => Some(V::IntValue(i64::from(*b))),
        (Target::Int, Some(V::StringValue(s))) => match s.parse::<i64>() {
            Ok(n) => Some(V::IntValue(n)),
            Err(_) => {
                tracing::debug!(key, "string attribute could not be converted to int");
                None
            }
        },
        (Target::Double, Some(V::IntValue(n))) => Some(V::DoubleValue(*n as f64)),
        (Target::Double, Some(V::BoolValue(b))) => Some(V::DoubleValue(f64::from(u8::from(*b)))),
        (Target::Double, Some(V::StringValue(s))) => match parse_double(s) {
            Some(d) => Some(V::DoubleValue(d)),
            None => {
                tracing::debug!(key, "string attribute could not be converted to double");
                None
            }
        },
        (Target::Int, Some(V::IntValue(_))) | (Target::Double, Some(V::DoubleValue(_))) => None,
        (Target::Int | Target::Double, other) => {
            if other.is_some() {
                tracing::debug!(
                    key,
                    from = kind_name(current),
                    "attribute of this kind cannot be converted"
                );
            }
            None
        }
    };
    if let Some(new) = new {
        edit.set(i, AnyValue { value: Some(new) });
    }
}

/// A string as a double, as Go's `strconv.ParseFloat(s, 64)` accepts it: a decimal
/// number with optional sign and exponent, or `inf`/`infinity`/`nan` in any case. A
/// number too large for a double is not converted (Go reports a range error).
/// Hexadecimal floats (`0x1p-2`), which Go also reads, are not converted.
fn parse_double(s: &str) -> Option<f64> {
    let d: f64 = s.parse().ok()?;
    if d.is_infinite() {
        let unsigned = s.trim_start_matches(['+', '-']);
        if !unsigned.starts_with(['i', 'I']) {
            return None;
        }
    }
    Some(d)
}

fn compile_one(c: &ActionConfig, check: &mut Checker<'_>) -> Option<Op> {
    let action = check.action.to_string();
    let sources = [
        ("value", c.value.is_some()),
        ("from_attribute", !c.from_attribute.is_empty()),
        ("from_context", !c.from_context.is_empty()),
    ];
    match action.as_str() {
        "insert" | "update" | "upsert" => {
            if c.key.is_empty() {
                check.problem("key", format!("required for action `{action}`"));
            }
            let set: Vec<&str> = sources.iter().filter(|s| s.1).map(|s| s.0).collect();
            if set.is_empty() && c.default_value.is_none() {
                check.problem(
                    "value",
                    format!(
                        "action `{action}` needs one of `value`, `from_attribute`, \
                         `from_context` or `default_value`"
                    ),
                );
            }
            for extra in set.iter().skip(1) {
                check.problem(
                    extra,
                    format!(
                        "only one of `value`, `from_attribute` and `from_context` may be \
                         set; `{}` is set too",
                        set[0]
                    ),
                );
            }
            check.unused(c, &["pattern", "converted_type"]);
            let source = if let Some(v) = &c.value {
                Source::Value(from_config(v))
            } else if !c.from_attribute.is_empty() {
                Source::Attribute(c.from_attribute.clone())
            } else if !c.from_context.is_empty() {
                Source::Context(context_key(&c.from_context, check)?)
            } else {
                Source::Nothing
            };
            let w = Write {
                key: c.key.clone(),
                source,
                default: c.default_value.as_ref().map(from_config),
            };
            Some(match action.as_str() {
                "insert" => Op::Insert(w),
                "update" => Op::Update(w),
                _ => Op::Upsert(w),
            })
        }
        "delete" | "hash" => {
            if c.key.is_empty() && c.pattern.is_empty() {
                check.problem(
                    "key",
                    format!("action `{action}` needs `key`, `pattern` or both"),
                );
            }
            check.unused(
                c,
                &[
                    "value",
                    "default_value",
                    "from_attribute",
                    "from_context",
                    "converted_type",
                ],
            );
            let pattern = if c.pattern.is_empty() {
                None
            } else {
                Some(check.regex(&c.pattern)?)
            };
            let keys = Keys {
                key: (!c.key.is_empty()).then(|| c.key.clone()),
                pattern,
            };
            Some(if action == "delete" {
                Op::Delete(keys)
            } else {
                Op::Hash(keys)
            })
        }
        "extract" => {
            if c.key.is_empty() {
                check.problem("key", "required for action `extract`");
            }
            check.unused(
                c,
                &[
                    "value",
                    "default_value",
                    "from_attribute",
                    "from_context",
                    "converted_type",
                ],
            );
            if c.pattern.is_empty() {
                check.problem(
                    "pattern",
                    "required for action `extract`: a regular expression with named capture \
                     groups, e.g. `^/api/(?P<version>v\\d+)/`",
                );
                return None;
            }
            let regex = check.regex(&c.pattern)?;
            let mut names = Vec::new();
            for name in regex.capture_names().skip(1) {
                match name {
                    Some(n) => names.push(n.to_string()),
                    None => {
                        check.problem(
                            "pattern",
                            "contains an unnamed capture group: name every group \
                             (`(?P<name>...)`) or make it non-capturing (`(?:...)`)",
                        );
                        return None;
                    }
                }
            }
            if names.is_empty() {
                check.problem(
                    "pattern",
                    "contains no named capture groups: each named group \
                     (`(?P<name>...)`) becomes an attribute",
                );
                return None;
            }
            Some(Op::Extract {
                key: c.key.clone(),
                regex,
                names,
            })
        }
        "convert" => {
            if c.key.is_empty() {
                check.problem("key", "required for action `convert`");
            }
            check.unused(
                c,
                &[
                    "value",
                    "default_value",
                    "from_attribute",
                    "from_context",
                    "pattern",
                ],
            );
            let to = match c.converted_type.as_str() {
                "int" => Target::Int,
                "double" => Target::Double,
                "string" => Target::Str,
                "" => {
                    check.problem(
                        "converted_type",
                        "required for action `convert`: int, double or string",
                    );
                    return None;
                }
                other => {
                    check.problem(
                        "converted_type",
                        format!("invalid value `{other}`: expected int, double or string"),
                    );
                    return None;
                }
            };
            Some(Op::Convert {
                key: c.key.clone(),
                to,
            })
        }
        "" => {
            check.problem("action", format!("required: one of {ACTIONS}"));
            None
        }
        other => {
            check.problem(
                "action",
                format!("unsupported action `{other}`: expected one of {ACTIONS}"),
            );
            None
        }
    }
}

fn context_key(from: &str, check: &mut Checker<'_>) -> Option<ContextKey> {
    if from == "client.address" {
        return Some(ContextKey::ClientAddress);
    }
    if from.starts_with("auth.") {
        check.problem(
            "from_context",
            format!(
                "`{from}`: `auth.*` context values are not supported (stratus's receivers do \
                 not run server authenticators that set them); use `metadata.<header>` with \
                 `include_metadata: true` on the receiver"
            ),
        );
        return None;
    }
    let header: Cow<'_, str> = match from.strip_prefix("metadata.") {
        Some("") => {
            check.problem(
                "from_context",
                "`metadata.` needs a header name, e.g. `metadata.x-tenant-id`",
            );
            return None;
        }
        Some(h) => Cow::Borrowed(h),
        // A bare name is a request header, as upstream falls back to metadata.
        None => Cow::Borrowed(from),
    };
    Some(ContextKey::Header(header.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests;
