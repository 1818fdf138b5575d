//! The `memory_limiter` processor factory.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use stratus_core::factory::{
    BuildContext, ConfigProblem, FactoryInfo, Processor, ProcessorFactory, Stability,
    config_for_build, decode_config,
};
use stratus_core::{BoxConsumer, ComponentError, Signal};

use crate::config::MemoryLimiterConfig;
use crate::memory::{HeapInUse, Limits, MemoryUsage, ProcessRss, SystemMemory};
use crate::processor::MemoryLimiter;

/// Builds `memory_limiter` processors that measure this process's resident memory.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryLimiterProcessorFactory;

const SIGNALS: &[(Signal, Stability)] = &[
    (Signal::Traces, Stability::Beta),
    (Signal::Metrics, Stability::Beta),
    (Signal::Logs, Stability::Beta),
];

impl FactoryInfo for MemoryLimiterProcessorFactory {
    fn type_name(&self) -> &'static str {
        "memory_limiter"
    }

    fn signals(&self) -> &'static [(Signal, Stability)] {
        SIGNALS
    }

    fn check_config(&self, raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        decode_config::<MemoryLimiterConfig>(raw).map(|_| ())
    }
}

#[async_trait]
impl ProcessorFactory for MemoryLimiterProcessorFactory {
    async fn build(
        &self,
        ctx: BuildContext,
        raw: &Value,
        next: BoxConsumer,
    ) -> Result<Arc<dyn Processor>, ComponentError> {
        let config = config_for_build::<MemoryLimiterConfig>(raw)?;
        let limits = Limits::from_config(&config, &SystemMemory::default()).map_err(|e| {
            ComponentError::new(format!(
                "processor `{}`: cannot determine the memory available for \
                 limit_percentage ({e}); set limit_mib instead",
                ctx.id
            ))
        })?;
        // The live heap when the binary accounts for it; resident memory otherwise.
        let (usage, measured): (Arc<dyn MemoryUsage>, &str) =
            if stratus_core::memory::heap_allocated().is_some() {
                (Arc::new(HeapInUse), "heap")
            } else {
                (Arc::new(ProcessRss::new()), "rss")
            };
        tracing::info!(
            processor = %ctx.id,
            hard_limit_bytes = limits.hard_bytes,
            soft_limit_bytes = limits.soft_bytes,
            check_interval = ?config.check_interval,
            measured,
            "memory limiter configured"
        );
        Ok(Arc::new(MemoryLimiter::new(
            &ctx,
            limits,
            config.check_interval,
            usage,
            next,
        )))
    }
}
