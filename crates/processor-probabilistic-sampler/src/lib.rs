//! The `probabilistic_sampler` processor (in progress): the per-item decision of
//! every mode ([`sampler`]), its config ([`config`]), OpenTelemetry consistent
//! probability sampling primitives ([`sampling`]) and the collector's `hash_seed`
//! hash ([`hash`]).

pub mod config;
pub mod hash;
pub mod sampler;
pub mod sampling;

pub use config::{AttributeSource, ProbabilisticSamplerConfig, SamplerMode};
pub use sampler::{Policy, Sampler, Tally};
