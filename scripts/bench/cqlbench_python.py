#!/usr/bin/env python3
"""cqlbench's workloads on the DataStax Python driver (its Cython build), for side-by-side runs.

Same table (KEYSPACE.kv (key bigint PRIMARY KEY, value blob)), same prepared statements, same
closed loop: CONCURRENCY requests in flight through session.execute_async, each completion starting
the next one from its callback (on the libev reactor thread). Prints the same figures as cqlbench,
or one JSON line with the same keys (--json).

What is measured, as in cqlbench: CPU is getrusage(RUSAGE_SELF) user + system time of the whole
process (every thread, the reactor included) from the first request started after the warm-up to
the last answer, divided by the requests started in that window.

Why these choices (the fastest way to drive the driver, so the comparison flatters it, not us):
- execute_async with callbacks, not execute_concurrent_with_args: on the same node the helper costs
  ~90-110 us of CPU per prepared insert (it keeps every result and wakes the caller's condition),
  against ~50-65 us here.
- Rows as plain tuples (--row-factory tuple): the driver's default named_tuple_factory builds a new
  namedtuple class for every response with rows, ~120 us per SELECT or LWT answer, which is not
  protocol work; cqlbench keeps rows in its zero-copy row view and decodes nothing either.
  --row-factory named_tuple measures the default.
"""
import argparse
import json
import math
import os
import random
import resource
import sys
import threading
import time

from cassandra import ConsistencyLevel, __version__ as cassandra_version
from cassandra.cluster import Cluster, EXEC_PROFILE_DEFAULT, ExecutionProfile
from cassandra.policies import RoundRobinPolicy
from cassandra.query import dict_factory, named_tuple_factory, tuple_factory

ROW_FACTORIES = {"tuple": tuple_factory, "named_tuple": named_tuple_factory, "dict": dict_factory}


class Histogram:
    """Log-linear buckets like cqlbench's: exact below 128 ns, then 64 per power of two."""

    def __init__(self):
        self.counts = {}
        self.count = 0
        self.maximum = 0

    @staticmethod
    def index(value):
        if value < 128:
            return value
        shift = value.bit_length() - 7
        return 128 + (shift - 1) * 64 + ((value >> shift) - 64)

    @staticmethod
    def upper_bound(index):
        if index < 128:
            return index
        offset = index - 128
        shift = offset // 64 + 1
        return ((offset % 64 + 64 + 1) << shift) - 1

    def record(self, nanoseconds):
        i = self.index(nanoseconds)
        self.counts[i] = self.counts.get(i, 0) + 1
        self.count += 1
        if nanoseconds > self.maximum:
            self.maximum = nanoseconds

    def percentile(self, fraction):
        if not self.count:
            return 0
        rank = max(1, math.ceil(fraction * self.count))
        seen = 0
        for i in sorted(self.counts):
            seen += self.counts[i]
            if seen >= rank:
                return min(self.upper_bound(i), self.maximum)
        return self.maximum


def cpu_microseconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return int((usage.ru_utime + usage.ru_stime) * 1_000_000)


class Runner:
    def __init__(self, args, session, statements, value):
        self.args = args
        self.session = session
        self.insert, self.select, self.lwt = statements
        self.value = value
        self.histogram = Histogram()
        self.errors = 0
        self.warmup_requests = 0
        self.first_error = None
        self.in_flight = 0
        self.lock = threading.RLock()  # a callback may run inside add_callbacks when the answer came first
        self.done = threading.Event()
        self.rng = random.Random(os.getpid())
        self.lwt_key = self.rng.randrange(1 << 24) << 16
        self.cpu_at_start = None

    def next_request(self):
        args = self.args
        key = self.rng.randrange(args.rows)
        workload = args.workload
        if workload == "mixed":
            draw = self.rng.random()
            if draw < args.read_ratio:
                workload = "select"
            elif draw < args.read_ratio + args.lwt_ratio:
                workload = "lwt"
            else:
                workload = "insert"
        if workload == "insert":
            return self.insert, (key, self.value)
        if workload == "select":
            return self.select, (key,)
        self.lwt_key += 1
        return self.lwt, (-self.lwt_key, self.value)

    def start_one(self):
        """Sends the next request unless the run is over; called with the lock held."""
        begin = time.monotonic_ns()
        if begin >= self.end:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.done.set()
            return
        if begin >= self.measure_from and self.cpu_at_start is None:
            self.cpu_at_start = cpu_microseconds()
        statement, values = self.next_request()
        future = self.session.execute_async(statement, values)
        future.add_callbacks(self.on_success, self.on_error, callback_args=(begin,), errback_args=(begin,))

    def on_success(self, _rows, begin):
        now = time.monotonic_ns()
        with self.lock:
            if begin >= self.measure_from:
                self.histogram.record(now - begin)
            else:
                self.warmup_requests += 1
            self.start_one()

    def on_error(self, error, begin):
        with self.lock:
            if begin >= self.measure_from:
                self.errors += 1
            else:
                self.warmup_requests += 1
            if self.first_error is None:
                self.first_error = repr(error)
            self.start_one()

    def run(self):
        now = time.monotonic_ns()
        self.measure_from = now + int(self.args.warmup * 1e9)
        self.end = self.measure_from + int(self.args.duration * 1e9)
        with self.lock:
            self.in_flight = self.args.concurrency
            for _ in range(self.args.concurrency):
                self.start_one()
        self.done.wait(self.args.warmup + self.args.duration + 60)
        cpu_end = cpu_microseconds()
        measured = (time.monotonic_ns() - self.measure_from) / 1e9
        return cpu_end - (self.cpu_at_start if self.cpu_at_start is not None else cpu_end), measured


def populate(session, insert, value, rows, concurrency):
    """Writes every key the select workload reads (not measured)."""
    from cassandra.concurrent import execute_concurrent_with_args
    execute_concurrent_with_args(session, insert, [(key, value) for key in range(rows)], concurrency=concurrency)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9042)
    parser.add_argument("--workload", choices=["insert", "select", "lwt", "mixed"], default="insert")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--keyspace", default="cqlbench")
    parser.add_argument("--connections", type=int, default=1, help="accepted for parity; the driver uses 1")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--value-size", type=int, default=64)
    parser.add_argument("--read-ratio", type=float, default=0.8)
    parser.add_argument("--lwt-ratio", type=float, default=0.02)
    parser.add_argument("--consistency", default="ONE")
    parser.add_argument("--row-factory", choices=sorted(ROW_FACTORIES), default="tuple",
                        help="how the driver hands rows over (tuple: no class built per response)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from cassandra import cluster as cluster_module
    cython = getattr(cluster_module, "__file__", "").endswith(".so")
    if not cython:
        print("warning: the driver is not the Cython build", file=sys.stderr)

    level = ConsistencyLevel.name_to_value[args.consistency.upper()]
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), consistency_level=level, request_timeout=12,
                               row_factory=ROW_FACTORIES[args.row_factory])
    cluster = Cluster([args.host], port=args.port, protocol_version=4, compression=False,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    if args.connections != 1:
        # Protocol v3 and later: the driver keeps one connection per host (its settings apply to v1/v2 only).
        print("warning: the Python driver uses one connection per host; --connections is ignored", file=sys.stderr)
    session = cluster.connect()
    requests = 0
    session.execute("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}" % args.keyspace)
    session.execute("CREATE TABLE IF NOT EXISTS %s.kv (key bigint PRIMARY KEY, value blob)" % args.keyspace)
    insert = session.prepare("INSERT INTO %s.kv (key, value) VALUES (?, ?)" % args.keyspace)
    select = session.prepare("SELECT key, value FROM %s.kv WHERE key = ?" % args.keyspace)
    lwt = session.prepare("INSERT INTO %s.kv (key, value) VALUES (?, ?) IF NOT EXISTS" % args.keyspace)
    requests += 5
    value = bytes(i % 256 for i in range(args.value_size))
    if args.workload in ("select", "mixed"):
        populate(session, insert, value, args.rows, min(args.concurrency, args.rows))
        requests += args.rows

    runner = Runner(args, session, (insert, select, lwt), value)
    cpu, measured = runner.run()
    histogram = runner.histogram
    measured_requests = histogram.count + runner.errors
    report = {
        "client": "python-driver",
        "workload": args.workload,
        "concurrency": args.concurrency,
        "duration_s": measured,
        "ops": histogram.count,
        "ops_per_s": histogram.count / measured if measured > 0 else 0,
        "p50_us": histogram.percentile(0.50) / 1000,
        "p99_us": histogram.percentile(0.99) / 1000,
        "p999_us": histogram.percentile(0.999) / 1000,
        "max_us": histogram.maximum / 1000,
        "errors": runner.errors,
        "cpu_us_per_req": cpu / measured_requests if measured_requests else 0,
        "total_requests": requests + runner.warmup_requests + measured_requests,
        "driver": "cassandra-driver %s (%s, %s, rows as %s)" % (
            cassandra_version, "Cython" if cython else "pure Python", cluster.connection_class.__name__,
            args.row_factory),
    }
    if runner.first_error is not None:
        report["first_error"] = runner.first_error
    cluster.shutdown()
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        print("client            %s" % report["client"])
        print("workload          %s (concurrency %d, %.2f s measured)" % (args.workload, args.concurrency, measured))
        print("ops               %d" % report["ops"])
        print("ops/s             %.1f" % report["ops_per_s"])
        print("latency p50       %.1f us" % report["p50_us"])
        print("latency p99       %.1f us" % report["p99_us"])
        print("latency p999      %.1f us" % report["p999_us"])
        print("latency max       %.1f us" % report["max_us"])
        print("errors            %d" % report["errors"])
        print("client CPU/req    %.2f us" % report["cpu_us_per_req"])
        print("driver            %s" % report["driver"])
        if runner.first_error is not None:
            print("first error       %s" % runner.first_error)


if __name__ == "__main__":
    main()
