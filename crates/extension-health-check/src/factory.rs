//! The `health_check` extension factory.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use stratus_core::factory::{
    BuildContext, ConfigProblem, Extension, ExtensionFactory, FactoryInfo, Stability,
    config_for_build, decode_config,
};
use stratus_core::{ComponentError, Signal};

use crate::config::HealthCheckConfig;
use crate::extension::HealthCheckExtension;

/// Builds `health_check` extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct HealthCheckExtensionFactory;

impl FactoryInfo for HealthCheckExtensionFactory {
    fn type_name(&self) -> &'static str {
        "health_check"
    }

    fn signals(&self) -> &'static [(Signal, Stability)] {
        &[]
    }

    fn check_config(&self, raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        decode_config::<HealthCheckConfig>(raw).map(|_| ())
    }
}

#[async_trait]
impl ExtensionFactory for HealthCheckExtensionFactory {
    async fn build(
        &self,
        ctx: BuildContext,
        raw: &Value,
    ) -> Result<Arc<dyn Extension>, ComponentError> {
        let config = config_for_build::<HealthCheckConfig>(raw)?;
        Ok(Arc::new(HealthCheckExtension::new(
            ctx.id.to_string(),
            config,
        )))
    }
}
