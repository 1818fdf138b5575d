//! The `resource_detection` processor: finds out where stratus runs (the host, EC2,
//! ECS, EKS, an Azure VM, AKS, `OTEL_RESOURCE_ATTRIBUTES`) once at start, and adds
//! those resource attributes to every batch, the way the collector's
//! `resourcedetectionprocessor` does.
//!
//! ```yaml
//! processors:
//!   resource_detection:            # or `resourcedetection`, upstream's older name
//!     detectors: [env, eks, ec2, system]
//!     timeout: 5s
//!     override: false
//! ```
//!
//! How it works:
//! - At start, every listed detector runs at once; a detector that fails is retried
//!   (after 1s, 2s, 4s, …) until `timeout`. The results are merged in list order:
//!   for a key two detectors find, the one listed first wins.
//! - A detector whose platform is absent (not on EC2, no ECS endpoint, not in
//!   Kubernetes) adds nothing; a detector that finds its platform but cannot read it
//!   fails start, as upstream. `fail_on_missing_metadata: true` makes an absent
//!   platform fail start too.
//! - Then, per batch and with no I/O, the detected attributes are merged into every
//!   resource: `override: true` (the default) replaces values the data already has,
//!   `false` only fills in missing keys ([`merge`]).
//! - Instances of one processor id (one per pipeline and signal) share one detection.
//! - Metadata endpoints: EC2 IMDS honours the AWS SDKs' `AWS_EC2_METADATA_SERVICE_ENDPOINT`
//!   (and `_ENDPOINT_MODE`, `AWS_EC2_METADATA_DISABLED`); ECS uses
//!   `ECS_CONTAINER_METADATA_URI_V4` (or v3); Azure IMDS is `http://169.254.169.254`
//!   unless `STRATUS_AZURE_IMDS_ENDPOINT` says otherwise. Plain HTTP, never through a
//!   proxy.
//! - Detectors read variables and files through an [`Environment`], so tests and
//!   tools can hand them a [`FixedEnvironment`].
//! - Internal metrics (label `processor`): `otelcol_resourcedetection_detector_results`
//!   (`detector`, `outcome`, `error_type`), `otelcol_resourcedetection_detector_duration_seconds`
//!   and `otelcol_resourcedetection_attributes_detected`.

pub mod config;
mod detect;
mod detectors;
pub mod environment;
pub mod factory;
mod http;
pub mod merge;
pub mod processor;

pub use config::{
    AksConfig, AttributeToggle, AzureConfig, Ec2Config, EcsConfig, EksConfig, EnvConfig,
    ResourceAttributes, ResourceDetectionConfig, SystemConfig,
};
pub use detect::{DetectionError, detect};
pub use detectors::DetectedResource;
pub use environment::{Environment, FixedEnvironment, ProcessEnvironment};
pub use factory::ResourceDetectionProcessorFactory;
pub use processor::ResourceDetectionProcessor;

#[cfg(test)]
mod tests;
