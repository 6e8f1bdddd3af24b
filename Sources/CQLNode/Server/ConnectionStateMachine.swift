import CQLCodec

/// The native protocol as this node speaks it: Cassandra 4.1 configured without protocol v5.
enum NodeProtocol {
    /// The protocol versions a connection may use; v3 shares v4's framing (see ``ServerConnectionStateMachine``).
    static let supportedVersions: [UInt8] = [3, 4]
    /// The version error frames use before a connection has chosen one (Cassandra's `ProtocolVersion.CURRENT`).
    static let currentVersion: UInt8 = 4
    /// The CQL version Cassandra 4.1 reports.
    static let cqlVersion = "3.4.6"

    /// A version as Cassandra names it in SUPPORTED and in errors (`4/v4`).
    static func versionName(_ version: UInt8) -> String { "\(version)/v\(version)" }

    /// Cassandra's text for a version it refuses.
    static func invalidVersionMessage(_ version: UInt8) -> String {
        "Invalid or unsupported protocol version (\(version)); supported versions are ("
            + supportedVersions.map(versionName).joined(separator: ", ") + ")"
    }

    /// The OPTIONS answer, keys in the order Cassandra's captures show them.
    static let supportedOptions = Supported(options: [
        ("PROTOCOL_VERSIONS", supportedVersions.map(versionName)),
        ("COMPRESSION", ["snappy", "lz4"]),
        ("CQL_VERSION", [cqlVersion]),
    ])

    /// The event types REGISTER accepts.
    static let eventTypes: Set<String> = ["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"]
}

/// One connection's protocol, with no I/O: bytes in, actions out.
///
/// It frames the byte stream itself rather than through `FrameDecoder` because Cassandra
/// judges a frame piece by piece: the version from the very first byte (an HTTP request is
/// refused as "version 71" before its would-be length is looked at), then the opcode and its
/// direction, then the length, and only then waits for the body. A frame whose length is
/// negative or over the limit closes the connection without its body ever being buffered.
struct ServerConnectionStateMachine {
    /// Where the connection is in its life.
    enum Phase: Equatable, Sendable {
        /// Only OPTIONS and STARTUP are allowed.
        case awaitingStartup
        /// STARTUP was accepted; AUTH_RESPONSE is expected.
        case authenticating
        /// Statements are accepted.
        case ready
        /// A fatal error happened; input is ignored.
        case closed
    }

    /// What the connection must do next, in order.
    enum Action: Equatable, Sendable {
        /// Send these frame bytes.
        case write([UInt8])
        /// Run a statement through the ``QueryHandler``.
        case dispatch(DispatchedRequest)
        /// Deliver these event types to this connection from now on.
        case register(Set<String>)
        /// Close the connection after the writes before this action.
        case close
    }

    /// The limits and policies a connection runs with.
    struct Configuration: Sendable {
        var maxBodyLength: Int
        var authenticator: PasswordAuthenticator?
    }

    let configuration: Configuration
    /// The connection's session, shared with the requests it dispatches.
    let session: ClientSession
    private(set) var phase: Phase = .awaitingStartup
    /// The version STARTUP chose; every later frame must use it.
    private(set) var protocolVersion: UInt8?
    /// The body compression STARTUP negotiated.
    private(set) var compression: FrameCompression?

    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Body bytes of a refused frame still to be thrown away as they arrive.
    private var bytesToSkip = 0

    init(configuration: Configuration, session: ClientSession = ClientSession()) {
        self.configuration = configuration
        self.session = session
    }

    /// How many received bytes wait for the rest of their frame.
    var bufferedCount: Int { buffer.count - readIndex }

    /// Feeds bytes from the socket and returns what to do about every frame they complete.
    mutating func receive(_ bytes: some Collection<UInt8>) -> [Action] {
        guard phase != .closed else { return [] }
        var input = bytes[...]
        if bytesToSkip > 0 {
            let skipped = min(bytesToSkip, input.count)
            bytesToSkip -= skipped
            input = input.dropFirst(skipped)
        }
        compactIfWorthwhile()
        buffer.append(contentsOf: input)
        var actions: [Action] = []
        while phase != .closed, bytesToSkip == 0, let frameActions = nextFrameActions() {
            actions.append(contentsOf: frameActions)
        }
        return actions
    }

    /// The actions of the next complete frame (or of a refused header), nil when more bytes are needed.
    private mutating func nextFrameActions() -> [Action]? {
        guard bufferedCount >= 1 else { return nil }
        let version = buffer[readIndex] & 0x7F
        guard NodeProtocol.supportedVersions.contains(version) else {
            enterClosed()
            return [.write(Self.fatalVersionError(version)), .close]
        }
        guard bufferedCount >= FrameHeader.size else { return nil }
        var reader = ByteReader(buffer, range: readIndex..<(readIndex + FrameHeader.size))
        guard let header = try? FrameHeader(decoding: &reader) else { return nil }
        let length = Int(header.length)
        if let refusal = headerRefusal(header) {
            readIndex += FrameHeader.size
            var actions: [Action] = [.write(errorFrame(stream: header.stream, message: refusal))]
            if length < 0 || length > configuration.maxBodyLength {
                enterClosed()
                actions.append(.close)
            } else {
                let skipped = min(length, bufferedCount)
                readIndex += skipped
                bytesToSkip = length - skipped
            }
            return actions
        }
        if length < 0 || length > configuration.maxBodyLength {
            // Cassandra answers neither: it discards what it cannot hold. Closing frees the
            // client sooner and keeps the node from reading up to 2 GiB of garbage.
            enterClosed()
            return [.close]
        }
        let bodyStart = readIndex + FrameHeader.size
        guard buffer.count - bodyStart >= length else { return nil }
        let body = Array(buffer[bodyStart..<(bodyStart + length)])
        readIndex = bodyStart + length
        return process(header: header, body: body)
    }

    /// Stops reading for good and lets go of whatever was buffered.
    private mutating func enterClosed() {
        phase = .closed
        buffer = []
        readIndex = 0
        bytesToSkip = 0
    }

    /// Cassandra's complaint about an opcode, checked before the body is awaited.
    private func headerRefusal(_ header: FrameHeader) -> String? {
        guard let opcode = header.knownOpcode else { return "Unknown opcode \(header.opcode)" }
        let expected = opcode.isRequest ? "REQUEST" : "RESPONSE"
        let got = header.isResponse ? "RESPONSE" : "REQUEST"
        guard expected == got else {
            return "Wrong protocol direction (expected \(expected), got \(got)) for opcode \(header.opcode) (\(opcode))"
        }
        return nil
    }

    /// Drops consumed bytes once they outweigh the unread ones, so each byte moves O(1) times.
    private mutating func compactIfWorthwhile() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            readIndex = 0
        } else if readIndex >= 4096, readIndex >= buffer.count - readIndex {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }

    // MARK: - Messages

    private mutating func process(header: FrameHeader, body: [UInt8]) -> [Action] {
        let stream = header.stream
        if let established = protocolVersion, header.version != established {
            return [.write(errorFrame(stream: stream, message: "Invalid message version. Got \(NodeProtocol.versionName(header.version)) "
                + "but previous messages on this connection had version \(NodeProtocol.versionName(established))"))]
        }
        // Opcode validity and direction were checked with the header.
        guard let opcode = header.knownOpcode else { return [] }
        var plain = body
        // Like Cassandra, the flag means something only once compression was negotiated.
        if header.flags.contains(.compression), let compression {
            do {
                plain = try compression.decompress(body, maxLength: configuration.maxBodyLength)
            } catch {
                return [.write(errorFrame(stream: stream, message: "Cannot decompress \(opcode) body: \(error)"))]
            }
        }
        let message: RequestMessage
        let customPayload: [(String, [UInt8]?)]?
        do {
            var reader = ByteReader(plain)
            customPayload = header.flags.contains(.customPayload) ? try reader.readBytesMap("custom payload") : nil
            message = try RequestMessage(opcode: opcode, body: &reader)
        } catch {
            return [.write(errorFrame(stream: stream, message: "Invalid \(opcode) message: \(error)"))]
        }
        switch phase {
        case .awaitingStartup:
            return awaitingStartup(message, header: header)
        case .authenticating:
            return authenticating(message, stream: stream)
        case .ready:
            return ready(message, header: header, customPayload: customPayload)
        case .closed:
            return []
        }
    }

    private mutating func awaitingStartup(_ message: RequestMessage, header: FrameHeader) -> [Action] {
        switch message {
        case .options:
            return [.write(frame(.supported(NodeProtocol.supportedOptions), stream: header.stream, version: header.version))]
        case let .startup(startup):
            let chosen: FrameCompression?
            switch Self.validate(startup) {
            case let .failure(message):
                return [.write(errorFrame(stream: header.stream, message: message.text, version: header.version))]
            case let .success(compression):
                chosen = compression
            }
            protocolVersion = header.version
            // The answer to STARTUP itself goes out uncompressed; every later frame is compressed.
            let answer: ResponseMessage
            if configuration.authenticator != nil {
                phase = .authenticating
                answer = .authenticate(Authenticate(authenticator: PasswordAuthenticator.className))
            } else {
                phase = .ready
                answer = .ready
            }
            let bytes = frame(answer, stream: header.stream, version: header.version)
            compression = chosen
            return [.write(bytes)]
        default:
            return [.write(errorFrame(stream: header.stream,
                                      message: "Unexpected message \(message.opcode), expecting STARTUP or OPTIONS",
                                      version: header.version))]
        }
    }

    private mutating func authenticating(_ message: RequestMessage, stream: Int16) -> [Action] {
        guard case let .authResponse(response) = message, let authenticator = configuration.authenticator else {
            return [.write(errorFrame(stream: stream, message: "Unexpected message \(message.opcode), expecting SASL_RESPONSE"))]
        }
        switch authenticator.authenticate(token: response.token) {
        case let .success(user):
            session.authenticatedUser = user
            phase = .ready
            return [.write(frame(.authSuccess(AuthSuccess(token: nil)), stream: stream))]
        case let .failure(failure):
            return [.write(frame(.error(ServerError(.badCredentials, message: failure.message)), stream: stream))]
        }
    }

    private mutating func ready(_ message: RequestMessage, header: FrameHeader,
                                customPayload: [(String, [UInt8]?)]?) -> [Action] {
        let stream = header.stream
        let request: QueryRequest
        switch message {
        case .options:
            return [.write(frame(.supported(NodeProtocol.supportedOptions), stream: stream))]
        case .startup, .authResponse:
            return [.write(errorFrame(stream: stream, message: "Unexpected message \(message.opcode), the connection is already initialized"))]
        case let .register(register):
            if let unknown = register.events.first(where: { !NodeProtocol.eventTypes.contains($0) }) {
                return [.write(errorFrame(stream: stream, message: "Invalid event type: \(unknown)"))]
            }
            return [.register(Set(register.events)), .write(frame(.ready, stream: stream))]
        case let .query(query): request = .query(query)
        case let .prepare(prepare): request = .prepare(prepare)
        case let .execute(execute): request = .execute(execute)
        case let .batch(batch): request = .batch(batch)
        }
        return [.dispatch(DispatchedRequest(
            stream: stream, version: protocolVersion ?? header.version, compression: compression,
            tracing: header.flags.contains(.tracing), customPayload: customPayload, request: request))]
    }

    /// Why STARTUP options are refused, in Cassandra's words.
    struct StartupRefusal: Error, Equatable {
        var text: String
    }

    /// Checks CQL_VERSION and COMPRESSION as Cassandra's StartupMessage does (keys are case-insensitive).
    static func validate(_ startup: Startup) -> Result<FrameCompression?, StartupRefusal> {
        let options = Dictionary(startup.options.map { ($0.0.uppercased(), $0.1) }, uniquingKeysWith: { _, last in last })
        guard let cqlVersion = options["CQL_VERSION"] else {
            return .failure(StartupRefusal(text: "Missing value CQL_VERSION in STARTUP message"))
        }
        guard let parsed = parseVersion(cqlVersion) else {
            return .failure(StartupRefusal(text: "Invalid version value: \(cqlVersion)"))
        }
        guard parsed.lexicographicallyPrecedes([2, 99, 0]) == false else {
            return .failure(StartupRefusal(
                text: "CQL version \(cqlVersion) is not supported by the binary protocol (supported version are >= 3.0.0)"))
        }
        guard let requested = options["COMPRESSION"] else { return .success(nil) }
        guard let compression = FrameCompression(rawValue: requested.lowercased()) else {
            return .failure(StartupRefusal(text: "Unknown compression algorithm: \(requested.lowercased())"))
        }
        return .success(compression)
    }

    /// `major.minor[.patch]` with an optional `-qualifier`, as Cassandra's CassandraVersion reads it.
    private static func parseVersion(_ text: String) -> [Int]? {
        let core = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count) else { return nil }
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.allSatisfy(\.isASCII), let value = Int(part) else { return nil }
            numbers.append(value)
        }
        if numbers.count == 2 { numbers.append(0) }
        return numbers
    }

    // MARK: - Encoding

    /// A response frame on this connection: its version, and its compression once negotiated.
    func frame(_ message: ResponseMessage, stream: Int16, version: UInt8? = nil) -> [UInt8] {
        message.encodeFrame(stream: stream, version: version ?? protocolVersion ?? NodeProtocol.currentVersion,
                            compression: compression)
    }

    /// A protocol error (0x000A) on `stream`.
    func errorFrame(stream: Int16, message: String, version: UInt8? = nil) -> [UInt8] {
        frame(.error(ServerError(.protocolError, message: message)), stream: stream, version: version)
    }

    /// An EVENT frame on stream -1.
    func eventFrame(_ event: Event) -> [UInt8] { frame(.event(event), stream: -1) }

    /// The refusal of a frame whose version this node does not speak, sent before closing.
    ///
    /// Cassandra answers versions 1 and 2 in their own (8-byte header) framing so old drivers
    /// can read why, and any other version in its current one, always on stream 0.
    static func fatalVersionError(_ version: UInt8) -> [UInt8] {
        let error = ResponseMessage.error(ServerError(.protocolError, message: NodeProtocol.invalidVersionMessage(version)))
        guard version == 1 || version == 2 else {
            return error.encodeFrame(stream: 0, version: NodeProtocol.currentVersion)
        }
        var body = ByteWriter()
        error.encode(into: &body)
        var frame = ByteWriter(capacity: 8 + body.bytes.count)
        frame.writeUInt8(0x80 | version)
        frame.writeUInt8(0)
        frame.writeUInt8(0)
        frame.writeUInt8(Opcode.error.rawValue)
        frame.writeInt32(Int32(clamping: body.bytes.count))
        frame.writeRaw(body.bytes)
        return frame.bytes
    }
}

/// A statement on its way to the ``QueryHandler``, with what its answer's frame needs.
struct DispatchedRequest: Sendable, Equatable {
    var stream: Int16
    var version: UInt8
    var compression: FrameCompression?
    var tracing: Bool
    var customPayload: [(String, [UInt8]?)]?
    var request: QueryRequest

    /// The answer's frame bytes.
    func encode(_ response: QueryResponse) -> [UInt8] {
        response.message.encodeFrame(stream: stream, version: version, tracingID: response.tracingID,
                                     warnings: response.warnings, customPayload: response.customPayload,
                                     compression: compression)
    }

    static func == (lhs: DispatchedRequest, rhs: DispatchedRequest) -> Bool {
        guard lhs.stream == rhs.stream, lhs.version == rhs.version, lhs.compression == rhs.compression,
              lhs.tracing == rhs.tracing, lhs.request == rhs.request else { return false }
        switch (lhs.customPayload, rhs.customPayload) {
        case (nil, nil): return true
        case let (a?, b?): return a.elementsEqual(b) { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }
}
