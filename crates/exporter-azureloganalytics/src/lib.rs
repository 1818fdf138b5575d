//! The `azureloganalytics` exporter: OTLP spans, log records and metric data points as
//! flat rows in an Azure Monitor Log Analytics workspace.
//!
//! Two APIs:
//! - the **Logs Ingestion API** (when `dcr_immutable_id` is set): `POST
//!   {endpoint}/dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01`, a
//!   Bearer token from Entra ID (`stratus-azure-common`), a gzipped JSON array, bodies
//!   under 1 MiB uncompressed;
//! - the retired **HTTP Data Collector API** (`workspace_id`, `workspace_key`,
//!   `log_type`), signed with SharedKey ([`sharedkey`]); a warning at start names the
//!   replacement.
//!
//! The row schema is in [`rows`]; `deploy/azure/` has an ARM template for the tables and
//! the data collection rule. Queueing, retry and timeouts are the exporter helper's.

pub mod client;
pub mod config;
pub mod factory;
pub mod rows;
pub mod sharedkey;

pub use client::LogAnalyticsSender;
pub use config::{Api, AzureLogAnalyticsConfig};
pub use factory::AzureLogAnalyticsExporterFactory;
