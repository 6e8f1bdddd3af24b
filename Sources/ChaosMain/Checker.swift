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
                     expectStaleEffects: Bool, runSeconds: Double) async throws -> CheckInput {
        var states: [String: JobState] = [:]
        for try await row in session.rows(CQLStatement("SELECT job_id, status, attempt FROM scheduler.jobs", values: []),
                                          as: JobRow.self) {
            states[row.job_id.uuidString.lowercased()] = JobState(status: row.status, attempt: row.attempt ?? 0)
        }
        var history: [String: [Int64]] = [:]
        for try await row in session.rows(CQLStatement("SELECT job_id, attempt FROM scheduler.job_history", values: []),
                                          as: HistoryRow.self) {
            history[row.job_id.uuidString.lowercased(), default: []].append(row.attempt)
        }
        let audit = try LWTAuditEntry.read(path: auditPath)
        return CheckInput(jobs: jobs, states: states, history: history, effects: effects, audit: audit.entries,
                          malformedAuditLines: audit.malformed, expectStaleEffects: expectStaleEffects, runSeconds: runSeconds)
    }
}
