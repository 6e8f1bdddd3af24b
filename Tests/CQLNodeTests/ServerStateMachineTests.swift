@testable import CQLNode
import CQLWire
import Testing

/// The per-connection protocol state machine, driven with bytes and no sockets.
@Suite("Server connection state machine")
struct ServerStateMachineTests {
    typealias Machine = ServerConnectionStateMachine

    static let limit = 1024

    static func machine(authenticator: PasswordAuthenticator? = nil) -> Machine {
        Machine(configuration: .init(maxBodyLength: limit, authenticator: authenticator))
    }

    /// The frames written by `actions`, decoded (with the machine's compression), and whether it closed.
    static func written(_ actions: [Machine.Action], compression: FrameCompression? = nil) throws
        -> (responses: [Envelope<ResponseMessage>], closed: Bool) {
        var responses: [Envelope<ResponseMessage>] = []
        var closed = false
        for action in actions {
            switch action {
            case let .write(bytes):
                var decoder = FrameDecoder()
                decoder.append(bytes)
                while let frame = try decoder.nextFrame() {
                    responses.append(try frame.decodeResponse(compression: compression))
                }
            case .close:
                closed = true
            case .dispatch, .register:
                break
            }
        }
        return (responses, closed)
    }

    static func protocolError(_ envelope: Envelope<ResponseMessage>?) -> String? {
        guard case let .error(error)? = envelope?.message, error.kind == .protocolError else { return nil }
        return error.message
    }

    static func startup(_ machine: inout Machine, compression: String? = nil) throws {
        let actions = machine.receive(RequestMessage.startup(Startup(cqlVersion: "3.4.6", compression: compression))
            .encodeFrame(stream: 1))
        #expect(try written(actions).responses.first?.message == .ready)
    }

    @Test("OPTIONS before STARTUP answers SUPPORTED with Cassandra 4.1's keys, versions without v5")
    func optionsAnswersSupported() throws {
        var machine = Self.machine()
        let (responses, closed) = try Self.written(machine.receive(RequestMessage.options.encodeFrame(stream: 7)))
        #expect(!closed)
        #expect(responses.count == 1)
        #expect(responses.first?.stream == 7)
        let expected = Supported(options: [
            ("PROTOCOL_VERSIONS", ["3/v3", "4/v4"]), ("COMPRESSION", ["snappy", "lz4"]), ("CQL_VERSION", ["3.4.6"]),
        ])
        #expect(responses.first?.message == .supported(expected))
        #expect(machine.phase == .awaitingStartup)
    }

    @Test("Statements before STARTUP are refused with Cassandra's message", arguments: [
        (RequestMessage.query(Query(query: "SELECT now() FROM system.local", parameters: QueryParameters(consistency: .one))), "QUERY"),
        (.prepare(Prepare(query: "SELECT 1")), "PREPARE"),
        (.register(Register(events: ["SCHEMA_CHANGE"])), "REGISTER"),
        (.authResponse(.plain(username: "a", password: "b")), "AUTH_RESPONSE"),
    ])
    func statementsBeforeStartup(request: RequestMessage, name: String) throws {
        var machine = Self.machine()
        let (responses, closed) = try Self.written(machine.receive(request.encodeFrame(stream: 3)))
        #expect(!closed)
        #expect(responses.first?.stream == 3)
        #expect(Self.protocolError(responses.first) == "Unexpected message \(name), expecting STARTUP or OPTIONS")
        #expect(machine.phase == .awaitingStartup)
    }

    @Test("STARTUP options are checked as Cassandra checks them", arguments: [
        ([("CQL_VERSION", "3.0.0")], nil as String?),
        ([("cql_version", "3.4.6"), ("compression", "LZ4")], nil),
        ([("CQL_VERSION", "3.4")], nil),
        ([("CQL_VERSION", "3.4.6"), ("COMPRESSION", "zstd")], "Unknown compression algorithm: zstd"),
        ([("DRIVER_NAME", "x")], "Missing value CQL_VERSION in STARTUP message"),
        ([("CQL_VERSION", "2.0.0")], "CQL version 2.0.0 is not supported by the binary protocol (supported version are >= 3.0.0)"),
        ([("CQL_VERSION", "three")], "Invalid version value: three"),
    ])
    func startupValidation(options: [(String, String)], refusal: String?) throws {
        var machine = Self.machine()
        let (responses, _) = try Self.written(machine.receive(RequestMessage.startup(Startup(options: options)).encodeFrame(stream: 1)))
        if let refusal {
            #expect(Self.protocolError(responses.first) == refusal)
            #expect(machine.phase == .awaitingStartup)
        } else {
            #expect(responses.first?.message == .ready)
            #expect(machine.phase == .ready)
        }
    }

    @Test("STARTUP with compression answers READY uncompressed, then compresses later frames", arguments: FrameCompression.allCases)
    func compressionNegotiation(compression: FrameCompression) throws {
        var machine = Self.machine()
        let startupActions = machine.receive(RequestMessage.startup(Startup(cqlVersion: "3.4.6", compression: compression.rawValue))
            .encodeFrame(stream: 1))
        guard case let .write(readyBytes)? = startupActions.first else {
            Issue.record("no READY written")
            return
        }
        #expect(readyBytes == [0x84, 0, 0, 1, 0x02, 0, 0, 0, 0])
        #expect(machine.compression == compression)
        let register = RequestMessage.register(Register(events: ["SCHEMA_CHANGE"])).encodeFrame(stream: 2, compression: compression)
        let actions = machine.receive(register)
        #expect(actions.first == .register(["SCHEMA_CHANGE"]))
        guard case let .write(bytes)? = actions.last else {
            Issue.record("no answer to REGISTER")
            return
        }
        // READY has an empty body, which goes uncompressed; an ERROR shows the flag.
        #expect(try Self.written(actions, compression: compression).responses.first?.message == .ready)
        #expect(bytes.count == 9)
        let bad = machine.receive(RequestMessage.startup(Startup()).encodeFrame(stream: 3))
        guard case let .write(errorBytes)? = bad.first else {
            Issue.record("no answer to a second STARTUP")
            return
        }
        #expect(errorBytes[1] & FrameFlags.compression.rawValue != 0)
        #expect(Self.protocolError(try Self.written(bad, compression: compression).responses.first)
            == "Unexpected message STARTUP, the connection is already initialized")
    }

    @Test("A compressed request is decompressed before it is dispatched", arguments: FrameCompression.allCases)
    func compressedRequestDispatch(compression: FrameCompression) throws {
        var machine = Self.machine()
        try Self.startup(&machine, compression: compression.rawValue)
        let query = Query(query: "SELECT release_version FROM system.local", parameters: QueryParameters(consistency: .one))
        let actions = machine.receive(RequestMessage.query(query).encodeFrame(stream: 9, compression: compression))
        guard case let .dispatch(request)? = actions.first else {
            Issue.record("expected a dispatch, got \(actions)")
            return
        }
        #expect(request.request == .query(query))
        #expect(request.stream == 9)
        #expect(request.compression == compression)
    }

    @Test("A compressed body that does not decompress is a protocol error on its stream; the connection stays")
    func corruptCompressedBody() throws {
        var machine = Self.machine()
        try Self.startup(&machine, compression: "lz4")
        let header = FrameHeader(isResponse: false, flags: .compression, stream: 4, opcode: Opcode.query.rawValue, length: 6)
        var writer = ByteWriter()
        header.encode(into: &writer)
        writer.writeRaw([0, 0, 0, 50, 0xFF, 0xFF])
        let (responses, closed) = try Self.written(machine.receive(writer.bytes), compression: .lz4)
        #expect(!closed)
        #expect(responses.first?.stream == 4)
        #expect(Self.protocolError(responses.first)?.hasPrefix("Cannot decompress QUERY body") == true)
        #expect(machine.phase == .ready)
    }

    @Test("Ready connections dispatch the four statement opcodes with their envelope", arguments: [
        RequestMessage.query(Query(query: "SELECT 1", parameters: QueryParameters(consistency: .quorum))),
        .prepare(Prepare(query: "SELECT * FROM t WHERE k = ?")),
        .execute(Execute(id: [1, 2, 3], parameters: QueryParameters(consistency: .one))),
        .batch(Batch(statements: [.query("INSERT INTO t (k) VALUES (1)", .none)], consistency: .one)),
    ])
    func dispatchesStatements(request: RequestMessage) throws {
        var machine = Self.machine()
        try Self.startup(&machine)
        let actions = machine.receive(request.encodeFrame(stream: 300, tracing: true, customPayload: [("k", [1])]))
        guard case let .dispatch(dispatched)? = actions.first, actions.count == 1 else {
            Issue.record("expected one dispatch, got \(actions)")
            return
        }
        #expect(dispatched.stream == 300)
        #expect(dispatched.tracing)
        #expect(dispatched.customPayload?.first?.0 == "k")
        #expect(dispatched.request.opcode == request.opcode)
    }

    @Test("Several frames in one read, and a frame split across reads, each get their answer")
    func framingAcrossReads() throws {
        var machine = Self.machine()
        let bytes = RequestMessage.options.encodeFrame(stream: 1) + RequestMessage.options.encodeFrame(stream: 2)
            + RequestMessage.startup(Startup(cqlVersion: "3.4.6")).encodeFrame(stream: 3)
        var streams: [Int16] = []
        for byte in bytes {
            streams += try Self.written(machine.receive([byte])).responses.map(\.stream)
        }
        #expect(streams == [1, 2, 3])
        #expect(machine.bufferedCount == 0)
        #expect(machine.phase == .ready)
    }

    @Test("Versions other than 3 and 4 are refused in a v4 frame on stream 0, then the connection closes",
          arguments: [66, 65, 5, 71, 0, 6] as [UInt8])
    func unsupportedVersions(version: UInt8) throws {
        var machine = Self.machine()
        let actions = machine.receive([version])
        #expect(actions.last == .close)
        guard case let .write(bytes)? = actions.first else {
            Issue.record("no answer")
            return
        }
        #expect(Array(bytes.prefix(5)) == [0x84, 0x00, 0x00, 0x00, 0x00])
        let (responses, _) = try Self.written(actions)
        #expect(Self.protocolError(responses.first)
            == "Invalid or unsupported protocol version (\(version)); supported versions are (3/v3, 4/v4)")
        #expect(machine.phase == .closed)
        #expect(machine.receive(RequestMessage.options.encodeFrame(stream: 1)).isEmpty)
    }

    @Test("Versions 1 and 2 are refused in their own 8-byte-header framing", arguments: [1, 2] as [UInt8])
    func legacyVersions(version: UInt8) throws {
        var machine = Self.machine()
        let actions = machine.receive([version, 0, 0, 5, 0, 0, 0, 0])
        guard case let .write(bytes)? = actions.first else {
            Issue.record("no answer")
            return
        }
        #expect(Array(bytes.prefix(4)) == [0x80 | version, 0, 0, 0])
        var reader = ByteReader(bytes, range: 8..<bytes.count)
        let error = try ServerError(from: &reader)
        #expect(error.message == "Invalid or unsupported protocol version (\(version)); supported versions are (3/v3, 4/v4)")
        #expect(actions.last == .close)
    }

    @Test("Protocol v3 is spoken when STARTUP uses it, and answers carry version 3")
    func versionThree() throws {
        var machine = Self.machine()
        let actions = machine.receive(RequestMessage.startup(Startup(cqlVersion: "3.4.6")).encodeFrame(stream: 1, version: 3))
        guard case let .write(bytes)? = actions.first else {
            Issue.record("no READY")
            return
        }
        #expect(bytes == [0x83, 0, 0, 1, 0x02, 0, 0, 0, 0])
        #expect(machine.protocolVersion == 3)
    }

    @Test("A frame whose version differs from the connection's is refused on its stream")
    func versionChangeMidConnection() throws {
        var machine = Self.machine()
        try Self.startup(&machine)
        let (responses, closed) = try Self.written(machine.receive(RequestMessage.options.encodeFrame(stream: 5, version: 3)))
        #expect(!closed)
        #expect(responses.first?.stream == 5)
        #expect(Self.protocolError(responses.first)
            == "Invalid message version. Got 3/v3 but previous messages on this connection had version 4/v4")
    }

    @Test("Unknown opcodes and wrong directions are refused on their stream, their body skipped, the connection kept",
          arguments: [
              (0x04, 0x42 as UInt8, "Unknown opcode 66"),
              (0x84, 0x05, "Wrong protocol direction (expected REQUEST, got RESPONSE) for opcode 5 (OPTIONS)"),
              (0x04, 0x02, "Wrong protocol direction (expected RESPONSE, got REQUEST) for opcode 2 (READY)"),
          ] as [(UInt8, UInt8, String)])
    func headerRefusals(versionByte: UInt8, opcode: UInt8, message: String) throws {
        var machine = Self.machine()
        let body: [UInt8] = [1, 2, 3, 4, 5]
        let frame = [versionByte, 0, 0, 2, opcode, 0, 0, 0, UInt8(body.count)] + body
        // The body arrives in two pieces after the header: neither piece may be taken for a frame.
        var actions = machine.receive(frame.prefix(11))
        actions += machine.receive(frame.dropFirst(11))
        actions += machine.receive(RequestMessage.options.encodeFrame(stream: 3))
        let (responses, closed) = try Self.written(actions)
        #expect(!closed)
        #expect(responses.count == 2)
        #expect(responses.first?.stream == 2)
        #expect(responses.first?.header.version == 4)
        #expect(Self.protocolError(responses.first) == message)
        #expect(responses.last?.stream == 3)
        if case .supported? = responses.last?.message {} else { Issue.record("OPTIONS after the refusal not answered") }
    }

    @Test("Frames over the limit or with a negative length close the connection before any body is buffered",
          arguments: [Int32(1025), 300 * 1024 * 1024, -5, Int32.min] as [Int32])
    func oversizedFrames(length: Int32) throws {
        var machine = Self.machine()
        var writer = ByteWriter()
        FrameHeader(isResponse: false, stream: 1, opcode: Opcode.options.rawValue, length: length).encode(into: &writer)
        let actions = machine.receive(writer.bytes)
        #expect(actions == [.close])
        #expect(machine.receive([UInt8](repeating: 0, count: 4096)).isEmpty)
        #expect(machine.bufferedCount == 0)
    }

    @Test("A truncated frame is waited for, then answered when the rest arrives")
    func truncatedFrameWaits() throws {
        var machine = Self.machine()
        let startup = RequestMessage.startup(Startup(cqlVersion: "3.4.6")).encodeFrame(stream: 1)
        #expect(machine.receive(startup.prefix(19)).isEmpty)
        #expect(machine.bufferedCount == 19)
        #expect(try Self.written(machine.receive(startup.dropFirst(19))).responses.first?.message == .ready)
    }

    @Test("A body that does not decode is a protocol error on its stream; the connection stays usable")
    func malformedBody() throws {
        var machine = Self.machine()
        try Self.startup(&machine)
        // QUERY whose [long string] claims 1000 bytes but carries 3.
        let frame: [UInt8] = [0x04, 0, 0, 6, Opcode.query.rawValue, 0, 0, 0, 7, 0, 0, 0x03, 0xE8, 0x41, 0x42, 0x43]
        let (responses, closed) = try Self.written(machine.receive(frame))
        #expect(!closed)
        #expect(responses.first?.stream == 6)
        #expect(Self.protocolError(responses.first)?.hasPrefix("Invalid QUERY message:") == true)
        #expect(try Self.written(machine.receive(RequestMessage.options.encodeFrame(stream: 7))).responses.count == 1)
    }

    @Test("REGISTER accepts the three event types and refuses others")
    func register() throws {
        var machine = Self.machine()
        try Self.startup(&machine)
        let good = machine.receive(RequestMessage.register(Register(events: ["TOPOLOGY_CHANGE", "SCHEMA_CHANGE"])).encodeFrame(stream: 2))
        #expect(good.first == .register(["TOPOLOGY_CHANGE", "SCHEMA_CHANGE"]))
        let bad = machine.receive(RequestMessage.register(Register(events: ["COFFEE_READY"])).encodeFrame(stream: 3))
        #expect(Self.protocolError(try Self.written(bad).responses.first) == "Invalid event type: COFFEE_READY")
    }

    @Test("With PasswordAuthenticator, STARTUP answers AUTHENTICATE and only AUTH_RESPONSE is accepted until it succeeds")
    func authentication() throws {
        var machine = Self.machine(authenticator: PasswordAuthenticator(username: "cassandra", password: "cassandra"))
        let startup = machine.receive(RequestMessage.startup(Startup(cqlVersion: "3.4.4")).encodeFrame(stream: 1))
        guard case let .write(authenticate)? = startup.first else {
            Issue.record("no AUTHENTICATE")
            return
        }
        // Byte for byte what Cassandra sent in auth.pcap.
        #expect(authenticate == [0x84, 0, 0, 1, 0x03, 0, 0, 0, 0x31, 0, 0x2F] + Array("org.apache.cassandra.auth.PasswordAuthenticator".utf8))
        #expect(machine.phase == .authenticating)

        let early = machine.receive(RequestMessage.query(Query(query: "SELECT 1", parameters: QueryParameters(consistency: .one)))
            .encodeFrame(stream: 2))
        #expect(Self.protocolError(try Self.written(early).responses.first) == "Unexpected message QUERY, expecting SASL_RESPONSE")

        let wrong = machine.receive(RequestMessage.authResponse(.plain(username: "cassandra", password: "wrong")).encodeFrame(stream: 2))
        guard case let .write(wrongBytes)? = wrong.first else {
            Issue.record("no answer to a wrong password")
            return
        }
        #expect(wrongBytes == [0x84, 0, 0, 2, 0, 0, 0, 0, 0x3F, 0, 0, 0x01, 0x00, 0, 0x39]
            + Array("Provided username cassandra and/or password are incorrect".utf8))
        #expect(machine.phase == .authenticating)

        let right = machine.receive(RequestMessage.authResponse(.plain(username: "cassandra", password: "cassandra")).encodeFrame(stream: 3))
        #expect(right == [.write([0x84, 0, 0, 3, 0x10, 0, 0, 0, 4, 0xFF, 0xFF, 0xFF, 0xFF])])
        #expect(machine.phase == .ready)
        #expect(machine.session.authenticatedUser == "cassandra")
    }

    @Test("SASL PLAIN tokens are split as Cassandra splits them", arguments: [
        ([0] + Array("u".utf8) + [0] + Array("p".utf8), "u" as String?, nil as String?),
        (Array("authz".utf8) + [0] + Array("u".utf8) + [0] + Array("p".utf8), "u", nil),
        (Array("u".utf8), nil, "Password must not be null"),
        ([0, 0] + Array("p".utf8), nil, "Authentication ID must not be null"),
        ([0] + Array("u".utf8) + [0] + Array("x".utf8), nil, "Provided username u and/or password are incorrect"),
        ([0] + Array("nobody".utf8) + [0] + Array("p".utf8), nil, "Provided username nobody and/or password are incorrect"),
    ] as [([UInt8], String?, String?)])
    func saslPlain(token: [UInt8], user: String?, failure: String?) {
        let result = PasswordAuthenticator(users: ["u": "p"]).authenticate(token: token)
        switch result {
        case let .success(name):
            #expect(name == user)
            #expect(failure == nil)
        case let .failure(error):
            #expect(error.message == failure)
            #expect(user == nil)
        }
    }

    @Test("Hostile byte streams never trap: each ends answered, waiting or closed", arguments: 0..<64)
    func hostileBytes(seed: Int) throws {
        var generator = HostileStreamGenerator(seed: UInt64(seed))
        var machine = Self.machine(authenticator: seed.isMultiple(of: 2) ? PasswordAuthenticator(username: "u", password: "p") : nil)
        // Start from a valid handshake half of the time so that deeper states see garbage too.
        var input: [UInt8] = seed.isMultiple(of: 4) ? [] : RequestMessage.startup(Startup(cqlVersion: "3.4.6")).encodeFrame(stream: 1)
        for _ in 0..<(Int(generator.next() % 8) + 1) {
            // Plausible headers (version 4, small lengths) with random opcodes, flags and bodies.
            let length = Int(generator.next() % 40)
            input += [4, UInt8(truncatingIfNeeded: generator.next() % 32), 0, 1,
                      UInt8(truncatingIfNeeded: generator.next() % 20), 0, 0, 0, UInt8(length)]
            input += (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        }
        input += (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        var offset = 0
        var closed = false
        while offset < input.count {
            let chunk = min(input.count - offset, Int(generator.next() % 17) + 1)
            let actions = machine.receive(input[offset..<(offset + chunk)])
            if closed { #expect(actions.isEmpty) }
            if actions.contains(.close) { closed = true }
            offset += chunk
        }
        #expect(closed == (machine.phase == .closed))
        #expect(machine.bufferedCount <= FrameHeader.size + Self.limit)
    }
}

/// A small deterministic generator, so a failing seed reproduces.
struct HostileStreamGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
