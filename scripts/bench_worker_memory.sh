#!/usr/bin/env bash
# Worker memory: RSS (VmRSS from /proc/PID/status) of one release `worker` on its embedded node,
# idle after start-up, right after N queued jobs were created, and after they sat a while.
#
# usage: scripts/bench_worker_memory.sh [--jobs N] [--settle SECONDS] [--keep-logs]
#   --jobs N           queued jobs to create (default 100000)
#   --settle SECONDS   how long the loaded worker sits before the last reading (default 60; the
#                      repair sweep, every 30 s, walks every queued job)
#   --keep-logs        keep the worker log and data directory (printed)
#   env: BUILD_PATH (scratch path, default .build)
#
# "Queued" is what the API calls it: created with "run": true and an RFC 3339 schedule far in the
# future (2099), so each job has its row, its status-index entry and its queue entry in jobs_sharded
# and stays `queued`. The embedded node is in-process, so the RSS covers node and worker together.
# Goals (issue 6): <= 50 MB idle, <= 200 MB loaded.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
JOBS=100000
SETTLE=60
KEEP_LOGS=false
while [[ $# -gt 0 ]]; do
    case "$1" in
        --jobs) JOBS="${2:?--jobs needs a value}"; shift ;;
        --settle) SETTLE="${2:?--settle needs a value}"; shift ;;
        --keep-logs) KEEP_LOGS=true ;;
        -h|--help) usage; exit 0 ;;
        *) printf 'bench_worker_memory: unknown argument %s\n' "$1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[[ "$JOBS" =~ ^[0-9]+$ && "$SETTLE" =~ ^[0-9]+$ ]] || { echo "--jobs and --settle must be whole numbers" >&2; exit 2; }
BUILD_PATH="${BUILD_PATH:-.build}"
log() { printf '== %s\n' "$*" >&2; }

log "building release (worker)"
swift build -c release --scratch-path "$BUILD_PATH" --product worker >&2
BIN="$(swift build -c release --scratch-path "$BUILD_PATH" --show-bin-path)"

WORK="$(mktemp -d)"
WORKER_PID=""
cleanup() {
    if [[ -n "$WORKER_PID" ]] && kill -0 "$WORKER_PID" 2>/dev/null; then
        kill "$WORKER_PID" 2>/dev/null || true
        wait "$WORKER_PID" 2>/dev/null || true
    fi
    if [[ "$KEEP_LOGS" == true ]]; then log "log and data kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

rss() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$WORKER_PID/status"; }
hwm() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$WORKER_PID/status"; }

"$BIN/worker" --data-dir "$WORK/data" --embedded-port 0 --http-port 0 --worker-id bench-memory --log-level warning \
    >"$WORK/worker.log" 2>&1 &
WORKER_PID=$!
URL=""
for _ in $(seq 1 600); do
    URL="$(sed -n 's/^worker listening on \(http:[^ ]*\)$/\1/p' "$WORK/worker.log" | head -1)"
    [[ -n "$URL" ]] && break
    sleep 0.1
done
[[ -n "$URL" ]] || { cat "$WORK/worker.log" >&2; echo "worker did not start" >&2; exit 1; }
log "worker on $URL (pid $WORKER_PID); idle 10s"
sleep 10
IDLE="$(rss)"

log "creating $JOBS queued jobs (due 2099-01-01)"
python3 scripts/bench/scheduler_load.py submit --urls "$URL" --jobs "$JOBS" --schedule "2099-01-01T00:00:00Z" \
    >"$WORK/submit.json"
LOADED="$(rss)"
queued="$(curl -fsS "$URL/jobs?status=queued&limit=1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')"
[[ "$queued" == 1 ]] || { echo "no queued job listed" >&2; exit 1; }
log "loaded; sitting ${SETTLE}s"
samples=()
for _ in $(seq 1 "$SETTLE"); do
    sleep 1
    samples+=("$(rss)")
done
SETTLED="$(rss)"
PEAK_SITTING="$(printf '%s\n' "${samples[@]}" "$LOADED" | sort -g | tail -1)"
PEAK="$(hwm)"

python3 - "$WORK/submit.json" "$JOBS" "$IDLE" "$LOADED" "$SETTLED" "$PEAK_SITTING" "$PEAK" "$SETTLE" <<'PY'
import json, sys
submit = json.load(open(sys.argv[1]))
jobs, idle, loaded, settled, sitting_peak, peak, settle = sys.argv[2:]
idle, loaded, settled, sitting_peak, peak = map(float, (idle, loaded, settled, sitting_peak, peak))
print()
print("queued jobs created: %d in %.0fs (%.0f/s, %d errors)" % (submit["submitted"], submit["seconds"],
      submit["submitted"] / max(submit["seconds"], 1e-9), submit["errors"]))
print("%-34s %8s" % ("worker + embedded node", "RSS MB"))
print("%-34s %8.1f" % ("idle after start-up", idle))
print("%-34s %8.1f" % ("after %s queued jobs" % jobs, loaded))
print("%-34s %8.1f" % ("after sitting %ss" % settle, settled))
print("%-34s %8.1f" % ("highest while sitting", sitting_peak))
print("%-34s %8.1f" % ("peak (VmHWM, incl. creation)", peak))
print("idle <= 50 MB: %s; loaded <= 200 MB: %s" % ("met" if idle <= 50 else "NOT met",
      "met" if max(loaded, settled, sitting_peak) <= 200 else "NOT met"))
PY
