/// One metric family the worker exposes on `GET /metrics`: its name, type, labels, HELP text
/// and, for histograms, the bucket upper bounds (in seconds).
public struct MetricDescription: Sendable, Hashable {
    /// The Prometheus type of the family.
    public enum Kind: String, Sendable, Hashable {
        case counter, gauge, histogram
    }

    /// The family name, as exposed.
    public let name: String
    /// Counter, gauge or histogram.
    public let kind: Kind
    /// The label names its series carry.
    public let labels: [String]
    /// The `# HELP` text.
    public let help: String
    /// Histogram bucket upper bounds in seconds; nil for the library default (or for a non-histogram).
    public let buckets: [Double]?

    init(_ name: String, _ kind: Kind, labels: [String] = [], buckets: [Double]? = nil, _ help: String) {
        self.name = name
        self.kind = kind
        self.labels = labels
        self.help = help
        self.buckets = buckets
    }
}

/// Every metric family of the worker, the single source of their HELP texts and buckets
/// (``DocumentedMetricsFactory`` applies them, the README's metrics table lists them, and a test
/// checks that `/metrics` serves no family without HELP).
public enum MetricCatalog {
    /// `scheduler_queue_lag_seconds`: 1 ms to 1 h.
    public static let queueLagBuckets: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
    ]

    /// `scheduler_run_duration_seconds`: 10 ms to 7 days (the longest `max_duration_seconds`).
    public static let runDurationBuckets: [Double] = [
        0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400,
        172_800, 345_600, 604_800,
    ]

    /// Every family, in the README's order.
    public static let all: [MetricDescription] = [
        // Scheduler.
        MetricDescription("scheduler_jobs_created_total", .counter,
                          "Jobs created through this worker's API (a replayed idempotency key is not counted)."),
        MetricDescription("scheduler_runs_started_total", .counter, labels: ["kind"],
                          "Runs this worker claimed, by job kind."),
        MetricDescription("scheduler_runs_total", .counter, labels: ["kind", "outcome"],
                          "Runs whose end this worker recorded, by job kind and outcome (succeeded, failed, timed_out, cancelled)."),
        MetricDescription("scheduler_run_duration_seconds", .histogram, labels: ["kind", "outcome"], buckets: runDurationBuckets,
                          "Time from a run's claim to its recorded end, by job kind and outcome."),
        MetricDescription("scheduler_queue_lag_seconds", .histogram, buckets: queueLagBuckets,
                          "Time from a run's due time to its claim by this worker."),
        MetricDescription("scheduler_retries_total", .counter, labels: ["kind"],
                          "Failed or timed-out runs whose job was queued again for another attempt after its backoff, by job kind."),
        MetricDescription("scheduler_jobs_running", .gauge,
                          "Runs in flight on this worker: being claimed or executing."),
        MetricDescription("scheduler_jobs_queued", .gauge,
                          "Due queue entries of this worker's shards that its poller last saw waiting for a free run slot; "
                              + "it reads at most twice its free slots per minute bucket, so a large backlog shows as a lower bound."),
        MetricDescription("scheduler_lock_acquisitions_total", .counter, labels: ["result"],
                          "Shard lease acquisition attempts by result (acquired, busy, error)."),
        MetricDescription("scheduler_lease_losses_total", .counter,
                          "Shard leases this worker held and lost (renewal refused or expired)."),
        MetricDescription("scheduler_stale_completions_total", .counter,
                          "Run ends not recorded because a newer run or a reclaim had fenced the run out, or its run lease was lost."),
        MetricDescription("scheduler_owned_shards", .gauge,
                          "Shards whose lease this worker holds."),
        // CQL client.
        MetricDescription("cql_requests_total", .counter, labels: ["kind"],
                          "CQL requests sent, by kind (query, execute, batch, prepare)."),
        MetricDescription("cql_request_errors_total", .counter, labels: ["kind"],
                          "CQL requests that failed (error answer, timeout or connection loss), by kind."),
        MetricDescription("cql_request_duration_seconds", .histogram, labels: ["kind"],
                          "CQL request latency from send to answer, by kind."),
        MetricDescription("cql_lwt_requests_total", .counter,
                          "Conditional (lightweight transaction) requests sent."),
        MetricDescription("cql_lwt_outcome_unknown_total", .counter,
                          "Conditional requests whose outcome stayed unknown (timeout or connection lost after sending)."),
        MetricDescription("cql_speculative_executions_total", .counter,
                          "Speculative executions started besides a request's first."),
        MetricDescription("cql_retry_decisions_total", .counter, labels: ["error", "decision"],
                          "Retry policy decisions by the error that prompted them and the decision taken."),
        // HTTP.
        MetricDescription("worker_http_requests_total", .counter, labels: ["method", "route", "status"],
                          "HTTP requests answered, by method, route template and status code."),
        MetricDescription("worker_http_request_duration_seconds", .histogram, labels: ["method", "route"],
                          "HTTP request latency, by method and route template."),
    ] + ProcessMetrics.descriptions

    private static let byName: [String: MetricDescription] = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    /// The description of a family, nil for a name not in the catalog.
    public static func description(of name: String) -> MetricDescription? { byName[name] }
}
