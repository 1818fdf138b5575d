#!/usr/bin/env bash
# Measures stratus forwarding OTLP agent -> gateway.
#
#   benches/forward.sh [SECONDS] [CONCURRENCY] [BATCH] [RATE] [RATE]
#
# RATE is the load generator's target in spans/s; 0 (the default) sends as fast as
# the agent accepts.
#
# QUEUE=disk keeps the agent exporter's sending queue on disk (`file_storage` with
# `fsync: true`); QUEUE=disk-nofsync the same without fsync. Default: in memory.
#
# The agent (OTLP in -> batch -> otlp exporter, gzip) is pinned to CPU 0; the gateway
# (OTLP in -> batch -> nop) and the load generator share CPU 1. Reports the agent's idle
# RSS, the spans per second the gateway accepted, and the agent's CPU use, all read
# from the processes' own /metrics endpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
conc=${2:-8}
batch=${3:-100}
rate=${4:-0}
# BIN=DIR runs the stratus and loadgen binaries in DIR instead of building them (to
# compare two builds).
if [ -n "${BIN:-}" ]; then
  bin=$BIN
else
  cargo build --release -q -p stratus -p stratus-benches
  bin=${CARGO_TARGET_DIR:-target}/release
fi
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
gw_grpc=$(port); gw_metrics=$(port); ag_grpc=$(port); ag_metrics=$(port)

cat > "$work/gateway.yaml" <<YAML
receivers: { otlp: { protocols: { grpc: { endpoint: 127.0.0.1:$gw_grpc } } } }
processors: { batch: {} }
exporters: { nop: {} }
service:
  telemetry: { metrics: { address: 127.0.0.1:$gw_metrics }, logs: { level: warn } }
  pipelines: { traces: { receivers: [otlp], processors: [batch], exporters: [nop] } }
YAML
queue=${QUEUE:-memory}
case "$queue" in
  memory) storage_ext=""; sending_queue=""; extensions="" ;;
  disk|disk-nofsync)
    fsync=true; [ "$queue" = disk-nofsync ] && fsync=false
    mkdir -p "$work/storage"
    storage_ext="extensions: { file_storage/q: { directory: $work/storage, fsync: $fsync } }"
    sending_queue=", sending_queue: { storage: file_storage/q }"
    extensions="extensions: [file_storage/q]" ;;
  *) echo "QUEUE must be memory, disk or disk-nofsync" >&2; exit 2 ;;
esac
cat > "$work/agent.yaml" <<YAML
receivers: { otlp: { protocols: { grpc: { endpoint: 127.0.0.1:$ag_grpc } } } }
processors: { batch: {} }
$storage_ext
exporters:
  otlp: { endpoint: 127.0.0.1:$gw_grpc, tls: { insecure: true }, compression: gzip $sending_queue }
service:
  $extensions
  telemetry: { metrics: { address: 127.0.0.1:$ag_metrics }, logs: { level: warn } }
  pipelines: { traces: { receivers: [otlp], processors: [batch], exporters: [otlp] } }
YAML

taskset -c 1 "$bin/stratus" --config "$work/gateway.yaml" 2>"$work/gateway.log" &
taskset -c 0 "$bin/stratus" --config "$work/agent.yaml" 2>"$work/agent.log" &

metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1==n {print $2}'; }
for _ in $(seq 100); do
  [ -n "$(metric "$ag_metrics" otelcol_process_uptime 2>/dev/null)" ] && [ -n "$(metric "$gw_metrics" otelcol_process_uptime 2>/dev/null)" ] && break
  sleep 0.1
done
sleep 2
idle_rss=$(metric "$ag_metrics" otelcol_process_memory_rss)
cpu0=$(metric "$ag_metrics" otelcol_process_cpu_seconds)
acc0=$(metric "$gw_metrics" 'otelcol_receiver_accepted_spans{receiver="otlp",transport="grpc"}'); acc0=${acc0:-0}
load=$(taskset -c 1 "$bin/loadgen" --endpoint "http://127.0.0.1:$ag_grpc" --seconds "$secs" --concurrency "$conc" --batch "$batch" --rate "$rate")
sleep 2
cpu1=$(metric "$ag_metrics" otelcol_process_cpu_seconds)
acc1=$(metric "$gw_metrics" 'otelcol_receiver_accepted_spans{receiver="otlp",transport="grpc"}')
agent_pid=$(pgrep -f "$work/agent.yaml" | head -1)
peak_rss=$(awk '/VmHWM/ {print $2*1024}' "/proc/$agent_pid/status")
python3 - "$load" "$idle_rss" "$peak_rss" "$cpu0" "$cpu1" "$acc0" "$acc1" "$secs" "$queue" <<'PY'
import json, sys
load = json.loads(sys.argv[1])
idle, peak, c0, c1, a0, a1, secs = map(float, sys.argv[2:9])
fwd = a1 - a0
print(json.dumps({
    "loadgen": load,
    "gateway_received_spans": int(fwd),
    "forwarded_spans_per_second": round(fwd / secs),
    "agent_cpu_seconds": round(c1 - c0, 2),
    "agent_cpu_percent_of_one_core": round(100 * (c1 - c0) / secs, 1),
    "agent_cpu_microseconds_per_span": round(1e6 * (c1 - c0) / fwd, 2) if fwd else None,
    "agent_idle_rss_mib": round(idle / 2**20, 1),
    "agent_peak_rss_mib": round(peak / 2**20, 1),
    "queue": sys.argv[9],
}, indent=2))
PY
