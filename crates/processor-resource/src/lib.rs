//! The `resource` processor: edits the resource attributes of spans, metrics and logs
//! with the collector's attribute actions (the `attributes` processor's, applied to
//! each resource instead of each item).
//!
//! ```yaml
//! processors:
//!   resource:
//!     attributes:
//!       - {key: cloud.availability_zone, value: zone-1, action: upsert}
//!       - {key: k8s.cluster.name, from_attribute: k8s-cluster, action: insert}
//!       - {key: redundant-attribute, action: delete}
//! ```
//!
//! The actions are `stratus-attraction`'s, compiled once at build; the upstream key is
//! `attributes` (not `actions`). A batch whose resource is absent gets one when an
//! action writes to it. Through two-phase admission ([`stratus_core::Consumer::prepare`])
//! the processor edits the data, then asks the next consumer for room; data handed
//! back gets its resources back as they came.
//!
//! Internal metrics: the standard `otelcol_processor_incoming_items` /
//! `otelcol_processor_outgoing_items` that the pipeline counts.

pub mod config;
pub mod factory;
pub mod processor;

pub use config::ResourceConfig;
pub use factory::ResourceProcessorFactory;
pub use processor::ResourceProcessor;

#[cfg(test)]
mod tests;
