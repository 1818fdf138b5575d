//! `stratus tap` against a real stratus: it prints the spans leaving a component,
//! redacted as the pipeline redacts them, and a reader that does not keep up loses
//! only its own samples.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use stratus_testkit::otlp::{span, traces};

use crate::admin::{component, load_of, status};
use crate::common::{Stratus, free_port, trace_client, wait_for};

fn config(grpc: u16, admin: u16) -> String {
    let metrics = free_port();
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{grpc}"}}
processors:
  redaction:
    allow_all_keys: true
    blocked_values: ["4[0-9]{{15}}"]
  batch: {{timeout: 50ms}}
exporters:
  nop:
extensions:
  admin: {{endpoint: "127.0.0.1:{admin}"}}
service:
  extensions: [admin]
  telemetry:
    metrics:
      address: "127.0.0.1:{metrics}"
  pipelines:
    traces:
      receivers: [otlp]
      processors: [redaction, batch]
      exporters: [nop]
"#
    )
}

fn tap(admin: u16, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_stratus"))
        .arg("tap")
        .args(args)
        .arg("--endpoint")
        .arg(format!("http://127.0.0.1:{admin}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Span names and string attribute values in OTLP/JSON export requests, one a line.
fn spans_in(stdout: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for line in stdout.lines() {
        let req: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        for rs in req["resourceSpans"].as_array().unwrap() {
            for ss in rs["scopeSpans"].as_array().unwrap() {
                for s in ss["spans"].as_array().unwrap() {
                    let values = s["attributes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|kv| kv["value"]["stringValue"].as_str())
                        .map(String::from)
                        .collect();
                    out.push((s["name"].as_str().unwrap().to_string(), values));
                }
            }
        }
    }
    out
}

#[test]
fn tap_prints_the_spans_leaving_a_component_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let (grpc, admin) = (free_port(), free_port());
    let mut st = Stratus::start(dir.path(), "tap", &config(grpc, admin));
    st.wait_running();

    // The receiver's output, upstream of the redaction processor: its samples are
    // redacted all the same.
    let mut child = tap(admin, &["otlp", "--signal", "traces", "--limit", "30"]);
    wait_for("the tap to start", || {
        st.logs().contains("tap started").then_some(())
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut client = trace_client(grpc).await;
        for batch in 0..3u64 {
            let req = traces()
                .resource([("service.name", "shop")])
                .scope("shop")
                .spans((0..10u64).map(|i| {
                    span(format!("checkout-{}", batch * 10 + i)).attr("card", "4111111111111111")
                }))
                .request();
            client.export(req).await.unwrap();
        }
    });
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(child.wait().unwrap().success(), "{stderr}");

    let spans = spans_in(&stdout);
    assert_eq!(spans.len(), 30, "{stdout}");
    let names: Vec<&str> = spans.iter().map(|(n, _)| n.as_str()).collect();
    for i in 0..30 {
        assert!(
            names.contains(&format!("checkout-{i}").as_str()),
            "{names:?}"
        );
    }
    for (_, values) in &spans {
        assert!(values.iter().all(|v| !v.contains("4111")), "{values:?}");
        assert!(values.iter().any(|v| v == "****"), "{values:?}");
    }
    assert!(!stdout.contains("4111111111111111"));
    assert!(
        stderr.contains(r#"tap: {"stratusTap":{"component":"otlp","kind":"receiver""#),
        "{stderr}"
    );

    // A component that is not there is named in the error.
    let out = tap(admin, &["nope"]).wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no component `nope`"));
}

/// A tap whose reader reads nothing: the pipeline delivers every span all the same,
/// and the tap reports the samples it dropped once its reader reads.
#[test]
fn a_tap_that_cannot_keep_up_drops_its_samples_not_the_pipelines() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let (grpc, admin) = (free_port(), free_port());
    let mut st = Stratus::start(dir.path(), "slowtap", &config(grpc, admin));
    st.wait_running();

    // An HTTP client that asks for every batch at the exporter, uncapped, and then
    // does not read.
    let mut slow = std::net::TcpStream::connect(("127.0.0.1", admin)).unwrap();
    write!(
        slow,
        "GET /api/v1/tap?component=nop&rate=0 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
    )
    .unwrap();
    wait_for("the tap to start", || {
        st.logs().contains("tap started").then_some(())
    });

    let stop = Arc::new(AtomicBool::new(false));
    let sender = load_of(grpc, stop.clone(), 100, std::time::Duration::ZERO);
    // Once the tap's channel and the socket buffers are full, the tap drops.
    let dropped = wait_for("the tap to drop samples", || {
        let doc = status(admin);
        let tap = &component(&doc, "nop")["tap"];
        assert_eq!(tap["taps"], 1, "{doc}");
        let dropped = tap["dropped_items"].as_u64()?;
        (dropped > 0).then_some(dropped)
    });
    stop.store(true, Ordering::Relaxed);
    let accepted = sender.join().unwrap();
    assert!(accepted > dropped);
    // Every accepted span reached nop, none was refused.
    let doc = wait_for("every span delivered", || {
        let doc = status(admin);
        (component(&doc, "nop")["totals"]["outgoing"] == accepted).then_some(doc)
    });
    assert_eq!(component(&doc, "otlp")["totals"]["refused"], 0);

    // Now the reader reads: somewhere in what it gets, the tap says it dropped.
    slow.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let report = wait_for("a drop report", || {
        let n = slow.read(&mut buf).ok()?;
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen);
        text.lines()
            .find(|l| l.contains("\"dropped_batches\"") && !l.contains("\"dropped_batches\":0"))
            .map(String::from)
    });
    assert!(report.contains("the pipeline was not slowed"), "{report}");
}
