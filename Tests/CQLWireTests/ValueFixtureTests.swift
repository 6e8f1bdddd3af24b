import Foundation
import Testing
@testable import CQLWire

/// One value serialized by the DataStax Python driver (`Fixtures/python-driver/values.json`).
private struct DriverValueCase: CustomStringConvertible, Sendable {
    let name: String
    let type: DataType
    let value: CQLValue
    let bytes: [UInt8]
    var description: String { name }

    static func load() throws -> [DriverValueCase] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/python-driver/values.json")
        let root = try need(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let cases = try need(root["cases"] as? [[String: Any]])
        return try cases.map { entry in
            let name = try need(entry["name"] as? String)
            var userTypes: [String: UserType] = [:]
            if let udt = entry["udt"] as? [String: Any] {
                let fields = try need(udt["fields"] as? [[String]]).map { pair in
                    UserType.Field(name: pair[0], type: try TypeText.parse(pair[1], userTypes: [:]))
                }
                let typeName = try need(udt["name"] as? String)
                userTypes[typeName] = UserType(keyspace: try need(udt["keyspace"] as? String), name: typeName, fields: fields)
            }
            let type = try TypeText.parse(try need(entry["type"] as? String), userTypes: userTypes)
            let value = try Self.value(entry["value"] as Any, as: type)
            let bytes = try need(Self.hex(try need(entry["hex"] as? String)))
            return DriverValueCase(name: name, type: type, value: value, bytes: bytes)
        }
    }

    static func hex(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        return stride(from: 0, to: utf8.count, by: 2).compactMap { UInt8(String(decoding: utf8[$0..<($0 + 2)], as: UTF8.self), radix: 16) }
    }

    static func value(_ json: Any, as type: DataType) throws -> CQLValue {
        if json is NSNull { return .null }
        let text = json as? String ?? ""
        func number<T: FixedWidthInteger>(_: T.Type) throws -> T { try need(T(text)) }
        func floating() throws -> Double {
            switch text {
            case "nan": .nan
            case "inf": .infinity
            case "-inf": -.infinity
            default: try need(Double(text))
            }
        }
        switch type {
        case .int: return .int(try number(Int32.self))
        case .bigint: return .bigint(try number(Int64.self))
        case .counter: return .counter(try number(Int64.self))
        case .smallint: return .smallint(try number(Int16.self))
        case .tinyint: return .tinyint(try number(Int8.self))
        case .boolean: return .boolean(text == "true")
        case .double: return .double(try floating())
        case .float: return .float(Float(try floating()))
        case .varint: return .varint(try need(CQLVarint(text)))
        case .decimal:
            let parts = try need(json as? [String: Any])
            return .decimal(CQLDecimal(unscaled: try need(CQLVarint(try need(parts["unscaled"] as? String))),
                                       scale: Int32(try need(parts["scale"] as? Int))))
        case .varchar: return .text(text)
        case .ascii: return .ascii(text)
        case .blob: return .blob(try need(hex(text)))
        case .timestamp: return .timestamp(try number(Int64.self))
        case .date:
            let parts = try need(json as? [String: Any])
            return .date(CQLDate(daysSinceEpoch: Int32(try need(parts["days_from_epoch"] as? Int))))
        case .time: return .time(try need(CQLTime(nanosecondsSinceMidnight: try number(Int64.self))))
        case .duration:
            let parts = try need(json as? [String: Any])
            return .duration(CQLDuration(months: Int32(try need(parts["months"] as? Int)), days: Int32(try need(parts["days"] as? Int)),
                                         nanoseconds: try need(Int64(try need(parts["nanoseconds"] as? String)))))
        case .inet: return .inet(try need(InetAddress(text)))
        case .uuid: return .uuid(try need(UUID(uuidString: text)))
        case .timeuuid: return .timeuuid(try need(UUID(uuidString: text)))
        case let .list(element):
            return .list(try need(json as? [Any]).map { try value($0, as: element) })
        case let .set(element):
            return .set(try need(json as? [Any]).map { try value($0, as: element) })
        case let .map(keyType, valueType):
            return .map(try need(json as? [[Any]]).map { CQLMapEntry(key: try value($0[0], as: keyType), value: try value($0[1], as: valueType)) })
        case let .tuple(types):
            return .tuple(try zip(try need(json as? [Any]), types).map { try value($0, as: $1) })
        case let .udt(userType):
            let fields = try need(json as? [String: Any])
            return .udt(try userType.fields.map { CQLUDTField(name: $0.name, value: try value(fields[$0.name] ?? NSNull(), as: $0.type)) })
        case .custom:
            return .custom(try need(hex(text)))
        }
    }
}

/// Parses types as `DataType.description` prints them (`map<int, list<text>>`).
private enum TypeText {
    static func parse(_ text: String, userTypes: [String: UserType]) throws -> DataType {
        var rest = Substring(text)
        let type = try parse(&rest, userTypes)
        try need(rest.isEmpty, "trailing text in \(text)")
        return type
    }

    private static func parse(_ rest: inout Substring, _ userTypes: [String: UserType]) throws -> DataType {
        rest = rest.drop { $0 == " " }
        let name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
        rest = rest.dropFirst(name.count)
        var arguments: [DataType] = []
        if rest.first == "<" {
            rest = rest.dropFirst()
            repeat {
                if rest.first == "," { rest = rest.dropFirst() }
                arguments.append(try parse(&rest, userTypes))
                rest = rest.drop { $0 == " " }
            } while rest.first == ","
            try need(rest.first == ">")
            rest = rest.dropFirst()
        }
        let simple: [String: DataType] = [
            "ascii": .ascii, "bigint": .bigint, "blob": .blob, "boolean": .boolean, "counter": .counter, "decimal": .decimal,
            "double": .double, "float": .float, "int": .int, "timestamp": .timestamp, "uuid": .uuid, "text": .varchar,
            "varchar": .varchar, "varint": .varint, "timeuuid": .timeuuid, "inet": .inet, "date": .date, "time": .time,
            "smallint": .smallint, "tinyint": .tinyint, "duration": .duration,
        ]
        switch (name, arguments.count) {
        case ("list", 1): return .list(arguments[0])
        case ("set", 1): return .set(arguments[0])
        case ("map", 2): return .map(key: arguments[0], value: arguments[1])
        case ("frozen", 1): return arguments[0]
        case ("tuple", _): return .tuple(arguments)
        default:
            if let type = simple[name] { return type }
            return .udt(try need(userTypes[name], "unknown type \(name)"))
        }
    }
}

@Suite("Values against the DataStax Python driver's serialization")
struct ValueFixtureTests {
    @Test("every fixture value decodes to what the driver encoded and re-encodes byte for byte")
    func driverValues() throws {
        let cases = try DriverValueCase.load()
        #expect(cases.count > 80)
        for fixture in cases {
            #expect(try fixture.value.encode(as: fixture.type) == fixture.bytes, "encoding \(fixture.name)")
            let decoded = try CQLValue.decode(fixture.bytes, as: fixture.type)
            #expect(try decoded.encode(as: fixture.type) == fixture.bytes, "re-encoding \(fixture.name)")
            if !fixture.value.cqlLiteral.contains("NaN") {
                #expect(decoded == fixture.value, "decoding \(fixture.name)")
            }
        }
    }
}

/// A fixture that does not have the expected shape.
private struct FixtureShapeError: Error, CustomStringConvertible {
    let description: String
}

/// Unwraps a fixture field (nestable, unlike `#require`).
private func need<T>(_ value: T?, _ what: String = "fixture field", line: Int = #line) throws -> T {
    guard let value else { throw FixtureShapeError(description: "\(what) missing or malformed (line \(line))") }
    return value
}

/// Checks a fixture's shape.
private func need(_ condition: Bool, _ what: String = "fixture shape", line: Int = #line) throws {
    if !condition { throw FixtureShapeError(description: "\(what) (line \(line))") }
}
