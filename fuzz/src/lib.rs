//! Fuzz targets for stratus: every parser of untrusted bytes and every translator of
//! untrusted data, as plain `fn(&[u8])` functions.
//!
//! Two drivers run them:
//! - `scripts/fuzz` builds the `stratus-fuzz-afl` binary under `cargo afl` (AFL++
//!   on stable Rust) and fuzzes each target for a given time (see `fuzz/README.md`);
//! - the crate's tests (`tests/smoke.rs`) replay the checked-in corpus
//!   (`fuzz/corpus/<target>/`, crash inputs included) and a fixed set of
//!   deterministic mutations of it on every run of the test command.
//!
//! ```
//! // Any bytes at all: a target returns or panics (a bug), never errors.
//! stratus_fuzz::run("otlp_proto", b"\x0a\x02\x0a\x00");
//! ```

pub mod input;
pub mod mutate;
pub mod queue;
#[cfg(feature = "seeds")]
pub mod seeds;
pub mod synth;
pub mod targets;

/// A fuzz target: returns on every input, panics on a bug.
pub type Target = fn(&[u8]);

/// Every target, by name (the name is also its corpus folder).
pub const TARGETS: &[(&str, Target)] = &[
    ("otlp_proto", targets::otlp_proto),
    ("otlp_json", targets::otlp_json),
    ("config", targets::config),
    #[cfg(feature = "translators")]
    ("xray", targets::xray),
    #[cfg(feature = "translators")]
    ("emf", targets::emf),
    #[cfg(feature = "translators")]
    ("cloudwatch_logs", targets::cloudwatch_logs),
    #[cfg(feature = "translators")]
    ("s3", targets::s3),
    #[cfg(feature = "translators")]
    ("application_insights", targets::application_insights),
    #[cfg(feature = "translators")]
    ("log_analytics", targets::log_analytics),
    ("persistent_queue", targets::persistent_queue),
];

/// The target named `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Runs target `name` on `data`; an unknown name is a panic.
pub fn run(name: &str, data: &[u8]) {
    match target(name) {
        Some(t) => t(data),
        None => panic!("unknown fuzz target `{name}`"),
    }
}
