//! OTLP/JSON decoding agrees with protobuf decoding on reference payloads.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::path::PathBuf;

use prost::Message;
use stratus_core::pdata::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};

fn pair(case: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/otlp-pairs");
    let json = std::fs::read(dir.join(format!("{case}.otlp.json"))).unwrap();
    let bin = std::fs::read(dir.join(format!("{case}.otlp.binpb"))).unwrap();
    (json, bin)
}

#[test]
fn json_and_protobuf_decode_to_equal_messages() {
    for case in ["v01", "v02", "v03", "v04", "v05"] {
        let (json, bin) = pair(case);
        let from_json: ExportTraceServiceRequest = serde_json::from_slice(&json).unwrap();
        let from_bin = ExportTraceServiceRequest::decode(bin.as_slice()).unwrap();
        assert!(!from_bin.resource_spans.is_empty(), "{case}");
        assert_eq!(from_json, from_bin, "{case}");
    }
    let (json, bin) = pair("v06");
    let from_json: ExportLogsServiceRequest = serde_json::from_slice(&json).unwrap();
    assert_eq!(
        from_json,
        ExportLogsServiceRequest::decode(bin.as_slice()).unwrap()
    );
    let (json, bin) = pair("v07");
    let from_json: ExportMetricsServiceRequest = serde_json::from_slice(&json).unwrap();
    assert_eq!(
        from_json,
        ExportMetricsServiceRequest::decode(bin.as_slice()).unwrap()
    );
}
