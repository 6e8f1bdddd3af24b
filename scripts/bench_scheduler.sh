#!/usr/bin/env bash
# Scheduler throughput and cost: executed `noop` jobs/s with 1 and 3 `worker` processes sharing one
# standalone `cqlnode` (the embedded node's code in its own process, so its CPU is measured apart).
#
# usage: scripts/bench_scheduler.sh [--jobs N] [--workers "1 3"] [--concurrency N] [--lead SECONDS] [--in-memory]
#                                   [--cassandra HOSTS] [--idempotency-keys] [--keep-logs]
#   --jobs N         noop jobs per measured window (default 20000)
#   --workers LIST   worker counts to measure, one fresh node each (default "1 3")
#   --concurrency N  each worker's --max-concurrent-runs (default 256; the worker's own default is 16)
#   --lead SECONDS   how far in the future the jobs fall due; submission must end before (default 60)
#   --in-memory      cqlnode keeps nothing on disk (default: a temp --data-dir, durable like the worker's default)
#   --cassandra HOSTS  a running cluster (host[:port],... as the worker's --cassandra) instead of a cqlnode:
#                    each worker count gets a fresh keyspace (bench_<time>_<count>, applied by init_schema.sh,
#                    dropped afterwards); the CPU of the Cassandra processes listening on HOSTS is measured
#                    when they run on this machine (found with ss), else reported as 0
#   --idempotency-keys every job is created with an idempotency key of its own (one LWT more per creation)
#   --keep-logs      keep the node and worker logs (their directory is printed)
#   env: BUILD_PATH (scratch path, default .build), BIN_DIR (use the cqlnode, worker and cqlprobe in this
#        directory instead of building, e.g. a copy of an earlier build to compare), WORKER_ARGS (extra worker flags, e.g. "--poll-interval 100ms"),
#        SCHEMA_ARGS (init_schema.sh flags with --cassandra; default "--dc datacenter1:1" for one host,
#        "--dc datacenter1:3" for more), NODETOOL (with --cassandra: a nodetool command for the first
#        host, e.g. "nodetool -h 127.0.0.1"; then each table's local reads and writes per job are
#        printed, the keyspace's and system.paxos / system.batches, over creation and run)
#
# For each worker count: start cqlnode on a free port, apply infra/schema.cql (init_schema.sh with the
# release worker), start the workers (--cassandra, --http-port 0), wait until they hold all shards,
# then POST N noop jobs with "run": true all due at one time LEAD seconds ahead (creation goes through
# the workers' REST API and is kept out of the window). The window runs from that due time until
# the workers' scheduler_runs_total has grown by N. Read before and after from every worker's
# /metrics (cql_lwt_requests_total, cql_requests_total, scheduler_runs_total) and from
# /proc/PID/stat (utime + stime of every worker and of the node).
# The creation (POST /jobs) is measured the same way and reported on its own line ("create").
# Goals (issue 5): <= 2 LWT and <= 5 CQL requests per job; worker CPU per job <= node CPU per job;
# mark: 10,000 jobs/s on a 2-core machine. Issue 17: worker + node CPU <= 200 us per job; on
# Cassandra, its CPU per job (creation and run) <= 1.5 ms.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }
JOBS=20000
WORKER_COUNTS="1 3"
CONCURRENCY=256
LEAD=60
IN_MEMORY=false
KEEP_LOGS=false
CASSANDRA=""
KEYED=false
while [[ $# -gt 0 ]]; do
    case "$1" in
        --jobs) JOBS="${2:?--jobs needs a value}"; shift ;;
        --workers) WORKER_COUNTS="${2:?--workers needs a value}"; shift ;;
        --concurrency) CONCURRENCY="${2:?--concurrency needs a value}"; shift ;;
        --lead) LEAD="${2:?--lead needs a value}"; shift ;;
        --in-memory) IN_MEMORY=true ;;
        --cassandra) CASSANDRA="${2:?--cassandra needs HOSTS}"; shift ;;
        --idempotency-keys) KEYED=true ;;
        --keep-logs) KEEP_LOGS=true ;;
        -h|--help) usage; exit 0 ;;
        *) printf 'bench_scheduler: unknown argument %s\n' "$1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[[ "$JOBS" =~ ^[0-9]+$ && "$JOBS" -gt 0 ]] || { echo "--jobs must be a positive number" >&2; exit 2; }
BUILD_PATH="${BUILD_PATH:-.build}"
read -r -a EXTRA_WORKER_ARGS <<<"${WORKER_ARGS:-}"
log() { printf '== %s\n' "$*" >&2; }
join() { local IFS=,; echo "$*"; }

PRODUCTS=(cqlnode worker cqlprobe)
[[ -n "$CASSANDRA" ]] && PRODUCTS=(worker cqlprobe)
if [[ -n "${BIN_DIR:-}" ]]; then
    BIN="$BIN_DIR"
    log "using the binaries in $BIN (no build)"
else
    log "building release (${PRODUCTS[*]})"
    for product in "${PRODUCTS[@]}"; do
        swift build -c release --scratch-path "$BUILD_PATH" --product "$product" >&2
    done
    BIN="$(swift build -c release --scratch-path "$BUILD_PATH" --show-bin-path)"
fi

WORK="$(mktemp -d)"
PIDS=()
stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
    done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}
cleanup() {
    stop_all
    if [[ "$KEEP_LOGS" == true ]]; then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

# Waits for a line of FILE matching the sed expression SED and prints its capture.
# shellcheck source=lib/processes.sh
source scripts/lib/processes.sh

# The pid of the process listening on HOST:PORT on this machine (empty when none is local).
listener_pid() {
    local host="$1" port="$2"
    ss -ltnpH "sport = :$port" 2>/dev/null \
        | awk -v a="$host:$port" '$4 == a || $4 == "0.0.0.0:" substr(a, index(a, ":") + 1) || $4 == "*:" substr(a, index(a, ":") + 1) { print }' \
        | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1
}

# Every HOST[:PORT] of --cassandra as "host port".
cassandra_endpoints() {
    local entry
    IFS=, read -r -a entries <<<"$CASSANDRA"
    for entry in "${entries[@]}"; do
        if [[ "$entry" == *:* ]]; then echo "${entry%:*} ${entry##*:}"; else echo "$entry 9042"; fi
    done
}

# "keyspace.table reads writes" for every table of `nodetool tablestats ARGS` (local counts since start).
table_counts() {
    # shellcheck disable=SC2086 # NODETOOL is a command line
    $NODETOOL tablestats "$@" | awk '
        /^Keyspace *:/ { keyspace = $3 }
        /^[ \t]*Table: / { table = $2 }
        /Local read count:/ { reads = $4 }
        /Local write count:/ { print keyspace "." table, reads, $4 }'
}

# Sum of a metric (every label set) over the workers' /metrics.
metric_sum() {
    local name="$1" url total=0 value
    shift
    for url in "$@"; do
        value="$(curl -fsS "$url/metrics" | awk -v n="$name" '$1 == n || index($1, n "{") == 1 { s += $2 } END { print s + 0 }')"
        total=$(( total + ${value%.*} ))
    done
    echo "$total"
}

: >"$WORK/results"
: >"$WORK/tables"
for count in $WORKER_COUNTS; do
    run="$WORK/w$count"
    mkdir -p "$run"
    DB_ARGS=()
    NODE_PIDS=()
    if [[ -n "$CASSANDRA" ]]; then
        KEYSPACE="bench_$(date +%s)_$count"
        DB_ARGS=(--cassandra "$CASSANDRA" --keyspace "$KEYSPACE")
        read -r first_host first_port < <(cassandra_endpoints | head -n 1)
        hosts="$(cassandra_endpoints | wc -l)"
        if [[ -n "${SCHEMA_ARGS:-}" ]]; then read -r -a schema_args <<<"$SCHEMA_ARGS"
        elif [[ "$hosts" -gt 1 ]]; then schema_args=(--dc datacenter1:3)
        else schema_args=(--dc datacenter1:1); fi
        WORKER="$BIN/worker" scripts/init_schema.sh --keyspace "$KEYSPACE" "${schema_args[@]}" "$first_host" "$first_port" \
            >"$run/schema.log" 2>&1 || { cat "$run/schema.log" >&2; exit 1; }
        while read -r host port; do
            pid="$(listener_pid "$host" "$port")"
            if [[ -n "$pid" ]]; then NODE_PIDS+=("$pid"); else log "no local process listens on $host:$port: its CPU is not measured"; fi
        done < <(cassandra_endpoints)
        log "Cassandra $CASSANDRA, keyspace $KEYSPACE, node pids ${NODE_PIDS[*]:-none}"
    else
        storage=(--data-dir "$run/node-data")
        [[ "$IN_MEMORY" == true ]] && storage=(--in-memory)
        "$BIN/cqlnode" --host 127.0.0.1 --port 0 "${storage[@]}" >"$run/node.log" 2>&1 &
        NODE_PID=$!
        NODE_PIDS=("$NODE_PID")
        PIDS+=("$NODE_PID")
        PORT="$(wait_line "$run/node.log" "$CQLNODE_PORT" cqlnode)"
        log "cqlnode on 127.0.0.1:$PORT (pid $NODE_PID)"
        WORKER="$BIN/worker" scripts/init_schema.sh 127.0.0.1 "$PORT" >"$run/schema.log" 2>&1 \
            || { cat "$run/schema.log" >&2; exit 1; }
        DB_ARGS=(--cassandra "127.0.0.1:$PORT")
    fi

    URLS=()
    WORKER_PIDS=()
    for i in $(seq 1 "$count"); do
        "$BIN/worker" "${DB_ARGS[@]}" --http-port 0 --worker-id "bench-$count-$i" --log-level warning \
            --max-concurrent-runs "$CONCURRENCY" \
            "${EXTRA_WORKER_ARGS[@]}" >"$run/worker$i.log" 2>&1 &
        WORKER_PIDS+=($!)
        PIDS+=($!)
    done
    for i in $(seq 1 "$count"); do
        URLS+=("$(wait_line "$run/worker$i.log" "$WORKER_URL" "worker $i")")
    done
    log "$count worker(s): ${URLS[*]}"
    # Shards are split by the balance loop; measure only once every shard is owned and the split is fair.
    shards=16
    for _ in $(seq 1 600); do
        owned="$(metric_sum scheduler_owned_shards "${URLS[@]}")"
        [[ "$owned" -ge "$shards" ]] && break
        sleep 0.5
    done
    [[ "$owned" -ge "$shards" ]] || { echo "workers own $owned of $shards shards" >&2; exit 1; }
    sleep 3

    [[ -n "$CASSANDRA" && -n "${NODETOOL:-}" ]] && table_counts system.paxos system.batches >"$run/system_before"
    log "window: $JOBS noop jobs due in ${LEAD}s, $count worker(s)"
    keyed=()
    [[ "$KEYED" == true ]] && keyed=(--idempotency-keys)
    python3 scripts/bench/scheduler_load.py window --urls "$(join "${URLS[@]}")" --worker-pids "$(join "${WORKER_PIDS[@]}")" \
        --node-pids "$(join "${NODE_PIDS[@]}")" --jobs "$JOBS" --lead "$LEAD" "${keyed[@]}" >>"$WORK/results"
    stop_all
    if [[ -n "$CASSANDRA" && -n "${NODETOOL:-}" ]]; then
        table_counts "$KEYSPACE" system.paxos system.batches | awk -v workers="$count" -v jobs="$JOBS" '
            NR == FNR { before[$1] = $2 " " $3; next }
            { split(before[$1], b, " "); reads = ($2 - b[1]) / jobs; writes = ($3 - b[2]) / jobs
              if (reads > 0 || writes > 0) printf "%-8d %-40s %10.3f %10.3f\n", workers, $1, reads, writes }' \
            "$run/system_before" - | sed "s/bench_[0-9_]*\./KEYSPACE./" >>"$WORK/tables"
    fi
    if [[ -n "$CASSANDRA" ]]; then
        "$BIN/cqlprobe" "$first_host" "$first_port" -e "DROP KEYSPACE IF EXISTS $KEYSPACE" >/dev/null 2>&1 \
            || log "could not drop keyspace $KEYSPACE"
    fi
done

python3 - "$WORK/results" "${CASSANDRA:-cqlnode}" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
database = "Cassandra" if sys.argv[2] != "cqlnode" else "node"
print()
print("per job: LWTs, batches, other requests (plain writes and reads), all CQL requests; CPU of the workers and of the database")
print("%-8s %-7s %8s %10s %8s %8s %8s %8s %18s %16s %11s %9s" % ("workers", "phase", "jobs", "jobs/s", "LWT/job", "batch/job",
      "plain/job", "CQL/job", "worker CPU us/job", database + " CPU us/job", "worker CPU", database + " CPU"))
for r in rows:
    for phase, f in (("create", r["create"]), ("run", r)):
        print("%-8d %-7s %8d %10.0f %8.3f %8.3f %8.3f %8.3f %18.1f %16.1f %10.0f%% %8.0f%%" % (r["workers"], phase, r["jobs"] if phase == "create" else r["runs"],
              f["jobs_per_s"], f["lwt_per_job"], f["batch_per_job"], f["plain_per_job"], f["cql_per_job"], f["worker_cpu_us_per_job"],
              f["node_cpu_us_per_job"], 100 * f["worker_cpu_share"], 100 * f["node_cpu_share"]))
    total = r["create"]["node_cpu_us_per_job"] + r["node_cpu_us_per_job"]
    print("%-8d %-7s %8s %10s %8.3f %8.3f %8.3f %8.3f %18.1f %16.1f" % (r["workers"], "total", "", "", r["create"]["lwt_per_job"] + r["lwt_per_job"],
          r["create"]["batch_per_job"] + r["batch_per_job"], r["create"]["plain_per_job"] + r["plain_per_job"],
          r["create"]["cql_per_job"] + r["cql_per_job"], r["create"]["worker_cpu_us_per_job"] + r["worker_cpu_us_per_job"], total))
for r in rows:
    # Per job at two decimals: shard-lease renewals (a few LWTs a second per worker) add a few thousandths.
    goals = [("LWT/job <= 2", round(r["lwt_per_job"], 2) <= 2.0), ("CQL/job <= 5", round(r["cql_per_job"], 2) <= 5.0)]
    if database == "node":
        goals += [("worker + node CPU/job <= 200 us", r["worker_cpu_us_per_job"] + r["node_cpu_us_per_job"] <= 200),
                  ("10,000 jobs/s", r["jobs_per_s"] >= 10000)]
    else:
        goals += [("Cassandra CPU/job (create + run) <= 1.5 ms", r["create"]["node_cpu_us_per_job"] + r["node_cpu_us_per_job"] <= 1500)]
    print("%d worker(s): " % r["workers"] + "; ".join("%s %s" % (name, "met" if ok else "NOT met") for name, ok in goals))
PY
if [[ -s "$WORK/tables" ]]; then
    echo
    echo "per job, over creation and run (nodetool tablestats: local reads and writes of each table on the first host)"
    printf '%-8s %-40s %10s %10s\n' workers table reads/job writes/job
    cat "$WORK/tables"
fi
