#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The persistent sending queue with real processes: data accepted by an agent whose
//! destination is down survives `kill -9`, damaged queue files, SIGTERM and a full
//! queue, and reaches the destination once it is back.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::configs::{Ports, gateway};
use common::*;

/// An agent whose `otlp` exporter queues on disk through `file_storage/q` in `storage`.
fn agent(ports: Ports, gateway_grpc: u16, storage: &Path, queue: &str) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
extensions:
  file_storage/q:
    directory: {storage}
    create_directory: true
    fsync: true
exporters:
  otlp:
    endpoint: 127.0.0.1:{gateway_grpc}
    tls:
      insecure: true
    sending_queue: {{storage: file_storage/q, {queue}}}
    retry_on_failure: {{initial_interval: 100ms, max_interval: 200ms, max_elapsed_time: 0}}
service:
  extensions: [file_storage/q]
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp]
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
        storage = storage.display(),
    )
}

fn queue_dir(storage: &Path) -> PathBuf {
    storage.join("exporter_otlp__sending_queue")
}

fn segments(storage: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(queue_dir(storage))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "log"));
    v.sort();
    v
}

/// Sends `requests` requests of 10 spans (ids from `first`); returns the accepted ids.
fn send(port: u16, first: u64, requests: u64) -> BTreeSet<u64> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut client = trace_client(port).await;
        let mut accepted = BTreeSet::new();
        for r in 0..requests {
            let start = first + r * 10;
            client.export(make_spans(start, 10)).await.unwrap();
            accepted.extend(start..start + 10);
        }
        accepted
    })
}

/// Waits until the gateway wrote every id of `want`; returns (distinct, duplicates).
fn wait_delivered(out: &Path, want: &BTreeSet<u64>) -> (usize, usize) {
    let distinct = wait_for("accepted spans at the gateway", || {
        let ids: BTreeSet<u64> = span_ids(&out.join("traces.out")).into_iter().collect();
        want.is_subset(&ids).then_some(ids)
    });
    let all = span_ids(&out.join("traces.out"));
    (distinct.len(), all.len() - distinct.len())
}

struct Setup {
    dir: tempfile::TempDir,
    storage: PathBuf,
    out: PathBuf,
    gw_ports: Ports,
    agent_ports: Ports,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("storage");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    Setup {
        storage,
        out,
        dir,
        gw_ports: Ports::new(),
        agent_ports: Ports::new(),
    }
}

impl Setup {
    fn agent(&self, queue: &str) -> String {
        agent(self.agent_ports, self.gw_ports.grpc, &self.storage, queue)
    }

    fn start_gateway(&self) -> Stratus {
        let mut gw = Stratus::start(
            self.dir.path(),
            "gateway",
            &gateway(self.gw_ports, &self.out, "{timeout: 10ms}"),
        );
        gw.wait_running();
        gw
    }
}

#[test]
fn accepted_spans_survive_kill_9() {
    let s = setup();
    let config = s.agent("num_consumers: 2");
    let mut ag = Stratus::start(s.dir.path(), "agent", &config);
    ag.wait_running();
    let accepted = send(s.agent_ports.grpc, 0, 30);
    assert!(!segments(&s.storage).is_empty(), "queue is on disk");
    ag.kill9();

    let mut ag = Stratus::start(s.dir.path(), "agent2", &config);
    ag.wait_running();
    let _gw = s.start_gateway();
    let (distinct, duplicates) = wait_delivered(&s.out, &accepted);
    eprintln!(
        "kill -9: accepted {} spans, delivered {distinct} distinct, {duplicates} duplicates",
        accepted.len()
    );
    assert!(
        ag.logs()
            .contains("persistent queue holds records from a previous run"),
        "{}",
        ag.logs()
    );
}

/// Record boundaries of a segment file: (offset, total length) of each record.
fn records(data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 8 <= data.len() {
        let len = u32::from_le_bytes(data[off..off + 4].try_into().unwrap()) as usize;
        out.push((off, 8 + len));
        off += 8 + len;
    }
    out
}

#[test]
fn damaged_queue_files_are_skipped_and_the_rest_delivered() {
    let s = setup();
    let config = s.agent("num_consumers: 1");
    let mut ag = Stratus::start(s.dir.path(), "agent", &config);
    ag.wait_running();
    let accepted = send(s.agent_ports.grpc, 0, 10);
    ag.kill9();

    // One request per record, in order: damage record 3 and cut the last one short.
    let segs = segments(&s.storage);
    assert_eq!(segs.len(), 1);
    let mut data = std::fs::read(&segs[0]).unwrap();
    let recs = records(&data);
    assert_eq!(recs.len(), 10);
    let (off, len) = recs[3];
    data[off + len / 2] ^= 0xff;
    data[off + len / 2 + 1] ^= 0x0f;
    let (last, last_len) = recs[9];
    data.truncate(last + last_len / 2);
    std::fs::write(&segs[0], &data).unwrap();

    let mut ag = Stratus::start(s.dir.path(), "agent2", &config);
    ag.wait_running();
    let logs = ag.logs();
    assert!(logs.contains("checksum mismatch"), "{logs}");
    assert!(logs.contains("truncated record"), "{logs}");
    let corrupted = metric(
        s.agent_ports.metrics,
        "stratus_exporter_queue_corrupted_records{exporter=\"otlp\"}",
    );
    assert!(corrupted >= 2.0, "corrupted records counted: {corrupted}");

    let _gw = s.start_gateway();
    let lost: BTreeSet<u64> = (30..40).chain(90..100).collect();
    let want: BTreeSet<u64> = accepted.difference(&lost).copied().collect();
    let (distinct, duplicates) = wait_delivered(&s.out, &want);
    eprintln!("damaged queue: delivered {distinct} distinct, {duplicates} duplicates");
}

#[test]
fn sigterm_keeps_undelivered_data_on_disk_for_the_next_start() {
    let s = setup();
    let config = s.agent("num_consumers: 2");
    let mut ag = Stratus::start_with_args(
        s.dir.path(),
        "agent",
        &config,
        &["--shutdown-timeout", "2s"],
    );
    ag.wait_running();
    let accepted = send(s.agent_ports.grpc, 0, 10);
    ag.terminate();
    let status = ag.wait_exit();
    assert!(status.success(), "{status}\n{}", ag.logs());
    assert!(
        ag.logs().contains("stay in the persistent queue"),
        "{}",
        ag.logs()
    );
    assert!(!segments(&s.storage).is_empty(), "data stayed on disk");

    let _gw = s.start_gateway();
    let mut ag = Stratus::start(s.dir.path(), "agent2", &config);
    ag.wait_running();
    let (distinct, duplicates) = wait_delivered(&s.out, &accepted);
    eprintln!("sigterm: delivered {distinct} distinct, {duplicates} duplicates");
}

#[test]
fn full_disk_queue_refuses_clients() {
    let s = setup();
    let config = s.agent("queue_size: 3, num_consumers: 1");
    let mut ag = Stratus::start(s.dir.path(), "agent", &config);
    ag.wait_running();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (accepted, refused) = rt.block_on(async {
        let mut client = trace_client(s.agent_ports.grpc).await;
        let mut accepted = BTreeSet::new();
        let mut refused = 0;
        for r in 0..200u64 {
            match client.export(make_spans(r * 10, 10)).await {
                Ok(_) => accepted.extend(r * 10..r * 10 + 10),
                Err(status) => {
                    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
                    refused += 1;
                    if refused >= 5 {
                        break;
                    }
                }
            }
        }
        (accepted, refused)
    });
    assert_eq!(refused, 5, "a full queue refuses data");
    assert_eq!(
        accepted.len(),
        30,
        "exactly the queue's 3 requests were accepted"
    );
    let failed = metric(
        s.agent_ports.metrics,
        "otelcol_exporter_enqueue_failed_spans{exporter=\"otlp\"}",
    );
    assert!(failed >= 50.0, "enqueue failures counted: {failed}");
    // Still running, and what it accepted is delivered once the gateway is up.
    let _gw = s.start_gateway();
    wait_delivered(&s.out, &accepted);
    ag.terminate();
    assert!(ag.wait_exit().success());
}

/// Runs boto3 against moto at `endpoint`: `create` makes `bucket`; `dump` prints the
/// span ids of every object (gzipped OTLP/JSON) as a list per object.
fn boto3_s3(endpoint: &str, command: &str, bucket: &str) -> Vec<Vec<u64>> {
    let script = r#"
import boto3, gzip, json, sys
endpoint, command, bucket = sys.argv[1:4]
c = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="reader", aws_secret_access_key="reader")
if command == "create":
    c.create_bucket(Bucket=bucket)
    print("[]")
else:
    out = []
    for o in c.list_objects_v2(Bucket=bucket).get("Contents", []):
        body = c.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        req = json.loads(gzip.decompress(body))
        out.append([int(s["spanId"], 16)
                    for rs in req["resourceSpans"] for ss in rs["scopeSpans"]
                    for s in ss["spans"]])
    print(json.dumps(out))
"#;
    let out = Command::new(python())
        .args(["-c", script, endpoint, command, bucket])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 {command} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A collector archiving traces to S3 (moto at `moto`), aggregating with an hour's
/// time bound in a persistent queue.
fn s3_archiver(ports: Ports, moto: &str, storage: &Path, credentials: &Path) -> String {
    format!(
        r#"
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
extensions:
  file_storage/q:
    directory: {storage}
    create_directory: true
    fsync: true
exporters:
  awss3:
    region: us-east-1
    s3_bucket: otel-traces-archive
    s3_prefix: traces/
    s3_partition: hour
    compression: gzip
    marshaler: otlp_json
    endpoint: {moto}
    s3_force_path_style: true
    profile: stratus-test
    shared_credentials_file: [{credentials}]
    sending_queue:
      storage: file_storage/q
      batch: {{ flush_timeout: 1h }}
    retry_on_failure: {{initial_interval: 100ms, max_interval: 200ms}}
service:
  extensions: [file_storage/q]
  telemetry:
    metrics:
      address: 127.0.0.1:{metrics}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [awss3]
"#,
        grpc = ports.grpc,
        metrics = ports.metrics,
        storage = storage.display(),
        credentials = credentials.display(),
    )
}

/// awss3 aggregation with a persistent queue: spans being aggregated when the
/// process is killed with SIGKILL are uploaded after the restart, on SIGTERM, each
/// exactly once, read back from moto with boto3.
#[test]
fn awss3_aggregated_spans_survive_kill_9_and_are_uploaded_on_sigterm() {
    let moto = stratus_testkit::moto::Moto::start();
    boto3_s3(&moto.endpoint(), "create", "otel-traces-archive");
    let s = setup();
    let credentials = s.dir.path().join("credentials");
    std::fs::write(
        &credentials,
        "[stratus-test]\naws_access_key_id = AKIASTRATUSTEST00000\n\
         aws_secret_access_key = stratus-test-secret\n",
    )
    .unwrap();
    let config = s3_archiver(s.agent_ports, &moto.endpoint(), &s.storage, &credentials);
    let mut first = Stratus::start(s.dir.path(), "archiver", &config);
    first.wait_running();
    let accepted = send(s.agent_ports.grpc, 0, 3);
    let queue = s.storage.join("exporter_awss3__sending_queue");
    assert!(
        std::fs::read_dir(&queue).is_ok_and(|mut d| d.next().is_some()),
        "the queue is on disk in {}",
        queue.display()
    );
    assert!(
        boto3_s3(&moto.endpoint(), "dump", "otel-traces-archive").is_empty(),
        "aggregating for an hour: nothing uploaded before the crash"
    );
    first.kill9();

    let mut second = Stratus::start(s.dir.path(), "archiver2", &config);
    second.wait_running();
    assert!(
        second
            .logs()
            .contains("persistent queue holds records from a previous run"),
        "{}",
        second.logs()
    );
    second.terminate();
    let status = second.wait_exit();
    assert!(status.success(), "{status}\n{}", second.logs());

    let objects = boto3_s3(&moto.endpoint(), "dump", "otel-traces-archive");
    assert_eq!(
        objects.len(),
        1,
        "the replayed batches are one aggregated object: {objects:?}"
    );
    let mut ids: Vec<u64> = objects.into_iter().flatten().collect();
    ids.sort_unstable();
    let want: Vec<u64> = accepted.into_iter().collect();
    assert_eq!(ids, want, "every accepted span exactly once");
}
