//! The detectors: one module per upstream detector, each a [`Detector`] that reads its
//! source once and returns the attributes it found.

pub(crate) mod azure;
pub(crate) mod ec2;
pub(crate) mod ecs;
pub(crate) mod eks;
pub(crate) mod env;
mod imds;
pub(crate) mod system;

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::pdata::common::{AnyValue, ArrayValue, KeyValue, any_value};
use tokio::time::Instant;

use crate::config::{ResourceAttributes, ResourceDetectionConfig};
use crate::environment::Environment;
use crate::http::{HttpError, MetadataClient};

/// The schema URL of semantic conventions 1.6.1, which upstream's `system`, `ec2`,
/// `eks` and `azure` detectors report.
pub(crate) const SCHEMA_1_6_1: &str = "https://opentelemetry.io/schemas/1.6.1";
/// The schema URL of semantic conventions 1.39.0, which upstream's `ecs` and `aks`
/// detectors report.
pub(crate) const SCHEMA_1_39_0: &str = "https://opentelemetry.io/schemas/1.39.0";

/// What detection found: resource attributes and the schema URL they follow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetectedResource {
    /// The attributes, each key once.
    pub attributes: Vec<KeyValue>,
    /// The semantic-conventions schema URL, empty when none applies.
    pub schema_url: String,
}

impl DetectedResource {
    /// The string value of attribute `key`, if present and a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(s) => Some(s.as_str()),
                _ => None,
            })
    }

    /// Whether nothing was detected.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }
}

/// Why a detector failed. The code is a bounded label value for metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct DetectError {
    /// `timeout`, `unreachable`, `http_status`, `invalid_response`, `not_detected`,
    /// `invalid_input`, `unavailable_attribute`.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
}

impl DetectError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        DetectError {
            code,
            message: message.into(),
        }
    }

    /// An HTTP failure, with what was being fetched.
    pub(crate) fn http(what: &str, e: &HttpError) -> Self {
        DetectError::new(e.code(), format!("{what}: {e}"))
    }
}

/// What a detector is given to detect with.
#[derive(Debug, Clone)]
pub(crate) struct DetectContext {
    /// Variables and files.
    pub env: Arc<dyn Environment>,
    /// The HTTP client.
    pub http: MetadataClient,
    /// When detection as a whole must be done.
    pub deadline: Instant,
}

/// One detector.
#[async_trait]
pub(crate) trait Detector: Send + Sync + std::fmt::Debug {
    /// The detector's name in `detectors`.
    fn name(&self) -> &'static str;

    /// Reads the detector's source. `Ok` with no attributes when the platform is not
    /// this detector's (not on EC2); `Err` when it is but reading failed.
    async fn detect(&self, cx: &DetectContext) -> Result<DetectedResource, DetectError>;
}

/// One attribute a detector may add, with upstream's default.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttrSpec {
    /// The attribute key.
    pub name: &'static str,
    /// Whether it is added unless the config says otherwise.
    pub enabled: bool,
    /// Whether stratus can detect it (all of upstream's names are accepted).
    pub detected: bool,
}

/// Shorthand for the attribute tables.
pub(crate) const fn attr(name: &'static str, enabled: bool) -> AttrSpec {
    AttrSpec {
        name,
        enabled,
        detected: true,
    }
}

/// An upstream attribute stratus accepts in `resource_attributes` but does not detect.
pub(crate) const fn undetected(name: &'static str) -> AttrSpec {
    AttrSpec {
        name,
        enabled: false,
        detected: false,
    }
}

/// Which attributes of a detector are on, from its table and its config.
#[derive(Debug, Clone)]
pub(crate) struct Toggles {
    on: Vec<&'static str>,
}

impl Toggles {
    /// The switches of `specs` as `config` sets them; logs the enabled attributes
    /// stratus cannot detect.
    pub(crate) fn new(detector: &str, specs: &[AttrSpec], config: &ResourceAttributes) -> Self {
        let mut on = Vec::new();
        for spec in specs {
            let enabled = config
                .get(spec.name)
                .and_then(|t| t.enabled)
                .unwrap_or(spec.enabled);
            if !enabled {
                continue;
            }
            if spec.detected {
                on.push(spec.name);
            } else {
                tracing::warn!(
                    detector,
                    attribute = spec.name,
                    "resource attribute enabled but not detected by stratus; it is left out"
                );
            }
        }
        Toggles { on }
    }

    /// Whether `name` is enabled.
    pub(crate) fn on(&self, name: &str) -> bool {
        self.on.contains(&name)
    }
}

/// Collects a detector's attributes, keeping only enabled ones.
pub(crate) struct ResourceBuilder<'a> {
    toggles: &'a Toggles,
    attributes: Vec<KeyValue>,
}

pub(crate) fn string_value(s: impl Into<String>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s.into())),
    }
}

impl<'a> ResourceBuilder<'a> {
    pub(crate) fn new(toggles: &'a Toggles) -> Self {
        ResourceBuilder {
            toggles,
            attributes: Vec::new(),
        }
    }

    /// Sets a string attribute if enabled (replacing an earlier value).
    pub(crate) fn put_str(&mut self, name: &'static str, value: impl Into<String>) {
        if self.toggles.on(name) {
            self.put(name.to_string(), string_value(value));
        }
    }

    /// Sets a string-array attribute if enabled.
    pub(crate) fn put_strs(&mut self, name: &'static str, values: Vec<String>) {
        if self.toggles.on(name) {
            let array = ArrayValue {
                values: values.into_iter().map(string_value).collect(),
            };
            self.put(
                name.to_string(),
                AnyValue {
                    value: Some(any_value::Value::ArrayValue(array)),
                },
            );
        }
    }

    /// Sets an attribute whatever the switches say (tags, `env` keys).
    pub(crate) fn put(&mut self, key: String, value: AnyValue) {
        match self.attributes.iter_mut().find(|kv| kv.key == key) {
            Some(kv) => kv.value = Some(value),
            None => self.attributes.push(KeyValue {
                key,
                value: Some(value),
                ..Default::default()
            }),
        }
    }

    pub(crate) fn finish(self, schema_url: &str) -> DetectedResource {
        DetectedResource {
            attributes: self.attributes,
            schema_url: schema_url.to_string(),
        }
    }
}

/// The detectors `config` lists, in its order.
pub(crate) fn build(config: &ResourceDetectionConfig) -> Vec<Arc<dyn Detector>> {
    let fail = config.fail_on_missing_metadata;
    config
        .detectors
        .iter()
        .filter_map(|name| -> Option<Arc<dyn Detector>> {
            Some(match name.trim() {
                "env" => Arc::new(env::EnvDetector::new(&config.env)),
                "system" => Arc::new(system::SystemDetector::new(&config.system)),
                "ec2" => Arc::new(ec2::Ec2Detector::new(&config.ec2, fail)),
                "ecs" => Arc::new(ecs::EcsDetector::new(&config.ecs, fail)),
                "eks" => Arc::new(eks::EksDetector::new(&config.eks, fail)),
                "azure" => Arc::new(azure::AzureDetector::new(&config.azure, fail)),
                "aks" => Arc::new(azure::AksDetector::new(&config.aks, fail)),
                // Validation rejects other names before a build.
                _ => return None,
            })
        })
        .collect()
}
