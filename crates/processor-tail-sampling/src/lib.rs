//! The `tail_sampling` processor: holds the spans of each trace for `decision_wait`,
//! then keeps or drops the whole trace by policy, as the contrib collector's
//! `tailsamplingprocessor` does, with its keys.
//!
//! ```yaml
//! processors:
//!   tail_sampling:
//!     decision_wait: 10s
//!     num_traces: 50000
//!     decision_cache: {sampled_cache_size: 100000, non_sampled_cache_size: 100000}
//!     policies:
//!       - {name: errors, type: status_code, status_code: {status_codes: [ERROR]}}
//!       - {name: slow, type: latency, latency: {threshold_ms: 2000}}
//!       - {name: health, type: drop, drop: {drop_sub_policy: [
//!           {name: probe, type: string_attribute,
//!            string_attribute: {key: url.path, values: [/health], enabled_regex_matching: true}}]}}
//! ```
//!
//! - [`config`]: the keys, defaults and checks ([`TailSamplingConfig`]).
//! - [`policy`]: the policies ([`policy::Evaluator`]; `ottl_condition` on the
//!   `stratus-ottl` condition subset) and upstream's rule for combining their
//!   decisions ([`policy::combine`]).
//! - [`processor`]: the running processor ([`TailSampling`]): the trace table bounded
//!   by `num_traces`, the one decision timer, late spans and the decision caches.
//!
//! Every span of a trace must reach the same collector (use the `loadbalancing`
//! exporter with `routing_key: traceID` in front of a tier of tail samplers). The
//! processor regroups spans by trace, so request metadata does not travel past it.

pub mod config;
pub mod factory;
mod lru;
pub mod policy;
pub mod processor;

pub use config::TailSamplingConfig;
pub use factory::TailSamplingProcessorFactory;
pub use processor::TailSampling;
