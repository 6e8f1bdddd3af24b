@testable import CQLNode
import CQLWire
import Foundation
import Testing
import TestSupport

/// The QUERY, EXECUTE and BATCH frames the session sends, recorded on the wire by a proxy,
/// equal the DataStax Python driver's (Fixtures/python-driver/requests.json, cassandra-driver
/// 3.30.1) for the same statements built with our API. Only the stream id differs (the
/// session picks its own), so it is set to the fixture's before comparing.
@Suite("Session frames equal the Python driver's, byte for byte")
struct PythonDriverFrameTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var opcode: String
        var stream: Int16
        var lz4: Bool
        var tracing: Bool
        var frame: [UInt8]
        var message: JSON
        var description: String { name }
    }

    /// A JSON value, kept Sendable for test arguments.
    indirect enum JSON: Sendable {
        case null, bool(Bool), number(Double), string(String), array([JSON]), object([String: JSON])

        init(_ any: Any?) {
            switch any {
            case let value as String: self = .string(value)
            case let value as NSNumber:
                self = String(cString: value.objCType) == "c" ? .bool(value.boolValue) : .number(value.doubleValue)
            case let value as [Any]: self = .array(value.map(JSON.init))
            case let value as [String: Any]: self = .object(value.mapValues(JSON.init))
            default: self = .null
            }
        }

        subscript(key: String) -> JSON { if case let .object(fields) = self { fields[key] ?? .null } else { .null } }
        var string: String? { if case let .string(value) = self { value } else { nil } }
        var array: [JSON]? { if case let .array(value) = self { value } else { nil } }
        var int64: Int64? { if case let .number(value) = self { Int64(exactly: value) } else { nil } }
        var isNull: Bool { if case .null = self { true } else { false } }
    }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/python-driver/requests.json")
        guard let data = try? Data(contentsOf: url),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = root["cases"] as? [[String: Any]] else { return [] }
        return cases.compactMap { fields in
            let json = JSON(fields)
            guard let opcode = json["opcode"].string, ["QUERY", "EXECUTE", "BATCH"].contains(opcode),
                  json["custom_payload"].isNull, let stream = json["stream"].int64, stream >= 0,
                  let name = json["name"].string, let frame = json["frame"].string else { return nil }
            let compression = json["compression"].string
            guard compression == nil || compression == "lz4" else { return nil }
            return Case(name: name, opcode: opcode, stream: Int16(stream), lz4: compression == "lz4",
                        tracing: { if case .bool(true) = json["tracing"] { true } else { false } }(),
                        frame: hexBytes(frame), message: json["message"])
        }
    }()

    static func hexBytes(_ hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex), index != hex.endIndex {
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return bytes
    }

    static func values(_ json: JSON) -> QueryValues {
        guard let list = json.array else { return .none }
        return .positional(list.map { value in
            switch value["kind"].string {
            case "null": .null
            case "unset": .unset
            default: .bytes(hexBytes(value["hex"].string ?? ""))
            }
        })
    }

    static func consistency(_ json: JSON) -> Consistency? {
        json.string.flatMap { name in Consistency.allCases.first { $0.description == name } }
    }

    /// The fixture's prepared ids, each under a made-up query text the scripted node maps to it.
    static func preparedText(_ id: String) -> String { "PREPARED \(id)" }

    static var preparedIDs: [String: [UInt8]] {
        var ids: [String: [UInt8]] = [:]
        for testCase in cases {
            let statements = testCase.message["statements"].array ?? [testCase.message]
            for statement in statements {
                if let id = statement["id"].string { ids[preparedText(id)] = hexBytes(id) }
            }
        }
        return ids
    }

    @Test("every QUERY, EXECUTE and BATCH case of the fixture", arguments: [false, true])
    func frames(lz4: Bool) async throws {
        let selected = Self.cases.filter { $0.lz4 == lz4 }
        #expect(selected.count >= (lz4 ? 3 : 30))
        let server = try await TestServer.start(handler: ScriptedHandler(preparedIDs: Self.preparedIDs))
        defer { Task { await server.stop() } }
        let proxy = try TCPProxy(upstreamPort: server.port, recordsClientBytes: true)
        let session = try await CQLSession.connect(CQLSession.Configuration(
            contactPoints: [CQLEndpoint(host: "127.0.0.1", port: proxy.port)], compression: lz4 ? [.lz4] : [],
            clientTimestamps: false, connectionsPerNode: 1, discoverNodes: false))
        defer { session.close() }
        for testCase in selected {
            let message = testCase.message
            proxy.clearClientChunks()
            switch testCase.opcode {
            case "BATCH":
                var statements: [CQLStatement] = []
                for statement in message["statements"].array ?? [] {
                    if let id = statement["id"].string {
                        let prepared = try await session.prepare(Self.preparedText(id))
                        statements.append(CQLStatement(.prepared(prepared), values: Self.values(statement["values"])))
                    } else {
                        statements.append(CQLStatement(.simple(statement["query"].string ?? ""), values: Self.values(statement["values"])))
                    }
                }
                let type: CQLWire.Batch.BatchType = switch message["batch_type"].string {
                case "UNLOGGED": .unlogged
                case "COUNTER": .counter
                default: .logged
                }
                proxy.clearClientChunks()
                _ = try? await session.execute(BatchStatement(
                    type, statements, consistency: Self.consistency(message["consistency"]),
                    serialConsistency: Self.consistency(message["serial_consistency"]), timestamp: message["timestamp"].int64))
            default:
                let body: CQLStatement.Body
                if let id = message["id"].string {
                    body = .prepared(try await session.prepare(Self.preparedText(id)))
                    proxy.clearClientChunks()
                } else {
                    body = .simple(message["query"].string ?? "")
                }
                let statement = CQLStatement(
                    body, values: Self.values(message["values"]), consistency: Self.consistency(message["consistency"]),
                    serialConsistency: Self.consistency(message["serial_consistency"]),
                    pageSize: message["page_size"].int64.map { Int32($0) } ?? 0,
                    pagingState: message["paging_state"].string.map(Self.hexBytes),
                    timestamp: message["timestamp"].int64, tracing: testCase.tracing)
                _ = try? await session.execute(statement)
            }
            let sent = try proxy.sentFrames().filter { $0.header.opcode == testCase.frame[4] }
            guard let frame = sent.last else {
                Issue.record("\(testCase.name): no \(testCase.opcode) frame was sent")
                continue
            }
            var ours = frame
            ours.header.stream = testCase.stream
            if lz4 {
                // LZ4 encoders may pick different matches: compare the decompressed frames.
                var decoder = FrameDecoder()
                decoder.append(testCase.frame)
                let theirs = try #require(try decoder.nextFrame())
                #expect(ours.header.flags == theirs.header.flags, "\(testCase.name)")
                #expect(try FrameCompression.lz4.decompress(ours.body, maxLength: 1 << 20)
                        == FrameCompression.lz4.decompress(theirs.body, maxLength: 1 << 20), "\(testCase.name)")
            } else {
                #expect(ours.bytes == testCase.frame, "\(testCase.name)")
            }
        }
    }

    @Test("Swift values bound by the session serialize as the driver's bytes")
    func boundSwiftValues() async throws {
        let testCase = try #require(Self.cases.first { $0.name == "query_values" })
        let server = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await server.stop() } }
        let proxy = try TCPProxy(upstreamPort: server.port, recordsClientBytes: true)
        let session = try await CQLSession.connect(CQLSession.Configuration(
            contactPoints: [CQLEndpoint(host: "127.0.0.1", port: proxy.port)], compression: [], consistency: .one,
            pageSize: 0, clientTimestamps: false, connectionsPerNode: 1, discoverNodes: false))
        defer { session.close() }
        proxy.clearClientChunks()
        let uuid = try #require(UUID(uuidString: "6ab09bec-e68e-48d9-a5f8-97e6fb4c9b47"))
        _ = try await session.execute(testCase.message["query"].string ?? "", [Int32(42), "héllo ☃", Int64(-1), uuid])
        var frame = try #require(try proxy.sentFrames().last(where: { $0.header.opcode == Opcode.query.rawValue }))
        frame.header.stream = testCase.stream
        #expect(frame.bytes == testCase.frame)
    }
}
