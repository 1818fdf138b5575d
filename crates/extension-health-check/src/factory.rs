//! The `health_check` extension factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{BuildContext, BuildExtension, Extension, Factory, Stability};
use stratus_core::{ComponentError, Signal};

use crate::config::HealthCheckConfig;
use crate::extension::HealthCheckExtension;

/// Builds `health_check` extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct HealthCheckExtensionFactory;

impl Factory for HealthCheckExtensionFactory {
    type Config = HealthCheckConfig;
    const TYPE: &'static str = "health_check";
    const SIGNALS: &'static [(Signal, Stability)] = &[];
}

#[async_trait]
impl BuildExtension for HealthCheckExtensionFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: HealthCheckConfig,
    ) -> Result<Arc<dyn Extension>, ComponentError> {
        Ok(Arc::new(HealthCheckExtension::new(
            ctx.id.to_string(),
            config,
        )))
    }
}
