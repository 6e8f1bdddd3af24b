import CQLCodec
import Foundation

/// Values as JSON, the way Cassandra writes them for `toJson()` and `SELECT JSON` (`AbstractType.toJSONString`)
/// and reads them for `fromJson()` and `INSERT JSON` (`AbstractType.fromJSONObject`).
enum JSONValue {
    // MARK: Writing

    /// The JSON text of a serialized value of `type`; `null` for no value.
    static func text(_ bytes: [UInt8]?, type: DataType) -> String {
        guard let bytes else { return "null" }
        guard let value = try? CQLValue.decode(bytes, as: type) else { return "\"0x\(hexDigits(bytes))\"" }
        return text(value, type: type)
    }

    private static func text(_ value: CQLValue, type: DataType) -> String {
        switch value {
        case .null: return "null"
        case let .ascii(text), let .text(text): return quoted(text)
        case let .bigint(number), let .counter(number): return String(number)
        case let .int(number): return String(number)
        case let .smallint(number): return String(number)
        case let .tinyint(number): return String(number)
        case let .varint(number): return number.description
        case let .decimal(number): return number.description
        case let .double(number): return number.isFinite ? JavaNumberText.double(number) : "null"
        case let .float(number): return number.isFinite ? JavaNumberText.float(number) : "null"
        case let .boolean(flag): return flag ? "true" : "false"
        case let .blob(bytes), let .custom(bytes): return "\"0x\(hexDigits(bytes))\""
        case let .timestamp(millis): return "\"" + timestampText(millis) + "\""
        case let .date(date): return "\"\(date.description)\""
        case let .time(time): return "\"\(time.description)\""
        case let .uuid(uuid), let .timeuuid(uuid): return "\"\(uuid.uuidString.lowercased())\""
        case let .inet(address): return "\"\(address.description)\""
        case let .duration(duration): return "\"\(duration.description)\""
        case let .list(items), let .set(items):
            let element: DataType
            switch type {
            case let .list(inner), let .set(inner): element = inner
            default: element = .blob
            }
            return "[" + items.map { text($0, type: element) }.joined(separator: ", ") + "]"
        case let .map(entries):
            guard case let .map(keyType, valueType) = type else { return "{}" }
            return "{" + entries.map { entry in
                let key = text(entry.key, type: keyType)
                return (key.hasPrefix("\"") ? key : quoted(key)) + ": " + text(entry.value, type: valueType)
            }.joined(separator: ", ") + "}"
        case let .tuple(items):
            guard case let .tuple(types) = type else { return "[]" }
            return "[" + zip(items, types).map { text($0, type: $1) }.joined(separator: ", ") + "]"
        case let .udt(fields):
            guard case let .udt(userType) = type else { return "{}" }
            return "{" + zip(fields, userType.fields).map { field, declared in
                let name = declared.name == declared.name.lowercased() ? declared.name : "\"\(declared.name)\""
                return quoted(name) + ": " + text(field.value, type: declared.type)
            }.joined(separator: ", ") + "}"
        }
    }

    /// A JSON string literal (Jackson's `quoteAsString`: quotes, backslashes and control characters escaped).
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            default:
                if scalar.value < 0x20 {
                    result += String(format: "\\u%04X", scalar.value)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    /// `yyyy-MM-dd HH:mm:ss.SSSX` in UTC, as Cassandra's JSON timestamp formatter writes it.
    static func timestampText(_ millis: Int64) -> String {
        let days = millis / 86_400_000 - (millis % 86_400_000 < 0 ? 1 : 0)
        let inDay = millis - days * 86_400_000
        let date = CQLDate(daysSinceEpoch: Int32(clamping: days))
        let hours = inDay / 3_600_000, minutes = inDay / 60_000 % 60, seconds = inDay / 1000 % 60, fraction = inDay % 1000
        return date.description + " " + String(format: "%02lld:%02lld:%02lld.%03lldZ", hours, minutes, seconds, fraction)
    }

    /// Lowercase hex digits of the bytes, without a prefix.
    static func hexDigits(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    // MARK: Reading

    /// `fromJson(text)` assigned to `receiver`.
    static func fromJSON(_ arguments: [Term], for receiver: Receiver, evaluator: TermEvaluator) throws(ServerError) -> WireValue {
        guard arguments.count == 1, let argument = arguments.first else {
            throw .invalidRequest("Invalid number of arguments in call to function system.fromjson: 1 required but \(arguments.count) provided")
        }
        guard case let .bytes(bytes) = try evaluator.evaluate(argument, for: Receiver(name: "arg0", type: .varchar)) else { return .null }
        let text = String(decoding: bytes, as: UTF8.self)
        let tree = try JSONTree.parse(text, failure: "Could not decode JSON string '\(text)'")
        if case .null = tree { return .null }
        return .bytes(try value(tree, type: receiver.type, evaluator: evaluator))
    }

    /// The serialized value of a parsed JSON value for `type` (which must not be JSON null).
    static func value(_ tree: JSONTree, type: DataType, evaluator: TermEvaluator) throws(ServerError) -> [UInt8] {
        func mismatch(_ expected: String) -> ServerError {
            .invalidRequest("Error decoding JSON value for \(type): Expected \(expected), but got a \(tree.javaClass): \(tree.text)")
        }
        func literal(_ literal: Literal) throws(ServerError) -> [UInt8] {
            try evaluator.literalBytes(literal, for: Receiver(name: "json", type: type))
        }
        switch (type, tree) {
        case let (.ascii, .string(text)), let (.varchar, .string(text)):
            return try literal(.string(text))
        case (.ascii, _), (.varchar, _):
            throw mismatch(type == .ascii ? "an ascii string" : "a UTF-8 string")
        case let (.int, .string(text)), let (.bigint, .string(text)), let (.smallint, .string(text)), let (.tinyint, .string(text)),
             let (.varint, .string(text)), let (.counter, .string(text)), let (.float, .string(text)), let (.double, .string(text)),
             let (.decimal, .string(text)):
            return try literal(numberLiteral(text, type: type))
        case let (.int, .number(text)), let (.bigint, .number(text)), let (.smallint, .number(text)), let (.tinyint, .number(text)),
             let (.varint, .number(text)), let (.counter, .number(text)), let (.float, .number(text)), let (.double, .number(text)),
             let (.decimal, .number(text)):
            return try literal(numberLiteral(text, type: type))
        case (.int, _), (.bigint, _), (.smallint, _), (.tinyint, _), (.varint, _), (.counter, _), (.float, _), (.double, _), (.decimal, _):
            throw mismatch("a number")
        case let (.boolean, .boolean(flag)):
            return [flag ? 1 : 0]
        case let (.boolean, .string(text)) where ["true", "false"].contains(text.lowercased()):
            return [text.lowercased() == "true" ? 1 : 0]
        case (.boolean, _):
            throw mismatch("a boolean value")
        case let (.timestamp, .string(text)), let (.date, .string(text)), let (.time, .string(text)):
            return try literal(.string(text))
        case let (.timestamp, .number(text)), let (.date, .number(text)), let (.time, .number(text)):
            return try literal(.integer(text))
        case (.timestamp, _), (.date, _), (.time, _):
            throw mismatch("a string")
        case let (.uuid, .string(text)), let (.timeuuid, .string(text)):
            guard let uuid = UUID(uuidString: text) else { throw .invalidRequest("Unable to make UUID from '\(text)'") }
            return try literal(.uuid(uuid))
        case (.uuid, _), (.timeuuid, _):
            throw mismatch("a string representation of a uuid")
        case let (.inet, .string(text)):
            return try literal(.string(text))
        case let (.duration, .string(text)):
            return try literal(.duration(text))
        case let (.blob, .string(text)) where text.hasPrefix("0x"):
            return try literal(.hex(String(text.dropFirst(2))))
        case (.blob, _):
            throw mismatch("a string starting with 0x")
        case (.inet, _), (.duration, _):
            throw mismatch("a string")
        case let (.list(element), .array(items)), let (.set(element), .array(items)):
            var values: [[UInt8]] = []
            for item in items {
                if case .null = item { throw .invalidRequest("Invalid null element in \(type)") }
                values.append(try value(item, type: element, evaluator: evaluator))
            }
            if case .set = type { return ValueValidation.encodeSet(values, elementType: element) }
            return ValueValidation.encodeList(values)
        case (.list, _), (.set, _):
            throw mismatch("a list")
        case let (.map(keyType, valueType), .object(entries)):
            var pairs: [([UInt8], [UInt8])] = []
            for (key, item) in entries {
                let keyTree = keyType == .varchar || keyType == .ascii ? JSONTree.string(key)
                    : try JSONTree.parse(key, failure: "Could not decode JSON string '\(key)'")
                if case .null = item { throw .invalidRequest("Invalid null value in map") }
                pairs.append((try value(keyTree, type: keyType, evaluator: evaluator), try value(item, type: valueType, evaluator: evaluator)))
            }
            return ValueValidation.encodeMap(pairs, keyType: keyType)
        case (.map, _):
            throw mismatch("a map")
        case let (.tuple(types), .array(items)):
            guard items.count <= types.count else {
                throw .invalidRequest("Tuple contains extra items (expected \(types.count)): \(tree.text)")
            }
            var writer = ByteWriter(capacity: 32)
            for (index, item) in items.enumerated() {
                if case .null = item { writer.writeBytes(nil) } else { writer.writeBytes(try value(item, type: types[index], evaluator: evaluator)) }
            }
            return writer.bytes
        case (.tuple, _):
            throw mismatch("a list representation of a tuple")
        case let (.udt(userType), .object(fields)):
            for (name, _) in fields where !userType.fields.contains(where: { $0.name == unquoted(name) }) {
                throw .invalidRequest("Unknown field '\(name)' in value of user defined type \(userType.name)")
            }
            var writer = ByteWriter(capacity: 32)
            for declared in userType.fields {
                if let given = fields.first(where: { unquoted($0.0) == declared.name })?.1, given != .null {
                    writer.writeBytes(try value(given, type: declared.type, evaluator: evaluator))
                } else {
                    writer.writeBytes(nil)
                }
            }
            return writer.bytes
        case (.udt, _):
            throw mismatch("a map")
        case (.custom, _):
            throw .invalidRequest("JSON is not supported for \(type)")
        }
    }

    /// A JSON number or numeric string as the constant Cassandra's `fromString` of the type would read.
    private static func numberLiteral(_ text: String, type: DataType) -> Literal {
        switch type {
        case .float, .double, .decimal: .float(text)
        default: .integer(text)
        }
    }

    /// A UDT field or column name as a JSON key writes it: `"\"Name\""` for a case-sensitive one.
    static func unquoted(_ name: String) -> String {
        name.count >= 2 && name.hasPrefix("\"") && name.hasSuffix("\"") ? String(name.dropFirst().dropLast()) : name.lowercased()
    }
}

/// A parsed JSON value; numbers keep their text so integers of any size and decimals stay exact.
indirect enum JSONTree: Equatable, Decodable {
    case null
    case boolean(Bool)
    case number(String)
    case string(String)
    case array([JSONTree])
    case object([(String, JSONTree)])

    static func == (lhs: JSONTree, rhs: JSONTree) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.boolean(a), .boolean(b)): a == b
        case let (.number(a), .number(b)), let (.string(a), .string(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: Key.self) {
            self = .object(try object.allKeys.map { ($0.stringValue, try object.decode(JSONTree.self, forKey: $0)) })
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var items: [JSONTree] = []
            while !array.isAtEnd { items.append(try array.decode(JSONTree.self)) }
            self = .array(items)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { self = .null }
        else if let flag = try? single.decode(Bool.self) { self = .boolean(flag) }
        else if let text = try? single.decode(String.self) { self = .string(text) }
        else if let integer = try? single.decode(Int64.self) { self = .number(String(integer)) }
        else if let decimal = try? single.decode(Decimal.self) { self = .number(decimal.description) }
        else { self = .number(String(try single.decode(Double.self))) }
    }

    /// Parses a whole document (any top-level value).
    static func parse(_ text: String, failure: String) throws(ServerError) -> JSONTree {
        do {
            return try JSONDecoder().decode(JSONTree.self, from: Data(text.utf8))
        } catch {
            throw .invalidRequest(failure)
        }
    }

    /// The JSON text again, for messages.
    var text: String {
        switch self {
        case .null: "null"
        case let .boolean(flag): flag ? "true" : "false"
        case let .number(number): number
        case let .string(string): JSONValue.quoted(string)
        case let .array(items): "[" + items.map(\.text).joined(separator: ", ") + "]"
        case let .object(entries): "{" + entries.map { JSONValue.quoted($0.0) + ": " + $0.1.text }.joined(separator: ", ") + "}"
        }
    }

    /// The Java class Jackson would have produced, as Cassandra's messages name it.
    var javaClass: String {
        switch self {
        case .null: "null"
        case .boolean: "Boolean"
        case let .number(text): text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? "Double" : "Integer"
        case .string: "String"
        case .array: "ArrayList"
        case .object: "LinkedHashMap"
        }
    }
}

/// Java's `Double.toString` and `Float.toString`: the shortest digits that round-trip, written plain for
/// magnitudes in [10^-3, 10^7) (always with a fraction digit) and as `d.dddE±n` outside it.
enum JavaNumberText {
    static func double(_ value: Double) -> String { format(value.description, magnitude: abs(value)) }
    static func float(_ value: Float) -> String { format(value.description, magnitude: Double(abs(value))) }

    private static func format(_ swift: String, magnitude: Double) -> String {
        let negative = swift.hasPrefix("-")
        let body = negative ? String(swift.dropFirst()) : swift
        // Split Swift's shortest form into digits and a decimal exponent.
        var mantissa = body, exponent = 0
        if let e = body.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = String(body[..<e])
            exponent = Int(body[body.index(after: e)...]) ?? 0
        }
        var digits = mantissa.replacingOccurrences(of: ".", with: "")
        let pointIndex = mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count
        var pointPosition = pointIndex + exponent
        while digits.count > 1, digits.hasPrefix("0") { digits.removeFirst(); pointPosition -= 1 }
        while digits.count > 1, digits.hasSuffix("0") { digits.removeLast() }
        let sign = negative ? "-" : ""
        if magnitude == 0 { return sign + "0.0" }
        if magnitude >= 1e-3, magnitude < 1e7 {
            if pointPosition <= 0 { return sign + "0." + String(repeating: "0", count: -pointPosition) + digits }
            if pointPosition >= digits.count { return sign + digits + String(repeating: "0", count: pointPosition - digits.count) + ".0" }
            let split = digits.index(digits.startIndex, offsetBy: pointPosition)
            return sign + digits[..<split] + "." + digits[split...]
        }
        let fraction = digits.count > 1 ? String(digits.dropFirst()) : "0"
        return sign + String(digits.prefix(1)) + "." + fraction + "E" + String(pointPosition - 1)
    }
}
