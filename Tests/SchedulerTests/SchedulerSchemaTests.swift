import CQLNode
import CQLWire
import Foundation
import Testing
@testable import Scheduler

/// The schema embedded in the library is infra/schema.cql, and applying/verifying it works on the node.
@Suite("Scheduler schema")
struct SchedulerSchemaTests {
    static let schemaURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("infra/schema.cql")

    @Test("the embedded schema is byte for byte infra/schema.cql (regenerate with scripts/generate_schema_swift.sh)")
    func embeddedMatchesFile() throws {
        let file = try String(contentsOf: Self.schemaURL, encoding: .utf8)
        #expect(SchedulerSchema.cql + "\n" == file)
    }

    @Test("statements split outside comments and strings, and the keyspace is rewritten")
    func statements() {
        let statements = SchedulerSchema.statements(keyspace: "other")
        #expect(statements.first?.hasPrefix("CREATE KEYSPACE IF NOT EXISTS other WITH") == true)
        #expect(statements.allSatisfy { !$0.contains("scheduler.") })
        #expect(statements.filter { $0.hasPrefix("CREATE TABLE") }.count == SchedulerSchema.tables.count)
        #expect(SchedulerSchema.split("a 'x;--y'; -- c;\n b;") == ["a 'x;--y'", "b"])
    }

    @Test("verifySchema names scripts/init_schema.sh when the schema is missing and passes once applied")
    func verify() async throws {
        let node = try await EmbeddedNode.start(.init())
        let session = try await CQLSession.connect(CQLSession.Configuration(
            contactPoints: [CQLEndpoint(host: node.host, port: node.port)], discoverNodes: false))
        do {
            try await SchedulerSchema.verifySchema(session: session, keyspace: "jobs_elsewhere")
            Issue.record("verifySchema passed without a schema")
        } catch let error as JobServiceError {
            #expect(error.description.contains("scripts/init_schema.sh"))
        }
        try await SchedulerSchema.applySchema(session: session, keyspace: "jobs_elsewhere")
        try await SchedulerSchema.applySchema(session: session, keyspace: "jobs_elsewhere")
        try await SchedulerSchema.verifySchema(session: session, keyspace: "jobs_elsewhere")
        session.close()
        try await node.shutdown()
    }
}
