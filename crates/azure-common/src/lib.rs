//! Azure foundation shared by the Azure exporters (`azuremonitor`, `azureloganalytics`).
//!
//! - [`auth::AuthenticationConfig`]: the `authentication:` block — Entra ID client
//!   secret, managed identity (IMDS), or AKS workload identity (a federated token file).
//! - [`token::TokenProvider`]: gets an access token for one scope
//!   (`https://monitor.azure.com/.default`), caches it and fetches a new one
//!   [`token::REFRESH_BEFORE`] before it expires. The clock is injectable
//!   ([`token::Clock`]) so tests check the refresh without sleeping, and the authority
//!   host and IMDS endpoint can point at a loopback test server.
//! - [`http::client`]: the one hyper client (http and https over the kit's rustls
//!   stack) the token requests and the exporters use.
//!
//! The token requests are made here with hyper rather than through `azure_identity`:
//! `azure_identity` 1.0 refuses an authority host that is not `https://`
//! (`get_authority_host`), so it cannot be pointed at a loopback test endpoint, and its
//! reqwest transport would add a second HTTP client stack. Each flow is one documented
//! OAuth2 request (see [`token`]).

pub mod auth;
pub mod http;
pub mod token;

pub use auth::{AuthType, AuthenticationConfig};
pub use token::{AccessToken, Clock, SystemClock, TokenError, TokenProvider};

/// The scope of Azure Monitor ingestion (Logs Ingestion API, AAD-authenticated
/// Application Insights).
pub const MONITOR_SCOPE: &str = "https://monitor.azure.com/.default";
