//! End-to-end translation tables: OTLP built with the test kit in, EMF events out,
//! compared with upstream's expected JSON byte for byte where upstream's tests give
//! it (`metric_translator_test.go`, `emf_exporter_test.go`, `datapoint_test.go`).

// Test tables read best as nested slice literals.
#![allow(clippy::type_complexity)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use stratus_core::factory::decode_config;
use stratus_core::pdata::metrics::ResourceMetrics;
use stratus_exporter_awsemf::*;
use stratus_testkit::otlp::*;

/// 1596151098037 ms, upstream's test timestamp.
const TS_MS: i64 = 1_596_151_098_037;
const TS_NS: u64 = TS_MS as u64 * 1_000_000;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_700_000_000_000)
}

fn translator(config: EmfConfig) -> EmfTranslator {
    EmfTranslator::new(&config, "otel-stream-test").unwrap()
}

fn decl(dims: &[&[&str]], selectors: &[&str]) -> MetricDeclarationConfig {
    MetricDeclarationConfig {
        dimensions: dims
            .iter()
            .map(|s| s.iter().map(|n| n.to_string()).collect())
            .collect(),
        metric_name_selectors: selectors.iter().map(|s| s.to_string()).collect(),
        label_matchers: Vec::new(),
    }
}

fn messages(t: &EmfTranslator, batch: &[ResourceMetrics]) -> Vec<String> {
    t.translate(batch, now())
        .events
        .into_iter()
        .map(|e| e.message)
        .collect()
}

fn parsed(msg: &str) -> Value {
    serde_json::from_str(msg).unwrap()
}

const KUBERNETES: &str = r#"{"container_name":"cloudwatch-agent","docker":{"container_id":"fc1b0a4c3faaa1808e187486a3a90cbea883dccaf2e2c46d4069d663b032a1ca"},"host":"ip-192-168-58-245.ec2.internal","labels":{"controller-revision-hash":"5bdbf497dc","name":"cloudwatch-agent","pod-template-generation":"1"},"namespace_name":"amazon-cloudwatch","pod_id":"e23f3413-af2e-4a98-89e0-5df2251e7f05","pod_name":"cloudwatch-agent-26bl6","pod_owners":[{"owner_kind":"DaemonSet","owner_name":"cloudwatch-agent"}]}"#;

/// Upstream `TestTranslateCWMetricToEMF`: the same fields, built from OTLP.
#[test]
fn emf_documents_byte_for_byte_as_upstream() {
    let batch = |storage_resolution: Option<&str>| {
        let mut p = number_point(0)
            .time(TS_NS)
            .attr("spanName", "test")
            .attr("kubernetes", KUBERNETES)
            .attr("Sources", r#"["cadvisor","pod","calculated"]"#);
        if let Some(r) = storage_resolution {
            p = p.attr(STORAGE_RESOLUTION_ATTRIBUTE, r);
        }
        metrics()
            .scope("cloudwatch-otel")
            .metric(gauge("spanCounter").unit("Count").point(p))
            .resource_metrics()
    };
    let config = |version, selector: &str| EmfConfig {
        namespace: "test-emf".into(),
        version,
        dimension_rollup_option: DimensionRollupOption::NoDimensionRollup,
        metric_declarations: vec![decl(&[&["OTelLib"], &["OTelLib", "spanName"]], &[selector])],
        // A valid JSON string, a missing key, a plain string and a metric.
        parse_json_encoded_attr_values: [
            "kubernetes",
            "Sources",
            "NonExistingAttributeKey",
            "spanName",
            "spanCounter",
        ]
        .map(String::from)
        .to_vec(),
        ..EmfConfig::default()
    };
    let k8s = KUBERNETES;
    let cases = [
        (
            "WithMeasurementAndEMFV1",
            config(EmfVersion::V1, "spanCounter"),
            Some("1"),
            format!(
                r#"{{"OTelLib":"cloudwatch-otel","Sources":["cadvisor","pod","calculated"],"Version":"1","_aws":{{"CloudWatchMetrics":[{{"Namespace":"test-emf","Dimensions":[["OTelLib"],["OTelLib","spanName"]],"Metrics":[{{"Name":"spanCounter","Unit":"Count","StorageResolution":1}}]}}],"Timestamp":1596151098037}},"kubernetes":{k8s},"spanCounter":0,"spanName":"test"}}"#
            ),
        ),
        (
            "WithMeasurementAndEMFV0",
            config(EmfVersion::V0, "spanCounter"),
            None,
            format!(
                r#"{{"CloudWatchMetrics":[{{"Namespace":"test-emf","Dimensions":[["OTelLib"],["OTelLib","spanName"]],"Metrics":[{{"Name":"spanCounter","Unit":"Count","StorageResolution":60}}]}}],"OTelLib":"cloudwatch-otel","Sources":["cadvisor","pod","calculated"],"Timestamp":"1596151098037","Version":"0","kubernetes":{k8s},"spanCounter":0,"spanName":"test"}}"#
            ),
        ),
        (
            "WithNoMeasurementAndEMFV1",
            config(EmfVersion::V1, "^nothing$"),
            None,
            format!(
                r#"{{"OTelLib":"cloudwatch-otel","Sources":["cadvisor","pod","calculated"],"kubernetes":{k8s},"spanCounter":0,"spanName":"test"}}"#
            ),
        ),
        (
            "WithNoMeasurementAndEMFV0",
            config(EmfVersion::V0, "^nothing$"),
            None,
            format!(
                r#"{{"OTelLib":"cloudwatch-otel","Sources":["cadvisor","pod","calculated"],"Timestamp":"1596151098037","kubernetes":{k8s},"spanCounter":0,"spanName":"test"}}"#
            ),
        ),
    ];
    for (name, cfg, sr, want) in cases {
        let out = translator(cfg).translate(&batch(sr), now());
        assert_eq!(out.events.len(), 1, "{name}");
        let e = &out.events[0];
        assert_eq!(e.message, want, "{name}");
        assert_eq!(e.timestamp_ms, TS_MS, "{name}");
        assert_eq!(e.log_group_name, "/metrics/test-emf", "{name}");
        assert_eq!(e.log_stream_name, "otel-stream-test", "{name}");
    }
}

/// Upstream `createTestResourceMetrics` / `TestTranslateOtToGroupedMetric`: a
/// Prometheus resource with gauges, a histogram, a summary and cumulative sums.
fn upstream_test_resource(scope_name: &str, with_service: bool) -> Vec<ResourceMetrics> {
    let mut res = vec![
        ("opencensus.exporterversion", "SomeVersion"),
        ("ClusterName", "myCluster"),
        ("PodName", "myPod"),
        ("receiver", "prometheus"),
    ];
    if with_service {
        res.push(("service.name", "myServiceName"));
        res.push(("service.namespace", "myServiceNS"));
    }
    let span = |p: NumberPoint| p.attr("spanName", "testSpan").attr("isItAnError", "false");
    let mut b = metrics()
        .resource(res)
        .scope(scope_name)
        .metric(
            gauge("spanGaugeCounter")
                .unit("Count")
                .point(span(number_point(1).time(100_000_000))),
        )
        .metric(
            gauge("spanGaugeDoubleCounter")
                .unit("Count")
                .point(span(number_point(0.1).time(100_000_000))),
        )
        .metric(
            histogram("spanTimer")
                .unit("Seconds")
                .bounds([0.0, 10.0])
                .point(
                    histogram_point([0, 4, 1])
                        .count(5)
                        .sum(15.0)
                        .time(100_000_000)
                        .attr("spanName", "testSpan"),
                ),
        )
        .metric(
            summary("spanTimer").unit("Seconds").point(
                summary_point(5, 15.0)
                    .time(100_000_000)
                    .quantile(0.0, 1.0)
                    .quantile(1.0, 5.0),
            ),
        );
    for i in 0..2u64 {
        b = b
            .metric(
                sum("spanCounter")
                    .unit("Count")
                    .point(span(number_point(i as i64).time(i * 100_000_000))),
            )
            .metric(
                sum("spanDoubleCounter")
                    .unit("Count")
                    .point(span(number_point(i as f64 * 0.1).time(i * 100_000_000))),
            );
    }
    b.resource_metrics()
}

#[test]
fn groups_by_type_labels_and_timestamp_as_upstream() {
    let t = translator(EmfConfig::default());
    let out = t.translate(&upstream_test_resource("cloudwatch-lib", true), now());
    // Gauges, the histogram and the sums: three events. The Prometheus summary's
    // first point and the sums' first points are baselines.
    assert_eq!(out.stats.data_points, 8);
    assert_eq!(out.stats.held_as_baseline, 3);
    let m: Vec<&str> = out.events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        m,
        [
            r#"{"OTelLib":"cloudwatch-lib","Version":"1","_aws":{"CloudWatchMetrics":[{"Namespace":"myServiceNS/myServiceName","Dimensions":[["OTelLib","isItAnError","spanName"],["OTelLib"],["OTelLib","isItAnError"],["OTelLib","spanName"]],"Metrics":[{"Name":"spanGaugeCounter","Unit":"Count","StorageResolution":60},{"Name":"spanGaugeDoubleCounter","Unit":"Count","StorageResolution":60}]}],"Timestamp":100},"isItAnError":"false","prom_metric_type":"gauge","spanGaugeCounter":1,"spanGaugeDoubleCounter":0.1,"spanName":"testSpan"}"#,
            r#"{"OTelLib":"cloudwatch-lib","Version":"1","_aws":{"CloudWatchMetrics":[{"Namespace":"myServiceNS/myServiceName","Dimensions":[["OTelLib"],["OTelLib","spanName"]],"Metrics":[{"Name":"spanTimer","Unit":"Seconds","StorageResolution":60}]}],"Timestamp":100},"prom_metric_type":"histogram","spanName":"testSpan","spanTimer":{"Max":0,"Min":0,"Count":5,"Sum":15}}"#,
            r#"{"OTelLib":"cloudwatch-lib","Version":"1","_aws":{"CloudWatchMetrics":[{"Namespace":"myServiceNS/myServiceName","Dimensions":[["OTelLib","isItAnError","spanName"],["OTelLib"],["OTelLib","isItAnError"],["OTelLib","spanName"]],"Metrics":[{"Name":"spanCounter","Unit":"Count","StorageResolution":60},{"Name":"spanDoubleCounter","Unit":"Count","StorageResolution":60}]}],"Timestamp":100},"isItAnError":"false","prom_metric_type":"counter","spanCounter":1,"spanDoubleCounter":0.1,"spanName":"testSpan"}"#,
        ]
    );
    assert!(
        out.events
            .iter()
            .all(|e| e.log_group_name == "/metrics/myServiceNS/myServiceName")
    );

    // Without a scope name there is no OTelLib; without service attributes the
    // namespace is `default`.
    let t = translator(EmfConfig::default());
    let out = t.translate(&upstream_test_resource("", false), now());
    assert_eq!(out.events.len(), 3);
    let v = parsed(&out.events[0].message);
    assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "default");
    assert_eq!(
        v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([
            ["isItAnError", "spanName"],
            [],
            ["isItAnError"],
            ["spanName"]
        ])
    );
    assert!(v.get("OTelLib").is_none());

    // No metrics, no events.
    let empty = metrics()
        .resource([("service.name", "x")])
        .resource_metrics();
    assert!(t.translate(&empty, now()).events.is_empty());
}

#[test]
fn the_product_brief_block() {
    // exporters.awscloudwatch from the brief, decoded as the exporter will.
    let raw = json!({
        "namespace": "OTLP/Metrics",
        "region": "us-east-1",
        "metric_declarations": [
            {"dimensions": [["service.name", "operation"]], "metric_name_selectors": ["^http\\..*", "^rpc\\..*"]}
        ]
    });
    let mut map = raw.as_object().unwrap().clone();
    let own = EmfConfig::take_keys(&mut map);
    assert_eq!(
        map.keys().collect::<Vec<_>>(),
        ["region"],
        "left for the session settings"
    );
    let config: EmfConfig = decode_config(&Value::Object(own)).unwrap();
    assert_eq!(config.namespace, "OTLP/Metrics");
    assert_eq!(
        config.metric_declarations[0].dimensions,
        [vec!["service.name", "operation"]]
    );

    let labels = |p: HistogramPoint| {
        p.attr("service.name", "checkout")
            .attr("operation", "GET")
            .time(TS_NS)
    };
    let batch = metrics()
        .resource([("service.name", "checkout")])
        .scope("io.opentelemetry.http")
        .metric(
            histogram("http.server.duration")
                .unit("ms")
                .point(labels(histogram_point([1, 2]).sum(15.0).min(1.0).max(9.0))),
        )
        .metric(
            histogram("db.query.duration")
                .unit("ms")
                .point(labels(histogram_point([1]).sum(2.0).min(2.0).max(2.0))),
        )
        .metric(
            histogram("rpc.client.duration")
                .unit("ms")
                .point(labels(histogram_point([2]).sum(4.0).min(1.0).max(3.0))),
        )
        // Matches a selector but lacks `operation`.
        .metric(
            histogram("http.client.duration").unit("ms").point(
                histogram_point([1])
                    .sum(1.0)
                    .time(TS_NS)
                    .attr("service.name", "checkout"),
            ),
        )
        // Matches no selector: a plain log line.
        .metric(
            gauge("queue.depth")
                .point(number_point(3).time(TS_NS).attr("service.name", "checkout")),
        )
        .resource_metrics();

    let m = messages(&translator(config.clone()), &batch);
    assert_eq!(m.len(), 3);
    assert_eq!(
        m[0],
        r#"{"OTelLib":"io.opentelemetry.http","Version":"1","_aws":{"CloudWatchMetrics":[{"Namespace":"OTLP/Metrics","Dimensions":[["operation","service.name"],["OTelLib"],["OTelLib","operation"],["OTelLib","service.name"]],"Metrics":[{"Name":"http.server.duration","Unit":"Milliseconds","StorageResolution":60},{"Name":"rpc.client.duration","Unit":"Milliseconds","StorageResolution":60}]}],"Timestamp":1596151098037},"db.query.duration":{"Max":2,"Min":2,"Count":1,"Sum":2},"http.server.duration":{"Max":9,"Min":1,"Count":3,"Sum":15},"operation":"GET","rpc.client.duration":{"Max":3,"Min":1,"Count":2,"Sum":4},"service.name":"checkout"}"#
    );
    // Without `operation` the declared set does not apply; the rollups still do.
    assert_eq!(
        parsed(&m[1])["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["OTelLib"], ["OTelLib", "service.name"]])
    );
    // No selector matched: no `_aws`, no `Version`, the value stays a field.
    assert_eq!(
        m[2],
        r#"{"OTelLib":"io.opentelemetry.http","queue.depth":3,"service.name":"checkout"}"#
    );

    // NoDimensionRollup: only the declared set, and nothing for the point without it.
    let m = messages(
        &translator(EmfConfig {
            dimension_rollup_option: DimensionRollupOption::NoDimensionRollup,
            ..config
        }),
        &batch,
    );
    let dims: Vec<Value> = m
        .iter()
        .map(|s| parsed(s)["_aws"]["CloudWatchMetrics"].clone())
        .collect();
    assert_eq!(
        dims[0][0]["Dimensions"],
        json!([["operation", "service.name"]])
    );
    assert_eq!(
        dims[1],
        Value::Null,
        "http.client.duration is not extracted"
    );
    assert!(
        m[1].contains(r#""http.client.duration":{"#),
        "but stays a field: {}",
        m[1]
    );
    assert_eq!(dims[2], Value::Null);
}

#[test]
fn declarations_as_upstream() {
    // Upstream TestGroupedMetricToCWMeasurementsWithFilters, labels a, b, c.
    let batch = || {
        let p = |v: f64| {
            number_point(v)
                .time(TS_NS)
                .attr("a", "A")
                .attr("b", "B")
                .attr("c", "C")
        };
        metrics()
            .metric(gauge("metric1").unit("Count").point(p(1.0)))
            .metric(gauge("metric2").unit("Count").point(p(200.0)))
            .metric(gauge("metric3").unit("s").point(p(3.5)))
            .resource_metrics()
    };
    type Want<'a> = &'a [(&'a [&'a str], &'a [&'a [&'a str]])];
    let lm = |names: &[&str], re: &str| LabelMatcherConfig {
        label_names: names.iter().map(|s| s.to_string()).collect(),
        regex: re.into(),
        ..Default::default()
    };
    let with_matchers = |mut d: MetricDeclarationConfig, m: Vec<LabelMatcherConfig>| {
        d.label_matchers = m;
        d
    };
    let cases: Vec<(&str, Vec<MetricDeclarationConfig>, Want)> = vec![
        (
            "single metric declaration",
            vec![decl(&[&["a"], &["a", "c"], &["b", "d"]], &["metric.*"])],
            &[(&["metric1", "metric2", "metric3"], &[&["a"], &["a", "c"]])],
        ),
        (
            "multiple metric declarations, all unique",
            vec![
                decl(&[&["a"], &["b", "d"]], &["metric.*"]),
                decl(&[&["a", "c"], &["b", "d"]], &["metric1"]),
                decl(&[&["a"], &["b"], &["b", "d"]], &["metric(1|2)"]),
            ],
            &[
                (&["metric1"], &[&["a"], &["a", "c"], &["b"]]),
                (&["metric2"], &[&["a"], &["b"]]),
                (&["metric3"], &[&["a"]]),
            ],
        ),
        (
            "multiple metric declarations, hybrid",
            vec![
                decl(&[&["a"], &["b", "d"]], &["metric.*"]),
                decl(&[&["a"], &["b"], &["b", "d"]], &["metric(1|2)"]),
            ],
            &[
                (&["metric1", "metric2"], &[&["a"], &["b"]]),
                (&["metric3"], &[&["a"]]),
            ],
        ),
        (
            "some dimensions match",
            vec![
                decl(&[&["b", "d"]], &["metric.*"]),
                decl(&[&["a"], &["b"], &["b", "d"]], &["metric(1|2)"]),
            ],
            &[(&["metric1", "metric2"], &[&["a"], &["b"]])],
        ),
        (
            "no dimension match",
            vec![decl(&[&["b", "d"]], &["metric.*"])],
            &[],
        ),
        (
            "empty dimension set matches",
            vec![decl(&[&[]], &["metric(1|3)"])],
            &[(&["metric1", "metric3"], &[&[]])],
        ),
        (
            "label matchers",
            vec![
                with_matchers(
                    decl(&[&["a"], &["a", "c"], &["b", "d"]], &["metric.*"]),
                    vec![lm(&["a", "b", "d"], "A;B;D")],
                ),
                with_matchers(
                    decl(&[&["b"], &["b", "d"]], &["metric.*"]),
                    vec![lm(&["a", "b"], "A;B")],
                ),
            ],
            &[(&["metric1", "metric2", "metric3"], &[&["b"]])],
        ),
        (
            "no label match",
            vec![
                with_matchers(
                    decl(&[&["b"], &["b", "d"]], &["metric.*"]),
                    vec![lm(&["a", "b"], "A;C")],
                ),
                with_matchers(
                    decl(&[&["b"], &["b", "d"]], &["metric.*"]),
                    vec![lm(&["a", "b"], "a;B")],
                ),
            ],
            &[],
        ),
        (
            "no metric name match",
            vec![decl(&[&["b"], &["b", "d"]], &["metric4"])],
            &[],
        ),
    ];
    for (name, decls, want) in cases {
        let t = translator(EmfConfig {
            dimension_rollup_option: DimensionRollupOption::NoDimensionRollup,
            metric_declarations: decls,
            ..EmfConfig::default()
        });
        let m = messages(&t, &batch());
        assert_eq!(m.len(), 1, "{name}");
        let v = parsed(&m[0]);
        // Every metric stays a field, extracted or not.
        assert_eq!(
            (
                v["metric1"].clone(),
                v["metric2"].clone(),
                v["metric3"].clone()
            ),
            (json!(1), json!(200), json!(3.5)),
            "{name}"
        );
        let got: Vec<(Vec<String>, Vec<Vec<String>>)> = v["_aws"]["CloudWatchMetrics"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .map(|m| {
                        let names = m["Metrics"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|x| x["Name"].as_str().unwrap().to_string())
                            .collect();
                        let mut dims: Vec<Vec<String>> =
                            serde_json::from_value(m["Dimensions"].clone()).unwrap();
                        dims.sort();
                        (names, dims)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let want: Vec<(Vec<String>, Vec<Vec<String>>)> = want
            .iter()
            .map(|(names, dims)| {
                let mut dims: Vec<Vec<String>> = dims
                    .iter()
                    .map(|s| s.iter().map(|n| n.to_string()).collect())
                    .collect();
                dims.sort();
                (names.iter().map(|n| n.to_string()).collect(), dims)
            })
            .collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(v.get("Version").is_some(), !want.is_empty(), "{name}");
    }
}

#[test]
fn rollups_with_declarations_as_upstream() {
    // Upstream's rollup table of TestGroupedMetricToCWMeasurementsWithFilters.
    use DimensionRollupOption::*;
    let cases: &[(&str, &[&str], &[&[&str]], DimensionRollupOption, &[&[&str]])] = &[
        (
            "single label w/ no rollup",
            &["a"],
            &[&["a"]],
            NoDimensionRollup,
            &[&["a"]],
        ),
        (
            "single label + OTelLib w/ no rollup",
            &["a"],
            &[&["a", "OTelLib"]],
            NoDimensionRollup,
            &[&["OTelLib", "a"]],
        ),
        (
            "single label w/ single rollup",
            &["a"],
            &[&["a"]],
            SingleDimensionRollupOnly,
            &[&["a"], &["OTelLib", "a"]],
        ),
        (
            "single label w/ zero/single rollup",
            &["a"],
            &[&["a"]],
            ZeroAndSingleDimensionRollup,
            &[&["a"], &["OTelLib"], &["OTelLib", "a"]],
        ),
        (
            "single label + OTelLib w/ zero/single rollup",
            &["a"],
            &[&["a", "OTelLib"]],
            ZeroAndSingleDimensionRollup,
            &[&["OTelLib", "a"], &["OTelLib"]],
        ),
        (
            "multiple labels w/ no rollup",
            &["a", "b"],
            &[&["a"]],
            NoDimensionRollup,
            &[&["a"]],
        ),
        (
            "multiple labels w/ rollup",
            &["a", "b"],
            &[&["a"]],
            ZeroAndSingleDimensionRollup,
            &[&["a"], &["OTelLib"], &["OTelLib", "a"], &["OTelLib", "b"]],
        ),
        (
            "multiple labels + dims w/ rollup",
            &["a", "b"],
            &[&["a", "b"], &["b"]],
            ZeroAndSingleDimensionRollup,
            &[
                &["a", "b"],
                &["b"],
                &["OTelLib"],
                &["OTelLib", "a"],
                &["OTelLib", "b"],
            ],
        ),
        (
            "invalid dimension",
            &["a", "b"],
            &[&["a", "b", "c"], &["b"]],
            ZeroAndSingleDimensionRollup,
            &[&["b"], &["OTelLib"], &["OTelLib", "a"], &["OTelLib", "b"]],
        ),
        (
            "multiple declarations w/ no dimensions",
            &["a", "b", "c"],
            &[&["a", "e"], &["d"]],
            NoDimensionRollup,
            &[],
        ),
    ];
    for (name, labels, dims, opt, want) in cases {
        let mut p = number_point(5).time(TS_NS);
        for l in *labels {
            p = p.attr(*l, "x");
        }
        let batch = metrics()
            .scope("cloudwatch-otel")
            .metric(gauge("metric1").unit("Count").point(p))
            .resource_metrics();
        let t = translator(EmfConfig {
            dimension_rollup_option: *opt,
            metric_declarations: vec![decl(dims, &["metric1"])],
            ..EmfConfig::default()
        });
        let v = parsed(&messages(&t, &batch)[0]);
        let got = v["_aws"]["CloudWatchMetrics"][0]["Dimensions"].clone();
        if want.is_empty() {
            assert_eq!(got, Value::Null, "{name}");
        } else {
            assert_eq!(got, json!(want), "{name}");
        }
    }
}

#[test]
fn rollups_without_declarations_as_upstream() {
    // Upstream's rollup table of TestGroupedMetricToCWMeasurement.
    use DimensionRollupOption::*;
    let cases: &[(&[&str], bool, DimensionRollupOption, &[&[&str]])] = &[
        (&["a"], false, NoDimensionRollup, &[&["a"]]),
        (&["a"], true, NoDimensionRollup, &[&["OTelLib", "a"]]),
        (&["a"], false, SingleDimensionRollupOnly, &[&["a"]]),
        (
            &["a"],
            true,
            SingleDimensionRollupOnly,
            &[&["OTelLib", "a"]],
        ),
        (&["a"], false, ZeroAndSingleDimensionRollup, &[&[], &["a"]]),
        (
            &["a"],
            true,
            ZeroAndSingleDimensionRollup,
            &[&["OTelLib"], &["OTelLib", "a"]],
        ),
        (
            &["a", "b", "c"],
            false,
            NoDimensionRollup,
            &[&["a", "b", "c"]],
        ),
        (
            &["a", "b", "c"],
            true,
            NoDimensionRollup,
            &[&["OTelLib", "a", "b", "c"]],
        ),
        (
            &["a", "b", "c"],
            false,
            ZeroAndSingleDimensionRollup,
            &[&["a", "b", "c"], &[], &["a"], &["b"], &["c"]],
        ),
        (
            &["a", "b", "c"],
            true,
            ZeroAndSingleDimensionRollup,
            &[
                &["OTelLib", "a", "b", "c"],
                &["OTelLib"],
                &["OTelLib", "a"],
                &["OTelLib", "b"],
                &["OTelLib", "c"],
            ],
        ),
        (&[], false, ZeroAndSingleDimensionRollup, &[&[]]),
    ];
    for (labels, otel, opt, want) in cases {
        let mut p = number_point(1).time(TS_NS);
        for l in *labels {
            p = p.attr(*l, "foo");
        }
        let b = if *otel {
            metrics().scope("cloudwatch-otel")
        } else {
            metrics()
        };
        let batch = b.metric(gauge("metric1").point(p)).resource_metrics();
        let t = translator(EmfConfig {
            dimension_rollup_option: *opt,
            ..EmfConfig::default()
        });
        let v = parsed(&messages(&t, &batch)[0]);
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!(want),
            "{labels:?} {otel} {opt:?}"
        );
        // A metric without a unit still carries "Unit": "" (no omitempty upstream).
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0],
            json!({"Name": "metric1", "Unit": "", "StorageResolution": 60})
        );
    }
}

#[test]
fn log_group_and_stream_placeholders_as_upstream() {
    // Upstream logGroupStreamTestCases.
    type Attrs<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(&str, Attrs, Attrs, &str, &str, &str, &str)] = &[
        (
            "same",
            &[],
            &[],
            "test-log-group",
            "test-log-stream",
            "test-log-group",
            "test-log-stream",
        ),
        (
            "group from resource",
            &[("ClusterName", "test-cluster"), ("PodName", "test-pod")],
            &[],
            "test-log-group-{ClusterName}",
            "test-log-stream",
            "test-log-group-test-cluster",
            "test-log-stream",
        ),
        (
            "stream from resource",
            &[("ClusterName", "test-cluster"), ("PodName", "test-pod")],
            &[],
            "test-log-group",
            "test-log-stream-{PodName}",
            "test-log-group",
            "test-log-stream-test-pod",
        ),
        (
            "group from label",
            &[],
            &[("ClusterName", "test-cluster"), ("PodName", "test-pod")],
            "test-log-group-{ClusterName}",
            "test-log-stream",
            "test-log-group-test-cluster",
            "test-log-stream",
        ),
        (
            "stream from label",
            &[],
            &[("ClusterName", "test-cluster"), ("PodName", "test-pod")],
            "test-log-group",
            "test-log-stream-{PodName}",
            "test-log-group",
            "test-log-stream-test-pod",
        ),
        (
            "both attributes",
            &[("ClusterName", "test-cluster")],
            &[("PodName", "test-pod")],
            "test-log-group-{ClusterName}",
            "test-log-stream-{PodName}",
            "test-log-group-test-cluster",
            "test-log-stream-test-pod",
        ),
        (
            "missing from both",
            &[],
            &[],
            "test-log-group-{ClusterName}",
            "test-log-stream-{PodName}",
            "test-log-group-undefined",
            "test-log-stream-undefined",
        ),
        (
            "group missing, stream present",
            &[],
            &[("PodName", "test-pod")],
            "test-log-group-{ClusterName}",
            "test-log-stream-{PodName}",
            "test-log-group-undefined",
            "test-log-stream-test-pod",
        ),
        (
            "fallback attributes",
            &[
                ("aws.ecs.task.id", "t-1"),
                ("k8s.node.name", "node-1"),
                ("service.name", "svc"),
                ("aws.ecs.container.instance.id", "ci"),
                ("aws.ecs.task.family", "fam"),
            ],
            &[],
            "/g/{TaskId}/{NodeName}/{ServiceName}",
            "{ContainerInstanceId}-{TaskDefinitionFamily}",
            "/g/t-1/node-1/svc",
            "ci-fam",
        ),
    ];
    for (name, res, attrs, group, stream, want_group, want_stream) in cases {
        let mut p1 = number_point(100.0).time(TS_NS);
        let mut p2 = number_point(4.0).time(TS_NS);
        for (k, v) in *attrs {
            p1 = p1.attr(*k, *v);
            p2 = p2.attr(*k, *v);
        }
        let batch = metrics()
            .resource(res.iter().copied())
            .metric(gauge("metric_1").point(p1))
            .metric(gauge("metric_2").point(p2))
            .resource_metrics();
        let t = translator(EmfConfig {
            log_group_name: group.to_string(),
            log_stream_name: stream.to_string(),
            retain_initial_value_of_delta_metric: true,
            ..EmfConfig::default()
        });
        let out = t.translate(&batch, now());
        assert_eq!(out.events.len(), 1, "{name}");
        assert_eq!(out.events[0].log_group_name, *want_group, "{name}");
        assert_eq!(out.events[0].log_stream_name, *want_stream, "{name}");
    }
}

#[test]
fn cumulative_sums_become_deltas() {
    let t = translator(EmfConfig::default());
    let batch = |v: i64, ts: u64| {
        metrics()
            .metric(sum("requests").point(number_point(v).time(ts).attr("route", "/a")))
            .metric(
                sum("errors")
                    .delta()
                    .point(number_point(2).time(ts).attr("route", "/a")),
            )
            .resource_metrics()
    };
    let value = |out: &Translation, name: &str| -> Vec<Value> {
        out.events
            .iter()
            .filter_map(|e| parsed(&e.message).get(name).cloned())
            .collect()
    };
    // First export: `requests` is the baseline; the delta sum goes out as it is.
    let first = t.translate(&batch(10, TS_NS), now());
    assert_eq!(first.stats.held_as_baseline, 1);
    assert_eq!(value(&first, "requests"), Vec::<Value>::new());
    assert_eq!(value(&first, "errors"), [json!(2)]);
    // Second: the difference.
    let second = t.translate(
        &batch(25, TS_NS + 60_000_000_000),
        now() + Duration::from_secs(60),
    );
    assert_eq!(value(&second, "requests"), [json!(15)]);
    // A reset (the value went down): the new raw value.
    let third = t.translate(
        &batch(4, TS_NS + 120_000_000_000),
        now() + Duration::from_secs(120),
    );
    assert_eq!(value(&third, "requests"), [json!(4)]);
    assert_eq!(third.stats.tracked_series, 1);
    // Unseen for longer than the TTL: forgotten, the next point is a baseline again.
    let later = now() + Duration::from_secs(120) + DEFAULT_SERIES_TTL;
    let fourth = t.translate(&batch(9, TS_NS + 600_000_000_000), later);
    assert_eq!(fourth.stats.held_as_baseline, 1);
    assert_eq!(value(&fourth, "requests"), Vec::<Value>::new());

    // retain_initial_value_of_delta_metric sends the first value.
    let t = translator(EmfConfig {
        retain_initial_value_of_delta_metric: true,
        ..EmfConfig::default()
    });
    let first = t.translate(&batch(10, TS_NS), now());
    assert_eq!(first.stats.held_as_baseline, 0);
    assert_eq!(value(&first, "requests"), [json!(10)]);
    let second = t.translate(&batch(25, TS_NS), now());
    assert_eq!(value(&second, "requests"), [json!(15)]);
}

#[test]
fn delta_state_is_bounded() {
    let t = translator(EmfConfig::default()).with_delta_limits(DeltaLimits {
        max_series: 50,
        ttl: Duration::from_secs(3600),
    });
    for round in 0..3 {
        let mut b = metrics();
        for i in 0..40 {
            b = b.metric(
                sum("c").point(
                    number_point(round)
                        .time(TS_NS)
                        .attr("id", format!("{round}-{i}")),
                ),
            );
        }
        let out = t.translate(&b.resource_metrics(), now());
        assert!(
            out.stats.tracked_series <= 50,
            "{}",
            out.stats.tracked_series
        );
    }
    assert!(t.tracked_series() <= 50);
    let out = t.translate(&[], now());
    assert!(out.stats.evicted_series_total >= 70);
}

#[test]
fn units_and_descriptors() {
    let batch = metrics()
        .metric(
            gauge("latency")
                .unit("ms")
                .point(number_point(1).time(TS_NS)),
        )
        .metric(gauge("size").unit("By").point(number_point(1).time(TS_NS)))
        .metric(gauge("ratio").unit("1").point(number_point(1).time(TS_NS)))
        .metric(
            gauge("elapsed")
                .unit("ns")
                .point(number_point(1).time(TS_NS)),
        )
        .metric(gauge("bits").unit("bit").point(number_point(1).time(TS_NS)))
        .metric(
            gauge("custom")
                .unit("{requests}")
                .point(number_point(1).time(TS_NS)),
        )
        .metric(gauge("unitless").point(number_point(1).time(TS_NS)))
        .metric(
            gauge("overwritten")
                .unit("s")
                .point(number_point(1).time(TS_NS)),
        )
        .resource_metrics();
    let t = translator(EmfConfig {
        metric_descriptors: vec![
            MetricDescriptorConfig {
                metric_name: "unitless".into(),
                unit: "Count".into(),
                overwrite: false,
            },
            MetricDescriptorConfig {
                metric_name: "latency".into(),
                unit: "Seconds".into(),
                overwrite: false,
            },
            MetricDescriptorConfig {
                metric_name: "overwritten".into(),
                unit: "Milliseconds".into(),
                overwrite: true,
            },
        ],
        ..EmfConfig::default()
    });
    let v = parsed(&messages(&t, &batch)[0]);
    let units: Vec<(String, String)> = v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["Name"].as_str().unwrap().into(),
                m["Unit"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("latency", "Milliseconds"),
        ("size", "Bytes"),
        ("ratio", ""),
        ("elapsed", ""),
        ("bits", "Bits"),
        ("custom", "{requests}"),
        ("unitless", "Count"),
        ("overwritten", "Milliseconds"),
    ];
    assert_eq!(units, want.map(|(a, b)| (a.to_string(), b.to_string())));
}

#[test]
fn resource_to_telemetry_conversion() {
    let batch = metrics()
        .resource([
            ("service.name", "checkout"),
            ("host.name", "h1"),
            ("shared", "resource"),
        ])
        .metric(gauge("g").point(number_point(1).time(TS_NS).attr("shared", "point")))
        .resource_metrics();
    let off = parsed(&messages(&translator(EmfConfig::default()), &batch)[0]);
    assert_eq!(off["shared"], "point");
    assert!(off.get("host.name").is_none());
    let on = parsed(
        &messages(
            &translator(EmfConfig {
                resource_to_telemetry_conversion: ResourceToTelemetryConfig {
                    enabled: true,
                    exclude_service_attributes: false,
                },
                ..EmfConfig::default()
            }),
            &batch,
        )[0],
    );
    assert_eq!(
        (
            on["host.name"].clone(),
            on["service.name"].clone(),
            on["shared"].clone()
        ),
        (json!("h1"), json!("checkout"), json!("resource"))
    );
    assert_eq!(
        on["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
        json!(["host.name", "service.name", "shared"])
    );
    let excl = parsed(
        &messages(
            &translator(EmfConfig {
                resource_to_telemetry_conversion: ResourceToTelemetryConfig {
                    enabled: true,
                    exclude_service_attributes: true,
                },
                ..EmfConfig::default()
            }),
            &batch,
        )[0],
    );
    assert!(excl.get("service.name").is_none());
    assert_eq!(excl["host.name"], "h1");
}

#[test]
fn summaries_as_upstream() {
    let batch = |res: &str, count: u64, sum_v: f64| {
        metrics()
            .resource([("receiver", res)])
            .metric(
                summary("rpc.duration").unit("s").point(
                    summary_point(count, sum_v)
                        .time(TS_NS)
                        .attr("label1", "value1")
                        .quantile(0.0, 1.0)
                        .quantile(0.99, 5.0),
                ),
            )
            .resource_metrics()
    };
    // SDK summaries go out as they are, as a statistic set.
    let t = translator(EmfConfig::default());
    let v = parsed(&messages(&t, &batch("otlp", 5, 15.0))[0]);
    assert_eq!(
        v["rpc.duration"],
        json!({"Max": 5, "Min": 1, "Count": 5, "Sum": 15})
    );
    assert!(v.get("prom_metric_type").is_none());
    // Prometheus summaries are cumulative: baseline, then deltas of sum and count.
    let t = translator(EmfConfig::default());
    assert!(messages(&t, &batch("prometheus", 5, 15.0)).is_empty());
    let v = parsed(&messages(&t, &batch("prometheus", 12, 40.0))[0]);
    assert_eq!(
        v["rpc.duration"],
        json!({"Max": 5, "Min": 1, "Count": 7, "Sum": 25})
    );
    assert_eq!(v["prom_metric_type"], "summary");
    // detailed_metrics: _sum, _count and one point per quantile, each its own
    // event where the labels differ.
    let t = translator(EmfConfig {
        detailed_metrics: true,
        ..EmfConfig::default()
    });
    let m = messages(&t, &batch("otlp", 5, 15.0));
    assert_eq!(m.len(), 3);
    let v: Vec<Value> = m.iter().map(|s| parsed(s)).collect();
    assert_eq!(
        (
            v[0]["rpc.duration_sum"].clone(),
            v[0]["rpc.duration_count"].clone()
        ),
        (json!(15), json!(5))
    );
    assert_eq!(
        (v[1]["quantile"].clone(), v[1]["rpc.duration"].clone()),
        (json!("0"), json!(1))
    );
    assert_eq!(
        (v[2]["quantile"].clone(), v[2]["rpc.duration"].clone()),
        (json!("0.99"), json!(5))
    );
    assert_eq!(
        v[2]["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
        json!(["label1", "quantile"])
    );
}

#[test]
fn exponential_histograms_as_values_and_counts() {
    let batch = metrics()
        .metric(
            exp_histogram("latency").unit("s").point(
                exp_histogram_point(0)
                    .positive(0, [1, 2, 3])
                    .zero_count(4)
                    .negative(0, [1, 2, 3])
                    .sum(0.0)
                    .min(-8.0)
                    .max(8.0)
                    .time(TS_NS)
                    .attr("label1", "value1"),
            ),
        )
        .resource_metrics();
    let m = messages(
        &translator(EmfConfig {
            dimension_rollup_option: DimensionRollupOption::NoDimensionRollup,
            ..EmfConfig::default()
        }),
        &batch,
    );
    assert_eq!(
        m[0],
        r#"{"Version":"1","_aws":{"CloudWatchMetrics":[{"Namespace":"default","Dimensions":[["label1"]],"Metrics":[{"Name":"latency","Unit":"Seconds","StorageResolution":60}]}],"Timestamp":1596151098037},"label1":"value1","latency":{"Values":[6,3,1.5,0,-1.5,-3,-6],"Counts":[3,2,1,4,1,2,3],"Max":8,"Min":-8,"Count":16,"Sum":0}}"#
    );
    // More than 100 buckets: one event per split, each a separate group.
    let mut p = exp_histogram_point(0)
        .positive(0, 1..=120)
        .zero_count(2)
        .negative(0, 1..=120)
        .sum(1e5)
        .min(-9e36)
        .max(9e36)
        .time(TS_NS)
        .build();
    p.count = 3662;
    let batch = metrics()
        .metric(exp_histogram("big").point(p))
        .resource_metrics();
    let m = messages(&translator(EmfConfig::default()), &batch);
    assert_eq!(m.len(), 3);
    let first = parsed(&m[0]);
    assert_eq!(first["big"]["Values"].as_array().unwrap().len(), 100);
    assert!(
        m[0].contains(r#""Max":9e+36"#),
        "Go float format: {}",
        &m[0][..200]
    );
}

#[test]
fn invalid_points_dropped_and_counted() {
    let batch = metrics()
        .metric(
            gauge("g")
                .point(number_point(f64::NAN).time(TS_NS))
                .point(number_point(f64::INFINITY).time(TS_NS))
                .point(number_point(1).time(TS_NS).flags(1))
                .point(number_point(2).time(TS_NS)),
        )
        .metric(histogram("h").point(histogram_point([1]).sum(f64::NAN).time(TS_NS)))
        .metric(summary("s").point(summary_point(1, 1.0).quantile(0.5, f64::NAN).time(TS_NS)))
        .resource_metrics();
    let out = translator(EmfConfig::default()).translate(&batch, now());
    assert_eq!(out.stats.data_points, 6);
    assert_eq!(out.stats.dropped_invalid, 5);
    assert_eq!(out.events.len(), 1);
    assert!(out.events[0].message.contains(r#""g":2"#));
}

#[test]
fn points_without_a_timestamp_use_now() {
    let batch = metrics().metric(gauge("g").point(1)).resource_metrics();
    let out = translator(EmfConfig::default()).translate(&batch, now());
    assert_eq!(out.events[0].timestamp_ms, 1_700_000_000_000);
    assert!(
        out.events[0]
            .message
            .contains(r#""Timestamp":1700000000000"#)
    );
}

#[test]
fn grouping_keeps_types_and_point_positions_apart() {
    let p = |v: i64| number_point(v).time(TS_NS).attr("k", "v");
    let batch = metrics()
        .metric(gauge("g1").point(p(1)))
        .metric(gauge("g2").point(p(2)))
        .metric(sum("s").delta().point(p(3)))
        .metric(histogram("h").point(histogram_point([1]).sum(1.0).time(TS_NS).attr("k", "v")))
        // Same labels, another timestamp: its own event.
        .metric(gauge("g3").point(number_point(4).time(TS_NS + 1_000_000).attr("k", "v")))
        // The second point of a metric is in batch 1: not grouped with batch 0.
        .metric(
            gauge("g4")
                .point(number_point(5).time(TS_NS).attr("k", "w"))
                .point(p(6)),
        )
        .resource_metrics();
    let m = messages(&translator(EmfConfig::default()), &batch);
    let fields: Vec<Vec<String>> = m
        .iter()
        .map(|s| {
            parsed(s)
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| k.starts_with(['g', 's', 'h']))
                .cloned()
                .collect()
        })
        .collect();
    assert_eq!(
        fields,
        [
            vec!["g1", "g2"],
            vec!["s"],
            vec!["h"],
            vec!["g3"],
            vec!["g4"],
            vec!["g4"]
        ]
    );
}

#[test]
fn disable_metric_extraction_and_storage_resolution() {
    let batch = metrics()
        .metric(
            gauge("g").point(
                number_point(1)
                    .time(TS_NS)
                    .attr("a", "x")
                    .attr(STORAGE_RESOLUTION_ATTRIBUTE, "1"),
            ),
        )
        .resource_metrics();
    let m = messages(
        &translator(EmfConfig {
            disable_metric_extraction: true,
            ..EmfConfig::default()
        }),
        &batch,
    );
    assert_eq!(
        m[0], r#"{"a":"x","g":1}"#,
        "the storage resolution attribute is not a field"
    );
    let v = parsed(&messages(&translator(EmfConfig::default()), &batch)[0]);
    assert_eq!(
        v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["StorageResolution"],
        1
    );
    assert_eq!(
        v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([[], ["a"]]),
        "nor a dimension"
    );
}

#[test]
fn strings_and_labels_as_go_writes_them() {
    let batch = metrics()
        .metric(
            gauge("g").point(
                number_point(0.5)
                    .time(TS_NS)
                    .attr("url", "/a?b=1&c=<2>")
                    .attr("count", 42)
                    .attr("ratio", 1.0)
                    .attr("ok", true),
            ),
        )
        .resource_metrics();
    let m = messages(
        &translator(EmfConfig {
            disable_metric_extraction: true,
            ..EmfConfig::default()
        }),
        &batch,
    );
    assert_eq!(
        m[0],
        r#"{"count":"42","g":0.5,"ok":"true","ratio":"1","url":"/a?b=1\u0026c=\u003c2\u003e"}"#
    );
}

#[test]
fn config_defaults_and_keys() {
    let c: EmfConfig = decode_config(&Value::Null).unwrap();
    assert_eq!(c, EmfConfig::default());
    assert_eq!(
        c.dimension_rollup_option,
        DimensionRollupOption::ZeroAndSingleDimensionRollup
    );
    assert_eq!(c.version, EmfVersion::V1);
    assert_eq!(c.output_destination, OutputDestination::Cloudwatch);
    assert_eq!(
        EmfConfig::default_log_group("OTLP/Metrics"),
        "/metrics/OTLP/Metrics"
    );
    assert_eq!(default_log_stream_name("abc"), "otel-stream-abc");
    let c: EmfConfig = decode_config(&json!({
        "version": "0", "output_destination": "STDOUT", "dimension_rollup_option": "NoDimensionRollup",
        "resource_to_telemetry_conversion": {"enabled": true},
        "metric_declarations": [{"metric_name_selectors": ["x"], "label_matchers": [{"label_names": ["a"], "regex": "b"}]}],
        "log_retention": 7, "tags": {"team": "obs"}
    }))
    .unwrap();
    assert_eq!(
        (c.version, c.output_destination),
        (EmfVersion::V0, OutputDestination::Stdout)
    );
    assert_eq!(c.metric_declarations[0].label_matchers[0].separator, ";");
    assert!(c.resource_to_telemetry_conversion.enabled);
    let c: EmfConfig =
        decode_config(&json!({"version": 1, "dimension_rollup_option": ""})).unwrap();
    assert_eq!(
        (c.version, c.dimension_rollup_option),
        (EmfVersion::V1, DimensionRollupOption::NoDimensionRollup)
    );
    // Every key of KEYS is a key of the struct (and nothing else is).
    for key in EmfConfig::KEYS {
        let mut raw = serde_json::to_value(json!({})).unwrap();
        raw[*key] = match *key {
            "dimension_rollup_option" => json!("NoDimensionRollup"),
            "output_destination" => json!("stdout"),
            "version" => json!("1"),
            "log_retention" => json!(0),
            "tags" | "resource_to_telemetry_conversion" => json!({}),
            "metric_declarations" | "metric_descriptors" | "parse_json_encoded_attr_values" => {
                json!([])
            }
            k if k.ends_with("_enabled")
                || k.starts_with("disable")
                || k.starts_with("detailed")
                || k.starts_with("retain") =>
            {
                json!(true)
            }
            _ => json!(""),
        };
        decode_config::<EmfConfig>(&raw).unwrap_or_else(|e| panic!("{key}: {e:?}"));
    }
    assert_eq!(EmfConfig::KEYS.len(), 16);
}

#[test]
fn config_problems_at_their_key_paths() {
    let e = decode_config::<EmfConfig>(&json!({
        "metric_declarations": [
            {"dimensions": [["service.name", "operation"]], "metric_name_selectors": ["^http\\..*", "^rpc\\.(.*"]},
            {"metric_name_selectors": [], "label_matchers": [{"label_names": [], "regex": "("}]}
        ],
        "metric_descriptors": [{"metric_name": "", "unit": "Parsecs"}],
        "log_retention": 2,
        "tags": {"bad key!": "v"}
    }))
    .unwrap_err();
    let paths: Vec<&str> = e.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "metric_declarations::0::metric_name_selectors::1",
            "metric_declarations::1::metric_name_selectors",
            "metric_declarations::1::label_matchers::0::label_names",
            "metric_declarations::1::label_matchers::0::regex",
            "metric_descriptors::0::metric_name",
            "metric_descriptors::0::unit",
            "log_retention",
            "tags::bad key!",
        ]
    );
    assert!(e[0].message.contains("^rpc\\.(.*"), "{}", e[0].message);
    // Log group settings: the checks of stratus_aws_common::cwlogs::group_settings.
    assert!(
        e[6].message
            .starts_with("2 is not a CloudWatch Logs retention period; use 0 (never expire)"),
        "{}",
        e[6].message
    );
    assert!(
        e[7].message
            .starts_with("key - bad key! does not follow the regex pattern"),
        "{}",
        e[7].message
    );
    // As upstream's ValidateTagsInput: an empty tag value is refused and lengths are
    // bytes; `tags: {}` is no tags (the default).
    let e = decode_config::<EmfConfig>(&json!({"tags": {"team": ""}})).unwrap_err();
    assert_eq!(e[0].path, "tags::team");
    assert!(e[0].message.contains("(0 bytes)"), "{}", e[0].message);
    let e = decode_config::<EmfConfig>(&json!({"tags": {"é".repeat(65): "v"}})).unwrap_err();
    assert!(e[0].message.contains("(130 bytes)"), "{}", e[0].message);
    assert!(decode_config::<EmfConfig>(&json!({"tags": {}})).is_ok());
    // Unknown keys and values are refused with their path.
    for (raw, path) in [
        (json!({"namespce": "x"}), "namespce"),
        (json!({"version": "2"}), "version"),
        (json!({"output_destination": "file"}), "output_destination"),
        (
            json!({"dimension_rollup_option": "All"}),
            "dimension_rollup_option",
        ),
        (
            json!({"metric_declarations": [{"selectors": []}]}),
            "metric_declarations[0].selectors",
        ),
    ] {
        let e = decode_config::<EmfConfig>(&raw).unwrap_err();
        assert_eq!(
            e[0].path.replace("::", "."),
            path.replace("::", "."),
            "{raw}"
        );
    }
    // The translator refuses what validation refuses.
    let bad = EmfConfig {
        log_retention: 4,
        ..EmfConfig::default()
    };
    assert_eq!(
        EmfTranslator::new(&bad, "s").unwrap_err()[0].path,
        "log_retention"
    );
}

#[test]
fn translator_is_shareable_between_queue_consumers() {
    fn shareable<T: Send + Sync>(_: &T) {}
    let t = std::sync::Arc::new(translator(EmfConfig::default()));
    shareable(&t);
    let batch = metrics()
        .metric(sum("c").point(number_point(1).time(TS_NS)))
        .resource_metrics();
    let t2 = t.clone();
    std::thread::spawn(move || t2.translate(&batch, now()))
        .join()
        .unwrap();
    assert_eq!(
        t.tracked_series(),
        1,
        "the other thread's baseline is in the shared state"
    );
}
