//! The `probabilistic_sampler` processor: keeps a percentage of spans and log records,
//! deciding each item on its own from its trace id, the way the OpenTelemetry
//! Collector's contrib `probabilisticsamplerprocessor` does, bit for bit.
//!
//! ```yaml
//! processors:
//!   probabilistic_sampler:
//!     sampling_percentage: 10   # float32; 0 drops everything, >= 100 keeps everything
//!     hash_seed: 22             # same seed on every collector of a tier
//!     mode: hash_seed           # or proportional, equalizing (OTEP 235)
//!     sampling_precision: 4     # hex digits of written thresholds, 1..14
//!     fail_closed: true         # drop items whose sampling information is unusable
//!     # logs only:
//!     attribute_source: traceID # or record
//!     from_attribute: ""        # the record attribute hashed (required with record)
//!     sampling_priority: ""     # a record attribute holding that record's percentage
//! ```
//!
//! Modes (see [`config::SamplerMode`]):
//! - `hash_seed` (the default): FNV-1a over the seed's little-endian bytes and the 16
//!   trace-id bytes, low 14 bits, kept when below `uint32(pct × 163.84)` computed in
//!   `float32` ([`hash`]). Two collectors with the same seed make the same decision
//!   for every trace id, so a trace whose spans pass through collectors in different
//!   clouds is kept or dropped whole. Kept items get `ot=rv:…;th:…` (spans) or
//!   `sampling.randomness` / `sampling.threshold` attributes (logs).
//! - `proportional` and `equalizing`: OpenTelemetry consistent probability sampling
//!   (OTEP 235) on the trace id's last 56 bits or an explicit `rv`, reading and
//!   writing the W3C tracestate's `ot=th:` ([`sampling`]).
//!
//! `sampling.priority` on a span forces the decision (0 drops, above 0 keeps); for
//! logs the `sampling_priority` attribute is the record's own percentage. What the
//! sampler cannot decide (no trace id, an unreadable tracestate, OTel sampling
//! information in `hash_seed` mode) follows `fail_closed`. The per-item rules are
//! in [`sampler`].
//!
//! Metrics (labels `processor`, `policy`, `sampled`):
//! `otelcol_processor_probabilistic_sampler_count_spans_processed_total` (and, with the
//! same values, the deprecated `otelcol_processor_probabilistic_sampler_count_traces_sampled`)
//! and `otelcol_processor_probabilistic_sampler_count_logs_sampled`.

pub mod config;
pub mod factory;
pub mod hash;
pub mod processor;
pub mod sampler;
pub mod sampling;

pub use config::{AttributeSource, ProbabilisticSamplerConfig, SamplerMode};
pub use factory::ProbabilisticSamplerProcessorFactory;
pub use processor::ProbabilisticSampler;
pub use sampler::{Policy, Sampler, Tally};

#[cfg(test)]
mod tests;
