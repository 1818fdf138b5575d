//! Environment references in string values, as the collector's `env` provider
//! expands them.
//!
//! - `${NAME}` and `${env:NAME}`: the variable's value.
//! - `${env:NAME:-default}` (or `${NAME:-default}`): the default when the variable is
//!   unset (a set but empty variable gives `""`).
//! - `${file:PATH}`: the file's content read as YAML, as the collector's `file`
//!   provider does: a value that is exactly one such reference takes the content's
//!   type (a number, a string, a map), and inside a longer string a scalar content
//!   stands as text (a map or list there is an error). The usual use is a secret
//!   mounted as a file: `token: ${file:/var/run/secrets/token}`.
//! - `${yaml:TEXT}`: the text itself read as YAML, as the collector's `yaml` provider
//!   does (`${yaml:[a, b]}` is a list, `${yaml:4317}` a number), typed and placed
//!   the way a file's content is. Keys holding `::` are nested
//!   (`${yaml:grpc::endpoint: localhost:4317}` is `{grpc: {endpoint: ...}}`). As
//!   upstream, the reference ends at the first `}`, so flow mappings (`{...}`) cannot
//!   be written inside one. Errors never repeat the text (it may hold a secret).
//! - `$$`: a literal `$`. A bare `$NAME` is left as written.
//! - A value that is exactly one reference is typed like YAML (`4317` becomes a
//!   number, `true` a bool) unless it was quoted in the YAML; a reference inside a
//!   longer string leaves a string.

use serde_json::Value;

use crate::yaml::{parse_any, parse_inline, type_scalar, unflatten};

/// The result of expanding one string.
#[derive(Debug, PartialEq)]
pub(crate) struct Expanded {
    /// The new value.
    pub value: Value,
    /// Variables that were referenced without a default and are unset.
    pub unset: Vec<String>,
}

/// Expands the references in `text`. `quoted` says the YAML scalar was quoted, which
/// keeps a lone reference's value a string.
pub(crate) fn expand(
    text: &str,
    quoted: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Expanded, String> {
    let mut out = String::with_capacity(text.len());
    let mut unset = Vec::new();
    let mut references = 0usize;
    let mut literal = false;
    // The value of the last `${file:...}` or `${yaml:...}` reference (with how
    // messages name it), for a value that is only that.
    let mut file_value = None;
    let mut structured = false;
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("$$") {
            out.push('$');
            literal = true;
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix("${")
            && let Some(end) = after.find('}')
        {
            let inner = &after[..end];
            match resolve(inner, env, &mut unset)? {
                Resolved::Text(t) => out.push_str(&t),
                Resolved::Value { label, value: v } => {
                    match &v {
                        Value::String(t) => out.push_str(t),
                        Value::Null => {}
                        Value::Bool(_) | Value::Number(_) => out.push_str(&v.to_string()),
                        Value::Array(_) | Value::Object(_) => structured = true,
                    }
                    file_value = Some((label, v));
                }
            }
            references += 1;
            rest = &after[end + 1..];
            continue;
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        literal = true;
        rest = chars.as_str();
    }
    let lone = references == 1 && !literal;
    if structured && !lone {
        let label = file_value.map(|(label, _)| label).unwrap_or_default();
        return Err(format!(
            "{label}: the value is a map or a list, which can only be a whole value, \
             not part of a longer string"
        ));
    }
    let value = if let (true, Some((_, v))) = (lone, &file_value) {
        match v {
            Value::String(_) | Value::Bool(_) | Value::Number(_) if quoted => Value::String(out),
            v => v.clone(),
        }
    } else if lone && !quoted {
        type_scalar(&out)
    } else {
        Value::String(out)
    };
    Ok(Expanded { value, unset })
}

/// What one reference stands for.
enum Resolved {
    /// An environment variable's text.
    Text(String),
    /// A file's content or a `yaml:` text, read as YAML.
    Value {
        /// How messages name the reference (never with a `yaml:` text in it).
        label: String,
        /// The value.
        value: Value,
    },
}

/// What one reference (`inner` is what stands between `${` and `}`) stands for.
fn resolve(
    inner: &str,
    env: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<Resolved, String> {
    let (scheme, rest) = match inner.find(':') {
        // `${NAME:-default}`: the default scheme with a default value.
        Some(i) if inner[i + 1..].starts_with('-') => ("env", inner),
        Some(i) => (&inner[..i], &inner[i + 1..]),
        None => ("env", inner),
    };
    if scheme == "file" {
        return read_file(inner, rest).map(|value| Resolved::Value {
            label: format!("`${{{inner}}}`"),
            value,
        });
    }
    if scheme == "yaml" {
        let label = "`${yaml:...}`".to_string();
        let value = parse_inline(rest)
            .and_then(unflatten)
            .map_err(|e| format!("{label}: {e}"))?;
        return Ok(Resolved::Value { label, value });
    }
    if scheme != "env" {
        return Err(format!(
            "`${{{inner}}}`: the `{scheme}` scheme is not supported; stratus expands \
             environment variables (`${{env:NAME}}` or `${{NAME}}`), files \
             (`${{file:PATH}}`) and inline YAML (`${{yaml:TEXT}}`)"
        ));
    }
    let (name, default) = match rest.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (rest, None),
    };
    if !valid_name(name) {
        return Err(format!(
            "`${{{inner}}}`: invalid environment variable name `{name}` (expected letters, \
             digits and `_`, not starting with a digit)"
        ));
    }
    Ok(Resolved::Text(match (env(name), default) {
        (Some(value), _) => value,
        (None, Some(default)) => default.to_string(),
        (None, None) => {
            unset.push(name.to_string());
            String::new()
        }
    }))
}

/// The content of the file at `path`, read as YAML. Errors name the file, never its
/// content (files referenced this way usually hold secrets).
fn read_file(inner: &str, path: &str) -> Result<Value, String> {
    if path.is_empty() {
        return Err(format!("`${{{inner}}}`: no file path after `file:`"));
    }
    let content = std::fs::read_to_string(path)
        .map_err(|e| format!("`${{{inner}}}`: cannot read `{path}`: {e}"))?;
    parse_any(&content)
        .map_err(|_| format!("`${{{inner}}}`: the content of `{path}` is not valid YAML"))
}

/// `^[a-zA-Z_][a-zA-Z0-9_]*$`
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        match name {
            "PORT" => Some("4317".into()),
            "HOST" => Some("gw.example".into()),
            "EMPTY" => Some(String::new()),
            "FLAG" => Some("true".into()),
            _ => None,
        }
    }

    fn ok(text: &str) -> Value {
        expand(text, false, &env).unwrap().value
    }

    #[test]
    fn forms() {
        assert_eq!(ok("${HOST}"), json!("gw.example"));
        assert_eq!(ok("${env:HOST}"), json!("gw.example"));
        assert_eq!(ok("${env:HOST}:${env:PORT}"), json!("gw.example:4317"));
        assert_eq!(ok("${env:PORT}"), json!(4317));
        assert_eq!(ok("${FLAG}"), json!(true));
        assert_eq!(ok("x${PORT}"), json!("x4317"));
        assert_eq!(ok("${env:NOPE:-dflt}"), json!("dflt"));
        assert_eq!(ok("${NOPE:-9}"), json!(9));
        assert_eq!(ok("${env:NOPE:-}"), json!(""));
        assert_eq!(ok("${env:EMPTY:-dflt}"), json!(""));
        assert_eq!(ok("${env:HOST:-dflt}"), json!("gw.example"));
        assert_eq!(ok("$$"), json!("$"));
        assert_eq!(ok("$${env:HOST}"), json!("${env:HOST}"));
        assert_eq!(ok("$$$${PORT}"), json!("$${PORT}"));
        assert_eq!(ok("$$$$${PORT}"), json!("$$4317"));
        assert_eq!(ok("$HOST"), json!("$HOST"));
        assert_eq!(ok("a $ b"), json!("a $ b"));
        assert_eq!(ok("${unclosed"), json!("${unclosed"));
        assert_eq!(ok("€${HOST}€"), json!("€gw.example€"));
    }

    #[test]
    fn quoted_lone_reference_stays_a_string() {
        assert_eq!(expand("${PORT}", true, &env).unwrap().value, json!("4317"));
    }

    #[test]
    fn unset_is_empty_and_reported() {
        let e = expand("a${NOPE}b${ALSO}", false, &env).unwrap();
        assert_eq!(e.value, json!("ab"));
        assert_eq!(e.unset, vec!["NOPE".to_string(), "ALSO".to_string()]);
        let e = expand("${NOPE}", false, &env).unwrap();
        assert_eq!(e.value, json!(""));
    }

    /// `${file:PATH}` as the collector's file provider: the content read as YAML.
    #[test]
    fn file_references() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, content: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, content).unwrap();
            p.display().to_string()
        };
        let token = write("token", "s3cr3t-token\n");
        let port = write("port", "4317\n");
        let map = write("headers", "api-key: abc\ntenant: acme\n");
        let empty = write("empty", "");
        assert_eq!(ok(&format!("${{file:{token}}}")), json!("s3cr3t-token"));
        assert_eq!(ok(&format!("${{file:{port}}}")), json!(4317));
        assert_eq!(
            expand(&format!("${{file:{port}}}"), true, &env)
                .unwrap()
                .value,
            json!("4317")
        );
        assert_eq!(
            ok(&format!("Bearer ${{file:{token}}}")),
            json!("Bearer s3cr3t-token")
        );
        assert_eq!(
            ok(&format!("${{HOST}}:${{file:{port}}}")),
            json!("gw.example:4317")
        );
        assert_eq!(
            ok(&format!("${{file:{map}}}")),
            json!({"api-key": "abc", "tenant": "acme"})
        );
        assert_eq!(ok(&format!("${{file:{empty}}}")), Value::Null);
        let e = expand(&format!("x ${{file:{map}}}"), false, &env).unwrap_err();
        assert!(e.contains("can only be a whole value"), "{e}");
        let missing = dir.path().join("missing").display().to_string();
        let e = expand(&format!("${{file:{missing}}}"), false, &env).unwrap_err();
        assert!(e.contains("cannot read") && e.contains(&missing), "{e}");
        let e = expand("${file:}", false, &env).unwrap_err();
        assert!(e.contains("no file path"), "{e}");
        let bad = write("bad", "key: [unclosed\n");
        let e = expand(&format!("${{file:{bad}}}"), false, &env).unwrap_err();
        assert!(
            e.contains("is not valid YAML") && !e.contains("unclosed"),
            "{e}"
        );
    }

    #[test]
    fn bad_references() {
        let e = expand("${http://x}", false, &env).unwrap_err();
        assert!(e.contains("the `http` scheme is not supported"), "{e}");
        let e = expand("${env:1BAD}", false, &env).unwrap_err();
        assert!(
            e.contains("invalid environment variable name `1BAD`"),
            "{e}"
        );
        let e = expand("${A-B}", false, &env).unwrap_err();
        assert!(e.contains("invalid environment variable name `A-B`"), "{e}");
        let e = expand("${}", false, &env).unwrap_err();
        assert!(e.contains("invalid environment variable name ``"), "{e}");
    }
}
