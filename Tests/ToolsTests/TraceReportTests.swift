import CQLNode
import CQLWire
import Foundation
import Testing
@testable import cqlprobe

/// cqlprobe's TRACING output: the trace's rows read from `system_traces`, as cqlsh prints them.
@Suite("cqlprobe tracing report")
struct TraceReportTests {
    /// A fresh node and a session on it at ONE (system_traces has replication factor 2).
    static func start() async throws -> (EmbeddedNode, CQLSession) {
        let node = try await EmbeddedNode.start(EmbeddedNode.Configuration(host: "127.0.0.1", port: 0))
        let session = try await CQLSession.connect(CQLSession.Configuration(
            contactPoints: [CQLEndpoint(host: node.host, port: node.port)], consistency: .one))
        return (node, session)
    }

    @Test("a finished trace gives the request, each event with its thread, and Request complete, with cqlsh's times")
    func finishedTrace() async throws {
        let (node, session) = try await Self.start()
        defer {
            session.close()
            Task { try? await node.shutdown() }
        }
        let id = UUID()
        // 2024-05-01 10:00:00.123 UTC; the events' time UUIDs 250 and 1,250 microseconds later.
        let started = "2024-05-01 10:00:00.123+0000"
        _ = try await session.execute("""
            INSERT INTO system_traces.sessions (session_id, client, coordinator, duration, request, started_at)
            VALUES (\(id.uuidString), '127.0.0.9', '127.0.0.1', 2500, 'Execute CQL3 query', '\(started)')
            """)
        let events = [("Parsing SELECT", "Native-Transport-Requests-1", 120, "1ef07a2a-07a4-11ef-8080-808080808080"),
                      ("Read 1 live rows", "ReadStage-2", 1100, "1ef07a2a-07a4-11ef-8081-808080808080")]
        for (activity, thread, elapsed, eventID) in events {
            _ = try await session.execute("""
                INSERT INTO system_traces.events (session_id, event_id, activity, source, source_elapsed, thread)
                VALUES (\(id.uuidString), \(eventID), '\(activity)', '127.0.0.1', \(elapsed), '\(thread)')
                """)
        }
        var waits: [Duration] = []
        let report = try #require(try await TraceReport.load(session, id: id) { waits.append($0) })
        #expect(waits.isEmpty, "a finished trace is read at once")
        #expect(report.rows.count == 4)
        #expect(report.rows.first == ["Execute CQL3 query", "2024-05-01 10:00:00.123000", "127.0.0.1", "0", "127.0.0.9"])
        #expect(report.rows[1][0] == "Parsing SELECT [Native-Transport-Requests-1]")
        #expect(report.rows[1][2...] == ["127.0.0.1", "120", "127.0.0.9"])
        #expect(report.rows[2][0] == "Read 1 live rows [ReadStage-2]")
        #expect(report.rows.last == ["Request complete", "2024-05-01 10:00:00.125500", "127.0.0.1", "2500", "127.0.0.9"])
    }

    @Test("an unfinished trace is polled with growing waits for about two seconds, then printed as it is")
    func unfinishedTrace() async throws {
        let (node, session) = try await Self.start()
        defer {
            session.close()
            Task { try? await node.shutdown() }
        }
        let id = UUID()
        _ = try await session.execute("""
            INSERT INTO system_traces.sessions (session_id, coordinator, request, started_at)
            VALUES (\(id.uuidString), '127.0.0.1', 'Execute CQL3 query', '2024-05-01 10:00:00+0000')
            """)
        var waits: [Duration] = []
        let report = try #require(try await TraceReport.load(session, id: id) { waits.append($0) })
        #expect(waits.first == .milliseconds(3))
        #expect(waits.reduce(.zero, +) >= .seconds(2))
        #expect(waits.reduce(.zero, +) < .seconds(4))
        #expect(report.rows.count == 1)
        #expect(try await TraceReport.load(session, id: UUID()) { _ in } == nil)
    }

    @Test("time UUIDs give their time; other versions none")
    func timeUUIDs() throws {
        let uuid = try #require(UUID(uuidString: "1ef07a2a-07a4-11ef-8080-808080808080"))
        let date = try #require(TraceReport.date(ofTimeUUID: uuid))
        #expect(TraceReport.format(date).hasPrefix("2024-"))
        #expect(TraceReport.date(ofTimeUUID: UUID()) == nil)
    }
}
