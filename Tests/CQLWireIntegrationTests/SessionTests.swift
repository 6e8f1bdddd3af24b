@testable import CQLNode
import CQLWire
import Foundation
import Metrics
import MetricsTestKit
import Testing
import TestSupport

@Suite("CQLSession against the protocol server with a scripted handler")
struct SessionTests {
    static func configuration(_ endpoints: [CQLEndpoint], metrics: (any MetricsFactory)? = nil) -> CQLSession.Configuration {
        CQLSession.Configuration(contactPoints: endpoints, requestTimeout: .seconds(5), consistency: .one,
                                 reconnection: ReconnectionPolicy(baseDelay: .milliseconds(20), maxDelay: .milliseconds(200)),
                                 metricsFactory: metrics)
    }

    static func isLWTUnknown(_ error: any Error) -> Bool {
        if case .lwtOutcomeUnknown = error as? CQLError { return true }
        return false
    }

    @Test("USE switches every pooled connection, and connections opened later")
    func keyspaceSwitching() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let session = try await CQLSession.connect(Self.configuration([server.endpoint]))
        defer { session.close() }
        #expect(try echoed(try await session.execute("SELECT 0")) == "SELECT 0")
        try await session.use(keyspace: "jobs")
        #expect(session.keyspace == "jobs")
        for index in 0..<50 {
            #expect(try echoed(try await session.execute("SELECT \(index)")) == "jobs/SELECT \(index)")
        }
    }

    @Test("a conditional statement hit by WriteTimeout CAS, a client timeout or a lost connection reports an unknown outcome")
    func lwtUnknownOutcome() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let metrics = TestMetrics()
        let session = try await CQLSession.connect(Self.configuration([server.endpoint], metrics: metrics))
        defer { session.close() }
        let insert = "INSERT INTO locks (name, owner) VALUES ('a', 'me') IF NOT EXISTS"
        #expect(try await session.execute(insert).wasApplied)

        let cas = server.faults.add(.init(match: .cqlContains("IF NOT EXISTS"), action: .writeTimeoutCAS))
        await #expect(performing: { _ = try await session.execute(insert) }, throws: Self.isLWTUnknown)
        server.faults.remove(cas)

        let silence = server.faults.add(.init(match: .cqlContains("IF NOT EXISTS"), action: .timeout))
        var statement = try CQLStatement(insert)
        statement.timeout = .milliseconds(100)
        statement.isIdempotent = true
        await #expect(performing: { _ = try await session.execute(statement) }, throws: Self.isLWTUnknown)
        server.faults.remove(silence)

        let drop = server.faults.add(.init(match: .cqlContains("IF NOT EXISTS"), action: .dropConnection, timing: .afterExecution))
        await #expect(performing: { _ = try await session.execute(insert) }, throws: Self.isLWTUnknown)
        server.faults.remove(drop)

        // The session reconnects and the same statement succeeds again.
        #expect(try await session.execute(insert).wasApplied)
        let lwtCount = try metrics.expectCounter("cql_lwt_requests_total").totalValue
        #expect(lwtCount == 5)
        #expect(try metrics.expectCounter("cql_lwt_outcome_unknown_total").totalValue == 3)
        #expect(try metrics.expectCounter("cql_requests_total", [("kind", "query")]).totalValue == 5)
        #expect(try metrics.expectCounter("cql_request_errors_total", [("kind", "query")]).totalValue == 3)
        #expect(try metrics.expectTimer("cql_request_duration_seconds", [("kind", "query")]).values.count == 5)
    }

    @Test("only idempotent statements are retried after a timeout")
    func retryOnlyIdempotent() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let session = try await CQLSession.connect(Self.configuration([server.endpoint]))
        defer { session.close() }
        server.faults.add(.init(match: .cqlContains("ONCE"), action: .timeout, count: 1))
        var idempotent = try CQLStatement("SELECT ONCE", isIdempotent: true)
        idempotent.timeout = .seconds(2)
        #expect(try echoed(try await session.execute(idempotent)) == "SELECT ONCE")

        server.faults.add(.init(match: .cqlContains("TWICE"), action: .timeout, count: 1))
        var plain = try CQLStatement("UPDATE TWICE")
        plain.timeout = .milliseconds(200)
        await #expect {
            _ = try await session.execute(plain)
        } throws: { error in
            if case .requestTimedOut = error as? CQLError { return true }
            return false
        }
    }

    @Test("a dropped connection fails its requests, and the session reconnects")
    func reconnects() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let session = try await CQLSession.connect(Self.configuration([server.endpoint]))
        defer { session.close() }
        server.faults.add(.init(match: .cqlContains("DROP"), action: .dropConnection, count: 2))
        await #expect {
            _ = try await session.execute("UPDATE DROP")
        } throws: { error in
            if case .connectionClosed = error as? CQLError { return true }
            return false
        }
        #expect(await eventually { (try? await session.execute("SELECT back")) != nil })
        #expect(try echoed(try await session.execute("SELECT back")) == "SELECT back")
    }

    @Test("a statement the node forgot (UNPREPARED) is re-prepared transparently")
    func reprepare() async throws {
        let handler = ScriptedHandler()
        let server = try await TestServer.start(handler: handler)
        defer { Task { await server.stop() } }
        let session = try await CQLSession.connect(Self.configuration([server.endpoint]))
        defer { session.close() }
        let prepared = try await session.prepare("SELECT v FROM t WHERE k = ?")
        #expect(try echoed(try await session.execute(try prepared.bind(Int32(1)))) == "executed:SELECT v FROM t WHERE k = ?")
        handler.forgetPrepared()
        #expect(try echoed(try await session.execute(try prepared.bind(Int32(2)))) == "executed:SELECT v FROM t WHERE k = ?")
        handler.forgetPrepared()
        let batch = BatchStatement(.unlogged, [try prepared.bind(Int32(3)), try prepared.bind(Int32(4))])
        _ = try await session.execute(batch)
        let prepares = handler.requests.all.filter { if case .prepare = $0 { true } else { false } }
        #expect(prepares.count == 3)
    }

    @Test("several addresses: cutting one leaves requests succeeding through the others")
    func severalNodes() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let proxies = try (0..<3).map { _ in try TCPProxy(upstreamPort: server.port, recordsClientBytes: true) }
        let endpoints = proxies.map { CQLEndpoint(host: "127.0.0.1", port: $0.port) }
        let session = try await CQLSession.connect(Self.configuration(endpoints))
        defer { session.close() }
        #expect(Set(session.nodes) == Set(endpoints))
        for index in 0..<30 { #expect(try echoed(try await session.execute("SELECT \(index)")) == "SELECT \(index)") }
        proxies[1].stop()
        var failures = 0
        for index in 0..<100 {
            let statement = try CQLStatement("SELECT \(index)", isIdempotent: true)
            do {
                #expect(try echoed(try await session.execute(statement)) == "SELECT \(index)")
            } catch {
                failures += 1
            }
        }
        #expect(failures == 0)
    }

    @Test("the session refuses to start when no contact point answers")
    func noHost() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        let port = server.port
        await server.stop()
        await #expect {
            _ = try await CQLSession.connect(Self.configuration([CQLEndpoint(host: "127.0.0.1", port: port)]))
        } throws: { error in
            if case .noHostAvailable = error as? CQLError { return true }
            return false
        }
    }

    @Test("the control connection registers for events and moves to another node when its node goes away")
    func controlConnectionFailover() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let proxies = try (0..<2).map { _ in try TCPProxy(upstreamPort: server.port, recordsClientBytes: true) }
        let session = try await CQLSession.connect(Self.configuration(proxies.map { CQLEndpoint(host: "127.0.0.1", port: $0.port) }))
        defer { session.close() }
        let events = server.server.events
        #expect(await eventually { events.subscriberCount(for: "STATUS_CHANGE") == 1 })
        #expect(events.subscriberCount(for: "TOPOLOGY_CHANGE") == 1)
        #expect(events.subscriberCount(for: "SCHEMA_CHANGE") == 1)
        // Events the session does not act on leave it working.
        events.publish(.schemaChange(SchemaChange(changeType: .created, target: .keyspace, keyspace: "elsewhere")))
        #expect(try echoed(try await session.execute("SELECT 1")) == "SELECT 1")

        #expect(session.controlConnectionEndpoint == "127.0.0.1:\(proxies[0].port)")
        proxies[0].stop()
        #expect(await eventually { session.controlConnectionEndpoint == "127.0.0.1:\(proxies[1].port)" })
        #expect(await eventually { events.subscriberCount(for: "STATUS_CHANGE") == 1 })
        #expect(try echoed(try await session.execute(try CQLStatement("SELECT 2", isIdempotent: true))) == "SELECT 2")
    }
}
