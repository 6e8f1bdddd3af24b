#!/usr/bin/env bash
# Client side by side: cqlbench (CQLWire) and the DataStax Python driver run the same workloads
# against the SAME in-memory cqlnode, one after the other, then a comparison table.
#
# usage: scripts/bench_client.sh [SECONDS]     seconds measured per run (default 10)
#   env: BUILD_PATH (scratch path, default .build), CONCURRENCY (default 64),
#        WORKLOADS (default "insert select lwt"), ROW_FACTORY (Python rows: tuple (default),
#        named_tuple, dict), EXECUTOR (cqlbench --executor: io (default) or pool)
# Goal: cqlbench's client CPU per request at most 1/10 of the Python driver's.
#
# What both sides do, the same way: the same table and prepared statements (INSERT INTO kv (key,
# value) VALUES (?, ?), SELECT key, value FROM kv WHERE key = ?, and the INSERT with IF NOT EXISTS),
# a bigint key and a 64-byte blob, consistency ONE, no compression, client-side timestamps, one
# connection, CONCURRENCY requests in flight in a closed loop (each answer starts the next request),
# 1 s of warm-up, then SECONDS measured. "CPU us/req" is getrusage(RUSAGE_SELF) user + system time
# of the whole client process (every thread: Python's libev reactor, Swift's pool, reader and
# writer threads) from the first request started after the warm-up to the last answer, divided by
# the requests started in that window. Python uses its cheapest path: the Cython build (checked
# and printed), execute_async with callbacks (execute_concurrent_with_args costs it ~1.7x more CPU
# per insert), rows as plain tuples (the default named_tuple_factory builds a class per response
# with rows, ~120 us per SELECT or LWT; ROW_FACTORY=named_tuple measures it).
usage() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p;}' "$0"; }
for arg in "$@"; do case "$arg" in -h|--help) usage; exit 0 ;; esac; done
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN="${1:-10}"
BUILD_PATH="${BUILD_PATH:-.build}"
CONCURRENCY="${CONCURRENCY:-64}"
WORKLOADS="${WORKLOADS:-insert select lwt}"
ROW_FACTORY="${ROW_FACTORY:-tuple}"
EXECUTOR="${EXECUTOR:-io}"
log() { printf '== %s\n' "$*" >&2; }

if ! python3 -c "import cassandra" 2>/dev/null; then
    log "installing the DataStax Python driver (cassandra-driver)"
    python3 -m pip install --quiet --disable-pip-version-check cassandra-driver
fi

log "building release (cqlnode, cqlbench)"
swift build -c release --scratch-path "$BUILD_PATH" --product cqlnode >&2
swift build -c release --scratch-path "$BUILD_PATH" --product cqlbench >&2
BIN="$(swift build -c release --scratch-path "$BUILD_PATH" --show-bin-path)"

# shellcheck source=lib/processes.sh
source scripts/lib/processes.sh
WORK="$(mktemp -d)"
NODE_PID=""
cleanup() {
    if [[ -n "$NODE_PID" ]] && kill -0 "$NODE_PID" 2>/dev/null; then
        kill "$NODE_PID" 2>/dev/null || true
        wait "$NODE_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

"$BIN/cqlnode" --in-memory --host 127.0.0.1 --port 0 >"$WORK/node.log" 2>&1 &
NODE_PID=$!
PORT="$(wait_line "$WORK/node.log" "$CQLNODE_PORT" cqlnode "$NODE_PID")"
log "cqlnode on 127.0.0.1:$PORT (pid $NODE_PID)"

LIMIT=$(( ${SECONDS_PER_RUN%.*} + 120 ))
for workload in $WORKLOADS; do
    log "cqlbench $workload (${SECONDS_PER_RUN}s, concurrency $CONCURRENCY, executor $EXECUTOR)"
    timeout "$LIMIT" "$BIN/cqlbench" --port "$PORT" --workload "$workload" --duration "$SECONDS_PER_RUN" \
        --concurrency "$CONCURRENCY" --executor "$EXECUTOR" --keyspace bench_swift --json >"$WORK/swift-$workload.json"
    log "python driver $workload (${SECONDS_PER_RUN}s, concurrency $CONCURRENCY)"
    timeout "$LIMIT" python3 scripts/bench/cqlbench_python.py --port "$PORT" --workload "$workload" \
        --duration "$SECONDS_PER_RUN" --concurrency "$CONCURRENCY" --keyspace bench_python --row-factory "$ROW_FACTORY" \
        --json >"$WORK/python-$workload.json"
done

python3 - "$WORK" $WORKLOADS <<'PY'
import json, sys
work, workloads = sys.argv[1], sys.argv[2:]
print()
print("python: " + json.load(open("%s/python-%s.json" % (work, workloads[0]))).get("driver", "?"))
print("%-8s %-14s %12s %10s %10s %10s %8s %14s" % ("workload", "client", "ops/s", "p50 us", "p99 us", "p999 us", "errors", "CPU us/req"))
for w in workloads:
    rows = [json.load(open("%s/%s-%s.json" % (work, c, w))) for c in ("swift", "python")]
    for r in rows:
        print("%-8s %-14s %12.0f %10.0f %10.0f %10.0f %8d %14.1f" % (w, r["client"], r["ops_per_s"], r["p50_us"],
              r["p99_us"], r["p999_us"], r["errors"], r["cpu_us_per_req"]))
    swift, python = rows
    ratio = swift["cpu_us_per_req"] / python["cpu_us_per_req"] if python["cpu_us_per_req"] else float("nan")
    print("%-8s CPU/req cqlwire:python = %.3f (goal <= 0.100: %s)" % (w, ratio, "met" if ratio <= 0.1 else "NOT met"))
PY
