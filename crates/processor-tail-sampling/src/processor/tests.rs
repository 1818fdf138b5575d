//! The processor end to end, on tokio's paused clock: `decision_wait` passes through
//! `tokio::time::advance`, never through real sleeps.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, ProcessorFactory, decode_config};
use stratus_core::telemetry::Registry;
use stratus_core::{Component, ComponentId, ConsumeError, Consumer, Host, Signal};
use stratus_testkit::RecordingConsumer;
use stratus_testkit::metric_value;
use stratus_testkit::otlp::{SAMPLE_TIME_NS, SpanBuilder, TracesBuilder, span, traces};

use super::*;
use crate::TailSamplingProcessorFactory;

const MS: u64 = 1_000_000;

struct Rig {
    p: Arc<TailSampling>,
    sink: Arc<RecordingConsumer>,
    registry: Registry,
}

fn build(id: ComponentId, cfg: Value) -> Rig {
    let registry = Registry::new();
    let ctx = BuildContext::new(id, vec![Signal::Traces], registry.clone());
    let config: TailSamplingConfig =
        decode_config(&cfg).unwrap_or_else(|e| panic!("invalid config {cfg}: {e:?}"));
    let sink = RecordingConsumer::new();
    let p = Arc::new(TailSampling::new(&ctx, &config, sink.boxed()).unwrap());
    Rig { p, sink, registry }
}

async fn rig(cfg: Value) -> Rig {
    let r = build(ComponentId::new("tail_sampling"), cfg);
    r.p.start(&Host::ready()).await.unwrap();
    r
}

impl Rig {
    /// Moves the paused clock by `d` (at least one timer period) and waits for the
    /// timer's run at the new time.
    async fn advance(&self, d: Duration) {
        let mut ticks = self.p.ticks();
        let before = *ticks.borrow_and_update();
        tokio::time::advance(d).await;
        tokio::time::timeout(Duration::from_secs(60), ticks.wait_for(|t| *t > before))
            .await
            .expect("the decision timer ran")
            .expect("the processor is alive");
    }

    async fn send(&self, b: TracesBuilder) {
        self.p.consume(b.build()).await.unwrap();
    }

    fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        metric_value(
            &self.registry,
            &format!("otelcol_processor_tail_sampling_{name}"),
            labels,
        )
    }

    /// Spans received downstream, by trace (the first byte of the id) and name.
    fn kept(&self) -> BTreeMap<u8, Vec<String>> {
        let mut out: BTreeMap<u8, Vec<String>> = BTreeMap::new();
        for s in self.sink.spans() {
            out.entry(s.trace_id[0]).or_default().push(s.name.clone());
        }
        out
    }
}

/// A trace id whose first byte is `n`.
fn tid(n: u8) -> [u8; 16] {
    let mut id = [0x11; 16];
    id[0] = n;
    id
}

/// A span of trace `n` lasting `ms` milliseconds.
fn sp(n: u8, name: &str, ms: u64) -> SpanBuilder {
    span(name)
        .trace_id(tid(n))
        .start(SAMPLE_TIME_NS)
        .end(SAMPLE_TIME_NS + ms * MS)
}

fn errors_and_slow() -> Value {
    json!({
        "decision_wait": "10s",
        "policies": [
            {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
            {"name": "slow", "type": "latency", "latency": {"threshold_ms": 1000}},
        ],
    })
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(start_paused = true)]
async fn error_and_slow_traces_are_kept_the_others_dropped() {
    let r = rig(errors_and_slow()).await;
    // Spans of four traces over two requests; trace 1's error comes second.
    r.send(
        traces()
            .resource([("service.name", "api")])
            .span(sp(1, "1a", 20).ok())
            .span(sp(2, "2a", 1500))
            .span(sp(3, "3a", 10).ok())
            .span(sp(4, "4a", 10)),
    )
    .await;
    r.send(
        traces()
            .span(sp(1, "1b", 5).error("boom"))
            .span(sp(3, "3b", 30).ok())
            .span(sp(2, "2b", 100)),
    )
    .await;
    assert_eq!(r.p.traces_in_memory(), 4);
    assert_eq!(r.p.held_spans(), 7);
    assert_eq!(r.metric("new_trace_id_received", &[]), 4.0);

    r.advance(Duration::from_secs(9)).await;
    assert_eq!(
        r.sink.item_count(),
        0,
        "nothing is decided before decision_wait"
    );

    r.advance(Duration::from_secs(1)).await;
    let kept = r.kept();
    assert_eq!(
        kept.get(&1),
        Some(&names(&["1a", "1b"])),
        "the error trace, whole"
    );
    assert_eq!(
        kept.get(&2),
        Some(&names(&["2a", "2b"])),
        "the slow trace, whole"
    );
    assert_eq!(
        kept.len(),
        2,
        "fast traces without errors are dropped: {kept:?}"
    );
    assert_eq!(r.p.held_spans(), 0);
    // Decided traces stay (without spans) until num_traces pushes them out.
    assert_eq!(r.p.traces_in_memory(), 4);

    let global = |d: &str| r.metric("global_count_traces_sampled", &[("decision", d)]);
    assert_eq!((global("sampled"), global("not_sampled")), (2.0, 2.0));
    let by = |p: &str, d: &str| r.metric("count_traces_sampled", &[("policy", p), ("decision", d)]);
    assert_eq!(
        (by("errors", "sampled"), by("errors", "not_sampled")),
        (1.0, 3.0)
    );
    assert_eq!(
        (by("slow", "sampled"), by("slow", "not_sampled")),
        (1.0, 3.0)
    );
    assert_eq!(r.metric("sampling_traces_on_memory", &[]), 4.0);
    assert_eq!(r.metric("sampling_trace_dropped_too_early", &[]), 0.0);
}

#[tokio::test(start_paused = true)]
async fn late_spans_follow_the_decision() {
    let r = rig(errors_and_slow()).await;
    r.send(
        traces()
            .span(sp(1, "1a", 5).error("x"))
            .span(sp(2, "2a", 5)),
    )
    .await;
    r.advance(Duration::from_secs(10)).await;
    assert_eq!(r.kept().get(&1), Some(&names(&["1a"])));

    // Late spans: trace 1's go straight through, trace 2's are dropped, even a slow
    // error span that would have sampled it.
    r.advance(Duration::from_secs(3)).await;
    r.send(
        traces()
            .span(sp(1, "1late", 5))
            .span(sp(2, "2late", 5000).error("y")),
    )
    .await;
    let kept = r.kept();
    assert_eq!(kept.get(&1), Some(&names(&["1a", "1late"])));
    assert_eq!(kept.get(&2), None);
    assert_eq!(r.metric("sampling_late_span_age_count", &[]), 2.0);
    assert_eq!(r.metric("new_trace_id_received", &[]), 2.0, "no new trace");
    assert_eq!(r.p.held_spans(), 0);
    // And they are never decided again.
    r.advance(Duration::from_secs(20)).await;
    assert_eq!(r.kept().get(&2), None);
}

#[tokio::test(start_paused = true)]
async fn with_decision_caches_traces_leave_memory_and_the_caches_answer() {
    let mut cfg = errors_and_slow();
    cfg["decision_cache"] = json!({"sampled_cache_size": 100, "non_sampled_cache_size": 100});
    let r = rig(cfg).await;
    r.send(
        traces()
            .span(sp(1, "1a", 5).error("x"))
            .span(sp(2, "2a", 5)),
    )
    .await;
    r.advance(Duration::from_secs(10)).await;
    assert_eq!(r.p.traces_in_memory(), 0, "decided traces leave the table");
    assert_eq!(r.metric("sampling_trace_removal_age_count", &[]), 2.0);

    r.send(
        traces()
            .span(sp(1, "1late", 5))
            .span(sp(1, "1late2", 5))
            .span(sp(2, "2late", 5).error("y")),
    )
    .await;
    assert_eq!(r.kept().get(&1), Some(&names(&["1a", "1late", "1late2"])));
    assert_eq!(r.kept().get(&2), None);
    let early = |s: &str| r.metric("early_releases_from_cache_decision", &[("sampled", s)]);
    assert_eq!(
        (early("true"), early("false")),
        (2.0, 1.0),
        "spans released by each cache"
    );
    assert_eq!(r.p.traces_in_memory(), 0);
}

#[tokio::test(start_paused = true)]
async fn without_a_cache_an_evicted_decision_is_forgotten() {
    // Upstream's scenario 2: once the decided trace left the table, its late spans
    // start a new trace that waits decision_wait again.
    let mut cfg = errors_and_slow();
    cfg["num_traces"] = json!(2);
    let r = rig(cfg).await;
    r.send(traces().span(sp(1, "1a", 5).ok())).await;
    r.advance(Duration::from_secs(10)).await;
    assert_eq!(r.sink.item_count(), 0, "trace 1 not sampled");
    r.send(traces().span(sp(2, "2a", 5)).span(sp(3, "3a", 5)))
        .await;
    assert_eq!(
        r.metric("sampling_trace_dropped_too_early", &[]),
        0.0,
        "trace 1 was decided"
    );

    r.send(traces().span(sp(1, "1late", 5).error("late error")))
        .await;
    assert_eq!(
        r.metric("new_trace_id_received", &[]),
        4.0,
        "trace 1 is new again"
    );
    r.advance(Duration::from_secs(10)).await;
    assert_eq!(r.kept().get(&1), Some(&names(&["1late"])));
}

#[tokio::test(start_paused = true)]
async fn num_traces_bounds_memory_evicting_the_oldest() {
    let r = rig(json!({
        "decision_wait": "5s",
        "num_traces": 10,
        "policies": [{"name": "all", "type": "always_sample"}],
    }))
    .await;
    for n in 1..=15u8 {
        r.send(
            traces()
                .span(sp(n, &format!("{n}"), 1))
                .span(sp(n, &format!("{n}b"), 1)),
        )
        .await;
        assert!(r.p.traces_in_memory() <= 10);
    }
    assert_eq!(r.p.traces_in_memory(), 10);
    assert_eq!(r.p.held_spans(), 20);
    assert_eq!(r.metric("sampling_trace_dropped_too_early", &[]), 5.0);
    assert_eq!(r.metric("sampling_trace_removal_age_count", &[]), 5.0);
    assert_eq!(r.metric("sampling_traces_on_memory", &[]), 10.0);

    r.advance(Duration::from_secs(5)).await;
    let kept: Vec<u8> = r.kept().into_keys().collect();
    assert_eq!(
        kept,
        (6..=15).collect::<Vec<u8>>(),
        "the five oldest were evicted unsampled"
    );
    assert_eq!(r.sink.item_count(), 20);
}

#[tokio::test(start_paused = true)]
async fn spans_of_several_traces_in_one_resource_are_split_keeping_resource_and_scopes() {
    let r = rig(errors_and_slow()).await;
    r.send(
        traces()
            .resource([("service.name", "checkout")])
            .scope("http")
            .span(sp(1, "1a", 5).error("x"))
            .span(sp(2, "2a", 5))
            .scope("db")
            .span(sp(1, "1b", 5))
            .span(sp(2, "2b", 5)),
    )
    .await;
    assert_eq!(r.p.traces_in_memory(), 2);
    r.advance(Duration::from_secs(10)).await;
    let batches = r.sink.batches();
    let Payload::Traces(rss) = &*batches[0].payload else {
        panic!("traces")
    };
    assert_eq!(rss.len(), 1);
    let rs = &rss[0];
    let attrs = &rs.resource.as_ref().unwrap().attributes;
    assert_eq!(attrs[0].key, "service.name");
    let scopes: Vec<(&str, Vec<&str>)> = rs
        .scope_spans
        .iter()
        .map(|ss| {
            (
                ss.scope.as_ref().unwrap().name.as_str(),
                ss.spans.iter().map(|s| s.name.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(scopes, vec![("http", vec!["1a"]), ("db", vec!["1b"])]);
}

#[tokio::test(start_paused = true)]
async fn a_drop_policy_wins_over_samplers() {
    let r = rig(json!({
        "decision_wait": "1s",
        "policies": [
            {"name": "all", "type": "always_sample"},
            {"name": "no", "type": "drop", "drop": {"drop_sub_policy": [
                {"name": "flag", "type": "boolean_attribute", "boolean_attribute": {"key": "app.do_not_sample", "value": true}},
            ]}},
        ],
    }))
    .await;
    r.send(
        traces()
            .span(sp(1, "1", 1).attr("app.do_not_sample", true))
            .span(sp(2, "2", 1)),
    )
    .await;
    r.advance(Duration::from_secs(1)).await;
    assert_eq!(r.kept().into_keys().collect::<Vec<_>>(), vec![2]);
    assert_eq!(
        r.metric("global_count_traces_sampled", &[("decision", "dropped")]),
        1.0
    );
    // The drop policy ran first and ended the evaluation of trace 1.
    assert_eq!(r.metric("count_traces_sampled", &[("policy", "all")]), 1.0);
}

#[tokio::test(start_paused = true)]
async fn composite_keeps_each_share_of_the_spans_per_second() {
    let r = rig(json!({
        "decision_wait": "2s",
        "policies": [{"name": "c", "type": "composite", "composite": {
            "max_total_spans_per_second": 100,
            "policy_order": ["errors", "all"],
            "composite_sub_policy": [
                {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
                {"name": "all", "type": "always_sample"},
            ],
            "rate_allocation": [{"policy": "errors", "percent": 40}, {"policy": "all", "percent": 60}],
        }}],
    }))
    .await;
    // 20 error traces and 20 others of 10 spans each, decided in one tick (one second).
    for n in 0..40u8 {
        let spans = (0..10).map(|i| {
            let s = sp(n, &format!("{n}-{i}"), 1);
            if n < 20 && i == 0 { s.error("x") } else { s }
        });
        r.send(traces().spans(spans)).await;
    }
    r.advance(Duration::from_secs(2)).await;
    let kept = r.kept();
    let errors = kept.keys().filter(|n| **n < 20).count();
    let others = kept.keys().filter(|n| **n >= 20).count();
    assert_eq!(
        (errors, others),
        (4, 6),
        "40 and 60 spans of 100 per second"
    );
}

#[tokio::test(start_paused = true)]
async fn sample_on_first_match_stops_at_the_first_sampler() {
    for (first_match, second_count) in [(true, 0.0), (false, 1.0)] {
        let r = rig(json!({
            "decision_wait": "1s",
            "sample_on_first_match": first_match,
            "policies": [
                {"name": "first", "type": "always_sample"},
                {"name": "second", "type": "status_code", "status_code": {"status_codes": ["UNSET"]}},
            ],
        }))
        .await;
        r.send(traces().span(sp(1, "1", 1))).await;
        r.advance(Duration::from_secs(1)).await;
        assert_eq!(r.sink.item_count(), 1);
        assert_eq!(
            r.metric("count_traces_sampled", &[("policy", "second")]),
            second_count
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_policy_error_is_counted_and_the_other_policies_decide() {
    let r = rig(json!({
        "decision_wait": "1s",
        "policies": [
            {"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}},
            {"name": "eu", "type": "ottl_condition", "ottl_condition": {
                "span": [r#"attributes["ratio"]["x"] == "a""#],
            }},
        ],
    }))
    .await;
    r.send(
        traces()
            .span(sp(1, "1", 1).attr("ratio", 0.5).error("x"))
            .span(sp(2, "2", 1).attr("ratio", 0.5)),
    )
    .await;
    r.advance(Duration::from_secs(1)).await;
    assert_eq!(r.kept().into_keys().collect::<Vec<_>>(), vec![1]);
    assert_eq!(r.metric("sampling_policy_evaluation_error", &[]), 2.0);
    assert_eq!(
        r.metric("count_traces_sampled", &[("policy", "eu")]),
        0.0,
        "no decision to count"
    );
}

#[tokio::test(start_paused = true)]
async fn ottl_condition_samples_eu_traces() {
    let r = rig(json!({
        "decision_wait": "1s",
        "policies": [{"name": "eu", "type": "ottl_condition", "ottl_condition": {
            "error_mode": "ignore",
            "span": [r#"resource.attributes["cloud.region"] == "eu-west-1" and kind == SPAN_KIND_SERVER"#],
        }}],
    }))
    .await;
    r.send(
        traces()
            .resource([("cloud.region", "eu-west-1")])
            .span(sp(1, "1", 1).kind(stratus_testkit::otlp::SpanKind::Server))
            .span(sp(2, "2", 1).kind(stratus_testkit::otlp::SpanKind::Client))
            .resource([("cloud.region", "us-east-1")])
            .span(sp(3, "3", 1).kind(stratus_testkit::otlp::SpanKind::Server)),
    )
    .await;
    r.advance(Duration::from_secs(1)).await;
    assert_eq!(r.kept().into_keys().collect::<Vec<_>>(), vec![1]);
}

#[tokio::test(start_paused = true)]
async fn a_refused_late_span_is_returned_and_nothing_of_the_request_is_buffered() {
    let r = rig(errors_and_slow()).await;
    r.send(traces().span(sp(1, "1a", 5).error("x"))).await;
    r.advance(Duration::from_secs(10)).await;
    r.sink.refuse_next(1, ConsumeError::retryable("queue full"));
    let request = || traces().span(sp(1, "1late", 5)).span(sp(2, "2a", 5));
    let err = r.p.consume(request().build()).await.unwrap_err();
    assert!(!err.is_permanent());
    assert_eq!(r.p.held_spans(), 0, "trace 2's span was not buffered");
    // The client's retry buffers it once.
    r.send(request()).await;
    assert_eq!(r.p.held_spans(), 1);
    assert_eq!(r.kept().get(&1), Some(&names(&["1a", "1late"])));
}

#[tokio::test(start_paused = true)]
async fn sampled_spans_refused_at_the_decision_are_counted() {
    let r = rig(errors_and_slow()).await;
    r.send(
        traces()
            .span(sp(1, "1a", 5).error("x"))
            .span(sp(1, "1b", 5)),
    )
    .await;
    r.sink.refuse_next(1, ConsumeError::permanent("bad data"));
    r.advance(Duration::from_secs(10)).await;
    assert_eq!(
        metric_value(
            &r.registry,
            "stratus_processor_tail_sampling_send_failed_spans",
            &[]
        ),
        2.0
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_decides_pending_traces_now() {
    let r = rig(json!({
        "decision_wait": "30s",
        "policies": [{"name": "errors", "type": "status_code", "status_code": {"status_codes": ["ERROR"]}}],
    }))
    .await;
    r.send(
        traces()
            .span(sp(1, "1a", 1).error("x"))
            .span(sp(1, "1b", 1))
            .span(sp(2, "2a", 1)),
    )
    .await;
    r.p.shutdown().await.unwrap();
    assert_eq!(
        r.kept().get(&1),
        Some(&names(&["1a", "1b"])),
        "decided at shutdown, not dropped"
    );
    assert_eq!(r.kept().get(&2), None);
    assert_eq!(r.metric("global_count_traces_sampled", &[]), 2.0);
    let err =
        r.p.consume(traces().span(sp(3, "3", 1)).build())
            .await
            .unwrap_err();
    assert_eq!(err.message(), SHUTTING_DOWN);
    assert!(!err.is_permanent());
    r.p.shutdown().await.unwrap();
    assert_eq!(
        r.sink.item_count(),
        2,
        "a second shutdown sends nothing again"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_without_start_still_decides() {
    let r = build(ComponentId::new("tail_sampling"), errors_and_slow());
    r.send(traces().span(sp(1, "1a", 1).error("x"))).await;
    r.p.shutdown().await.unwrap();
    assert_eq!(r.sink.item_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_named_processor_prefixes_its_policy_labels() {
    let r = build(
        ComponentId::with_name("tail_sampling", "eu"),
        errors_and_slow(),
    );
    r.send(traces().span(sp(1, "1a", 1).error("x"))).await;
    r.p.decide_due().await;
    assert_eq!(
        r.sink.item_count(),
        0,
        "decide_due waits for decision_wait too"
    );
    r.p.shutdown().await.unwrap();
    assert_eq!(
        r.metric(
            "count_traces_sampled",
            &[("policy", "eu.errors"), ("processor", "tail_sampling/eu")]
        ),
        1.0
    );
}

#[tokio::test(start_paused = true)]
async fn every_upstream_metric_is_registered() {
    let r = rig(errors_and_slow()).await;
    r.send(traces().span(sp(1, "1a", 1).error("x"))).await;
    r.advance(Duration::from_secs(10)).await;
    let text = r.registry.render();
    for name in [
        "count_traces_sampled",
        "global_count_traces_sampled",
        "sampling_decision_latency",
        "sampling_decision_timer_latency",
        "sampling_late_span_age",
        "sampling_policy_evaluation_error",
        "sampling_trace_dropped_too_early",
        "sampling_trace_removal_age",
        "new_trace_id_received",
        "sampling_traces_on_memory",
        "early_releases_from_cache_decision",
    ] {
        assert!(
            text.contains(&format!("# TYPE otelcol_processor_tail_sampling_{name} ")),
            "{name} missing from\n{text}"
        );
    }
}

#[test]
fn group_by_trace_moves_single_trace_resources_whole() {
    let mut out = Vec::new();
    let rss = traces()
        .resource([("r", 1)])
        .span(sp(1, "a", 1))
        .span(sp(1, "b", 1))
        .resource([("r", 2)])
        .resource([("r", 3)])
        .span(sp(2, "c", 1))
        .span(sp(3, "d", 1))
        .span(sp(2, "e", 1))
        .resource_spans();
    group_by_trace(rss, &mut out);
    let summary: Vec<(u8, u64, Vec<&str>)> = out
        .iter()
        .map(|g| {
            (
                g.id[0],
                g.spans,
                g.batch
                    .scope_spans
                    .iter()
                    .flat_map(|ss| &ss.spans)
                    .map(|s| s.name.as_str())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, 2, vec!["a", "b"]),
            (2, 2, vec!["c", "e"]),
            (3, 1, vec!["d"])
        ],
        "the empty resource is left out"
    );
    assert_eq!(trace_id(&[1, 2]), {
        let mut id = [0; 16];
        id[..2].copy_from_slice(&[1, 2]);
        id
    });
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::processor(&TailSamplingProcessorFactory)
        .config(json!({"policies": [{"name": "all", "type": "always_sample"}]}))
        .default_config_rejected(&["policies"])
        .run()
        .await;
}

#[tokio::test]
async fn factory_builds_traces_beta() {
    use stratus_core::factory::{FactoryInfo, Stability};
    let f = TailSamplingProcessorFactory;
    assert_eq!(f.type_name(), "tail_sampling");
    assert_eq!(f.signals(), &[(Signal::Traces, Stability::Beta)]);
    let sink = RecordingConsumer::new();
    let ctx = BuildContext::new(
        ComponentId::new("tail_sampling"),
        vec![Signal::Traces],
        Registry::new(),
    );
    let p = f
        .build(
            ctx,
            &json!({"policies": [{"name": "all", "type": "always_sample"}]}),
            sink.boxed(),
        )
        .await
        .unwrap();
    p.consume(traces().span(sp(1, "x", 1)).build())
        .await
        .unwrap();
    p.shutdown().await.unwrap();
    assert_eq!(sink.item_count(), 1);
}
