//! Ported from upstream `span_links_test.go`.

use serde_json::json;
use stratus_testkit::otlp::{array, link, span};

use super::*;

fn links_json(s: &stratus_core::pdata::trace::Span) -> serde_json::Value {
    serde_json::to_value(make_span_links(&s.links).unwrap()).unwrap()
}

#[test]
fn links_carry_ids_and_raw_attributes() {
    let trace = [
        0x65, 0x53, 0xf1, 0x00, 0xa0, 0x06, 0x64, 0x91, 0x27, 0xe3, 0x71, 0x90, 0x3a, 0x2d, 0xe9,
        0x79,
    ];
    // TestSpanLinkSimple / TestSpanLinkEmpty / TestOldSpanLinkError (an old trace id
    // is fine: timestamp validation is skipped) / TestTwoSpanLinks /
    // TestSpanLinkComplexAttributes.
    let s = span("x")
        .link(link(trace, 0x0102_0304_0506_0708u64))
        .link(
            link(trace, 7u64)
                .attr("myKey1", "myValue")
                .attr("myKey2", 112)
                .attr("myKey3", 3.1)
                .attr("myKey4", true)
                .attr("myKey5", array(["apple", "pear", "banana"]))
                .attr("myKey6", array([true, false])),
        )
        .link(link([0u8; 16], 1u64))
        .build();
    assert_eq!(
        links_json(&s),
        json!([
            {"trace_id": "1-6553f100-a006649127e371903a2de979", "id": "0102030405060708"},
            {"trace_id": "1-6553f100-a006649127e371903a2de979", "id": "0000000000000007",
             "attributes": {"myKey1": "myValue", "myKey2": 112, "myKey3": 3.1, "myKey4": true,
                            "myKey5": ["apple", "pear", "banana"], "myKey6": [true, false]}},
            {"trace_id": "1-00000000-000000000000000000000000", "id": "0000000000000001"},
        ])
    );
    assert_eq!(links_json(&span("x").build()), json!([]));
}

#[test]
fn a_link_with_a_bad_trace_id_fails_the_span() {
    let mut s = span("x").link(link([1u8; 16], 1u64)).build();
    s.links[0].trace_id = vec![1, 2, 3];
    assert_eq!(
        make_span_links(&s.links),
        Err(TranslateError::InvalidTraceId { len: 3 })
    );
}
