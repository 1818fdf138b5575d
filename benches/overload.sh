#!/usr/bin/env bash
# Measures how well the memory limiter holds under overload.
#
#   benches/overload.sh [CHECK_INTERVAL] [SECONDS] [CONCURRENCY] [BATCH]
#
# stratus (OTLP/HTTP in -> memory_limiter {limit_mib: 100, spike_limit_mib: 20} -> batch
# -> otlp exporter whose destination is down, with a 50M-item sending queue and endless
# retries) takes CONCURRENCY (default 8) load generator senders posting OTLP/HTTP
# protobuf requests of BATCH spans (default 2450, about 0.55 MiB) as fast as they are
# answered, for SECONDS (default 20). Reports the high-water RSS (VmHWM), the largest
# VmRSS and live heap (`otelcol_process_runtime_heap_alloc_bytes`) seen by sampling
# every 100 ms, the RSS and heap at the end, and what the clients were told.
# STRATUS_BIN overrides the stratus binary (to compare builds).
set -euo pipefail
cd "$(dirname "$0")/.."
check=${1:-1s}
secs=${2:-20}
conc=${3:-8}
batch=${4:-2450}
cargo build --release -q -p stratus -p stratus-benches
bin=${CARGO_TARGET_DIR:-target}/release
stratus=${STRATUS_BIN:-$bin/stratus}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(port); dead=$(port); metrics_port=$(port); health=$(port)

cat > "$work/overload.yaml" <<YAML
receivers: { otlp: { protocols: { http: { endpoint: 127.0.0.1:$http_port } } } }
processors:
  memory_limiter: { check_interval: $check, limit_mib: 100, spike_limit_mib: 20 }
  batch: {}
exporters:
  otlp:
    endpoint: 127.0.0.1:$dead
    tls: { insecure: true }
    sending_queue: { sizer: items, queue_size: 50000000 }
    retry_on_failure: { max_elapsed_time: 0 }
extensions: { health_check: { endpoint: 127.0.0.1:$health } }
service:
  extensions: [health_check]
  telemetry: { metrics: { address: 127.0.0.1:$metrics_port }, logs: { level: warn } }
  pipelines: { traces: { receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp] } }
YAML

"$stratus" --config "$work/overload.yaml" 2>"$work/stratus.log" &
pid=$!
metric() { curl -s "http://127.0.0.1:$metrics_port/metrics" | awk -v n="$1" '$1==n {print $2}'; }
for _ in $(seq 100); do
  [ -n "$(metric otelcol_process_uptime 2>/dev/null)" ] && break
  sleep 0.1
done
status() { awk -v k="$1:" '$1==k {print $2*1024}' /proc/$pid/status; }
idle_rss=$(status VmRSS)
"$bin/loadgen" --http --endpoint "http://127.0.0.1:$http_port" --seconds "$secs" \
  --concurrency "$conc" --batch "$batch" >"$work/load.json" &
load=$!
max_rss=0; max_heap=0; health_bad=0
while kill -0 $load 2>/dev/null; do
  rss=$(status VmRSS); heap=$(metric otelcol_process_runtime_heap_alloc_bytes); heap=${heap%.*}
  [ "${rss:-0}" -gt "$max_rss" ] && max_rss=$rss
  [ "${heap:-0}" -gt "$max_heap" ] && max_heap=$heap
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$health/") || true
  [ "$code" = 200 ] || health_bad=$((health_bad + 1))
  sleep 0.1
done
wait $load
end_rss=$(status VmRSS); end_heap=$(metric otelcol_process_runtime_heap_alloc_bytes)
hwm=$(status VmHWM)
queued=$(metric 'otelcol_exporter_queue_size{exporter="otlp"}')
python3 - "$(cat "$work/load.json")" "$check" "$idle_rss" "$hwm" "$max_rss" "$max_heap" "$end_rss" "${end_heap%.*}" "${queued:-0}" "$health_bad" <<'PY'
import json, sys
load = json.loads(sys.argv[1])
mib = lambda v: round(float(v) / 2**20, 1)
idle, hwm, max_rss, max_heap, end_rss, end_heap = map(mib, sys.argv[3:9])
print(json.dumps({
    "check_interval": sys.argv[2],
    "loadgen": load,
    "idle_rss_mib": idle,
    "vm_hwm_mib": hwm,
    "max_sampled_rss_mib": max_rss,
    "max_sampled_heap_mib": max_heap,
    "end_rss_mib": end_rss,
    "end_heap_mib": end_heap,
    "queued_spans": int(float(sys.argv[9])),
    "health_samples_not_200": int(sys.argv[10]),
}, indent=2))
PY
