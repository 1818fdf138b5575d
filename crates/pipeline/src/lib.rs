//! Turns a validated config into a running collector.
//!
//! [`Service::build`] creates every component: exporters first (one instance per id,
//! shared by every pipeline that lists it), then each pipeline's processors from last
//! to first (processors belong to one pipeline), then receivers (one instance per id,
//! fed by a fan-out to every pipeline that lists it). [`Service::start`] starts
//! extensions, exporters, processors and receivers in that order, so nothing receives
//! data before what is downstream of it runs. [`Service::shutdown`] goes the other
//! way: receivers stop taking data, processors flush, exporter queues drain, all
//! within one deadline.

mod graph;
pub mod self_telemetry;

pub use graph::{BuildError, Service};
