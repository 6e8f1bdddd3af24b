public import CQLWire
import Foundation

/// infra/schema.cql, embedded in the library (see scripts/generate_schema_swift.sh), and its application.
public enum SchedulerSchema {
    /// The tables the scheduler needs.
    public static let tables: Set<String> = ["schema_version", "locks", "lock_seq", "jobs", "jobs_sharded", "job_history",
                                             "workers", "idempotency_keys", "jobs_by_status", "run_cancels"]
    /// Columns added to the seed tables that a verified schema must have.
    static let requiredColumns: [String: Set<String>] = [
        "jobs_sharded": ["kind", "payload", "tries", "max_attempts", "revision", "backoff_initial_seconds", "backoff_max_seconds",
                         "backoff_multiplier"],
        "jobs_by_status": ["next_due_at"],
        "jobs": ["revision", "paused", "paused_due_at", "backoff_initial_seconds", "backoff_max_seconds", "backoff_multiplier"],
        "job_history": ["exit_code", "http_status"],
    ]
    /// The newest migration number in the schema file.
    public static let latestVersion = 4

    /// How the keyspace is replicated.
    public enum Replication: Sendable, Hashable, CustomStringConvertible {
        /// The embedded node's: SimpleStrategy, RF 1 (the line ending in `-- replication:embedded`).
        case embedded
        /// NetworkTopologyStrategy with these replication factors per data centre.
        case networkTopology([String: Int])

        /// The cluster default of infra/schema.cql: RF 3 in `datacenter1`, Cassandra's default data centre name.
        public static let clusterDefault = Replication.networkTopology(["datacenter1": 3])

        /// `embedded` or `NetworkTopologyStrategy dc1:3, dc2:3`.
        public var description: String {
            switch self {
            case .embedded: "embedded"
            case let .networkTopology(factors):
                "NetworkTopologyStrategy " + factors.keys.sorted().map { "\($0):\(factors[$0] ?? 0)" }.joined(separator: ", ")
            }
        }
    }

    /// One numbered migration of infra/schema.cql: its statements, the last of which records it in `schema_version`.
    public struct Migration: Sendable, Hashable {
        /// Its number (`-- migration N: ...`).
        public var number: Int
        /// What it does.
        public var summary: String
        /// Its statements, in order.
        public var statements: [String]
    }

    /// The schema file with the keyspace renamed: `scheduler.` qualifiers and the keyspace statements' name.
    static func text(keyspace: String) -> String {
        keyspace == "scheduler" ? cql : cql
            .replacingOccurrences(of: "KEYSPACE IF NOT EXISTS scheduler ", with: "KEYSPACE IF NOT EXISTS \(keyspace) ")
            .replacingOccurrences(of: "scheduler.", with: "\(keyspace).")
    }

    /// The statement creating `keyspace` with `replication`: the file's embedded line, or its cluster line
    /// with the replication map of the given data centres.
    public static func keyspaceStatement(keyspace: String = "scheduler", replication: Replication = .embedded) -> String {
        let lines = text(keyspace: keyspace).split(separator: "\n").map(String.init)
        switch replication {
        case .embedded:
            let line = lines.first { $0.hasSuffix("-- replication:embedded") } ?? ""
            return split(line).first ?? line
        case let .networkTopology(factors):
            let marker = "-- replication:cluster "
            let line = String(lines.first { $0.hasPrefix(marker) }?.dropFirst(marker.count) ?? "")
            let map = (["'class': 'NetworkTopologyStrategy'"] + factors.keys.sorted().map { "'\($0)': \(factors[$0] ?? 0)" })
                .joined(separator: ", ")
            guard let open = line.range(of: "{"), let close = line.range(of: "}", range: open.upperBound..<line.endIndex) else {
                return split(line).first ?? line
            }
            return split(line.replacingCharacters(in: open.lowerBound..<close.upperBound, with: "{\(map)}")).first ?? line
        }
    }

    /// The numbered migrations of the file, in order, for `keyspace`.
    public static func migrations(keyspace: String = "scheduler") -> [Migration] {
        var migrations: [Migration] = []
        var section = ""
        var header: (Int, String)?
        func close() {
            if let (number, summary) = header {
                migrations.append(Migration(number: number, summary: summary, statements: split(section)))
            }
            section = ""
        }
        for line in text(keyspace: keyspace).split(separator: "\n", omittingEmptySubsequences: false) {
            let prefix = "-- migration "
            if line.hasPrefix(prefix), let colon = line.firstIndex(of: ":"),
               let number = Int(line[line.index(line.startIndex, offsetBy: prefix.count)..<colon]) {
                close()
                header = (number, line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                continue
            }
            if header != nil { section += line + "\n" }
        }
        close()
        return migrations
    }

    /// Every statement of the schema for `keyspace`: the keyspace, then each migration's (as the file has them).
    public static func statements(keyspace: String = "scheduler", replication: Replication = .embedded) -> [String] {
        [keyspaceStatement(keyspace: keyspace, replication: replication)] + migrations(keyspace: keyspace).flatMap(\.statements)
    }

    /// The statements of a CQL script, comments dropped (see ``CQLScript``).
    static func split(_ script: String) -> [String] {
        CQLScript.statements(in: script).map(\.text)
    }
}


/// A statement of infra/schema.cql that the cluster refused, named by its migration.
public struct SchemaMigrationError: Error, Sendable, CustomStringConvertible {
    /// The migration number, nil for the keyspace statement.
    public var migration: Int?
    /// The migration's summary.
    public var summary: String
    /// The statement as sent.
    public var statement: String
    /// The cluster's answer.
    public var reason: String

    /// `infra/schema.cql migration 2 (due time in the status index): ALTER TABLE ... failed: ...`.
    public var description: String {
        let place = migration.map { "migration \($0) (\(summary))" } ?? "keyspace statement"
        return "infra/schema.cql \(place): \(statement) failed: \(reason)"
    }
}

extension SchedulerSchema {
    /// An `ALTER TABLE ks.table ADD [IF NOT EXISTS] column type` of the file, parsed.
    struct ColumnAddition: Hashable {
        var keyspace: String
        var table: String
        var column: String
        var type: String

        /// The plain form every supported Cassandra version accepts (`IF NOT EXISTS` needs 4.1).
        var statement: String { "ALTER TABLE \(keyspace).\(table) ADD \(column) \(type)" }

        init?(_ statement: String) {
            let words = statement.split(whereSeparator: \.isWhitespace).map(String.init)
            guard words.count >= 5, words[0].uppercased() == "ALTER", words[1].uppercased() == "TABLE",
                  words[3].uppercased() == "ADD" else { return nil }
            let name = words[2].split(separator: ".", maxSplits: 1).map(String.init)
            guard name.count == 2 else { return nil }
            var rest = words[4...]
            if rest.count >= 4, rest.prefix(3).map({ $0.uppercased() }) == ["IF", "NOT", "EXISTS"] { rest = rest.dropFirst(3) }
            guard rest.count >= 2, let column = rest.first else { return nil }
            keyspace = name[0]
            table = name[1]
            self.column = column
            type = rest.dropFirst().joined(separator: " ")
        }
    }

    /// Applies infra/schema.cql to `keyspace` so that it runs on every supported Cassandra (3.11 to 5.0):
    /// creates the keyspace (if missing) with `replication`, then applies each migration newer than the
    /// one recorded in `schema_version`, in order; an `ALTER TABLE ... ADD` whose column exists is
    /// skipped, any other is sent without `IF NOT EXISTS`. After each schema change the session waits
    /// (at most its `maxSchemaAgreementWait`) until the nodes agree on the schema, so the next statement
    /// never meets a node that does not know the table yet. With `dryRun` nothing is changed.
    /// Returns the statements sent (or, in a dry run, that would be sent); `log` hears each one.
    @discardableResult
    public static func apply(session: CQLSession, keyspace: String, replication: Replication = .embedded, dryRun: Bool = false,
                             log: @Sendable (String) -> Void = { _ in }) async throws -> [String] {
        var sent: [String] = []
        func send(_ statement: String, migration: Migration?) async throws {
            sent.append(statement)
            log(statement)
            guard !dryRun else { return }
            do {
                _ = try await session.execute(CQLStatement(statement, values: []))
            } catch {
                throw SchemaMigrationError(migration: migration?.number, summary: migration?.summary ?? "", statement: statement,
                                           reason: "\(error)")
            }
        }
        try await send(keyspaceStatement(keyspace: keyspace, replication: replication), migration: nil)
        let recorded = try await recordedVersion(session: session, keyspace: keyspace)
        for migration in migrations(keyspace: keyspace) where migration.number > recorded {
            for statement in migration.statements {
                if let addition = ColumnAddition(statement) {
                    if try await columns(session: session, keyspace: addition.keyspace, table: addition.table)
                        .contains(addition.column) { continue }
                    try await send(addition.statement, migration: migration)
                } else {
                    try await send(statement, migration: migration)
                }
            }
        }
        return sent
    }

    /// Applies the schema with the embedded node's replication (see ``apply(session:keyspace:replication:dryRun:log:)``).
    /// For the embedded node: clusters apply it once with scripts/init_schema.sh and workers only verify it.
    public static func applySchema(session: CQLSession, keyspace: String) async throws {
        try await apply(session: session, keyspace: keyspace)
    }

    /// The newest migration recorded in `keyspace.schema_version`, 0 when the table is not there yet.
    static func recordedVersion(session: CQLSession, keyspace: String, timeout: Duration? = nil) async throws -> Int {
        let tables = try await localRead(session, "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?",
                                         [keyspace, "schema_version"], timeout: timeout)
        guard tables.first != nil else { return 0 }
        let versions = try await localRead(session, "SELECT version FROM \(keyspace).schema_version WHERE scope = 'scheduler' LIMIT 1",
                                           [], timeout: timeout)
        return Int(try versions.first?.optional("version", as: Int32.self) ?? 0)
    }

    /// The columns of a table as `system_schema.columns` lists them (empty when the table is missing).
    static func columns(session: CQLSession, keyspace: String, table: String, timeout: Duration? = nil) async throws -> Set<String> {
        let result = try await localRead(session, "SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?",
                                         [keyspace, table], timeout: timeout)
        return Set(try result.rows.compactMap { try $0.optional("column_name", as: String.self) })
    }

    /// A read at LOCAL_ONE: schema tables are node-local, and one replica answers whether a migration was recorded.
    private static func localRead(_ session: CQLSession, _ cql: String, _ values: [any CQLEncodable],
                                  timeout: Duration?) async throws -> QueryResult {
        var statement = try CQLStatement(cql, values, isIdempotent: true)
        statement.consistency = .localOne
        statement.timeout = timeout
        return try await session.execute(statement)
    }

    /// Checks that `keyspace` has every table (and added column) and the latest migration; throws
    /// ``JobServiceError/schemaMissing(_:)`` naming scripts/init_schema.sh otherwise. `timeout` bounds each read.
    public static func verifySchema(session: CQLSession, keyspace: String, timeout: Duration? = nil) async throws {
        let hint = "run scripts/init_schema.sh against the cluster first (workers never create the schema on a cluster)"
        let tables = try await localRead(session, "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", [keyspace],
                                         timeout: timeout)
        let present = Set(try tables.rows.compactMap { try $0.optional("table_name", as: String.self) })
        let missing = SchedulerSchema.tables.subtracting(present)
        guard missing.isEmpty else {
            throw JobServiceError.schemaMissing(
                "keyspace \(keyspace) lacks the scheduler tables \(missing.sorted().joined(separator: ", ")): \(hint)")
        }
        for (table, required) in SchedulerSchema.requiredColumns {
            let lacking = required.subtracting(try await columns(session: session, keyspace: keyspace, table: table, timeout: timeout))
            guard lacking.isEmpty else {
                throw JobServiceError.schemaMissing(
                    "table \(keyspace).\(table) lacks the columns \(lacking.sorted().joined(separator: ", ")): \(hint)")
            }
        }
        let version = try await recordedVersion(session: session, keyspace: keyspace, timeout: timeout)
        guard version >= SchedulerSchema.latestVersion else {
            throw JobServiceError.schemaMissing(
                "keyspace \(keyspace) is at schema version \(version), this worker needs \(SchedulerSchema.latestVersion): \(hint)")
        }
    }
}
