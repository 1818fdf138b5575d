//! Environment references in string values, as the collector's `env` provider
//! expands them.
//!
//! - `${NAME}` and `${env:NAME}`: the variable's value.
//! - `${env:NAME:-default}` (or `${NAME:-default}`): the default when the variable is
//!   unset (a set but empty variable gives `""`).
//! - `$$`: a literal `$`. A bare `$NAME` is left as written.
//! - A value that is exactly one reference is typed like YAML (`4317` becomes a
//!   number, `true` a bool) unless it was quoted in the YAML; a reference inside a
//!   longer string leaves a string.

use serde_json::Value;

use crate::yaml::type_scalar;

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
            out.push_str(&resolve(inner, env, &mut unset)?);
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
    let value = if references == 1 && !literal && !quoted {
        type_scalar(&out)
    } else {
        Value::String(out)
    };
    Ok(Expanded { value, unset })
}

/// The text one reference (`inner` is what stands between `${` and `}`) stands for.
fn resolve(
    inner: &str,
    env: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, String> {
    let (scheme, rest) = match inner.find(':') {
        // `${NAME:-default}`: the default scheme with a default value.
        Some(i) if inner[i + 1..].starts_with('-') => ("env", inner),
        Some(i) => (&inner[..i], &inner[i + 1..]),
        None => ("env", inner),
    };
    if scheme != "env" {
        return Err(format!(
            "`${{{inner}}}`: the `{scheme}` scheme is not supported; stratus expands only \
             environment variables (`${{env:NAME}}` or `${{NAME}}`)"
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
    Ok(match (env(name), default) {
        (Some(value), _) => value,
        (None, Some(default)) => default.to_string(),
        (None, None) => {
            unset.push(name.to_string());
            String::new()
        }
    })
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

    #[test]
    fn bad_references() {
        let e = expand("${file:/etc/key}", false, &env).unwrap_err();
        assert!(e.contains("the `file` scheme is not supported"), "{e}");
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
