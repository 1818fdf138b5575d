//! Where detectors read environment variables and local files from.
//!
//! Detectors never call `std::env` or `std::fs` themselves: they ask an
//! [`Environment`]. A running collector uses [`ProcessEnvironment`]; tests (which run in
//! parallel, so must not change the process's variables) and tools give a
//! [`FixedEnvironment`] holding exactly the variables and files they want.

use std::collections::BTreeMap;
use std::fmt;

/// Environment variables and files, as the detectors see them.
pub trait Environment: Send + Sync + fmt::Debug {
    /// The value of an environment variable, `None` when it is not set. Values that
    /// are not UTF-8 are converted lossily.
    fn var(&self, name: &str) -> Option<String>;

    /// The contents of a local file (`/etc/hosts`, `/etc/machine-id`, the Kubernetes
    /// service account token), `None` when it cannot be read.
    fn read_file(&self, path: &str) -> Option<String>;
}

/// The process's own environment variables and the local file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }

    fn read_file(&self, path: &str) -> Option<String> {
        std::fs::read(path)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }
}

/// A fixed set of variables and files; everything else is absent.
///
/// ```
/// use stratus_processor_resourcedetection::{Environment, FixedEnvironment};
///
/// let env = FixedEnvironment::new()
///     .with_var("OTEL_RESOURCE_ATTRIBUTES", "service.name=checkout")
///     .with_file("/proc/sys/kernel/hostname", "node-7\n");
/// assert_eq!(env.var("OTEL_RESOURCE_ATTRIBUTES").as_deref(), Some("service.name=checkout"));
/// assert_eq!(env.var("HOME"), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct FixedEnvironment {
    vars: BTreeMap<String, String>,
    files: BTreeMap<String, String>,
}

impl FixedEnvironment {
    /// No variables, no files.
    pub fn new() -> Self {
        FixedEnvironment::default()
    }

    /// The same environment with variable `name` set to `value`.
    pub fn with_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// The same environment with the file at `path` holding `contents`.
    pub fn with_file(mut self, path: impl Into<String>, contents: impl Into<String>) -> Self {
        self.files.insert(path.into(), contents.into());
        self
    }
}

impl Environment for FixedEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn read_file(&self, path: &str) -> Option<String> {
        self.files.get(path).cloned()
    }
}
