import CQLWire
import Foundation

/// One sample of a `locks` row, in the order the node answered the harness's reads.
struct LockObservation: Sendable {
    var name: String
    var holder: String?
    var token: Int64
    var expireAt: Date?
    var acquiredAt: Date?
    /// When the harness sent the read that returned this row (the row was read after it).
    var sentAt: Date
}

/// What the harness submitted.
struct SubmittedJob: Sendable {
    var id: String
    var kind: String
    var recurring: Bool
    var everySeconds: Int
}

/// The verdict over one run: each check prints its figures and passes or fails.
struct Checker {
    private(set) var passed = 0
    private(set) var failed = 0

    private mutating func check(_ ok: Bool, _ line: String) {
        print("\(ok ? "PASS" : "FAIL")  \(line)")
        if ok { passed += 1 } else { failed += 1 }
    }

    private struct JobRow: Decodable, Sendable {
        var job_id: UUID
        var status: String?
        var attempt: Int64?
    }

    private struct HistoryRow: Decodable, Sendable {
        var job_id: UUID
        var attempt: Int64
        var status: String?
        var worker_id: String?
        var started_at: Date?
    }

    static let terminal: Set<String> = ["succeeded", "failed", "timed_out", "cancelled"]

    /// Reads jobs and job_history from the node and checks every invariant.
    mutating func run(session: CQLSession, jobs: [SubmittedJob], effects: [EffectRecord], locks: [LockObservation],
                      silenced: [String: [ClosedRange<Date>]], runSeconds: Double) async throws {
        var rows: [String: JobRow] = [:]
        for try await row in session.rows(CQLStatement("SELECT job_id, status, attempt FROM scheduler.jobs", values: []),
                                          as: JobRow.self) {
            rows[row.job_id.uuidString.lowercased()] = row
        }
        var history: [String: [HistoryRow]] = [:]
        for try await row in session.rows(CQLStatement("SELECT job_id, attempt, status, worker_id, started_at FROM scheduler.job_history",
                                                       values: []), as: HistoryRow.self) {
            history[row.job_id.uuidString.lowercased(), default: []].append(row)
        }

        // 1. Every activated one-shot job reached a terminal state.
        let oneShot = jobs.filter { !$0.recurring }
        var byStatus: [String: Int] = [:]
        var lost: [String] = []
        for job in oneShot {
            let status = rows[job.id]?.status ?? "missing"
            byStatus[status, default: 0] += 1
            if !Self.terminal.contains(status) { lost.append(job.id) }
        }
        let statusText = byStatus.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        check(lost.isEmpty, "terminal state: \(oneShot.count) one-shot jobs, \(lost.count) lost (\(statusText))"
              + (lost.isEmpty ? "" : "; e.g. \(lost.prefix(3).joined(separator: " "))"))

        // 2. No effect applied with a stale token: per job, applied tokens never go down in
        // arrival order, and every applied token is a run the node actually claimed.
        let applied = effects.filter(\.applied)
        var lastApplied: [String: Int64] = [:]
        var staleApplied = 0
        var unclaimed = 0
        for effect in effects.sorted(by: { $0.sequence < $1.sequence }) where effect.applied {
            if let last = lastApplied[effect.jobID], effect.token < last { staleApplied += 1 }
            lastApplied[effect.jobID] = max(lastApplied[effect.jobID] ?? effect.token, effect.token)
            let attempts = Set((history[effect.jobID] ?? []).map(\.attempt))
            let current = rows[effect.jobID]?.attempt ?? 0
            if !attempts.contains(effect.token) && effect.token > current { unclaimed += 1 }
        }
        let rejected = effects.count - applied.count
        check(staleApplied == 0 && unclaimed == 0,
              "fenced effects: \(effects.count) received, \(applied.count) applied, \(rejected) stale rejected, "
              + "\(staleApplied) applied with a stale token, \(unclaimed) with a token the node never granted")

        // 3. Tokens per lock strictly increase: in the order the node answered, a lock's token
        // never goes down, and one token never has two holders.
        var lastToken: [String: Int64] = [:]
        var holderOf: [String: [Int64: String]] = [:]
        var regressions = 0
        var doubleHolders = 0
        for observation in locks {
            if let last = lastToken[observation.name], observation.token < last { regressions += 1 }
            lastToken[observation.name] = max(lastToken[observation.name] ?? observation.token, observation.token)
            if let holder = observation.holder {
                if let known = holderOf[observation.name]?[observation.token], known != holder { doubleHolders += 1 }
                holderOf[observation.name, default: [:]][observation.token] = holder
            }
        }
        let grants = holderOf.values.reduce(0) { $0 + $1.count }
        check(regressions == 0 && doubleHolders == 0,
              "lock tokens: \(lastToken.count) locks, \(grants) grants seen in \(locks.count) samples, "
              + "\(regressions) token decreases, \(doubleHolders) tokens with two holders")

        // 4. Holders never overlap. A takeover from a holder that could not act (SIGKILLed, or
        // SIGSTOPped at the takeover) and was still seen holding the lock after it was silenced
        // (so it never released it) must come at or after the last lease end that holder wrote.
        // Other hand-overs may follow a release that fell between two samples: counted, not judged.
        var overlaps = 0
        var judged = 0
        var unjudged = 0
        var lastExpiry: [String: [Int64: Date]] = [:]
        var acquired: [String: [Int64: Date]] = [:]
        for observation in locks {
            if let expiry = observation.expireAt, observation.holder != nil {
                lastExpiry[observation.name, default: [:]][observation.token] = expiry
            }
            if let at = observation.acquiredAt { acquired[observation.name, default: [:]][observation.token] = at }
        }
        for (name, tokens) in acquired {
            let ordered = tokens.keys.sorted()
            for (previous, next) in zip(ordered, ordered.dropFirst()) {
                guard let start = tokens[next], let end = lastExpiry[name]?[previous],
                      let holder = holderOf[name]?[previous] else { continue }
                let windows = (silenced[holder] ?? []).filter { $0.contains(start) }
                let heldAfterSilence = locks.contains { observation in
                    observation.name == name && observation.token == previous && observation.holder == holder
                        && windows.contains { $0.contains(observation.sentAt) }
                }
                guard heldAfterSilence else {
                    unjudged += 1
                    continue
                }
                judged += 1
                if start < end {
                    overlaps += 1
                    print("      overlap on \(name): token \(previous) (\(holder), silenced) leased until \(end), "
                          + "token \(next) (\(holderOf[name]?[next] ?? "?")) acquired at \(start)")
                }
            }
        }
        check(overlaps == 0, "lock holders: \(judged) takeovers from a killed or stopped holder judged, \(overlaps) before its lease ended "
              + "(\(unjudged) hand-overs from live holders not judged)")

        // 5. Recurring jobs keep firing.
        let recurring = jobs.filter(\.recurring)
        var starved: [String] = []
        var fires: [Int] = []
        for job in recurring {
            let runs = history[job.id]?.count ?? 0
            fires.append(runs)
            let expected = max(1, Int(runSeconds / Double(job.everySeconds) / 4))
            if runs < expected { starved.append("\(job.id) (\(runs) runs, expected at least \(expected))") }
        }
        check(starved.isEmpty, "recurring jobs: \(recurring.count), runs per job min \(fires.min() ?? 0) max \(fires.max() ?? 0)"
              + (starved.isEmpty ? "" : "; starved: \(starved.prefix(3).joined(separator: ", "))"))

        // 6. History agrees with the job rows: no run recorded above the job's fencing token.
        var ahead = 0
        for job in jobs {
            let top = history[job.id]?.map(\.attempt).max() ?? 0
            if top > (rows[job.id]?.attempt ?? 0) { ahead += 1 }
        }
        let runs = history.values.reduce(0) { $0 + $1.count }
        check(ahead == 0, "history: \(runs) runs recorded, \(ahead) jobs with a run above their current token")
    }
}
