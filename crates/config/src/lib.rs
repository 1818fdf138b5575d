//! stratus's config: the OpenTelemetry Collector's YAML, loaded, merged, expanded and
//! checked before anything runs.
//!
//! Two steps:
//!
//! 1. [`load`] reads every [`Source`] in order and deep-merges them (mappings merge key
//!    by key, the later source winning; lists and scalars are replaced whole), applies
//!    `--set key::sub::key=value` overrides, and expands environment references
//!    (`${VAR}`, `${env:VAR}`, `${env:VAR:-default}`, `$$`). The result is a
//!    [`Document`]: one value tree plus the file, line and column of every key.
//! 2. [`validate`] checks that document against the component factories a build
//!    knows: top-level keys, component ids and types, each component's own config,
//!    the `service` section (pipelines, extensions, telemetry). Every problem is
//!    reported at once, sorted by key path, each with its place in the YAML and a
//!    "did you mean" for misspelt names. The result is a typed [`ServiceConfig`].
//!
//! ```
//! use stratus_config::{load, validate, Source};
//! use stratus_core::factory::Factories;
//!
//! let source = Source::Inline {
//!     name: "example.yaml".into(),
//!     text: "recievers: {}\n".into(),
//! };
//! let doc = load(&[source], &[], &|_| None).unwrap();
//! let errors = validate(&doc, &Factories::new()).unwrap_err();
//! assert_eq!(
//!     errors.0[0].to_string(),
//!     "example.yaml:1:1: recievers: unknown top-level key `recievers`; did you mean `receivers`?"
//! );
//! ```
//!
//! A config that fails to load or validate should end the process with
//! [`EXIT_CODE`].

mod document;
mod error;
mod expand;
mod suggest;
mod validate;
mod yaml;

pub use document::{Document, Source, load};
pub use error::{ConfigError, ConfigErrors, Location};
pub use validate::{
    DEFAULT_OTLP_TIMEOUT, DEFAULT_PERIODIC_INTERVAL, DEFAULT_PERIODIC_TIMEOUT, IncludeExclude,
    InvalidPipelineId, LogBatch, LogOutput, LogProcessor, LogSampling, LogsTelemetry, MetricReader,
    MetricsTelemetry, OtlpExporter, PeriodicReader, PipelineConfig, PipelineId, PrometheusReader,
    ResourceConfig, SECTIONS, Service, ServiceConfig, TelemetryConfig, TracesTelemetry, Validated,
    validate,
};

/// The exit code for an invalid config (`EX_CONFIG` from `sysexits.h`).
pub const EXIT_CODE: i32 = 78;
