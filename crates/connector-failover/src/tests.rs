use super::*;
use serde_json::Value;
use stratus_core::ComponentId;
use stratus_core::factory::{ConnectorFactory, FactoryInfo, decode_config};
use stratus_core::telemetry::Registry;
use stratus_testkit::RecordingConsumer;
use stratus_testkit::otlp::sample_spans;

/// A pipeline head that takes batches while up and refuses them (retryably) while down.
fn sink(up: bool) -> Arc<RecordingConsumer> {
    if up {
        RecordingConsumer::new()
    } else {
        RecordingConsumer::refusing(ConsumeError::retryable("connection refused"))
    }
}

/// A pipeline head that refuses every batch permanently until told otherwise.
fn rejecting() -> Arc<RecordingConsumer> {
    RecordingConsumer::refusing(ConsumeError::permanent("rejected"))
}

/// A batch whose span count identifies it.
fn batch(n: usize) -> Telemetry {
    sample_spans(n)
}

async fn build(
    raw: Value,
    sinks: &[(&str, &Arc<RecordingConsumer>)],
    registry: &Registry,
) -> Result<Arc<dyn Exporter>, ComponentError> {
    let ctx = BuildContext::new(
        ComponentId::new("failover"),
        vec![Signal::Traces],
        registry.clone(),
    );
    let pipelines = sinks
        .iter()
        .map(|(id, s)| (id.to_string(), (*s).clone() as BoxConsumer))
        .collect();
    FailoverConnectorFactory
        .build(ctx, &raw, Signal::Traces, Signal::Traces, pipelines)
        .await
}

fn two_levels() -> Value {
    serde_json::json!({
        "priority_levels": [["traces/a"], ["traces/b"]],
        "retry_interval": "10s",
        "retry_gap": "1s",
        "max_retries": 3,
    })
}

fn series(registry: &Registry, name: &str) -> String {
    let text = registry.render();
    text.lines()
        .find(|l| l.starts_with(name))
        .map(|l| l.rsplit(' ').next().unwrap_or_default().to_string())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[tokio::test(start_paused = true)]
async fn failed_level_hands_the_same_batch_to_the_next_level() {
    let registry = Registry::new();
    let (a, b) = (sink(false), sink(true));
    let f = build(
        two_levels(),
        &[("traces/a", &a), ("traces/b", &b)],
        &registry,
    )
    .await
    .unwrap();
    f.consume(batch(1)).await.unwrap();
    assert_eq!(
        b.batch_sizes(),
        vec![1],
        "the refused batch went to the next level"
    );
    assert_eq!(a.calls(), 1);
    // Now on level 1: the primary is not tried on every batch.
    f.consume(batch(2)).await.unwrap();
    assert_eq!(a.calls(), 1);
    assert_eq!(b.batch_sizes(), vec![1, 2]);
    assert_eq!(series(&registry, "stratus_connector_failover_level{"), "1");
    assert_eq!(
        series(&registry, "stratus_connector_failover_switches{"),
        "1"
    );
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_also_fail_over() {
    let registry = Registry::new();
    let (a, b) = (rejecting(), sink(true));
    let f = build(
        two_levels(),
        &[("traces/a", &a), ("traces/b", &b)],
        &registry,
    )
    .await
    .unwrap();
    f.consume(batch(5)).await.unwrap();
    assert_eq!(b.batch_sizes(), vec![5]);
}

#[tokio::test(start_paused = true)]
async fn every_level_refusing_fails_the_call_and_restarts_from_the_top() {
    let registry = Registry::new();
    let (a, b) = (rejecting(), sink(false));
    let f = build(
        two_levels(),
        &[("traces/a", &a), ("traces/b", &b)],
        &registry,
    )
    .await
    .unwrap();
    let err = f.consume(batch(1)).await.unwrap_err();
    assert!(!err.is_permanent(), "one level was retryable: {err:?}");
    assert!(err.message().contains("connection refused"), "{err}");
    // The next batch starts at the top again.
    a.accept_all();
    f.consume(batch(2)).await.unwrap();
    assert_eq!(a.batch_sizes(), vec![2]);

    let (c, d) = (rejecting(), rejecting());
    let f = build(
        two_levels(),
        &[("traces/a", &c), ("traces/b", &d)],
        &registry,
    )
    .await
    .unwrap();
    assert!(f.consume(batch(1)).await.unwrap_err().is_permanent());
}

#[tokio::test(start_paused = true)]
async fn returns_to_the_primary_after_retry_interval() {
    let registry = Registry::new();
    let (a, b) = (sink(false), sink(true));
    let f = build(
        two_levels(),
        &[("traces/a", &a), ("traces/b", &b)],
        &registry,
    )
    .await
    .unwrap();
    f.consume(batch(1)).await.unwrap();
    a.accept_all();
    // Before retry_interval the primary is left alone.
    tokio::time::advance(Duration::from_secs(9)).await;
    f.consume(batch(2)).await.unwrap();
    assert_eq!(b.batch_sizes(), vec![1, 2]);
    assert!(a.batch_sizes().is_empty());
    tokio::time::advance(Duration::from_secs(1)).await;
    f.consume(batch(3)).await.unwrap();
    f.consume(batch(4)).await.unwrap();
    assert_eq!(a.batch_sizes(), vec![3, 4], "back on the primary");
    assert_eq!(b.batch_sizes(), vec![1, 2]);
    assert_eq!(series(&registry, "stratus_connector_failover_level{"), "0");
    assert_eq!(
        series(&registry, "stratus_connector_failover_switches{"),
        "2"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_retry_still_delivers_to_the_current_level() {
    let registry = Registry::new();
    let (a, b) = (sink(false), sink(true));
    let f = build(
        two_levels(),
        &[("traces/a", &a), ("traces/b", &b)],
        &registry,
    )
    .await
    .unwrap();
    f.consume(batch(1)).await.unwrap();
    tokio::time::advance(Duration::from_secs(10)).await;
    f.consume(batch(2)).await.unwrap();
    assert_eq!(a.calls(), 2, "the primary was tried again");
    assert_eq!(
        b.batch_sizes(),
        vec![1, 2],
        "and the batch went on to the secondary"
    );
    // The next attempt waits a whole retry_interval again.
    f.consume(batch(3)).await.unwrap();
    assert_eq!(a.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn gives_up_on_a_level_after_max_retries() {
    let registry = Registry::new();
    let (a, b) = (sink(false), sink(true));
    let f = build(
        two_levels(),
        &[("traces/a", &a), ("traces/b", &b)],
        &registry,
    )
    .await
    .unwrap();
    f.consume(batch(1)).await.unwrap();
    for _ in 0..6 {
        tokio::time::advance(Duration::from_secs(10)).await;
        f.consume(batch(1)).await.unwrap();
    }
    // One first failure, then max_retries (3) attempts to go back.
    assert_eq!(a.calls(), 4);
    assert_eq!(b.batch_sizes().len(), 7);
}

#[tokio::test(start_paused = true)]
async fn unlimited_retries_with_zero() {
    let registry = Registry::new();
    let (a, b) = (sink(false), sink(true));
    let mut raw = two_levels();
    raw["max_retries"] = 0.into();
    let f = build(raw, &[("traces/a", &a), ("traces/b", &b)], &registry)
        .await
        .unwrap();
    f.consume(batch(1)).await.unwrap();
    for _ in 0..12 {
        tokio::time::advance(Duration::from_secs(10)).await;
        f.consume(batch(1)).await.unwrap();
    }
    assert_eq!(a.calls(), 13);
}

#[tokio::test(start_paused = true)]
async fn tries_higher_levels_one_at_a_time_with_retry_gap() {
    let registry = Registry::new();
    let (a, b, c) = (sink(false), sink(false), sink(true));
    let raw = serde_json::json!({
        "priority_levels": [["traces/a"], ["traces/b"], ["traces/c"]],
        "retry_interval": "10s",
        "retry_gap": "1s",
    });
    let f = build(
        raw,
        &[("traces/a", &a), ("traces/b", &b), ("traces/c", &c)],
        &registry,
    )
    .await
    .unwrap();
    f.consume(batch(1)).await.unwrap();
    assert_eq!(c.batch_sizes(), vec![1]);
    assert_eq!((a.calls(), b.calls()), (1, 1));
    b.accept_all();
    tokio::time::advance(Duration::from_secs(10)).await;
    f.consume(batch(2)).await.unwrap();
    // The top level was tried first and failed; level 1 waits for retry_gap.
    assert_eq!((a.calls(), b.calls()), (2, 1));
    assert_eq!(c.batch_sizes(), vec![1, 2]);
    f.consume(batch(3)).await.unwrap();
    assert_eq!(b.calls(), 1);
    tokio::time::advance(Duration::from_secs(1)).await;
    f.consume(batch(4)).await.unwrap();
    assert_eq!(b.batch_sizes(), vec![4], "back on level 1");
    f.consume(batch(5)).await.unwrap();
    assert_eq!(b.batch_sizes(), vec![4, 5]);
    // Level 0 is still tried every retry_interval.
    a.accept_all();
    tokio::time::advance(Duration::from_secs(10)).await;
    f.consume(batch(6)).await.unwrap();
    assert_eq!(a.batch_sizes(), vec![6]);
}

#[tokio::test]
async fn a_level_fails_when_any_of_its_pipelines_fails() {
    let registry = Registry::new();
    let (a1, a2, b) = (sink(true), sink(false), sink(true));
    let raw = serde_json::json!({"priority_levels": [["traces/a1", "traces/a2"], ["traces/b"]]});
    let f = build(
        raw,
        &[("traces/a1", &a1), ("traces/a2", &a2), ("traces/b", &b)],
        &registry,
    )
    .await
    .unwrap();
    f.consume(batch(1)).await.unwrap();
    assert_eq!(
        a1.batch_sizes(),
        vec![1],
        "the healthy pipeline of the level got it"
    );
    assert_eq!(b.batch_sizes(), vec![1], "and the next level too");
}

#[tokio::test]
async fn build_checks_the_pipelines() {
    let registry = Registry::new();
    let (a, b) = (sink(true), sink(true));
    let err = build(two_levels(), &[("traces/a", &a)], &registry)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("`traces/b`"), "{err}");
    let raw = serde_json::json!({"priority_levels": [["traces/a"]]});
    let err = build(raw, &[("traces/a", &a), ("traces/b", &b)], &registry)
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("pipeline `traces/b` lists this connector as a receiver"),
        "{err}"
    );
    let ctx = BuildContext::new(ComponentId::new("failover"), vec![], registry.clone());
    let err = FailoverConnectorFactory
        .build(ctx, &two_levels(), Signal::Traces, Signal::Logs, vec![])
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("same signal"), "{err}");
}

#[test]
fn config_defaults_and_problems() {
    let f = FailoverConnectorFactory;
    let c: FailoverConfig =
        decode_config(&serde_json::json!({"priority_levels": [["traces"]]})).unwrap();
    assert_eq!(c.retry_interval, Duration::from_secs(600));
    assert_eq!(c.retry_gap, Duration::from_secs(30));
    assert_eq!(c.max_retries, 10);

    let problems = f.check_config(&Value::Null).unwrap_err();
    assert_eq!(problems[0].path, "priority_levels");
    let problems = f
        .check_config(&serde_json::json!({
            "priority_levels": [[], ["trace/x", "logs/a b", "logs"], ["logs"]],
            "retry_interval": "0s",
        }))
        .unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "priority_levels::0",
            "priority_levels::1::0",
            "priority_levels::1::1",
            "priority_levels::2::0",
            "retry_interval"
        ],
        "{problems:?}"
    );
    assert!(problems[3].message.contains("more than once"));
    let problems = f
        .check_config(&serde_json::json!({"priority_levels": [["traces"]], "retry_intervl": "1s"}))
        .unwrap_err();
    assert_eq!(problems[0].path, "retry_intervl");
    let problems = f
        .check_config(&serde_json::json!({"priority_levels": "traces"}))
        .unwrap_err();
    assert_eq!(problems[0].path, "priority_levels");
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::connector(&FailoverConnectorFactory)
        .config_for(
            |to| serde_json::json!({"priority_levels": [[format!("{to}/a")], [format!("{to}/b")]]}),
        )
        .default_config_rejected(&["priority_levels"])
        .await;
}

/// A pipeline head that takes everything and reports a destination's health, as the
/// exporter helper's exporters do.
struct Reporting {
    sink: Arc<RecordingConsumer>,
    destination: Arc<Destination>,
}

#[async_trait]
impl Consumer for Reporting {
    async fn consume(&self, data: Telemetry) -> Result<(), ConsumeError> {
        self.sink.consume(data).await
    }
    fn destinations(&self) -> Vec<Arc<Destination>> {
        vec![self.destination.clone()]
    }
}

/// With queues, a dead primary still takes data (its queue has room): the connector
/// follows the destination's health instead, registers the next level as the
/// primary's handover, and goes back once the primary's destination took data again.
#[tokio::test]
async fn follows_destination_health_and_registers_the_handover() {
    let registry = Registry::new();
    let (a, b) = (sink(true), sink(true));
    let destination = Destination::new("otlp/a");
    let head_a: BoxConsumer = Arc::new(Reporting {
        sink: a.clone(),
        destination: destination.clone(),
    });
    let ctx = BuildContext::new(
        ComponentId::new("failover"),
        vec![Signal::Traces],
        registry.clone(),
    );
    let f = FailoverConnectorFactory
        .build(
            ctx,
            &two_levels(),
            Signal::Traces,
            Signal::Traces,
            vec![
                ("traces/a".to_string(), head_a),
                ("traces/b".to_string(), b.clone() as BoxConsumer),
            ],
        )
        .await
        .unwrap();
    let handover = destination.handover().expect("a handover for level 0");
    f.consume(batch(1)).await.unwrap();
    assert_eq!(a.batch_sizes(), vec![1]);

    destination.failed();
    destination.failed();
    f.consume(batch(2)).await.unwrap();
    assert_eq!(
        a.batch_sizes(),
        vec![1],
        "a failing destination gets no new data"
    );
    assert_eq!(b.batch_sizes(), vec![2]);
    assert_eq!(series(&registry, "stratus_connector_failover_level"), "1");

    // What the primary held goes to the level below through the handover.
    handover.consume(batch(3)).await.unwrap();
    assert_eq!(b.batch_sizes(), vec![2, 3]);

    // The destination took a request again (the probe): back to the primary.
    destination.succeeded();
    f.consume(batch(4)).await.unwrap();
    assert_eq!(a.batch_sizes(), vec![1, 4]);
    assert_eq!(series(&registry, "stratus_connector_failover_level"), "0");
}
