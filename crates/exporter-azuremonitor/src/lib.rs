//! Azure Monitor (Application Insights) exporter.
//!
//! [`translate`] turns OTLP spans, log records and metric data points into Application
//! Insights envelopes ([`envelope`]), matching what Microsoft's
//! `azure-monitor-opentelemetry-exporter` sends to the Track API (`/v2.1/track`). The
//! translation is pure: no I/O, no clock, no randomness.

pub mod client;
pub mod config;
pub mod connection;
pub mod envelope;
pub mod factory;
pub mod translate;
pub mod transport;
