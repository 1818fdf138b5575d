//! The `routing` connector: sends each resource, span, metric, data point or log record
//! to the pipelines of the first route whose condition matches it, like upstream's
//! `routingconnector`. The use case it was built for: data whose resource says it is
//! from the EU goes only to the EU pipeline.
//!
//! ```yaml
//! connectors:
//!   routing:
//!     default_pipelines: [traces/global]
//!     error_mode: ignore
//!     table:
//!       - context: resource            # the default
//!         condition: 'IsMatch(resource.attributes["cloud.region"], "^eu-")'
//!         pipelines: [traces/eu]
//!       - context: span
//!         condition: 'attributes["tenant"] == "acme"'
//!         pipelines: [traces/acme]
//!       - context: request             # receivers need include_metadata: true
//!         condition: 'request["x-tenant"] == "globex"'
//!         pipelines: [traces/globex]
//! ```
//!
//! - First match wins, per item: request routes decide for the whole batch, resource
//!   routes per resource, `span`/`log`/`metric` routes per span, record or metric and
//!   `datapoint` routes per point. A batch is split at the finest level its table
//!   uses, each part keeping its resource and scope; with only resource and request
//!   routes nothing is split.
//! - Unmatched items go to `default_pipelines`; without them they are dropped and
//!   counted in `stratus_connector_routing_dropped_{spans,metric_points,log_records}`.
//! - Conditions are the OTTL subset of `stratus-ottl`, parsed when the config is
//!   checked; problems name the route and the column (`table[1]::condition: column 5:
//!   ...`). `statement: 'route() where <condition>'` is accepted too.
//! - Each route's pipelines get their part through a fan-out; a batch split across
//!   routes is handed over all or nothing where the pipelines can reserve (two-phase
//!   admission passes through).
//! - `pipeline_references` lists every pipeline of the table, so `stratus validate`
//!   checks them before anything runs.

mod config;
mod connector;
mod factory;
mod router;

#[cfg(test)]
mod tests;

pub use config::{Route, RouteFields, RoutingConfig};
pub use connector::Router;
pub use factory::RoutingConnectorFactory;
