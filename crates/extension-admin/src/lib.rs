//! The `admin` extension, and upstream's `zpages` under its own name: a running
//! stratus's live state over HTTP, localhost only by default.
//!
//! ```yaml
//! extensions:
//!   admin:                      # or zpages:
//!     endpoint: localhost:55679 # the default
//! service:
//!   extensions: [admin]
//! ```
//!
//! It serves:
//! - `/api/v1/status`: the documented, versioned JSON document (`schema:
//!   "stratus.admin/v1"`, see [`status::Status`]) that `stratus top` and the status
//!   page read: the pipeline graph, per-component totals and rates, queue fill,
//!   failover level, live heap against the memory limit, CPU and the last warnings
//!   and errors;
//! - `/api/v1/tap?component=ID`: a bounded sample of the data leaving a component,
//!   as OTLP/JSON lines (see [`tap`]), what `stratus tap` prints;
//! - `/`: the status page, the pipeline graph as SVG with live rates and queue fills,
//!   plain HTML and JS from the binary;
//! - upstream zpages' `/debug/servicez`, `/debug/pipelinez`, `/debug/extensionz` and
//!   `/debug/featurez` (and `/debug/expvarz` with `expvar: {enabled: true}`).
//!
//! Nothing runs while nobody asks: metrics are read when a request comes in.
//! `auth: {authenticator: basicauth/admin}` puts it behind an authenticator extension
//! listed before it in `service::extensions`; listening beyond loopback without one
//! draws a config warning.

pub mod config;
pub mod extension;
pub mod factory;
pub mod pages;
pub mod status;
pub mod tap;

pub use config::AdminConfig;
pub use extension::AdminExtension;
pub use factory::{AdminExtensionFactory, ZPagesExtensionFactory};
