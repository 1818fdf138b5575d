//! Config errors: what is wrong, where in the YAML tree, and where in the file.

use std::fmt;

/// A place in a config source: the file (or the inline source's name, or `--set`),
/// a 1-based line and a 1-based column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// The file path as given, the inline source's name, or `--set`.
    pub source: String,
    /// The line, counting from 1. For `--set`, which `--set` flag (counting from 1).
    pub line: usize,
    /// The column in characters, counting from 1.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.source, self.line, self.column)
    }
}

/// One problem in a config (or one warning), with its key path and, where known,
/// its place in the source.
///
/// Displays as `<file>:<line>:<col>: <path>: <message>`; the location part is left
/// out when unknown and the path part when the problem concerns the whole document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{}", location_prefix(.location), path_prefix(.path), .message)]
pub struct ConfigError {
    /// The key path, segments joined by `::` (`exporters::otlp/gw::endpoint`); list
    /// items are numbered from 0 (`service::extensions::1`). Empty for the document
    /// as a whole.
    pub path: String,
    /// Where the key (or the closest enclosing key) was written, when known.
    pub location: Option<Location>,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

fn location_prefix(location: &Option<Location>) -> String {
    location
        .as_ref()
        .map(|l| format!("{l}: "))
        .unwrap_or_default()
}

fn path_prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

impl ConfigError {
    /// An error at `path` (segments joined by `::`).
    pub fn new(
        path: impl Into<String>,
        location: Option<Location>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            path: path.into(),
            location,
            message: message.into(),
        }
    }
}

/// Every problem found in a config, sorted by path. Displays one error per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", lines(.0))]
pub struct ConfigErrors(pub Vec<ConfigError>);

fn lines(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_forms() {
        let loc = Location {
            source: "a.yaml".into(),
            line: 3,
            column: 5,
        };
        let full = ConfigError::new("exporters::otlp", Some(loc), "bad");
        assert_eq!(full.to_string(), "a.yaml:3:5: exporters::otlp: bad");
        let no_loc = ConfigError::new("service", None, "missing");
        assert_eq!(no_loc.to_string(), "service: missing");
        let no_path = ConfigError::new("", None, "cannot read");
        assert_eq!(no_path.to_string(), "cannot read");
        let all = ConfigErrors(vec![full, no_loc]);
        assert_eq!(
            all.to_string(),
            "a.yaml:3:5: exporters::otlp: bad\nservice: missing"
        );
    }
}
