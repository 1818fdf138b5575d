//! The `health_check` extension: an HTTP endpoint that load balancers and
//! orchestrators (Kubernetes probes, ECS and ALB health checks) poll to learn whether
//! stratus is ready, answering the way the collector's `health_check` extension does.
//!
//! ```yaml
//! extensions:
//!   health_check:
//!     endpoint: localhost:13133   # 0.0.0.0:13133 for probes from outside the pod
//!     path: /
//! service:
//!   extensions: [health_check]
//! ```
//!
//! Answers on `path` (`GET` or `HEAD`):
//! - 200 `{"status":"Server available","upSince":"2024-05-01T12:00:00.123456789Z","uptime":"1m30.5s"}`
//!   once every component has started;
//! - 503 `{"status":"Server not available","upSince":"...","uptime":"..."}` while
//!   stratus is starting or stopping (`upSince` is `0001-01-01T00:00:00Z` and
//!   `uptime` empty when it was never ready);
//! - `response_body.healthy` / `.unhealthy` as `text/plain` instead, when set;
//! - 404 on any other path.
//!
//! `check_collector_pipeline` is accepted so existing configs load, and not acted on
//! yet.

pub mod config;
pub mod extension;
pub mod factory;

pub use config::HealthCheckConfig;
pub use extension::HealthCheckExtension;
pub use factory::HealthCheckExtensionFactory;
