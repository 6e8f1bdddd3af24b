@testable import CQLNode
import CQLWire
import Foundation
import NIOPosix
import Testing
import TestSupport

/// The protocol server over real loopback sockets, with a raw client that writes exact bytes.
@Suite("Server over loopback sockets")
struct ServerSocketTests {
    /// Starts a server on a free port, runs `body`, then shuts the server down.
    static func withServer<T: Sendable>(
        authenticator: PasswordAuthenticator? = nil, maxFrameBodyLength: Int = 256 * 1024 * 1024,
        faults: FaultInjection? = nil, maxConcurrentRequests: Int = 2048, handler: EchoHandler = EchoHandler(),
        _ body: @Sendable (CQLServer, Int) async throws -> T
    ) async throws -> T {
        let server = CQLServer(
            configuration: .init(port: 0, maxFrameBodyLength: maxFrameBodyLength, authenticator: authenticator,
                                 faultInjection: faults, maxConcurrentRequestsPerConnection: maxConcurrentRequests),
            handler: handler)
        let address = try await server.start()
        let port = try #require(address.port)
        #expect(server.localPort == port)
        do {
            let result = try await body(server, port)
            try await server.shutdown()
            return result
        } catch {
            try? await server.shutdown()
            throw error
        }
    }

    static func query(_ text: String, consistency: Consistency = .one) -> RequestMessage {
        .query(Query(query: text, parameters: QueryParameters(consistency: consistency)))
    }

    static func protocolError(_ envelope: Envelope<ResponseMessage>?) -> String? {
        guard case let .error(error)? = envelope?.message, error.kind == .protocolError else { return nil }
        return error.message
    }

    // MARK: - Handshake

    @Test("OPTIONS → SUPPORTED, STARTUP → READY, then a statement reaches the handler")
    func handshake() async throws {
        try await Self.withServer { _, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                let supported = try client.roundTrip(.options, stream: 0)
                guard case let .supported(options)? = supported?.message else {
                    throw RawClientError(description: "OPTIONS answered \(String(describing: supported?.message))")
                }
                #expect(options[option: "PROTOCOL_VERSIONS"] == ["3/v3", "4/v4"])
                #expect(options[option: "COMPRESSION"] == ["snappy", "lz4"])
                #expect(options[option: "CQL_VERSION"] == ["3.4.6"])
                try client.startup()
                let answer = try client.roundTrip(Self.query("SELECT now() FROM system.local"), stream: 5)
                #expect(answer?.stream == 5)
                #expect(answer.flatMap { EchoHandler.echoedText($0.message) } == "SELECT now() FROM system.local")
            }
        }
    }

    @Test("STARTUP with compression, then compressed requests and answers", arguments: FrameCompression.allCases)
    func compressedExchange(compression: FrameCompression) async throws {
        try await Self.withServer { _, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                try client.startup(compression: compression)
                let text = "SELECT " + String(repeating: "compressible text ", count: 40)
                try client.send(Self.query(text).encodeFrame(stream: 9, compression: compression))
                let frame = try #require(try client.receiveFrame())
                #expect(frame.header.flags.contains(.compression))
                #expect(frame.body.count < text.utf8.count)
                let answer = try frame.decodeResponse(compression: compression)
                #expect(answer.stream == 9)
                #expect(EchoHandler.echoedText(answer.message) == text)
            }
        }
    }

    @Test("Warnings from the handler travel with the warning flag; USE changes the session keyspace")
    func warningsAndSession() async throws {
        try await Self.withServer { _, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                try client.startup()
                let warned = try client.roundTrip(Self.query("WARN me"), stream: 1)
                #expect(warned?.header.flags.contains(.warning) == true)
                #expect(warned?.warnings == ["careful: WARN me"])
                let use = try client.roundTrip(Self.query("USE scheduler"), stream: 2)
                #expect(use?.message == .result(.setKeyspace("scheduler")))
                let after = try client.roundTrip(Self.query("SELECT 1"), stream: 3)
                #expect(after.flatMap { EchoHandler.echoedText($0.message) } == "scheduler/SELECT 1")
            }
        }
    }

    // MARK: - Authentication

    @Test("PasswordAuthenticator: right password succeeds, wrong one gets 0x0100 and may retry")
    func authentication() async throws {
        let authenticator = PasswordAuthenticator(username: "cassandra", password: "cassandra")
        try await Self.withServer(authenticator: authenticator) { _, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                let challenge = try client.roundTrip(.startup(Startup(cqlVersion: "3.4.4")), stream: 1)
                #expect(challenge?.message == .authenticate(Authenticate(authenticator: "org.apache.cassandra.auth.PasswordAuthenticator")))
                let refused = try client.roundTrip(.authResponse(.plain(username: "cassandra", password: "wrong")), stream: 2)
                #expect(refused?.message == .error(ServerError(.badCredentials,
                                                               message: "Provided username cassandra and/or password are incorrect")))
                let accepted = try client.roundTrip(.authResponse(.plain(username: "cassandra", password: "cassandra")), stream: 3)
                #expect(accepted?.message == .authSuccess(AuthSuccess(token: nil)))
                let answer = try client.roundTrip(Self.query("SELECT 1"), stream: 4)
                #expect(answer.flatMap { EchoHandler.echoedText($0.message) } == "SELECT 1")
            }
        }
    }

    // MARK: - Cassandra's answers to malformed input (bad_frames.pcap)

    @Test("bad_frames.pcap: an HTTP request is refused as protocol version 71 and the connection closed")
    func httpRequest() async throws {
        let fixture = try CaptureFixture.load("bad_frames.json")
        let captured = try fixture.connection("http_request")
        try await Self.withServer { _, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                try client.send(bytes(hex: captured.sent[0]))
                let answer = try #require(try client.receiveFrame())
                // Cassandra 3.11 answered in its beta v5 framing (0x85, USE_BETA); a 4.x server without
                // v5 answers in v4 framing. The message is the same apart from the version list.
                #expect(bytes(hex: captured.answered[0]).prefix(2) == [0x85, 0x10])
                #expect(answer.header.version == 4 && answer.header.isResponse && answer.header.flags.isEmpty)
                #expect(answer.header.stream == 0)
                let decoded = try answer.decodeResponse(compression: nil)
                #expect(Self.protocolError(decoded)
                    == "Invalid or unsupported protocol version (71); supported versions are (3/v3, 4/v4)")
                #expect(try client.closedWithoutAnswer())
            }
        }
    }

    @Test("bad_frames.pcap: replayed byte for byte, the answers Cassandra gave (v4-framed cases are identical)",
          arguments: ["unknown_opcode_after_startup", "query_before_startup"])
    func replayIdentical(name: String) async throws {
        let captured = try CaptureFixture.load("bad_frames.json").connection(name)
        try await Self.withServer { _, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                for (sent, answered) in zip(captured.sent, captured.answered) {
                    try client.send(bytes(hex: sent))
                    let frame = try #require(try client.receiveFrame())
                    #expect(frame.bytes == bytes(hex: answered))
                }
                // The connection stays usable.
                #expect(try client.roundTrip(.options, stream: 40)?.stream == 40)
            }
        }
    }

    @Test("bad_frames.pcap: a request with the response bit is refused on its stream in v4 framing")
    func responseDirectionBit() async throws {
        let captured = try CaptureFixture.load("bad_frames.json").connection("response_direction_bit")
        try await Self.withServer { _, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                try client.send(bytes(hex: captured.sent[0]))
                let frame = try #require(try client.receiveFrame())
                let expected = bytes(hex: captured.answered[0])
                // Same body as Cassandra's; 4.x answers before STARTUP in its current version, v4.
                #expect(frame.body == Array(expected.dropFirst(9)))
                #expect(Array(frame.bytes.prefix(5)) == [0x84, 0x00, 0x00, 0x01, 0x00])
                #expect(try client.roundTrip(.options, stream: 2)?.stream == 2)
            }
        }
    }

    @Test("bad_frames.pcap: a 300 MiB or negative length is never answered; the connection is closed",
          arguments: ["length_300_mib", "negative_length"])
    func refusedLengths(name: String) async throws {
        let captured = try CaptureFixture.load("bad_frames.json").connection(name)
        #expect(captured.answered.isEmpty)
        try await Self.withServer { server, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                try client.send(bytes(hex: captured.sent[0]))
                #expect(try client.closedWithoutAnswer())
            }
            // Other connections are unaffected.
            try await RawClient.run {
                let other = try RawClient(port: port)
                try other.startup()
            }
            #expect(server.localPort == port)
        }
    }

    @Test("bad_frames.pcap: a truncated STARTUP is waited for and answered once complete")
    func truncatedStartup() async throws {
        let captured = try CaptureFixture.load("bad_frames.json").connection("truncated_startup")
        let partial = bytes(hex: captured.sent[0])
        // The captured frame declares a 40-byte body holding one option, CQL_VERSION, whose value
        // must then be 23 bytes long; send the rest of such a frame after the captured part.
        let rest = Array("RSION".utf8) + [0x00, 0x17] + Array("3.4.6-truncated.capture".utf8)
        #expect(partial.count - FrameHeader.size + rest.count == 40)
        try await Self.withServer { _, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                try client.send(partial)
                try client.send(rest)
                #expect(try client.receiveResponse()?.message == .ready)
            }
        }
    }

    @Test("Frames over a configured limit close the connection without the body being sent")
    func configuredLimit() async throws {
        try await Self.withServer(maxFrameBodyLength: 1000) { _, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                try client.startup()
                // Only the header of a 1001-byte QUERY: the server must not wait for its body.
                try client.send([0x04, 0, 0, 2, Opcode.query.rawValue, 0, 0, 0x03, 0xE9])
                #expect(try client.closedWithoutAnswer())
            }
        }
    }

    // MARK: - Version negotiation (negotiation.pcap)

    @Test("negotiation.pcap: versions 66, 65 and 5 are refused and the connection closed; 4 is served",
          arguments: ["v66", "v65", "v5", "v4"])
    func negotiation(name: String) async throws {
        let captured = try CaptureFixture.load("negotiation.json").connection(name)
        let sent = bytes(hex: captured.sent[0])
        try await Self.withServer { _, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                try client.send(sent)
                let answer = try #require(try client.receiveFrame())
                if name == "v4" {
                    #expect(answer.bytes == bytes(hex: captured.answered[0])
                        .replacing(Array("\u{0}\u{3}\u{0}\u{4}3/v3\u{0}\u{4}4/v4\u{0}\t5/v5-beta".utf8),
                                   with: Array("\u{0}\u{2}\u{0}\u{4}3/v3\u{0}\u{4}4/v4".utf8))
                        .replacing(Array("3.4.4".utf8), with: Array("3.4.6".utf8))
                        .replacingLength())
                    #expect(try client.roundTrip(.startup(Startup(cqlVersion: "3.4.4")), stream: 1)?.message == .ready)
                } else {
                    #expect(Array(answer.bytes.prefix(5)) == [0x84, 0x00, 0x00, 0x00, 0x00])
                    #expect(Self.protocolError(try answer.decodeResponse(compression: nil))
                        == "Invalid or unsupported protocol version (\(sent[0])); supported versions are (3/v3, 4/v4)")
                    #expect(try client.closedWithoutAnswer())
                }
            }
        }
    }

    // MARK: - Concurrency

    @Test("500 requests in flight on one connection are all answered, each on its own stream")
    func manyStreams() async throws {
        let count = 500
        try await Self.withServer { _, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                try client.startup()
                // Every request waits in the handler until all 500 are running at once: a server
                // that ran them one at a time would never answer the first.
                var batch: [UInt8] = []
                for stream in 0..<count {
                    batch += Self.query("BARRIER \(count) #\(stream)").encodeFrame(stream: Int16(stream))
                }
                try client.send(batch)
                var seen = Set<Int16>()
                for _ in 0..<count {
                    let answer = try #require(try client.receiveResponse())
                    #expect(EchoHandler.echoedText(answer.message) == "BARRIER \(count) #\(answer.stream)")
                    seen.insert(answer.stream)
                }
                #expect(seen.count == count)
            }
        }
    }

    @Test("With at most 2 requests running per connection, reading pauses and resumes until all 200 are answered")
    func backPressure() async throws {
        let count = 200
        try await Self.withServer(maxConcurrentRequests: 2) { _, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                try client.startup()
                var batch: [UInt8] = []
                for stream in 0..<count {
                    batch += Self.query("SELECT \(stream)").encodeFrame(stream: Int16(stream))
                }
                try client.send(batch)
                var seen = Set<Int16>()
                for _ in 0..<count {
                    let answer = try #require(try client.receiveResponse())
                    #expect(EchoHandler.echoedText(answer.message) == "SELECT \(answer.stream)")
                    seen.insert(answer.stream)
                }
                #expect(seen.count == count)
            }
        }
    }

    @Test("Many connections are served side by side")
    func manyConnections() async throws {
        try await Self.withServer { server, port in
            let clients = try await RawClient.run { try (0..<40).map { _ in try RawClient(port: port) } }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, client) in clients.enumerated() {
                    group.addTask {
                        try await RawClient.run {
                            try client.startup()
                            let answer = try client.roundTrip(Self.query("SELECT \(index)"), stream: 1)
                            #expect(answer.flatMap { EchoHandler.echoedText($0.message) } == "SELECT \(index)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(server.connectionCount == clients.count)
        }
    }

    // MARK: - Events

    @Test("A schema change published by the handler reaches registered connections on stream -1, compressed when negotiated")
    func events() async throws {
        try await Self.withServer { server, port in
            try await RawClient.run {
                let listener = try RawClient(port: port)
                try listener.startup(compression: .lz4)
                let ready = try listener.roundTrip(.register(Register(events: ["SCHEMA_CHANGE"])), stream: 1, compression: .lz4)
                #expect(ready?.message == .ready)
                #expect(server.events.subscriberCount(for: "SCHEMA_CHANGE") == 1)

                let actor = try RawClient(port: port)
                try actor.startup()
                let result = try actor.roundTrip(Self.query("CREATE KEYSPACE jobs"), stream: 3)
                let change = SchemaChange(changeType: .created, target: .keyspace, keyspace: "jobs")
                #expect(result?.message == .result(.schemaChange(change)))

                let event = try #require(try listener.receiveFrame())
                #expect(event.header.stream == -1)
                #expect(event.header.flags.contains(.compression))
                #expect(try event.decodeResponse(compression: .lz4).message == .event(.schemaChange(change)))
            }
            // A closed connection is no longer an event target.
            #expect(await eventually { server.events.subscriberCount(for: "SCHEMA_CHANGE") == 0 })
        }
    }

    // MARK: - Shutdown

    @Test("Shutdown with open connections closes them and stops accepting")
    func shutdownWithOpenConnections() async throws {
        let server = CQLServer(configuration: .init(port: 0), handler: EchoHandler())
        let port = try #require(try await server.start().port)
        let clients = try await RawClient.run {
            try (0..<5).map { _ in
                let client = try RawClient(port: port)
                try client.startup()
                return client
            }
        }
        try await server.shutdown()
        try await RawClient.run {
            for client in clients {
                let closed = try client.closedWithoutAnswer()
                #expect(closed)
            }
        }
        await #expect(throws: (any Error).self) {
            try await RawClient.run { _ = try RawClient(port: port) }
        }
        await #expect(throws: CQLServer.LifecycleError.alreadyShutDown) { try await server.start() }
    }

    @Test("Shutdown does not wait for a request stuck in the handler; the request is cancelled")
    func shutdownWithRequestInFlight() async throws {
        let handler = EchoHandler()
        let server = CQLServer(configuration: .init(port: 0), handler: handler)
        let port = try #require(try await server.start().port)
        let client = try await RawClient.run {
            let client = try RawClient(port: port)
            try client.startup()
            // Waits for a second BARRIER that never comes.
            try client.send(Self.query("BARRIER 2 stuck").encodeFrame(stream: 1))
            return client
        }
        #expect(await eventually { await handler.barrier.waitingCount == 1 })
        try await server.shutdown()
        try await RawClient.run {
            let closed = try client.closedWithoutAnswer()
            #expect(closed)
        }
        #expect(await eventually { await handler.barrier.waitingCount == 0 })
    }

    // MARK: - Fault injection

    @Test("Injected Unavailable and CAS WriteTimeout answer matching statements; others run normally")
    func injectedErrors() async throws {
        let faults = FaultInjection()
        faults.add(.init(match: .cqlContains("IF NOT EXISTS"), action: .writeTimeoutCAS, count: 1))
        let unavailable = faults.add(.init(match: .cqlContains("FROM jobs"), action: .unavailable))
        try await Self.withServer(faults: faults) { _, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                try client.startup()
                let lwt = Query(query: "INSERT INTO locks (name) VALUES ('a') IF NOT EXISTS",
                                parameters: QueryParameters(consistency: .localQuorum, serialConsistency: .localSerial))
                let timedOut = try client.roundTrip(.query(lwt), stream: 1)
                guard case let .error(error)? = timedOut?.message else {
                    throw RawClientError(description: "expected an error, got \(String(describing: timedOut?.message))")
                }
                #expect(error.isCASWriteTimeout)
                #expect(error.kind == .writeTimeout(consistency: .localSerial, received: 0, blockFor: 1, writeType: "CAS"))
                // The rule fired once: the retry goes through.
                let retried = try client.roundTrip(.query(lwt), stream: 2)
                #expect(retried.flatMap { EchoHandler.echoedText($0.message) } == lwt.query)

                let read = try client.roundTrip(Self.query("SELECT * FROM jobs", consistency: .quorum), stream: 3)
                #expect(read?.message == .error(ServerError(.unavailable(consistency: .quorum, required: 1, alive: 0),
                                                            message: "Cannot achieve consistency level QUORUM")))
                faults.remove(unavailable)
                let healed = try client.roundTrip(Self.query("SELECT * FROM jobs"), stream: 4)
                #expect(healed.flatMap { EchoHandler.echoedText($0.message) } == "SELECT * FROM jobs")
            }
        }
    }

    @Test("An injected timeout never answers its request while later ones are answered")
    func injectedTimeout() async throws {
        let faults = FaultInjection()
        let rule = faults.add(.init(match: .cqlContains("slow"), action: .timeout))
        try await Self.withServer(faults: faults) { _, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                try client.startup()
                try client.send(Self.query("SELECT slow").encodeFrame(stream: 1))
                try client.send(Self.query("SELECT fast").encodeFrame(stream: 2))
                let answer = try client.receiveResponse()
                #expect(answer?.stream == 2)
            }
        }
        #expect(faults.firedCount(rule) == 1)
    }

    @Test("An injected drop closes the connection after the request is read, before or after execution",
          arguments: [FaultInjection.Timing.beforeExecution, .afterExecution])
    func injectedDrop(timing: FaultInjection.Timing) async throws {
        let faults = FaultInjection()
        let rule = faults.add(.init(match: .opcode(.query), action: .dropConnection, timing: timing, count: 1))
        try await Self.withServer(faults: faults) { _, port in
            try await RawClient.run {
                let client = try RawClient(port: port)
                try client.startup()
                try client.send(Self.query("USE ks").encodeFrame(stream: 1))
                #expect(try client.closedWithoutAnswer())
                let next = try RawClient(port: port)
                try next.startup()
                #expect(try next.roundTrip(Self.query("SELECT 1"), stream: 1) != nil)
            }
        }
        #expect(faults.firedCount(rule) == 1)
    }
}

extension Array where Element == UInt8 {
    /// This array with the first occurrence of `pattern` replaced.
    func replacing(_ pattern: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        guard pattern.count <= count else { return self }
        for start in 0...(count - pattern.count) where Array(self[start..<(start + pattern.count)]) == pattern {
            return Array(self[..<start]) + replacement + Array(self[(start + pattern.count)...])
        }
        return self
    }

    /// A frame's bytes with its length field recomputed from the body.
    func replacingLength() -> [UInt8] {
        guard count >= 9 else { return self }
        let length = UInt32(count - 9)
        var bytes = self
        bytes[5] = UInt8(truncatingIfNeeded: length >> 24)
        bytes[6] = UInt8(truncatingIfNeeded: length >> 16)
        bytes[7] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[8] = UInt8(truncatingIfNeeded: length)
        return bytes
    }
}
