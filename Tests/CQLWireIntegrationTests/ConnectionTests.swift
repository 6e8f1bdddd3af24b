@testable import CQLNode
import CQLWire
import Foundation
import Testing
import TestSupport

@Suite("CQLConnection against the embedded node's protocol server")
struct ConnectionTests {
    @Test("handshake negotiates the preferred compression the node offers, and requests round-trip", arguments: [
        ([FrameCompression.lz4, .snappy], FrameCompression?.some(.lz4)),
        ([.snappy, .lz4], .some(.snappy)),
        ([], nil),
    ])
    func handshake(preferred: [FrameCompression], expected: FrameCompression?) async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let connection = try await CQLConnection.connect(host: "127.0.0.1", port: server.port,
                                                         configuration: .init(compression: preferred))
        defer { connection.close() }
        #expect(connection.compression == expected)
        // Long enough for the compressors to actually compress.
        let text = "SELECT " + String(repeating: "abcdefgh", count: 200)
        #expect(try echoed(try await connection.send(echoQuery(text))) == text)
    }

    @Test("PasswordAuthenticator: right credentials log in, wrong or missing ones fail clearly")
    func authentication() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler(),
                                                authenticator: PasswordAuthenticator(username: "cassandra", password: "s3cret"))
        defer { Task { await server.stop() } }
        let good = try await CQLConnection.connect(host: "127.0.0.1", port: server.port, configuration: .init(
            credentials: .init(username: "cassandra", password: "s3cret")))
        #expect(try echoed(try await good.send(echoQuery("SELECT 1"))) == "SELECT 1")
        good.close()

        await #expect {
            _ = try await CQLConnection.connect(host: "127.0.0.1", port: server.port, configuration: .init(
                credentials: .init(username: "cassandra", password: "wrong")))
        } throws: { error in
            if case .authenticationFailed = error as? CQLError { return true }
            return false
        }
        await #expect {
            _ = try await CQLConnection.connect(host: "127.0.0.1", port: server.port)
        } throws: { error in
            if case let .authenticationRequired(_, authenticator) = error as? CQLError {
                return authenticator == PasswordAuthenticator.className
            }
            return false
        }
    }

    @Test("many concurrent requests on one connection each get their own answer")
    func concurrentRequests() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let connection = try await CQLConnection.connect(host: "127.0.0.1", port: server.port)
        defer { connection.close() }
        let mismatches = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<2000 {
                group.addTask {
                    let text = "SELECT \(index)"
                    return try echoed(try await connection.send(echoQuery(text))) == text
                }
            }
            var mismatches = 0
            for try await matched in group where !matched { mismatches += 1 }
            return mismatches
        }
        #expect(mismatches == 0)
        #expect(connection.inFlightCount == 0)
    }

    @Test("a timed-out request keeps its stream id while the node stays silent")
    func timedOutIDStaysReserved() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        server.faults.add(.init(match: .cqlContains("SILENT"), action: .timeout))
        let connection = try await CQLConnection.connect(host: "127.0.0.1", port: server.port,
                                                         configuration: .init(maxConcurrentRequests: 2))
        defer { connection.close() }
        await #expect {
            _ = try await connection.send(echoQuery("SILENT"), timeout: .milliseconds(20))
        } throws: { error in
            if case .requestTimedOut = error as? CQLError { return true }
            return false
        }
        #expect(connection.inFlightCount == 1)
        // Only the one other id is usable: each request still gets its own answer.
        for round in 0..<10 {
            let text = "SELECT \(round)"
            #expect(try echoed(try await connection.send(echoQuery(text))) == text)
        }
        #expect(connection.inFlightCount == 1)
    }

    @Test("a late answer after a timeout is dropped and reaches no other request")
    func lateAnswerAfterTimeout() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        server.faults.add(.init(match: .cqlContains("SLOW"), action: .delay(.milliseconds(300))))
        let connection = try await CQLConnection.connect(host: "127.0.0.1", port: server.port,
                                                         configuration: .init(maxConcurrentRequests: 2))
        defer { connection.close() }
        await #expect {
            _ = try await connection.send(echoQuery("SLOW 1"), timeout: .milliseconds(20))
        } throws: { error in
            if case .requestTimedOut = error as? CQLError { return true }
            return false
        }
        // Requests racing the late answer each get their own answer, never the slow one's.
        for round in 0..<40 {
            let text = "SELECT \(round)"
            #expect(try echoed(try await connection.send(echoQuery(text))) == text)
        }
        #expect(await eventually { connection.inFlightCount == 0 })
        #expect(try echoed(try await connection.send(echoQuery("SELECT after"))) == "SELECT after")
    }

    @Test("a dropped connection fails every request in flight with a clear error")
    func droppedConnection() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        server.faults.add(.init(match: .cqlContains("SLOW"), action: .delay(.seconds(5))))
        server.faults.add(.init(match: .cqlContains("DROP"), action: .dropConnection))
        let connection = try await CQLConnection.connect(host: "127.0.0.1", port: server.port)
        let slow = Task { try await connection.send(echoQuery("SLOW")) }
        #expect(await eventually { connection.inFlightCount == 1 })
        await #expect {
            _ = try await connection.send(echoQuery("DROP"))
        } throws: { error in
            if case .connectionClosed = error as? CQLError { return true }
            return false
        }
        await #expect {
            _ = try await slow.value
        } throws: { error in
            if case .connectionClosed = error as? CQLError { return true }
            return false
        }
        #expect(connection.isClosed)
        await #expect {
            _ = try await connection.send(echoQuery("SELECT 1"))
        } throws: { error in
            (error as? CQLError)?.requestWasNotSent == true
        }
    }

    @Test("cancelling a request fails it at once and keeps its id reserved")
    func cancellation() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        server.faults.add(.init(match: .cqlContains("SILENT"), action: .timeout))
        let connection = try await CQLConnection.connect(host: "127.0.0.1", port: server.port)
        defer { connection.close() }
        let silent = Task { try await connection.send(echoQuery("SILENT")) }
        #expect(await eventually { connection.inFlightCount == 1 })
        silent.cancel()
        await #expect(throws: CancellationError.self) { _ = try await silent.value }
        #expect(connection.inFlightCount == 1)
        #expect(try echoed(try await connection.send(echoQuery("SELECT 1"))) == "SELECT 1")
    }

    @Test("REGISTER delivers the node's events")
    func events() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let connection = try await CQLConnection.connect(host: "127.0.0.1", port: server.port)
        defer { connection.close() }
        try await connection.register()
        let change = SchemaChange(changeType: .created, target: .keyspace, keyspace: "fresh")
        _ = server.server.events.publish(.schemaChange(change))
        var iterator = connection.events.makeAsyncIterator()
        #expect(await iterator.next() == .schemaChange(change))
    }

    @Test("an unreachable port fails with connectionFailed")
    func unreachable() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        let port = server.port
        await server.stop()
        await #expect {
            _ = try await CQLConnection.connect(host: "127.0.0.1", port: port)
        } throws: { error in
            if case .connectionFailed = error as? CQLError { return true }
            return false
        }
    }

    @Test("a node that refuses protocol v4 surfaces as protocolVersionRefused with its message")
    func versionRefused() async throws {
        let server = try RefusingServer()
        defer { server.stop() }
        await #expect {
            _ = try await CQLConnection.connect(host: "127.0.0.1", port: server.port)
        } throws: { error in
            if case let .protocolVersionRefused(_, message) = error as? CQLError { return message.contains("supported versions") }
            return false
        }
    }

    @Test("an idle connection sends OPTIONS heartbeats and stays open")
    func heartbeats() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let proxy = try TCPProxy(upstreamPort: server.port, recordsClientBytes: true)
        let connection = try await CQLConnection.connect(host: "127.0.0.1", port: proxy.port, configuration: .init(
            heartbeatInterval: .milliseconds(100), heartbeatTimeout: .seconds(5)))
        defer { connection.close() }
        let options = { (try? proxy.sentFrames().filter { $0.header.opcode == Opcode.options.rawValue }.count) ?? 0 }
        // One OPTIONS belongs to the handshake; the rest are heartbeats.
        #expect(await eventually { options() >= 3 })
        #expect(!connection.isClosed)
        #expect(try echoed(try await connection.send(echoQuery("SELECT 1"))) == "SELECT 1")
    }

    @Test("requests and answers larger than the socket buffers go through whole, in order, concurrently")
    func largeFrames() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let connection = try await CQLConnection.connect(host: "127.0.0.1", port: server.port,
                                                         configuration: .init(compression: []))
        defer { connection.close() }
        let matched = try await echoLargeQueries(connection, count: 24)
        #expect(matched == 24)
    }

    @Test("a connection whose abandoned requests pile up unanswered is closed, failing its requests")
    func orphanedRequests() async throws {
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        server.faults.add(.init(match: .cqlContains("LOST"), action: .timeout))
        let connection = try await CQLConnection.connect(host: "127.0.0.1", port: server.port,
                                                         configuration: .init(maxOrphanedRequests: 3))
        for attempt in 0..<3 {
            await #expect(throws: CQLError.self) {
                _ = try await connection.send(echoQuery("LOST \(attempt)"), timeout: .milliseconds(20))
            }
        }
        #expect(connection.isClosed)
    }
}
