use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use stratus_config::{PipelineId, ServiceConfig};
use stratus_core::factory::{BuildContext, Factories, Processor, SignalConsumers};
use stratus_core::telemetry::{PerSignal, Registry};
use stratus_core::{
    BoxConsumer, Component, ComponentError, ComponentId, ConsumeError, Consumer, Fanout, Health,
    Host, Kind, Signal, Telemetry,
};
use tokio::sync::watch;
use tokio::time::Instant;

/// A component could not be built.
#[derive(Debug, thiserror::Error)]
#[error("{kind} `{id}`: {message}")]
pub struct BuildError {
    /// The component's kind.
    pub kind: Kind,
    /// The component's id.
    pub id: ComponentId,
    /// What went wrong.
    pub message: String,
}

struct Started {
    kind: Kind,
    id: String,
    component: Arc<dyn Component>,
}

/// The running collector: every component, in start order.
pub struct Service {
    extensions: Vec<Started>,
    exporters: Vec<Started>,
    processors: Vec<Started>,
    receivers: Vec<Started>,
    health: watch::Sender<Health>,
    host: Host,
}

/// Counts `otelcol_processor_incoming_items` before the processor and
/// `otelcol_processor_outgoing_items` after it.
struct Counted {
    counter: PerSignal,
    next: BoxConsumer,
}

#[async_trait]
impl Consumer for Counted {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        self.counter
            .get(data.signal())
            .add(data.item_count() as u64);
        self.next.consume(data).await
    }
}

/// A processor behind its incoming-items counter.
struct CountedProcessor {
    incoming: PerSignal,
    inner: Arc<dyn Processor>,
}

#[async_trait]
impl Consumer for CountedProcessor {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        self.incoming
            .get(data.signal())
            .add(data.item_count() as u64);
        self.inner.consume(data).await
    }
}

/// `otelcol_processor_{incoming,outgoing}_items{processor, otel_signal}` for each signal.
fn items_counter(registry: &Registry, what: &str, processor: &str) -> PerSignal {
    let name = format!("otelcol_processor_{what}_items");
    let help = format!(
        "Number of items {}.",
        if what == "incoming" {
            "passed to the processor"
        } else {
            "emitted from the processor"
        }
    );
    PerSignal(Signal::ALL.map(|s| {
        registry.counter(
            &name,
            &help,
            &[("processor", processor), ("otel_signal", s.as_str())],
        )
    }))
}

impl Service {
    /// Builds every component of `config`. Nothing is started yet.
    pub async fn build(
        config: &ServiceConfig,
        factories: &Factories,
        registry: &Registry,
    ) -> Result<Service, BuildError> {
        let (health, health_rx) = watch::channel(Health::Starting);
        let host = Host::new(health_rx);
        let pipelines = &config.service.pipelines;

        let signals_of = |kind: Kind, id: &ComponentId| -> Vec<Signal> {
            let set: BTreeSet<Signal> = pipelines
                .iter()
                .filter(|(_, p)| {
                    let list = match kind {
                        Kind::Receiver => &p.receivers,
                        Kind::Processor => &p.processors,
                        _ => &p.exporters,
                    };
                    list.contains(id)
                })
                .map(|(pid, _)| pid.signal)
                .collect();
            set.into_iter().collect()
        };
        let ctx = |id: &ComponentId, signals: Vec<Signal>| {
            BuildContext::new(id.clone(), signals, registry.clone())
        };
        let err = |kind: Kind, id: &ComponentId, message: String| BuildError {
            kind,
            id: id.clone(),
            message,
        };

        // Extensions, in the order service.extensions lists them.
        let mut extensions = Vec::new();
        let mut storages = BTreeMap::new();
        for id in &config.service.extensions {
            let raw = config.extensions.get(id).unwrap_or(&Value::Null);
            let factory = factories
                .extensions
                .get(id.ty())
                .ok_or_else(|| err(Kind::Extension, id, "unknown extension type".into()))?;
            let extension = factory
                .build(ctx(id, Vec::new()), raw)
                .await
                .map_err(|e| err(Kind::Extension, id, e.to_string()))?;
            if let Some(storage) = extension.storage() {
                storages.insert(id.clone(), storage);
            }
            extensions.push(Started {
                kind: Kind::Extension,
                id: id.to_string(),
                component: extension,
            });
        }

        // Exporters: one instance per id used by any pipeline.
        let used_exporters: BTreeSet<&ComponentId> = pipelines
            .values()
            .flat_map(|p| p.exporters.iter())
            .collect();
        let mut exporter_consumers: BTreeMap<ComponentId, BoxConsumer> = BTreeMap::new();
        let mut exporters = Vec::new();
        for id in used_exporters {
            let raw = config.exporters.get(id).unwrap_or(&Value::Null);
            let factory = factories
                .exporters
                .get(id.ty())
                .ok_or_else(|| err(Kind::Exporter, id, "unknown exporter type".into()))?;
            let exporter = factory
                .build(
                    ctx(id, signals_of(Kind::Exporter, id)).with_storages(storages.clone()),
                    raw,
                )
                .await
                .map_err(|e| err(Kind::Exporter, id, e.to_string()))?;
            exporter_consumers.insert(id.clone(), exporter.clone());
            exporters.push(Started {
                kind: Kind::Exporter,
                id: id.to_string(),
                component: exporter,
            });
        }

        // Each pipeline's processors, last to first.
        let mut pipeline_heads: BTreeMap<&PipelineId, BoxConsumer> = BTreeMap::new();
        let mut processors = Vec::new();
        for (pid, pipeline) in pipelines {
            let mut next = Fanout::wrap(
                pipeline
                    .exporters
                    .iter()
                    .filter_map(|id| exporter_consumers.get(id).cloned())
                    .collect(),
            );
            let mut built = Vec::new();
            for id in pipeline.processors.iter().rev() {
                let raw = config.processors.get(id).unwrap_or(&Value::Null);
                let factory = factories
                    .processors
                    .get(id.ty())
                    .ok_or_else(|| err(Kind::Processor, id, "unknown processor type".into()))?;
                let label = id.to_string();
                let outgoing = items_counter(registry, "outgoing", &label);
                let incoming = items_counter(registry, "incoming", &label);
                let counted_next: BoxConsumer = Arc::new(Counted {
                    counter: outgoing,
                    next,
                });
                let processor = factory
                    .build(ctx(id, vec![pid.signal]), raw, counted_next)
                    .await
                    .map_err(|e| err(Kind::Processor, id, format!("in pipeline {pid}: {e}")))?;
                built.push(Started {
                    kind: Kind::Processor,
                    id: format!("{id} (pipeline {pid})"),
                    component: processor.clone(),
                });
                next = Arc::new(CountedProcessor {
                    incoming,
                    inner: processor,
                });
            }
            // Shutdown goes first to last, so keep pipeline order.
            built.reverse();
            processors.extend(built);
            pipeline_heads.insert(pid, next);
        }

        // Receivers: one instance per id, fanning out to every pipeline that lists it.
        let used_receivers: BTreeSet<&ComponentId> = pipelines
            .values()
            .flat_map(|p| p.receivers.iter())
            .collect();
        let mut receivers = Vec::new();
        for id in used_receivers {
            let mut consumers = SignalConsumers::default();
            for signal in Signal::ALL {
                let heads: Vec<BoxConsumer> = pipelines
                    .iter()
                    .filter(|(pid, p)| pid.signal == signal && p.receivers.contains(id))
                    .filter_map(|(pid, _)| pipeline_heads.get(pid).cloned())
                    .collect();
                if !heads.is_empty() {
                    consumers.set(signal, Fanout::wrap(heads));
                }
            }
            let raw = config.receivers.get(id).unwrap_or(&Value::Null);
            let factory = factories
                .receivers
                .get(id.ty())
                .ok_or_else(|| err(Kind::Receiver, id, "unknown receiver type".into()))?;
            let component = factory
                .build(ctx(id, signals_of(Kind::Receiver, id)), raw, consumers)
                .await
                .map_err(|e| err(Kind::Receiver, id, e.to_string()))?;
            receivers.push(Started {
                kind: Kind::Receiver,
                id: id.to_string(),
                component,
            });
        }

        Ok(Service {
            extensions,
            exporters,
            processors,
            receivers,
            health,
            host,
        })
    }

    /// The host components see.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Starts extensions, exporters, processors, then receivers. When one fails to
    /// start, what already started is shut down again and the error returned.
    pub async fn start(&self) -> Result<(), ComponentError> {
        let mut started: Vec<&Started> = Vec::new();
        let order = self
            .extensions
            .iter()
            .chain(&self.exporters)
            .chain(self.processors.iter().rev())
            .chain(&self.receivers);
        for c in order {
            tracing::debug!(kind = %c.kind, id = %c.id, "starting");
            if let Err(e) = c.component.start(&self.host).await {
                for s in started.iter().rev() {
                    let _ = s.component.shutdown().await;
                }
                return Err(ComponentError::new(format!(
                    "failed to start {} {}: {e}",
                    c.kind, c.id
                )));
            }
            started.push(c);
        }
        let _ = self.health.send(Health::Ready);
        Ok(())
    }

    /// Stops receivers, then flushes processors, then drains exporter queues and stops
    /// exporters, then extensions — all within `deadline`. Returns whether everything
    /// finished in time.
    pub async fn shutdown(&self, deadline: Duration) -> bool {
        let _ = self.health.send(Health::Stopping);
        let until = Instant::now() + deadline;
        let mut in_time = true;
        for c in self
            .receivers
            .iter()
            .chain(&self.processors)
            .chain(&self.exporters)
            .chain(self.extensions.iter().rev())
        {
            tracing::debug!(kind = %c.kind, id = %c.id, "stopping");
            // Extensions (health check) get a moment even when the data path ran late.
            let limit = if c.kind == Kind::Extension {
                until.max(Instant::now() + Duration::from_secs(1))
            } else {
                until
            };
            match tokio::time::timeout_at(limit, c.component.shutdown()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(kind = %c.kind, id = %c.id, error = %e, "shutdown failed")
                }
                Err(_) => {
                    in_time = false;
                    tracing::error!(
                        kind = %c.kind,
                        id = %c.id,
                        "shutdown deadline passed; data still held by this component is lost",
                    );
                }
            }
        }
        in_time
    }
}
