//! Decision tables. Most expected values are those of contrib's
//! `tracesprocessor_test.go` and `logsprocessor_test.go` (inputs and outcomes; the
//! configs there leave `fail_closed` false and `sampling_precision` 0, full precision,
//! unless they set them, and so do these).

use super::*;
use stratus_core::pdata::common::ArrayValue;
use stratus_core::pdata::logs::ScopeLogs;
use stratus_core::pdata::trace::ScopeSpans;

const DEFAULT_TID: &str = "fefefefefefefefefe80000000000000";
const IMPROBABLE_TID: &str = "111111111111111111ffffffffffffff";
/// The seed upstream's tests set so that an unset mode is `hash_seed`.
const SEED: u32 = 4312;

fn tid(hex: &str) -> Vec<u8> {
    (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn config(pct: f32) -> ProbabilisticSamplerConfig {
    ProbabilisticSamplerConfig {
        sampling_percentage: pct,
        hash_seed: SEED,
        fail_closed: false,
        sampling_precision: 0,
        ..Default::default()
    }
}

fn with_mode(mut c: ProbabilisticSamplerConfig, mode: SamplerMode) -> ProbabilisticSamplerConfig {
    c.mode = Some(mode);
    c
}

fn str_value(s: &str) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s.to_string())),
    }
}

fn int_value(i: i64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::IntValue(i)),
    }
}

fn double_value(d: f64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::DoubleValue(d)),
    }
}

fn bytes_value(b: &[u8]) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::BytesValue(b.to_vec())),
    }
}

fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(value),
        ..Default::default()
    }
}

fn span_with(trace_id: Vec<u8>, trace_state: &str, attributes: Vec<KeyValue>) -> Span {
    Span {
        trace_id,
        span_id: vec![0, 0, 0, 0, 0xfe, 0xfe, 0xfe, 0xfe],
        trace_state: trace_state.to_string(),
        attributes,
        name: "testing".to_string(),
        ..Default::default()
    }
}

/// Runs one span through `sampler`: the span when kept.
fn run_span(sampler: &Sampler, span: Span) -> Option<Span> {
    let mut batch = vec![ResourceSpans {
        scope_spans: vec![ScopeSpans {
            spans: vec![span],
            ..Default::default()
        }],
        ..Default::default()
    }];
    let tally = sampler.sample_traces(&mut batch);
    assert_eq!(tally.kept() + tally.dropped(), 1);
    let kept = batch
        .pop()
        .map(|mut rs| rs.scope_spans.remove(0).spans.remove(0));
    assert_eq!(kept.is_some(), tally.kept() == 1);
    kept
}

fn run_log(sampler: &Sampler, record: LogRecord) -> Option<LogRecord> {
    let mut batch = vec![ResourceLogs {
        scope_logs: vec![ScopeLogs {
            log_records: vec![record],
            ..Default::default()
        }],
        ..Default::default()
    }];
    sampler.sample_logs(&mut batch);
    batch
        .pop()
        .map(|mut rl| rl.scope_logs.remove(0).log_records.remove(0))
}

/// Outcome per mode: the tracestate of the kept span, `None` when dropped.
struct Case {
    name: &'static str,
    tid: &'static str,
    pct: f32,
    precision: i64,
    fail_closed: bool,
    ts: &'static str,
    priority: Option<AnyValue>,
    equalizing: Option<&'static str>,
    proportional: Option<&'static str>,
}

fn case(name: &'static str, pct: f32) -> Case {
    Case {
        name,
        tid: DEFAULT_TID,
        pct,
        precision: 0,
        fail_closed: false,
        ts: "",
        priority: None,
        equalizing: None,
        proportional: None,
    }
}

impl Case {
    fn tid(mut self, tid: &'static str) -> Self {
        self.tid = tid;
        self
    }
    fn precision(mut self, p: i64) -> Self {
        self.precision = p;
        self
    }
    fn fail_closed(mut self) -> Self {
        self.fail_closed = true;
        self
    }
    fn ts(mut self, ts: &'static str) -> Self {
        self.ts = ts;
        self
    }
    fn priority(mut self, v: AnyValue) -> Self {
        self.priority = Some(v);
        self
    }
    fn both(self, out: Option<&'static str>) -> Self {
        self.outcomes(out, out)
    }
    fn outcomes(mut self, eq: Option<&'static str>, prop: Option<&'static str>) -> Self {
        self.equalizing = eq;
        self.proportional = prop;
        self
    }
}

#[test]
fn consistent_modes_read_and_write_the_tracestate() {
    let cases = [
        case("100 percent", 100.0).both(Some("ot=th:0")),
        case("50 percent sampled", 50.0).both(Some("ot=th:8")),
        case("25 percent sampled", 25.0)
            .tid("ddddddddddddddddddc0000000000000")
            .both(Some("ot=th:c")),
        case("25 percent unsampled", 25.0)
            .tid("ddddddddddddddddddb0000000000000")
            .both(None),
        case("1 percent sampled", 1.0)
            .ts("ot=rv:FD70A3D70A3D71")
            .both(Some("ot=rv:FD70A3D70A3D71;th:fd70a3d70a3d71")),
        case("1 percent, rv, precision 4", 1.0)
            .precision(4)
            .ts("ot=rv:FD70A3D70A3D71")
            .both(Some("ot=rv:FD70A3D70A3D71;th:fd70a")),
        case("1 percent, rv, precision 3", 1.0)
            .precision(3)
            .ts("ot=rv:FD70A3D70A3D71")
            .both(None),
        case("1 percent not sampled with rvalue", 1.0)
            .ts("ot=rv:FD70A3D70A3D70")
            .both(None),
        case("49 percent not sampled with default tid", 49.0).both(None),
        case("1 percent sampled with rvalue", 1.0)
            .ts("ot=rv:fd70B000000000")
            .both(Some("ot=rv:fd70B000000000;th:fd70a3d70a3d71")),
        case("1 percent sampled with tid", 1.0)
            .tid("a0a0a0a0a0a0a0a0a0fe000000000000")
            .precision(4)
            .both(Some("ot=th:fd70a")),
        case("sampled by priority", 1.0)
            .priority(int_value(2))
            .both(Some("ot=th:0")),
        case("not sampled by priority", 99.0)
            .priority(int_value(0))
            .both(None),
        case("incoming 50 percent with rvalue", 50.0)
            .ts("ot=rv:90000000000000;th:80000000000000")
            .outcomes(Some("ot=rv:90000000000000;th:8"), None),
        case("incoming 50 percent at 25 percent not sampled", 25.0)
            .ts("ot=th:8")
            .both(None),
        case("incoming 50 percent at 25 percent sampled", 25.0)
            .tid("ffffffffffffffffffffffffffffffff")
            .ts("ot=th:8")
            .outcomes(Some("ot=th:c"), Some("ot=th:e")),
        case("equalizing vs proportional", 50.0)
            .ts("ot=rv:c0000000000000;th:8")
            .outcomes(
                Some("ot=rv:c0000000000000;th:8"),
                Some("ot=rv:c0000000000000;th:c"),
            ),
        case("inconsistent arriving threshold", 100.0)
            .ts("ot=rv:40000000000000;th:8")
            .both(Some("ot=rv:40000000000000;th:0")),
        case("inconsistent arriving threshold not sampled", 1.0)
            .fail_closed()
            .ts("ot=rv:40000000000000;th:8")
            .both(None),
        case("40 percent precision 3 with rvalue", 40.0)
            .precision(3)
            .ts("ot=rv:a0000000000000")
            .both(Some("ot=rv:a0000000000000;th:99a")),
        case("arriving 50 percent at 40 percent precision 6", 40.0)
            .precision(6)
            .tid("a0a0a0a0a0a0a0a0a0d0000000000000")
            .ts("ot=th:8")
            .outcomes(Some("ot=th:99999a"), Some("ot=th:cccccd")),
        case("arriving 50 percent at 40 percent partly sampled", 40.0)
            .precision(3)
            .tid("a0a0a0a0a0a0a0a0a0b0000000000000")
            .ts("ot=th:8")
            .outcomes(Some("ot=th:99a"), None),
        case("arriving 50 percent at 40 percent not sampled", 40.0)
            .precision(3)
            .tid("a0a0a0a0a0a0a0a0a080000000000000")
            .ts("ot=th:8")
            .both(None),
        case("200 percent equals 100 percent", 200.0).both(Some("ot=th:0")),
        case("tiny probability rounding", 100.0 * 2f32.powi(-14))
            .tid(IMPROBABLE_TID)
            .ts("ot=th:fffc")
            .outcomes(Some("ot=th:fffc"), Some("ot=th:fffffff")),
        case("almost 100pct sampling", 99.99992)
            .precision(10)
            .tid(IMPROBABLE_TID)
            .both(Some("ot=th:00000cccccccd")),
        case("probability underflow", 2f32.powi(-4))
            .tid(IMPROBABLE_TID)
            .ts("ot=th:fffffffffffff8")
            .outcomes(Some("ot=th:fffffffffffff8"), None),
        case("other vendors pass through, ot first", 50.0)
            .ts("vendor=a, ot=th:8 ,other=b")
            .outcomes(Some("ot=th:8,vendor=a,other=b"), None),
    ];
    for c in cases {
        for (mode, expected) in [
            (SamplerMode::Equalizing, c.equalizing),
            (SamplerMode::Proportional, c.proportional),
        ] {
            let mut cfg = with_mode(config(c.pct), mode);
            cfg.sampling_precision = c.precision;
            cfg.fail_closed = c.fail_closed;
            let sampler = Sampler::new(&cfg, Signal::Traces);
            let attrs = c
                .priority
                .clone()
                .map(|v| vec![kv(SAMPLING_PRIORITY_ATTRIBUTE, v)])
                .unwrap_or_default();
            let kept = run_span(&sampler, span_with(tid(c.tid), c.ts, attrs));
            let got = kept.as_ref().map(|s| s.trace_state.as_str());
            assert_eq!(got, expected, "{} ({})", c.name, mode.as_str());
            if let Some(span) = kept {
                // What was written parses back.
                let (state, error) = TraceState::parse(span.trace_state);
                assert_eq!(error, None, "{}", c.name);
                assert!(state.threshold().is_some());
            }
        }
    }
}

/// With `fail_closed`, spans whose sampling information is unusable are dropped even
/// at 100 %; without it they are kept.
#[test]
fn unusable_sampling_information_follows_fail_closed() {
    let cases = [
        ("missing randomness", "00000000000000000000000000000000", ""),
        ("invalid r-value", DEFAULT_TID, "ot=rv:abababababababab"),
        ("invalid t-value", DEFAULT_TID, "ot=th:abababababababab"),
        ("t-value syntax", DEFAULT_TID, "ot=th:-1"),
        ("tracestate syntax", DEFAULT_TID, "ot=th:8,,Bad"),
        (
            "inconsistent t-value trace id",
            "ffffffffffffffffff70000000000000",
            "ot=th:8",
        ),
        (
            "inconsistent t-value r-value",
            DEFAULT_TID,
            "ot=th:8;rv:70000000000000",
        ),
    ];
    for (name, id, ts) in cases {
        for mode in [SamplerMode::Equalizing, SamplerMode::Proportional] {
            let mut cfg = with_mode(config(100.0), mode);
            cfg.fail_closed = true;
            let closed = Sampler::new(&cfg, Signal::Traces);
            assert!(
                run_span(&closed, span_with(tid(id), ts, vec![])).is_none(),
                "{name}"
            );
            cfg.fail_closed = false;
            let open = Sampler::new(&cfg, Signal::Traces);
            let kept = run_span(&open, span_with(tid(id), ts, vec![]));
            assert!(kept.is_some(), "{name} fails open");
        }
    }
    // An unreadable tracestate kept by failing open is left as it was.
    let open = Sampler::new(
        &with_mode(config(100.0), SamplerMode::Proportional),
        Signal::Traces,
    );
    let kept = run_span(&open, span_with(tid(DEFAULT_TID), "ot=th:-1", vec![])).unwrap();
    assert_eq!(kept.trace_state, "ot=th:-1");
    // An empty trace id is missing randomness in hash_seed mode too (contrib's
    // Test_tracessamplerprocessor_MissingRandomness); 0 % never looks.
    for (pct, fail_closed, kept) in [
        (0.0, true, false),
        (62.0, true, false),
        (100.0, true, false),
        (0.0, false, false),
        (62.0, false, true),
        (100.0, false, true),
    ] {
        let mut cfg = config(pct);
        cfg.fail_closed = fail_closed;
        let sampler = Sampler::new(&cfg, Signal::Traces);
        let got = run_span(&sampler, span_with(vec![0; 16], "", vec![]));
        assert_eq!(got.is_some(), kept, "{pct} {fail_closed}");
    }
}

/// `hash_seed` mode writes `rv` and `th` into every kept span; `rv` is the hash's
/// randomness and passes `th` (contrib's Test_tracesamplerprocessor_HashSeedTraceState).
#[test]
fn hash_seed_writes_randomness_and_threshold() {
    for (pct, tvalue) in [
        (100.0, "0"),
        (75.0, "4"),
        (50.0, "8"),
        (25.0, "c"),
        (10.0, "e668"),
        (100.0 / 3.0, "aaac"),
    ] {
        let mut cfg = with_mode(config(pct), SamplerMode::HashSeed);
        cfg.sampling_precision = 4;
        let sampler = Sampler::new(&cfg, Signal::Traces);
        let mut found = 0;
        let mut x = 0x1234_5678_9abc_def0u64;
        while found < 10 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let id: Vec<u8> = (x as u128 * 0x9e37_79b9_7f4a_7c15_u128)
                .to_be_bytes()
                .to_vec();
            let Some(span) = run_span(&sampler, span_with(id.clone(), "", vec![])) else {
                continue;
            };
            found += 1;
            let (state, error) = TraceState::parse(span.trace_state);
            assert_eq!(error, None);
            let th = state.threshold().unwrap();
            let rv = state.randomness().unwrap();
            assert_eq!(th.tvalue(), tvalue);
            assert!(th.should_sample(rv));
            let id: [u8; 16] = id.try_into().unwrap();
            assert_eq!(rv, randomness_from_bytes(&id, SEED));
        }
    }
}

/// `hash_seed` mode does not use OTel sampling information: a span arriving with
/// `rv` or `th` (say, from an earlier `hash_seed` collector) is an error, dropped
/// with `fail_closed` (upstream issue #42188) and passed on unchanged without it.
#[test]
fn hash_seed_refuses_arriving_otel_sampling_information() {
    for ts in [
        "ot=rv:9b8233f7e3a151",
        "ot=th:8",
        "ot=rv:9b8233f7e3a151;th:0",
    ] {
        let mut cfg = with_mode(config(100.0), SamplerMode::HashSeed);
        cfg.fail_closed = true;
        let closed = Sampler::new(&cfg, Signal::Traces);
        assert!(run_span(&closed, span_with(tid(DEFAULT_TID), ts, vec![])).is_none());
        cfg.fail_closed = false;
        let open = Sampler::new(&cfg, Signal::Traces);
        let kept = run_span(&open, span_with(tid(DEFAULT_TID), ts, vec![])).unwrap();
        assert_eq!(kept.trace_state, ts);
    }
    // A tracestate without OTel sampling information is rewritten with ot first.
    let open = Sampler::new(
        &with_mode(config(100.0), SamplerMode::HashSeed),
        Signal::Traces,
    );
    let kept = run_span(
        &open,
        span_with(tid(DEFAULT_TID), "congo=t61rcWkgMzE", vec![]),
    )
    .unwrap();
    let rv = randomness_from_bytes(&tid(DEFAULT_TID), SEED).rvalue();
    assert_eq!(
        kept.trace_state,
        format!("ot=rv:{rv};th:0,congo=t61rcWkgMzE")
    );
    // Fail open without a trace id: upstream's stand-in randomness is written.
    let kept = run_span(&open, span_with(vec![0; 16], "", vec![])).unwrap();
    assert_eq!(kept.trace_state, "ot=rv:ffffffffffffff;th:0");
}

/// contrib's Test_parseSpanSamplingPriority, plus the float syntaxes Go's ParseFloat
/// reads.
#[test]
fn span_priority_follows_upstreams_rule() {
    use SpanPriority::*;
    let p = |v: AnyValue| span_priority(&[kv(SAMPLING_PRIORITY_ATTRIBUTE, v)]);
    assert_eq!(span_priority(&[]), Defer);
    assert_eq!(
        span_priority(&[kv(
            "key",
            AnyValue {
                value: Some(any_value::Value::BoolValue(true))
            }
        )]),
        Defer
    );
    assert_eq!(p(int_value(0)), DoNotSample);
    assert_eq!(p(int_value(1)), MustSample);
    assert_eq!(p(int_value(-1)), Defer);
    assert_eq!(p(double_value(0.0)), DoNotSample);
    assert_eq!(p(double_value(-0.0)), DoNotSample);
    assert_eq!(p(double_value(1.0)), MustSample);
    assert_eq!(p(double_value(-1.0)), Defer);
    assert_eq!(p(double_value(f64::NAN)), Defer);
    assert_eq!(p(str_value("0.0")), DoNotSample);
    assert_eq!(p(str_value("0.5")), MustSample);
    assert_eq!(p(str_value("-0.5")), Defer);
    assert_eq!(p(str_value("NaN")), Defer);
    assert_eq!(p(str_value("1")), MustSample);
    assert_eq!(p(str_value("+2e3")), MustSample);
    assert_eq!(p(str_value(".5")), MustSample);
    assert_eq!(p(str_value("Inf")), MustSample);
    assert_eq!(p(str_value("-infinity")), Defer);
    assert_eq!(p(str_value("0x1p-2")), MustSample);
    assert_eq!(p(str_value("0x0p0")), DoNotSample);
    assert_eq!(p(str_value("0x1")), Defer, "hex needs a p exponent");
    assert_eq!(
        p(str_value("1e400")),
        Defer,
        "out of range is an error in Go"
    );
    assert_eq!(p(str_value("yes")), Defer);
    assert_eq!(p(str_value(" 1")), Defer);
    assert_eq!(p(str_value("1_0")), Defer);
    assert_eq!(p(str_value("")), Defer);
    assert_eq!(p(bytes_value(b"1")), Defer);
    // The first of repeated keys counts.
    assert_eq!(
        span_priority(&[
            kv(SAMPLING_PRIORITY_ATTRIBUTE, int_value(0)),
            kv(SAMPLING_PRIORITY_ATTRIBUTE, int_value(1)),
        ]),
        DoNotSample
    );
}

/// contrib's Test_tracesamplerprocessor_SpanSamplingPriority, in every mode.
#[test]
fn span_priority_overrides_every_mode() {
    // Randomness 0 in OTel terms: sampled only at 100 %.
    let id = {
        let mut id = vec![0u8; 16];
        id[0] = 1;
        id
    };
    let cases = [
        (0.0, Some(int_value(2)), true),
        (0.0, Some(double_value(1.0)), true),
        (0.0, Some(str_value("1")), true),
        (100.0, Some(int_value(0)), false),
        (100.0, Some(double_value(0.0)), false),
        (100.0, Some(str_value("0")), false),
        (0.0, None, false),
        (100.0, None, true),
    ];
    for mode in [
        SamplerMode::HashSeed,
        SamplerMode::Equalizing,
        SamplerMode::Proportional,
    ] {
        for (pct, priority, kept) in cases.clone() {
            let sampler = Sampler::new(&with_mode(config(pct), mode), Signal::Traces);
            let attrs = match priority {
                Some(v) => vec![kv(SAMPLING_PRIORITY_ATTRIBUTE, v)],
                None => vec![kv("no.sampling.priority", int_value(2))],
            };
            let got = run_span(&sampler, span_with(id.clone(), "", attrs));
            assert_eq!(got.is_some(), kept, "{} {pct}", mode.as_str());
        }
    }
    // Priority also rescues a span whose randomness is missing under fail_closed.
    let mut cfg = config(50.0);
    cfg.fail_closed = true;
    let sampler = Sampler::new(&cfg, Signal::Traces);
    let kept = run_span(
        &sampler,
        span_with(
            vec![0; 16],
            "",
            vec![kv(SAMPLING_PRIORITY_ATTRIBUTE, int_value(1))],
        ),
    );
    assert!(kept.is_some());
}

/// The 100 records of contrib's TestLogsSampling: trace ids `0 x8, i x8`, an int
/// attribute `rando`, every other record a bytes `foo` and a string `bar`, every
/// fourth a `priority` of 100.
fn hundred_records() -> Vec<LogRecord> {
    (0..100u8)
        .map(|i| {
            let mut id = [0u8; 16];
            id[8..].fill(i);
            let mut attributes = vec![kv(
                "rando",
                int_value(i64::from(crate::hash::fnv1a32(123, &id))),
            )];
            if i % 2 == 0 {
                attributes.push(kv("foo", bytes_value(&id)));
                // pcommon's TraceID.String() is "" for the empty trace id.
                let hex: String = if i == 0 {
                    String::new()
                } else {
                    id.iter().map(|b| format!("{b:02x}")).collect()
                };
                attributes.push(kv("bar", str_value(&hex)));
            }
            if i % 4 == 0 {
                attributes.push(kv("priority", double_value(100.0)));
            }
            LogRecord {
                trace_id: id.to_vec(),
                time_unix_nano: 1_649_400_860,
                severity_number: 5,
                attributes,
                ..Default::default()
            }
        })
        .collect()
}

#[test]
fn logs_sampling_counts_match_upstream() {
    let logs_config =
        |pct: f32, source: AttributeSource, from: &str, priority: &str, fail_closed| {
            ProbabilisticSamplerConfig {
                sampling_percentage: pct,
                attribute_source: source,
                from_attribute: from.to_string(),
                sampling_priority: priority.to_string(),
                fail_closed,
                sampling_precision: 0,
                ..Default::default()
            }
        };
    use AttributeSource::{Record, TraceId};
    let cases = [
        (
            "happy_path",
            logs_config(100.0, TraceId, "", "", false),
            100,
        ),
        ("nothing", logs_config(0.0, TraceId, "", "", true), 0),
        ("roughly half", logs_config(50.0, TraceId, "", "", true), 45),
        (
            "sampling_source no sampling",
            logs_config(0.0, Record, "foo", "", false),
            0,
        ),
        (
            "sampling_source all sampling",
            logs_config(100.0, Record, "foo", "", false),
            100,
        ),
        (
            "sampling_source sampling",
            logs_config(50.0, Record, "foo", "", true),
            23,
        ),
        (
            "sampling_source as string",
            logs_config(50.0, Record, "bar", "", true),
            29,
        ),
        (
            "priority_0_record",
            logs_config(0.0, Record, "rando", "priority", false),
            25,
        ),
        (
            "priority_50_record",
            logs_config(50.0, Record, "rando", "priority", false),
            64,
        ),
        (
            "priority_100_record",
            logs_config(100.0, Record, "rando", "priority", false),
            100,
        ),
        (
            "priority_0_traceid",
            logs_config(0.0, TraceId, "", "priority", false),
            25,
        ),
        (
            "priority_50_traceid",
            logs_config(50.0, TraceId, "", "priority", false),
            57,
        ),
        (
            "priority_100_traceid",
            logs_config(100.0, TraceId, "", "priority", false),
            100,
        ),
        (
            "priority with sampling field",
            logs_config(0.0, Record, "foo", "priority", false),
            25,
        ),
    ];
    for (name, cfg, expected) in cases {
        let sampler = Sampler::new(&cfg, Signal::Logs);
        let mut batch = vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: hundred_records(),
                ..Default::default()
            }],
            ..Default::default()
        }];
        let tally = sampler.sample_logs(&mut batch);
        let kept: usize = batch
            .iter()
            .flat_map(|r| &r.scope_logs)
            .map(|s| s.log_records.len())
            .sum();
        assert_eq!(kept, expected, "{name}");
        assert_eq!(tally.kept(), expected as u64, "{name}");
    }
}

fn attrs_of(record: &LogRecord) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = record
        .attributes
        .iter()
        .map(|kv| {
            let mut s = String::new();
            write_as_string(&mut s, value_of(kv));
            (kv.key.clone(), s)
        })
        .collect();
    out.sort();
    out
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = p
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    out.sort();
    out
}

/// contrib's TestLogsSamplingState.
#[test]
fn logs_carry_threshold_and_randomness_attributes() {
    let record = |id: &str, attributes: Vec<KeyValue>| LogRecord {
        trace_id: tid(id),
        attributes,
        ..Default::default()
    };
    let base = |pct| ProbabilisticSamplerConfig {
        sampling_percentage: pct,
        fail_closed: false,
        sampling_precision: 0,
        ..Default::default()
    };

    let cfg = with_mode(base(100.0), SamplerMode::Proportional);
    let got = run_log(
        &Sampler::new(&cfg, Signal::Logs),
        record(DEFAULT_TID, vec![kv("ignored", str_value("value"))]),
    )
    .unwrap();
    assert_eq!(
        attrs_of(&got),
        pairs(&[("sampling.threshold", "0"), ("ignored", "value")])
    );

    let mut cfg = with_mode(base(100.0), SamplerMode::HashSeed);
    cfg.hash_seed = 22;
    let got = run_log(
        &Sampler::new(&cfg, Signal::Logs),
        record(DEFAULT_TID, vec![kv("K", str_value("V"))]),
    )
    .unwrap();
    let rv = randomness_from_bytes(&tid(DEFAULT_TID), 22).rvalue();
    assert_eq!(
        attrs_of(&got),
        pairs(&[
            ("K", "V"),
            ("sampling.threshold", "0"),
            ("sampling.randomness", &rv)
        ])
    );

    let mut cfg = base(100.0);
    cfg.attribute_source = AttributeSource::Record;
    cfg.from_attribute = "veryrandom".into();
    cfg.hash_seed = 49;
    let got = run_log(
        &Sampler::new(&cfg, Signal::Logs),
        record(
            "00000000000000000000000000000000",
            vec![kv("veryrandom", str_value("1234"))],
        ),
    )
    .unwrap();
    let rv = randomness_from_bytes(b"1234", 49).rvalue();
    assert_eq!(
        attrs_of(&got),
        pairs(&[
            ("sampling.threshold", "0"),
            ("sampling.randomness", &rv),
            ("veryrandom", "1234")
        ])
    );

    assert!(
        run_log(
            &Sampler::new(&base(0.0), Signal::Logs),
            record(DEFAULT_TID, vec![])
        )
        .is_none()
    );

    // 10.125 % priority with incoming randomness at 0 %.
    let mut cfg = base(0.0);
    cfg.sampling_priority = "veryrandom".into();
    cfg.sampling_precision = 6;
    let got = run_log(
        &Sampler::new(&cfg, Signal::Logs),
        record(
            DEFAULT_TID,
            vec![
                kv("sampling.randomness", str_value("e6147c00000000")),
                kv("veryrandom", double_value(10.125)),
            ],
        ),
    )
    .unwrap();
    assert_eq!(
        attrs_of(&got),
        pairs(&[
            ("sampling.randomness", "e6147c00000000"),
            ("sampling.threshold", "e6147b"),
            ("veryrandom", "10.125")
        ])
    );

    // 25 % arriving, proportional 50 %.
    let cfg = with_mode(base(50.0), SamplerMode::Proportional);
    let got = run_log(
        &Sampler::new(&cfg, Signal::Logs),
        record(
            "fefefefefefefefefef0000000000000",
            vec![kv("sampling.threshold", str_value("c"))],
        ),
    )
    .unwrap();
    assert_eq!(attrs_of(&got), pairs(&[("sampling.threshold", "e")]));

    // 25 % arriving, inconsistent with the trace id: dropped fail-closed.
    let mut cfg = with_mode(base(50.0), SamplerMode::Equalizing);
    cfg.fail_closed = true;
    assert!(
        run_log(
            &Sampler::new(&cfg, Signal::Logs),
            record(
                "fefefefefefefefefeb0000000000000",
                vec![kv("sampling.threshold", str_value("c"))]
            ),
        )
        .is_none()
    );

    // 25 % arriving, equalizing 50 % with a 37 % priority: kept, threshold not raised.
    let mut cfg = with_mode(base(50.0), SamplerMode::Equalizing);
    cfg.sampling_priority = "prio".into();
    let got = run_log(
        &Sampler::new(&cfg, Signal::Logs),
        record(
            "fefefefefefefefefefefefefefefefe",
            vec![
                kv("sampling.threshold", str_value("c")),
                kv("prio", int_value(37)),
            ],
        ),
    )
    .unwrap();
    assert_eq!(
        attrs_of(&got),
        pairs(&[("sampling.threshold", "c"), ("prio", "37")])
    );

    // hash_seed with OTel randomness: an error; kept unchanged failing open.
    let cfg = with_mode(base(100.0), SamplerMode::HashSeed);
    let got = run_log(
        &Sampler::new(&cfg, Signal::Logs),
        record(
            DEFAULT_TID,
            vec![kv("sampling.randomness", str_value("f2341234123412"))],
        ),
    )
    .unwrap();
    assert_eq!(
        attrs_of(&got),
        pairs(&[("sampling.randomness", "f2341234123412")])
    );
}

/// contrib's TestLogsMissingRandomness: no trace id and an empty attribute are no
/// randomness, in every mode.
#[test]
fn logs_without_randomness_follow_fail_closed() {
    for mode in [
        SamplerMode::HashSeed,
        SamplerMode::Equalizing,
        SamplerMode::Proportional,
    ] {
        for source in [AttributeSource::Record, AttributeSource::TraceId] {
            for (pct, fail_closed, kept) in [
                (0.0, true, false),
                (50.0, true, false),
                (100.0, true, false),
                (0.0, false, false),
                (50.0, false, true),
                (100.0, false, true),
            ] {
                let cfg = ProbabilisticSamplerConfig {
                    sampling_percentage: pct,
                    mode: Some(mode),
                    hash_seed: SEED,
                    fail_closed,
                    attribute_source: source,
                    from_attribute: "unused".into(),
                    ..Default::default()
                };
                let record = LogRecord {
                    trace_id: vec![0; 16],
                    attributes: vec![kv("unused", str_value(""))],
                    ..Default::default()
                };
                let got = run_log(&Sampler::new(&cfg, Signal::Logs), record);
                assert_eq!(
                    got.is_some(),
                    kept,
                    "{} {source:?} {pct} {fail_closed}",
                    mode.as_str()
                );
            }
        }
    }
}

/// Log priorities: a percentage above 0 and at most 100 replaces the configured one
/// (in both directions); 0, above 100, negative or non-numeric values leave it.
#[test]
fn log_priority_is_a_percentage() {
    let cfg = ProbabilisticSamplerConfig {
        sampling_percentage: 50.0,
        sampling_priority: "prio".into(),
        mode: Some(SamplerMode::Proportional),
        ..Default::default()
    };
    let sampler = Sampler::new(&cfg, Signal::Logs);
    let p = |v: AnyValue| sampler.log_priority(&[kv("prio", v)]);
    assert_eq!(p(int_value(100)), Some(Threshold::ALWAYS_SAMPLE));
    assert_eq!(
        p(double_value(25.0)).map(Threshold::tvalue),
        Some("c".into())
    );
    assert_eq!(p(int_value(0)), None);
    assert_eq!(p(int_value(150)), None);
    assert_eq!(p(int_value(-5)), None);
    assert_eq!(p(str_value("100")), None);
    assert_eq!(sampler.log_priority(&[]), None);
    // A low priority lowers the probability: randomness 0x80.. passes 50 %, not 25 %.
    let record = |prio: i64| LogRecord {
        trace_id: tid(DEFAULT_TID),
        attributes: vec![kv("prio", int_value(prio))],
        ..Default::default()
    };
    assert!(run_log(&sampler, record(50)).is_some());
    assert!(run_log(&sampler, record(25)).is_none());
}

#[test]
fn attribute_values_hash_as_pcommon_strings() {
    let s = |v: AnyValue| {
        let mut out = String::new();
        write_as_string(&mut out, v.value.as_ref());
        out
    };
    assert_eq!(s(int_value(-42)), "-42");
    assert_eq!(s(double_value(10.125)), "10.125");
    assert_eq!(s(double_value(1.0)), "1");
    assert_eq!(s(double_value(-0.0)), "-0");
    assert_eq!(s(double_value(1e20)), "100000000000000000000");
    assert_eq!(s(double_value(1e21)), "1e+21");
    assert_eq!(s(double_value(1.5e-7)), "1.5e-7");
    assert_eq!(s(double_value(2.5e-10)), "2.5e-10");
    assert_eq!(s(double_value(0.000001)), "0.000001");
    assert_eq!(s(double_value(f64::NAN)), "json: unsupported value: NaN");
    assert_eq!(
        s(AnyValue {
            value: Some(any_value::Value::BoolValue(true))
        }),
        "true"
    );
    assert_eq!(s(bytes_value(b"hi!?")), "aGkhPw==");
    let array = AnyValue {
        value: Some(any_value::Value::ArrayValue(ArrayValue {
            values: vec![int_value(1), str_value("a<b"), double_value(0.5)],
        })),
    };
    assert_eq!(s(array), r#"[1,"a\u003cb",0.5]"#);
    assert_eq!(
        value_bytes(Some(&any_value::Value::BytesValue(vec![1, 2]))).as_ref(),
        &[1, 2]
    );
    assert!(value_bytes(None).is_empty());
}
