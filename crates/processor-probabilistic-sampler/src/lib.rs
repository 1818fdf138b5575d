//! The `probabilistic_sampler` processor (in progress): OpenTelemetry consistent
//! probability sampling primitives ([`sampling`]) and the collector's `hash_seed`
//! hash ([`hash`]).

pub mod hash;
pub mod sampling;
