#!/usr/bin/env bash
# How long DELETE /jobs/{id} takes to stop a running `shell` job on a real worker: starts the
# built `worker` (debug build) on the embedded node with free ports and shell jobs enabled, runs
# RUNS jobs of `sleep 30`, and for each prints the time from the DELETE to the job's process being
# gone, and the run's status in its history (cancelled).
#
# usage: scripts/measure_cancel.sh [RUNS]     (default 5; build first: swift build)
#        scripts/measure_cancel.sh --help
# environment: WORKER   the worker binary (default .build/debug/worker)
# exit status: 0 when every run was stopped and recorded cancelled, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    ""|[0-9]*) ;;
    *) usage >&2; exit 2 ;;
esac
runs="${1:-5}"
worker="${WORKER:-.build/debug/worker}"
[ -x "$worker" ] || { echo "no worker at $worker; run swift build first" >&2; exit 1; }

dir=$(mktemp -d)
"$worker" --http-port 0 --embedded-port 0 --data-dir "$dir/data" --poll-interval 100ms --shards 1 \
    --enable-shell-jobs > "$dir/log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null; rm -rf "$dir"' EXIT
base=""
for _ in $(seq 1 600); do
    base=$(sed -n 's/.*worker listening on //p' "$dir/log" | head -1)
    [ -n "$base" ] && break
    sleep 0.1
done
[ -n "$base" ] || { echo "the worker did not start:" >&2; cat "$dir/log" >&2; exit 1; }

failed=0
for n in $(seq 1 "$runs"); do
    duration="30.$RANDOM$n"
    id=$(curl -s -X POST "$base/jobs" -H 'Content-Type: application/json' \
        -d "{\"schedule\":\"now\",\"kind\":\"shell\",\"payload\":{\"command\":\"sleep\",\"args\":[\"$duration\"]},\"max_duration_seconds\":120,\"run\":true}" \
        | python3 -c 'import sys, json; print(json.load(sys.stdin)["job_id"])')
    child=""
    for _ in $(seq 1 200); do
        child=$(pgrep -f "^/usr/bin/sleep $duration\$|^/bin/sleep $duration\$")
        [ -n "$child" ] && break
        sleep 0.05
    done
    [ -n "$child" ] || { echo "run $n: the job's process never started" >&2; failed=1; continue; }
    sleep 1
    start=$(date +%s.%N)
    curl -s -o /dev/null -X DELETE "$base/jobs/$id"
    while kill -0 "$child" 2>/dev/null; do sleep 0.01; done
    stopped=$(date +%s.%N)
    status=""
    for _ in $(seq 1 200); do
        status=$(curl -s "$base/jobs/$id/history" | python3 -c 'import sys, json; print(json.load(sys.stdin)["runs"][0]["status"])')
        [ "$status" = cancelled ] && break
        sleep 0.05
    done
    [ "$status" = cancelled ] || failed=1
    printf 'run %s: DELETE to process gone %.3f s; history %s\n' "$n" "$(echo "$stopped - $start" | bc)" "$status"
done
exit $failed
