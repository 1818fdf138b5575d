#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A destination that is down for 20 seconds while clients keep sending, with the
//! in-memory and with the on-disk sending queue; and a disk that fills up under the
//! on-disk queue. Every span stratus accepted must arrive once the destination is
//! back (at-least-once: duplicates are counted and reported, never missing spans).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::configs::{Ports, gateway};
use common::*;

/// An agent forwarding traces to `gateway_grpc`; `queue` is its `sending_queue` body and
/// `extensions` extra YAML for the `extensions:` section.
fn agent(ports: Ports, gateway_grpc: u16, queue: &str, storage: Option<&Path>) -> String {
    let (extensions, service_extensions) = match storage {
        Some(dir) => (
            format!(
                "extensions:\n  file_storage/q:\n    directory: {}\n    create_directory: true\n",
                dir.display()
            ),
            "  extensions: [file_storage/q]\n",
        ),
        None => (String::new(), ""),
    };
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc: {{ endpoint: 127.0.0.1:{grpc} }}
processors:
  batch: {{ timeout: 20ms, send_batch_size: 500 }}
exporters:
  otlp:
    endpoint: 127.0.0.1:{gateway_grpc}
    tls: {{ insecure: true }}
    sending_queue: {{ {queue} }}
    retry_on_failure: {{ initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 0 }}
{extensions}service:
{service_extensions}  telemetry: {{ metrics: {{ address: 127.0.0.1:{metrics} }} }}
  pipelines:
    traces: {{ receivers: [otlp], processors: [batch], exporters: [otlp] }}
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
    )
}

/// Sends 50 spans every 50ms for `duration`, returning the ids stratus accepted and
/// how many requests it refused.
fn send_for(port: u16, first: u64, duration: Duration) -> (BTreeSet<u64>, u64) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut client = trace_client(port).await;
        let mut accepted = BTreeSet::new();
        let mut refused = 0;
        let mut next = first;
        let end = Instant::now() + duration;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        while Instant::now() < end {
            tick.tick().await;
            match client.export(make_spans(next, 50)).await {
                Ok(_) => accepted.extend(next..next + 50),
                Err(status) => {
                    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
                    refused += 1;
                }
            }
            next += 50;
        }
        (accepted, refused)
    })
}

fn assert_all_delivered(out: &Path, accepted: &BTreeSet<u64>, what: &str) {
    let delivered = wait_for(
        &format!("{what}: every accepted span at the gateway"),
        || {
            let ids: BTreeSet<u64> = span_ids(&out.join("traces.out")).into_iter().collect();
            accepted.is_subset(&ids).then_some(ids)
        },
    );
    let all = span_ids(&out.join("traces.out")).len();
    eprintln!(
        "{what}: accepted {} spans, delivered {} distinct, {} duplicates",
        accepted.len(),
        delivered.len(),
        all - delivered.len()
    );
}

#[test]
fn twenty_second_outage_loses_nothing_with_memory_and_disk_queues() {
    let dir = tempfile::tempdir().unwrap();
    let (gw_mem, gw_disk) = (Ports::new(), Ports::new());
    let (ag_mem, ag_disk) = (Ports::new(), Ports::new());
    let (out_mem, out_disk) = (dir.path().join("out-mem"), dir.path().join("out-disk"));
    std::fs::create_dir_all(&out_mem).unwrap();
    std::fs::create_dir_all(&out_disk).unwrap();
    let mut a1 = Stratus::start(
        dir.path(),
        "agent-mem",
        &agent(ag_mem, gw_mem.grpc, "queue_size: 1000", None),
    );
    let storage = dir.path().join("storage");
    let mut a2 = Stratus::start(
        dir.path(),
        "agent-disk",
        &agent(
            ag_disk,
            gw_disk.grpc,
            "storage: file_storage/q, queue_size: 1000",
            Some(&storage),
        ),
    );
    a1.wait_running();
    a2.wait_running();

    // Both destinations are down while clients send for 20 seconds.
    let (mem_port, disk_port) = (ag_mem.grpc, ag_disk.grpc);
    let mem = std::thread::spawn(move || send_for(mem_port, 0, Duration::from_secs(20)));
    let disk = std::thread::spawn(move || send_for(disk_port, 0, Duration::from_secs(20)));
    let (mem_accepted, mem_refused) = mem.join().unwrap();
    let (disk_accepted, disk_refused) = disk.join().unwrap();
    eprintln!("refused requests: memory queue {mem_refused}, disk queue {disk_refused}");
    assert!(mem_accepted.len() >= 1000 && disk_accepted.len() >= 1000);

    // The destinations come back.
    let mut g1 = Stratus::start(
        dir.path(),
        "gw-mem",
        &gateway(gw_mem, &out_mem, "{timeout: 10ms}"),
    );
    let mut g2 = Stratus::start(
        dir.path(),
        "gw-disk",
        &gateway(gw_disk, &out_disk, "{timeout: 10ms}"),
    );
    g1.wait_running();
    g2.wait_running();
    assert_all_delivered(&out_mem, &mem_accepted, "memory queue");
    assert_all_delivered(&out_disk, &disk_accepted, "disk queue");
}

/// A 2 MiB tmpfs for the queue: needs root, as the test command runs in CI.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(path: &Path) -> SmallDisk {
        std::fs::create_dir_all(path).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "this test mounts a 2 MiB tmpfs to fill a disk and needs root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk(path.to_path_buf())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn full_disk_refuses_clients_without_crashing_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(&dir.path().join("small"));
    let storage = disk.0.join("storage");
    let (gw, ag) = (Ports::new(), Ports::new());
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // The queue's own limit (100 MB) is far above the disk: the disk fills first.
    let mut a = Stratus::start(
        dir.path(),
        "agent",
        &agent(
            ag,
            gw.grpc,
            "storage: file_storage/q, sizer: bytes, queue_size: 100000000",
            Some(&storage),
        ),
    );
    a.wait_running();

    // Send until the disk is full: stratus logs the storage error and refuses clients.
    // (Refusals can also come earlier from the batch processor's bounded buffer while
    // it waits for the queue; those are fine, the client just sends again.) Bounded.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (accepted, refusals, logs) = rt.block_on(async {
        let mut client = trace_client(ag.grpc).await;
        let mut accepted = BTreeSet::new();
        let mut refusals = 0;
        let start = Instant::now();
        for r in 0..20_000u64 {
            let first = r * 200;
            match client.export(make_spans(first, 200)).await {
                Ok(_) => accepted.extend(first..first + 200),
                Err(status) => {
                    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
                    refusals += 1;
                    let logs = a.logs();
                    if logs.to_lowercase().contains("no space left") {
                        return (accepted, refusals, logs);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            assert!(start.elapsed() < DEADLINE, "the 2 MiB disk never filled up");
        }
        panic!("the 2 MiB disk never filled up");
    });
    assert!(refusals > 0 && !accepted.is_empty());
    assert!(
        logs.contains("sending queue refuses data"),
        "no refusal logged:\n{logs}"
    );
    assert!(
        metric(
            ag.metrics,
            "otelcol_exporter_enqueue_failed_spans{exporter=\"otlp\"}"
        ) > 0.0
    );

    // The destination returns: the queue drains, frees the disk, and takes data again.
    let mut g = Stratus::start(dir.path(), "gateway", &gateway(gw, &out, "{timeout: 10ms}"));
    g.wait_running();
    let start = Instant::now();
    loop {
        let ids: BTreeSet<u64> = span_ids(&out.join("traces.out")).into_iter().collect();
        if accepted.is_subset(&ids) {
            break;
        }
        if start.elapsed() > DEADLINE {
            let missing: Vec<_> = accepted.difference(&ids).take(5).collect();
            let n = accepted.difference(&ids).count();
            panic!(
                "{n} accepted spans missing (e.g. {missing:?}); agent log:\n{}",
                a.logs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    rt.block_on(async {
        let mut client = trace_client(ag.grpc).await;
        let start = Instant::now();
        let mut id = 1u64 << 40;
        while client.export(make_spans(id, 10)).await.is_err() {
            assert!(
                start.elapsed() < DEADLINE,
                "stratus never accepted data after the disk freed up"
            );
            id += 10;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let want: BTreeSet<u64> = (id..id + 10).collect();
        wait_for("new data after recovery", || {
            let ids: BTreeSet<u64> = span_ids(&out.join("traces.out")).into_iter().collect();
            want.is_subset(&ids).then_some(())
        });
    });
    drop(a);
    drop(g);
}
