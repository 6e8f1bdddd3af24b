# Sourced by scripts that start a throw-away worker of their own (smoke_test.sh --start,
# schemathesis.sh). The caller defines fail() and calls stop_worker from its EXIT trap.
#
# start_worker BINARY WORKDIR [WORKER ARGS...]
#     starts BINARY on its embedded node with free ports and data under WORKDIR/data, output in
#     WORKDIR/stdout and WORKDIR/stderr (never on a cluster named by SCHEDULER_CASSANDRA); waits
#     up to 60 s for its address and sets worker_pid and worker_url.
# stop_worker
#     SIGTERM, then SIGKILL after 20 s if it is still running.

# shellcheck source=processes.sh
source "$(dirname "${BASH_SOURCE[0]}")/processes.sh"

worker_pid=""
worker_url=""

start_worker() {
    local binary="$1" workdir="$2"
    shift 2
    env -u SCHEDULER_CASSANDRA "$binary" --http-port 0 --embedded-port 0 \
        --data-dir "$workdir/data" "$@" >"$workdir/stdout" 2>"$workdir/stderr" &
    worker_pid=$!
    worker_url="$(wait_line "$workdir/stdout" "$WORKER_URL" worker "$worker_pid")" || {
        cat "$workdir/stderr" >&2
        fail "worker did not report its HTTP address (exited, or not within 60 s)"
    }
}

stop_worker() {
    if [[ -n "$worker_pid" ]] && kill -0 "$worker_pid" 2>/dev/null; then
        kill -TERM "$worker_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$worker_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$worker_pid" 2>/dev/null || true
    fi
}
