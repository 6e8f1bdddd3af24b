import Metrics

/// The scheduler's metrics (names fixed by DESIGN.md), each registered once with one label set.
/// What each one means, its HELP text and its histogram buckets are in the worker's `MetricCatalog` (WorkerServer).
struct SchedulerMetrics: Sendable {
    private let factory: any MetricsFactory
    /// `scheduler_jobs_created_total`.
    let jobsCreated: Counter
    /// `scheduler_queue_lag_seconds`: claim time minus due time.
    let queueLag: Recorder
    /// `scheduler_lock_acquisitions_total{result}`.
    let lockAcquisitions: [String: Counter]
    /// `scheduler_lease_losses_total`.
    let leaseLosses: Counter
    /// `scheduler_stale_completions_total`.
    let staleCompletions: Counter
    /// `scheduler_owned_shards`.
    let ownedShards: Gauge
    /// `scheduler_jobs_running`: runs claimed or executing on this worker.
    let jobsRunning: Gauge
    /// `scheduler_jobs_queued`: due entries the poller saw waiting in this worker's shards.
    let jobsQueued: Gauge

    /// Registers every metric with `factory` (never the global system); the per-kind series of
    /// `kinds` start at zero, so a rate over them exists before the first run.
    init(factory: any MetricsFactory, kinds: Set<String> = []) {
        self.factory = factory
        jobsCreated = Counter(label: "scheduler_jobs_created_total", dimensions: [], factory: factory)
        queueLag = Recorder(label: "scheduler_queue_lag_seconds", dimensions: [], aggregate: true, factory: factory)
        var locks: [String: Counter] = [:]
        for result in ["acquired", "busy", "error"] {
            locks[result] = Counter(label: "scheduler_lock_acquisitions_total", dimensions: [("result", result)], factory: factory)
        }
        lockAcquisitions = locks
        leaseLosses = Counter(label: "scheduler_lease_losses_total", dimensions: [], factory: factory)
        staleCompletions = Counter(label: "scheduler_stale_completions_total", dimensions: [], factory: factory)
        ownedShards = Gauge(label: "scheduler_owned_shards", dimensions: [], factory: factory)
        jobsRunning = Gauge(label: "scheduler_jobs_running", dimensions: [], factory: factory)
        jobsQueued = Gauge(label: "scheduler_jobs_queued", dimensions: [], factory: factory)
        for kind in kinds.sorted() {
            _ = runsStartedCounter(kind: kind)
            _ = retriesCounter(kind: kind)
            for outcome in RunOutcome.allCases { _ = runsCounter(kind: kind, outcome: outcome) }
        }
    }

    /// Counts a lock acquisition attempt by result (`acquired`, `busy`, `error`).
    func lockAcquisition(_ result: String) { lockAcquisitions[result]?.increment() }

    /// Counts a claimed run and its queue lag (claim time minus due time, in seconds).
    func runStarted(kind: String, lagSeconds: Double) {
        runsStartedCounter(kind: kind).increment()
        queueLag.record(max(0, lagSeconds))
    }

    /// Counts a run's recorded end by kind and outcome, with its duration when it was timed.
    func runEnded(kind: String, outcome: RunOutcome, seconds: Double? = nil) {
        runsCounter(kind: kind, outcome: outcome).increment()
        if let seconds {
            Recorder(label: "scheduler_run_duration_seconds", dimensions: [("kind", kind), ("outcome", outcome.rawValue)],
                     aggregate: true, factory: factory).record(max(0, seconds))
        }
    }

    /// Counts a failed or timed-out run whose job is queued again for another try.
    func retried(kind: String) { retriesCounter(kind: kind).increment() }

    // The factory hands back the registered series for a known label set, so these are lookups after the first.
    private func runsStartedCounter(kind: String) -> Counter {
        Counter(label: "scheduler_runs_started_total", dimensions: [("kind", kind)], factory: factory)
    }

    private func runsCounter(kind: String, outcome: RunOutcome) -> Counter {
        Counter(label: "scheduler_runs_total", dimensions: [("kind", kind), ("outcome", outcome.rawValue)], factory: factory)
    }

    private func retriesCounter(kind: String) -> Counter {
        Counter(label: "scheduler_retries_total", dimensions: [("kind", kind)], factory: factory)
    }
}
