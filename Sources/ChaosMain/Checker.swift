import ChaosKit
import CQLWire
import Foundation

/// Reads what the checker judges from the node once the run is over.
enum CheckReader {
    private struct JobRow: Decodable, Sendable {
        var job_id: UUID
        var status: String?
        var attempt: Int64?
    }

    private struct HistoryRow: Decodable, Sendable {
        var job_id: UUID
        var attempt: Int64
    }

    /// Job rows, job history, the effects and the node's LWT audit log, as one ``CheckInput``.
    static func read(session: CQLSession, jobs: [SubmittedJob], effects: [EffectRecord], auditPath: String,
                     expectStaleEffects: Bool, runSeconds: Double, runsAfterFaults: [String: Int]?) async throws -> CheckInput {
        var states: [String: JobState] = [:]
        for try await row in session.rows(CQLStatement("SELECT job_id, status, attempt FROM scheduler.jobs", values: []),
                                          as: JobRow.self) {
            states[row.job_id.uuidString.lowercased()] = JobState(status: row.status, attempt: row.attempt ?? 0)
        }
        let history = try await attempts(session: session)
        let audit = try LWTAuditEntry.read(path: auditPath)
        return CheckInput(jobs: jobs, states: states, history: history, effects: effects, audit: audit.entries,
                          malformedAuditLines: audit.malformed, expectStaleEffects: expectStaleEffects, runSeconds: runSeconds,
                          runsAfterFaults: runsAfterFaults)
    }

    /// The attempts recorded in job_history, by lower-case job id.
    static func attempts(session: CQLSession) async throws -> [String: [Int64]] {
        var history: [String: [Int64]] = [:]
        for try await row in session.rows(CQLStatement("SELECT job_id, attempt FROM scheduler.job_history", values: []),
                                          as: HistoryRow.self) {
            history[row.job_id.uuidString.lowercased(), default: []].append(row.attempt)
        }
        return history
    }

    /// Waits (up to `timeout`) until every recurring job has recorded runs beyond `before`; the runs each added.
    /// Nil when the history could not be read before the faults ended.
    static func runsAfter(_ before: [String: [Int64]]?, session: CQLSession, jobs: [SubmittedJob],
                          timeout: Duration) async -> [String: Int]? {
        guard let before else { return nil }
        let recurring = jobs.filter(\.recurring).map(\.id)
        let deadline = ContinuousClock.now + timeout
        var added: [String: Int] = [:]
        repeat {
            if let now = try? await attempts(session: session) {
                for id in recurring { added[id] = Set(now[id] ?? []).subtracting(before[id] ?? []).count }
                if recurring.allSatisfy({ added[$0, default: 0] > 0 }) { break }
            }
            try? await Task.sleep(for: .seconds(1))
        } while ContinuousClock.now < deadline
        return added
    }
}
