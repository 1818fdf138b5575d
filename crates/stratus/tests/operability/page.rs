//! The status page in a real browser: headless Chromium loads it from a stratus under
//! load, runs its script, and the DOM it leaves shows every component and live rates.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::admin::{component, config, load, status};
use crate::common::{Stratus, free_port, wait_for};

fn chromium() -> &'static str {
    let path = "/usr/bin/chromium";
    assert!(
        Path::new(path).exists(),
        "Chromium is needed for this test (scripts/test installs Debian's chromium)"
    );
    path
}

/// Runs headless Chromium on `url` for a few seconds of page time; returns the DOM
/// its scripts left, and writes a screenshot to `shot` when given.
fn render(url: &str, profile: &Path, shot: Option<&Path>) -> String {
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,900",
        "--virtual-time-budget=3000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    match shot {
        Some(path) => cmd.arg(format!("--screenshot={}", path.display())),
        None => cmd.arg("--dump-dom"),
    };
    let out = cmd.arg(url).output().unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The cells of the components table's row for (`kind`, `id`).
fn cells(dom: &str, kind: &str, id: &str) -> Option<Vec<String>> {
    let start = dom.find(&format!(r#"<tr data-kind="{kind}" data-id="{id}">"#))?;
    let row = &dom[start..start + dom[start..].find("</tr>")?];
    Some(
        row.split("<td>")
            .skip(1)
            .map(|c| c.split("</td>").next().unwrap_or_default().to_string())
            .collect(),
    )
}

#[test]
fn status_page_draws_every_component_with_live_rates() {
    let dir = tempfile::tempdir().unwrap();
    let (grpc, admin, zpages) = (free_port(), free_port(), free_port());
    let mut st = Stratus::start(dir.path(), "page", &config(grpc, admin, zpages, ""));
    st.wait_running();
    let url = format!("http://127.0.0.1:{admin}/");

    let stop = Arc::new(AtomicBool::new(false));
    let sender = load(grpc, stop.clone());
    // Rates flow before the page loads (its first reading then has an interval).
    wait_for("a rate in the status document", || {
        let doc = status(admin);
        (component(&doc, "otlp")["rates"]["incoming"].as_f64()? > 0.0).then_some(())
    });
    let busy = render(&url, &dir.path().join("chrome-1"), None);
    assert!(
        busy.contains("data-refreshes="),
        "the script did not run:\n{busy}"
    );
    for (kind, id) in [
        ("receiver", "otlp"),
        ("processor", "batch"),
        ("exporter", "otlp_grpc/gateway"),
        ("exporter", "nop"),
        ("extension", "admin"),
        ("extension", "zpages"),
    ] {
        assert!(
            cells(&busy, kind, id).is_some(),
            "no row for {kind} {id}:\n{busy}"
        );
        assert!(
            busy.contains(&format!(r#"data-kind="{kind}" data-id="{id}""#)),
            "no box for {kind} {id}"
        );
    }
    assert!(busy.contains("<svg"), "{busy}");
    assert!(
        busy.contains("queue-fill"),
        "the gateway's queue bar is drawn"
    );
    let rate_busy = cells(&busy, "receiver", "otlp").unwrap()[2].clone();
    assert!(!matches!(rate_busy.as_str(), "–" | "0"), "{rate_busy}");

    // The load stops: a later sample of the page shows the rate fall to zero.
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    wait_for("the rate to fall to zero", || {
        let doc = status(admin);
        (component(&doc, "otlp")["rates"]["incoming"].as_f64()? == 0.0).then_some(())
    });
    let idle = render(&url, &dir.path().join("chrome-2"), None);
    let rate_idle = cells(&idle, "receiver", "otlp").unwrap()[2].clone();
    assert_eq!(rate_idle, "0", "{idle}");
    assert_ne!(rate_busy, rate_idle);

    // The screenshot, kept as the test's artifact.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    render(&url, &dir.path().join("chrome-3"), Some(&shot));
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG: {}", shot.display());
}
