#!/usr/bin/env bash
# Worker memory: RSS (VmRSS from /proc/PID/status) of one release `worker` on its embedded node,
# idle after start-up, right after N queued jobs were created, and after they sat a while.
#
# usage: scripts/bench_worker_memory.sh [--jobs N] [--settle SECONDS] [--standalone] [--keep-logs]
#   --jobs N           queued jobs to create (default 100000)
#   --settle SECONDS   how long the loaded worker sits before the last reading (default 60; the
#                      repair sweep, every 30 s, walks every queued job)
#   --standalone       split the bill: the same node as a standalone `cqlnode` process and the worker
#                      on it (--cassandra), each process's RSS reported
#   --keep-logs        keep the worker log and data directory (printed)
#   env: BUILD_PATH (scratch path, default .build)
#
# "Queued" is what the API calls it: created with "run": true and an RFC 3339 schedule far in the
# future (2099), so each job has its row, its status-index entry and its queue entry in jobs_sharded
# and stays `queued`. The embedded node is in-process, so the RSS covers node and worker together.
# Goals (issue 6): <= 50 MB idle, <= 200 MB loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/processes.sh
source scripts/lib/processes.sh

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
JOBS=100000
SETTLE=60
KEEP_LOGS=false
STANDALONE=false
while [[ $# -gt 0 ]]; do
    case "$1" in
        --jobs) JOBS="${2:?--jobs needs a value}"; shift ;;
        --settle) SETTLE="${2:?--settle needs a value}"; shift ;;
        --keep-logs) KEEP_LOGS=true ;;
        --standalone) STANDALONE=true ;;
        -h|--help) usage; exit 0 ;;
        *) printf 'bench_worker_memory: unknown argument %s\n' "$1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[[ "$JOBS" =~ ^[0-9]+$ && "$SETTLE" =~ ^[0-9]+$ ]] || { echo "--jobs and --settle must be whole numbers" >&2; exit 2; }
BUILD_PATH="${BUILD_PATH:-.build}"
log() { printf '== %s\n' "$*" >&2; }

PRODUCTS=(worker)
[[ "$STANDALONE" == true ]] && PRODUCTS+=(cqlnode cqlprobe)
log "building release (${PRODUCTS[*]})"
for product in "${PRODUCTS[@]}"; do swift build -c release --scratch-path "$BUILD_PATH" --product "$product" >&2; done
BIN="$(swift build -c release --scratch-path "$BUILD_PATH" --show-bin-path)"

WORK="$(mktemp -d)"
WORKER_PID=""
NODE_PID=""
cleanup() {
    local pid
    for pid in "$WORKER_PID" "$NODE_PID"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [[ "$KEEP_LOGS" == true ]]; then log "log and data kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

# VmRSS and VmHWM in MB of PID $1 (default the worker); node_rss: the standalone node's, 0 without one.
rss() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/${1:-$WORKER_PID}/status"; }
hwm() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/${1:-$WORKER_PID}/status"; }
node_rss() { if [[ -n "$NODE_PID" ]]; then rss "$NODE_PID"; else echo 0; fi; }

if [[ "$STANDALONE" == true ]]; then
    "$BIN/cqlnode" --host 127.0.0.1 --port 0 --data-dir "$WORK/data" >"$WORK/node.log" 2>&1 &
    NODE_PID=$!
    PORT="$(wait_line "$WORK/node.log" "$CQLNODE_PORT" cqlnode "$NODE_PID")"
    WORKER="$BIN/worker" scripts/init_schema.sh 127.0.0.1 "$PORT" >"$WORK/schema.log" 2>&1 || { cat "$WORK/schema.log" >&2; exit 1; }
    "$BIN/worker" --cassandra "127.0.0.1:$PORT" --http-port 0 --worker-id bench-memory --log-level warning >"$WORK/worker.log" 2>&1 &
else
    "$BIN/worker" --data-dir "$WORK/data" --embedded-port 0 --http-port 0 --worker-id bench-memory --log-level warning \
        >"$WORK/worker.log" 2>&1 &
fi
WORKER_PID=$!
URL="$(wait_line "$WORK/worker.log" "$WORKER_URL" worker "$WORKER_PID")"
log "worker on $URL (pid $WORKER_PID); idle 10s"
sleep 10
IDLE="$(rss)"
NODE_IDLE="$(node_rss)"

log "creating $JOBS queued jobs (due 2099-01-01)"
python3 scripts/bench/scheduler_load.py submit --urls "$URL" --jobs "$JOBS" --schedule "2099-01-01T00:00:00Z" \
    >"$WORK/submit.json"
LOADED="$(rss)"
NODE_LOADED="$(node_rss)"
queued="$(curl -fsS "$URL/jobs?status=queued&limit=1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')"
[[ "$queued" == 1 ]] || { echo "no queued job listed" >&2; exit 1; }
log "loaded; sitting ${SETTLE}s"
# utime + stime in clock ticks (fields 14 and 15; cut after ')' as the name may hold spaces).
CPU_BEFORE=$(( $(cpu_ticks "$WORKER_PID") + $(cpu_ticks "$NODE_PID") ))
samples=()
for _ in $(seq 1 "$SETTLE"); do
    sleep 1
    samples+=("$(rss)")
done
SETTLED="$(rss)"
SITTING_CPU="$(awk -v t=$(( $(cpu_ticks "$WORKER_PID") + $(cpu_ticks "$NODE_PID") - CPU_BEFORE )) -v hz="$(getconf CLK_TCK)" \
    -v s="$SETTLE" 'BEGIN { printf "%.0f", 100 * t / hz / s }')"
NODE_SETTLED="$(node_rss)"
PEAK_SITTING="$(printf '%s\n' "${samples[@]}" "$LOADED" | sort -g | tail -1)"
PEAK="$(hwm)"

python3 - "$WORK/submit.json" "$JOBS" "$IDLE" "$LOADED" "$SETTLED" "$PEAK_SITTING" "$PEAK" "$SETTLE" \
    "$NODE_IDLE" "$NODE_LOADED" "$NODE_SETTLED" "$SITTING_CPU" <<'PY'
import json, sys
submit = json.load(open(sys.argv[1]))
jobs, idle, loaded, settled, sitting_peak, peak, settle, node_idle, node_loaded, node_settled, sitting_cpu = sys.argv[2:]
idle, loaded, settled, sitting_peak, peak = map(float, (idle, loaded, settled, sitting_peak, peak))
print()
print("queued jobs created: %d in %.0fs (%.0f/s, %d errors)" % (submit["submitted"], submit["seconds"],
      submit["submitted"] / max(submit["seconds"], 1e-9), submit["errors"]))
# The repair sweep and the poller while nothing is due (worker and node together; 100% = one core).
print("CPU while sitting loaded: %s%% of one core" % sitting_cpu)
if float(node_idle) > 0:
    # Standalone split: the worker process alone, then the node process alone.
    print("%-34s %8s %8s" % ("standalone split", "worker", "cqlnode"))
    print("%-34s %8.1f %8s" % ("idle after start-up", idle, node_idle))
    print("%-34s %8.1f %8s" % ("after %s queued jobs" % jobs, loaded, node_loaded))
    print("%-34s %8.1f %8s" % ("after sitting %ss" % settle, settled, node_settled))
    sys.exit(0)
print("%-34s %8s" % ("worker + embedded node", "RSS MB"))
print("%-34s %8.1f" % ("idle after start-up", idle))
print("%-34s %8.1f" % ("after %s queued jobs" % jobs, loaded))
print("%-34s %8.1f" % ("after sitting %ss" % settle, settled))
print("%-34s %8.1f" % ("highest while sitting", sitting_peak))
print("%-34s %8.1f" % ("peak (VmHWM, incl. creation)", peak))
print("idle <= 50 MB: %s; loaded <= 200 MB: %s" % ("met" if idle <= 50 else "NOT met",
      "met" if max(loaded, settled, sitting_peak) <= 200 else "NOT met"))
PY
