#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Pipelines joined by connectors: build order, data flow, cycles, shutdown order.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use stratus_config::{PipelineConfig, PipelineId, Service as ServiceSection, ServiceConfig};
use stratus_connector_forward::ForwardConnectorFactory;
use stratus_core::factory::{
    BuildContext, ConfigProblem, Exporter, ExporterFactory, Factories, FactoryInfo, Processor,
    ProcessorFactory, ReceiverFactory, SignalConsumers, Stability,
};
use stratus_core::telemetry::Registry;
use stratus_core::{
    BoxConsumer, Component, ComponentError, ComponentId, ConsumeError, Consumer, Host, Signal,
    Telemetry,
};
use stratus_pipeline::Service;
use stratus_testkit::otlp::sample_spans as spans;

type Log = Arc<Mutex<Vec<String>>>;

/// A receiver that hands its consumers to the test.
#[derive(Clone, Default)]
struct TestReceiverFactory(Arc<Mutex<Option<SignalConsumers>>>);

impl FactoryInfo for TestReceiverFactory {
    fn type_name(&self) -> &'static str {
        "test"
    }
    fn signals(&self) -> &'static [(Signal, Stability)] {
        &[
            (Signal::Traces, Stability::Beta),
            (Signal::Logs, Stability::Beta),
        ]
    }
    fn check_config(&self, _raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        Ok(())
    }
}

struct Nothing;
impl Component for Nothing {}

#[async_trait]
impl ReceiverFactory for TestReceiverFactory {
    async fn build(
        &self,
        _ctx: BuildContext,
        _raw: &Value,
        next: SignalConsumers,
    ) -> Result<Arc<dyn Component>, ComponentError> {
        *self.0.lock().unwrap() = Some(next);
        Ok(Arc::new(Nothing))
    }
}

/// An exporter that records what it got and when it stopped.
#[derive(Clone, Default)]
struct MemExporterFactory {
    got: Arc<Mutex<BTreeMap<String, usize>>>,
    log: Log,
}

impl FactoryInfo for MemExporterFactory {
    fn type_name(&self) -> &'static str {
        "mem"
    }
    fn signals(&self) -> &'static [(Signal, Stability)] {
        &[
            (Signal::Traces, Stability::Beta),
            (Signal::Logs, Stability::Beta),
        ]
    }
    fn check_config(&self, _raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        Ok(())
    }
}

struct Mem {
    id: String,
    got: Arc<Mutex<BTreeMap<String, usize>>>,
    log: Log,
}

#[async_trait]
impl Consumer for Mem {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        *self.got.lock().unwrap().entry(self.id.clone()).or_default() += data.item_count();
        Ok(())
    }
}

#[async_trait]
impl Component for Mem {
    async fn shutdown(&self) -> Result<(), ComponentError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("exporter {}", self.id));
        Ok(())
    }
}

#[async_trait]
impl ExporterFactory for MemExporterFactory {
    async fn build(
        &self,
        ctx: BuildContext,
        _raw: &Value,
    ) -> Result<Arc<dyn Exporter>, ComponentError> {
        Ok(Arc::new(Mem {
            id: ctx.id.to_string(),
            got: self.got.clone(),
            log: self.log.clone(),
        }))
    }
}

/// A processor that passes data on and logs its start and shutdown.
#[derive(Clone, Default)]
struct LogProcessorFactory(Log);

impl FactoryInfo for LogProcessorFactory {
    fn type_name(&self) -> &'static str {
        "log"
    }
    fn signals(&self) -> &'static [(Signal, Stability)] {
        &[(Signal::Traces, Stability::Beta)]
    }
    fn check_config(&self, _raw: &Value) -> Result<(), Vec<ConfigProblem>> {
        Ok(())
    }
}

struct LogProcessor {
    id: String,
    log: Log,
    next: BoxConsumer,
}

#[async_trait]
impl Consumer for LogProcessor {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        self.next.consume(data).await
    }
}

#[async_trait]
impl Component for LogProcessor {
    async fn start(&self, _host: &Host) -> Result<(), ComponentError> {
        self.log.lock().unwrap().push(format!("start {}", self.id));
        Ok(())
    }
    async fn shutdown(&self) -> Result<(), ComponentError> {
        self.log.lock().unwrap().push(format!("stop {}", self.id));
        Ok(())
    }
}

#[async_trait]
impl ProcessorFactory for LogProcessorFactory {
    async fn build(
        &self,
        ctx: BuildContext,
        _raw: &Value,
        next: BoxConsumer,
    ) -> Result<Arc<dyn Processor>, ComponentError> {
        Ok(Arc::new(LogProcessor {
            id: ctx.id.to_string(),
            log: self.0.clone(),
            next,
        }))
    }
}

fn id(s: &str) -> ComponentId {
    s.parse().unwrap()
}

fn pipeline(receivers: &[&str], exporters: &[&str]) -> PipelineConfig {
    PipelineConfig {
        receivers: receivers.iter().map(|s| id(s)).collect(),
        processors: vec![],
        exporters: exporters.iter().map(|s| id(s)).collect(),
    }
}

fn config(pipelines: &[(&str, PipelineConfig)]) -> ServiceConfig {
    ServiceConfig {
        receivers: [(id("test"), Value::Null)].into(),
        processors: BTreeMap::new(),
        exporters: [(id("mem/a"), Value::Null), (id("mem/b"), Value::Null)].into(),
        connectors: [(id("forward"), Value::Null), (id("forward/2"), Value::Null)].into(),
        extensions: BTreeMap::new(),
        service: ServiceSection {
            pipelines: pipelines
                .iter()
                .map(|(p, c)| (p.parse::<PipelineId>().unwrap(), c.clone()))
                .collect(),
            ..Default::default()
        },
    }
}

fn factories(rx: &TestReceiverFactory, mem: &MemExporterFactory) -> Factories {
    Factories::new()
        .receiver(rx.clone())
        .exporter(mem.clone())
        .connector(ForwardConnectorFactory)
}

#[tokio::test]
async fn forward_joins_pipelines() {
    let rx = TestReceiverFactory::default();
    let mem = MemExporterFactory::default();
    // traces/in -> forward -> traces/mid -> forward/2 -> traces/out (mem/b);
    // traces/in also exports to mem/a directly.
    let cfg = config(&[
        ("traces/in", pipeline(&["test"], &["forward", "mem/a"])),
        ("traces/mid", pipeline(&["forward"], &["forward/2"])),
        ("traces/out", pipeline(&["forward/2"], &["mem/b"])),
    ]);
    let service = Service::build(&cfg, &factories(&rx, &mem), &Registry::new())
        .await
        .unwrap();
    service.start().await.unwrap();
    let head = rx.0.lock().unwrap().clone().unwrap().traces.unwrap();
    head.consume(spans(3)).await.unwrap();
    let got = mem.got.lock().unwrap().clone();
    assert_eq!(got.get("mem/a"), Some(&3));
    assert_eq!(
        got.get("mem/b"),
        Some(&3),
        "data went through both connectors"
    );
    assert!(service.shutdown(Duration::from_secs(5)).await);
    // Exporters stop after the connectors, in id order.
    assert_eq!(
        *mem.log.lock().unwrap(),
        vec!["exporter mem/a".to_string(), "exporter mem/b".to_string()]
    );
}

#[tokio::test]
async fn unsupported_routes_are_skipped_and_signals_stay_apart() {
    let rx = TestReceiverFactory::default();
    let mem = MemExporterFactory::default();
    // forward is traces->traces and logs->logs only: the logs pipeline gets nothing
    // from traces.
    let cfg = config(&[
        ("traces/in", pipeline(&["test"], &["forward"])),
        ("traces/out", pipeline(&["forward"], &["mem/a"])),
        ("logs/out", pipeline(&["forward"], &["mem/b"])),
        ("logs/in", pipeline(&["test"], &["forward"])),
    ]);
    let service = Service::build(&cfg, &factories(&rx, &mem), &Registry::new())
        .await
        .unwrap();
    let consumers = rx.0.lock().unwrap().clone().unwrap();
    consumers.traces.unwrap().consume(spans(2)).await.unwrap();
    consumers
        .logs
        .unwrap()
        .consume(Telemetry::empty(Signal::Logs))
        .await
        .unwrap();
    let got = mem.got.lock().unwrap().clone();
    assert_eq!(got.get("mem/a"), Some(&2));
    assert_eq!(got.get("mem/b"), Some(&0), "logs arrived, no spans in them");
    assert!(service.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn cycles_through_connectors_are_refused() {
    let rx = TestReceiverFactory::default();
    let mem = MemExporterFactory::default();
    let cfg = config(&[
        ("traces/in", pipeline(&["test"], &["forward"])),
        (
            "traces/a",
            pipeline(&["forward", "forward/2"], &["forward/2"]),
        ),
    ]);
    let err = Service::build(&cfg, &factories(&rx, &mem), &Registry::new())
        .await
        .err()
        .unwrap();
    assert!(err.message.contains("cycle"), "{err}");
    assert!(err.message.contains("traces/a"), "{err}");
}

#[tokio::test]
async fn downstream_starts_first_and_upstream_stops_first() {
    let rx = TestReceiverFactory::default();
    let mem = MemExporterFactory::default();
    let procs = LogProcessorFactory(mem.log.clone());
    // traces/z feeds traces/a: id order is the opposite of data order.
    let mut cfg = config(&[
        ("traces/z", pipeline(&["test"], &["forward"])),
        ("traces/a", pipeline(&["forward"], &["mem/a"])),
    ]);
    cfg.processors = [(id("log/up"), Value::Null), (id("log/down"), Value::Null)].into();
    for (p, proc_id) in [("traces/z", "log/up"), ("traces/a", "log/down")] {
        cfg.service
            .pipelines
            .get_mut(&p.parse::<PipelineId>().unwrap())
            .unwrap()
            .processors = vec![id(proc_id)];
    }
    let factories = factories(&rx, &mem).processor(procs);
    let service = Service::build(&cfg, &factories, &Registry::new())
        .await
        .unwrap();
    service.start().await.unwrap();
    let head = rx.0.lock().unwrap().clone().unwrap().traces.unwrap();
    head.consume(spans(4)).await.unwrap();
    assert_eq!(mem.got.lock().unwrap().get("mem/a"), Some(&4));
    assert!(service.shutdown(Duration::from_secs(5)).await);
    assert_eq!(
        *mem.log.lock().unwrap(),
        vec![
            "start log/down".to_string(),
            "start log/up".to_string(),
            "stop log/up".to_string(),
            "stop log/down".to_string(),
            "exporter mem/a".to_string(),
        ]
    );
}
