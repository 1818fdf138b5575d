//! The `redaction` processor factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{BuildContext, BuildProcessor, Factory, Processor, Stability};
use stratus_core::{BoxConsumer, ComponentError, Signal};

use crate::config::RedactionConfig;
use crate::processor::RedactionProcessor;
use crate::redact::Redactor;

/// Builds `redaction` processors.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedactionProcessorFactory;

impl Factory for RedactionProcessorFactory {
    type Config = RedactionConfig;
    const TYPE: &'static str = "redaction";
    /// Upstream's stability: beta for traces, alpha for metrics and logs.
    const SIGNALS: &'static [(Signal, Stability)] = &[
        (Signal::Traces, Stability::Beta),
        (Signal::Metrics, Stability::Alpha),
        (Signal::Logs, Stability::Alpha),
    ];
}

#[async_trait]
impl BuildProcessor for RedactionProcessorFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: RedactionConfig,
        next: BoxConsumer,
    ) -> Result<Arc<dyn Processor>, ComponentError> {
        let redactor = Redactor::new(&config).map_err(|problems| {
            let details: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            ComponentError::new(format!(
                "processor `{}`: invalid config: {}",
                ctx.id,
                details.join("; ")
            ))
        })?;
        if redactor.removes_every_attribute() {
            tracing::warn!(
                processor = %ctx.id,
                "allow_all_keys is false and allowed_keys is empty: this redaction processor \
                 removes every attribute (and every key of map log bodies) that is not in \
                 ignored_keys; set allow_all_keys: true to only mask values"
            );
        }
        tracing::debug!(
            processor = %ctx.id,
            allow_all_keys = config.allow_all_keys,
            allowed_keys = config.allowed_keys.len(),
            blocked_values = config.blocked_values.len(),
            blocked_key_patterns = config.blocked_key_patterns.len(),
            hash_function = %config.hash_function,
            "redaction processor configured"
        );
        Ok(Arc::new(RedactionProcessor::new(redactor, next)))
    }
}
