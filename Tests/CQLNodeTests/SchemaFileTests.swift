import CQLWire
import Foundation
import Testing
@testable import CQLNode

/// The scheduler's `infra/schema.cql` must be accepted by the embedded node, in both its
/// embedded and its cluster variant (the keyspace line swap the file's header documents).
@Suite("infra/schema.cql")
struct SchemaFileTests {
    static let schemaURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("infra/schema.cql")

    static let seedTables: Set<String> = ["locks", "lock_seq", "jobs", "jobs_sharded", "job_history"]
    static let addedTables: Set<String> = ["schema_version", "workers", "idempotency_keys", "jobs_by_status", "run_cancels"]

    /// The statements of a CQL script: split at `;` outside strings, quoted names and comments;
    /// chunks holding only comments and whitespace are dropped.
    static func statements(_ script: String) -> [String] {
        let bytes = Array(script.utf8)
        var result: [String] = []
        var start = 0
        var index = 0
        var hasCode = false
        func flush(upTo end: Int) {
            if hasCode { result.append(String(decoding: bytes[start..<end], as: UTF8.self)) }
            start = end
            hasCode = false
        }
        while index < bytes.count {
            let byte = bytes[index]
            let next: UInt8? = index + 1 < bytes.count ? bytes[index + 1] : nil
            if (byte == UInt8(ascii: "-") && next == UInt8(ascii: "-")) || (byte == UInt8(ascii: "/") && next == UInt8(ascii: "/")) {
                while index < bytes.count, bytes[index] != 0x0A { index += 1 }
            } else if byte == UInt8(ascii: "/") && next == UInt8(ascii: "*") {
                index += 2
                while index + 1 < bytes.count, !(bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/")) { index += 1 }
                index += 2
            } else if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                hasCode = true
                index += 1
                while index < bytes.count, bytes[index] != byte { index += 1 }
                index += 1
            } else if byte == UInt8(ascii: ";") {
                index += 1
                flush(upTo: index)
            } else {
                if ![0x20, 0x09, 0x0A, 0x0D].contains(byte) { hasCode = true }
                index += 1
            }
        }
        flush(upTo: bytes.count)
        return result
    }

    /// The cluster variant, made the way the file's header tells cluster tooling to make it.
    static func clusterVariant(_ script: String) -> String {
        script.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasSuffix("-- replication:embedded") }
            .map { $0.hasPrefix("-- replication:cluster ") ? $0.dropFirst("-- replication:cluster ".count) : $0 }
            .joined(separator: "\n")
    }

    static func tableNames(_ script: String) throws -> [String] {
        try statements(script).compactMap { statement -> String? in
            if case .createTable(let table) = try CQLParser.parse(statement).statement { return table.name.name }
            return nil
        }
    }

    @Test("every statement parses, in the embedded and the cluster variant", arguments: [false, true])
    func everyStatementParses(cluster: Bool) throws {
        let source = try String(contentsOf: Self.schemaURL, encoding: .utf8)
        let script = cluster ? Self.clusterVariant(source) : source
        let statements = Self.statements(script)
        #expect(statements.count >= 11)
        for statement in statements {
            do {
                _ = try CQLParser.parse(statement)
            } catch {
                Issue.record("\(error) in: \(statement)")
            }
        }
    }

    @Test("one keyspace statement per variant, with the documented replication")
    func keyspaceReplication() throws {
        let source = try String(contentsOf: Self.schemaURL, encoding: .utf8)
        for (script, strategy, factorKey) in [
            (source, "SimpleStrategy", "replication_factor"),
            (Self.clusterVariant(source), "NetworkTopologyStrategy", "datacenter1"),
        ] {
            let keyspaces = try Self.statements(script).compactMap { statement -> CreateKeyspace? in
                if case .createKeyspace(let keyspace) = try CQLParser.parse(statement).statement { return keyspace }
                return nil
            }
            #expect(keyspaces.count == 1)
            let keyspace = try #require(keyspaces.first)
            #expect(keyspace.name == "scheduler")
            #expect(keyspace.ifNotExists)
            let replication = "\(keyspace.properties)"
            #expect(replication.contains(strategy))
            #expect(replication.contains(factorKey))
        }
    }

    @Test("the seed's tables and the added ones are all created IF NOT EXISTS")
    func tables() throws {
        let source = try String(contentsOf: Self.schemaURL, encoding: .utf8)
        let names = try Self.tableNames(source)
        #expect(Set(names) == Self.seedTables.union(Self.addedTables))
        #expect(names.count == Set(names).count)
        for statement in Self.statements(source) {
            if case .createTable(let table) = try CQLParser.parse(statement).statement {
                #expect(table.ifNotExists, "\(table.name.name) lacks IF NOT EXISTS")
                #expect(table.name.keyspace == "scheduler", "\(table.name.name) is not qualified with scheduler.")
            }
        }
    }

    /// A second pass re-runs every statement but the column additions, which the migration tool
    /// skips when the column exists (plain `ADD` is what Cassandra before 4.1 accepts); run again,
    /// such an addition must fail as Cassandra's does, never change the table.
    @Test("the embedded node applies the whole file, and again but for the column additions the tool skips")
    func embeddedNodeAppliesSchema() async throws {
        let source = try String(contentsOf: Self.schemaURL, encoding: .utf8)
        let storage = try Storage(options: StorageOptions())
        try await SystemKeyspaces.install(in: storage, identity: NodeIdentity(nativePort: 9042))
        let executor = NodeExecutor(storage: storage)
        let context = RequestContext(stream: 1)
        func run(_ cql: String) async -> ResponseMessage {
            let query = Query(query: cql, parameters: QueryParameters(consistency: .one))
            return await executor.handle(.query(query), context: context).message
        }
        for pass in 1...2 {
            for statement in Self.statements(source) {
                let isColumnAddition = statement.range(of: #"(?m)^ALTER TABLE \S+ ADD "#, options: .regularExpression) != nil
                let answer = await run(statement)
                if pass == 2 && isColumnAddition {
                    guard case .error(let error) = answer else {
                        Issue.record("pass 2: an existing column was added again: \(statement)")
                        continue
                    }
                    #expect(error.message.contains("already exists"), "pass 2: \(error.message) in: \(statement)")
                } else if case .error(let error) = answer {
                    Issue.record("pass \(pass): \(error.message) in: \(statement)")
                }
            }
        }
        let versions = await run("SELECT version, description FROM scheduler.schema_version WHERE scope = 'scheduler'")
        guard case .result(.rows(let rows)) = versions else {
            Issue.record("expected rows, got \(versions)")
            return
        }
        // One row per migration section, however often the file is applied.
        let migrations = source.split(separator: "\n").filter { $0.hasPrefix("-- migration ") }.count
        #expect(migrations >= 2)
        #expect(rows.rowCount == migrations)
    }
}
