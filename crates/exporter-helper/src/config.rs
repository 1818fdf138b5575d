//! The shared exporter config blocks: `timeout`, `retry_on_failure`, `sending_queue`,
//! with the upstream collector's keys and defaults.

use std::time::Duration;

use serde::Deserialize;
use stratus_core::factory::{ConfigProblem, Validate};

/// The default per-attempt timeout of an exporter request: 5s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// `retry_on_failure`: how failed requests are retried (exponential back-off with jitter).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Whether to retry retryable failures. Default `true`.
    pub enabled: bool,
    /// Wait before the first retry. Default `5s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub initial_interval: Duration,
    /// Jitter: each wait is picked from `interval * (1 ± randomization_factor)`. Default `0.5`.
    pub randomization_factor: f64,
    /// Factor the wait grows by after each retry. Default `1.5`.
    pub multiplier: f64,
    /// Upper bound of one wait. Default `30s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub max_interval: Duration,
    /// Give up on a request after retrying this long; `0` retries forever. Default `300s`.
    #[serde(with = "stratus_core::confval::duration")]
    pub max_elapsed_time: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            enabled: true,
            initial_interval: Duration::from_secs(5),
            randomization_factor: 0.5,
            multiplier: 1.5,
            max_interval: Duration::from_secs(30),
            max_elapsed_time: Duration::from_secs(300),
        }
    }
}

impl RetryConfig {
    /// No retries: the first failure is final.
    pub fn disabled() -> Self {
        RetryConfig {
            enabled: false,
            ..RetryConfig::default()
        }
    }
}

impl Validate for RetryConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if !self.enabled {
            return problems;
        }
        if self.initial_interval.is_zero() {
            problems.push(ConfigProblem::new(
                "initial_interval",
                "must be greater than 0",
            ));
        }
        if !(0.0..=1.0).contains(&self.randomization_factor) {
            problems.push(ConfigProblem::new(
                "randomization_factor",
                "must be between 0 and 1",
            ));
        }
        if self.multiplier < 1.0 || !self.multiplier.is_finite() {
            problems.push(ConfigProblem::new("multiplier", "must be at least 1"));
        }
        if self.max_interval < self.initial_interval {
            problems.push(ConfigProblem::new(
                "max_interval",
                "must be greater than or equal to initial_interval",
            ));
        }
        if !self.max_elapsed_time.is_zero()
            && (self.max_elapsed_time < self.initial_interval
                || self.max_elapsed_time < self.max_interval)
        {
            problems.push(ConfigProblem::new(
                "max_elapsed_time",
                "must be 0 (retry forever) or at least initial_interval and max_interval",
            ));
        }
        problems
    }
}

/// How a sending queue measures its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sizer {
    /// One per request (batch) as it arrived.
    Requests,
    /// Spans, metric data points or log records.
    Items,
    /// Bytes of the batch encoded as OTLP protobuf.
    Bytes,
}

/// `sending_queue::when_full`: what a full sending queue does with new data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WhenFull {
    /// Refuse the batch with a retryable error: it travels back to the client, which
    /// retries. In a fan-out, no exporter of the pipeline takes the batch.
    Refuse,
    /// Drop this exporter's share, counted in `otelcol_exporter_enqueue_failed_*` and
    /// logged: for a destination that must not hold up the others (an archive).
    Drop,
    /// Make the caller wait for room (upstream's `block_on_overflow: true`).
    Block,
}

/// `sending_queue::batch::partition`: which request metadata keeps batches apart.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartitionConfig {
    /// Request metadata keys (headers kept by a receiver's `include_metadata`),
    /// case-insensitive: one batch per distinct combination of their values. A key
    /// that is absent and a key with an empty value are different partitions.
    /// Duplicates are an error. Default: none (one batch for all requests).
    pub metadata_keys: Vec<String>,
}

/// `sending_queue::batch`: merge queued requests into larger ones before sending.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// `false` turns a written `batch` section off again (upstream's `enabled` of an
    /// optional section). Default `true`: a `batch` section turns batching on.
    pub enabled: bool,
    /// Send a batch this long after its first item arrived, however small it is.
    /// Must be greater than 0. Default `200ms`.
    #[serde(with = "stratus_core::confval::duration")]
    pub flush_timeout: Duration,
    /// Send a batch once it holds at least this much, in units of the batch sizer.
    /// Default `8192`.
    pub min_size: usize,
    /// Split batches larger than this, at item boundaries, in units of the batch
    /// sizer; `0` = no maximum. When set, at least `min_size`. Default `0`.
    pub max_size: usize,
    /// What `min_size` and `max_size` count: `items` or `bytes`. Default (unset):
    /// `sending_queue::sizer` when that is `items` or `bytes`, else `items`. A
    /// `batch:` written with no body (null) does not inherit: it is `items`, as
    /// upstream.
    pub sizer: Option<Sizer>,
    /// Separate batches per request metadata. Default: no partitioning.
    pub partition: PartitionConfig,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            enabled: true,
            flush_timeout: Duration::from_millis(200),
            min_size: 8192,
            max_size: 0,
            sizer: None,
            partition: PartitionConfig::default(),
        }
    }
}

/// `batch:` with no body: upstream's default section, which is `items`-sized
/// whatever the queue's sizer is (its sizer inheritance skips a null section).
fn batch_section<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<BatchConfig>, D::Error> {
    Ok(Some(Option::<BatchConfig>::deserialize(d)?.unwrap_or_else(
        || BatchConfig {
            sizer: Some(Sizer::Items),
            ..BatchConfig::default()
        },
    )))
}

/// `sending_queue`: the buffer between the pipeline and the exporter's senders.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Whether to queue. Without a queue a batch is sent in the caller's task and its
    /// failure returned to the caller. Default `true`.
    pub enabled: bool,
    /// Senders working through the queue in parallel (with `batch`: merged batches
    /// being sent at once). Default `10`.
    pub num_consumers: usize,
    /// Capacity, in units of `sizer`. Default `1000`.
    pub queue_size: usize,
    /// What the queue counts: `requests`, `items` or `bytes`. Default `requests`.
    pub sizer: Sizer,
    /// When full, make the caller wait for room instead of refusing its data (the same
    /// as `when_full: block`). Default `false`.
    pub block_on_overflow: bool,
    /// What a full queue does with new data: `refuse`, `drop` or `block`. Default
    /// (unset): `block` when `block_on_overflow` is true, else `refuse`.
    pub when_full: Option<WhenFull>,
    /// Make the caller wait until its data was exported, and return the export's
    /// error. Not with `storage`. Default `false`.
    pub wait_for_result: bool,
    /// A storage extension id (`file_storage/name`) for a queue that survives restarts.
    /// Default: none (in memory).
    pub storage: Option<String>,
    /// Batching between the queue and the senders. Default: absent (off); `batch: {}`
    /// or `batch:` turn it on with the defaults of [`BatchConfig`].
    #[serde(deserialize_with = "batch_section")]
    pub batch: Option<BatchConfig>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            enabled: true,
            num_consumers: 10,
            queue_size: 1000,
            sizer: Sizer::Requests,
            block_on_overflow: false,
            when_full: None,
            wait_for_result: false,
            storage: None,
            batch: None,
        }
    }
}

impl QueueConfig {
    /// No queue: batches are sent in the caller's task.
    pub fn disabled() -> Self {
        QueueConfig {
            enabled: false,
            ..QueueConfig::default()
        }
    }

    /// What a full queue does: `when_full`, else `block` when `block_on_overflow`,
    /// else `refuse`.
    pub fn full_policy(&self) -> WhenFull {
        match (self.when_full, self.block_on_overflow) {
            (Some(w), _) => w,
            (None, true) => WhenFull::Block,
            (None, false) => WhenFull::Refuse,
        }
    }

    /// The batch section in effect: `None` when the queue is off, there is no `batch`
    /// section, or it says `enabled: false`.
    pub fn active_batch(&self) -> Option<&BatchConfig> {
        self.batch.as_ref().filter(|b| self.enabled && b.enabled)
    }

    /// What batches are measured in: `batch::sizer` when set, else the queue's
    /// `sizer` unless that is `requests`, else `items`.
    pub fn batch_sizer(&self) -> Sizer {
        match self.batch.as_ref().and_then(|b| b.sizer) {
            Some(s) => s,
            None if self.sizer == Sizer::Requests => Sizer::Items,
            None => self.sizer,
        }
    }
}

impl Validate for QueueConfig {
    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if !self.enabled {
            return problems;
        }
        if self.num_consumers == 0 {
            problems.push(ConfigProblem::new(
                "num_consumers",
                "must be greater than 0",
            ));
        }
        if self.queue_size == 0 {
            problems.push(ConfigProblem::new("queue_size", "must be greater than 0"));
        }
        if let Some(storage) = &self.storage
            && storage.parse::<stratus_core::ComponentId>().is_err()
        {
            problems.push(ConfigProblem::new(
                "storage",
                format!(
                    "`{storage}` is not a component id (`file_storage` or `file_storage/name`)"
                ),
            ));
        }
        if self.block_on_overflow
            && let Some(w) = self.when_full
            && w != WhenFull::Block
        {
            problems.push(ConfigProblem::new(
                "when_full",
                format!(
                    "`{}` contradicts `block_on_overflow: true` (which means `block`): \
                     remove one of them",
                    match w {
                        WhenFull::Refuse => "refuse",
                        WhenFull::Drop => "drop",
                        WhenFull::Block => "block",
                    }
                ),
            ));
        }
        if self.wait_for_result && self.storage.is_some() {
            problems.push(ConfigProblem::new(
                "wait_for_result",
                "is not supported with a persistent queue (`storage`), as upstream",
            ));
        }
        if let Some(batch) = self.active_batch() {
            problems.extend(self.validate_batch(batch));
        }
        problems
    }
}

impl QueueConfig {
    fn validate_batch(&self, batch: &BatchConfig) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let sizer = self.batch_sizer();
        if sizer == Sizer::Requests {
            problems.push(ConfigProblem::new(
                "batch::sizer",
                "`requests` cannot size a batch: use `items` or `bytes`",
            ));
        }
        if batch.flush_timeout.is_zero() {
            problems.push(ConfigProblem::new(
                "batch::flush_timeout",
                "must be greater than 0",
            ));
        }
        if batch.max_size != 0 && batch.max_size < batch.min_size {
            problems.push(ConfigProblem::new(
                "batch::max_size",
                format!(
                    "must be 0 (no maximum) or greater than or equal to min_size ({})",
                    batch.min_size
                ),
            ));
        }
        if sizer != Sizer::Requests && sizer == self.sizer && batch.min_size > self.queue_size {
            problems.push(ConfigProblem::new(
                "batch::min_size",
                format!(
                    "must be less than or equal to queue_size ({}) when the batch and the \
                     queue use the same sizer",
                    self.queue_size
                ),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut reported = std::collections::BTreeSet::new();
        for key in &batch.partition.metadata_keys {
            let lower = key.to_ascii_lowercase();
            if !seen.insert(lower.clone()) && reported.insert(lower.clone()) {
                problems.push(ConfigProblem::new(
                    "batch::partition::metadata_keys",
                    format!("duplicate entry `{lower}` (keys are case-insensitive)"),
                ));
            }
        }
        problems
    }
}

/// Everything the helper needs from an exporter's config.
#[derive(Debug, Clone, PartialEq)]
pub struct ExporterSettings {
    /// Per-attempt timeout; zero means none.
    pub timeout: Duration,
    /// Retry policy.
    pub retry: RetryConfig,
    /// Queue settings.
    pub queue: QueueConfig,
}

impl Default for ExporterSettings {
    fn default() -> Self {
        ExporterSettings {
            timeout: DEFAULT_TIMEOUT,
            retry: RetryConfig::default(),
            queue: QueueConfig::default(),
        }
    }
}

impl ExporterSettings {
    /// Settings for exporters that write locally: no queue, no retry, no timeout.
    pub fn direct() -> Self {
        ExporterSettings {
            timeout: Duration::ZERO,
            retry: RetryConfig::disabled(),
            queue: QueueConfig::disabled(),
        }
    }
}

/// Validates the three shared blocks, prefixing each problem with its block's key.
pub fn validate_shared(retry: &RetryConfig, queue: &QueueConfig) -> Vec<ConfigProblem> {
    let prefixed = |prefix: &str, problems: Vec<ConfigProblem>| {
        problems
            .into_iter()
            .map(|p| ConfigProblem::new(format!("{prefix}::{}", p.path), p.message))
            .collect::<Vec<_>>()
    };
    let mut all = prefixed("retry_on_failure", retry.validate());
    all.extend(prefixed("sending_queue", queue.validate()));
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_core::factory::decode_config;

    #[test]
    fn defaults_match_upstream() {
        let r: RetryConfig = decode_config(&serde_json::Value::Null).unwrap();
        assert_eq!(r.initial_interval, Duration::from_secs(5));
        assert_eq!(r.max_interval, Duration::from_secs(30));
        assert_eq!(r.max_elapsed_time, Duration::from_secs(300));
        assert_eq!((r.multiplier, r.randomization_factor), (1.5, 0.5));
        let q: QueueConfig = decode_config(&serde_json::json!({})).unwrap();
        assert_eq!(
            (q.num_consumers, q.queue_size, q.sizer),
            (10, 1000, Sizer::Requests)
        );
    }

    #[test]
    fn rejects_bad_values() {
        let e = decode_config::<RetryConfig>(&serde_json::json!({
            "initial_interval": "10s", "max_interval": "1s", "max_elapsed_time": "5s"
        }))
        .unwrap_err();
        let paths: Vec<_> = e.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["max_interval", "max_elapsed_time"]);
        let e = decode_config::<QueueConfig>(&serde_json::json!({"sizer": "pages"})).unwrap_err();
        assert_eq!(e[0].path, "sizer");
        let e = decode_config::<QueueConfig>(&serde_json::json!({"queue_size": 0})).unwrap_err();
        assert_eq!(e[0].path, "queue_size");
        let q = decode_config::<QueueConfig>(&serde_json::json!({"storage": "file_storage/q"}))
            .unwrap();
        assert_eq!(q.storage.as_deref(), Some("file_storage/q"));
        let e = decode_config::<QueueConfig>(&serde_json::json!({"storage": "file storage/"}))
            .unwrap_err();
        assert_eq!(e[0].path, "storage");
    }
}
