//! Loading: reading sources, deep-merging them, `--set` overrides, env expansion.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::error::{ConfigError, ConfigErrors, Location};
use crate::expand::expand;
use crate::yaml::{self, Index, Node};

/// Where config text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A YAML file; its path names it in messages.
    File(PathBuf),
    /// YAML text held in memory (an embedded default config, a test); `name` names
    /// it in messages.
    Inline {
        /// What messages call this source.
        name: String,
        /// The YAML text.
        text: String,
    },
    /// YAML given on the command line, as the collector's `yaml` provider takes it
    /// (`--config "yaml:processors::batch::timeout: 2s"`): mapping keys holding `::`
    /// are nested (`processors: {batch: {timeout: 2s}}`), at every depth.
    Yaml {
        /// What messages call this source; never the text itself, which may hold a
        /// secret.
        name: String,
        /// The YAML text, without the `yaml:` prefix.
        text: String,
    },
    /// A whole config held in an environment variable, as the collector's `env`
    /// provider reads it (`--config env:STRATUS_CONFIG_YAML`): how an ECS task
    /// definition or an SSM parameter injected as a secret delivers a config
    /// without baking it into the image. Messages name the variable, never its text.
    Env(String),
}

impl Source {
    /// What messages call this source.
    pub fn name(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Inline { name, .. } | Source::Yaml { name, .. } => name.clone(),
            Source::Env(var) => format!("env:{var}"),
        }
    }

    /// The source a `--config` argument names, as the collector reads them:
    /// `yaml:TEXT` (its `yaml` provider), `env:VAR` (its `env` provider), `file:PATH`,
    /// or a plain path. `ordinal`
    /// counts `--config` flags from 1; it names a `yaml:` source in messages
    /// (`--config 2 (yaml:)`), because the text may hold a secret.
    ///
    /// ```
    /// use stratus_config::Source;
    ///
    /// assert_eq!(
    ///     Source::from_arg("yaml:processors::batch::timeout: 2s", 2),
    ///     Source::Yaml {
    ///         name: "--config 2 (yaml:)".into(),
    ///         text: "processors::batch::timeout: 2s".into(),
    ///     }
    /// );
    /// assert_eq!(Source::from_arg("env:CONFIG", 1), Source::Env("CONFIG".into()));
    /// assert_eq!(Source::from_arg("file:a.yaml", 1), Source::File("a.yaml".into()));
    /// assert_eq!(Source::from_arg("a.yaml", 1), Source::File("a.yaml".into()));
    /// ```
    pub fn from_arg(arg: &str, ordinal: usize) -> Source {
        if let Some(text) = arg.strip_prefix("yaml:") {
            return Source::Yaml {
                name: format!("--config {ordinal} (yaml:)"),
                text: text.to_string(),
            };
        }
        if let Some(var) = arg.strip_prefix("env:") {
            return Source::Env(var.to_string());
        }
        Source::File(PathBuf::from(arg.strip_prefix("file:").unwrap_or(arg)))
    }
}

/// The merged config: one value tree, plus where each key was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    value: Value,
    index: Index,
    warnings: Vec<ConfigError>,
}

impl Document {
    /// The merged, expanded value tree. The root is always a mapping.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Where the key at `path` (list items numbered from 0) was written, if it was
    /// written in a source (keys that come from a YAML alias or merge key are not).
    pub fn location(&self, path: &[&str]) -> Option<Location> {
        let key: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        self.index.get(&key).map(|n| n.location.clone())
    }

    /// Where the key at `path` or, failing that, its closest enclosing key was written.
    pub fn nearest_location(&self, path: &[&str]) -> Option<Location> {
        let key: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        self.locate(&key)
    }

    /// Warnings found while loading: environment variables referenced without a
    /// default that are unset.
    pub fn warnings(&self) -> &[ConfigError] {
        &self.warnings
    }

    pub(crate) fn locate(&self, path: &[String]) -> Option<Location> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.index.get(&path[..n]))
            .map(|n| n.location.clone())
    }
}

/// Loads `sources` in order and deep-merges them (mappings merge key by key, the
/// later source winning; lists and scalars are replaced whole), applies `sets`
/// (`key::sub::key=value`), then expands environment references, looking variables up
/// with `env`.
///
/// Every problem found is returned together: unreadable files, YAML syntax errors,
/// duplicate keys, malformed `--set` flags and bad environment references.
pub fn load(
    sources: &[Source],
    sets: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Document, ConfigErrors> {
    let mut errors = Vec::new();
    let mut value = Value::Object(Map::new());
    let mut index = Index::new();
    for source in sources {
        let name = source.name();
        let text = match source {
            Source::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) => {
                    errors.push(ConfigError::new(
                        "",
                        None,
                        format!("cannot read config file `{name}`: {e}"),
                    ));
                    continue;
                }
            },
            Source::Inline { text, .. } | Source::Yaml { text, .. } => text.clone(),
            Source::Env(var) => match env(var) {
                Some(text) if !text.trim().is_empty() => text,
                _ => {
                    errors.push(ConfigError::new(
                        "",
                        None,
                        format!(
                            "config source `env:{var}`: the environment variable {var} is not set or empty"
                        ),
                    ));
                    continue;
                }
            },
        };
        let parsed = match source {
            Source::Yaml { .. } => yaml::parse(&name, &text).and_then(|p| nest(&name, p)),
            _ => yaml::parse(&name, &text),
        };
        match parsed {
            Ok(parsed) => {
                let mut replaced = Vec::new();
                merge(&mut value, parsed.value, &mut Vec::new(), &mut replaced);
                for path in &replaced {
                    remove_descendants(&mut index, path);
                }
                index.extend(parsed.index);
            }
            Err(e) => errors.push(e),
        }
    }
    for (i, set) in sets.iter().enumerate() {
        if let Err(e) = apply_set(&mut value, &mut index, set, i + 1) {
            errors.push(e);
        }
    }
    let mut warnings = Vec::new();
    if errors.is_empty() {
        let mut ctx = Expansion {
            index: &mut index,
            env,
            errors: &mut errors,
            warnings: &mut warnings,
        };
        ctx.walk(&mut value, &mut Vec::new());
    }
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    tracing::debug!(
        sources = sources.len(),
        sets = sets.len(),
        "config sources loaded"
    );
    Ok(Document {
        value,
        index,
        warnings,
    })
}

/// A `yaml:` source with its `::` keys nested, and its index moved to match (a
/// nested key's parents are placed where the key was written).
fn nest(name: &str, parsed: yaml::Parsed) -> Result<yaml::Parsed, ConfigError> {
    let value = yaml::unflatten(parsed.value).map_err(|message| {
        ConfigError::new(
            "",
            Some(Location {
                source: name.to_string(),
                line: 1,
                column: 1,
            }),
            message,
        )
    })?;
    let mut index = Index::new();
    for (path, node) in parsed.index {
        let split: Vec<String> = path
            .iter()
            .flat_map(|segment| segment.split("::"))
            .map(str::to_string)
            .collect();
        for n in 1..split.len() {
            index.entry(split[..n].to_vec()).or_insert_with(|| Node {
                location: node.location.clone(),
                quoted: false,
            });
        }
        index.insert(split, node);
    }
    Ok(yaml::Parsed { value, index })
}

/// Deep-merges `src` into `dst`; records the paths where a value was replaced whole.
fn merge(dst: &mut Value, src: Value, path: &mut Vec<String>, replaced: &mut Vec<Vec<String>>) {
    match (dst, src) {
        (Value::Object(d), Value::Object(s)) => {
            for (k, v) in s {
                match d.get_mut(&k) {
                    Some(existing) => {
                        path.push(k);
                        merge(existing, v, path, replaced);
                        path.pop();
                    }
                    None => {
                        d.insert(k, v);
                    }
                }
            }
        }
        (d, s) => {
            *d = s;
            replaced.push(path.clone());
        }
    }
}

/// Forgets where the keys below `path` were written (their value was replaced).
fn remove_descendants(index: &mut Index, path: &[String]) {
    index.retain(|k, _| !(k.len() > path.len() && k.starts_with(path)));
}

/// Applies one `key::sub::key=value` flag; `ordinal` counts flags from 1.
fn apply_set(
    value: &mut Value,
    index: &mut Index,
    set: &str,
    ordinal: usize,
) -> Result<(), ConfigError> {
    let location = Location {
        source: "--set".to_string(),
        line: ordinal,
        column: 1,
    };
    let Some((key, raw)) = set.split_once('=') else {
        return Err(ConfigError::new(
            "",
            Some(location),
            format!("invalid --set `{set}`: expected `key::sub::key=value`"),
        ));
    };
    let segments: Vec<String> = key.split("::").map(str::to_string).collect();
    if key.is_empty() || segments.iter().any(|s| s.trim().is_empty()) {
        return Err(ConfigError::new(
            "",
            Some(location),
            format!("invalid --set key `{key}`: expected `key::sub::key=value` with no empty keys"),
        ));
    }
    let path = segments.join("::");
    let parsed = yaml::parse_any(raw).map_err(|e| {
        ConfigError::new(
            path.clone(),
            Some(location.clone()),
            format!("invalid --set value: {e}"),
        )
    })?;
    let mut current = value;
    for (depth, segment) in segments.iter().enumerate() {
        if let Value::Array(_) = current {
            return Err(ConfigError::new(
                path.clone(),
                Some(location),
                format!(
                    "`{}` is a list; --set can only set keys of mappings",
                    segments[..depth].join("::")
                ),
            ));
        }
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        let Value::Object(map) = current else {
            break;
        };
        let prefix = segments[..=depth].to_vec();
        index.entry(prefix).or_insert_with(|| Node {
            location: location.clone(),
            quoted: false,
        });
        current = map.entry(segment.clone()).or_insert(Value::Null);
    }
    remove_descendants(index, &segments);
    *current = parsed;
    index.insert(
        segments,
        Node {
            location,
            quoted: matches!(raw.trim_start().chars().next(), Some('"' | '\'')),
        },
    );
    Ok(())
}

struct Expansion<'a> {
    index: &'a mut Index,
    env: &'a dyn Fn(&str) -> Option<String>,
    errors: &'a mut Vec<ConfigError>,
    warnings: &'a mut Vec<ConfigError>,
}

impl Expansion<'_> {
    fn walk(&mut self, value: &mut Value, path: &mut Vec<String>) {
        match value {
            Value::String(text) if text.contains('$') => {
                let quoted = self.index.get(path.as_slice()).is_some_and(|n| n.quoted);
                match expand(text, quoted, self.env) {
                    Ok(expanded) => {
                        for name in expanded.unset {
                            self.warnings.push(ConfigError::new(
                                path.join("::"),
                                self.locate(path),
                                format!(
                                    "environment variable `{name}` is not set; using an empty string"
                                ),
                            ));
                        }
                        if expanded.value.is_object() || expanded.value.is_array() {
                            remove_descendants(self.index, path);
                        }
                        *value = expanded.value;
                    }
                    Err(message) => self.errors.push(ConfigError::new(
                        path.join("::"),
                        self.locate(path),
                        message,
                    )),
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    path.push(i.to_string());
                    self.walk(item, path);
                    path.pop();
                }
            }
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    path.push(k.clone());
                    self.walk(v, path);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    fn locate(&self, path: &[String]) -> Option<Location> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.index.get(&path[..n]))
            .map(|n| n.location.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inline(name: &str, text: &str) -> Source {
        Source::Inline {
            name: name.into(),
            text: text.into(),
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn merge_replaces_lists_and_forgets_their_old_locations() {
        let a = inline("a", "x:\n  list: [1, 2, 3]\n  keep: 1\n  m: {p: 1}\n");
        let b = inline("b", "x:\n  list: [9]\n  m: 5\n");
        let doc = load(&[a, b], &[], &no_env).unwrap();
        assert_eq!(doc.value(), &json!({"x": {"list": [9], "keep": 1, "m": 5}}));
        assert_eq!(doc.location(&["x", "list"]).unwrap().source, "b");
        assert_eq!(doc.location(&["x", "keep"]).unwrap().source, "a");
        assert_eq!(doc.location(&["x", "list", "0"]).unwrap().source, "b");
        assert!(doc.location(&["x", "list", "1"]).is_none());
        assert!(doc.location(&["x", "m", "p"]).is_none());
        assert_eq!(doc.nearest_location(&["x", "m", "p"]).unwrap().source, "b");
    }

    #[test]
    fn set_creates_and_replaces() {
        let a = inline("a", "exporters:\n  debug:\n");
        let sets = vec![
            "exporters::debug::verbosity=detailed".to_string(),
            "exporters::otlp/gw::endpoint=host:4317".to_string(),
            "exporters::otlp/gw::tls::insecure=true".to_string(),
        ];
        let doc = load(&[a], &sets, &no_env).unwrap();
        assert_eq!(
            doc.value(),
            &json!({"exporters": {
                "debug": {"verbosity": "detailed"},
                "otlp/gw": {"endpoint": "host:4317", "tls": {"insecure": true}},
            }})
        );
        let l = doc.location(&["exporters", "otlp/gw", "endpoint"]).unwrap();
        assert_eq!((l.source.as_str(), l.line), ("--set", 2));
        assert_eq!(doc.location(&["exporters", "otlp/gw"]).unwrap().line, 2);
    }

    #[test]
    fn set_into_a_list_is_an_error() {
        let a = inline("a", "x: [1]\n");
        let err = load(&[a], &["x::0=2".to_string()], &no_env).unwrap_err();
        assert!(err.0[0].message.contains("is a list"), "{err}");
    }

    #[test]
    fn env_source_reads_a_whole_config_and_names_only_the_variable() {
        let env = |name: &str| match name {
            "STRATUS_CONFIG_YAML" => {
                Some("exporters:\n  debug:\n    verbosity: ${env:LEVEL}\n".into())
            }
            "LEVEL" => Some("basic".into()),
            "BLANK" => Some("  \n".into()),
            _ => None,
        };
        let source = Source::from_arg("env:STRATUS_CONFIG_YAML", 1);
        let doc = load(&[source], &[], &env).unwrap();
        assert_eq!(
            doc.value(),
            &json!({"exporters": {"debug": {"verbosity": "basic"}}})
        );
        assert_eq!(
            doc.location(&["exporters", "debug"]).unwrap().source,
            "env:STRATUS_CONFIG_YAML"
        );
        for var in ["MISSING", "BLANK"] {
            let err = load(&[Source::from_arg(&format!("env:{var}"), 1)], &[], &env).unwrap_err();
            assert!(
                err.0[0]
                    .message
                    .contains(&format!("environment variable {var} is not set")),
                "{err}"
            );
        }
    }
}
