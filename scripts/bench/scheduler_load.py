#!/usr/bin/env python3
"""Load driver of scripts/bench_scheduler.sh and scripts/bench_worker_memory.sh (stdlib only).

  submit   POST N jobs with "run": true, spread over the workers' URLs by a pool of processes,
           each keeping one HTTP/1.1 connection per worker; prints {"submitted", "seconds", "errors"}.
  window   submits N noop jobs all due at one RFC 3339 time in the future, waits for that time,
           snapshots every worker's /metrics and the CPU time of every process, waits until the
           workers have executed N runs, snapshots again and prints the window's figures as JSON.
           The submission is measured the same way (its own figures under "create"); with
           --idempotency-keys every job carries a key of its own (one more LWT per creation).

Submission goes through the workers (REST creation costs CQL requests and worker CPU), so the
window starts only after the last job is created: the jobs are due at a future time, and the
"before" snapshot is taken at that time, when the workers have nothing but these N jobs to run.
"""
import argparse
import datetime
import http.client
import json
import multiprocessing
import os
import sys
import time
import urllib.parse

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of PID in seconds (fields 14 and 15 of /proc/PID/stat; the name may hold spaces)."""
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid):
    """VmRSS of PID in MB."""
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def scrape(url):
    """A worker's /metrics as {name{labels}: value}, plus per-name sums under 'name'."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("GET", "/metrics")
    body = connection.getresponse().read().decode()
    connection.close()
    samples = {}
    for line in body.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        try:
            number = float(value)
        except ValueError:
            continue
        samples[key] = number
        name = key.split("{", 1)[0]
        if name != key:
            samples[name] = samples.get(name, 0.0) + number
    return samples


def runs_executed(samples):
    """Executed runs: scheduler_runs_total over every outcome."""
    return samples.get("scheduler_runs_total", 0.0)


def _submit_slice(arguments):
    urls, body, count, offset, keyed = arguments
    connections = {}
    errors = 0
    if keyed:
        template = json.loads(body)
        prefix = "bench-%d-%d-%d-" % (os.getpid(), offset, time.time_ns())
    for i in range(count):
        if keyed:
            template["idempotency_key"] = prefix + str(i)
            body = json.dumps(template).encode()
        url = urls[(offset + i) % len(urls)]
        if url not in connections:
            parts = urllib.parse.urlsplit(url)
            connections[url] = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        connection = connections[url]
        try:
            connection.request("POST", "/jobs", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 201:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connections.pop(url, None)
    for connection in connections.values():
        connection.close()
    return errors


def submit(urls, jobs, body, processes, keyed=False):
    """Creates `jobs` jobs from `body` over `urls` with `processes` submitters, each job with an
    idempotency key of its own when `keyed`; (seconds, errors)."""
    share, extra = divmod(jobs, processes)
    slices = [(urls, body, share + (1 if i < extra else 0), i, keyed) for i in range(processes)]
    started = time.monotonic()
    with multiprocessing.Pool(processes) as pool:
        errors = sum(pool.map(_submit_slice, [s for s in slices if s[2] > 0]))
    return time.monotonic() - started, errors


def job_body(schedule, kind="noop"):
    return json.dumps({"schedule": schedule, "kind": kind, "payload": "{}", "max_duration_seconds": 60,
                       "max_attempts": 1, "run": True}).encode()


def rfc3339(epoch_seconds):
    return datetime.datetime.fromtimestamp(epoch_seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def snapshot(urls, worker_pids, node_pids):
    return {
        "time": time.monotonic(),
        "metrics": [scrape(url) for url in urls],
        "worker_cpu": [cpu_seconds(pid) for pid in worker_pids],
        "node_cpu": sum(cpu_seconds(pid) for pid in node_pids),
    }


def figures(before, after, jobs):
    """Per-job figures between two snapshots, `jobs` being the jobs created or run in between."""
    def delta(name):
        return sum(a.get(name, 0.0) - b.get(name, 0.0) for a, b in zip(after["metrics"], before["metrics"]))

    elapsed = after["time"] - before["time"]
    worker_cpu = sum(a - b for a, b in zip(after["worker_cpu"], before["worker_cpu"]))
    node_cpu = after["node_cpu"] - before["node_cpu"]
    per_job = max(jobs, 1)
    return {
        "seconds": elapsed,
        "jobs_per_s": jobs / elapsed,
        "lwt_per_job": delta("cql_lwt_requests_total") / per_job,
        "cql_per_job": delta("cql_requests_total") / per_job,
        "batch_per_job": delta('cql_requests_total{kind="batch"}') / per_job,
        # Executions that are neither LWTs nor batches: plain writes and reads.
        "plain_per_job": (delta('cql_requests_total{kind="execute"}') + delta('cql_requests_total{kind="query"}')
                          - delta("cql_lwt_requests_total")) / per_job,
        "worker_cpu_us_per_job": worker_cpu * 1e6 / per_job,
        "node_cpu_us_per_job": node_cpu * 1e6 / per_job,
        "worker_cpu_share": worker_cpu / elapsed,
        "node_cpu_share": node_cpu / elapsed,
    }


def window(args):
    urls = args.urls.split(",")
    worker_pids = [int(p) for p in args.worker_pids.split(",")]
    node_pids = [int(p) for p in args.node_pids.split(",") if p] if args.node_pids else []
    due = time.time() + args.lead
    created = snapshot(urls, worker_pids, node_pids)
    seconds, errors = submit(urls, args.jobs, job_body(rfc3339(due)), args.processes, args.idempotency_keys)
    submitted = snapshot(urls, worker_pids, node_pids)
    print("== submitted %d jobs in %.1fs (%.0f/s, %d errors)" % (args.jobs, seconds, args.jobs / seconds, errors),
          file=sys.stderr)
    if errors:
        sys.exit("submission failed for %d jobs" % errors)
    # Let the submission's own tail (HTTP, CQL, collectors) settle before the window opens.
    margin = due - time.time()
    if margin < 1.0:
        sys.exit("submission ended %.1fs before the jobs fell due (need >= 1s): raise --lead" % margin)
    before_runs = sum(runs_executed(scrape(url)) for url in urls)
    time.sleep(max(0.0, due - time.time()))
    before = snapshot(urls, worker_pids, node_pids)
    target = before_runs + args.jobs
    deadline = time.monotonic() + args.timeout
    while True:
        time.sleep(args.scrape_interval)
        executed = sum(runs_executed(scrape(url)) for url in urls)
        if executed >= target:
            break
        if time.monotonic() > deadline:
            sys.exit("only %d of %d runs executed within %ds" % (executed - before_runs, args.jobs, args.timeout))
    after = snapshot(urls, worker_pids, node_pids)

    runs = sum(runs_executed(m) for m in after["metrics"]) - sum(runs_executed(m) for m in before["metrics"])
    report = {"workers": len(urls), "jobs": args.jobs, "runs": runs,
              "succeeded": sum(a.get(key, 0.0) - b.get(key, 0.0) for a, b in zip(after["metrics"], before["metrics"])
                               for key in a if key.startswith("scheduler_runs_total{") and 'outcome="succeeded"' in key),
              "submit_per_s": args.jobs / seconds}
    report.update(figures(before, after, runs))
    report["create"] = figures(created, submitted, args.jobs)
    print(json.dumps(report))


def submit_command(args):
    urls = args.urls.split(",")
    seconds, errors = submit(urls, args.jobs, job_body(args.schedule, args.kind), args.processes)
    print(json.dumps({"submitted": args.jobs - errors, "seconds": seconds, "errors": errors}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    w = commands.add_parser("window", help="submit noop jobs due together, then measure their execution")
    w.add_argument("--urls", required=True, help="worker base URLs, comma-separated")
    w.add_argument("--worker-pids", required=True, help="worker process ids, comma-separated")
    w.add_argument("--node-pids", default="", help="database process ids (cqlnode or Cassandra), comma-separated")
    w.add_argument("--idempotency-keys", action="store_true", help="every job with an idempotency key of its own")
    w.add_argument("--jobs", type=int, default=20000)
    w.add_argument("--lead", type=float, default=60.0, help="seconds from now until the jobs fall due")
    w.add_argument("--processes", type=int, default=4, help="submitting processes")
    w.add_argument("--timeout", type=int, default=600, help="seconds the runs may take")
    w.add_argument("--scrape-interval", type=float, default=0.25)
    w.set_defaults(func=window)
    s = commands.add_parser("submit", help="create jobs with one schedule")
    s.add_argument("--urls", required=True)
    s.add_argument("--jobs", type=int, required=True)
    s.add_argument("--schedule", required=True, help='e.g. "2099-01-01T00:00:00Z"')
    s.add_argument("--kind", default="noop")
    s.add_argument("--processes", type=int, default=4)
    s.set_defaults(func=submit_command)
    r = commands.add_parser("rss", help="VmRSS of a process in MB")
    r.add_argument("pid", type=int)
    r.set_defaults(func=lambda a: print("%.1f" % rss_mb(a.pid)))
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
