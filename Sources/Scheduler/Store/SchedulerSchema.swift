import CQLWire
import Foundation

/// infra/schema.cql, embedded in the library (see scripts/generate_schema_swift.sh), and its application.
public enum SchedulerSchema {
    /// The tables the scheduler needs.
    public static let tables: Set<String> = ["schema_version", "locks", "lock_seq", "jobs", "jobs_sharded", "job_history",
                                             "workers", "idempotency_keys", "jobs_by_status"]
    /// Columns added to the seed tables that a verified schema must have.
    static let requiredColumns: [String: Set<String>] = ["jobs_sharded": ["kind", "payload", "tries", "max_attempts"],
                                                         "jobs_by_status": ["next_due_at"]]
    /// The newest migration number in the schema file.
    public static let latestVersion = 2

    /// The schema's statements for `keyspace` (the embedded variant: cluster lines are comments).
    public static func statements(keyspace: String = "scheduler") -> [String] {
        let text = keyspace == "scheduler" ? cql : cql
            .replacingOccurrences(of: "KEYSPACE IF NOT EXISTS scheduler ", with: "KEYSPACE IF NOT EXISTS \(keyspace) ")
            .replacingOccurrences(of: "scheduler.", with: "\(keyspace).")
        return split(text)
    }

    /// Splits a CQL script at `;` outside strings and comments; comment-only chunks are dropped.
    static func split(_ script: String) -> [String] {
        var result: [String] = []
        var current = ""
        var hasCode = false
        var characters = Array(script)[...]
        while let character = characters.first {
            characters = characters.dropFirst()
            if character == "-", characters.first == "-" {
                while let next = characters.first, next != "\n" { characters = characters.dropFirst() }
                continue
            }
            if character == "'" || character == "\"" {
                hasCode = true
                current.append(character)
                while let next = characters.first {
                    characters = characters.dropFirst()
                    current.append(next)
                    if next == character { break }
                }
                continue
            }
            if character == ";" {
                if hasCode { result.append(current.trimmingCharacters(in: .whitespacesAndNewlines)) }
                current = ""
                hasCode = false
                continue
            }
            if !character.isWhitespace { hasCode = true }
            current.append(character)
        }
        if hasCode { result.append(current.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return result
    }
}

extension SchedulerSchema {
    /// Applies infra/schema.cql (embedded in the library) to `keyspace`; every statement is idempotent.
    /// For the embedded node: clusters apply it once with scripts/init_schema.sh and workers only verify it.
    public static func applySchema(session: CQLSession, keyspace: String) async throws {
        for statement in SchedulerSchema.statements(keyspace: keyspace) {
            _ = try await session.execute(CQLStatement(statement, values: []))
        }
    }

    /// Checks that `keyspace` has every table (and added column) and the latest migration; throws
    /// ``JobServiceError/schemaMissing(_:)`` naming scripts/init_schema.sh otherwise.
    public static func verifySchema(session: CQLSession, keyspace: String) async throws {
        let hint = "run scripts/init_schema.sh against the cluster first (workers never create the schema on a cluster)"
        let tables = try await session.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", [keyspace])
        let present = Set(try tables.rows.compactMap { try $0.optional("table_name", as: String.self) })
        let missing = SchedulerSchema.tables.subtracting(present)
        guard missing.isEmpty else {
            throw JobServiceError.schemaMissing(
                "keyspace \(keyspace) lacks the scheduler tables \(missing.sorted().joined(separator: ", ")): \(hint)")
        }
        for (table, columns) in SchedulerSchema.requiredColumns {
            let result = try await session.execute(
                "SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?", [keyspace, table])
            let have = Set(try result.rows.compactMap { try $0.optional("column_name", as: String.self) })
            let lacking = columns.subtracting(have)
            guard lacking.isEmpty else {
                throw JobServiceError.schemaMissing(
                    "table \(keyspace).\(table) lacks the columns \(lacking.sorted().joined(separator: ", ")): \(hint)")
            }
        }
        let versions = try await session.execute(
            "SELECT version FROM \(keyspace).schema_version WHERE scope = 'scheduler' LIMIT 1", [])
        let version = try versions.first?.optional("version", as: Int32.self) ?? 0
        guard version >= SchedulerSchema.latestVersion else {
            throw JobServiceError.schemaMissing(
                "keyspace \(keyspace) is at schema version \(version), this worker needs \(SchedulerSchema.latestVersion): \(hint)")
        }
    }
}
