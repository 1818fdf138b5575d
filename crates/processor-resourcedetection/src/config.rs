//! The `resource_detection` processor's config: upstream's keys and defaults.
//!
//! ```yaml
//! processors:
//!   resource_detection:
//!     detectors: [env, eks, ec2, system]   # earlier detectors win for the same key
//!     timeout: 5s                          # bounds detection at start
//!     override: true                       # detected values replace existing ones
//!     system:
//!       hostname_sources: [dns, os]
//!     ec2:
//!       resource_attributes:
//!         host.name: {enabled: false}
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use stratus_core::factory::{ConfigProblem, Validate};

use crate::detectors::{self, AttrSpec};

/// The detectors stratus implements, in the spelling `detectors` uses.
pub const SUPPORTED_DETECTORS: &[&str] = &["env", "system", "ec2", "ecs", "eks", "azure", "aks"];

/// Detectors upstream has that stratus does not implement (yet); named in the error so
/// a config written for the collector gets a clear answer.
const UPSTREAM_ONLY_DETECTORS: &[&str] = &[
    "gcp",
    "elastic_beanstalk",
    "lambda",
    "azurecontainerapps",
    "heroku",
    "openshift",
    "dynatrace",
    "consul",
    "docker",
    "k8s_api",
    "k8snode",
    "kubeadm",
    "hetzner",
    "akamai",
    "scaleway",
    "vultr",
    "oraclecloud",
    "digitalocean",
    "nova",
    "upcloud",
    "alibaba_ecs",
    "tencent_cvm",
    "ibmcloud_vpc",
    "ibmcloud_classic",
];

/// Config of the `resource_detection` processor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResourceDetectionConfig {
    /// Detectors to run, in priority order: when two detect the same attribute, the
    /// one listed first wins. Any of `env`, `system`, `ec2`, `ecs`, `eks`, `azure`,
    /// `aks`. Default `[env]`.
    pub detectors: Vec<String>,
    /// Whether detected attributes replace attributes the data already has (`true`)
    /// or only fill in missing ones (`false`). Default `true`.
    #[serde(rename = "override")]
    pub override_existing: bool,
    /// How long detection at start may take in all, retries included (a duration such
    /// as `5s`); must be greater than zero. Default `5s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
    /// Whether a network detector that cannot reach its metadata service (or, for
    /// `ecs`/`eks`/`aks`, does not find its platform) fails start instead of adding
    /// nothing. Default `false`.
    pub fail_on_missing_metadata: bool,
    /// Periodic re-detection: only `0` (detect once at start) is supported by stratus.
    /// Default `0`.
    #[serde(with = "stratus_core::confval::duration")]
    pub refresh_interval: Duration,
    /// Settings of the `env` detector.
    pub env: EnvConfig,
    /// Settings of the `system` detector.
    pub system: SystemConfig,
    /// Settings of the `ec2` detector.
    pub ec2: Ec2Config,
    /// Settings of the `ecs` detector.
    pub ecs: EcsConfig,
    /// Settings of the `eks` detector.
    pub eks: EksConfig,
    /// Settings of the `azure` detector.
    pub azure: AzureConfig,
    /// Settings of the `aks` detector.
    pub aks: AksConfig,
}

impl Default for ResourceDetectionConfig {
    fn default() -> Self {
        ResourceDetectionConfig {
            detectors: vec!["env".to_string()],
            override_existing: true,
            timeout: Duration::from_secs(5),
            fail_on_missing_metadata: false,
            refresh_interval: Duration::ZERO,
            env: EnvConfig::default(),
            system: SystemConfig::default(),
            ec2: Ec2Config::default(),
            ecs: EcsConfig::default(),
            eks: EksConfig::default(),
            azure: AzureConfig::default(),
            aks: AksConfig::default(),
        }
    }
}

/// One attribute's switch in a detector's `resource_attributes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttributeToggle {
    /// Whether the detector adds the attribute. Default: the attribute's own default
    /// (see the detector's table in the README).
    pub enabled: Option<bool>,
}

/// A detector's `resource_attributes`: attribute name to switch.
pub type ResourceAttributes = BTreeMap<String, AttributeToggle>;

/// Settings of the `env` detector, which reads `OTEL_RESOURCE_ATTRIBUTES`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnvConfig {
    /// Keep only these keys from the variable. Default unset: keep every key.
    pub allow_list: Option<Vec<String>>,
}

/// Settings of the `system` detector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemConfig {
    /// Where `host.name` comes from, tried in order: `dns` (the fully qualified name
    /// from the hosts file) and `os` (the kernel's host name). Default `[dns, os]`.
    pub hostname_sources: Vec<String>,
    /// Attribute switches. Default: `host.name` and `os.type` enabled.
    pub resource_attributes: ResourceAttributes,
}

/// Settings of the `ec2` detector.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ec2Config {
    /// Regexes; instance tags whose key matches one are added as `ec2.tag.<key>`.
    /// Needs `tags_from_imds: true` in stratus. Default none.
    pub tags: Vec<String>,
    /// Read the tags from the instance metadata service (needs
    /// `InstanceMetadataTags=enabled` on the instance). Default `false`.
    pub tags_from_imds: bool,
    /// Attempts per metadata request once the service answered the first probe.
    /// Default `3`.
    pub max_attempts: u32,
    /// Longest wait between two attempts (a duration). Default `20s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub max_backoff: Duration,
    /// Deprecated upstream in favour of the top-level key, which it is or-ed with.
    /// Default `false`.
    pub fail_on_missing_metadata: bool,
    /// Attribute switches. Default: all enabled.
    pub resource_attributes: ResourceAttributes,
}

impl Default for Ec2Config {
    fn default() -> Self {
        Ec2Config {
            tags: Vec::new(),
            tags_from_imds: false,
            max_attempts: 3,
            max_backoff: Duration::from_secs(20),
            fail_on_missing_metadata: false,
            resource_attributes: ResourceAttributes::new(),
        }
    }
}

/// Settings of the `ecs` detector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EcsConfig {
    /// Attribute switches. Default: all enabled.
    pub resource_attributes: ResourceAttributes,
}

/// Settings of the `eks` detector.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EksConfig {
    /// Accepted for upstream compatibility: the variable holding the node name, which
    /// upstream's Kubernetes-API fallback uses and stratus does not have. Default empty.
    pub node_from_env_var: String,
    /// Attempts per metadata request once the instance metadata service answered.
    /// Default `3`.
    pub max_attempts: u32,
    /// Longest wait between two attempts (a duration). Default `20s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub max_backoff: Duration,
    /// Attribute switches. Default: `cloud.provider` and `cloud.platform` enabled.
    pub resource_attributes: ResourceAttributes,
}

impl Default for EksConfig {
    fn default() -> Self {
        EksConfig {
            node_from_env_var: String::new(),
            max_attempts: 3,
            max_backoff: Duration::from_secs(20),
            resource_attributes: ResourceAttributes::new(),
        }
    }
}

/// Settings of the `azure` detector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AzureConfig {
    /// Regexes; VM tags whose name matches one are added as `azure.tags.<name>`.
    /// Default none.
    pub tags: Vec<String>,
    /// Attribute switches. Default: all enabled but `cloud.availability_zone`.
    pub resource_attributes: ResourceAttributes,
}

/// Settings of the `aks` detector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AksConfig {
    /// Attribute switches. Default: `cloud.provider` and `cloud.platform` enabled.
    pub resource_attributes: ResourceAttributes,
}

fn check_attributes(
    problems: &mut Vec<ConfigProblem>,
    detector: &str,
    attrs: &ResourceAttributes,
    specs: &[AttrSpec],
) {
    for name in attrs.keys() {
        if !specs.iter().any(|s| s.name == name) {
            let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
            problems.push(ConfigProblem::new(
                format!("{detector}::resource_attributes::{name}"),
                format!(
                    "unknown attribute `{name}` for the {detector} detector; known: {}",
                    known.join(", ")
                ),
            ));
        }
    }
}

fn check_regexes(problems: &mut Vec<ConfigProblem>, path: &str, patterns: &[String]) {
    for (i, p) in patterns.iter().enumerate() {
        if let Err(e) = regex::Regex::new(p) {
            problems.push(ConfigProblem::new(
                format!("{path}::{i}"),
                format!("`{p}` is not a valid regular expression: {e}"),
            ));
        }
    }
}

impl Validate for ResourceDetectionConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.detectors.is_empty() {
            problems.push(ConfigProblem::new(
                "detectors",
                "must list at least one detector (e.g. `[env]`)",
            ));
        }
        for (i, d) in self.detectors.iter().enumerate() {
            let d = d.trim();
            if SUPPORTED_DETECTORS.contains(&d) {
                continue;
            }
            let supported = SUPPORTED_DETECTORS.join(", ");
            let message = if UPSTREAM_ONLY_DETECTORS.contains(&d) {
                format!("the `{d}` detector is not available in stratus; supported: {supported}")
            } else {
                format!("unknown detector `{d}`; supported: {supported}")
            };
            problems.push(ConfigProblem::new(format!("detectors::{i}"), message));
        }
        if self.timeout.is_zero() {
            problems.push(ConfigProblem::new(
                "timeout",
                "must be greater than zero (e.g. `5s`), so a metadata service that never \
                 answers cannot hold up start",
            ));
        }
        if !self.refresh_interval.is_zero() {
            problems.push(ConfigProblem::new(
                "refresh_interval",
                "periodic re-detection is not supported by stratus: remove the key or set it \
                 to 0 (detection runs once at start)",
            ));
        }
        for (i, source) in self.system.hostname_sources.iter().enumerate() {
            let message = match source.as_str() {
                "dns" | "os" => continue,
                "cname" | "lookup" => format!(
                    "hostname source `{source}` needs a DNS resolver stratus does not have; \
                     use `dns` (hosts file) or `os`"
                ),
                other => format!("unknown hostname source `{other}`; use `dns` or `os`"),
            };
            problems.push(ConfigProblem::new(
                format!("system::hostname_sources::{i}"),
                message,
            ));
        }
        check_attributes(
            &mut problems,
            "system",
            &self.system.resource_attributes,
            detectors::system::ATTRIBUTES,
        );
        check_attributes(
            &mut problems,
            "ec2",
            &self.ec2.resource_attributes,
            detectors::ec2::ATTRIBUTES,
        );
        check_attributes(
            &mut problems,
            "ecs",
            &self.ecs.resource_attributes,
            detectors::ecs::ATTRIBUTES,
        );
        check_attributes(
            &mut problems,
            "eks",
            &self.eks.resource_attributes,
            detectors::eks::ATTRIBUTES,
        );
        check_attributes(
            &mut problems,
            "azure",
            &self.azure.resource_attributes,
            detectors::azure::ATTRIBUTES,
        );
        check_attributes(
            &mut problems,
            "aks",
            &self.aks.resource_attributes,
            detectors::azure::AKS_ATTRIBUTES,
        );
        check_regexes(&mut problems, "ec2::tags", &self.ec2.tags);
        check_regexes(&mut problems, "azure::tags", &self.azure.tags);
        if !self.ec2.tags.is_empty() && !self.ec2.tags_from_imds {
            problems.push(ConfigProblem::new(
                "ec2::tags_from_imds",
                "stratus reads EC2 instance tags from the instance metadata service only (not \
                 the DescribeTags API): set `tags_from_imds: true` and enable \
                 InstanceMetadataTags on the instance, or remove `ec2::tags`",
            ));
        }
        for (detector, attempts) in [
            ("ec2", self.ec2.max_attempts),
            ("eks", self.eks.max_attempts),
        ] {
            if attempts == 0 {
                problems.push(ConfigProblem::new(
                    format!("{detector}::max_attempts"),
                    "must be at least 1",
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_core::factory::decode_config;

    fn problems(raw: serde_json::Value) -> Vec<ConfigProblem> {
        decode_config::<ResourceDetectionConfig>(&raw).unwrap_err()
    }

    #[test]
    fn defaults_match_upstream() {
        let c: ResourceDetectionConfig = decode_config(&serde_json::Value::Null).unwrap();
        assert_eq!(c.detectors, ["env"]);
        assert!(c.override_existing);
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert!(!c.fail_on_missing_metadata);
        assert_eq!(c.ec2.max_attempts, 3);
    }

    #[test]
    fn upstream_keys_decode() {
        let c: ResourceDetectionConfig = decode_config(&json!({
            "detectors": ["env", "ec2", "system"],
            "timeout": "2s",
            "override": false,
            "refresh_interval": "0s",
            "system": {"hostname_sources": ["os"], "resource_attributes": {"host.id": {"enabled": true}}},
            "ec2": {"tags": ["^env$"], "tags_from_imds": true, "max_attempts": 10, "max_backoff": "5m",
                    "resource_attributes": {"host.name": {"enabled": false}}},
            "eks": {"resource_attributes": {"k8s.cluster.name": {"enabled": true}}, "node_from_env_var": "K8S_NODE_NAME"},
            "aks": {"resource_attributes": {"k8s.cluster.name": {"enabled": true}}},
            "azure": {"tags": ["^team"]},
            "env": {"allow_list": ["service.name"]},
        }))
        .unwrap();
        assert!(!c.override_existing);
        assert_eq!(c.timeout, Duration::from_secs(2));
        assert_eq!(c.ec2.max_backoff, Duration::from_secs(300));
        assert_eq!(c.ec2.resource_attributes["host.name"].enabled, Some(false));
    }

    #[test]
    fn bad_values_are_reported_with_paths() {
        let p = problems(json!({
            "detectors": ["env", "gcp", "ec3"],
            "timeout": "0s",
            "refresh_interval": "1m",
            "system": {"hostname_sources": ["cname", "dns", "x"]},
            "ec2": {"tags": ["("], "max_attempts": 0},
            "azure": {"resource_attributes": {"host.nmae": {"enabled": true}}},
        }));
        let paths: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "detectors::1",
                "detectors::2",
                "timeout",
                "refresh_interval",
                "system::hostname_sources::0",
                "system::hostname_sources::2",
                "azure::resource_attributes::host.nmae",
                "ec2::tags::0",
                "ec2::tags_from_imds",
                "ec2::max_attempts",
            ],
            "{p:?}"
        );
        assert!(
            p[0].message.contains("not available in stratus"),
            "{}",
            p[0].message
        );
        assert!(
            p[1].message.contains("unknown detector `ec3`"),
            "{}",
            p[1].message
        );
        assert!(p[6].message.contains("host.name"), "{}", p[6].message);
        assert_eq!(problems(json!({"detectors": []}))[0].path, "detectors");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let p = problems(json!({"ec2": {"endpoint": "x"}}));
        assert_eq!(p[0].path, "ec2::endpoint");
        let p = problems(json!({"attributes": ["host.name"]}));
        assert_eq!(p[0].path, "attributes");
    }
}
