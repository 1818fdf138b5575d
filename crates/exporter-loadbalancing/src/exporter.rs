//! The running `loadbalancing` exporter: one OTLP/gRPC sub-exporter per backend, a
//! consistent-hash ring over them, and the rerouting of a failing backend's share.
//!
//! **Routing.** A batch is split by routing key ([`crate::split`]); each key's owner on
//! the ring ([`crate::ring`]) gets its part. The parts are admitted all or nothing: room
//! is reserved in every backend's sending queue first, and when one refuses (full), the
//! room held in the others is given back and the whole batch is refused, so the
//! sender's retry duplicates nothing.
//!
//! **A backend that goes down.** Each sub-exporter runs on the exporter helper and
//! reports its destination's health ([`stratus_core::Destination`]). After two failed
//! attempts in a row the backend counts as failing, and then:
//!
//! - new data it owns goes to the next backend on the ring that is not failing (its
//!   share spreads over the others as if it had been removed; the others' shares do
//!   not move);
//! - what its sub-exporter already holds (queued, or being retried) is *drained to the
//!   new owners*: the load balancer registers itself as that sub-exporter's handover,
//!   and the helper hands such data back, which the load balancer splits again over
//!   the ring without the failing backend. The sub-exporter lets go of data only once
//!   the new owners' queues took it; when none can, it keeps the data and retries.
//! - once a second, one batch of its own share goes to it again (the probe); when that
//!   is delivered the backend is healthy again and gets its share back.
//!
//! When every backend fails, data stays with its owner and is retried per
//! `retry_on_failure`.
//!
//! **Backend changes.** When the resolver's list changes, the ring is rebuilt, a
//! sub-exporter is started for each new backend, and a removed backend's sub-exporter
//! is shut down in the background: it delivers what it holds to its backend, and if
//! that fails, hands it to the new owners as above.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Instant;

use async_trait::async_trait;
use stratus_core::factory::BuildContext;
use stratus_core::telemetry::{Counter, Gauge, Histogram, PerSignal};
use stratus_core::{
    Component, ComponentError, ConsumeError, Consumer, Destination, Host, Metadata, Payload,
    Prepared, Signal, Telemetry,
};
use stratus_exporter_helper::{HelperExporter, Sender};
use stratus_otlp_client::grpc::{GrpcRequest, GrpcSender};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{LoadBalancingConfig, RoutingKey, endpoint_with_port};
use crate::resolver::{DnsResolver, Lookup, Resolver};
use crate::ring::HashRing;
use crate::split::{Parts, split};

/// Bounds of `otelcol_loadbalancer_backend_latency`, in milliseconds.
const LATENCY_BOUNDS_MS: &[f64] = &[1.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0];

/// The gRPC sender of one backend: the shared OTLP client, with the backend's address
/// in its error messages (the helper's logs name the load balancer's id).
struct BackendSender {
    endpoint: String,
    inner: GrpcSender,
}

impl BackendSender {
    fn name(&self, e: ConsumeError) -> ConsumeError {
        let message = format!("backend {}: {}", self.endpoint, e.message());
        match (e.is_permanent(), e.throttle()) {
            (true, _) => ConsumeError::permanent(message),
            (false, Some(delay)) => ConsumeError::throttled(message, delay),
            (false, None) => ConsumeError::retryable(message),
        }
    }
}

#[async_trait]
impl Sender for BackendSender {
    type Request = GrpcRequest;

    fn encode(&self, data: Telemetry) -> Result<GrpcRequest, ConsumeError> {
        self.inner.encode(data)
    }

    fn encode_stored(
        &self,
        signal: Signal,
        otlp: bytes::Bytes,
    ) -> Option<Result<GrpcRequest, ConsumeError>> {
        self.inner.encode_stored(signal, otlp)
    }

    async fn send(&self, request: &GrpcRequest) -> Result<(), ConsumeError> {
        self.inner.send(request).await.map_err(|e| self.name(e))
    }

    async fn start(&self, host: &Host) -> Result<(), ComponentError> {
        self.inner.start(host).await
    }

    async fn shutdown(&self) -> Result<(), ComponentError> {
        self.inner.shutdown().await
    }
}

/// One backend: its name on the ring, its address and its sub-exporter.
struct Backend {
    /// The resolver's name for it, which places it on the ring.
    label: String,
    /// `host:port`.
    endpoint: String,
    exporter: HelperExporter<BackendSender>,
    destination: Arc<Destination>,
    /// Milliseconds since the load balancer was built of the last batch of its own
    /// share sent to it while it was failing.
    last_probe_ms: AtomicU64,
    succeeded: Counter,
    failed: Counter,
    latency: Histogram,
}

impl Backend {
    /// While failing: whether this batch of its share goes to it anyway (one per
    /// [`stratus_core::delivery::PROBE_EVERY`]), so that recovery is noticed.
    fn claim_probe(&self, now_ms: u64) -> bool {
        let every = stratus_core::delivery::PROBE_EVERY.as_millis() as u64;
        let last = self.last_probe_ms.load(Ordering::Relaxed);
        now_ms.saturating_sub(last) >= every
            && self
                .last_probe_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    fn outcome(&self, ok: bool, started: Instant) {
        self.latency
            .record(started.elapsed().as_secs_f64() * 1000.0);
        if ok {
            self.succeeded.add(1)
        } else {
            self.failed.add(1)
        }
    }
}

/// The ring and the backends it refers to (by index).
struct Routing {
    ring: HashRing,
    backends: Vec<Arc<Backend>>,
}

impl Routing {
    fn empty() -> Routing {
        Routing {
            ring: HashRing::new::<&str>(&[]),
            backends: Vec::new(),
        }
    }

    fn labels(&self) -> Vec<&str> {
        self.backends.iter().map(|b| b.label.as_str()).collect()
    }

    fn any_failing(&self) -> bool {
        self.backends.iter().any(|b| b.destination.is_failing())
    }
}

/// The load balancer's own metrics (upstream's names).
struct Metrics {
    resolutions_ok: Counter,
    resolutions_failed: Counter,
    backends: Gauge,
    backend_updates: Counter,
    rerouted: PerSignal,
    queue_capacity: Gauge,
}

/// What the load balancer and its handovers share.
struct Shared {
    id: String,
    ctx: BuildContext,
    config: LoadBalancingConfig,
    /// The routing key per signal this exporter is used for.
    keys: [Option<RoutingKey>; 3],
    resolver: Resolver,
    routing: RwLock<Arc<Routing>>,
    /// Serialises backend-set changes.
    update: tokio::sync::Mutex<()>,
    /// Shutdowns of removed backends still running.
    retiring: Mutex<Vec<JoinHandle<()>>>,
    resolver_task: Mutex<Option<JoinHandle<()>>>,
    stop: watch::Sender<bool>,
    started: AtomicBool,
    epoch: Instant,
    metrics: Metrics,
}

fn signal_index(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl Shared {
    fn routing(&self) -> Arc<Routing> {
        match self.routing.read() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set_routing(&self, routing: Arc<Routing>) -> Arc<Routing> {
        let mut guard = match self.routing.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        std::mem::replace(&mut *guard, routing)
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn key(&self, signal: Signal) -> Result<RoutingKey, ConsumeError> {
        self.keys[signal_index(signal)].ok_or_else(|| {
            ConsumeError::permanent(format!(
                "exporter {} was not built for {signal}: list it in a {signal} pipeline",
                self.id
            ))
        })
    }

    /// Moves the parts whose owner is failing to the next backend on the ring that is
    /// not (except the probe batch), and counts what moved.
    fn reroute_failing(&self, routing: &Routing, parts: Parts, key: RoutingKey) -> Parts {
        let n = routing.backends.len();
        let mut out: Vec<Option<Payload>> = (0..n).map(|_| None).collect();
        let mut rerouted = 0u64;
        let mut signal = None;
        let now = self.now_ms();
        for (owner, payload) in parts {
            signal.get_or_insert(payload.signal());
            let b = &routing.backends[owner];
            if !b.destination.is_failing() || b.claim_probe(now) {
                merge(&mut out, owner, payload);
                continue;
            }
            let usable = |i: usize| !routing.backends[i].destination.is_failing();
            let mut route = |pos| routing.ring.owner_where(pos, usable).unwrap_or(owner);
            for (t, part) in split(payload, key, n, &mut route, &mut random_position) {
                if t != owner {
                    rerouted += part.item_count() as u64;
                }
                merge(&mut out, t, part);
            }
        }
        if let Some(signal) = signal
            && rerouted > 0
        {
            self.metrics.rerouted.get(signal).add(rerouted);
        }
        out.into_iter()
            .enumerate()
            .filter_map(|(b, p)| p.map(|p| (b, p)))
            .collect()
    }

    /// Hands each part to its backend, all or nothing where the backends queue.
    async fn deliver(
        &self,
        routing: &Routing,
        mut parts: Parts,
        metadata: Metadata,
    ) -> Result<(), ConsumeError> {
        if parts.len() <= 1 {
            let Some((b, payload)) = parts.pop() else {
                return Ok(());
            };
            let backend = &routing.backends[b];
            let started = Instant::now();
            let result = backend
                .exporter
                .consume(Telemetry::with_metadata(payload, metadata))
                .await;
            backend.outcome(result.is_ok(), started);
            return result;
        }
        let all_queue = parts
            .iter()
            .all(|(b, _)| routing.backends[*b].exporter.can_prepare());
        if !all_queue {
            // Without queues each part is sent in this call: a retryable failure
            // stops here, and the sender's retry resends the parts already sent.
            let mut permanent = None;
            for (b, payload) in parts {
                let backend = &routing.backends[b];
                let started = Instant::now();
                let result = backend
                    .exporter
                    .consume(Telemetry::with_metadata(payload, metadata.clone()))
                    .await;
                backend.outcome(result.is_ok(), started);
                match result {
                    Ok(()) => {}
                    Err(e) if e.is_permanent() => {
                        permanent.get_or_insert(e);
                    }
                    Err(e) => return Err(e),
                }
            }
            return permanent.map_or(Ok(()), Err);
        }
        let mut held = Vec::with_capacity(parts.len());
        for (b, payload) in parts {
            let backend = &routing.backends[b];
            let started = Instant::now();
            let data = Telemetry::with_metadata(payload, metadata.clone());
            match backend.exporter.prepare(data).await {
                Prepared::Ready(admission) => held.push((backend, admission, started)),
                // The room held in the others is given back when `held` drops: no
                // backend takes the batch, the sender retries it whole.
                Prepared::Refused(e, _) => {
                    backend.outcome(false, started);
                    return Err(e);
                }
                Prepared::Unsupported(data) => {
                    let result = backend.exporter.consume(data).await;
                    backend.outcome(result.is_ok(), started);
                    result?;
                }
            }
        }
        let mut first_error = None;
        for (backend, admission, started) in held {
            let result = admission.commit().await;
            backend.outcome(result.is_ok(), started);
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Re-registers the queue gauges over every backend (each sub-exporter registered
    /// its own under this exporter's id, replacing the last one).
    fn register_queue_gauges(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        self.ctx.telemetry.gauge_fn(
            "otelcol_exporter_queue_size",
            "Current size of the retry queue (in batches).",
            &[("exporter", self.id.as_str())],
            Box::new(move || {
                weak.upgrade().map_or(0.0, |s| {
                    s.routing()
                        .backends
                        .iter()
                        .map(|b| b.exporter.queue_size() as f64)
                        .sum()
                })
            }),
        );
        let per_backend = self.config.protocol.otlp.sending_queue.queue_size;
        let n = self.routing().backends.len();
        self.metrics
            .queue_capacity
            .set((per_backend * n.max(1)) as f64);
    }
}

/// Adds `payload` to the part of backend `b`.
fn merge(out: &mut [Option<Payload>], b: usize, payload: Payload) {
    match &mut out[b] {
        Some(existing) => {
            // Parts of one batch carry one signal.
            let _ = existing.append(payload);
        }
        slot @ None => *slot = Some(payload),
    }
}

/// A random ring position, for log records without a trace id.
fn random_position() -> u32 {
    rand::random::<u32>()
}

/// The consumer a backend's sub-exporter hands its data to while that backend fails:
/// the ring without it.
struct Reroute {
    shared: Weak<Shared>,
    from: String,
}

#[async_trait]
impl Consumer for Reroute {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        let Some(shared) = self.shared.upgrade() else {
            return Err(ConsumeError::retryable("the load balancer has stopped"));
        };
        let routing = shared.routing();
        let usable = |i: usize| {
            let b = &routing.backends[i];
            b.label != self.from && !b.destination.is_failing()
        };
        if !(0..routing.backends.len()).any(usable) {
            return Err(ConsumeError::retryable(format!(
                "no healthy backend to hand the data of backend {} to",
                self.from
            )));
        }
        let key = shared.key(data.signal())?;
        let Telemetry { payload, metadata } = data;
        let payload = payload.into_payload();
        let items = payload.item_count() as u64;
        let signal = payload.signal();
        let n = routing.backends.len();
        let mut route = |pos| routing.ring.owner_where(pos, usable).unwrap_or(0);
        let parts = split(payload, key, n, &mut route, &mut random_position);
        shared.deliver(&routing, parts, metadata).await?;
        shared.metrics.rerouted.get(signal).add(items);
        Ok(())
    }
}

/// A running `loadbalancing` exporter.
pub struct LoadBalancer {
    shared: Arc<Shared>,
}

impl LoadBalancer {
    /// The exporter for `config` (validated), used in pipelines of `ctx.signals`.
    /// Backends are resolved and their sub-exporters started in `start`.
    pub fn new(
        ctx: BuildContext,
        config: LoadBalancingConfig,
        lookup: Arc<dyn Lookup>,
    ) -> Result<LoadBalancer, ComponentError> {
        let id = ctx.id.to_string();
        let mut keys = [None; 3];
        for signal in &ctx.signals {
            let key = config
                .key_for(*signal)
                .map_err(|e| ComponentError::new(format!("exporter {id}: {e}")))?;
            keys[signal_index(*signal)] = Some(key);
        }
        if !config.protocol.otlp.endpoint.trim().is_empty() {
            tracing::warn!(
                exporter = %id,
                "protocol::otlp::endpoint is ignored: each backend's address from the resolver \
                 takes its place",
            );
        }
        let resolver = Resolver::from_config(&config.resolver, lookup).ok_or_else(|| {
            ComponentError::new(format!(
                "exporter {id}: resolver: `static` or `dns` is required"
            ))
        })?;
        let r = &ctx.telemetry;
        let kind = resolver.kind();
        let labels = [("exporter", id.as_str()), ("resolver", kind)];
        let resolutions = |success: &str| {
            r.counter(
                "otelcol_loadbalancer_num_resolutions",
                "Number of times the resolver has triggered new resolutions.",
                &[
                    ("exporter", id.as_str()),
                    ("resolver", kind),
                    ("success", success),
                ],
            )
        };
        let metrics = Metrics {
            resolutions_ok: resolutions("true"),
            resolutions_failed: resolutions("false"),
            backends: r.gauge(
                "otelcol_loadbalancer_num_backends",
                "Current number of backends in use.",
                &labels,
            ),
            backend_updates: r.counter(
                "otelcol_loadbalancer_num_backend_updates",
                "Number of times the list of backends was updated.",
                &labels,
            ),
            rerouted: PerSignal::new(
                r,
                "stratus_loadbalancer_rerouted",
                "Items sent to another backend than their owner because the owner failed.",
                &[("exporter", id.as_str())],
            ),
            queue_capacity: r.gauge(
                "otelcol_exporter_queue_capacity",
                "Fixed capacity of the retry queue (in batches).",
                &[("exporter", id.as_str())],
            ),
        };
        let (stop, _) = watch::channel(false);
        Ok(LoadBalancer {
            shared: Arc::new(Shared {
                id,
                ctx,
                config,
                keys,
                resolver,
                routing: RwLock::new(Arc::new(Routing::empty())),
                update: tokio::sync::Mutex::new(()),
                retiring: Mutex::new(Vec::new()),
                resolver_task: Mutex::new(None),
                stop,
                started: AtomicBool::new(false),
                epoch: Instant::now(),
                metrics,
            }),
        })
    }

    /// The backends in use now (the resolver's names), sorted.
    pub fn backends(&self) -> Vec<String> {
        self.shared
            .routing()
            .labels()
            .into_iter()
            .map(String::from)
            .collect()
    }

    /// The backend (resolver name) that owns `key` (a trace id's 16 bytes, a service
    /// name) now, before any rerouting; `None` without backends.
    pub fn owner_of(&self, key: &[u8]) -> Option<String> {
        let routing = self.shared.routing();
        routing
            .ring
            .owner_of(key)
            .map(|b| routing.backends[b].label.clone())
    }
}

/// Builds and starts the sub-exporter of backend `label`.
async fn start_backend(
    shared: &Arc<Shared>,
    label: &str,
    host: &Host,
) -> Result<Arc<Backend>, ComponentError> {
    let endpoint = endpoint_with_port(label);
    let config = shared.config.backend_config(&endpoint);
    let inner =
        GrpcSender::from_context(&shared.ctx, format!("{}[{endpoint}]", shared.id), &config)?;
    let sender = BackendSender {
        endpoint: endpoint.clone(),
        inner,
    };
    let exporter = HelperExporter::try_new(&shared.ctx, config.settings(), sender)?;
    let destination = exporter
        .destinations()
        .into_iter()
        .next()
        .unwrap_or_else(|| Destination::new(shared.id.clone()));
    destination.set_handover(Some(Arc::new(Reroute {
        shared: Arc::downgrade(shared),
        from: label.to_string(),
    })));
    exporter.start(host).await?;
    let r = &shared.ctx.telemetry;
    let outcome = |success: &str| {
        r.counter(
            "otelcol_loadbalancer_backend_outcome",
            "Number of successes and failures for each endpoint.",
            &[
                ("exporter", shared.id.as_str()),
                ("endpoint", endpoint.as_str()),
                ("success", success),
            ],
        )
    };
    Ok(Arc::new(Backend {
        label: label.to_string(),
        succeeded: outcome("true"),
        failed: outcome("false"),
        latency: r.histogram(
            "otelcol_loadbalancer_backend_latency",
            "Response latency in ms for the backends.",
            &[
                ("exporter", shared.id.as_str()),
                ("endpoint", endpoint.as_str()),
            ],
            LATENCY_BOUNDS_MS,
        ),
        endpoint,
        exporter,
        destination,
        last_probe_ms: AtomicU64::new(0),
    }))
}

/// Makes `labels` (sorted, no duplicates) the backends: starts new ones, rebuilds the
/// ring, retires removed ones.
async fn apply(shared: &Arc<Shared>, labels: Vec<String>, host: &Host) {
    let _serial = shared.update.lock().await;
    let current = shared.routing();
    if current.labels() == labels {
        return;
    }
    let mut backends = Vec::with_capacity(labels.len());
    for label in &labels {
        if let Some(b) = current.backends.iter().find(|b| &b.label == label) {
            backends.push(b.clone());
            continue;
        }
        match start_backend(shared, label, host).await {
            Ok(b) => backends.push(b),
            Err(e) => tracing::error!(
                exporter = %shared.id,
                backend = %label,
                error = %e,
                "cannot start the exporter of a backend; it is left out of the ring",
            ),
        }
    }
    let names: Vec<&str> = backends.iter().map(|b| b.label.as_str()).collect();
    let ring = HashRing::new(&names);
    tracing::info!(
        exporter = %shared.id,
        backends = ?names,
        "load balancing over a new list of backends",
    );
    shared.metrics.backends.set(backends.len() as f64);
    shared.metrics.backend_updates.add(1);
    let old = shared.set_routing(Arc::new(Routing { ring, backends }));
    shared.register_queue_gauges();
    for b in old.backends.iter().filter(|b| !labels.contains(&b.label)) {
        let b = b.clone();
        let id = shared.id.clone();
        let task = tokio::spawn(async move {
            // Delivers what it holds to its backend, or (failing) hands it over to
            // the new owners.
            if let Err(e) = b.exporter.shutdown().await {
                tracing::warn!(exporter = %id, backend = %b.endpoint, error = %e, "shutting down a removed backend failed");
            }
            b.destination.set_handover(None);
        });
        lock(&shared.retiring).push(task);
    }
}

/// One DNS resolution, applied.
async fn resolve_dns(shared: &Arc<Shared>, dns: &DnsResolver, host: &Host) {
    match dns.resolve().await {
        Ok(labels) => {
            shared.metrics.resolutions_ok.add(1);
            apply(shared, labels, host).await;
        }
        Err(e) => {
            shared.metrics.resolutions_failed.add(1);
            tracing::warn!(exporter = %shared.id, error = %e, "DNS resolution failed; keeping the backends in use");
        }
    }
}

#[async_trait]
impl Consumer for LoadBalancer {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        let shared = &self.shared;
        let routing = shared.routing();
        if routing.backends.is_empty() {
            return Err(ConsumeError::retryable(format!(
                "exporter {}: no backend resolved yet: retry later",
                shared.id
            )));
        }
        let key = shared.key(data.signal())?;
        let Telemetry { payload, metadata } = data;
        let payload = payload.into_payload();
        let n = routing.backends.len();
        let mut owner = |pos| routing.ring.owner(pos).unwrap_or(0);
        let mut parts = split(payload, key, n, &mut owner, &mut random_position);
        if routing.any_failing() {
            parts = shared.reroute_failing(&routing, parts, key);
        }
        shared.deliver(&routing, parts, metadata).await
    }
}

#[async_trait]
impl Component for LoadBalancer {
    async fn start(&self, host: &Host) -> Result<(), ComponentError> {
        let shared = &self.shared;
        if shared.started.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        match &shared.resolver {
            Resolver::Static(labels) => {
                shared.metrics.resolutions_ok.add(1);
                apply(shared, labels.clone(), host).await;
                if shared.routing().backends.is_empty() {
                    return Err(ComponentError::new(format!(
                        "exporter {}: no backend could be started",
                        shared.id
                    )));
                }
            }
            Resolver::Dns(dns) => {
                // As upstream: a failed first resolution is logged, not fatal; the
                // next interval tries again.
                resolve_dns(shared, dns, host).await;
                let (weak, dns, host) = (Arc::downgrade(shared), dns.clone(), host.clone());
                let mut stop = shared.stop.subscribe();
                let task = tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            _ = tokio::time::sleep(dns.interval) => {}
                            _ = stop.changed() => return,
                        }
                        let Some(shared) = weak.upgrade() else { return };
                        if *stop.borrow() {
                            return;
                        }
                        resolve_dns(&shared, &dns, &host).await;
                    }
                });
                *lock(&shared.resolver_task) = Some(task);
            }
        }
        Ok(())
    }

    /// Stops resolving, then drains every backend's sub-exporter in parallel (and the
    /// removed ones still draining).
    async fn shutdown(&self) -> Result<(), ComponentError> {
        let shared = &self.shared;
        let _ = shared.stop.send(true);
        let task = lock(&shared.resolver_task).take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        let _serial = shared.update.lock().await;
        // The ring stays in place while the backends drain, so a failing one can still
        // hand its data to a backend whose queue is open; then it is emptied.
        let routing = shared.routing();
        let retiring: Vec<JoinHandle<()>> = lock(&shared.retiring).drain(..).collect();
        let results =
            futures::future::join_all(routing.backends.iter().map(|b| b.exporter.shutdown())).await;
        for task in retiring {
            let _ = task.await;
        }
        shared.set_routing(Arc::new(Routing::empty()));
        for b in &routing.backends {
            b.destination.set_handover(None);
        }
        results.into_iter().find(Result::is_err).unwrap_or(Ok(()))
    }

    /// Flushes every backend's sub-exporter in parallel; the ring stays as it is.
    async fn flush(&self) -> Result<(), ComponentError> {
        let routing = self.shared.routing();
        let results =
            futures::future::join_all(routing.backends.iter().map(|b| b.exporter.flush())).await;
        results.into_iter().find(Result::is_err).unwrap_or(Ok(()))
    }
}
