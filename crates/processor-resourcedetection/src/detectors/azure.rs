//! The `azure` and `aks` detectors: the Azure Instance Metadata Service (IMDS),
//! `GET /metadata/instance/compute?api-version=2020-09-01&format=json` with header
//! `Metadata: true`.
//!
//! The endpoint is `http://169.254.169.254`, or `STRATUS_AZURE_IMDS_ENDPOINT` when set
//! (the Azure SDKs have no variable for the compute metadata endpoint). No answer, or
//! not a 200: not on Azure, nothing added (an error with `fail_on_missing_metadata`),
//! as upstream.
//!
//! `aks` runs only in Kubernetes (`KUBERNETES_SERVICE_HOST` set) and takes
//! `k8s.cluster.name` (off by default) from the node resource group name,
//! `MC_<resource group>_<cluster>_<location>`: the cluster part when the name has
//! exactly those four parts, the whole resource group name otherwise.

use async_trait::async_trait;
use http::{Method, StatusCode};
use regex::Regex;
use serde::Deserialize;

use super::{
    AttrSpec, DetectContext, DetectError, DetectedResource, Detector, ResourceBuilder,
    SCHEMA_1_6_1, SCHEMA_1_39_0, Toggles, attr, string_value,
};
use crate::config::{AksConfig, AzureConfig};

/// Upstream's attributes for `azure`, with their defaults.
pub(crate) const ATTRIBUTES: &[AttrSpec] = &[
    attr("azure.resourcegroup.name", true),
    attr("azure.vm.name", true),
    attr("azure.vm.scaleset.name", true),
    attr("azure.vm.size", true),
    attr("cloud.account.id", true),
    attr("cloud.availability_zone", false),
    attr("cloud.platform", true),
    attr("cloud.provider", true),
    attr("cloud.region", true),
    attr("host.id", true),
    attr("host.name", true),
];

/// Upstream's attributes for `aks`, with their defaults.
pub(crate) const AKS_ATTRIBUTES: &[AttrSpec] = &[
    attr("cloud.platform", true),
    attr("cloud.provider", true),
    attr("k8s.cluster.name", false),
];

/// Overrides the IMDS base URL (`http://host:port`), for tests and unusual hosts.
pub(crate) const ENDPOINT_VAR: &str = "STRATUS_AZURE_IMDS_ENDPOINT";
/// The IMDS address.
pub(crate) const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
/// The compute metadata path.
pub(crate) const COMPUTE_PATH: &str = "/metadata/instance/compute";
/// The query upstream sends.
pub(crate) const COMPUTE_QUERY: &str = "api-version=2020-09-01&format=json";
/// Prefix of the attributes made from VM tags.
pub(crate) const TAG_PREFIX: &str = "azure.tags.";

/// The compute metadata fields used.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ComputeMetadata {
    pub location: String,
    pub name: String,
    #[serde(rename = "vmId")]
    pub vm_id: String,
    pub vm_size: String,
    pub subscription_id: String,
    pub resource_group_name: String,
    pub vm_scale_set_name: String,
    pub zone: String,
    pub tags_list: Vec<Tag>,
}

/// One VM tag.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Tag {
    pub name: String,
    pub value: String,
}

/// The IMDS base URL; an error when `STRATUS_AZURE_IMDS_ENDPOINT` is not a plain
/// `http://` URL (a config error, not "not on Azure").
pub(crate) fn endpoint(env: &dyn crate::environment::Environment) -> Result<String, DetectError> {
    let base = env
        .var(ENDPOINT_VAR)
        .map(|v| v.trim().trim_end_matches('/').to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
    if !crate::http::is_plain_http_url(&base) {
        return Err(DetectError::new(
            "invalid_input",
            format!("{ENDPOINT_VAR} `{base}` is not a plain http:// URL (IMDS speaks HTTP only)"),
        ));
    }
    Ok(base)
}

/// Reads the compute metadata from `base`; `Err` says why IMDS did not answer.
pub(crate) async fn compute_metadata(
    cx: &DetectContext,
    base: &str,
) -> Result<ComputeMetadata, String> {
    let url = format!("{base}{COMPUTE_PATH}?{COMPUTE_QUERY}");
    let answer = cx
        .http
        .send(
            Method::GET,
            &url,
            &[("Metadata", "true")],
            cx.deadline,
            None,
        )
        .await
        .map_err(|e| format!("failed to query Azure IMDS: {e}"))?;
    if answer.status != StatusCode::OK {
        return Err(format!(
            "Azure IMDS replied with status code: {}",
            answer.status
        ));
    }
    serde_json::from_slice(&answer.body)
        .map_err(|e| format!("failed to decode Azure IMDS reply: {e}"))
}

/// Detects an Azure VM.
#[derive(Debug)]
pub(crate) struct AzureDetector {
    toggles: Toggles,
    tags: Vec<Regex>,
    fail_on_missing: bool,
}

impl AzureDetector {
    pub(crate) fn new(config: &AzureConfig, fail_on_missing: bool) -> Self {
        AzureDetector {
            toggles: Toggles::new("azure", ATTRIBUTES, &config.resource_attributes),
            // Validation checked every pattern.
            tags: config
                .tags
                .iter()
                .filter_map(|t| Regex::new(t).ok())
                .collect(),
            fail_on_missing,
        }
    }
}

fn missing(
    detector: &str,
    fail_on_missing: bool,
    reason: String,
) -> Result<DetectedResource, DetectError> {
    if fail_on_missing {
        return Err(DetectError::new(
            "unreachable",
            format!("Azure metadata unavailable: {reason}"),
        ));
    }
    tracing::debug!(detector, %reason, "Azure detector metadata retrieval failed; adds nothing");
    Ok(DetectedResource::default())
}

#[async_trait]
impl Detector for AzureDetector {
    fn name(&self) -> &'static str {
        "azure"
    }

    async fn detect(&self, cx: &DetectContext) -> Result<DetectedResource, DetectError> {
        let base = endpoint(cx.env.as_ref())?;
        let m = match compute_metadata(cx, &base).await {
            Ok(m) => m,
            Err(reason) => return missing("azure", self.fail_on_missing, reason),
        };
        let mut rb = ResourceBuilder::new(&self.toggles);
        rb.put_str("cloud.provider", "azure");
        rb.put_str("cloud.platform", "azure_vm");
        rb.put_str("host.name", m.name.clone());
        rb.put_str("cloud.region", m.location);
        rb.put_str("host.id", m.vm_id);
        rb.put_str("cloud.account.id", m.subscription_id);
        // The VM name again: `host.name` is also the system detector's.
        rb.put_str("azure.vm.name", m.name);
        rb.put_str("azure.vm.size", m.vm_size);
        rb.put_str("azure.vm.scaleset.name", m.vm_scale_set_name);
        rb.put_str("azure.resourcegroup.name", m.resource_group_name);
        rb.put_str("cloud.availability_zone", m.zone);
        for tag in &m.tags_list {
            if self.tags.iter().any(|re| re.is_match(&tag.name)) {
                rb.put(
                    format!("{TAG_PREFIX}{}", tag.name),
                    string_value(tag.value.clone()),
                );
            }
        }
        Ok(rb.finish(SCHEMA_1_6_1))
    }
}

/// Detects AKS.
#[derive(Debug)]
pub(crate) struct AksDetector {
    toggles: Toggles,
    fail_on_missing: bool,
}

impl AksDetector {
    pub(crate) fn new(config: &AksConfig, fail_on_missing: bool) -> Self {
        AksDetector {
            toggles: Toggles::new("aks", AKS_ATTRIBUTES, &config.resource_attributes),
            fail_on_missing,
        }
    }
}

#[async_trait]
impl Detector for AksDetector {
    fn name(&self) -> &'static str {
        "aks"
    }

    async fn detect(&self, cx: &DetectContext) -> Result<DetectedResource, DetectError> {
        let on_k8s = cx
            .env
            .var(super::eks::KUBERNETES_SERVICE_HOST)
            .is_some_and(|v| !v.trim().is_empty());
        if !on_k8s {
            tracing::debug!("not in Kubernetes; aks detector adds nothing");
            return Ok(DetectedResource::default());
        }
        let base = endpoint(cx.env.as_ref())?;
        let m = match compute_metadata(cx, &base).await {
            Ok(m) => m,
            Err(reason) => return missing("aks", self.fail_on_missing, reason),
        };
        let mut rb = ResourceBuilder::new(&self.toggles);
        rb.put_str("cloud.provider", "azure");
        rb.put_str("cloud.platform", "azure_aks");
        rb.put_str("k8s.cluster.name", cluster_name(&m.resource_group_name));
        Ok(rb.finish(SCHEMA_1_39_0))
    }
}

/// The AKS cluster name from the node resource group (`MC_<rg>_<cluster>_<location>`);
/// the resource group name itself when it is not in that form.
pub(crate) fn cluster_name(resource_group: &str) -> String {
    let parts: Vec<&str> = resource_group.split('_').collect();
    if parts.len() == 4 && parts[0].eq_ignore_ascii_case("mc") {
        return parts[2].to_string();
    }
    resource_group.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aks_cluster_names() {
        assert_eq!(
            cluster_name("MC_my-resource-group_my-cluster_eastus"),
            "my-cluster"
        );
        assert_eq!(cluster_name("mc_rg_c_westeurope"), "c");
        // Underscores in the group or cluster name: keep the whole name, as upstream.
        assert_eq!(
            cluster_name("MC_my_rg_my-cluster_eastus"),
            "MC_my_rg_my-cluster_eastus"
        );
        assert_eq!(cluster_name("custom-infra-rg"), "custom-infra-rg");
    }
}
