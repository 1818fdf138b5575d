//! The `azuremonitor` exporter's integration tests, in one test binary: golden pairs
//! against Microsoft's exporter, mappings beyond the pairs, the schema check against
//! Microsoft's Track-API models, and the transport against the recording server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

mod common;

#[path = "suite/golden.rs"]
mod golden;
#[path = "suite/mapping.rs"]
mod mapping;
#[path = "suite/schema.rs"]
mod schema;
#[path = "suite/transport.rs"]
mod transport;
