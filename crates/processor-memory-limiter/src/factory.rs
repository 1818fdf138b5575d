//! The `memory_limiter` processor factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{
    ALL_SIGNALS_BETA, BuildContext, BuildProcessor, Factory, Processor, Stability,
};
use stratus_core::{BoxConsumer, ComponentError, Signal};

use crate::config::MemoryLimiterConfig;
use crate::memory::{HeapInUse, Limits, MemoryUsage, ProcessRss, SystemMemory};
use crate::processor::MemoryLimiter;

/// Builds `memory_limiter` processors that measure this process's live heap (resident
/// memory where no heap accounting is installed).
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryLimiterProcessorFactory;

impl Factory for MemoryLimiterProcessorFactory {
    type Config = MemoryLimiterConfig;
    const TYPE: &'static str = "memory_limiter";
    const SIGNALS: &'static [(Signal, Stability)] = ALL_SIGNALS_BETA;
}

#[async_trait]
impl BuildProcessor for MemoryLimiterProcessorFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: MemoryLimiterConfig,
        next: BoxConsumer,
    ) -> Result<Arc<dyn Processor>, ComponentError> {
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
            per_request = usage.is_live(),
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
