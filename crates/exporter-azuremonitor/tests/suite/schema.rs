//! Schema check: every envelope we produce (for the golden pairs and for the coverage items)
//! is deserialised with the Track-API model classes of Microsoft's
//! `azure-monitor-opentelemetry-exporter` (pinned in tests/python/requirements.txt) by
//! `tests/schema_check.py`, which must report 0 errors.
//! Needs `STRATUS_TEST_PYTHON` (the venv with that package).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures should panic

use crate::common;

use common::{CASES, IKEY, coverage_payloads, load_payload};
use serde_json::Value;
use std::io::Write as _;
use std::process::{Command, Stdio};
use stratus_exporter_azuremonitor::translate::{Translator, TranslatorConfig};

fn check(lines: &[String]) -> Value {
    let python = std::env::var("STRATUS_TEST_PYTHON").expect("STRATUS_TEST_PYTHON");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schema_check.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "schema_check.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_envelope_passes_microsofts_track_api_models() {
    let translator = Translator::new(TranslatorConfig {
        instrumentation_key: IKEY.to_owned(),
        span_events_enabled: true,
        custom_events_enabled: true,
        exception_events_enabled: true,
    });
    let mut lines = Vec::new();
    let payloads = CASES
        .iter()
        .map(|c| load_payload(c))
        .chain(coverage_payloads());
    for payload in payloads {
        let t = translator.translate(&payload);
        assert!(t.failures.is_empty(), "{:?}", t.failures);
        lines.extend(t.envelopes);
    }
    // 17 golden envelopes + 12 coverage envelopes, all six envelope types.
    assert_eq!(lines.len(), 29);
    for ty in [
        "Request",
        "RemoteDependency",
        "Exception",
        "Message",
        "Metric",
        "Event",
    ] {
        let name = format!("\"Microsoft.ApplicationInsights.{ty}\"");
        assert!(lines.iter().any(|l| l.contains(&name)), "no {ty} envelope");
    }
    let report = check(&lines);
    assert_eq!(report["checked"], lines.len());
    assert_eq!(report["errors"], Value::Array(vec![]), "{report:#}");
}

#[test]
fn the_checker_rejects_a_broken_envelope() {
    // A Request without responseCode, a string success and an unknown field.
    let bad = r#"{"name":"Microsoft.ApplicationInsights.Request","iKey":"k","tags":{},"time":"2024-05-01T10:00:00.000000Z","data":{"baseData":{"ver":2,"name":"n","id":"1","duration":"0.00:00:00.001000","success":"yes","extra":1},"baseType":"RequestData"}}"#;
    let report = check(&[bad.to_owned()]);
    let errors: Vec<&str> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("responseCode")));
    assert!(errors.iter().any(|e| e.contains("success")));
    assert!(errors.iter().any(|e| e.contains("extra")));
}
