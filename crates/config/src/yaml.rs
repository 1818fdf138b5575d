//! Parsing one YAML source into a value tree and a key index.
//!
//! Two passes over the same text:
//! 1. `saphyr-parser`'s event stream, whose events carry positions, gives the line and
//!    column of every mapping key and list item, finds duplicate keys, and remembers
//!    which scalars were quoted. Syntax errors surface here, with their position.
//! 2. `serde_yaml_ng` builds the value (anchors, aliases and `<<` merge keys
//!    resolved), which is converted to a [`serde_json::Value`] with every key a string.

use std::collections::{BTreeMap, HashMap};

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

use crate::error::{ConfigError, Location};

/// What the index knows about one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    /// Where the node's key (for a mapping value) or the item (for a list item) starts.
    pub location: Location,
    /// Whether the node is a quoted or block scalar: text the user marked as a string.
    pub quoted: bool,
}

/// Key path (list items numbered from 0) to what is known about the node there.
pub(crate) type Index = BTreeMap<Vec<String>, Node>;

/// One parsed source.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub value: Value,
    pub index: Index,
}

/// Parses one source. `source` names it in locations.
pub(crate) fn parse(source: &str, text: &str) -> Result<Parsed, ConfigError> {
    let index = build_index(source, text)?;
    let value = parse_value(source, text)?;
    let value = match value {
        Value::Null => Value::Object(Map::new()),
        v @ Value::Object(_) => v,
        other => {
            return Err(ConfigError::new(
                "",
                Some(Location {
                    source: source.to_string(),
                    line: 1,
                    column: 1,
                }),
                format!(
                    "the config must be a mapping of sections (receivers, exporters, service, ...), found {}",
                    type_name(&other)
                ),
            ));
        }
    };
    Ok(Parsed { value, index })
}

/// A YAML text parsed with `serde_yaml_ng`, merge keys applied, as JSON.
fn parse_value(source: &str, text: &str) -> Result<Value, ConfigError> {
    let mut yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| {
        let location = e.location().map(|l| Location {
            source: source.to_string(),
            line: l.line(),
            column: l.column(),
        });
        ConfigError::new("", location, strip_position(&e.to_string()))
    })?;
    yaml.apply_merge().map_err(|e| {
        ConfigError::new(
            "",
            None,
            format!(
                "{source}: invalid `<<` merge key: {}",
                strip_position(&e.to_string())
            ),
        )
    })?;
    to_json(yaml, &mut Vec::new()).map_err(|(path, message)| {
        ConfigError::new(path.join("::"), None, format!("{source}: {message}"))
    })
}

/// `serde_yaml_ng` appends " at line L column C" to messages that have a position;
/// the position is reported separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Parses a YAML value written on a command line (`--set key=value`): any YAML, an
/// empty text being null.
pub(crate) fn parse_any(text: &str) -> Result<Value, String> {
    let mut yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    yaml.apply_merge().map_err(|e| e.to_string())?;
    to_json(yaml, &mut Vec::new()).map_err(|(_, message)| message)
}

/// Parses the text of a `yaml:` reference or source. The error gives the position
/// only: the text may hold a secret, and parser messages can quote it.
pub(crate) fn parse_inline(text: &str) -> Result<Value, String> {
    let mut yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| match e.location() {
            Some(l) => format!("not valid YAML (line {}, column {})", l.line(), l.column()),
            None => "not valid YAML".to_string(),
        })?;
    yaml.apply_merge()
        .map_err(|_| "not valid YAML (a `<<` merge key needs a mapping)".to_string())?;
    to_json(yaml, &mut Vec::new()).map_err(|(path, message)| {
        if path.is_empty() {
            message
        } else {
            format!("{}: {message}", path.join("::"))
        }
    })
}

/// Nests mapping keys that hold `::` (`a::b: 1` becomes `a: {b: 1}`), at every
/// depth, as the collector's config maps do: its `yaml` provider's
/// `processors::batch::timeout: 2s` sets `timeout` inside `processors: {batch: ...}`.
/// Mappings that meet merge key by key; a value that meets another one is an error.
pub(crate) fn unflatten(value: Value) -> Result<Value, String> {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, v) in map {
                let v = unflatten(v)?;
                let segments: Vec<&str> = key.split("::").collect();
                let nested = segments.iter().skip(1).rev().fold(v, |acc, segment| {
                    let mut m = Map::new();
                    m.insert((*segment).to_string(), acc);
                    Value::Object(m)
                });
                insert_merged(&mut out, segments[0], nested, &key)?;
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .into_iter()
            .map(unflatten)
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other),
    }
}

fn insert_merged(
    out: &mut Map<String, Value>,
    key: &str,
    value: Value,
    written: &str,
) -> Result<(), String> {
    match (out.get_mut(key), value) {
        (None, value) => {
            out.insert(key.to_string(), value);
            Ok(())
        }
        (Some(Value::Object(existing)), Value::Object(more)) => {
            for (k, v) in more {
                insert_merged(existing, &k, v, written)?;
            }
            Ok(())
        }
        (Some(_), _) => Err(format!(
            "`{written}` sets a key that another key of the same mapping sets too"
        )),
    }
}

/// Types a substituted environment value the way YAML would type it, but only where
/// that cannot mangle a string: the result is a null, bool or number when the whole
/// text is one such literal, a list or mapping when the text is a flow collection
/// (`[a, b]`, `{k: v}`), and otherwise the text itself, unchanged (so quotes, `#`
/// and `: ` inside a secret survive).
pub(crate) fn type_scalar(text: &str) -> Value {
    let trimmed = text.trim();
    let flow = trimmed.starts_with('[') || trimmed.starts_with('{');
    match parse_any(text) {
        Ok(v @ (Value::Bool(_) | Value::Number(_))) => v,
        Ok(Value::Null) if matches!(trimmed, "null" | "Null" | "NULL" | "~") => Value::Null,
        Ok(v @ (Value::Array(_) | Value::Object(_))) if flow => v,
        _ => Value::String(text.to_string()),
    }
}

type ConvertError = (Vec<String>, String);

fn to_json(yaml: serde_yaml_ng::Value, path: &mut Vec<String>) -> Result<Value, ConvertError> {
    use serde_yaml_ng::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Number(i.into())
            } else if let Some(u) = n.as_u64() {
                Value::Number(u.into())
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                match Number::from_f64(f) {
                    Some(n) => Value::Number(n),
                    None => {
                        return Err((
                            path.clone(),
                            format!("`{n}` (infinity or not-a-number) cannot be used in a config"),
                        ));
                    }
                }
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                path.push(i.to_string());
                out.push(to_json(item, path)?);
                path.pop();
            }
            Value::Array(out)
        }
        Y::Mapping(mapping) => {
            let mut out = Map::new();
            for (k, v) in mapping {
                let key = key_string(&k).ok_or_else(|| {
                    (
                        path.clone(),
                        "only scalar mapping keys are supported (not lists or mappings)"
                            .to_string(),
                    )
                })?;
                path.push(key.clone());
                let value = to_json(v, path)?;
                path.pop();
                out.insert(key, value);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            return Err((
                path.clone(),
                format!("YAML tags (`{}`) are not supported", tagged.tag),
            ));
        }
    })
}

/// A mapping key as a string: strings as they are, numbers, bools and null as written
/// in canonical form.
fn key_string(key: &serde_yaml_ng::Value) -> Option<String> {
    use serde_yaml_ng::Value as Y;
    match key {
        Y::String(s) => Some(s.clone()),
        Y::Number(n) => Some(n.to_string()),
        Y::Bool(b) => Some(b.to_string()),
        Y::Null => Some("null".to_string()),
        Y::Sequence(_) | Y::Mapping(_) | Y::Tagged(_) => None,
    }
}

/// The key a plain scalar becomes, the same way [`key_string`] turns the parsed
/// value into one (`1` and `true` keep their text, `~` becomes `null`).
fn plain_key(text: &str) -> String {
    match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text) {
        Ok(v) => key_string(&v).unwrap_or_else(|| text.to_string()),
        Err(_) => text.to_string(),
    }
}

/// A short name for a value's type, for messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// How deep mappings and lists may nest (the same bound `serde_yaml_ng` applies).
const MAX_DEPTH: usize = 128;

enum Frame {
    Map {
        path: Vec<String>,
        /// Keys seen so far, with the line each was first written on.
        keys: HashMap<String, usize>,
        /// The key whose value comes next; `None` when a key comes next.
        key: Option<String>,
    },
    Seq {
        path: Vec<String>,
        next: usize,
    },
}

enum Slot {
    Root,
    Key,
    Value(Vec<String>),
}

fn location(source: &str, span: &Span) -> Location {
    Location {
        source: source.to_string(),
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

/// Walks the event stream and records where every key and list item is.
fn build_index(source: &str, text: &str) -> Result<Index, ConfigError> {
    let mut index = Index::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut documents = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            ConfigError::new(
                "",
                Some(Location {
                    source: source.to_string(),
                    line: e.marker().line(),
                    column: e.marker().col() + 1,
                }),
                format!("invalid YAML: {}", e.info()),
            )
        })?;
        let is_node = matches!(
            event,
            Event::Scalar(..)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
                | Event::Alias(_)
        );
        if !is_node {
            match event {
                Event::DocumentStart(_) => {
                    documents += 1;
                    if documents > 1 {
                        return Err(ConfigError::new(
                            "",
                            Some(location(source, &span)),
                            "a config source holds one YAML document; found a second one \
                             (use one file per document, several --config flags are merged)",
                        ));
                    }
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                _ => {}
            }
            continue;
        }
        if stack.len() >= MAX_DEPTH {
            return Err(ConfigError::new(
                "",
                Some(location(source, &span)),
                format!("mappings and lists nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        let slot = match stack.last_mut() {
            None => Slot::Root,
            Some(Frame::Map { key: None, .. }) => Slot::Key,
            Some(Frame::Map { path, key, .. }) => {
                let mut p = path.clone();
                p.extend(key.take());
                Slot::Value(p)
            }
            Some(Frame::Seq { path, next }) => {
                let mut p = path.clone();
                p.push(next.to_string());
                *next += 1;
                index.insert(
                    p.clone(),
                    Node {
                        location: location(source, &span),
                        quoted: false,
                    },
                );
                Slot::Value(p)
            }
        };
        match slot {
            Slot::Key => {
                let Event::Scalar(text, style, _, _) = &event else {
                    return Err(ConfigError::new(
                        "",
                        Some(location(source, &span)),
                        "only scalar mapping keys are supported (not lists, mappings or aliases)",
                    ));
                };
                let key = match style {
                    ScalarStyle::Plain => plain_key(text),
                    _ => text.to_string(),
                };
                if let Some(Frame::Map { path, keys, key: k }) = stack.last_mut() {
                    let mut p = path.clone();
                    p.push(key.clone());
                    if key != "<<" {
                        if let Some(first_line) = keys.get(&key) {
                            return Err(ConfigError::new(
                                p.join("::"),
                                Some(location(source, &span)),
                                format!(
                                    "duplicate key `{key}` (first written on line {first_line})"
                                ),
                            ));
                        }
                        keys.insert(key.clone(), span.start.line());
                    }
                    index.insert(
                        p,
                        Node {
                            location: location(source, &span),
                            quoted: false,
                        },
                    );
                    *k = Some(key);
                }
            }
            Slot::Root | Slot::Value(_) => {
                let path = match slot {
                    Slot::Value(p) => p,
                    _ => Vec::new(),
                };
                match event {
                    Event::Scalar(_, style, _, _) if style != ScalarStyle::Plain => {
                        if let Some(node) = index.get_mut(&path) {
                            node.quoted = true;
                        }
                    }
                    Event::MappingStart(..) => stack.push(Frame::Map {
                        path,
                        keys: HashMap::new(),
                        key: None,
                    }),
                    Event::SequenceStart(..) => stack.push(Frame::Seq { path, next: 0 }),
                    _ => {}
                }
            }
        }
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn loc(line: usize, column: usize) -> Location {
        Location {
            source: "t".into(),
            line,
            column,
        }
    }

    #[test]
    fn index_records_keys_and_items() {
        let text = "a:\n  b: 1\n  c:\n    - x\n    - \"y\"\nd: 'q'\n";
        let p = parse("t", text).unwrap();
        assert_eq!(p.value, json!({"a": {"b": 1, "c": ["x", "y"]}, "d": "q"}));
        let at = |path: &[&str]| {
            let k: Vec<String> = path.iter().map(|s| s.to_string()).collect();
            p.index.get(&k).cloned()
        };
        assert_eq!(at(&["a"]).unwrap().location, loc(1, 1));
        assert_eq!(at(&["a", "b"]).unwrap().location, loc(2, 3));
        assert_eq!(at(&["a", "c", "0"]).unwrap().location, loc(4, 7));
        assert!(!at(&["a", "c", "0"]).unwrap().quoted);
        assert!(at(&["a", "c", "1"]).unwrap().quoted);
        assert!(at(&["d"]).unwrap().quoted);
        assert!(!at(&["a", "b"]).unwrap().quoted);
    }

    #[test]
    fn flow_style_is_indexed() {
        let p = parse("t", "x: {y: [1, {z: 2}]}\n").unwrap();
        let k = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(p.index[&k(&["x", "y"])].location, loc(1, 5));
        assert_eq!(p.index[&k(&["x", "y", "1", "z"])].location, loc(1, 13));
    }

    #[test]
    fn non_string_keys_become_strings() {
        let p = parse("t", "1: a\ntrue: b\n~: c\n2.5: d\n").unwrap();
        assert_eq!(
            p.value,
            json!({"1": "a", "true": "b", "null": "c", "2.5": "d"})
        );
        assert!(p.index.contains_key(&vec!["1".to_string()]));
        assert!(p.index.contains_key(&vec!["null".to_string()]));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let text = "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: *b\n";
        let p = parse("t", text).unwrap();
        assert_eq!(
            p.value,
            json!({"base": {"x": 1, "y": 2}, "other": {"x": 1, "y": 3}, "list": {"x": 1, "y": 2}})
        );
    }

    #[test]
    fn empty_and_non_mapping_documents() {
        assert_eq!(parse("t", "").unwrap().value, json!({}));
        assert_eq!(parse("t", "# only a comment\n").unwrap().value, json!({}));
        let e = parse("t", "- a\n- b\n").unwrap_err();
        assert!(e.message.contains("found a list"), "{e}");
    }

    #[test]
    fn rejects_second_document_and_complex_keys_and_tags() {
        let e = parse("t", "a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(e.location, Some(loc(2, 1)));
        assert!(e.message.contains("second"), "{e}");
        let e = parse("t", "? [a, b]\n: c\n").unwrap_err();
        assert!(e.message.contains("scalar mapping keys"), "{e}");
        let e = parse("t", "a: !custom x\n").unwrap_err();
        assert!(e.message.contains("tags"), "{e}");
        assert_eq!(e.path, "a");
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let e = parse("t", "a:\n  b: 1\n  c: 2\n  b: 3\n").unwrap_err();
        assert_eq!(e.path, "a::b");
        assert_eq!(e.location, Some(loc(4, 3)));
        assert_eq!(e.message, "duplicate key `b` (first written on line 2)");
        // Same key in different mappings is fine.
        assert!(parse("t", "a: {b: 1}\nc: {b: 1}\n").is_ok());
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse("t", "a:\n  b: 1\n c: [\n").unwrap_err();
        let l = e.location.clone().unwrap();
        assert_eq!(l.source, "t");
        assert!(l.line >= 3, "{e}");
        assert!(e.message.starts_with("invalid YAML: "), "{e}");
    }

    #[test]
    fn hostile_documents_are_refused() {
        let deep: String = (0..200).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        let e = parse("t", &deep).unwrap_err();
        assert!(e.message.contains("deeper than 128"), "{e}");
        let flow = format!("a: {}{}\n", "[".repeat(500), "]".repeat(500));
        let e = parse("t", &flow).unwrap_err();
        assert!(e.message.contains("recursion limit"), "{e}");
        let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            laughs.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse("t", &laughs).unwrap_err();
        assert!(e.message.contains("repetition limit"), "{e}");
    }

    #[test]
    fn typing_substituted_text() {
        assert_eq!(type_scalar("4317"), json!(4317));
        assert_eq!(type_scalar("true"), json!(true));
        assert_eq!(type_scalar("1.5"), json!(1.5));
        assert_eq!(type_scalar("~"), Value::Null);
        assert_eq!(type_scalar(""), json!(""));
        assert_eq!(type_scalar("[a, b]"), json!(["a", "b"]));
        assert_eq!(type_scalar("a: b"), json!("a: b"));
        assert_eq!(type_scalar("'quoted'"), json!("'quoted'"));
        assert_eq!(type_scalar("abc #x"), json!("abc #x"));
        assert_eq!(type_scalar("#x"), json!("#x"));
        assert_eq!(type_scalar("[unclosed"), json!("[unclosed"));
    }
}
