//! Ported from upstream `segment_test.go` (`TestSpanWith…TraceId…`) and the trace id
//! format of the X-Ray documents.

use super::*;

#[test]
fn trace_ids_keep_every_byte_in_xray_form() {
    // (OTLP trace id, X-Ray trace id)
    let cases: &[(&[u8], &str)] = &[
        // The X-Ray documentation's example: 1-58406520-a006649127e371903a2de979.
        (
            &[
                0x58, 0x40, 0x65, 0x20, 0xa0, 0x06, 0x64, 0x91, 0x27, 0xe3, 0x71, 0x90, 0x3a, 0x2d,
                0xe9, 0x79,
            ],
            "1-58406520-a006649127e371903a2de979",
        ),
        // A random W3C id whose first bytes are no recent time (upstream's
        // TestSpanWithInvalidTraceIdWithoutTimestampValidation sets byte 0 to 0x11):
        // sent unchanged, as upstream does with timestamp validation skipped (default).
        (
            &[
                0x11, 0x53, 0xf1, 0x00, 0xa0, 0x06, 0x64, 0x91, 0x27, 0xe3, 0x71, 0x90, 0x3a, 0x2d,
                0xe9, 0x79,
            ],
            "1-1153f100-a006649127e371903a2de979",
        ),
        // Expired more than 30 days ago (TestSpanWithExpiredTraceIdWithoutTimestampValidation).
        (&[0; 16], "1-00000000-000000000000000000000000"),
        (&[0xff; 16], "1-ffffffff-ffffffffffffffffffffffff"),
        // An empty id reads as zeros, as pdata does.
        (&[], "1-00000000-000000000000000000000000"),
    ];
    for (otlp, xray) in cases {
        let got = xray_trace_id(otlp).expect("valid length");
        assert_eq!(got, *xray, "{otlp:02x?}");
        assert_eq!(got.len(), XRAY_TRACE_ID_LEN);
    }
}

#[test]
fn trace_ids_of_the_wrong_length_are_refused() {
    for len in [1usize, 8, 15, 17, 32] {
        assert_eq!(
            xray_trace_id(&vec![1; len]),
            Err(TranslateError::InvalidTraceId { len })
        );
    }
}

#[test]
fn segment_ids_are_16_hex_digits_or_absent() {
    assert_eq!(
        segment_id(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]),
        Ok(Some("0123456789abcdef".to_string()))
    );
    assert_eq!(segment_id(&[]), Ok(None));
    assert_eq!(
        segment_id(&[1, 2, 3]),
        Err(TranslateError::InvalidSpanId { len: 3 })
    );
}

#[test]
fn derived_ids_are_stable_distinct_and_never_zero() {
    let trace = [7u8; 16];
    let mut a = IdGen::new(&trace, &[1; 8], PURPOSE_EXCEPTIONS);
    let mut again = IdGen::new(&trace, &[1; 8], PURPOSE_EXCEPTIONS);
    let mut other_span = IdGen::new(&trace, &[2; 8], PURPOSE_EXCEPTIONS);
    let mut other_purpose = IdGen::new(&trace, &[1; 8], PURPOSE_SERVICE_SEGMENT);
    let first = a.next_id();
    assert_eq!(first, again.next_id(), "same input, same id");
    assert_ne!(first, other_span.next_id());
    assert_ne!(first, other_purpose.next_id());
    let mut seen = std::collections::HashSet::new();
    seen.insert(first);
    for _ in 0..10_000 {
        let id = a.next_id();
        assert_ne!(id, [0; 8]);
        assert!(seen.insert(id), "ids repeat");
    }
    assert_eq!(a.next_hex().len(), 16);
}
