#!/usr/bin/env python3
"""Cassandra CPU per request, for each kind of request the scheduler sends (issue 17).

Drives each kind alone (prepared, LOCAL_QUORUM / LOCAL_SERIAL, as the worker sends them, up to
--concurrency in flight) against a node running on this machine, and divides the Cassandra
process's CPU (/proc/PID/stat utime + stime) by the count, after subtracting the node's idle CPU
rate measured just before. Statement texts are the worker's (Sources/Scheduler/Store/JobStore.swift);
the tables come from infra/schema.cql, in a fresh keyspace (cost_<time>) dropped at the end.
Cassandra's CPU per request falls as the request rate rises (fixed thread hand-off costs), so each
line reports the rate it ran at. Needs the DataStax driver (pip install cassandra-driver).
"""
import argparse, collections, datetime, os, subprocess, sys, time, uuid

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """utime + stime of the processes, in seconds."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def listener_pid(host, port):
    """The pid of the local process listening on host:port (ss), as bench_scheduler.sh finds it."""
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[3] in (f"{host}:{port}", f"0.0.0.0:{port}", f"*:{port}") and "pid=" in line:
            return int(line.split("pid=")[1].split(",")[0])
    sys.exit(f"cql_costs: no local process listens on {host}:{port} (give --pid)")


def schema_statements(path, ks):
    text = open(path).read()
    lines = []
    for line in text.splitlines():
        if line.strip().startswith("--"):
            continue
        lines.append(line.split("--")[0] if "replication:embedded" not in line else line.split("; --")[0] + ";")
    for stmt in "\n".join(lines).split(";"):
        stmt = " ".join(stmt.split())
        if not stmt or stmt.startswith("CREATE KEYSPACE"):
            continue
        yield stmt.replace("scheduler.", ks + ".")


KINDS = ["insert_job", "insert_entry", "insert_index", "update_history", "delete_entry", "select_job", "range_1_0", "range_16_0",
         "range_128_0", "range_16_512", "lwt_insert", "lwt_insert_job", "lwt_claim", "lwt_end", "unlogged_batch", "logged_batch",
         "unlogged_batch4", "logged_batch2", "cas_batch32"]


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1", help="the node (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=9042)
    ap.add_argument("--pid", help="the Cassandra processes whose CPU is summed, comma-separated (default: the one listening on HOST:PORT)")
    ap.add_argument("--rf", type=int, default=1, help="replication factor of the keyspace (SimpleStrategy; default 1)")
    ap.add_argument("--n", type=int, default=4000, help="requests per kind (range reads: a quarter)")
    ap.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    ap.add_argument("--schema", default=os.path.join(root, "infra/schema.cql"))
    ap.add_argument("--idle", type=float, default=3.0, help="seconds of idle CPU measured before each kind")
    ap.add_argument("kinds", nargs="*", help="kinds to run (default all): " + ", ".join(KINDS))
    args = ap.parse_args()
    from cassandra import ConsistencyLevel
    from cassandra.cluster import Cluster
    from cassandra.query import BatchStatement, BatchType
    pid = [int(p) for p in args.pid.split(",")] if args.pid else [listener_pid(args.host, args.port)]
    ks = "cost_" + time.strftime("%H%M%S")
    cluster = Cluster([args.host], port=args.port, protocol_version=4)
    s = cluster.connect()
    s.default_timeout = 30
    s.execute(f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': {args.rf}}}")
    for stmt in schema_statements(args.schema, ks):
        s.execute(stmt)
    s.set_keyspace(ks)

    def prep(cql):
        p = s.prepare(cql)
        p.consistency_level = ConsistencyLevel.LOCAL_QUORUM
        p.serial_consistency_level = ConsistencyLevel.LOCAL_SERIAL
        return p

    insert_job = prep("INSERT INTO jobs (job_id, kind, schedule, timezone, payload, max_duration_seconds, max_attempts, idempotency_key, status, attempt, tries, next_due_at, queue_shard, queue_bucket, created_at, updated_at, backoff_initial_seconds, backoff_max_seconds, backoff_multiplier) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    select_job = prep("SELECT job_id, kind, schedule, timezone, payload, max_duration_seconds, max_attempts, idempotency_key, status, attempt, tries, next_due_at, queue_shard, queue_bucket, last_fire_at, lease_owner, lease_expires_at, started_at, finished_at, last_outcome, last_error, created_at, updated_at, revision, paused, paused_due_at FROM jobs WHERE job_id = ?")
    claim = prep("UPDATE jobs SET status = ?, attempt = ?, tries = ?, lease_owner = ?, lease_expires_at = ?, started_at = ?, finished_at = null, last_fire_at = ?, updated_at = ? WHERE job_id = ? IF attempt = ? AND status = ? AND next_due_at = ?")
    end = prep("UPDATE jobs SET status = ?, tries = ?, next_due_at = ?, queue_shard = ?, queue_bucket = ?, lease_owner = null, lease_expires_at = null, paused = null, paused_due_at = null, finished_at = ?, last_outcome = ?, last_error = ?, updated_at = ? WHERE job_id = ? IF attempt = ? AND status = ? AND revision = ?")
    insert_key = prep("INSERT INTO idempotency_keys (idempotency_key, job_id, request_hash, created_at) VALUES (?, ?, ?, ?) IF NOT EXISTS")
    insert_job_ine = prep("INSERT INTO jobs (job_id, kind, schedule, timezone, payload, max_duration_seconds, max_attempts, idempotency_key, status, attempt, tries, next_due_at, queue_shard, queue_bucket, created_at, updated_at, backoff_initial_seconds, backoff_max_seconds, backoff_multiplier) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS")
    insert_entry = prep("INSERT INTO jobs_sharded (shard, bucket, due_at, job_id, attempt, enqueued_at, kind, schedule, timezone, payload, max_duration_seconds, max_attempts, tries, revision, backoff_initial_seconds, backoff_max_seconds, backoff_multiplier) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    delete_entry = prep("DELETE FROM jobs_sharded WHERE shard = ? AND bucket = ? AND due_at = ? AND job_id = ?")
    select_due = prep("SELECT shard, bucket, due_at, job_id, attempt, kind, schedule, timezone, payload, max_duration_seconds, max_attempts, tries, revision, backoff_initial_seconds, backoff_max_seconds, backoff_multiplier FROM jobs_sharded WHERE shard = ? AND bucket = ? AND due_at <= ? LIMIT ?")
    insert_index = prep("INSERT INTO jobs_by_status (status, slot, job_id, updated_at) VALUES (?, ?, ?, ?)")
    insert_queued_index = prep("INSERT INTO jobs_by_status (status, slot, job_id, updated_at, next_due_at) VALUES (?, ?, ?, ?, ?)")
    delete_index = prep("DELETE FROM jobs_by_status WHERE status = ? AND slot = ? AND job_id = ?")
    insert_history = prep("INSERT INTO job_history (job_id, attempt, scheduled_at, started_at, status, worker_id) VALUES (?, ?, ?, ?, ?, ?) USING TTL 2592000")
    finish_history = prep("UPDATE job_history USING TTL 2592000 SET finished_at = ?, status = ?, output = ?, error = ?, exit_code = ?, http_status = ? WHERE job_id = ? AND attempt = ?")

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    bucket = now.replace(second=0)
    n = args.n
    ids = [uuid.uuid4() for _ in range(n)]

    def job_row(i, jid):
        return (jid, "noop", "now", "UTC", "{}", 60, 1, f"k{i}", "queued", 0, 0, now, i % 16, bucket, now, now, None, None, None)

    def entry_row(i, jid, shard=None):
        return (shard if shard is not None else i % 16, bucket, now, jid, 0, now, "noop", "now", "UTC", "{}", 60, 1, 0, None, None, None, None)

    def run(stmt, params, concurrency=None):
        return run_batches([stmt.bind(p) for p in params], concurrency)

    def batch(kind, stmts):
        """A batch of (prepared statement, values) at the scheduler's consistency."""
        b = BatchStatement(batch_type=kind, consistency_level=ConsistencyLevel.LOCAL_QUORUM)
        for stmt, params in stmts:
            b.add(stmt, params)
        return b

    def run_batches(batches, concurrency=None):
        futures = collections.deque()
        done = 0
        window = concurrency or args.concurrency
        for b in batches:
            futures.append(s.execute_async(b))
            if len(futures) >= window:
                futures.popleft().result()
                done += 1
        for f in futures:
            f.result()
            done += 1
        return done

    def measure(name, setup, action, per=1, note=""):
        setup()
        time.sleep(0.5)
        c0 = cpu_seconds(pid); t0 = time.time()
        time.sleep(args.idle)
        idle_rate = (cpu_seconds(pid) - c0) / (time.time() - t0)
        c1 = cpu_seconds(pid); t1 = time.time()
        count = action()
        wall = time.time() - t1
        cpu = cpu_seconds(pid) - c1
        net = max(0.0, cpu - idle_rate * wall)
        print(f"| {name} | {count} | {count / wall:,.0f} | {cpu / count * 1e6:,.0f} | {net / count * 1e6:,.0f} | {idle_rate * 100:.0f}% | {note} |", flush=True)

    state = {}
    kinds = {}

    # Plain single-row INSERT of a job row (19 columns), the creation's row write.
    kinds["insert_job"] = lambda: measure("plain INSERT jobs row (19 cols)", lambda: None,
                                          lambda: run(insert_job, [job_row(i, j) for i, j in enumerate(ids)]))
    # Plain INSERT of a queue entry (17 columns).
    kinds["insert_entry"] = lambda: measure("plain INSERT jobs_sharded entry (17 cols)", lambda: None,
                                            lambda: run(insert_entry, [entry_row(i, j) for i, j in enumerate(ids)]))
    # Plain INSERT of a status-index entry.
    kinds["insert_index"] = lambda: measure("plain INSERT jobs_by_status entry", lambda: None,
                                            lambda: run(insert_queued_index, [("queued", i % 16, j, now, now) for i, j in enumerate(ids)]))
    # Plain UPDATE of a history row (the completion's history write alone).
    kinds["update_history"] = lambda: measure("plain UPDATE job_history end", lambda: None,
                                              lambda: run(finish_history, [(now, "succeeded", None, None, None, None, j, 1) for j in ids]))
    # Plain DELETE of a queue entry.
    kinds["delete_entry"] = lambda: measure("plain DELETE jobs_sharded entry", lambda: None,
                                            lambda: run(delete_entry, [(i % 16, bucket, now, j) for i, j in enumerate(ids)]))
    # Single-partition read of a job row (existing rows).
    kinds["select_job"] = lambda: measure("read jobs row by key", lambda: run(insert_job, [job_row(i, j) for i, j in enumerate(ids)]),
                                          lambda: run(select_job, [(j,) for j in ids]))

    # The poller's read of a queue partition: P live entries, LIMIT 512 (256 runs' capacity x 2).
    def range_setup(live, dead):
        def setup():
            rows = [entry_row(0, uuid.uuid4(), shard=900 + live % 97) for _ in range(live + dead)]
            run(insert_entry, rows)
            run(delete_entry, [(r[0], r[1], r[2], r[3]) for r in rows[live:]])
        return setup
    for live, dead in ((1, 0), (16, 0), (128, 0), (16, 512)):
        kinds[f"range_{live}_{dead}"] = (lambda live=live, dead=dead: measure(
            f"poller range read, {live} live + {dead} deleted rows", range_setup(live, dead),
            lambda: run(select_due, [(900 + live % 97, bucket, now, 512)] * (n // 4), concurrency=16), note=f"n={n // 4}"))

    # LWT INSERT IF NOT EXISTS (the idempotency key), new keys: applied.
    kinds["lwt_insert"] = lambda: measure("LWT INSERT idempotency_keys IF NOT EXISTS (applied)", lambda: None,
                                          lambda: run(insert_key, [(f"key-{j}", j, "abc", now) for j in ids]))
    # LWT INSERT IF NOT EXISTS of a job row.
    kinds["lwt_insert_job"] = lambda: measure("LWT INSERT jobs IF NOT EXISTS (applied)", lambda: None,
                                              lambda: run(insert_job_ine, [job_row(i, j) for i, j in enumerate(ids)]))

    # LWT UPDATE ... IF: the claim, then the end, on existing rows (both applied).
    claim_ids = [uuid.uuid4() for _ in range(n)]
    kinds["lwt_claim"] = lambda: measure("LWT UPDATE jobs ... IF (claim, applied)",
                                         lambda: run(insert_job, [job_row(i, j) for i, j in enumerate(claim_ids)]),
                                         lambda: run(claim, [("running", 1, 1, "w1", now, now, now, now, j, 0, "queued", now) for j in claim_ids]))
    kinds["lwt_end"] = lambda: measure("LWT UPDATE jobs ... IF (end, applied)", lambda: None,
                                       lambda: run(end, [("succeeded", 1, None, None, None, now, "succeeded", None, now, j, 1, "running", None) for j in claim_ids]))

    # The claim's follow-up: unlogged batch over 3 partitions (queue entry delete, history insert, running index).
    def claim_batch(i, j):
        return batch(BatchType.UNLOGGED, [(delete_entry, (i % 16, bucket, now, j)),
                                          (insert_history, (j, 1, now, now, "running", "w1")),
                                          (insert_index, ("running", i % 16, j, now))])
    kinds["unlogged_batch"] = lambda: measure("UNLOGGED batch, 3 partitions (claim follow-up)", lambda: None,
                                              lambda: run_batches([claim_batch(i, j) for i, j in enumerate(ids)]))

    # The completion: logged batch over 4 partitions (history end, 2 index deletes, 1 index insert).
    def end_batch(i, j, kind):
        return batch(kind, [(finish_history, (now, "succeeded", None, None, None, None, j, 1)),
                            (delete_index, ("running", i % 16, j)),
                            (delete_index, ("queued", i % 16, j)),
                            (insert_index, ("succeeded", i % 16, j, now))])
    kinds["logged_batch"] = lambda: measure("LOGGED batch, 4 partitions (completion)", lambda: None,
                                            lambda: run_batches([end_batch(i, j, BatchType.LOGGED) for i, j in enumerate(ids)]))
    kinds["unlogged_batch4"] = lambda: measure("UNLOGGED batch, same 4 statements", lambda: None,
                                               lambda: run_batches([end_batch(i, j, BatchType.UNLOGGED) for i, j in enumerate(ids)]))
    # A logged batch of 2 partitions (history end + one index insert).
    kinds["logged_batch2"] = lambda: measure("LOGGED batch, 2 partitions", lambda: None,
                                             lambda: run_batches([batch(BatchType.LOGGED, [(finish_history, (now, "succeeded", None, None, None, None, j, 1)),
                                                                                          (insert_index, ("succeeded", i % 16, j, now))]) for i, j in enumerate(ids)]))
    # Conditional batch on ONE queue partition: claims of 32 entries with one Paxos round (the batch-claim redesign).
    def cas_batch_setup():
        rows = [entry_row(0, uuid.uuid4(), shard=2000 + k // 32) for k in range(n)]
        state["cas_rows"] = rows
        run(insert_entry, rows)
    cas_update = prep("UPDATE jobs_sharded SET attempt = ? WHERE shard = ? AND bucket = ? AND due_at = ? AND job_id = ? IF attempt = ?")
    def cas_batches():
        rows = state["cas_rows"]
        bs = []
        for k in range(0, len(rows), 32):
            b = BatchStatement(batch_type=BatchType.UNLOGGED, consistency_level=ConsistencyLevel.LOCAL_QUORUM,
                               serial_consistency_level=ConsistencyLevel.LOCAL_SERIAL)
            for r in rows[k:k + 32]:
                b.add(cas_update, (1, r[0], r[1], r[2], r[3], 0))
            bs.append(b)
        run_batches(bs)
        return len(bs)
    kinds["cas_batch32"] = lambda: measure("conditional batch, 1 queue partition, 32 rows (per batch)", cas_batch_setup, cas_batches,
                                           note="per batch of 32 claims")

    assert sorted(kinds) == sorted(KINDS), sorted(kinds)
    wanted = args.kinds or KINDS
    print(f"Cassandra pids {pid}, keyspace {ks} (RF {args.rf}), n={n}, concurrency={args.concurrency}, load {os.getloadavg()[0]:.1f}")
    print("| request | count | req/s | Cassandra CPU us/req (gross) | net of idle | idle CPU | note |")
    print("|---|---|---|---|---|---|---|")
    for k in wanted:
        kinds[k]()
    print(f"load average after: {os.getloadavg()}")
    s.execute(f"DROP KEYSPACE {ks}")
    cluster.shutdown()


if __name__ == "__main__":
    main()
