import CQLNode
import CQLWire
import Foundation
import Testing
@testable import Scheduler

/// How `worker schema apply` (and the embedded node) applies infra/schema.cql.
@Suite("Schema migrations")
struct SchemaMigrationTests {
    @Test("The file is numbered migrations in order, each recorded by its last statement")
    func migrationsInOrder() {
        let migrations = SchedulerSchema.migrations(keyspace: "ks")
        // Strictly increasing from 1 to the latest; a gap is harmless (a number reserved by a branch not merged yet).
        let numbers = migrations.map(\.number)
        #expect(numbers.first == 1 && numbers.last == SchedulerSchema.latestVersion)
        #expect(zip(numbers, numbers.dropFirst()).allSatisfy { $0 < $1 }, "\(numbers)")
        for migration in migrations {
            #expect(migration.statements.last?.hasPrefix("INSERT INTO ks.schema_version") == true, "migration \(migration.number)")
            #expect(migration.statements.last?.contains("'scheduler', \(migration.number),") == true, "migration \(migration.number)")
        }
    }

    @Test("Column additions are recognised with and without IF NOT EXISTS and sent in the plain form", arguments: [
        "ALTER TABLE ks.jobs_by_status ADD next_due_at timestamp",
        "ALTER TABLE ks.jobs_by_status ADD IF NOT EXISTS next_due_at timestamp",
        "alter table ks.jobs_by_status add  next_due_at   timestamp",
    ])
    func columnAddition(statement: String) throws {
        let addition = try #require(SchedulerSchema.ColumnAddition(statement))
        #expect(addition.statement == "ALTER TABLE ks.jobs_by_status ADD next_due_at timestamp")
        #expect(addition.column == "next_due_at")
    }

    @Test("Not column additions", arguments: ["ALTER TABLE ks.t WITH gc_grace_seconds = 10", "ALTER TABLE t ADD c int", "CREATE TABLE ks.t (a int PRIMARY KEY)"])
    func notColumnAddition(statement: String) {
        #expect(SchedulerSchema.ColumnAddition(statement) == nil)
    }

    @Test("The cluster keyspace statement carries the data centres given")
    func keyspaceStatement() {
        #expect(SchedulerSchema.keyspaceStatement(keyspace: "jobs", replication: .networkTopology(["eu": 3, "us": 2]))
            == "CREATE KEYSPACE IF NOT EXISTS jobs WITH replication = {'class': 'NetworkTopologyStrategy', 'eu': 3, 'us': 2} AND durable_writes = true")
        #expect(SchedulerSchema.keyspaceStatement(keyspace: "jobs", replication: .clusterDefault).contains("'datacenter1': 3"))
        #expect(SchedulerSchema.keyspaceStatement(keyspace: "jobs").contains("'SimpleStrategy', 'replication_factor': 1"))
    }

    @Test("A fresh keyspace gets every statement once, no ADD IF NOT EXISTS; a second apply only the keyspace statement")
    func applyTwice() async throws {
        try await FaultyNode.with { _, _, session in
            let first = try await SchedulerSchema.apply(session: session, keyspace: "fresh")
            #expect(first.count == 1 + SchedulerSchema.migrations(keyspace: "fresh").flatMap(\.statements).count)
            #expect(first.contains("ALTER TABLE fresh.jobs_by_status ADD next_due_at timestamp"))
            #expect(!first.contains { $0.contains("IF NOT EXISTS next_due_at") })
            let second = try await SchedulerSchema.apply(session: session, keyspace: "fresh")
            #expect(second.count == 1 && second.first?.hasPrefix("CREATE KEYSPACE") == true, "\(second)")
            try await SchedulerSchema.verifySchema(session: session, keyspace: "fresh")
        }
    }

    @Test("A keyspace at migration 2 is upgraded: the later migrations' columns are added and a job row from before reads back")
    func upgradeFromMigrationTwo() async throws {
        try await FaultyNode.with { _, _, session in
            let old = SchedulerSchema.migrations(keyspace: "upgraded").filter { $0.number <= 2 }.flatMap(\.statements)
            _ = try await session.execute(CQLStatement(SchedulerSchema.keyspaceStatement(keyspace: "upgraded"), values: []))
            for statement in old { _ = try await session.execute(CQLStatement(statement, values: [])) }
            let id = UUID()
            _ = try await session.execute(CQLStatement(
                "INSERT INTO upgraded.jobs (job_id, kind, schedule, status, attempt) VALUES (?, 'noop', '@every 1h', 'created', 0)", [id]))
            await #expect(throws: (any Error).self) { try await SchedulerSchema.verifySchema(session: session, keyspace: "upgraded") }

            let sent = try await SchedulerSchema.apply(session: session, keyspace: "upgraded")
            #expect(sent.contains("ALTER TABLE upgraded.jobs ADD revision int"), "\(sent)")
            #expect(sent.contains("ALTER TABLE upgraded.jobs_sharded ADD backoff_multiplier double"), "\(sent)")
            #expect(!sent.contains { $0.contains("CREATE TABLE") && $0.contains("upgraded.jobs ") })
            try await SchedulerSchema.verifySchema(session: session, keyspace: "upgraded")
            let rows = try await session.execute(CQLStatement(
                "SELECT revision, paused, backoff_initial_seconds FROM upgraded.jobs WHERE job_id = ?", [id]))
            let row = try #require(rows.first)
            #expect(try row.optional("revision", as: Int32.self) == nil)
            #expect(try row.optional("paused", as: Bool.self) == nil)
        }
    }

    @Test("A refused statement is named with infra/schema.cql, its migration and the statement")
    func refusedStatement() async throws {
        try await FaultyNode.with { _, faults, session in
            faults.add(FaultInjection.Rule(match: .cqlContains("ALTER TABLE"),
                                           action: .answer(ServerError(.invalid, message: "Invalid column name next_due_at"))))
            do {
                try await SchedulerSchema.apply(session: session, keyspace: "refused")
                Issue.record("apply passed although the ALTER was refused")
            } catch let error as SchemaMigrationError {
                #expect(error.description == "infra/schema.cql migration 2 (due time in the status index): "
                    + "ALTER TABLE refused.jobs_by_status ADD next_due_at timestamp failed: \(ServerError(.invalid, message: "Invalid column name next_due_at"))")
            }
        }
    }
}
