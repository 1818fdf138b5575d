//! The `attributes` processor: edits the attributes of spans, log records and metric
//! data points with the collector's attribute actions, optionally only for the items
//! an `include` / `exclude` block selects.
//!
//! ```yaml
//! processors:
//!   attributes:
//!     exclude:
//!       match_type: regexp
//!       span_names: ["^health"]
//!     actions:
//!       - {key: env, value: prod, action: insert}          # never overwrites
//!       - {key: db.statement, action: update, value: "?"}  # never creates
//!       - {key: tenant, from_context: metadata.x-tenant, action: upsert}
//!       - {key: user.email, action: hash}                  # SHA-256, hex
//!       - {pattern: "^password", action: delete}
//!       - {key: url.path, pattern: "^/api/(?P<api.version>v\\d+)/", action: extract}
//!       - {key: http.status_code, converted_type: int, action: convert}
//! ```
//!
//! The actions and the matching are `stratus-attraction`'s, compiled once at build.
//! Edits are made in place. Through two-phase admission ([`stratus_core::Consumer::prepare`])
//! the processor edits the data, then asks the next consumer for room; data handed
//! back gets its attributes back as they came, so a retry does not hash twice and a
//! failover level sees the data as sent.
//!
//! Internal metrics: the standard `otelcol_processor_incoming_items` /
//! `otelcol_processor_outgoing_items` that the pipeline counts; upstream's processor
//! has none of its own.

pub mod config;
pub mod factory;
pub mod processor;

pub use config::AttributesConfig;
pub use factory::AttributesProcessorFactory;
pub use processor::AttributesProcessor;

#[cfg(test)]
mod tests;
