//! Whole batches: every span of a request, in order, with failures reported.

use serde_json::Value;
use stratus_testkit::otlp::{PayloadExt, SpanKind, event, sample_spans, span, traces};

use super::*;
use crate::batches;

fn request(t: stratus_testkit::otlp::TracesBuilder) -> Vec<ResourceSpans> {
    t.request().resource_spans
}

#[test]
fn every_span_gives_a_document_in_order() {
    let batch = sample_spans(120);
    let stratus_core::Payload::Traces(rs) = &*batch.payload else {
        panic!("traces");
    };
    let translation = Translator::new(&TranslatorConfig::default()).translate(rs);
    assert_eq!(translation.spans, 120);
    assert!(translation.failures.is_empty());
    assert_eq!(translation.documents.len(), 120);
    assert_eq!(translation.shrunk(), 0);
    // 120 spans go out in 3 PutTraceSegments calls.
    let sizes: Vec<usize> = batches(&translation.documents).map(<[_]>::len).collect();
    assert_eq!(sizes, vec![50, 50, 20]);
    for (i, (doc, span)) in translation.documents.iter().zip(batch.spans()).enumerate() {
        assert_eq!(doc.span, i);
        assert_eq!(doc.id, hex::encode(&span.span_id));
        let v: Value = serde_json::from_str(&doc.json).unwrap();
        assert_eq!(v["name"], "stratus-testkit");
        assert_eq!(v["metadata"]["default"]["i"], i);
    }
}

#[test]
fn a_bad_span_is_reported_and_the_others_go_on() {
    let mut good = span("good").kind(SpanKind::Server).build();
    good.span_id = vec![1; 8];
    let mut bad = good.clone();
    bad.trace_id = vec![9; 3];
    let mut rs = request(traces().spans([good.clone(), bad, good]));
    // A second resource, to check the index counts across resources.
    rs.extend(request(
        traces()
            .resource([("service.name", "other")])
            .span(span("x")),
    ));
    let translation = Translator::new(&TranslatorConfig::default()).translate(&rs);
    assert_eq!(translation.spans, 4);
    assert_eq!(
        translation.failures,
        vec![SpanFailure {
            span: 1,
            error: TranslateError::InvalidTraceId { len: 3 }
        }]
    );
    let spans: Vec<usize> = translation.documents.iter().map(|d| d.span).collect();
    assert_eq!(spans, vec![0, 2, 3]);
}

#[test]
fn a_split_local_root_gives_two_documents_for_one_span() {
    let rs = request(
        traces().span(
            span("SQS ReceiveMessage")
                .kind(SpanKind::Consumer)
                .parent(7)
                .attr("aws.span.kind", "LOCAL_ROOT")
                .attr("aws.remote.service", "AWS::SQS")
                .attr("aws.local.service", "worker"),
        ),
    );
    let translation = Translator::new(&TranslatorConfig::default()).translate(&rs);
    assert_eq!(translation.spans, 1);
    let spans: Vec<(usize, bool)> = translation
        .documents
        .iter()
        .map(|d| (d.span, d.json.contains("\"type\":\"subsegment\"")))
        .collect();
    assert_eq!(spans, vec![(0, true), (0, false)]);
}

#[test]
fn the_issue_acceptance_spans() {
    // The spans issue 7's X-Ray end-to-end test sends, with the brief's config:
    // index_all_attributes plus indexed_attributes [http.method, http.status_code,
    // error] (index_all makes the list moot, as upstream).
    let config = TranslatorConfig {
        index_all_attributes: true,
        indexed_attributes: vec![
            "http.method".into(),
            "http.status_code".into(),
            "error".into(),
        ],
        ..TranslatorConfig::default()
    };
    let python_trace = "Traceback (most recent call last):\n  File \"app.py\", line 3, in handler\n    raise ValueError('bad')\nValueError: bad";
    let rs = request(
        traces()
            .resource([
                ("service.name", "shop"),
                ("telemetry.sdk.language", "python"),
            ])
            .span(
                span("GET /cart")
                    .kind(SpanKind::Server)
                    .attr("http.method", "GET")
                    .attr("http.status_code", 200),
            )
            .span(
                span("GET")
                    .kind(SpanKind::Client)
                    .parent(1)
                    .attr("http.request.method", "GET")
                    .attr("url.full", "https://api.example.com/x")
                    .attr("http.response.status_code", 200),
            )
            .span(
                span("SELECT orders")
                    .kind(SpanKind::Client)
                    .parent(1)
                    .attr("db.system", "postgresql")
                    .attr("db.name", "orders")
                    .attr("db.statement", "SELECT * FROM orders"),
            )
            .span(
                span("POST /pay")
                    .kind(SpanKind::Server)
                    .error("boom")
                    .attr("http.method", "POST")
                    .attr("http.status_code", 500),
            )
            .span(
                span("GET /slow")
                    .kind(SpanKind::Server)
                    .attr("http.method", "GET")
                    .attr("http.status_code", 429),
            )
            .span(
                span("handler").kind(SpanKind::Server).error("bad").event(
                    event("exception")
                        .attr("exception.type", "ValueError")
                        .attr("exception.message", "bad")
                        .attr("exception.stacktrace", python_trace),
                ),
            ),
    );
    let translation = Translator::new(&config).translate(&rs);
    assert!(translation.failures.is_empty());
    let docs: Vec<Value> = translation
        .documents
        .iter()
        .map(|d| serde_json::from_str(&d.json).unwrap())
        .collect();
    assert_eq!(docs.len(), 6);
    // The server span: a segment named after the service, annotations with dots.
    assert_eq!(docs[0]["name"], "shop");
    assert_eq!(docs[0]["annotations"]["http.method"], "GET");
    assert_eq!(docs[0]["annotations"]["http.status_code"], 200);
    assert!(docs[0].get("type").is_none());
    // The HTTP client span.
    assert_eq!(docs[1]["type"], "subsegment");
    assert_eq!(docs[1]["namespace"], "remote");
    assert_eq!(
        docs[1]["http"]["request"]["url"],
        "https://api.example.com/x"
    );
    // The DB span.
    assert_eq!(docs[2]["name"], "orders");
    assert_eq!(docs[2]["sql"]["database_type"], "postgresql");
    assert_eq!(docs[2]["sql"]["connection_string"], "localhost/orders");
    // 500 is a fault, 429 an error and a throttle.
    assert_eq!(
        (docs[3]["fault"].clone(), docs[3]["error"].clone()),
        (true.into(), false.into())
    );
    assert_eq!(
        (
            docs[4]["fault"].clone(),
            docs[4]["error"].clone(),
            docs[4]["throttle"].clone()
        ),
        (false.into(), true.into(), true.into())
    );
    // The exception with its Python stack trace.
    let exception = &docs[5]["cause"]["exceptions"][0];
    assert_eq!(exception["type"], "ValueError");
    assert_eq!(
        exception["stack"][0],
        serde_json::json!({"path": "app.py", "line": 3, "label": "handler"})
    );
    // Every trace id in X-Ray form.
    assert!(
        docs.iter()
            .all(|d| d["trace_id"] == "1-5b8efff7-98038103d269b633813fc60c")
    );
}
