@testable import CQLNode
import CQLWire
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal but real statement handler for the server tests: it answers a few fixed statements.
///
/// - `USE ks` sets the session keyspace and answers RESULT set_keyspace.
/// - `CREATE KEYSPACE ks` publishes a SCHEMA_CHANGE event and answers RESULT schema_change.
/// - `WARN ...` answers RESULT void with one warning.
/// - `BARRIER n ...` waits until `n` BARRIER statements are running at once, then echoes.
/// - anything else answers one row with one `varchar` column `echo`: the statement's text
///   (`keyspace/text` when a keyspace is set), so each stream's answer can be told apart.
struct EchoHandler: QueryHandler {
    let barrier = Barrier()

    func handle(_ request: QueryRequest, context: RequestContext) async -> QueryResponse {
        guard case let .query(query) = request else {
            return .error(ServerError(.invalid, message: "This test handler answers QUERY only"))
        }
        let text = query.query
        let words = text.split(separator: " ").map(String.init)
        switch words.first?.uppercased() {
        case "USE" where words.count == 2:
            context.session.keyspace = words[1]
            return QueryResponse(.result(.setKeyspace(words[1])))
        case "CREATE" where words.count == 3:
            let change = SchemaChange(changeType: .created, target: .keyspace, keyspace: words[2])
            context.events.publish(.schemaChange(change))
            return QueryResponse(.result(.schemaChange(change)))
        case "WARN":
            return QueryResponse(.result(.void), warnings: ["careful: \(text)"])
        case "BARRIER" where words.count >= 2:
            await barrier.arrive(expecting: Int(words[1]) ?? 1)
            return QueryResponse(.result(.rows(Self.echoRows(text))))
        default:
            let keyspace = context.session.keyspace.map { "\($0)/" } ?? ""
            return QueryResponse(.result(.rows(Self.echoRows(keyspace + text))))
        }
    }

    /// One row, one `varchar` column `echo` holding `text`.
    static func echoRows(_ text: String) -> Rows {
        var writer = ByteWriter()
        writer.writeBytes(Array(text.utf8))
        let metadata = RowsMetadata(columns: [ColumnSpec(keyspace: "system", table: "echo", name: "echo", type: .varchar)])
        return Rows(metadata: metadata, rowCount: 1, buffer: writer.bytes, contentRange: 0..<writer.bytes.count)
    }

    /// The echoed text of a RESULT rows made by ``echoRows(_:)``.
    static func echoedText(_ message: ResponseMessage) -> String? {
        guard case let .result(.rows(rows)) = message, rows.rowCount == 1 else { return nil }
        var reader = ByteReader(rows.buffer, range: rows.contentRange)
        guard let bytes = try? reader.readBytes("echo") else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Holds every arrival until `expecting` have arrived: proof that requests run concurrently.
///
/// A cancelled arrival (its connection closed) is let go at once, so no task waits forever.
actor Barrier {
    private var arrived = 0
    private var waiting: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextID = 0

    func arrive(expecting: Int) async {
        arrived += 1
        if arrived >= expecting {
            let released = waiting.values
            waiting.removeAll()
            for continuation in released { continuation.resume() }
            return
        }
        let id = nextID
        nextID += 1
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume()
                } else {
                    waiting[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.release(id) }
        }
    }

    /// How many arrivals are waiting.
    var waitingCount: Int { waiting.count }

    private func release(_ id: Int) {
        waiting.removeValue(forKey: id)?.resume()
    }
}

/// Why the raw test client failed.
struct RawClientError: Error, CustomStringConvertible {
    var description: String
}

/// A plain blocking TCP client (Glibc sockets) that writes raw bytes and reads raw frames.
///
/// Its calls block, so tests run them through ``RawClient/run(_:)`` on a dedicated thread,
/// never on the cooperative pool the server's handler tasks need.
final class RawClient: Sendable {
    let descriptor: Int32

    /// Connects to 127.0.0.1:`port`; reads give up after `timeoutSeconds` (a safety net, not an assertion).
    init(port: Int, timeoutSeconds: Int = 20) throws {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw RawClientError(description: "socket() failed: errno \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(descriptor)
            throw RawClientError(description: "connect() failed: errno \(errno)")
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Runs blocking socket work on its own thread.
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.start()
        }
    }

    /// Sends every byte.
    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { buffer in
                #if canImport(Glibc)
                Glibc.send(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
                #else
                Darwin.send(descriptor, buffer.baseAddress, buffer.count, 0)
                #endif
            }
            guard count > 0 else { throw RawClientError(description: "send() failed: errno \(errno)") }
            sent += count
        }
    }

    /// Exactly `count` bytes, or nil when the server closed the connection first.
    func receive(exactly count: Int) throws -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var received = 0
        while received < count {
            let result = bytes[received...].withUnsafeMutableBytes { buffer in
                recv(descriptor, buffer.baseAddress, buffer.count, 0)
            }
            if result == 0 { return nil }
            guard result > 0 else { throw RawClientError(description: "recv() failed or timed out: errno \(errno)") }
            received += result
        }
        return bytes
    }

    /// The next v3/v4 frame, or nil when the server closed the connection.
    func receiveFrame() throws -> Frame? {
        guard let headerBytes = try receive(exactly: FrameHeader.size) else { return nil }
        var reader = ByteReader(headerBytes)
        let header = try FrameHeader(decoding: &reader)
        guard header.length >= 0 else { throw RawClientError(description: "negative length from the server") }
        guard let body = try receive(exactly: Int(header.length)) else { return nil }
        return Frame(header: header, body: body)
    }

    /// The next frame decoded as a response, or nil when the connection closed.
    func receiveResponse(compression: FrameCompression? = nil) throws -> Envelope<ResponseMessage>? {
        guard let frame = try receiveFrame() else { return nil }
        return try frame.decodeResponse(compression: compression)
    }

    /// Whether the server closed the connection (reads end of stream) without sending anything more.
    func closedWithoutAnswer() throws -> Bool {
        var byte: UInt8 = 0
        let result = recv(descriptor, &byte, 1, 0)
        if result == 0 { return true }
        if result > 0 { return false }
        throw RawClientError(description: "recv() failed or timed out: errno \(errno)")
    }

    /// Sends a request frame and reads the next frame.
    func roundTrip(_ request: RequestMessage, stream: Int16 = 0,
                   compression: FrameCompression? = nil) throws -> Envelope<ResponseMessage>? {
        try send(request.encodeFrame(stream: stream, compression: compression))
        return try receiveResponse(compression: compression)
    }

    /// OPTIONS-less handshake: STARTUP (optionally with compression) and the READY it must get.
    func startup(compression: FrameCompression? = nil) throws {
        let answer = try roundTrip(.startup(Startup(cqlVersion: "3.4.6", compression: compression?.rawValue)))
        guard answer?.message == .ready else {
            throw RawClientError(description: "STARTUP answered \(String(describing: answer?.message))")
        }
    }
}

/// Bytes from a hex string (fixtures).
func bytes(hex: String) -> [UInt8] {
    var result: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
        if let byte = UInt8(hex[index..<next], radix: 16) { result.append(byte) }
        index = next
    }
    return result
}

/// The repository's `Fixtures/node` folder, located from this file.
let nodeFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/node")

/// One connection of a capture fixture.
struct CapturedConnection: Decodable, Sendable {
    var name: String
    var sent: [String]
    var answered: [String]
}

/// A capture fixture file: provenance and connections.
struct CaptureFixture: Decodable, Sendable {
    var provenance: String
    var cases: [CapturedConnection]

    static func load(_ name: String) throws -> CaptureFixture {
        try JSONDecoder().decode(CaptureFixture.self, from: Data(contentsOf: nodeFixtures.appendingPathComponent(name)))
    }

    func connection(_ name: String) throws -> CapturedConnection {
        guard let found = cases.first(where: { $0.name == name }) else {
            throw RawClientError(description: "no case \(name) in fixture")
        }
        return found
    }
}
