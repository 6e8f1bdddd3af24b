import Foundation

/// What the harness submitted.
public struct SubmittedJob: Sendable, Hashable {
    /// The job id, lower-case UUID text.
    public var id: String
    /// `noop` or `http`.
    public var kind: String
    /// Whether it fires every ``everySeconds``.
    public var recurring: Bool
    /// Its period when recurring.
    public var everySeconds: Int

    /// A submitted job.
    public init(id: String, kind: String, recurring: Bool, everySeconds: Int) {
        self.id = id
        self.kind = kind
        self.recurring = recurring
        self.everySeconds = everySeconds
    }
}

/// A job's row as the node has it after the run.
public struct JobState: Sendable, Hashable {
    /// Its status (`succeeded`, `running`, ...), nil when unset.
    public var status: String?
    /// Its fencing token: the last attempt claimed.
    public var attempt: Int64

    /// A state.
    public init(status: String?, attempt: Int64) {
        self.status = status
        self.attempt = attempt
    }
}

/// Everything the checker judges, gathered once the run is over.
public struct CheckInput: Sendable {
    /// The jobs submitted.
    public var jobs: [SubmittedJob]
    /// Job rows by job id.
    public var states: [String: JobState]
    /// Attempts recorded in job_history, by job id.
    public var history: [String: [Int64]]
    /// Effects in the effect server's decision order.
    public var effects: [EffectRecord]
    /// The node's LWT audit log in commit order.
    public var audit: [LWTAuditEntry]
    /// Audit lines that did not parse.
    public var malformedAuditLines = 0
    /// Whether the effect server held requests back, so stale effects are expected (once 5 were held).
    public var expectStaleEffects = false
    /// How long jobs were submitted and run, in seconds.
    public var runSeconds: Double
    /// Runs each recurring job recorded after the last fault, by job id; nil when not measured.
    public var runsAfterFaults: [String: Int]?

    /// An input.
    public init(jobs: [SubmittedJob], states: [String: JobState], history: [String: [Int64]], effects: [EffectRecord],
                audit: [LWTAuditEntry], malformedAuditLines: Int = 0, expectStaleEffects: Bool = false, runSeconds: Double,
                runsAfterFaults: [String: Int]? = nil) {
        self.jobs = jobs
        self.states = states
        self.history = history
        self.effects = effects
        self.audit = audit
        self.malformedAuditLines = malformedAuditLines
        self.expectStaleEffects = expectStaleEffects
        self.runSeconds = runSeconds
        self.runsAfterFaults = runsAfterFaults
    }
}

/// The verdict over one run: each check has figures and passes or fails.
public struct Checker: Sendable {
    /// One check's outcome.
    public struct Check: Sendable, Hashable {
        /// A short name (`terminal`, `effects`, `lock-tokens`, `lock-holders`, `run-tokens`, `recurring`, `history`).
        public var name: String
        /// Whether it passed.
        public var ok: Bool
        /// Its figures.
        public var line: String
    }

    /// Every check in order.
    public private(set) var checks: [Check] = []
    /// Checks passed.
    public var passed: Int { checks.filter(\.ok).count }
    /// Checks failed.
    public var failed: Int { checks.count - passed }

    /// Job states that end a one-shot job.
    public static let terminal: Set<String> = ["succeeded", "failed", "timed_out", "cancelled"]

    /// The lock verdict of the last ``judge(_:)``.
    public private(set) var locks = LockAuditVerdict()

    /// A checker with no checks yet.
    public init() {}

    /// The check named `name`, if it ran.
    public func check(named name: String) -> Check? { checks.first { $0.name == name } }

    /// The report: one `PASS`/`FAIL` line per check.
    public var report: [String] { checks.map { "\($0.ok ? "PASS" : "FAIL")  \($0.line)" } }

    private mutating func record(_ name: String, _ ok: Bool, _ line: String) {
        checks.append(Check(name: name, ok: ok, line: line))
    }

    /// Runs every check over `input`.
    public mutating func judge(_ input: CheckInput) {
        // 1. Every activated one-shot job reached a terminal state.
        let oneShot = input.jobs.filter { !$0.recurring }
        var byStatus: [String: Int] = [:]
        var lost: [String] = []
        for job in oneShot {
            let status = input.states[job.id]?.status ?? "missing"
            byStatus[status, default: 0] += 1
            if !Self.terminal.contains(status) { lost.append(job.id) }
        }
        let statusText = byStatus.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        record("terminal", lost.isEmpty, "terminal state: \(oneShot.count) one-shot jobs, \(lost.count) lost (\(statusText))"
               + (lost.isEmpty ? "" : "; e.g. \(lost.prefix(3).joined(separator: " "))"))

        // 2. No effect applied with a stale token: per job, in the server's decision order, an applied
        // token is never below one applied before, and every applied token is a run the node claimed.
        var highestApplied: [String: Int64] = [:]
        var highestSeen: [String: Int64] = [:]
        var staleApplied = 0
        var staleAttempted = 0
        var unclaimed = 0
        for effect in input.effects.sorted(by: { $0.sequence < $1.sequence }) {
            if let seen = highestSeen[effect.jobID], effect.token < seen { staleAttempted += 1 }
            highestSeen[effect.jobID] = max(highestSeen[effect.jobID] ?? effect.token, effect.token)
            guard effect.applied else { continue }
            if let last = highestApplied[effect.jobID], effect.token < last { staleApplied += 1 }
            highestApplied[effect.jobID] = max(highestApplied[effect.jobID] ?? effect.token, effect.token)
            let attempts = Set(input.history[effect.jobID] ?? [])
            let current = input.states[effect.jobID]?.attempt ?? 0
            if !attempts.contains(effect.token) && effect.token > current { unclaimed += 1 }
        }
        let applied = input.effects.filter(\.applied).count
        let rejected = input.effects.count - applied
        let held = input.effects.filter(\.held).count
        // A late effect is rejected unless its retry was late too or never came in time; five give that away.
        let exercised = !input.expectStaleEffects || held < 5 || rejected > 0
        record("effects", staleApplied == 0 && unclaimed == 0 && rejected == staleAttempted && exercised,
               "fenced effects: \(input.effects.count) received (\(held) delivered late), \(applied) applied, "
               + "\(staleAttempted) stale attempted, \(rejected) rejected, \(staleApplied) applied with a stale token, "
               + "\(unclaimed) with a token the node never granted" + (exercised ? "" : "; no stale effect was exercised"))

        // 3 and 4. Lock tokens and holders, judged in the node's commit order.
        let verdict = LockAuditVerdict.judge(input.audit)
        locks = verdict
        let auditOK = input.malformedAuditLines == 0 && verdict.acquires > 0
        record("lock-tokens", auditOK && verdict.tokenDecreases.isEmpty && verdict.orphanRenewals == 0,
               "lock tokens: \(input.audit.count) audited LWTs, \(verdict.locks) locks, \(verdict.acquires) acquisitions "
               + "(\(verdict.withdrawn) withdrawn), \(verdict.renewals) renewals, \(verdict.releases) releases, "
               + "\(verdict.tokenDecreases.count) token decreases, \(verdict.orphanRenewals) renewals without a lease"
               + (input.malformedAuditLines > 0 ? ", \(input.malformedAuditLines) malformed audit lines" : "")
               + (verdict.tokenDecreases.isEmpty ? "" : "; e.g. \(verdict.tokenDecreases.prefix(3).joined(separator: "; "))"))
        record("lock-holders", auditOK && verdict.overlaps.isEmpty,
               "lock holders: \(verdict.takeoversAfterExpiry) takeovers after expiry, \(verdict.acquiresAfterRelease) acquisitions "
               + "after a release, \(verdict.overlaps.count) grants while another lease was live"
               + (verdict.overlaps.isEmpty ? "" : "; e.g. \(verdict.overlaps.prefix(3).map(\.description).joined(separator: "; "))"))
        record("run-tokens", verdict.claimDecreases.isEmpty,
               "run tokens: \(verdict.claims) claims on \(verdict.claimedJobs) jobs, \(verdict.claimDecreases.count) not above the previous"
               + (verdict.claimDecreases.isEmpty ? "" : "; e.g. \(verdict.claimDecreases.prefix(3).joined(separator: "; "))"))

        // 5. Recurring jobs keep firing: through the faults (a tenth of their fires: a killed worker's run waits out
        // its run lease, a node restart costs more) and again once the faults are over.
        let recurring = input.jobs.filter(\.recurring)
        var starved: [String] = []
        var fires: [Int] = []
        for job in recurring {
            let runs = input.history[job.id]?.count ?? 0
            fires.append(runs)
            let expected = max(1, Int(input.runSeconds / Double(job.everySeconds) / 10))
            if runs < expected { starved.append("\(job.id) (\(runs) runs, expected at least \(expected))") }
            if let after = input.runsAfterFaults, after[job.id, default: 0] < 1 { starved.append("\(job.id) (no run after the faults)") }
        }
        let afterFaults = input.runsAfterFaults.map { counts in
            ", after the faults min \(recurring.map { counts[$0.id, default: 0] }.min() ?? 0)"
        } ?? ""
        record("recurring", starved.isEmpty, "recurring jobs: \(recurring.count), runs per job min \(fires.min() ?? 0) max \(fires.max() ?? 0)"
               + afterFaults + (starved.isEmpty ? "" : "; starved: \(starved.prefix(3).joined(separator: ", "))"))

        // 6. History agrees with the job rows: no run recorded above the job's fencing token.
        var ahead = 0
        for job in input.jobs {
            let top = input.history[job.id]?.max() ?? 0
            if top > (input.states[job.id]?.attempt ?? 0) { ahead += 1 }
        }
        let runs = input.history.values.reduce(0) { $0 + $1.count }
        record("history", ahead == 0, "history: \(runs) runs recorded, \(ahead) jobs with a run above their current token")
    }
}

/// A seedable generator so a run's fault schedule can be repeated.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
