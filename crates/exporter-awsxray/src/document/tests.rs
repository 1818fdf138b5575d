//! Shrinking to the size limit, and batches for PutTraceSegments.

use serde_json::Value;
use stratus_testkit::otlp::{SpanKind, StatusCode, kv, link};

use super::*;
use crate::test_support::{client_span, make_span, resource, server_span, to_event, translator};

fn doc_of(
    span: &stratus_core::pdata::trace::Span,
    t: &crate::Translator,
    limit: usize,
) -> SegmentDocument {
    let res = resource(Vec::new());
    let mut segments = t.segments(span, Some(&res)).unwrap();
    assert_eq!(segments.len(), 1);
    encode_with_limit(segments.remove(0), 3, limit).unwrap()
}

fn parsed(doc: &SegmentDocument) -> Value {
    serde_json::from_str(&doc.json).unwrap()
}

#[test]
fn a_small_document_is_left_alone() {
    let span = server_span("/ok", StatusCode::Ok, "", vec![kv("a", "b")]);
    let doc = doc_of(&span, &translator(&[], false), MAX_SEGMENT_DOCUMENT_BYTES);
    assert_eq!(doc.shrunk, None);
    assert_eq!(doc.span, 3);
    assert_eq!(doc.id, crate::test_support::SPAN_HEX);
    assert_eq!(parsed(&doc)["metadata"]["default"]["a"], "b");
}

#[test]
fn the_largest_metadata_goes_first() {
    let span = server_span(
        "/big",
        StatusCode::Ok,
        "",
        vec![
            kv("big1", "x".repeat(40_000)),
            kv("big2", "y".repeat(30_000)),
            kv("small", "z"),
        ],
    );
    let doc = doc_of(&span, &translator(&[], false), MAX_SEGMENT_DOCUMENT_BYTES);
    let report = doc.shrunk.clone().expect("shrunk");
    assert!(report.original_bytes > MAX_SEGMENT_DOCUMENT_BYTES);
    assert_eq!(report.final_bytes, doc.json.len());
    assert!(doc.json.len() <= MAX_SEGMENT_DOCUMENT_BYTES);
    assert_eq!(
        report,
        ShrinkReport {
            original_bytes: report.original_bytes,
            final_bytes: report.final_bytes,
            metadata_entries: 1,
            ..ShrinkReport::default()
        }
    );
    let md = &parsed(&doc)["metadata"]["default"];
    assert!(md.get("big1").is_none());
    assert_eq!(md["big2"].as_str().map(str::len), Some(30_000));
    assert_eq!(md["small"], "z");
}

#[test]
fn stack_frames_go_after_metadata_and_are_counted() {
    // A Java stack trace of 4000 frames (about 400 KB in the document).
    let mut trace = String::from("java.lang.IllegalStateException: boom\n");
    for i in 0..4000 {
        trace.push_str(&format!(
            "\tat com.example.Service.method{i}(Service.java:{i})\n"
        ));
    }
    let mut span = client_span(
        "GET /",
        StatusCode::Error,
        "",
        vec![kv("note", "n".repeat(1000))],
    );
    span.events = vec![to_event(
        stratus_testkit::otlp::event("exception")
            .attr("exception.type", "java.lang.IllegalStateException")
            .attr("exception.message", "boom")
            .attr("exception.stacktrace", trace),
    )];
    let t = translator(&[], false);
    let res = resource(vec![kv("telemetry.sdk.language", "java")]);
    let seg = t.segments(&span, Some(&res)).unwrap().remove(0);
    let doc = encode_segment(seg, 0).unwrap();
    let report = doc.shrunk.clone().expect("shrunk");
    assert!(
        doc.json.len() <= MAX_SEGMENT_DOCUMENT_BYTES,
        "{}",
        doc.json.len()
    );
    assert_eq!(report.metadata_entries, 1);
    let v = parsed(&doc);
    let exception = &v["cause"]["exceptions"][0];
    let kept = exception["stack"].as_array().unwrap().len();
    assert!(kept > 0 && kept < 4000, "{kept}");
    // The frames kept are the first ones, and `truncated` says how many went.
    assert_eq!(
        exception["stack"][0]["label"],
        "com.example.Service.method0"
    );
    assert_eq!(exception["truncated"], 4000 - kept);
    assert_eq!(report.stack_frames, 4000 - kept);
    assert!(v.get("metadata").is_none());
}

#[test]
fn annotations_links_and_long_strings_in_that_order() {
    let t = translator(&["a1", "a2"], false);
    // Annotations: the largest goes.
    let span = server_span(
        "/",
        StatusCode::Ok,
        "",
        vec![kv("a1", "x".repeat(600)), kv("a2", "y".repeat(300))],
    );
    let doc = doc_of(&span, &t, 1000);
    let report = doc.shrunk.clone().unwrap();
    assert_eq!((report.metadata_entries, report.annotations), (0, 1));
    assert!(parsed(&doc)["annotations"].get("a1").is_none());
    assert!(doc.json.len() <= 1000);

    // Links: attributes first, then the links.
    let mut span = server_span("/", StatusCode::Ok, "", Vec::new());
    span.links = (0..40u64)
        .map(|i| {
            stratus_testkit::otlp::span("l")
                .link(link([1u8; 16], i + 1).attr("k", "v".repeat(50)))
                .build()
                .links
                .remove(0)
        })
        .collect();
    let doc = doc_of(&span, &t, 3500);
    let report = doc.shrunk.clone().unwrap();
    assert_eq!(report.link_attributes, 40);
    assert_eq!(report.links, 0, "attributes were enough: {report:?}");
    assert_eq!(parsed(&doc)["links"].as_array().unwrap().len(), 40);
    let doc = doc_of(&span, &t, 1000);
    assert_eq!(doc.shrunk.clone().unwrap().links, 40);
    assert!(parsed(&doc).get("links").is_none());

    // Long strings: the SQL statement is cut.
    let span = make_span(
        SpanKind::Client,
        Some(9),
        "q",
        StatusCode::Unset,
        "",
        vec![
            kv("db.system", "postgresql"),
            kv("db.statement", format!("SELECT {}", "c, ".repeat(30_000))),
        ],
    );
    let doc = doc_of(&span, &t, MAX_SEGMENT_DOCUMENT_BYTES);
    let report = doc.shrunk.clone().unwrap();
    assert_eq!(report.truncated_strings, 1);
    assert_eq!(
        parsed(&doc)["sql"]["sanitized_query"]
            .as_str()
            .map(str::len),
        Some(TRUNCATED_STRING_BYTES)
    );
}

#[test]
fn a_document_that_cannot_shrink_enough_is_an_error() {
    // `user` is never cut.
    let span = server_span(
        "/",
        StatusCode::Ok,
        "",
        vec![kv("enduser.id", "u".repeat(70_000))],
    );
    let t = translator(&[], false);
    let seg = t.segments(&span, None).unwrap().remove(0);
    match encode_segment(seg, 0) {
        Err(TranslateError::DocumentTooLarge { bytes }) => {
            assert!(bytes > MAX_SEGMENT_DOCUMENT_BYTES)
        }
        other => panic!("expected DocumentTooLarge, got {other:?}"),
    }
}

#[test]
fn batches_hold_at_most_50_documents() {
    let doc = |i: usize| SegmentDocument {
        id: format!("{i:016x}"),
        span: i,
        json: "{}".into(),
        shrunk: None,
    };
    for (n, sizes) in [
        (0usize, vec![]),
        (1, vec![1]),
        (50, vec![50]),
        (51, vec![50, 1]),
        (120, vec![50, 50, 20]),
    ] {
        let docs: Vec<_> = (0..n).map(doc).collect();
        let got: Vec<usize> = batches(&docs).map(<[_]>::len).collect();
        assert_eq!(got, sizes, "{n} documents");
        // In order, none lost.
        let ids: Vec<usize> = batches(&docs).flatten().map(|d| d.span).collect();
        assert_eq!(ids, (0..n).collect::<Vec<_>>());
    }
    assert_eq!(MAX_SEGMENTS_PER_PUT, 50);
}
