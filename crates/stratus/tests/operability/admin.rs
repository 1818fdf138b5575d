//! The admin endpoint of a real stratus under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use crate::common::{Stratus, free_port, http, make_spans, trace_client, wait_for};

/// A stratus whose traces go to a gateway that is down (its queue fills) and to `nop`,
/// with the admin endpoint on `admin` and zpages on `zpages`.
/// `queue` is extra YAML for the gateway exporter's `sending_queue`.
pub fn config(grpc: u16, admin: u16, zpages: u16, queue: &str) -> String {
    let down = free_port();
    let metrics = free_port();
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{grpc}"}}
processors:
  batch: {{timeout: 100ms}}
exporters:
  otlp_grpc/gateway:
    endpoint: "127.0.0.1:{down}"
    tls: {{insecure: true}}
    retry_on_failure: {{initial_interval: 10s, max_interval: 10s}}
    sending_queue: {{enabled: true{queue}}}
  nop:
extensions:
  admin: {{endpoint: "127.0.0.1:{admin}"}}
  zpages: {{endpoint: "127.0.0.1:{zpages}"}}
service:
  extensions: [admin, zpages]
  telemetry:
    metrics:
      address: "127.0.0.1:{metrics}"
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp_grpc/gateway, nop]
"#
    )
}

/// Sends batches of 10 spans, 10 ms apart, until `stop` is set, from a thread of its
/// own; returns how many spans were accepted.
pub fn load(grpc: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    load_of(grpc, stop, 10, std::time::Duration::from_millis(10))
}

/// Sends requests of `spans` spans, `pause` apart, until `stop` is set; returns how
/// many spans were accepted (refusals are not retried).
pub fn load_of(
    grpc: u16,
    stop: Arc<AtomicBool>,
    spans: u64,
    pause: std::time::Duration,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let mut client = trace_client(grpc).await;
            let (mut next, mut accepted) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                if client.export(make_spans(next, spans)).await.is_ok() {
                    accepted += spans;
                }
                next += spans;
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
            }
            accepted
        })
    })
}

pub fn status(port: u16) -> Value {
    let resp = http("GET", port, "/api/v1/status", &[], b"");
    assert_eq!(resp.status, 200, "{}", resp.text());
    serde_json::from_slice(&resp.body).unwrap()
}

pub fn component<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no component {id}: {doc}"))
}

#[test]
fn status_document_follows_the_traffic_and_the_backlog() {
    let dir = tempfile::tempdir().unwrap();
    let (grpc, admin, zpages) = (free_port(), free_port(), free_port());
    let mut st = Stratus::start(dir.path(), "admin", &config(grpc, admin, zpages, ""));
    st.wait_running();
    assert!(
        st.logs().contains("admin endpoint listening"),
        "{}",
        st.logs()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let sender = load(grpc, stop.clone());
    // Rates over the last second, non-zero while the load runs; the down gateway's
    // backlog grows while nop keeps up.
    let doc = wait_for("rates and a backlog in the status document", || {
        let doc = status(admin);
        let rx = component(&doc, "otlp")["rates"]["incoming"].as_f64()?;
        let nop = component(&doc, "nop")["rates"]["outgoing"].as_f64()?;
        let gateway = component(&doc, "otlp_grpc/gateway");
        let backlog = gateway["pending_items"].as_u64()?;
        let queued = gateway["queue"]["size"].as_u64()?;
        (rx > 0.0 && nop > 0.0 && backlog > 0 && queued > 0).then_some(doc)
    });
    stop.store(true, Ordering::Relaxed);
    let sent = sender.join().unwrap();

    assert_eq!(doc["schema"], "stratus.admin/v1");
    assert_eq!(doc["health"], "ready");
    assert_eq!(doc["pipelines"][0]["id"], "traces");
    assert_eq!(
        doc["pipelines"][0]["exporters"],
        serde_json::json!(["otlp_grpc/gateway", "nop"])
    );
    let kinds: Vec<String> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["kind"].as_str().unwrap(),
                c["id"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "receiver otlp",
            "processor batch",
            "exporter otlp_grpc/gateway",
            "exporter nop",
            "extension admin",
            "extension zpages"
        ]
    );
    let queue = &component(&doc, "otlp_grpc/gateway")["queue"];
    assert_eq!(queue["capacity"], 1000);
    assert!(queue["size"].as_u64().unwrap() > 0, "{queue}");
    assert!(doc["process"]["rss_bytes"].as_u64().unwrap() > 0);
    assert!(doc["process"]["heap_bytes"].as_u64().unwrap() > 0);

    // Totals settle at what was sent; the gateway's failures show in recent errors.
    let doc = wait_for("every span counted", || {
        let doc = status(admin);
        (component(&doc, "otlp")["totals"]["outgoing"] == sent
            && component(&doc, "nop")["totals"]["outgoing"] == sent)
            .then_some(doc)
    });
    assert_eq!(component(&doc, "batch")["totals"]["incoming"], sent);
    let errors = doc["recent_errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["level"] == "WARN"
            && e["message"].as_str().unwrap().contains("otlp_grpc/gateway")),
        "{errors:?}"
    );

    // zpages serves upstream's pages from the same state.
    let page = http("GET", zpages, "/debug/pipelinez", &[], b"").text();
    assert!(page.contains("otlp_grpc/gateway, nop"), "{page}");
    let page = http("GET", zpages, "/debug/servicez", &[], b"").text();
    assert!(page.contains("ready"), "{page}");
}
