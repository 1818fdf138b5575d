//! The `loadbalancing` exporter factory.

use std::sync::Arc;

use async_trait::async_trait;
use stratus_core::factory::{BuildContext, BuildExporter, Exporter, Factory, Stability};
use stratus_core::{ComponentError, Signal};

use crate::config::LoadBalancingConfig;
use crate::exporter::LoadBalancer;
use crate::resolver::{Lookup, SystemLookup};

/// The `loadbalancing` exporter: OTLP/gRPC to a set of
/// backends, each trace (or service, metric, stream) to one of them.
#[derive(Clone)]
pub struct LoadBalancingExporterFactory {
    lookup: Arc<dyn Lookup>,
}

impl Default for LoadBalancingExporterFactory {
    /// Resolves `dns` names with the system resolver.
    fn default() -> Self {
        LoadBalancingExporterFactory {
            lookup: Arc::new(SystemLookup),
        }
    }
}

impl std::fmt::Debug for LoadBalancingExporterFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadBalancingExporterFactory")
            .finish_non_exhaustive()
    }
}

impl LoadBalancingExporterFactory {
    /// A factory whose `dns` resolvers look names up with `lookup` (tests answer for
    /// DNS this way).
    pub fn with_lookup(lookup: Arc<dyn Lookup>) -> Self {
        LoadBalancingExporterFactory { lookup }
    }
}

impl Factory for LoadBalancingExporterFactory {
    type Config = LoadBalancingConfig;
    const TYPE: &'static str = "loadbalancing";
    /// Accepted as well: the spelling of newer upstream configs.
    /// As upstream: traces and logs beta, metrics development.
    const SIGNALS: &'static [(Signal, Stability)] = &[
        (Signal::Traces, Stability::Beta),
        (Signal::Metrics, Stability::Development),
        (Signal::Logs, Stability::Beta),
    ];

    fn extension_references(&self, config: &Self::Config) -> Vec<(String, String)> {
        stratus_otlp_client::config::auth_reference(&config.protocol.otlp.auth)
            .into_iter()
            .map(|(key, id)| (format!("protocol::otlp::{key}"), id))
            .collect()
    }
}

#[async_trait]
impl BuildExporter for LoadBalancingExporterFactory {
    async fn create(
        &self,
        ctx: BuildContext,
        config: LoadBalancingConfig,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        Ok(Arc::new(LoadBalancer::new(
            ctx,
            config,
            self.lookup.clone(),
        )?))
    }
}
