//! Component ids: `type[/name]`, as in the collector's YAML.

use std::fmt;
use std::str::FromStr;

/// The kind of a component, i.e. the top-level config section it lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `receivers:`
    Receiver,
    /// `processors:`
    Processor,
    /// `exporters:`
    Exporter,
    /// `connectors:`
    Connector,
    /// `extensions:`
    Extension,
}

impl Kind {
    /// The singular name, as used in messages and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Receiver => "receiver",
            Kind::Processor => "processor",
            Kind::Exporter => "exporter",
            Kind::Connector => "connector",
            Kind::Extension => "extension",
        }
    }

    /// The config section: `receivers`, `processors`, ...
    pub fn section(self) -> &'static str {
        match self {
            Kind::Receiver => "receivers",
            Kind::Processor => "processors",
            Kind::Exporter => "exporters",
            Kind::Connector => "connectors",
            Kind::Extension => "extensions",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A component id: a type (`otlp`) and an optional name (`otlp/gateway`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ComponentId {
    ty: String,
    name: Option<String>,
}

impl ComponentId {
    /// An id with a type and no name.
    pub fn new(ty: impl Into<String>) -> Self {
        ComponentId {
            ty: ty.into(),
            name: None,
        }
    }

    /// An id with a type and a name.
    pub fn with_name(ty: impl Into<String>, name: impl Into<String>) -> Self {
        ComponentId {
            ty: ty.into(),
            name: Some(name.into()),
        }
    }

    /// The component type, the part before `/`.
    pub fn ty(&self) -> &str {
        &self.ty
    }

    /// The name, the part after `/`, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl fmt::Display for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{}/{}", self.ty, name),
            None => f.write_str(&self.ty),
        }
    }
}

/// An id that is empty, has an empty type or name, or contains whitespace.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid component id `{0}`: expected `type` or `type/name` with no spaces")]
pub struct InvalidId(pub String);

impl FromStr for ComponentId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid_part = |p: &str| !p.is_empty() && !p.chars().any(char::is_whitespace);
        match s.split_once('/') {
            None if valid_part(s) => Ok(ComponentId::new(s)),
            Some((ty, name)) if valid_part(ty) && valid_part(name) && !ty.contains('/') => {
                Ok(ComponentId::with_name(ty, name))
            }
            _ => Err(InvalidId(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let id: ComponentId = "otlp/gateway".parse().unwrap();
        assert_eq!(id.ty(), "otlp");
        assert_eq!(id.name(), Some("gateway"));
        assert_eq!(id.to_string(), "otlp/gateway");
        assert_eq!("batch".parse::<ComponentId>().unwrap().to_string(), "batch");
        assert!("".parse::<ComponentId>().is_err());
        assert!("otlp/".parse::<ComponentId>().is_err());
        assert!("/x".parse::<ComponentId>().is_err());
        assert!("a b".parse::<ComponentId>().is_err());
    }
}
