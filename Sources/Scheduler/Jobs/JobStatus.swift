/// A job's or run's status, spelled as the API shows it.
public enum JobStatus: String, CaseIterable, Hashable, Sendable, Codable {
    /// Stored, not activated.
    case created
    /// Activated; a run is waiting in the queue for its due time.
    case queued
    /// A worker has claimed the run and is executing it.
    case running
    /// The last run finished successfully.
    case succeeded
    /// The last run failed and no attempts are left.
    case failed
    /// The last run exceeded `max_duration_seconds`.
    case timedOut = "timed_out"
    /// The job was cancelled; it does not run again.
    case cancelled
    /// Paused by `POST /jobs/{id}/pause`: no run is queued until `POST /jobs/{id}/resume`.
    case paused

    /// Whether a run is pending or in progress (activating again answers 409).
    public var isActive: Bool {
        switch self {
        case .queued, .running: return true
        case .created, .succeeded, .failed, .timedOut, .cancelled, .paused: return false
        }
    }

    /// Whether the job is done with for now: no run pending or in progress, nothing paused
    /// (only such jobs can be purged).
    public var isFinished: Bool {
        switch self {
        case .succeeded, .failed, .timedOut, .cancelled: return true
        case .created, .queued, .running, .paused: return false
        }
    }

    /// The status a job takes when a run ends with `outcome`.
    public init(_ outcome: RunOutcome) {
        switch outcome {
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        case .timedOut: self = .timedOut
        case .cancelled: self = .cancelled
        }
    }
}

/// How an executed run ended; the `outcome` label of `scheduler_runs_total`.
public enum RunOutcome: String, CaseIterable, Hashable, Sendable, Codable {
    /// The handler returned.
    case succeeded
    /// The handler threw.
    case failed
    /// The run exceeded its deadline and was cancelled.
    case timedOut = "timed_out"
    /// The run was cancelled (job cancelled, or the worker shut down and handed it back).
    case cancelled
}
