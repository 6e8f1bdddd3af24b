#!/usr/bin/env bash
# End-to-end smoke test of a worker: create and run a job, wait until it succeeded, check that
# its history has the run and that /metrics serves the scheduler's metrics.
#
# usage: scripts/smoke_test.sh            against the worker at SCHEDULER_URL
#                                         (default http://127.0.0.1:8080)
#        scripts/smoke_test.sh --start    builds `worker`, starts it on the embedded node with a
#                                         temporary data dir and free ports, tests it, stops it
#        scripts/smoke_test.sh --help
#
# environment: SCHEDULER_URL        the worker to test (without --start)
#              SCHEDULER_API_TOKEN  bearer token, when the worker requires one
#              SMOKE_TIMEOUT        seconds to wait for the job to succeed (default 60)
#              SMOKE_BUILD_ARGS     extra `swift build` arguments for --start (e.g. --scratch-path DIR)
# exit status: 0 when every check passed, 1 with a message naming the failed check otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
fail() { printf 'smoke test FAILED: %s\n' "$*" >&2; exit 1; }
log() { printf '== %s\n' "$*" >&2; }

start=false
case "${1:-}" in
    "") ;;
    --start) start=true ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
esac

command -v curl >/dev/null || fail "curl is required"
command -v python3 >/dev/null || fail "python3 is required (reads the JSON answers)"

# shellcheck source=lib/worker.sh
source scripts/lib/worker.sh
workdir=""
cleanup() {
    stop_worker
    if [[ -n "$workdir" ]]; then rm -rf "$workdir"; fi
}
trap cleanup EXIT

if $start; then
    log "building worker"
    read -r -a build_args <<<"${SMOKE_BUILD_ARGS:-}"
    swift build "${build_args[@]}" --product worker >&2 || fail "swift build --product worker failed"
    binary="$(swift build "${build_args[@]}" --show-bin-path)/worker"
    workdir="$(mktemp -d)"
    log "starting $binary (data in $workdir)"
    start_worker "$binary" "$workdir" --poll-interval 200ms
    SCHEDULER_URL="$worker_url"
fi
base="${SCHEDULER_URL:-http://127.0.0.1:8080}"
base="${base%/}"
log "testing $base"

auth=()
[[ -n "${SCHEDULER_API_TOKEN:-}" ]] && auth=(-H "Authorization: Bearer $SCHEDULER_API_TOKEN")

# request METHOD PATH [BODY]: prints the body, then the status on the last line.
request() {
    local args=(-sS -X "$1" -w '\n%{http_code}' "${auth[@]}")
    [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    curl "${args[@]}" "$base$2" || fail "$1 $2: cannot reach $base"
}
status_of() { tail -n 1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }
json_field() { python3 -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$1"; }

answer="$(request GET /healthz)"
[[ "$(status_of "$answer")" == 200 ]] || fail "GET /healthz answered $(status_of "$answer")"

answer="$(request POST /jobs '{"schedule":"now","payload":"{\"smoke\":true}","max_duration_seconds":60,"kind":"echo"}')"
[[ "$(status_of "$answer")" == 201 ]] || fail "POST /jobs answered $(status_of "$answer"): $(body_of "$answer")"
job_id="$(body_of "$answer" | json_field job_id)"
[[ -n "$job_id" ]] || fail "POST /jobs returned no job_id: $(body_of "$answer")"
log "created job $job_id"

answer="$(request POST "/jobs/$job_id/run")"
[[ "$(status_of "$answer")" == 200 ]] || fail "POST /jobs/$job_id/run answered $(status_of "$answer"): $(body_of "$answer")"
log "job queued; waiting for it to succeed"

status=""
deadline=$((SECONDS + ${SMOKE_TIMEOUT:-60}))
while ((SECONDS < deadline)); do
    answer="$(request GET "/jobs/$job_id")"
    status="$(body_of "$answer" | json_field status)"
    case "$status" in
        succeeded) break ;;
        failed|timed_out|cancelled) fail "job ended $status: $(body_of "$answer")" ;;
    esac
    sleep 0.5
done
[[ "$status" == succeeded ]] || fail "job still $status after ${SMOKE_TIMEOUT:-60} s"
log "job succeeded"

answer="$(request GET "/jobs/$job_id/history")"
[[ "$(status_of "$answer")" == 200 ]] || fail "GET /jobs/$job_id/history answered $(status_of "$answer")"
body_of "$answer" | python3 -c 'import json,sys; runs=json.load(sys.stdin)["runs"]; sys.exit(0 if any(r.get("status")=="succeeded" for r in runs) else 1)' \
    || fail "job_history has no succeeded run: $(body_of "$answer")"
log "history has the run"

answer="$(request GET /metrics)"
[[ "$(status_of "$answer")" == 200 ]] || fail "GET /metrics answered $(status_of "$answer")"
grep -q '^scheduler_runs_total{.*outcome="succeeded"} [1-9]' <<<"$(body_of "$answer")" \
    || fail "/metrics lacks scheduler_runs_total{outcome=\"succeeded\"} >= 1"
log "metrics served"

if $start; then
    kill -TERM "$worker_pid"
    stopped=0
    wait "$worker_pid" || stopped=$?
    worker_pid=""
    [[ "$stopped" == 0 ]] || { cat "$workdir/stderr" >&2; fail "worker exited $stopped on SIGTERM (expected 0)"; }
    log "worker stopped cleanly on SIGTERM"
fi

echo "smoke test passed"
