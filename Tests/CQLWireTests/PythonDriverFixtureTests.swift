import CQLWire
import Foundation
import Testing

/// The DataStax Python driver's own encoders (Fixtures/python-driver/generate.py) are a peer
/// nobody here wrote: the same request must come out of our encoder byte for byte, and the
/// same value must serialize to the same bytes and decode back.
@Suite("Python driver fixtures")
struct PythonDriverFixtureTests {
    // MARK: - Fixture shapes (see generate.py)

    struct Document<Case: Decodable & Sendable>: Decodable, Sendable {
        var driver: String
        var protocolVersion: Int
        var cases: [Case]
    }

    struct WireValueField: Decodable, Sendable {
        var kind: String
        var hex: String?
    }

    struct StatementField: Decodable, Sendable {
        var kind: String
        var query: String?
        var id: String?
        var values: [WireValueField]
    }

    struct MessageFields: Decodable, Sendable {
        var options: [[String]]?
        var events: [String]?
        var token: String?
        var query: String?
        var id: String?
        var consistency: String?
        var values: [WireValueField]?
        var pageSize: Int32?
        var pagingState: String?
        var serialConsistency: String?
        var timestamp: Int64?
        var skipMetadata: Bool?
        var batchType: String?
        var statements: [StatementField]?
    }

    struct HeaderFields: Decodable, Sendable {
        var version: UInt8
        var flags: UInt8
        var stream: Int16
        var opcode: UInt8
        var length: Int32
    }

    struct RequestCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var opcode: String
        var stream: Int16
        var compression: String?
        var tracing: Bool
        var customPayload: [[String]]?
        var message: MessageFields
        var header: HeaderFields
        var body: String
        var frame: String
        var testDescription: String { name }
    }

    struct UDTField: Decodable, Sendable {
        var keyspace: String
        var name: String
        var fields: [[String]]
    }

    struct ValueCase: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var type: String
        var udt: UDTField?
        var value: JSONValue
        var hex: String
        var testDescription: String { name }
    }

    static func load<Case: Decodable & Sendable>(_ file: String, as: Case.Type) -> Document<Case>? {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let data = try? Data(contentsOf: FixturePath.url("python-driver/\(file)")) else { return nil }
        return try? decoder.decode(Document<Case>.self, from: data)
    }

    static let requests = load("requests.json", as: RequestCase.self)
    static let customPayloadRequests = load("custom_payload.json", as: RequestCase.self)
    static let allRequests = (requests?.cases ?? []) + (customPayloadRequests?.cases ?? [])
    static let values = load("values.json", as: ValueCase.self)

    @Test("the fixtures load and come from the recorded driver version")
    func fixturesLoad() throws {
        let requests = try #require(Self.requests, "requests.json did not load")
        let values = try #require(Self.values, "values.json did not load")
        #expect(requests.driver.hasPrefix("cassandra-driver 3.30.1"))
        #expect(requests.protocolVersion == 4)
        #expect(requests.cases.count == 67)
        #expect(requests.cases.allSatisfy { $0.customPayload == nil })
        #expect(try #require(Self.customPayloadRequests, "custom_payload.json did not load").cases.count == 2)
        #expect(values.cases.count == 104)
    }

    // MARK: - Requests

    @Test("our encoding of each request equals the driver's frame", arguments: allRequests)
    func requestEncoding(_ fixture: RequestCase) throws {
        let message = try Self.message(fixture)
        let frame = try #require(Hex.bytes(fixture.frame))
        let body = try #require(Hex.bytes(fixture.body))
        #expect(message.opcode.rawValue == fixture.header.opcode)
        let payload = try Self.customPayload(fixture)
        let plain = message.encodeFrame(stream: fixture.stream, tracing: fixture.tracing, customPayload: payload)
        #expect(Hex.string(plain.dropFirst(9)) == fixture.body, "body of \(fixture.name)")
        if fixture.compression == nil || fixture.header.flags & 0x01 == 0 {
            #expect(Hex.string(plain) == fixture.frame)
        } else {
            // LZ4 output depends on the match finder, so compressed bytes may differ between
            // encoders; the header must agree and each side must read the other's body.
            let ours = message.encodeFrame(stream: fixture.stream, tracing: fixture.tracing, customPayload: payload,
                                           compression: .lz4)
            #expect(Array(ours.prefix(5)) == Array(frame.prefix(5)), "header of \(fixture.name)")
            #expect(try FrameCompression.lz4.decompress(Array(frame.dropFirst(9)), maxLength: 1 << 20) == body)
            #expect(try FrameCompression.lz4.decompress(Array(ours.dropFirst(9)), maxLength: 1 << 20) == body)
        }
    }

    @Test("we decode each of the driver's frames to the message it describes", arguments: allRequests)
    func requestDecoding(_ fixture: RequestCase) throws {
        var decoder = FrameDecoder()
        decoder.append(try #require(Hex.bytes(fixture.frame)))
        let frame = try #require(try decoder.nextFrame())
        #expect(decoder.bufferedCount == 0)
        #expect(frame.header.version == fixture.header.version)
        #expect(frame.header.flags.rawValue == fixture.header.flags)
        #expect(frame.header.stream == fixture.header.stream)
        #expect(frame.header.length == fixture.header.length)
        let compression = fixture.compression.flatMap(FrameCompression.init(rawValue:))
        let envelope = try frame.decodeRequest(compression: compression)
        #expect(envelope.message == (try Self.message(fixture)))
        let payload = try Self.customPayload(fixture)
        #expect(envelope.customPayload?.map(\.0) == payload?.map(\.0))
        #expect(envelope.customPayload?.map(\.1) == payload?.map(\.1))
    }

    /// The custom payload a fixture carries, in the driver's order.
    static func customPayload(_ fixture: RequestCase) throws -> [(String, [UInt8]?)]? {
        try fixture.customPayload?.map { pair in
            guard pair.count == 2 else { throw DriverFixtureError.unknown("custom payload entry \(pair)") }
            return (pair[0], try hexField(pair[1]))
        }
    }

    /// The request a fixture describes, built with our types.
    static func message(_ fixture: RequestCase) throws -> RequestMessage {
        let fields = fixture.message
        switch fixture.opcode {
        case "STARTUP":
            return .startup(Startup(options: (fields.options ?? []).compactMap { pair in
                pair.count == 2 ? (pair[0], pair[1]) : nil
            }))
        case "OPTIONS":
            return .options
        case "REGISTER":
            return .register(Register(events: try #require(fields.events)))
        case "AUTH_RESPONSE":
            return .authResponse(AuthResponse(token: try hexField(fields.token)))
        case "PREPARE":
            return .prepare(Prepare(query: try #require(fields.query)))
        case "QUERY":
            return .query(Query(query: try #require(fields.query), parameters: try parameters(fields)))
        case "EXECUTE":
            return .execute(Execute(id: try hexField(fields.id), parameters: try parameters(fields)))
        case "BATCH":
            let type: Batch.BatchType = switch fields.batchType {
            case "LOGGED": .logged
            case "UNLOGGED": .unlogged
            case "COUNTER": .counter
            default: throw DriverFixtureError.unknown("batch type \(fields.batchType ?? "nil")")
            }
            let statements = try (fields.statements ?? []).map { statement -> Batch.Statement in
                let values = QueryValues.positional(try statement.values.map(wireValue))
                if statement.kind == "prepared" {
                    return .prepared(try hexField(statement.id), values)
                }
                return .query(try #require(statement.query), values)
            }
            return .batch(Batch(type: type, statements: statements, consistency: try consistency(fields.consistency),
                                serialConsistency: try fields.serialConsistency.map(consistency),
                                defaultTimestamp: fields.timestamp))
        default:
            throw DriverFixtureError.unknown("opcode \(fixture.opcode)")
        }
    }

    static func parameters(_ fields: MessageFields) throws -> QueryParameters {
        QueryParameters(
            consistency: try consistency(fields.consistency),
            values: try fields.values.map { .positional(try $0.map(wireValue)) } ?? QueryValues.none,
            skipMetadata: fields.skipMetadata ?? false,
            pageSize: fields.pageSize,
            pagingState: try fields.pagingState.map { try #require(Hex.bytes($0)) },
            serialConsistency: try fields.serialConsistency.map(consistency),
            defaultTimestamp: fields.timestamp
        )
    }

    static func hexField(_ text: String?) throws -> [UInt8] {
        guard let text, let bytes = Hex.bytes(text) else { throw DriverFixtureError.unknown("hex \(text ?? "nil")") }
        return bytes
    }

    static func consistency(_ name: String?) throws -> Consistency {
        try #require(name.flatMap(Consistency.init(name:)), "consistency \(name ?? "nil")")
    }

    static func wireValue(_ field: WireValueField) throws -> WireValue {
        switch field.kind {
        case "null": return .null
        case "unset": return .unset
        case "bytes": return .bytes(try hexField(field.hex))
        default: throw DriverFixtureError.unknown("value kind \(field.kind)")
        }
    }

    // MARK: - Values

    @Test("our value codec serializes each value to the driver's bytes and decodes them back",
          arguments: values?.cases ?? [])
    func valueCodec(_ fixture: ValueCase) throws {
        let type = try Self.dataType(fixture)
        #expect(type.description == fixture.type, "the fixture's type string is how DataType prints")
        let expected = try #require(Hex.bytes(fixture.hex))
        let value = try CQLTypeFixture.value(fixture.value, as: type)
        let encoded = try value.encode(as: type)
        #expect(Hex.string(encoded ?? []) == fixture.hex, "\(fixture.name): \(value)")
        let decoded = try CQLValue.decode(expected, as: type)
        // NaN never equals itself; for values holding one, re-encoding stands in for equality.
        if fixture.name.contains("nan") || fixture.name.contains("special") {
            #expect(try decoded.encode(as: type) == expected)
        } else {
            #expect(decoded == value)
        }
    }

    static func dataType(_ fixture: ValueCase) throws -> DataType {
        if let udt = fixture.udt {
            let fields = try udt.fields.map { pair in
                guard pair.count == 2 else { throw DriverFixtureError.unknown("udt field \(pair)") }
                return UserType.Field(name: pair[0], type: try CQLTypeFixture.parse(pair[1]))
            }
            return .udt(UserType(keyspace: udt.keyspace, name: udt.name, fields: fields))
        }
        return try CQLTypeFixture.parse(fixture.type)
    }
}

/// Why a fixture could not be turned into our types (a broken fixture, not a codec failure).
enum DriverFixtureError: Error, CustomStringConvertible {
    case unknown(String)

    var description: String {
        switch self {
        case let .unknown(what): "fixture: cannot interpret \(what)"
        }
    }
}

/// A JSON value of any shape, for the heterogeneous `value` field of values.json.
enum JSONValue: Decodable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}

/// Turns the fixtures' type strings and value descriptions into `DataType` and `CQLValue`.
enum CQLTypeFixture {
    /// Parses `list<int>`, `map<text, frozen<list<int>>>`, `tuple<int, text>` and the scalar names.
    static func parse(_ text: String) throws -> DataType {
        var parser = Parser(characters: Array(text), index: 0)
        let type = try parser.type()
        guard parser.index == parser.characters.count else { throw DriverFixtureError.unknown("type \(text)") }
        return type
    }

    struct Parser {
        var characters: [Character]
        var index: Int

        mutating func skipSpaces() {
            while index < characters.count, characters[index] == " " { index += 1 }
        }

        mutating func name() -> String {
            skipSpaces()
            let start = index
            while index < characters.count, characters[index].isLetter || characters[index].isNumber || characters[index] == "_" {
                index += 1
            }
            return String(characters[start ..< index])
        }

        mutating func expect(_ character: Character) throws {
            skipSpaces()
            guard index < characters.count, characters[index] == character else {
                throw DriverFixtureError.unknown("type: expected \(character) at \(index) in \(String(characters))")
            }
            index += 1
        }

        mutating func arguments() throws -> [DataType] {
            try expect("<")
            var types = [try type()]
            skipSpaces()
            while index < characters.count, characters[index] == "," {
                index += 1
                types.append(try type())
            }
            try expect(">")
            return types
        }

        mutating func type() throws -> DataType {
            let word = name()
            switch word {
            case "ascii": return .ascii
            case "bigint": return .bigint
            case "blob": return .blob
            case "boolean": return .boolean
            case "counter": return .counter
            case "decimal": return .decimal
            case "double": return .double
            case "float": return .float
            case "int": return .int
            case "timestamp": return .timestamp
            case "uuid": return .uuid
            case "text", "varchar": return .varchar
            case "varint": return .varint
            case "timeuuid": return .timeuuid
            case "inet": return .inet
            case "date": return .date
            case "time": return .time
            case "smallint": return .smallint
            case "tinyint": return .tinyint
            case "duration": return .duration
            case "frozen":
                let inner = try arguments()
                guard inner.count == 1 else { break }
                return inner[0]
            case "list":
                let inner = try arguments()
                guard inner.count == 1 else { break }
                return .list(inner[0])
            case "set":
                let inner = try arguments()
                guard inner.count == 1 else { break }
                return .set(inner[0])
            case "map":
                let inner = try arguments()
                guard inner.count == 2 else { break }
                return .map(key: inner[0], value: inner[1])
            case "tuple":
                return .tuple(try arguments())
            default:
                break
            }
            throw DriverFixtureError.unknown("type name \(word) in \(String(characters))")
        }
    }

    /// The value a fixture describes, as `type`.
    static func value(_ json: JSONValue, as type: DataType) throws -> CQLValue {
        if case .null = json { return .null }
        switch (type, json) {
        case let (.int, .string(s)): return .int(try number(s))
        case let (.bigint, .string(s)): return .bigint(try number(s))
        case let (.counter, .string(s)): return .counter(try number(s))
        case let (.smallint, .string(s)): return .smallint(try number(s))
        case let (.tinyint, .string(s)): return .tinyint(try number(s))
        case let (.timestamp, .string(s)): return .timestamp(try number(s))
        case let (.boolean, .string(s)): return .boolean(s == "true")
        case let (.double, .string(s)): return .double(try #require(Double(s), "double \(s)"))
        case let (.float, .string(s)): return .float(try #require(Float(s), "float \(s)"))
        case let (.varint, .string(s)): return .varint(try #require(CQLVarint(s), "varint \(s)"))
        case let (.decimal, .object(fields)):
            guard case let .string(unscaled)? = fields["unscaled"], case let .integer(scale)? = fields["scale"],
                  let varint = CQLVarint(unscaled), let scale32 = Int32(exactly: scale) else { break }
            return .decimal(CQLDecimal(unscaled: varint, scale: scale32))
        case let (.varchar, .string(s)): return .text(s)
        case let (.ascii, .string(s)): return .ascii(s)
        case let (.blob, .string(s)): return .blob(try #require(Hex.bytes(s)))
        case let (.date, .object(fields)):
            guard case let .integer(days)? = fields["days_from_epoch"], let days32 = Int32(exactly: days) else { break }
            return .date(CQLDate(daysSinceEpoch: days32))
        case let (.time, .string(s)):
            return .time(try #require(CQLTime(nanosecondsSinceMidnight: try number(s))))
        case let (.duration, .object(fields)):
            guard case let .integer(months)? = fields["months"], case let .integer(days)? = fields["days"],
                  case let .string(nanos)? = fields["nanoseconds"],
                  let months32 = Int32(exactly: months), let days32 = Int32(exactly: days) else { break }
            return .duration(CQLDuration(months: months32, days: days32, nanoseconds: try number(nanos)))
        case let (.inet, .string(s)): return .inet(try #require(InetAddress(s), "inet \(s)"))
        case let (.uuid, .string(s)): return .uuid(try #require(UUID(uuidString: s)))
        case let (.timeuuid, .string(s)): return .timeuuid(try #require(UUID(uuidString: s)))
        case let (.list(element), .array(items)): return .list(try items.map { try value($0, as: element) })
        case let (.set(element), .array(items)): return .set(try items.map { try value($0, as: element) })
        case let (.map(keyType, valueType), .array(pairs)):
            return .map(try pairs.map { pair in
                guard case let .array(kv) = pair, kv.count == 2 else { throw DriverFixtureError.unknown("map entry \(pair)") }
                return CQLMapEntry(key: try value(kv[0], as: keyType), value: try value(kv[1], as: valueType))
            })
        case let (.tuple(types), .array(items)):
            guard types.count == items.count else { break }
            return .tuple(try zip(items, types).map { try value($0, as: $1) })
        case let (.udt(userType), .object(fields)):
            return .udt(try userType.fields.map { field in
                CQLUDTField(name: field.name, value: try value(fields[field.name] ?? .null, as: field.type))
            })
        default:
            break
        }
        throw DriverFixtureError.unknown("value \(json) as \(type)")
    }

    static func number<T: FixedWidthInteger>(_ text: String) throws -> T {
        try #require(T(text), "\(T.self) \(text)")
    }
}
