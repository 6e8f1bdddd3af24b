import Metrics

/// The scheduler's metrics (names fixed by DESIGN.md), each registered once with one label set.
struct SchedulerMetrics: Sendable {
    /// `scheduler_jobs_created_total`.
    let jobsCreated: Counter
    /// `scheduler_runs_started_total`.
    let runsStarted: Counter
    /// `scheduler_runs_total{outcome}`, one counter per outcome.
    let runs: [RunOutcome: Counter]
    /// `scheduler_run_duration_seconds`.
    let runDuration: Metrics.Timer
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

    /// Registers every metric with `factory` (never the global system).
    init(factory: any MetricsFactory) {
        jobsCreated = Counter(label: "scheduler_jobs_created_total", dimensions: [], factory: factory)
        runsStarted = Counter(label: "scheduler_runs_started_total", dimensions: [], factory: factory)
        var runs: [RunOutcome: Counter] = [:]
        for outcome in RunOutcome.allCases {
            runs[outcome] = Counter(label: "scheduler_runs_total", dimensions: [("outcome", outcome.rawValue)], factory: factory)
        }
        self.runs = runs
        runDuration = Metrics.Timer(label: "scheduler_run_duration_seconds", dimensions: [], factory: factory)
        queueLag = Recorder(label: "scheduler_queue_lag_seconds", dimensions: [], aggregate: true, factory: factory)
        var locks: [String: Counter] = [:]
        for result in ["acquired", "busy", "error"] {
            locks[result] = Counter(label: "scheduler_lock_acquisitions_total", dimensions: [("result", result)], factory: factory)
        }
        lockAcquisitions = locks
        leaseLosses = Counter(label: "scheduler_lease_losses_total", dimensions: [], factory: factory)
        staleCompletions = Counter(label: "scheduler_stale_completions_total", dimensions: [], factory: factory)
        ownedShards = Gauge(label: "scheduler_owned_shards", dimensions: [], factory: factory)
    }

    /// Counts a lock acquisition attempt by result (`acquired`, `busy`, `error`).
    func lockAcquisition(_ result: String) { lockAcquisitions[result]?.increment() }

    /// Counts an executed run by outcome.
    func run(_ outcome: RunOutcome) { runs[outcome]?.increment() }
}
