//! The `probabilistic_sampler` processor (in progress): its config ([`config`]),
//! OpenTelemetry consistent probability sampling primitives ([`sampling`]) and the
//! collector's `hash_seed` hash ([`hash`]).

pub mod config;
pub mod hash;
pub mod sampling;

pub use config::{AttributeSource, ProbabilisticSamplerConfig, SamplerMode};
