use super::*;
use stratus_core::pdata::common::any_value::Value;
use stratus_core::pdata::metrics::metric::Data;
use stratus_core::pdata::metrics::number_data_point;

#[test]
fn traces_group_by_resource_and_scope_and_number_spans() {
    let p = traces()
        .span("loose")
        .resource([("service.name", "api")])
        .scope(scope("http").version("2").attr("k", true))
        .span(span("GET /").attr("http.method", "GET").attr("code", 200))
        .span(span("db").span_id(42).parent(2).trace_id([0xab; 16]))
        .scope("other")
        .span("x")
        .resource([("service.name", "worker")])
        .span(span("job").kind(SpanKind::Consumer).error("boom"))
        .payload();
    let Payload::Traces(r) = &p else { panic!() };
    assert_eq!(r.len(), 3);
    assert_eq!(r[0].resource, None);
    assert_eq!(r[0].scope_spans[0].scope, None);
    let api = &r[1];
    assert_eq!(
        api.resource.as_ref().unwrap().attributes,
        vec![kv("service.name", "api")]
    );
    assert_eq!(api.scope_spans.len(), 2);
    let http = api.scope_spans[0].scope.as_ref().unwrap();
    assert_eq!((http.name.as_str(), http.version.as_str()), ("http", "2"));
    assert_eq!(http.attributes, vec![kv("k", true)]);
    assert_eq!(p.span_names(), ["loose", "GET /", "db", "x", "job"]);
    // Positions number spans without an id; an explicit id is kept.
    assert_eq!(p.span_ids(), [1, 2, 42, 4, 5]);
    let spans = p.spans();
    assert_eq!(spans[0].trace_id, DEFAULT_TRACE_ID.to_be_bytes());
    assert_eq!(spans[2].trace_id, vec![0xab; 16]);
    assert_eq!(spans[2].parent_span_id, 2u64.to_be_bytes());
    assert_eq!(
        spans[1].attributes[1].value.as_ref().unwrap().value,
        Some(Value::IntValue(200))
    );
    assert_eq!(spans[4].kind, SpanKind::Consumer as i32);
    let status = spans[4].status.as_ref().unwrap();
    assert_eq!(
        (status.code, status.message.as_str()),
        (StatusCode::Error as i32, "boom")
    );
}

#[test]
fn spans_carry_events_links_times_and_raw_changes() {
    let s = span("op")
        .start(10)
        .end(20)
        .ok()
        .trace_state("a=b")
        .flags(1)
        .event("plain")
        .event(event("rich").attr("n", 2).time(15))
        .link((7u128, 8u64))
        .link(link(9u128, 10u64).attr("why", "retry").trace_state("x=y"))
        .attrs([("a", "1"), ("b", "2")])
        .with(|s| s.dropped_events_count = 3)
        .build();
    assert_eq!((s.start_time_unix_nano, s.end_time_unix_nano), (10, 20));
    assert_eq!(s.status.unwrap().code, StatusCode::Ok as i32);
    assert_eq!(s.events.len(), 2);
    assert_eq!(s.events[1].time_unix_nano, 15);
    assert_eq!(s.events[1].attributes, vec![kv("n", 2)]);
    assert_eq!(s.links[0].span_id, 8u64.to_be_bytes());
    assert_eq!(s.links[1].trace_id, 9u128.to_be_bytes());
    assert_eq!(s.links[1].trace_state, "x=y");
    assert_eq!(s.attributes.len(), 2);
    assert_eq!(s.dropped_events_count, 3);
    assert_eq!((s.trace_state.as_str(), s.flags), ("a=b", 1));
}

#[test]
fn every_metric_type_counts_its_points() {
    let p = metrics()
        .resource([("service.name", "api")])
        .scope("meter")
        .metric(gauge("g").unit("1").description("d").point(3).point(2.5))
        .metric(sum("s").delta().monotonic(false).points([1, 2, 3]))
        .metric(
            histogram("h").bounds([1.0, 5.0]).point([1, 2, 0]).point(
                histogram_point([0, 0, 4])
                    .bounds([10.0, 20.0])
                    .sum(50.0)
                    .min(11.0)
                    .max(19.0),
            ),
        )
        .metric(
            exp_histogram("e").delta().point(
                exp_histogram_point(2)
                    .zero_count(1)
                    .positive(-1, [2, 3])
                    .negative(0, [4])
                    .sum(1.5),
            ),
        )
        .metric(
            summary("q").point(
                summary_point(3, 12.0)
                    .quantile(0.5, 4.0)
                    .quantile(0.99, 7.0),
            ),
        )
        .build();
    assert_eq!(p.item_count(), 2 + 3 + 2 + 1 + 1);
    let m = p.metrics();
    let Some(Data::Gauge(g)) = &m[0].data else {
        panic!()
    };
    assert_eq!(
        g.data_points[0].value,
        Some(number_data_point::Value::AsInt(3))
    );
    assert_eq!(
        g.data_points[1].value,
        Some(number_data_point::Value::AsDouble(2.5))
    );
    assert_eq!((m[0].unit.as_str(), m[0].description.as_str()), ("1", "d"));
    let Some(Data::Sum(s)) = &m[1].data else {
        panic!()
    };
    assert!(!s.is_monotonic);
    assert_eq!(s.aggregation_temporality, 1);
    let Some(Data::Histogram(h)) = &m[2].data else {
        panic!()
    };
    assert_eq!(h.aggregation_temporality, 2);
    assert_eq!(h.data_points[0].explicit_bounds, [1.0, 5.0]);
    assert_eq!(h.data_points[0].count, 3);
    assert_eq!(h.data_points[1].explicit_bounds, [10.0, 20.0]);
    assert_eq!(h.data_points[1].sum, Some(50.0));
    let Some(Data::ExponentialHistogram(e)) = &m[3].data else {
        panic!()
    };
    let ep = &e.data_points[0];
    assert_eq!((ep.scale, ep.count, ep.zero_count), (2, 10, 1));
    assert_eq!(ep.positive.as_ref().unwrap().offset, -1);
    let Some(Data::Summary(q)) = &m[4].data else {
        panic!()
    };
    assert_eq!(q.data_points[0].quantile_values.len(), 2);
    assert_eq!((q.data_points[0].count, q.data_points[0].sum), (3, 12.0));
    // Points carry attributes and times.
    let point = number_point(1).attr("k", "v").time(5).start(4).build();
    assert_eq!((point.start_time_unix_nano, point.time_unix_nano), (4, 5));
    assert_eq!(point.attributes, vec![kv("k", "v")]);
}

#[test]
fn log_records_carry_severity_trace_context_and_bodies() {
    let req = logs()
        .resource([("host.name", "a")])
        .record("plain")
        .record(
            log(kvlist([("k", 1)]))
                .severity(SeverityNumber::Error2)
                .time(5)
                .observed(6)
                .trace(3u128, 4u64)
                .event_name("evt")
                .attr("a", array([1, 2])),
        )
        .records([
            log("w").severity(SeverityNumber::Warn),
            log(bytes([1u8, 2])),
        ])
        .request();
    let records = &req.resource_logs[0].scope_logs[0].log_records;
    assert_eq!(records.len(), 4);
    assert_eq!(
        records[0].body.as_ref().unwrap().value,
        Some(Value::StringValue("plain".into()))
    );
    assert_eq!(records[1].severity_text, "ERROR2");
    assert_eq!(records[1].severity_number, 18);
    assert_eq!(records[1].trace_id, 3u128.to_be_bytes());
    assert_eq!(records[1].span_id, 4u64.to_be_bytes());
    assert_eq!(
        (
            records[1].time_unix_nano,
            records[1].observed_time_unix_nano
        ),
        (5, 6)
    );
    assert_eq!(records[1].event_name, "evt");
    assert_eq!(records[2].severity_text, "WARN");
    assert!(matches!(
        records[3].body.as_ref().unwrap().value,
        Some(Value::BytesValue(_))
    ));
}

#[test]
fn terminals_agree_with_each_other() {
    use prost::Message;
    let b = || traces().span("a").span("b");
    let bytes = b().encode();
    assert_eq!(
        stratus_core::pdata::ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap(),
        b().request()
    );
    assert_eq!(Telemetry::from(b()).payload, Payload::from(b()));
    assert_eq!(b().payload().encode_request(), bytes);
    let meta = stratus_core::Metadata::new(None, [("x-tenant".to_string(), "a".to_string())]);
    assert_eq!(b().build_with(meta).metadata.get("x-tenant"), ["a"]);
    assert_eq!(
        logs().record("x").encode().len(),
        logs().record("x").payload().encoded_len()
    );
    assert_eq!(
        metrics().metric(gauge("g").point(1)).encode().len(),
        metrics()
            .metric(gauge("g").point(1))
            .payload()
            .encoded_len()
    );
}

#[test]
fn samples_have_the_requested_items_and_valid_fields() {
    for signal in Signal::ALL {
        for n in [0, 1, 5] {
            let t = sample(signal, n);
            assert_eq!(t.signal(), signal);
            assert_eq!(t.item_count(), n, "{signal} {n}");
        }
    }
    let t = sample_spans(3);
    assert_eq!(t.span_names(), ["span-0", "span-1", "span-2"]);
    assert_eq!(t.span_ids(), [1, 2, 3]);
    assert!(
        t.spans()
            .iter()
            .all(|s| s.end_time_unix_nano > s.start_time_unix_nano)
    );
    assert!(
        sample_logs(2)
            .log_records()
            .iter()
            .all(|r| r.time_unix_nano == SAMPLE_TIME_NS)
    );
    assert_eq!(sample_metrics(4).metrics().len(), 1);
}

#[test]
fn ids_read_back() {
    assert_eq!(id_u64(&7u64.to_be_bytes()), 7);
    assert_eq!(id_u64(&9u128.to_be_bytes()), 0, "first half of a trace id");
    let short = std::panic::catch_unwind(|| id_u64(&[1, 2]));
    assert!(short.is_err());
}
