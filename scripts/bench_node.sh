#!/usr/bin/env bash
# Server side by side: cqlnode (in memory) under cqlbench insert/select, and redis-server under
# redis-benchmark SET/GET, both with 64 clients in flight; each server's CPU time during its run
# comes from /proc/PID/stat (utime + stime). Prints ops/s and server CPU us per operation, plus
# cqlbench lwt throughput.
#
# usage: scripts/bench_node.sh [SECONDS]     seconds per cqlbench run (default 10)
#   env: BUILD_PATH (scratch path, default .build), REDIS_REQUESTS (per redis test, default 200000)
# Goal: cqlnode at least half of Redis's ops/s.
usage() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p;}' "$0"; }
for arg in "$@"; do case "$arg" in -h|--help) usage; exit 0 ;; esac; done
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN="${1:-10}"
BUILD_PATH="${BUILD_PATH:-.build}"
REDIS_REQUESTS="${REDIS_REQUESTS:-200000}"
CONCURRENCY=64
log() { printf '== %s\n' "$*" >&2; }

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    log "installing redis-server and redis-tools (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq redis-server redis-tools >&2
fi

log "building release (cqlnode, cqlbench)"
swift build -c release --scratch-path "$BUILD_PATH" --product cqlnode >&2
swift build -c release --scratch-path "$BUILD_PATH" --product cqlbench >&2
BIN="$(swift build -c release --scratch-path "$BUILD_PATH" --show-bin-path)"

WORK="$(mktemp -d)"
NODE_PID=""
REDIS_PID=""
cleanup() {
    for pid in "$NODE_PID" "$REDIS_PID"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

TICKS="$(getconf CLK_TCK)"
# shellcheck source=lib/processes.sh
source scripts/lib/processes.sh
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

"$BIN/cqlnode" --in-memory --host 127.0.0.1 --port 0 >"$WORK/node.log" 2>&1 &
NODE_PID=$!
PORT="$(wait_line "$WORK/node.log" "$CQLNODE_PORT" cqlnode "$NODE_PID")"
log "cqlnode on 127.0.0.1:$PORT (pid $NODE_PID)"

LIMIT=$(( ${SECONDS_PER_RUN%.*} + 120 ))
# Each line of results: NAME OPS_PER_S SERVER_CPU_US_PER_OP
: >"$WORK/results"
for workload in insert select lwt; do
    before="$(cpu_ticks "$NODE_PID")"
    log "cqlbench $workload against cqlnode (${SECONDS_PER_RUN}s, concurrency $CONCURRENCY)"
    timeout "$LIMIT" "$BIN/cqlbench" --port "$PORT" --workload "$workload" --duration "$SECONDS_PER_RUN" \
        --concurrency "$CONCURRENCY" --json >"$WORK/cql-$workload.json"
    after="$(cpu_ticks "$NODE_PID")"
    python3 - "$WORK/cql-$workload.json" "$before" "$after" "$TICKS" "cqlnode-$workload" >>"$WORK/results" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
ticks = int(sys.argv[3]) - int(sys.argv[2])
cpu_us = ticks * 1_000_000 / int(sys.argv[4])
# Server CPU covers every request cqlbench sent (schema, populate, warmup, measured).
print(sys.argv[5], "%.0f" % report["ops_per_s"], "%.2f" % (cpu_us / max(1, report["total_requests"])), report["errors"])
PY
done
kill "$NODE_PID" 2>/dev/null || true
wait "$NODE_PID" 2>/dev/null || true
NODE_PID=""

REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 1 100); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
done
log "redis-server on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)"
for test in set get; do
    before="$(cpu_ticks "$REDIS_PID")"
    log "redis-benchmark $test (-c $CONCURRENCY -n $REDIS_REQUESTS)"
    line="$(timeout "$LIMIT" redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c "$CONCURRENCY" -n "$REDIS_REQUESTS" \
        -t "$test" -q 2>/dev/null | tr '\r' '\n' | grep -i "requests per second" | tail -1)"
    after="$(cpu_ticks "$REDIS_PID")"
    ops="$(sed -n 's/^[A-Z]*: *\([0-9.]*\) requests per second.*/\1/p' <<<"$line")"
    python3 - "$ops" "$before" "$after" "$TICKS" "$REDIS_REQUESTS" "redis-$test" >>"$WORK/results" <<'PY'
import sys
ops, before, after, ticks, requests, name = sys.argv[1:]
cpu_us = (int(after) - int(before)) * 1_000_000 / int(ticks)
print(name, "%.0f" % float(ops or 0), "%.2f" % (cpu_us / int(requests)), 0)
PY
done

python3 - "$WORK/results" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    name, ops, cpu, errors = line.split()
    rows[name] = (float(ops), float(cpu), int(errors))
print()
print("%-16s %12s %20s %8s" % ("server/test", "ops/s", "server CPU us/op", "errors"))
for name, (ops, cpu, errors) in rows.items():
    print("%-16s %12.0f %20.2f %8d" % (name, ops, cpu, errors))
for cql, redis in (("cqlnode-insert", "redis-set"), ("cqlnode-select", "redis-get")):
    if cql in rows and redis in rows and rows[redis][0] > 0:
        ratio = rows[cql][0] / rows[redis][0]
        print("%s / %s ops/s = %.2f (goal >= 0.50: %s)" % (cql, redis, ratio, "met" if ratio >= 0.5 else "NOT met"))
PY
