@testable import CQLNode
import CQLWire
import Foundation
import Testing
import TestSupport

/// Prepared SELECTs executed with skip_metadata, and LWT answers whose metadata the connection reuses,
/// against the embedded node, across schema changes.
@Suite("skip_metadata and reused result metadata against the embedded node")
struct SkipMetadataTests {
    static func start() async throws -> (EmbeddedNode, CQLSession) {
        let node = try await EmbeddedNode.start(.init())
        let session = try await EmbeddedNodeSessionTests.session(node)
        try await EmbeddedNodeSessionTests.createKeyspace(session, "skip")
        return (node, session)
    }

    @Test("a prepared SELECT gets its rows without metadata and decodes them with the prepared columns")
    func rowsWithoutMetadata() async throws {
        let (node, session) = try await Self.start()
        defer { Task { try? await node.shutdown() } }
        defer { session.close() }
        _ = try await session.execute("CREATE TABLE skip.t (k int PRIMARY KEY, v text)")
        _ = try await session.execute("INSERT INTO skip.t (k, v) VALUES (1, 'one')")
        let select = try await session.prepare("SELECT k, v FROM skip.t WHERE k = ?")
        #expect(select.resultMetadata.columns.map(\.name) == ["k", "v"])
        let result = try await session.execute(try select.bind(Int32(1)))
        #expect(result.rows.metadata.noMetadata)
        #expect(result.rows.metadata.columns.map(\.name) == ["k", "v"])
        #expect(try result.first?.decode(String.self, named: "v") == "one")
        // Simple statements and LWTs still get their metadata.
        #expect(try await session.execute("SELECT k, v FROM skip.t WHERE k = 1").rows.metadata.noMetadata == false)
        let claim = try await session.prepare("INSERT INTO skip.t (k, v) VALUES (?, ?) IF NOT EXISTS")
        let lost = try #require(try await session.execute(try claim.bind(Int32(1), "two")).lwt)
        #expect(!lost.applied)
        #expect(try lost.value(String.self, named: "v") == "one")
    }

    @Test("ALTER TABLE ADD under a prepared SELECT *: the next execution decodes the new column")
    func columnAdded() async throws {
        let (node, session) = try await Self.start()
        defer { Task { try? await node.shutdown() } }
        defer { session.close() }
        _ = try await session.execute("CREATE TABLE skip.wide (k int PRIMARY KEY, v text)")
        _ = try await session.execute("INSERT INTO skip.wide (k, v) VALUES (1, 'one')")
        let select = try await session.prepare("SELECT * FROM skip.wide WHERE k = ?")
        #expect(try await session.execute(try select.bind(Int32(1))).first?.decode(String.self, named: "v") == "one")
        _ = try await session.execute("ALTER TABLE skip.wide ADD extra int")
        _ = try await session.execute("UPDATE skip.wide SET extra = 42 WHERE k = 1")
        let after = try await session.execute(try select.bind(Int32(1)))
        #expect(after.rows.metadata.columns.map(\.name).sorted() == ["extra", "k", "v"])
        #expect(try after.first?.decode(Int32.self, named: "extra") == 42)
        #expect(try after.first?.decode(String.self, named: "v") == "one")
        // Later executions skip the (new) columns again and still decode them.
        let again = try await session.execute(try select.bind(Int32(1)))
        #expect(try again.first?.decode(Int32.self, named: "extra") == 42)
    }

    @Test("a column dropped and another added (same count): after the schema event the rows decode by the new columns")
    func columnReplaced() async throws {
        let (node, session) = try await Self.start()
        defer { Task { try? await node.shutdown() } }
        defer { session.close() }
        _ = try await session.execute("CREATE TABLE skip.swap (k int PRIMARY KEY, v text)")
        _ = try await session.execute("INSERT INTO skip.swap (k, v) VALUES (1, 'one')")
        let select = try await session.prepare("SELECT * FROM skip.swap WHERE k = ?")
        #expect(try await session.execute(try select.bind(Int32(1))).first?.decode(String.self, named: "v") == "one")
        _ = try await session.execute("ALTER TABLE skip.swap DROP v")
        _ = try await session.execute("ALTER TABLE skip.swap ADD w bigint")
        _ = try await session.execute("UPDATE skip.swap SET w = 7 WHERE k = 1")
        // The SCHEMA_CHANGE event reaches the control connection asynchronously.
        #expect(await eventually {
            let row = try? await session.execute(try select.bind(Int32(1))).first
            return (try? row?.decode(Int64.self, named: "w")) == 7
        })
        let settled = try await session.execute(try select.bind(Int32(1)))
        #expect(settled.rows.metadata.columns.map(\.name).sorted() == ["k", "w"])
    }

    @Test("LWT answers before and after ALTER TABLE ADD each decode with their own columns")
    func lwtMetadataAcrossSchemaChange() async throws {
        let (node, session) = try await Self.start()
        defer { Task { try? await node.shutdown() } }
        defer { session.close() }
        _ = try await session.execute("CREATE TABLE skip.lease (k int PRIMARY KEY, owner text)")
        let claim = try await session.prepare("INSERT INTO skip.lease (k, owner) VALUES (?, ?) IF NOT EXISTS")
        for key in 0..<5 {
            #expect(try await session.execute(try claim.bind(Int32(key), "a")).wasApplied)
            let lost = try #require(try await session.execute(try claim.bind(Int32(key), "b")).lwt)
            #expect(try lost.value(String.self, named: "owner") == "a")
        }
        _ = try await session.execute("ALTER TABLE skip.lease ADD fence bigint")
        _ = try await session.execute("UPDATE skip.lease SET fence = 9 WHERE k = 1")
        let lost = try #require(try await session.execute(try claim.bind(Int32(1), "c")).lwt)
        #expect(!lost.applied)
        #expect(try lost.value(Int64.self, named: "fence") == 9)
        #expect(try lost.value(String.self, named: "owner") == "a")
        #expect(try await session.execute(try claim.bind(Int32(100), "c")).wasApplied)
    }
}
