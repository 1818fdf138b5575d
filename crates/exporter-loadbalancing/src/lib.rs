//! The `loadbalancing` exporter: sends each trace (or each service's, metric's or
//! stream's data) to one backend of a set, chosen on a consistent-hash ring, over
//! OTLP/gRPC.
//!
//! This is how a tier of gateway replicas scales out without breaking trace-wide
//! decisions: regional agents load-balance by trace id, so every span of a trace
//! reaches the same gateway replica, and that replica's tail sampler sees the whole
//! trace.
//!
//! ```yaml
//! exporters:
//!   loadbalancing:
//!     routing_key: traceID          # service | resource | metric | streamID
//!     protocol:
//!       otlp:                       # the otlp_grpc exporter's settings, no endpoint
//!         tls: { insecure: true }
//!         timeout: 1s
//!     resolver:
//!       dns: { hostname: otelcol-gateway.observability.svc.cluster.local, port: 4317 }
//!       # or: static: { hostnames: [gateway-1:4317, gateway-2:4317] }
//! ```
//!
//! - [`ring`]: upstream's ring (CRC-32, 36,000 positions, 100 per backend), so
//!   stratus and the Go collector pick the same backend for a trace id.
//! - [`split`]: one part per backend, resources and scopes kept.
//! - [`resolver`]: `static` and `dns` (with a [`resolver::Lookup`] seam for tests).
//! - [`exporter`]: the sub-exporters (one OTLP/gRPC exporter per backend, on the
//!   shared [`stratus_otlp_client`]) and what happens when a backend fails: its share
//!   goes to the next backend on the ring and what it holds is drained to the new
//!   owners.

pub mod config;
pub mod exporter;
pub mod factory;
pub mod resolver;
pub mod ring;
pub mod split;

pub use config::{LoadBalancingConfig, RoutingKey};
pub use exporter::LoadBalancer;
pub use factory::LoadBalancingExporterFactory;
pub use ring::HashRing;

#[cfg(test)]
mod tests;
