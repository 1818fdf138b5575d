//! OTLP/JSON as stratus writes it (`stratus_core::pdata::json`), checked on reference
//! payloads exported by the OpenTelemetry Python SDK in both JSON and protobuf.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use std::path::PathBuf;

use prost::Message;
use stratus_core::Payload;
use stratus_core::pdata::json::{decode_any, decode_request, encode_request};
use stratus_core::pdata::{
    ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
};

fn pairs() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/otlp-pairs");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(case) = name.strip_suffix(".otlp.json") {
            let json = std::fs::read(&path).unwrap();
            let binpb = std::fs::read(dir.join(format!("{case}.otlp.binpb"))).unwrap();
            out.push((case.to_string(), json, binpb));
        }
    }
    out.sort();
    out
}

fn decode_proto(like: &Payload, bytes: &[u8]) -> Payload {
    match like {
        Payload::Traces(_) => Payload::Traces(
            ExportTraceServiceRequest::decode(bytes)
                .unwrap()
                .resource_spans,
        ),
        Payload::Metrics(_) => Payload::Metrics(
            ExportMetricsServiceRequest::decode(bytes)
                .unwrap()
                .resource_metrics,
        ),
        Payload::Logs(_) => Payload::Logs(
            ExportLogsServiceRequest::decode(bytes)
                .unwrap()
                .resource_logs,
        ),
    }
}

#[test]
fn reference_json_matches_protobuf_and_round_trips() {
    let cases = pairs();
    assert_eq!(cases.len(), 7, "v01..v07");
    let mut signals = std::collections::BTreeSet::new();
    for (case, json, binpb) in cases {
        let from_json = decode_any(&json).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert!(from_json.item_count() > 0, "{case}");
        signals.insert(from_json.signal());
        let from_proto = decode_proto(&from_json, &binpb);
        assert_eq!(from_json, from_proto, "{case}: JSON and protobuf disagree");

        let written = encode_request(&from_json);
        let again = decode_request(from_json.signal(), &written).unwrap();
        assert_eq!(again, from_json, "{case}: encode/decode round trip");
        // The compact form is a fixed point and smaller than the SDK's verbose form.
        assert_eq!(encode_request(&again), written, "{case}");
        assert!(written.len() < json.len(), "{case}");
        let text = String::from_utf8(written).unwrap();
        assert!(!text.contains("null") && !text.contains('\n'), "{case}");
    }
    assert_eq!(signals.len(), 3, "the cases cover every signal");
}
