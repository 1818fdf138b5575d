//! The processor as the pipeline sees it: per-span decisions, empty scopes and
//! resources removed, metrics, two-phase admission, chained samplers, and the
//! `hash_seed` decisions checked against an independent reference in Python.

use std::collections::HashSet;
use std::io::Write as _;
use std::sync::Arc;

use serde_json::{Value, json};
use stratus_core::factory::{BuildContext, Processor, ProcessorFactory};
use stratus_core::pdata::common::{AnyValue, KeyValue, any_value};
use stratus_core::pdata::logs::{LogRecord, ResourceLogs, ScopeLogs};
use stratus_core::pdata::trace::{ResourceSpans, ScopeSpans, Span};
use stratus_core::telemetry::Registry;
use stratus_core::{ComponentId, ConsumeError, Consumer, Payload, Prepared, Signal, Telemetry};
use stratus_testkit::RecordingConsumer;

use crate::ProbabilisticSamplerProcessorFactory;
use crate::hash::scaled_sampling_rate;
use crate::sampling::{Randomness, Threshold, TraceState};

const N: usize = 100_000;

/// splitmix64: a seeded generator, so every run sees the same trace ids.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn trace_ids(seed: u64, n: usize) -> Vec<[u8; 16]> {
        let mut rng = SplitMix(seed);
        let ids: Vec<[u8; 16]> = (0..n)
            .map(|_| {
                let mut id = [0u8; 16];
                id[..8].copy_from_slice(&rng.next().to_be_bytes());
                id[8..].copy_from_slice(&rng.next().to_be_bytes());
                id
            })
            .collect();
        let distinct: HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), n, "trace ids are distinct");
        assert!(ids.iter().all(|id| *id != [0; 16]));
        ids
    }
}

fn span(id: &[u8; 16], trace_state: &str) -> Span {
    Span {
        trace_id: id.to_vec(),
        span_id: id[..8].to_vec(),
        trace_state: trace_state.to_string(),
        name: "op".to_string(),
        ..Default::default()
    }
}

fn batch(spans: Vec<Span>) -> Telemetry {
    Telemetry::new(Payload::Traces(vec![ResourceSpans {
        scope_spans: vec![ScopeSpans {
            spans,
            ..Default::default()
        }],
        ..Default::default()
    }]))
}

fn ctx(registry: &Registry) -> BuildContext {
    BuildContext::new(
        ComponentId::new("probabilistic_sampler/test"),
        vec![Signal::Traces, Signal::Logs],
        registry.clone(),
    )
}

async fn build(config: Value, next: Arc<RecordingConsumer>) -> Arc<dyn Processor> {
    build_with(config, next, &Registry::new()).await
}

async fn build_with(
    config: Value,
    next: Arc<dyn Consumer>,
    registry: &Registry,
) -> Arc<dyn Processor> {
    ProbabilisticSamplerProcessorFactory
        .build(ctx(registry), &config, next)
        .await
        .unwrap()
}

fn spans_of(sink: &RecordingConsumer) -> Vec<Span> {
    sink.batches()
        .into_iter()
        .flat_map(|t| match t.payload.into_payload() {
            Payload::Traces(rs) => rs,
            _ => Vec::new(),
        })
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .collect()
}

/// Feeds every id through `processor` (batches of 1000 spans) and returns, per id,
/// whether it came out at `sink`.
async fn decisions(
    processor: &dyn Processor,
    sink: &RecordingConsumer,
    ids: &[[u8; 16]],
    trace_state: &str,
) -> Vec<bool> {
    let before = spans_of(sink).len();
    for chunk in ids.chunks(1000) {
        let spans = chunk.iter().map(|id| span(id, trace_state)).collect();
        processor.consume(batch(spans)).await.unwrap();
    }
    let kept: HashSet<Vec<u8>> = spans_of(sink)
        .into_iter()
        .skip(before)
        .map(|s| s.trace_id)
        .collect();
    ids.iter().map(|id| kept.contains(id.as_slice())).collect()
}

/// Asserts `kept` of `n` Bernoulli(`p`) trials is within 5 standard deviations.
fn assert_binomial(kept: usize, n: usize, p: f64, what: &str) {
    let mean = n as f64 * p;
    let sigma = (n as f64 * p * (1.0 - p)).sqrt();
    assert!(
        (kept as f64 - mean).abs() <= 5.0 * sigma,
        "{what}: kept {kept} of {n}, expected {mean:.1} ± 5 × {sigma:.1}"
    );
}

/// The reference: FNV-1a and float32 arithmetic written again in Python, with
/// nothing taken from this crate. Prints, per seed and percentage, the number of
/// buckets kept and one `0`/`1` per trace id.
const PYTHON_REFERENCE: &str = r#"
import struct, sys

def f32(x):
    # Round a Python float (a double) to the nearest float32.
    return struct.unpack('<f', struct.pack('<f', x))[0]

FNV_OFFSET, FNV_PRIME = 0x811C9DC5, 0x01000193

def fnv1a32(data, h=FNV_OFFSET):
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFF
    return h

ids = [bytes.fromhex(line.strip()) for line in open(sys.argv[1]) if line.strip()]
seeds = [int(s) for s in sys.argv[2].split(',')]
percentages = sys.argv[3].split(',')
# float32(16384 / 100): the collector's percentageScaleFactor as a float32.
scale = f32(16384 / 100)
for seed in seeds:
    # The seed's four bytes, little-endian, go into the hash first.
    prefix = fnv1a32(struct.pack('<I', seed))
    buckets = [fnv1a32(i, prefix) & 0x3FFF for i in ids]
    for text in percentages:
        pct = min(f32(float(text)), 100.0)
        # A float32 product is the exact double product rounded to float32; Go's
        # uint32() conversion truncates toward zero.
        scaled = int(f32(pct * scale))
        print(seed, text, scaled, ''.join('1' if b < scaled else '0' for b in buckets))
"#;

/// 100,000 trace ids, seeds {0, 1, 22, 2^32-1} × percentages {10, 25, 33.3, 0.01, 100,
/// 0}: every `hash_seed` decision of the processor equals the Python reference's,
/// and each keep rate is within 5σ of the binomial expectation.
#[tokio::test]
async fn hash_seed_decisions_equal_an_independent_reference() {
    let python = std::env::var("STRATUS_TEST_PYTHON").expect("STRATUS_TEST_PYTHON");
    let ids = SplitMix::trace_ids(0x5eed_f1d5, N);
    let mut file = tempfile::NamedTempFile::new().unwrap();
    for id in &ids {
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        writeln!(file, "{hex}").unwrap();
    }
    file.flush().unwrap();
    let seeds: [u32; 4] = [0, 1, 22, u32::MAX];
    let percentages = ["10", "25", "33.3", "0.01", "100", "0"];
    let seed_list: Vec<String> = seeds.iter().map(u32::to_string).collect();
    let output = std::process::Command::new(&python)
        .arg("-c")
        .arg(PYTHON_REFERENCE)
        .arg(file.path())
        .arg(seed_list.join(","))
        .arg(percentages.join(","))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "python reference failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), seeds.len() * percentages.len());

    for line in lines {
        let mut fields = line.split(' ');
        let (seed, pct, scaled, expected) = (
            fields.next().unwrap(),
            fields.next().unwrap(),
            fields.next().unwrap(),
            fields.next().unwrap(),
        );
        let scaled: u32 = scaled.parse().unwrap();
        let pct_value: f32 = serde_json::from_str::<f64>(pct).unwrap() as f32;
        assert_eq!(
            scaled,
            scaled_sampling_rate(pct_value),
            "scaled rate of {pct}%"
        );
        let config: Value = serde_json::from_str(&format!(
            r#"{{"sampling_percentage": {pct}, "hash_seed": {seed}, "mode": "hash_seed"}}"#
        ))
        .unwrap();
        let sink = RecordingConsumer::new();
        let processor = build(config, sink.clone()).await;
        let got = decisions(processor.as_ref(), &sink, &ids, "").await;
        let expected: Vec<bool> = expected.bytes().map(|b| b == b'1').collect();
        assert_eq!(expected.len(), N);
        if let Some(i) = (0..N).find(|&i| got[i] != expected[i]) {
            panic!(
                "seed {seed}, {pct}%: trace id {i} kept={} but the reference says {}",
                got[i], expected[i]
            );
        }
        let kept = got.iter().filter(|&&k| k).count();
        assert_binomial(
            kept,
            N,
            f64::from(scaled) / 16384.0,
            &format!("seed {seed}, {pct}%"),
        );
        match pct {
            "0" => assert_eq!(kept, 0),
            "100" => assert_eq!(kept, N),
            _ => assert!(kept > 0 && kept < N),
        }
    }
}

/// Two collectors with the same seed keep the same traces; another seed keeps others.
#[tokio::test]
async fn same_seed_same_decisions() {
    let ids = SplitMix::trace_ids(7, 20_000);
    let config = json!({"sampling_percentage": 10, "hash_seed": 22});
    let (a_sink, b_sink, c_sink) = (
        RecordingConsumer::new(),
        RecordingConsumer::new(),
        RecordingConsumer::new(),
    );
    let a = build(config.clone(), a_sink.clone()).await;
    let b = build(config, b_sink.clone()).await;
    let c = build(
        json!({"sampling_percentage": 10, "hash_seed": 23}),
        c_sink.clone(),
    )
    .await;
    let (da, db, dc) = (
        decisions(a.as_ref(), &a_sink, &ids, "").await,
        decisions(b.as_ref(), &b_sink, &ids, "").await,
        decisions(c.as_ref(), &c_sink, &ids, "").await,
    );
    assert_eq!(da, db);
    assert_ne!(da, dc);
    assert_binomial(
        da.iter().filter(|&&k| k).count(),
        ids.len(),
        1638.0 / 16384.0,
        "10%",
    );
}

/// Proportional 50 % after proportional 50 %: stage one writes `th:8`, stage two
/// honours it and writes `th:c`; a quarter passes, exactly the ids whose randomness
/// is at least 0xc0000000000000.
#[tokio::test]
async fn a_second_proportional_stage_honours_the_first() {
    let ids = SplitMix::trace_ids(99, N);
    let between = RecordingConsumer::new();
    let sink = RecordingConsumer::new();
    let stage1 = build(
        json!({"sampling_percentage": 50, "mode": "proportional"}),
        between.clone(),
    )
    .await;
    let stage2 = build(
        json!({"sampling_percentage": 50, "mode": "proportional"}),
        sink.clone(),
    )
    .await;
    let half = decisions(stage1.as_ref(), &between, &ids, "").await;
    assert_binomial(half.iter().filter(|&&k| k).count(), N, 0.5, "stage 1");
    let first = spans_of(&between);
    for s in &first {
        assert_eq!(s.trace_state, "ot=th:8");
        let (state, error) = TraceState::parse(s.trace_state.clone());
        assert_eq!(error, None);
        assert_eq!(state.threshold().unwrap().adjusted_count(), 2.0);
    }
    for chunk in first.chunks(1000) {
        stage2.consume(batch(chunk.to_vec())).await.unwrap();
    }
    let out = spans_of(&sink);
    assert_binomial(out.len(), N, 0.25, "overall");
    let quarter = Threshold::from_probability(0.25, 4).unwrap();
    for s in &out {
        assert_eq!(s.trace_state, "ot=th:c");
        let (state, error) = TraceState::parse(s.trace_state.clone());
        assert_eq!(error, None);
        let th = state.threshold().unwrap();
        assert_eq!(th, quarter);
        assert_eq!(th.probability(), 0.25);
        let id: [u8; 16] = s.trace_id.clone().try_into().unwrap();
        assert!(th.should_sample(Randomness::from_trace_id(&id)));
    }
    let kept: HashSet<Vec<u8>> = out.into_iter().map(|s| s.trace_id).collect();
    for id in &ids {
        let expect = Randomness::from_trace_id(id).unsigned() >= 0xc0_0000_0000_0000;
        assert_eq!(kept.contains(id.as_slice()), expect);
    }
}

/// Equalizing 50 %: a span sampled more strictly before (12.5 %, 25 %) passes as it
/// is; one sampled less strictly (75 %) is brought down to 50 %.
#[tokio::test]
async fn equalizing_leaves_stricter_thresholds_alone() {
    let sink = RecordingConsumer::new();
    let p = build(
        json!({"sampling_percentage": 50, "mode": "equalizing"}),
        sink.clone(),
    )
    .await;
    let high = {
        let mut id = [0xab; 16];
        id[9..].fill(0xff);
        id
    };
    let mid = {
        let mut id = [0xab; 16];
        id[9] = 0x90;
        id
    };
    let low = {
        let mut id = [0xab; 16];
        id[9] = 0x50;
        id
    };
    let spans = vec![
        span(&high, "ot=th:e"),
        span(&high, "ot=th:c,vendor=v"),
        span(&mid, "ot=th:4"),
        span(&low, "ot=th:4"),
    ];
    p.consume(batch(spans)).await.unwrap();
    let out: Vec<String> = spans_of(&sink).into_iter().map(|s| s.trace_state).collect();
    assert_eq!(out, ["ot=th:e", "ot=th:c,vendor=v", "ot=th:8"]);
}

/// Decisions are per span, not per batch; emptied scopes and resources go (as do
/// scopes that arrived empty), and a batch left with nothing is not passed on.
#[tokio::test]
async fn keeps_and_drops_span_by_span() {
    let sink = RecordingConsumer::new();
    let p = build(
        json!({"sampling_percentage": 50, "mode": "proportional"}),
        sink.clone(),
    )
    .await;
    let keep = {
        let mut id = [1u8; 16];
        id[9] = 0xf0;
        id
    };
    let drop = {
        let mut id = [1u8; 16];
        id[9] = 0x10;
        id
    };
    let scope = |spans: Vec<Span>| ScopeSpans {
        spans,
        ..Default::default()
    };
    let data = Telemetry::new(Payload::Traces(vec![
        ResourceSpans {
            scope_spans: vec![
                scope(vec![span(&keep, ""), span(&drop, ""), span(&keep, "")]),
                scope(vec![span(&drop, "")]),
                scope(vec![]),
            ],
            ..Default::default()
        },
        ResourceSpans {
            scope_spans: vec![scope(vec![span(&drop, ""), span(&drop, "")])],
            ..Default::default()
        },
    ]));
    p.consume(data).await.unwrap();
    let batches = sink.batches();
    assert_eq!(batches.len(), 1);
    let Payload::Traces(rs) = &*batches[0].payload else {
        panic!("traces expected");
    };
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].scope_spans.len(), 1);
    assert_eq!(rs[0].scope_spans[0].spans.len(), 2);
    p.consume(batch(vec![span(&drop, ""), span(&drop, "")]))
        .await
        .unwrap();
    p.consume(batch(vec![])).await.unwrap();
    assert_eq!(sink.calls(), 1, "nothing kept, nothing passed on");
}

fn log_record(id: &[u8; 16], attributes: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        trace_id: id.to_vec(),
        attributes,
        ..Default::default()
    }
}

fn logs(records: Vec<LogRecord>) -> Telemetry {
    Telemetry::new(Payload::Logs(vec![ResourceLogs {
        scope_logs: vec![ScopeLogs {
            log_records: records,
            ..Default::default()
        }],
        ..Default::default()
    }]))
}

fn str_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_string())),
        }),
        ..Default::default()
    }
}

/// Logs by record attribute: records with the same attribute value get the same
/// decision whatever their trace id; records without it follow `fail_closed`.
#[tokio::test]
async fn logs_by_record_attribute() {
    let sink = RecordingConsumer::new();
    let p = build(
        json!({"sampling_percentage": 30, "hash_seed": 5, "attribute_source": "record",
               "from_attribute": "tenant"}),
        sink.clone(),
    )
    .await;
    let ids = SplitMix::trace_ids(3, 4000);
    let records: Vec<LogRecord> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| log_record(id, vec![str_attr("tenant", &format!("t{}", i % 400))]))
        .chain(std::iter::once(log_record(&ids[0], vec![])))
        .collect();
    p.consume(logs(records)).await.unwrap();
    let kept: Vec<LogRecord> = sink
        .batches()
        .into_iter()
        .flat_map(|t| match t.payload.into_payload() {
            Payload::Logs(rl) => rl,
            _ => Vec::new(),
        })
        .flat_map(|rl| rl.scope_logs)
        .flat_map(|sl| sl.log_records)
        .collect();
    let tenant = |r: &LogRecord| {
        r.attributes
            .iter()
            .find(|kv| kv.key == "tenant")
            .and_then(|kv| kv.value.clone())
            .and_then(|v| v.value)
    };
    let kept_tenants: HashSet<String> = kept
        .iter()
        .map(|r| match tenant(r) {
            Some(any_value::Value::StringValue(s)) => s,
            other => panic!("record without tenant kept: {other:?}"),
        })
        .collect();
    // Whole tenants: 10 records each, all kept or all dropped.
    assert_eq!(kept.len(), kept_tenants.len() * 10);
    for t in &kept_tenants {
        let n: u32 = t[1..].parse().unwrap();
        assert!(crate::hash::hash_seed_keeps(5, 30.0, t.as_bytes()), "{n}");
    }
    assert_binomial(kept_tenants.len(), 400, 4915.0 / 16384.0, "tenants");
    for r in &kept {
        assert!(
            r.attributes
                .iter()
                .any(|kv| kv.key == "sampling.randomness")
        );
        assert!(r.attributes.iter().any(|kv| kv.key == "sampling.threshold"));
    }
}

/// The decision counts, under upstream's names, by policy and outcome.
#[tokio::test]
async fn counts_decisions_by_policy() {
    let registry = Registry::new();
    let sink = RecordingConsumer::new();
    let p = build_with(
        json!({"sampling_percentage": 100, "hash_seed": 1}),
        sink.clone(),
        &registry,
    )
    .await;
    let id = [7u8; 16];
    let priority_zero = KeyValue {
        key: "sampling.priority".into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(0)),
        }),
        ..Default::default()
    };
    let mut dropped = span(&id, "");
    dropped.attributes.push(priority_zero);
    p.consume(batch(vec![span(&id, ""), span(&id, ""), dropped]))
        .await
        .unwrap();
    p.consume(logs(vec![log_record(&id, vec![])]))
        .await
        .unwrap();
    let text = registry.render();
    let line = |name: &str, policy: &str, sampled: &str, n: u64| {
        format!(
            "{name}{{processor=\"probabilistic_sampler/test\",policy=\"{policy}\",sampled=\"{sampled}\"}} {n}\n"
        )
    };
    for name in [
        crate::processor::SPANS_METRIC,
        crate::processor::SPANS_METRIC_DEPRECATED,
    ] {
        assert!(
            text.contains(&line(name, "trace_id_hash", "true", 2)),
            "{text}"
        );
        assert!(
            text.contains(&line(name, "sampling_priority", "false", 1)),
            "{text}"
        );
    }
    assert!(
        text.contains(&line(
            crate::processor::LOGS_METRIC,
            "trace_id_hash",
            "true",
            1
        )),
        "{text}"
    );
    assert!(
        !text.contains("missing_randomness"),
        "only series that counted: {text}"
    );
}

/// Through two-phase admission the kept spans are what is held; a refusal hands back
/// the batch as it arrived (every span, tracestate untouched), so offering it again
/// gives the same decisions.
#[tokio::test]
async fn two_phase_admission_hands_back_the_original() {
    let sink = RecordingConsumer::reserving();
    let p = build(
        json!({"sampling_percentage": 50, "hash_seed": 3}),
        sink.clone(),
    )
    .await;
    assert!(p.can_prepare());
    let ids = SplitMix::trace_ids(11, 200);
    let original = batch(ids.iter().map(|id| span(id, "")).collect());
    sink.refuse_next(1, ConsumeError::retryable("full"));
    let back = match p.prepare(original.clone()).await {
        Prepared::Refused(_, back) => back,
        other => panic!("refusal expected, got {other:?}"),
    };
    assert_eq!(back, original);
    let admission = match p.prepare(back).await {
        Prepared::Ready(a) => a,
        other => panic!("room expected, got {other:?}"),
    };
    assert!(
        sink.batches().is_empty(),
        "nothing handed over before commit"
    );
    admission.commit().await.unwrap();
    let kept = spans_of(&sink);
    assert!(!kept.is_empty() && kept.len() < 200);
    assert!(kept.iter().all(|s| s.trace_state.starts_with("ot=rv:")));
    for s in &kept {
        let id: [u8; 16] = s.trace_id.clone().try_into().unwrap();
        assert!(crate::hash::hash_seed_keeps(3, 50.0, &id));
    }
    // Nothing kept: room for nothing, nothing handed over.
    let none = build(json!({"sampling_percentage": 0}), sink.clone()).await;
    match none.prepare(original.clone()).await {
        Prepared::Ready(a) => a.commit().await.unwrap(),
        other => panic!("empty admission expected, got {other:?}"),
    }
    assert_eq!(spans_of(&sink).len(), kept.len());
    // Downstream that cannot reserve: the original comes back for `consume`.
    let plain = RecordingConsumer::new();
    let p = build(
        json!({"sampling_percentage": 50, "hash_seed": 3}),
        plain.clone(),
    )
    .await;
    assert!(!p.can_prepare());
    match p.prepare(original.clone()).await {
        Prepared::Unsupported(data) => assert_eq!(data, original),
        other => panic!("unsupported expected, got {other:?}"),
    }
    assert!(stratus_core::offer(p.as_ref(), original).await.is_ok());
    assert_eq!(spans_of(&plain).len(), kept.len());
}

#[tokio::test]
async fn conformance() {
    stratus_testkit::conformance::processor(&ProbabilisticSamplerProcessorFactory)
        .run()
        .await;
    stratus_testkit::conformance::processor(&ProbabilisticSamplerProcessorFactory)
        .config(json!({"sampling_percentage": 25, "mode": "proportional"}))
        .run()
        .await;
}
