//! The foundation every stratus component builds on.
//!
//! - [`pdata`]: the telemetry that flows down a pipeline (OTLP protobuf types in one
//!   envelope per batch, with the client's request metadata).
//! - [`consumer`]: the one call data moves through, `consume(data).await`.
//! - [`delivery`]: the health of an exporter's destination, for failover.
//! - [`error`]: the two error classes that cross components, permanent and retryable.
//! - [`component`]: lifecycle (`start`, `shutdown`) and the [`component::Host`].
//! - [`factory`]: one factory per component kind, with a pure config check and a `build`.
//! - [`telemetry`]: stratus's own metrics, rendered in Prometheus text format.
//! - [`storage`]: what a storage extension offers (persistent queues use it).
//! - [`auth`]: what authenticator extensions offer receivers and exporters.
//! - [`confval`]: config value types shared by every component (durations, secrets).
//! - [`jsonw`]: JSON text written straight into a `String`, escaped in one pass as
//!   `serde_json` or Go's `encoding/json` escapes it.
//! - [`endpoint`]: the one parser of listen endpoints (`:4317`, `host:port`, `[::1]:4317`).

pub mod auth;
pub mod component;
pub mod confval;
pub mod consumer;
pub mod delivery;
pub mod endpoint;
pub mod error;
pub mod factory;
pub mod id;
pub mod jsonw;
pub mod memory;
pub mod pdata;
pub mod rpc;
pub mod signal;
pub mod storage;
pub mod tap;
pub mod telemetry;

pub use component::{Component, Health, Host, PipelineShape, Topology};
pub use consumer::{Admission, BoxConsumer, Consumer, Fanout, Prepared, Refusal, offer};
pub use delivery::Destination;
pub use error::{ComponentError, ConsumeError};
pub use id::{ComponentId, Kind};
pub use pdata::{Contents, Metadata, Payload, Telemetry};
pub use signal::Signal;
