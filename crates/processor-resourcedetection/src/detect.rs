//! Running the detectors: all at once, each retried until the timeout, then merged in
//! the configured order (earlier detectors win for the same key), as upstream's
//! resource provider does.

use std::sync::Arc;
use std::time::Duration;

use stratus_core::telemetry::Registry;
use tokio::time::Instant;

use crate::config::ResourceDetectionConfig;
use crate::detectors::{self, DetectContext, DetectError, DetectedResource, Detector};
use crate::environment::Environment;
use crate::http::MetadataClient;

/// Detection failed: every failing detector with its reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resource detection failed: {}", .failures.iter().map(|(d, m)| format!("{d}: {m}")).collect::<Vec<_>>().join("; "))]
pub struct DetectionError {
    /// `(detector, reason)` for each detector that failed, in the configured order.
    pub failures: Vec<(String, String)>,
}

/// The first wait before a failed detector is tried again (then doubled), as upstream.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// How long past the timeout a detector may take to give its own answer before it is
/// abandoned (its requests are bounded by the timeout already).
const GRACE: Duration = Duration::from_millis(200);
/// Histogram bounds for detection time, in seconds.
const DURATION_BOUNDS: &[f64] = &[0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Internal metrics of one processor's detection.
#[derive(Clone, Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    processor: String,
}

impl Metrics {
    pub(crate) fn new(registry: Registry, processor: String) -> Self {
        Metrics {
            registry,
            processor,
        }
    }

    fn record(&self, detector: &str, outcome: &str, error_type: Option<&str>, took: Duration) {
        let mut labels = vec![
            ("processor", self.processor.as_str()),
            ("detector", detector),
            ("outcome", outcome),
        ];
        self.registry
            .histogram(
                "otelcol_resourcedetection_detector_duration_seconds",
                "Time a resource detector took, retries included.",
                &labels,
                DURATION_BOUNDS,
            )
            .record(took.as_secs_f64());
        if let Some(e) = error_type {
            labels.push(("error_type", e));
        }
        self.registry
            .counter(
                "otelcol_resourcedetection_detector_results",
                "Resource detection outcomes by detector.",
                &labels,
            )
            .add(1);
    }

    fn detected(&self, n: usize) {
        self.registry
            .gauge(
                "otelcol_resourcedetection_attributes_detected",
                "Number of attributes in the detected resource.",
                &[("processor", self.processor.as_str())],
            )
            .set(n as f64);
    }
}

/// Runs the detectors `config` lists against `env` and merges what they find; the
/// call is bounded by `config.timeout` (plus a short grace for detectors to give up).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::sync::Arc;
/// use stratus_processor_resourcedetection::{detect, FixedEnvironment, ResourceDetectionConfig};
///
/// let env = FixedEnvironment::new().with_var("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod");
/// let found = detect(&ResourceDetectionConfig::default(), Arc::new(env)).await.unwrap();
/// assert_eq!(found.get_str("deployment.environment"), Some("prod"));
/// # }
/// ```
pub async fn detect(
    config: &ResourceDetectionConfig,
    env: Arc<dyn Environment>,
) -> Result<DetectedResource, DetectionError> {
    run(&detectors::build(config), env, config.timeout, None).await
}

/// Runs `detectors` in parallel, each retried with backoff until `timeout`, and merges
/// their results in order.
pub(crate) async fn run(
    detectors: &[Arc<dyn Detector>],
    env: Arc<dyn Environment>,
    timeout: Duration,
    metrics: Option<&Metrics>,
) -> Result<DetectedResource, DetectionError> {
    tracing::info!(
        detectors = ?detectors.iter().map(|d| d.name()).collect::<Vec<_>>(),
        "began detecting resource information"
    );
    let cx = DetectContext {
        env,
        http: MetadataClient::new(),
        deadline: Instant::now() + timeout,
    };
    let results = futures::future::join_all(
        detectors
            .iter()
            .map(|d| run_one(d.as_ref(), &cx, timeout, metrics)),
    )
    .await;
    let mut merged = DetectedResource::default();
    let mut failures = Vec::new();
    for (d, result) in detectors.iter().zip(results) {
        match result {
            Ok(found) => {
                if merged.schema_url.is_empty() {
                    merged.schema_url = found.schema_url;
                }
                for kv in found.attributes {
                    if !merged.attributes.iter().any(|m| m.key == kv.key) {
                        merged.attributes.push(kv);
                    }
                }
            }
            Err(e) => failures.push((d.name().to_string(), e.message)),
        }
    }
    if !failures.is_empty() {
        return Err(DetectionError { failures });
    }
    if let Some(m) = metrics {
        m.detected(merged.attributes.len());
    }
    tracing::info!(
        resource = %describe(&merged),
        "detected resource information"
    );
    Ok(merged)
}

/// `key=value` pairs for the log line.
fn describe(r: &DetectedResource) -> String {
    use stratus_core::pdata::common::any_value::Value;
    r.attributes
        .iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::StringValue(s)) => s.clone(),
                Some(other) => format!("{other:?}"),
                None => String::new(),
            };
            format!("{}={v}", kv.key)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Errors that retrying cannot fix: the input or the config is wrong.
fn permanent(e: &DetectError) -> bool {
    matches!(e.code, "invalid_input" | "unavailable_attribute")
}

async fn run_one(
    d: &dyn Detector,
    cx: &DetectContext,
    timeout: Duration,
    metrics: Option<&Metrics>,
) -> Result<DetectedResource, DetectError> {
    let started = Instant::now();
    let mut wait = FIRST_RETRY;
    let mut first_error: Option<&'static str> = None;
    let result = loop {
        let attempt = tokio::time::timeout_at(cx.deadline + GRACE, d.detect(cx)).await;
        let e = match attempt {
            Ok(Ok(found)) => break Ok(found),
            Ok(Err(e)) => e,
            Err(_) => {
                break Err(DetectError::new(
                    "timeout",
                    format!("no result within the timeout ({timeout:?})"),
                ));
            }
        };
        tracing::warn!(detector = d.name(), error = %e, "failed to detect resource");
        first_error.get_or_insert(e.code);
        let wake = Instant::now() + wait;
        if permanent(&e) || wake >= cx.deadline {
            break Err(e);
        }
        tokio::time::sleep_until(wake).await;
        wait *= 2;
    };
    if let Some(m) = metrics {
        match &result {
            Ok(_) => m.record(d.name(), "success", None, started.elapsed()),
            Err(e) => m.record(
                d.name(),
                "failure",
                Some(first_error.unwrap_or(e.code)),
                started.elapsed(),
            ),
        }
    }
    result
}
