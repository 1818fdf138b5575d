//! Turns a validated config into a running collector.
//!
//! [`Service::build`] creates every component: exporters first (one instance per id,
//! shared by every pipeline that lists it), then each pipeline's processors from last
//! to first (processors belong to one pipeline), then receivers (one instance per id,
//! fed by a fan-out to every pipeline that lists it).
//!
//! Connectors join pipelines: a connector listed in pipeline A's `exporters` and
//! pipeline B's `receivers` is an exporter of A that feeds the head of B. Pipelines are
//! built downstream first, so a connector is built (one instance per connector id and
//! (from, to) signal pair its factory supports) once every pipeline it feeds exists.
//! Cycles through connectors are refused.
//!
//! [`Service::start`] starts extensions, exporters, connectors, processors and
//! receivers in that order, so nothing receives data before what is downstream of it
//! runs. [`Service::shutdown`] goes the other way: receivers stop taking data, then
//! pipeline by pipeline, upstream first, processors flush and connectors stop (a
//! connector after every pipeline feeding it), then exporter queues drain, all within
//! one deadline.

mod graph;
pub mod self_telemetry;

pub use graph::{BuildError, Service};
