//! The `azuremonitor` exporter's config ([`AzureMonitorConfig`]), with upstream's keys
//! (contrib `exporter/azuremonitorexporter/config.go`) and the exporter helper's
//! `timeout`, `retry_on_failure` and `sending_queue`.
//!
//! **Batching.** Upstream batches in the Application Insights SDK's channel: a batch
//! goes out at `maxbatchsize` items or `maxbatchinterval` after its first item. Here
//! the exporter helper's queue batcher does it: unless `sending_queue::batch` is
//! written, the exporter runs with
//!
//! ```yaml
//! sending_queue:
//!   batch: { min_size: <maxbatchsize>, max_size: <maxbatchsize>, flush_timeout: <maxbatchinterval>, sizer: items }
//! ```
//!
//! so a request carries at most `maxbatchsize` OTLP items (spans, log records, data
//! points) and waits at most `maxbatchinterval`. A written `sending_queue::batch`
//! replaces that (and `sending_queue::batch::enabled: false` turns batching off).
//! Whatever the batching, one POST carries at most `maxbatchsize` envelopes: a span
//! with events becomes several envelopes, and a larger request is sent as several
//! POSTs. With `sending_queue::enabled: false` there is no batching.
//!
//! **Secrets.** `connection_string` and `instrumentation_key` are
//! [`Secret`]s: `Debug`, errors and `validate` never show them.

use std::time::Duration;

use serde::Deserialize;
use stratus_azure_common::AuthenticationConfig;
use stratus_core::confval::Secret;
use stratus_core::factory::{ConfigProblem, Validate};
use stratus_exporter_helper::config::{DEFAULT_TIMEOUT, validate_shared};
use stratus_exporter_helper::{BatchConfig, ExporterSettings, QueueConfig, RetryConfig, Sizer};

use crate::connection::{Connection, ConnectionError, Source, process_env, resolve};
use crate::translate::TranslatorConfig;

/// Upstream's default `maxbatchsize`: 1024 items.
pub const DEFAULT_MAX_BATCH_SIZE: usize = 1024;

/// Upstream's default `maxbatchinterval`: 10s.
pub const DEFAULT_MAX_BATCH_INTERVAL: Duration = Duration::from_secs(10);

/// Upstream's default `shutdown_timeout`: 1s.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

/// The config of the `azuremonitor` exporter.
///
/// ```
/// use stratus_core::factory::{Validate, decode_config};
/// use stratus_exporter_azuremonitor::config::AzureMonitorConfig;
///
/// let config: AzureMonitorConfig = decode_config(&serde_json::json!({
///     "instrumentation_key": "00000000-0000-0000-0000-000000000000",
///     "endpoint": "https://dc.services.visualstudio.com/v2/track",
///     "maxbatchsize": 100,
///     "maxbatchinterval": "10s",
/// })).unwrap();
/// assert!(config.validate().is_empty());
/// assert!(!format!("{config:?}").contains("00000000-0000"));
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AzureMonitorConfig {
    /// The Application Insights connection string
    /// (`InstrumentationKey=...;IngestionEndpoint=https://...`); a secret. The
    /// environment variable `APPLICATIONINSIGHTS_CONNECTION_STRING` wins over it, and
    /// it wins over `instrumentation_key` and `endpoint`. Default: empty.
    pub connection_string: Secret,
    /// The instrumentation key, the older form (with `endpoint`); a secret. Default:
    /// empty.
    pub instrumentation_key: Secret,
    /// With `instrumentation_key`: the ingestion URL. A path ending in `/v2/track` or
    /// `/v2.1/track` is used as given, else `/v2.1/track` is appended. Default: empty
    /// (`https://dc.services.visualstudio.com/`, so `.../v2.1/track`).
    pub endpoint: String,
    /// The most items in one request (and envelopes in one POST); at least 1.
    /// Default 1024.
    pub maxbatchsize: usize,
    /// The longest a batch waits for more items before it is sent; more than 0.
    /// Default `10s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub maxbatchinterval: Duration,
    /// Span events other than exceptions become Message envelopes (`traces` table).
    /// Default `false`.
    pub spaneventsenabled: bool,
    /// Log records carrying `microsoft.custom_event.name` become Event envelopes
    /// (`customEvents`). Default `false`.
    pub custom_events_enabled: bool,
    /// Log records with `exception.type` / `exception.message` become Exception
    /// envelopes. Default `false`.
    pub exception_events_enabled: bool,
    /// Upstream's wait for its SDK channel to flush on shutdown. Accepted; the
    /// service's shutdown deadline bounds the drain here. Default `1s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub shutdown_timeout: Duration,
    /// How long one attempt of a request (its POSTs) may take; `0` for no limit.
    /// Default `5s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub timeout: Duration,
    /// Retries of failed requests. Default: enabled, 5s initial, 30s max, 300s total.
    pub retry_on_failure: RetryConfig,
    /// The sending queue. Default: enabled, 10 consumers, 1000 requests; batching
    /// from `maxbatchsize` / `maxbatchinterval` unless `batch` is written.
    pub sending_queue: QueueConfig,
    /// Entra ID authentication (client secret, managed identity, or AKS workload
    /// identity; `crates/azure-common`): every POST then carries a Bearer token for
    /// the connection string's `AADAudience` (default
    /// `https://monitor.azure.com//.default`), for resources with local authentication
    /// turned off. Default: absent (the instrumentation key alone).
    pub authentication: Option<AuthenticationConfig>,
}

impl Default for AzureMonitorConfig {
    fn default() -> Self {
        AzureMonitorConfig {
            connection_string: Secret::default(),
            instrumentation_key: Secret::default(),
            endpoint: String::new(),
            maxbatchsize: DEFAULT_MAX_BATCH_SIZE,
            maxbatchinterval: DEFAULT_MAX_BATCH_INTERVAL,
            spaneventsenabled: false,
            custom_events_enabled: false,
            exception_events_enabled: false,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            retry_on_failure: RetryConfig::default(),
            sending_queue: QueueConfig::default(),
            authentication: None,
        }
    }
}

impl AzureMonitorConfig {
    /// The destination, with the process environment's
    /// `APPLICATIONINSIGHTS_CONNECTION_STRING`.
    pub fn connection(&self) -> Result<Connection, ConnectionError> {
        self.connection_with(process_env)
    }

    /// The destination, with `env` as the environment (tests pass a closure).
    pub fn connection_with(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Connection, ConnectionError> {
        resolve(
            &self.connection_string,
            &self.instrumentation_key,
            &self.endpoint,
            env,
        )
    }

    /// The translator's options for `instrumentation_key` (the resolved one).
    pub fn translator(&self, instrumentation_key: &Secret) -> TranslatorConfig {
        TranslatorConfig {
            instrumentation_key: instrumentation_key.expose().to_owned(),
            span_events_enabled: self.spaneventsenabled,
            custom_events_enabled: self.custom_events_enabled,
            exception_events_enabled: self.exception_events_enabled,
        }
    }

    /// The batch section in effect: `sending_queue::batch` when written, else the one
    /// made from `maxbatchsize` and `maxbatchinterval` (see the module docs).
    pub fn batch(&self) -> BatchConfig {
        match &self.sending_queue.batch {
            Some(b) => b.clone(),
            None => BatchConfig {
                enabled: true,
                flush_timeout: self.maxbatchinterval,
                min_size: self.maxbatchsize,
                max_size: self.maxbatchsize,
                sizer: Some(Sizer::Items),
                ..BatchConfig::default()
            },
        }
    }

    /// The helper settings: `timeout`, `retry_on_failure`, and `sending_queue` with
    /// [`AzureMonitorConfig::batch`].
    pub fn settings(&self) -> ExporterSettings {
        ExporterSettings {
            timeout: self.timeout,
            retry: self.retry_on_failure.clone(),
            queue: QueueConfig {
                batch: Some(self.batch()),
                ..self.sending_queue.clone()
            },
        }
    }

    /// [`Validate::validate`] with `env` as the environment.
    pub fn validate_with(&self, env: impl Fn(&str) -> Option<String>) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if let Err(e) = self.connection_with(&env) {
            let from_env =
                env(crate::connection::CONNECTION_STRING_ENV).is_some_and(|v| !v.trim().is_empty());
            let path = if from_env || !self.connection_string.is_empty() {
                "connection_string"
            } else {
                match e {
                    ConnectionError::Missing => "connection_string",
                    ConnectionError::BadEndpoint(_) => "endpoint",
                    _ => "instrumentation_key",
                }
            };
            let message = match from_env {
                true => format!(
                    "the environment variable APPLICATIONINSIGHTS_CONNECTION_STRING (which \
                     wins over this key): {e}"
                ),
                false => e.to_string(),
            };
            problems.push(ConfigProblem::new(path, message));
        }
        if let Some(auth) = &self.authentication {
            for p in auth.validate() {
                problems.push(ConfigProblem::new(
                    format!("authentication::{}", p.path),
                    p.message,
                ));
            }
        }
        if self.maxbatchsize == 0 {
            problems.push(ConfigProblem::new("maxbatchsize", "must be at least 1"));
        }
        if self.maxbatchinterval.is_zero() {
            problems.push(ConfigProblem::new(
                "maxbatchinterval",
                "must be greater than 0",
            ));
        }
        // The batch section checked is the one in effect (written or derived), at
        // the written keys' paths.
        let queue = self.settings().queue;
        let mut shared = validate_shared(&self.retry_on_failure, &queue);
        if self.sending_queue.batch.is_none() {
            // A derived section's problems are those of the keys it was made from:
            // maxbatchinterval is checked above, maxbatchsize against the queue here.
            shared.retain_mut(|p| match p.path.as_str() {
                "sending_queue::batch::min_size" => {
                    p.path = "maxbatchsize".into();
                    p.message = format!("(the batch's min_size) {}", p.message);
                    self.maxbatchsize > 0
                }
                path => !path.starts_with("sending_queue::batch"),
            });
        }
        problems.extend(shared);
        problems
    }

    /// Where the destination comes from, for the start-up log line.
    pub fn describe_source(source: Source) -> &'static str {
        match source {
            Source::Config => "connection_string",
            Source::Environment => "APPLICATIONINSIGHTS_CONNECTION_STRING",
            Source::InstrumentationKey => "instrumentation_key",
        }
    }
}

impl Validate for AzureMonitorConfig {
    /// Checks every key; the connection string resolves with the process
    /// environment's `APPLICATIONINSIGHTS_CONNECTION_STRING`, as at run time.
    fn validate(&self) -> Vec<ConfigProblem> {
        self.validate_with(process_env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_core::factory::decode_config;

    const KEY: &str = "9f3c2b1a-5d4e-4f60-8a7b-0c1d2e3f4a5b";

    fn no_env(_: &str) -> Option<String> {
        None
    }

    /// Deserialises without validating (the tests validate with their own env).
    fn decode(v: serde_json::Value) -> AzureMonitorConfig {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    fn paths(problems: &[ConfigProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.path.as_str()).collect()
    }

    #[test]
    fn defaults_match_upstream() {
        let c = AzureMonitorConfig::default();
        assert_eq!(c.maxbatchsize, 1024);
        assert_eq!(c.maxbatchinterval, Duration::from_secs(10));
        assert_eq!(c.shutdown_timeout, Duration::from_secs(1));
        assert!(!c.spaneventsenabled && !c.custom_events_enabled && !c.exception_events_enabled);
        assert_eq!(c.timeout, Duration::from_secs(5));
        // No key at all: one problem, naming both ways.
        let problems = c.validate_with(no_env);
        assert_eq!(paths(&problems), ["connection_string"]);
        assert!(problems[0].message.contains("instrumentation_key"));
        // ... unless the environment has a connection string.
        let env = |_: &str| Some(format!("InstrumentationKey={KEY}"));
        assert!(c.validate_with(env).is_empty());
    }

    #[test]
    fn the_briefs_block_validates_and_maps_onto_the_batcher() {
        let c = decode(serde_json::json!({
            "instrumentation_key": KEY,
            "endpoint": "https://dc.services.visualstudio.com/v2/track",
            "maxbatchsize": 100,
            "maxbatchinterval": "10s",
        }));
        assert!(c.validate_with(no_env).is_empty());
        let conn = c.connection_with(no_env).unwrap();
        assert_eq!(
            conn.track_url.to_string(),
            "https://dc.services.visualstudio.com/v2/track"
        );
        assert_eq!(conn.instrumentation_key.expose(), KEY);
        let s = c.settings();
        let batch = s.queue.active_batch().unwrap();
        assert_eq!((batch.min_size, batch.max_size), (100, 100));
        assert_eq!(batch.flush_timeout, Duration::from_secs(10));
        assert_eq!(s.queue.batch_sizer(), Sizer::Items);
        assert_eq!(s.timeout, Duration::from_secs(5));
    }

    #[test]
    fn a_written_batch_section_wins() {
        let c = decode(serde_json::json!({
            "connection_string": format!("InstrumentationKey={KEY}"),
            "maxbatchsize": 50,
            "sending_queue": {"batch": {"min_size": 10, "max_size": 20, "flush_timeout": "1s"}},
        }));
        assert!(c.validate_with(no_env).is_empty());
        let b = c.batch();
        assert_eq!((b.min_size, b.max_size), (10, 20));
        let off = decode(serde_json::json!({
            "instrumentation_key": KEY,
            "sending_queue": {"batch": {"enabled": false}},
        }));
        assert!(off.settings().queue.active_batch().is_none());
        let no_queue = decode(serde_json::json!({
            "instrumentation_key": KEY,
            "sending_queue": {"enabled": false},
        }));
        assert!(no_queue.settings().queue.active_batch().is_none());
        // A bad written section is reported where it was written.
        let bad = decode(serde_json::json!({
            "instrumentation_key": KEY,
            "sending_queue": {"batch": {"min_size": 10, "max_size": 5}},
        }));
        assert_eq!(
            paths(&bad.validate_with(no_env)),
            ["sending_queue::batch::max_size"]
        );
    }

    #[test]
    fn every_key_is_accepted_and_unknown_ones_are_not() {
        let c = decode(serde_json::json!({
            "connection_string": format!("InstrumentationKey={KEY};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"),
            "instrumentation_key": KEY,
            "endpoint": "https://example/",
            "maxbatchsize": 5,
            "maxbatchinterval": "1s",
            "spaneventsenabled": true,
            "custom_events_enabled": true,
            "exception_events_enabled": true,
            "shutdown_timeout": "2s",
            "timeout": "7s",
            "retry_on_failure": {"enabled": false},
            "sending_queue": {"queue_size": 10},
        }));
        assert!(c.validate_with(no_env).is_empty());
        let t = c.translator(&Secret::new(KEY));
        assert!(t.span_events_enabled && t.custom_events_enabled && t.exception_events_enabled);
        let e = decode_config::<AzureMonitorConfig>(&serde_json::json!({"max_batch_size": 1}))
            .unwrap_err();
        assert_eq!(paths(&e), ["max_batch_size"]);
    }

    #[test]
    fn bad_values_are_reported_at_their_paths_without_secrets() {
        let c = decode(serde_json::json!({
            "connection_string": format!("InstrumentationKey={KEY};{KEY}"),
            "maxbatchsize": 0,
            "maxbatchinterval": "0",
        }));
        let problems = c.validate_with(no_env);
        assert_eq!(
            paths(&problems),
            ["connection_string", "maxbatchsize", "maxbatchinterval"]
        );
        let all = format!("{problems:?}");
        assert!(!all.contains(KEY), "{all}");
        let endpoint =
            decode(serde_json::json!({"instrumentation_key": KEY, "endpoint": "dc.example"}));
        assert_eq!(paths(&endpoint.validate_with(no_env)), ["endpoint"]);
        let env = |_: &str| Some(KEY.to_string());
        let from_env = AzureMonitorConfig::default().validate_with(env);
        assert_eq!(paths(&from_env), ["connection_string"]);
        assert!(
            from_env[0]
                .message
                .contains("APPLICATIONINSIGHTS_CONNECTION_STRING")
        );
        assert!(!from_env[0].message.contains(KEY));
        let long = decode(serde_json::json!({"connection_string": "x".repeat(5000)}));
        assert_eq!(paths(&long.validate_with(no_env)), ["connection_string"]);
    }

    #[test]
    fn debug_output_redacts_the_secrets() {
        let c = decode(serde_json::json!({
            "connection_string": format!("InstrumentationKey={KEY}"),
            "instrumentation_key": KEY,
        }));
        let conn = c.connection_with(no_env).unwrap();
        let translator = c.translator(&conn.instrumentation_key);
        assert_eq!(translator.instrumentation_key, KEY);
        let debug = format!(
            "{c:?} {conn:?} {translator:?} {:?}",
            crate::translate::Translator::new(translator.clone())
        );
        assert!(!debug.contains(KEY), "{debug}");
        assert!(debug.contains("[REDACTED]"));
    }
}
