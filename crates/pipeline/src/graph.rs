use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use stratus_config::{PipelineId, ServiceConfig};
use stratus_core::factory::{BuildContext, Factories, Processor, SignalConsumers};
use stratus_core::tap::{Redact, TapPoint};
use stratus_core::telemetry::{Counter, PerSignal, Registry};
use stratus_core::{
    Admission, BoxConsumer, Component, ComponentError, ComponentId, ConsumeError, Consumer,
    Destination, Fanout, Health, Host, Kind, PipelineShape, Prepared, Signal, Telemetry, Topology,
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

#[derive(Clone)]
struct Started {
    kind: Kind,
    id: String,
    component: Arc<dyn Component>,
}

/// The running collector: every component, in start order.
pub struct Service {
    extensions: Vec<Started>,
    exporters: Vec<Started>,
    connectors: Vec<Started>,
    /// Processors in start order: downstream pipelines first, each last to first.
    processors: Vec<Started>,
    /// Processors and connectors in shutdown order: pipelines upstream first, each
    /// pipeline's processors first to last, a connector once every pipeline feeding it
    /// has stopped.
    stop_path: Vec<Started>,
    receivers: Vec<Started>,
    health: watch::Sender<Health>,
    host: Host,
    registry: Registry,
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

    fn can_prepare(&self) -> bool {
        self.next.can_prepare()
    }

    async fn prepare(&self, data: Telemetry) -> Prepared {
        counted_prepare(&self.counter, self.next.as_ref(), data).await
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        self.next.destinations()
    }
}

/// Offers what passes to a component's tap point: after a receiver or connector, in
/// front of an exporter. Free while nobody taps.
struct Tapped {
    tap: Arc<TapPoint>,
    next: BoxConsumer,
}

#[async_trait]
impl Consumer for Tapped {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        self.tap.offer(&data);
        self.next.consume(data).await
    }

    fn can_prepare(&self) -> bool {
        self.next.can_prepare()
    }

    async fn prepare(&self, data: Telemetry) -> Prepared {
        self.tap.offer(&data);
        self.next.prepare(data).await
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        self.next.destinations()
    }
}

fn tapped(tap: Arc<TapPoint>, next: BoxConsumer) -> BoxConsumer {
    Arc::new(Tapped { tap, next })
}

/// Prepares `data` in `next`, counting its items in `counter` once committed.
async fn counted_prepare(counter: &PerSignal, next: &dyn Consumer, data: Telemetry) -> Prepared {
    let signal = data.signal();
    let items = data.item_count() as u64;
    match next.prepare(data).await {
        Prepared::Ready(admission) => Prepared::Ready(Box::new(CountedAdmission {
            admission,
            counter: counter.get(signal).clone(),
            items,
        })),
        other => other,
    }
}

/// An admission that counts its items when committed.
struct CountedAdmission {
    admission: Box<dyn Admission>,
    counter: Counter,
    items: u64,
}

#[async_trait]
impl Admission for CountedAdmission {
    async fn commit(self: Box<Self>) -> Result<(), ConsumeError> {
        self.counter.add(self.items);
        self.admission.commit().await
    }
}

/// A processor behind its incoming-items counter.
struct CountedProcessor {
    incoming: PerSignal,
    inner: Arc<dyn Processor>,
    /// The destinations of the pipeline's exporters.
    destinations: Vec<Arc<Destination>>,
}

#[async_trait]
impl Consumer for CountedProcessor {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        self.incoming
            .get(data.signal())
            .add(data.item_count() as u64);
        self.inner.consume(data).await
    }

    fn can_prepare(&self) -> bool {
        self.inner.can_prepare()
    }

    async fn prepare(&self, data: Telemetry) -> Prepared {
        let inner: &dyn Consumer = self.inner.as_ref();
        counted_prepare(&self.incoming, inner, data).await
    }

    fn destinations(&self) -> Vec<Arc<Destination>> {
        self.destinations.clone()
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
        let host = Host::new(health_rx).with_topology(topology(config));
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
        let err = |kind: Kind, id: &ComponentId, message: String| BuildError {
            kind,
            id: id.clone(),
            message,
        };

        // Extensions, in the order service.extensions lists them.
        let mut extensions = Vec::new();
        let mut storages = BTreeMap::new();
        let mut authenticators = BTreeMap::new();
        for id in &config.service.extensions {
            let raw = config.extensions.get(id).unwrap_or(&Value::Null);
            let factory = factories
                .extensions
                .get(id.ty())
                .ok_or_else(|| err(Kind::Extension, id, "unknown extension type".into()))?;
            // An extension sees the authenticators listed before it (the admin
            // endpoint behind `basicauth`, say).
            let ctx = BuildContext::new(id.clone(), Vec::new(), registry.clone())
                .with_authenticators(authenticators.clone());
            let extension = factory
                .build(ctx, raw)
                .await
                .map_err(|e| err(Kind::Extension, id, e.to_string()))?;
            if let Some(storage) = extension.storage() {
                storages.insert(id.clone(), storage);
            }
            if let Some(auth) = extension.authenticators() {
                authenticators.insert(id.clone(), auth);
            }
            extensions.push(Started {
                kind: Kind::Extension,
                id: id.to_string(),
                component: extension,
            });
        }

        // Every other component sees the extensions' services.
        let ctx = |id: &ComponentId, signals: Vec<Signal>| {
            BuildContext::new(id.clone(), signals, registry.clone())
                .with_storages(storages.clone())
                .with_authenticators(authenticators.clone())
        };

        // Exporters: one instance per id used by any pipeline.
        let is_connector = |id: &ComponentId| config.connectors.contains_key(id);
        let used_exporters: BTreeSet<&ComponentId> = pipelines
            .values()
            .flat_map(|p| p.exporters.iter())
            .filter(|id| !is_connector(id))
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
                .build(ctx(id, signals_of(Kind::Exporter, id)), raw)
                .await
                .map_err(|e| err(Kind::Exporter, id, e.to_string()))?;
            let tap = registry.tap_point(Kind::Exporter, &id.to_string());
            exporter_consumers.insert(id.clone(), tapped(tap, exporter.clone()));
            exporters.push(Started {
                kind: Kind::Exporter,
                id: id.to_string(),
                component: exporter,
            });
        }

        // Pipelines downstream of a connector are built before the pipelines feeding it.
        let order = pipeline_order(config, factories)?;
        let mut pipeline_heads: BTreeMap<&PipelineId, BoxConsumer> = BTreeMap::new();
        let mut processors = Vec::new();
        let mut pipeline_processors: BTreeMap<&PipelineId, Vec<Started>> = BTreeMap::new();
        let mut connector_instances: BTreeMap<(ComponentId, Signal, Signal), BoxConsumer> =
            BTreeMap::new();
        let mut connectors: Vec<(ComponentId, Started)> = Vec::new();
        // The redaction processors of each pipeline, in order: what a tap upstream of
        // them shows its samples through.
        let mut pipeline_redactors: BTreeMap<&PipelineId, Vec<Redact>> = BTreeMap::new();
        for pid in order.iter().rev() {
            let Some((pid, pipeline)) = pipelines.get_key_value(pid) else {
                continue;
            };
            let mut ends: Vec<BoxConsumer> = Vec::new();
            for id in &pipeline.exporters {
                if !is_connector(id) {
                    ends.extend(exporter_consumers.get(id).cloned());
                    continue;
                }
                let factory = factories
                    .connectors
                    .get(id.ty())
                    .ok_or_else(|| err(Kind::Connector, id, "unknown connector type".into()))?;
                for to in Signal::ALL {
                    if !factory
                        .routes()
                        .iter()
                        .any(|(f, t, _)| *f == pid.signal && *t == to)
                    {
                        continue;
                    }
                    let key = (id.clone(), pid.signal, to);
                    if let Some(existing) = connector_instances.get(&key) {
                        ends.push(existing.clone());
                        continue;
                    }
                    let heads: Vec<(String, BoxConsumer)> = pipelines
                        .iter()
                        .filter(|(rid, p)| rid.signal == to && p.receivers.contains(id))
                        .filter_map(|(rid, _)| {
                            pipeline_heads
                                .get(rid)
                                .map(|h| (rid.to_string(), h.clone()))
                        })
                        .collect();
                    if heads.is_empty() {
                        continue;
                    }
                    let raw = config.connectors.get(id).unwrap_or(&Value::Null);
                    let mut signals = vec![pid.signal, to];
                    signals.dedup();
                    let connector = factory
                        .build(ctx(id, signals), raw, pid.signal, to, heads)
                        .await
                        .map_err(|e| {
                            err(
                                Kind::Connector,
                                id,
                                format!("from {} to {to}: {e}", pid.signal),
                            )
                        })?;
                    let tap = registry.tap_point(Kind::Connector, &id.to_string());
                    for (rid, p) in pipelines {
                        if rid.signal == to && p.receivers.contains(id) {
                            for r in pipeline_redactors.get(rid).into_iter().flatten() {
                                tap.redact_with(r.clone());
                            }
                        }
                    }
                    let consumer = tapped(tap, connector.clone());
                    connector_instances.insert(key, consumer.clone());
                    connectors.push((
                        id.clone(),
                        Started {
                            kind: Kind::Connector,
                            id: format!("{id} ({} to {to})", pid.signal),
                            component: connector.clone(),
                        },
                    ));
                    ends.push(consumer);
                }
            }
            let mut next = Fanout::wrap(ends);
            let destinations = next.destinations();
            let mut built = Vec::new();
            let mut redactors: Vec<Redact> = Vec::new();
            for id in pipeline.processors.iter().rev() {
                let raw = config.processors.get(id).unwrap_or(&Value::Null);
                let factory = factories
                    .processors
                    .get(id.ty())
                    .ok_or_else(|| err(Kind::Processor, id, "unknown processor type".into()))?;
                let label = id.to_string();
                let outgoing = items_counter(registry, "outgoing", &label);
                let incoming = items_counter(registry, "incoming", &label);
                let tap = registry.tap_point(Kind::Processor, &id.to_string());
                for r in &redactors {
                    tap.redact_with(r.clone());
                }
                // The processor's output is counted, then tapped.
                let counted_next: BoxConsumer = Arc::new(Counted {
                    counter: outgoing,
                    next: tapped(tap, next),
                });
                let processor = factory
                    .build(ctx(id, vec![pid.signal]), raw, counted_next)
                    .await
                    .map_err(|e| err(Kind::Processor, id, format!("in pipeline {pid}: {e}")))?;
                if let Some(r) = processor.redactor() {
                    redactors.insert(0, r);
                }
                built.push(Started {
                    kind: Kind::Processor,
                    id: format!("{id} (pipeline {pid})"),
                    component: processor.clone(),
                });
                next = Arc::new(CountedProcessor {
                    incoming,
                    inner: processor,
                    destinations: destinations.clone(),
                });
            }
            // Start goes last to first; shutdown first to last.
            processors.extend(built.iter().cloned());
            built.reverse();
            pipeline_processors.insert(pid, built);
            pipeline_heads.insert(pid, next);
            pipeline_redactors.insert(pid, redactors);
        }

        // Shutdown: upstream pipelines first; a connector after every pipeline feeding it.
        let mut stop_path = Vec::new();
        let mut stopped_connectors = BTreeSet::new();
        for pid in &order {
            if let Some(pipeline) = pipelines.get(pid) {
                for (cid, c) in &connectors {
                    if pipeline.receivers.contains(cid) && stopped_connectors.insert(c.id.clone()) {
                        stop_path.push(c.clone());
                    }
                }
            }
            stop_path.extend(pipeline_processors.remove(pid).unwrap_or_default());
        }
        for (_, c) in &connectors {
            if stopped_connectors.insert(c.id.clone()) {
                stop_path.push(c.clone());
            }
        }
        let connectors: Vec<Started> = connectors.into_iter().map(|(_, c)| c).collect();

        // Receivers: one instance per id, fanning out to every pipeline that lists it.
        let used_receivers: BTreeSet<&ComponentId> = pipelines
            .values()
            .flat_map(|p| p.receivers.iter())
            .filter(|id| !is_connector(id))
            .collect();
        let mut receivers = Vec::new();
        for id in used_receivers {
            let mut consumers = SignalConsumers::default();
            let tap = registry.tap_point(Kind::Receiver, &id.to_string());
            for signal in Signal::ALL {
                let fed: Vec<&PipelineId> = pipelines
                    .iter()
                    .filter(|(pid, p)| pid.signal == signal && p.receivers.contains(id))
                    .map(|(pid, _)| pid)
                    .collect();
                let heads: Vec<BoxConsumer> = fed
                    .iter()
                    .filter_map(|pid| pipeline_heads.get(pid).cloned())
                    .collect();
                for r in fed
                    .iter()
                    .filter_map(|pid| pipeline_redactors.get(pid))
                    .flatten()
                {
                    tap.redact_with(r.clone());
                }
                if !heads.is_empty() {
                    consumers.set(signal, tapped(tap.clone(), Fanout::wrap(heads)));
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
            connectors,
            processors,
            stop_path,
            receivers,
            health,
            host,
            registry: registry.clone(),
        })
    }

    /// The host components see.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Starts extensions, exporters, connectors, processors (downstream pipelines
    /// first), then receivers. When one fails to start, what already started is shut
    /// down again and the error returned.
    pub async fn start(&self) -> Result<(), ComponentError> {
        let mut started: Vec<&Started> = Vec::new();
        let order = self
            .extensions
            .iter()
            .chain(&self.exporters)
            .chain(&self.connectors)
            .chain(&self.processors)
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

    /// Stops receivers, then flushes processors and connectors pipeline by pipeline
    /// (upstream pipelines first, so data in flight reaches the pipelines a connector
    /// feeds before they stop), then drains exporter queues and stops exporters, then
    /// extensions — all within `deadline`. Returns whether everything finished in time.
    pub async fn shutdown(&self, deadline: Duration) -> bool {
        let _ = self.health.send(Health::Stopping);
        let until = Instant::now() + deadline;
        let mut in_time = true;
        for c in self.receivers.iter().chain(&self.stop_path) {
            in_time &= bounded(c, until, Step::Stop).await;
        }
        // Exporters drain in parallel, each with the whole remaining time: one whose
        // destination is down does not eat the deadline of the others. Once a second
        // a log line says what each of them still holds.
        let done: Vec<std::sync::atomic::AtomicBool> =
            self.exporters.iter().map(|_| Default::default()).collect();
        let exporters = futures::future::join_all(self.exporters.iter().zip(&done).map(
            |(c, done)| async move {
                let ok = bounded(c, until, Step::Stop).await;
                done.store(true, std::sync::atomic::Ordering::Relaxed);
                ok
            },
        ));
        let drained = tokio::select! {
            all = exporters => all,
            never = drain_progress(&self.registry, &self.exporters, &done, until) => match never {},
        };
        in_time &= drained.into_iter().all(|ok| ok);
        for c in self.extensions.iter().rev() {
            // Extensions (health check) get a moment even when the data path ran late.
            in_time &= bounded(
                c,
                until.max(Instant::now() + Duration::from_secs(1)),
                Step::Stop,
            )
            .await;
        }
        in_time
    }

    /// Delivers everything the running pipelines hold — batches being filled,
    /// connectors, then exporter queues — without stopping anything, within
    /// `deadline`. Processors and connectors flush pipeline by pipeline, upstream
    /// first, so what one hands on is held downstream before that flushes; exporters
    /// then flush in parallel. Returns whether everything was delivered in time.
    /// Receivers keep accepting data meanwhile; what arrives during a flush may or may
    /// not be part of it.
    pub async fn flush(&self, deadline: Duration) -> bool {
        let until = Instant::now() + deadline;
        let mut in_time = true;
        for c in &self.stop_path {
            in_time &= bounded(c, until, Step::Flush).await;
        }
        let exporters = futures::future::join_all(
            self.exporters
                .iter()
                .map(|c| bounded(c, until, Step::Flush)),
        );
        in_time &= exporters.await.into_iter().all(|ok| ok);
        in_time
    }
}

/// Logs, once a second until it is dropped, what each exporter that has not finished
/// draining still holds and how long is left to `until`.
async fn drain_progress(
    registry: &Registry,
    exporters: &[Started],
    done: &[std::sync::atomic::AtomicBool],
    until: Instant,
) -> std::convert::Infallible {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is at once: the exporters get their first second undisturbed.
    tick.tick().await;
    loop {
        tick.tick().await;
        let pending = pending_items(registry);
        let draining: Vec<String> = exporters
            .iter()
            .zip(done)
            .filter(|(_, d)| !d.load(std::sync::atomic::Ordering::Relaxed))
            .map(|(c, _)| match pending.get(c.id.as_str()) {
                Some(items) => format!("{} {items} items", c.id),
                None => format!("{} (items not counted)", c.id),
            })
            .collect();
        if draining.is_empty() {
            continue;
        }
        let left = until.saturating_duration_since(Instant::now());
        tracing::info!(
            exporters = %draining.join(", "),
            deadline_in = %format!("{:.1}s", left.as_secs_f64()),
            "draining: exporters still delivering",
        );
    }
}

/// The items each exporter holds, from the exporter helper's pending-items gauge.
fn pending_items(registry: &Registry) -> BTreeMap<String, u64> {
    use stratus_core::telemetry::SeriesValue;
    let mut out = BTreeMap::new();
    for family in registry.snapshot() {
        if family.name != PENDING_ITEMS {
            continue;
        }
        for series in family.series {
            let id = series.labels.iter().find(|(k, _)| k == "exporter");
            if let (Some((_, id)), SeriesValue::Gauge(v)) = (id, series.value) {
                out.insert(id.clone(), v as u64);
            }
        }
    }
    out
}

/// The gauge the exporter helper keeps of the items an exporter holds (the helper's
/// `PENDING_ITEMS`; the pipeline does not depend on the helper).
const PENDING_ITEMS: &str = "stratus_exporter_pending_items";

/// The shape of `config` as the admin extension shows it.
fn topology(config: &ServiceConfig) -> Topology {
    let ids = |list: &[ComponentId]| list.iter().map(ToString::to_string).collect();
    Topology {
        pipelines: config
            .service
            .pipelines
            .iter()
            .map(|(pid, p)| PipelineShape {
                id: pid.to_string(),
                signal: pid.signal,
                receivers: ids(&p.receivers),
                processors: ids(&p.processors),
                exporters: ids(&p.exporters),
            })
            .collect(),
        extensions: ids(&config.service.extensions),
        connectors: config.connectors.keys().map(ToString::to_string).collect(),
    }
}

/// What [`bounded`] asks of a component.
#[derive(Clone, Copy)]
enum Step {
    Flush,
    Stop,
}

/// Stops or flushes one component by `limit`; returns whether it finished in time.
/// A component that fails is logged and counts as finished.
async fn bounded(c: &Started, limit: Instant, step: Step) -> bool {
    let result = match step {
        Step::Flush => tokio::time::timeout_at(limit, c.component.flush()).await,
        Step::Stop => {
            tracing::debug!(kind = %c.kind, id = %c.id, "stopping");
            tokio::time::timeout_at(limit, c.component.shutdown()).await
        }
    };
    match (result, step) {
        (Ok(Ok(())), _) => true,
        (Ok(Err(e)), Step::Flush) => {
            tracing::warn!(kind = %c.kind, id = %c.id, error = %e, "flush failed");
            true
        }
        (Ok(Err(e)), Step::Stop) => {
            tracing::warn!(kind = %c.kind, id = %c.id, error = %e, "shutdown failed");
            true
        }
        (Err(_), Step::Flush) => {
            tracing::warn!(
                kind = %c.kind,
                id = %c.id,
                "flush deadline passed before this component delivered what it held",
            );
            false
        }
        (Err(_), Step::Stop) => {
            tracing::error!(
                kind = %c.kind,
                id = %c.id,
                "shutdown deadline passed before this component finished",
            );
            false
        }
    }
}

/// The pipelines, upstream first: a pipeline that exports to a connector comes before
/// every pipeline receiving from it (for the signal pairs the connector supports).
/// A cycle through connectors is an error naming the pipelines in it.
fn pipeline_order(
    config: &ServiceConfig,
    factories: &Factories,
) -> Result<Vec<PipelineId>, BuildError> {
    let pipelines = &config.service.pipelines;
    let mut downstream: BTreeMap<&PipelineId, BTreeSet<&PipelineId>> = BTreeMap::new();
    for (a, pa) in pipelines {
        let edges = downstream.entry(a).or_default();
        for id in pa
            .exporters
            .iter()
            .filter(|id| config.connectors.contains_key(id))
        {
            let routes = factories
                .connectors
                .get(id.ty())
                .map(|f| f.routes())
                .unwrap_or_default();
            for (b, pb) in pipelines {
                if pb.receivers.contains(id)
                    && routes
                        .iter()
                        .any(|(f, t, _)| *f == a.signal && *t == b.signal)
                {
                    edges.insert(b);
                }
            }
        }
    }
    let mut incoming: BTreeMap<&PipelineId, usize> = pipelines.keys().map(|p| (p, 0)).collect();
    for targets in downstream.values() {
        for b in targets {
            if let Some(n) = incoming.get_mut(b) {
                *n += 1;
            }
        }
    }
    let mut ready: Vec<&PipelineId> = incoming
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(p, _)| *p)
        .rev()
        .collect();
    let mut order = Vec::new();
    while let Some(p) = ready.pop() {
        order.push(p.clone());
        for b in downstream.get(p).into_iter().flatten() {
            if let Some(n) = incoming.get_mut(b) {
                *n -= 1;
                if *n == 0 {
                    ready.push(b);
                }
            }
        }
    }
    if order.len() < pipelines.len() {
        let stuck: Vec<String> = incoming
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(p, _)| p.to_string())
            .collect();
        let id = pipelines
            .values()
            .flat_map(|p| p.exporters.iter())
            .find(|id| config.connectors.contains_key(id))
            .cloned()
            .unwrap_or_else(|| ComponentId::new("connector"));
        return Err(BuildError {
            kind: Kind::Connector,
            id,
            message: format!(
                "pipelines form a cycle through connectors: {}",
                stuck.join(", ")
            ),
        });
    }
    Ok(order)
}
