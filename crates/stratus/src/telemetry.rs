//! Running `service::telemetry`: the resource of stratus's own telemetry, the metric
//! readers (Prometheus `/metrics` endpoints and periodic OTLP pushes) and the OTLP
//! exports of its own log events.
//!
//! Components may not depend on components, but this binary knows every factory:
//! a periodic reader or a log processor sends through an `otlp` or `otlphttp`
//! exporter built from the registered factory with the config that
//! `stratus_config` derived (and checked) from the reader's keys.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::Value;
use stratus_config::{
    LogProcessor, MetricReader, OtlpExporter, PeriodicReader, PrometheusReader, TelemetryConfig,
};
use stratus_core::factory::{BuildContext, Exporter, Factories};
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, Host, Payload, Signal, Telemetry};
use stratus_pipeline::self_telemetry::{MetricsServer, PrometheusOptions, to_resource_metrics};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::logging::{LogQueues, SELF_EXPORTER_MARK};

/// The instrumentation scope of stratus's own telemetry.
const SCOPE: &str = "stratus";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The resource of stratus's own telemetry: `service.name` (`stratus`),
/// `service.version`, `service.instance.id` (random per start), then
/// `service::telemetry::resource` (which can replace or, with null, remove those).
#[derive(Debug, Clone)]
pub struct SelfResource {
    /// Attributes in order.
    pub attributes: Vec<(String, Value)>,
    /// `schema_url`, or empty.
    pub schema_url: String,
}

impl SelfResource {
    /// The defaults with the config applied.
    pub fn new(config: &TelemetryConfig) -> Self {
        let mut attributes: Vec<(String, Value)> = vec![
            ("service.name".into(), Value::from(SCOPE)),
            ("service.version".into(), Value::from(VERSION)),
            ("service.instance.id".into(), Value::from(uuid_v4())),
        ];
        for (key, value) in &config.resource.attributes {
            attributes.retain(|(k, _)| k != key);
            if let Some(v) = value {
                attributes.push((key.clone(), v.clone()));
            }
        }
        SelfResource {
            attributes,
            schema_url: config.resource.schema_url.clone().unwrap_or_default(),
        }
    }

    /// The attributes given in `service::telemetry::resource` (not the defaults),
    /// which console and JSON log lines carry.
    pub fn configured(config: &TelemetryConfig) -> Vec<(String, Value)> {
        config
            .resource
            .attributes
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect()
    }

    /// As an OTLP resource.
    pub fn otlp(&self) -> Resource {
        Resource {
            attributes: self
                .attributes
                .iter()
                .map(|(k, v)| KeyValue {
                    key: k.clone(),
                    value: Some(any_value(v)),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    /// The attributes as label text.
    fn labels(&self) -> Vec<(String, String)> {
        self.attributes
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect()
    }
}

fn any_value(v: &Value) -> AnyValue {
    let value = match v {
        Value::Bool(b) => any_value::Value::BoolValue(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => any_value::Value::IntValue(i),
            None => any_value::Value::DoubleValue(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => any_value::Value::StringValue(s.clone()),
        Value::Array(items) => any_value::Value::ArrayValue(ArrayValue {
            values: items.iter().map(any_value).collect(),
        }),
        other => any_value::Value::StringValue(other.to_string()),
    };
    AnyValue { value: Some(value) }
}

/// A random (version 4) UUID, for `service.instance.id`.
fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Builds and starts an exporter of stratus's own telemetry from the registered
/// factory. Its metrics go to a registry of their own, so they do not mix with the
/// pipelines' in `/metrics`.
async fn build_exporter(
    factories: &Factories,
    exporter: &OtlpExporter,
    name: String,
    signal: Signal,
) -> anyhow::Result<Arc<dyn Exporter>> {
    let factory = factories
        .exporters
        .get(exporter.exporter_type)
        .with_context(|| format!("this build has no `{}` exporter", exporter.exporter_type))?;
    let id = ComponentId::with_name(exporter.exporter_type, name);
    let ctx = BuildContext::new(id.clone(), vec![signal], Registry::new());
    let built = factory
        .build(ctx, &exporter.config)
        .await
        .with_context(|| format!("building the internal telemetry exporter `{id}`"))?;
    built
        .start(&Host::ready())
        .await
        .with_context(|| format!("starting the internal telemetry exporter `{id}`"))?;
    Ok(built)
}

/// Sends one batch through `exporter`, bounded by `timeout`; failures are logged
/// (with the exporter's id, so they are not exported again).
async fn send(exporter: &Arc<dyn Exporter>, id: &str, data: Telemetry, timeout: Duration) {
    let items = data.item_count();
    match tokio::time::timeout(timeout, exporter.consume(data)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(exporter = id, items, error = %e, "internal telemetry export failed")
        }
        Err(_) => {
            tracing::warn!(exporter = id, items, timeout = ?timeout, "internal telemetry export timed out")
        }
    }
}

/// The running readers and log exports.
pub struct SelfTelemetry {
    servers: Vec<MetricsServer>,
    stop: watch::Sender<bool>,
    metric_tasks: Vec<JoinHandle<()>>,
    log_tasks: Vec<JoinHandle<()>>,
}

/// Starts every metric reader (unless `level: none`) and every log export.
pub async fn start(
    config: &TelemetryConfig,
    registry: &Registry,
    resource: &SelfResource,
    factories: &Factories,
    queues: LogQueues,
) -> anyhow::Result<SelfTelemetry> {
    let (stop, stopped) = watch::channel(false);
    let mut out = SelfTelemetry {
        servers: Vec::new(),
        stop,
        metric_tasks: Vec::new(),
        log_tasks: Vec::new(),
    };
    let started = SystemTime::now();

    for (i, (processor, queue)) in config.logs.processors.iter().zip(queues.0).enumerate() {
        let name = format!("{SELF_EXPORTER_MARK}logs_{i}");
        let exporter =
            build_exporter(factories, &processor.exporter, name.clone(), Signal::Logs).await?;
        let id = format!("{}/{name}", processor.exporter.exporter_type);
        tracing::info!(
            endpoint = %processor.exporter.endpoint,
            processor = if processor.batch.is_some() { "batch" } else { "simple" },
            "exporting stratus's own logs over OTLP"
        );
        out.log_tasks.push(tokio::spawn(export_logs(
            processor.clone(),
            queue,
            exporter,
            id,
            resource.otlp(),
            resource.schema_url.clone(),
            stopped.clone(),
        )));
    }

    if config.metrics.level == "none" {
        tracing::info!("internal metrics telemetry disabled (`level: none`)");
    } else {
        for (i, reader) in config.metrics.readers.iter().enumerate() {
            match reader {
                MetricReader::Pull(pull) => {
                    let server = MetricsServer::start(
                        &pull.endpoint,
                        registry.clone(),
                        prometheus_options(pull, resource),
                    )
                    .await?;
                    tracing::info!(address = %server.local_addr(), "internal metrics on /metrics");
                    out.servers.push(server);
                }
                MetricReader::Periodic(periodic) => {
                    let name = format!("{SELF_EXPORTER_MARK}metrics_{i}");
                    let exporter = build_exporter(
                        factories,
                        &periodic.exporter,
                        name.clone(),
                        Signal::Metrics,
                    )
                    .await?;
                    tracing::info!(
                        endpoint = %periodic.exporter.endpoint,
                        interval = %stratus_core::confval::format_duration(periodic.interval),
                        "pushing internal metrics over OTLP"
                    );
                    out.metric_tasks.push(tokio::spawn(push_metrics(
                        periodic.clone(),
                        exporter,
                        format!("{}/{name}", periodic.exporter.exporter_type),
                        registry.clone(),
                        resource.clone(),
                        started,
                        stopped.clone(),
                    )));
                }
            }
        }
    }
    if config.traces.requested {
        tracing::info!(
            "service::telemetry::traces is accepted, but stratus emits no internal traces yet"
        );
    }
    if config.logs.development {
        tracing::info!(
            "service::telemetry::logs::development has no effect: it changes stack traces and \
             DPanic in the Go collector, which stratus does not have"
        );
    }
    Ok(out)
}

fn prometheus_options(pull: &PrometheusReader, resource: &SelfResource) -> PrometheusOptions {
    let labels = resource.labels();
    PrometheusOptions {
        counter_suffix: !pull.without_type_suffix,
        scope: (!pull.without_scope_info).then(|| (SCOPE.to_string(), VERSION.to_string())),
        target_info: (!pull.without_target_info).then(|| labels.clone()),
        constant_labels: pull
            .resource_constant_labels
            .as_ref()
            .map(|filter| {
                labels
                    .iter()
                    .filter(|(k, _)| filter.matches(k))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
    }
}

async fn push_metrics(
    reader: PeriodicReader,
    exporter: Arc<dyn Exporter>,
    id: String,
    registry: Registry,
    resource: SelfResource,
    started: SystemTime,
    mut stopped: watch::Receiver<bool>,
) {
    let start = unix_nanos(started);
    let push = |registry: &Registry| {
        let rm = to_resource_metrics(
            &registry.snapshot(),
            resource.otlp(),
            &resource.schema_url,
            (SCOPE, VERSION),
            start,
            unix_nanos(SystemTime::now()),
        );
        Telemetry::new(Payload::Metrics(vec![rm]))
    };
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + reader.interval,
        reader.interval,
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => send(&exporter, &id, push(&registry), reader.timeout).await,
            _ = stopped.changed() => break,
        }
    }
    // A last export on shutdown, as the SDK's periodic reader does.
    send(&exporter, &id, push(&registry), reader.timeout).await;
    let _ = exporter.shutdown().await;
}

async fn export_logs(
    processor: LogProcessor,
    mut queue: mpsc::Receiver<LogRecord>,
    exporter: Arc<dyn Exporter>,
    id: String,
    resource: Resource,
    schema_url: String,
    mut stopped: watch::Receiver<bool>,
) {
    let (delay, max_batch, timeout) = match &processor.batch {
        Some(b) => (b.schedule_delay, b.max_export_batch_size, b.export_timeout),
        None => (Duration::ZERO, 1, processor.exporter.timeout),
    };
    let wrap = |records: Vec<LogRecord>| {
        Telemetry::new(Payload::Logs(vec![ResourceLogs {
            resource: Some(resource.clone()),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: SCOPE.to_string(),
                    version: VERSION.to_string(),
                    ..Default::default()
                }),
                log_records: records,
                ..Default::default()
            }],
            schema_url: schema_url.clone(),
        }]))
    };
    let mut stopping = false;
    while !stopping {
        let first = tokio::select! {
            r = queue.recv() => r,
            _ = stopped.changed() => None,
        };
        let Some(first) = first else {
            stopping = true;
            continue;
        };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + delay;
        while batch.len() < max_batch {
            tokio::select! {
                r = tokio::time::timeout_at(deadline, queue.recv()) => match r {
                    Ok(Some(record)) => batch.push(record),
                    Ok(None) => { stopping = true; break; }
                    Err(_) => break,
                },
                _ = stopped.changed() => { stopping = true; break; }
            }
        }
        send(&exporter, &id, wrap(batch), timeout).await;
    }
    // Flush what is queued (the shutdown lines included).
    loop {
        let mut batch = Vec::new();
        while batch.len() < max_batch.max(512) {
            match queue.try_recv() {
                Ok(record) => batch.push(record),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            break;
        }
        send(&exporter, &id, wrap(batch), timeout).await;
    }
    let _ = exporter.shutdown().await;
}

impl SelfTelemetry {
    /// Stops the `/metrics` endpoints and the pushes (each pushes once more), then
    /// flushes the log exports, within `deadline`.
    pub async fn shutdown(self, deadline: Duration) {
        for server in &self.servers {
            server.stop();
        }
        let _ = self.stop.send(true);
        let all = async {
            for task in self.metric_tasks {
                let _ = task.await;
            }
            for task in self.log_tasks {
                let _ = task.await;
            }
        };
        if tokio::time::timeout(deadline, all).await.is_err() {
            tracing::warn!(
                "internal telemetry exports did not finish before the shutdown deadline"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        assert_ne!(u, uuid_v4());
    }

    #[test]
    fn resource_defaults_and_overrides() {
        let mut config = TelemetryConfig::default();
        let r = SelfResource::new(&config);
        let keys: Vec<&str> = r.attributes.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["service.name", "service.version", "service.instance.id"]
        );
        config
            .resource
            .attributes
            .insert("service.name".into(), Some(Value::from("gw")));
        config
            .resource
            .attributes
            .insert("service.instance.id".into(), None);
        config
            .resource
            .attributes
            .insert("region".into(), Some(Value::from("eu")));
        let r = SelfResource::new(&config);
        assert_eq!(
            r.labels(),
            vec![
                ("service.version".to_string(), VERSION.to_string()),
                ("region".to_string(), "eu".to_string()),
                ("service.name".to_string(), "gw".to_string()),
            ]
        );
        assert_eq!(SelfResource::configured(&config).len(), 2);
    }
}
