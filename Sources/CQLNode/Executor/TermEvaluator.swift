import CQLCodec
import Foundation

/// What a term is assigned or compared to: its name (for messages and bind marker metadata) and type.
struct Receiver: Sendable {
    /// The column or pseudo-column name (`k`, `[ttl]`, `value(m)`).
    var name: String
    /// The receiving type.
    var type: DataType
}

/// Turns terms into serialized values for their receivers, with Cassandra's type checks and messages.
struct TermEvaluator {
    /// The request's bound values by marker index.
    let values: [WireValue]
    /// Source of `now()` and `currentTimestamp()`.
    let clock: NodeClock

    /// The value of `term` for `receiver`: bytes, null, or unset (a marker bound to unset).
    func evaluate(_ term: Term, for receiver: Receiver) throws(ServerError) -> WireValue {
        switch term {
        case .null:
            return .null
        case let .bindMarker(marker):
            guard marker.index >= 0, marker.index < values.count else {
                throw .invalidRequest("Invalid amount of bind variables: expected \(marker.index + 1), got \(values.count)")
            }
            let value = values[marker.index]
            guard case let .bytes(bytes) = value else { return value }
            return .bytes(try ValueValidation.normalize(bytes, as: receiver.type, receiver: receiver.name))
        case let .literal(literal):
            return .bytes(try literalBytes(literal, for: receiver))
        case let .typeHint(_, inner):
            return try evaluate(inner, for: receiver)
        case let .negation(inner):
            if case let .literal(.integer(text)) = inner { return .bytes(try literalBytes(.integer("-" + text), for: receiver)) }
            if case let .literal(.float(text)) = inner { return .bytes(try literalBytes(.float("-" + text), for: receiver)) }
            throw .invalidRequest("Invalid negation of \(receiver.name)")
        case let .functionCall(name, arguments):
            if name.name.lowercased() == "fromjson" {
                return try JSONValue.fromJSON(arguments, for: receiver, evaluator: self)
            }
            let (type, bytes) = try call(name, arguments)
            guard Self.isAssignable(type, to: receiver.type) else {
                throw .invalidRequest("Type error: cannot assign result of function system.\(name.name.lowercased()) "
                    + "(type \(type)) to \(receiver.name) (type \(receiver.type))")
            }
            return bytes.map(WireValue.bytes) ?? .null
        case let .list(items):
            return .bytes(try collection(items, listLiteral: true, for: receiver))
        case let .set(items):
            return .bytes(try collection(items, listLiteral: false, for: receiver))
        case .emptyBraces:
            switch receiver.type {
            case .set, .map: return .bytes([0, 0, 0, 0])
            default: throw .invalidRequest("Invalid set literal for \(receiver.name) of type \(receiver.type)")
            }
        case let .map(entries):
            guard case let .map(keyType, valueType) = receiver.type else {
                throw .invalidRequest("Invalid map literal for \(receiver.name) of type \(receiver.type)")
            }
            var pairs: [([UInt8], [UInt8])] = []
            for entry in entries {
                let key = try element(entry.key, Receiver(name: "key(\(receiver.name))", type: keyType))
                let value = try element(entry.value, Receiver(name: "value(\(receiver.name))", type: valueType))
                pairs.append((key, value))
            }
            return .bytes(ValueValidation.encodeMap(pairs, keyType: keyType))
        case let .tuple(items):
            guard case let .tuple(types) = receiver.type else {
                throw .invalidRequest("Invalid tuple literal for \(receiver.name) of type \(receiver.type)")
            }
            guard items.count <= types.count else {
                throw .invalidRequest("Invalid tuple literal for \(receiver.name): too many elements. "
                    + "Type frozen<\(receiver.type)> expects \(types.count) but got \(items.count)")
            }
            var writer = ByteWriter(capacity: 32)
            for (index, item) in items.enumerated() {
                switch try evaluate(item, for: Receiver(name: receiver.name, type: types[index])) {
                case let .bytes(bytes): writer.writeBytes(bytes)
                case .null, .unset: writer.writeBytes(nil)
                }
            }
            return .bytes(writer.bytes)
        case let .userType(fields):
            guard case let .udt(userType) = receiver.type else {
                throw .invalidRequest("Invalid user type literal for \(receiver.name) of type \(receiver.type)")
            }
            for field in fields where !userType.fields.contains(where: { $0.name == field.field }) {
                throw .invalidRequest("Unknown field '\(field.field)' in value of user defined type \(userType.name)")
            }
            var writer = ByteWriter(capacity: 32)
            for declared in userType.fields {
                if let given = fields.first(where: { $0.field == declared.name }),
                   case let .bytes(bytes) = try evaluate(given.value, for: Receiver(name: "\(receiver.name).\(declared.name)", type: declared.type)) {
                    writer.writeBytes(bytes)
                } else {
                    writer.writeBytes(nil)
                }
            }
            return .bytes(writer.bytes)
        case .cast, .arithmetic:
            throw .invalidRequest("Arithmetic and CAST are not supported in \(receiver.name)'s value")
        }
    }

    /// A value that must be bytes (inside collections, keys of conditions).
    func element(_ term: Term, _ receiver: Receiver) throws(ServerError) -> [UInt8] {
        switch try evaluate(term, for: receiver) {
        case let .bytes(bytes): return bytes
        case .null: throw .invalidRequest("null is not supported inside collections")
        case .unset: throw .invalidRequest("unset value is not supported inside collections")
        }
    }

    /// An integer parameter (`TTL`, `TIMESTAMP`, `LIMIT`): nil when absent or unset.
    func integer(_ term: Term?, _ receiver: Receiver) throws(ServerError) -> Int64? {
        guard let term else { return nil }
        switch try evaluate(term, for: receiver) {
        case .unset: return nil
        case .null: throw .invalidRequest("Invalid null value of \(receiver.name)")
        case let .bytes(bytes):
            guard let value = ValueValidation.signedInteger(bytes) else {
                throw .invalidRequest("Invalid value for \(receiver.name)")
            }
            return value
        }
    }

    private func collection(_ items: [Term], listLiteral: Bool, for receiver: Receiver) throws(ServerError) -> [UInt8] {
        switch receiver.type {
        case let .list(elementType) where listLiteral:
            var elements: [[UInt8]] = []
            for item in items { elements.append(try element(item, Receiver(name: "value(\(receiver.name))", type: elementType))) }
            return ValueValidation.encodeList(elements)
        case let .set(elementType) where !listLiteral:
            var elements: [[UInt8]] = []
            for item in items { elements.append(try element(item, Receiver(name: "value(\(receiver.name))", type: elementType))) }
            return ValueValidation.encodeSet(elements, elementType: elementType)
        default:
            throw .invalidRequest("Invalid \(listLiteral ? "list" : "set") literal for \(receiver.name) of type \(receiver.type)")
        }
    }

    // MARK: Functions

    /// Whether a value of `type` may be stored in a receiver of `target`.
    static func isAssignable(_ type: DataType, to target: DataType) -> Bool {
        if type == target { return true }
        switch (type, target) {
        case (.timeuuid, .uuid), (.ascii, .varchar), (.bigint, .counter), (.counter, .bigint): return true
        default: return false
        }
    }

    /// Runs a native scalar function on terms: its result type and value.
    func call(_ name: FunctionName, _ arguments: [Term]) throws(ServerError) -> (DataType, [UInt8]?) {
        let lowered = name.name.lowercased()
        if lowered == "tojson" {
            throw .invalidRequest("toJson() may only be used within the selection clause of SELECT statements")
        }
        if NativeFunctions.aggregateNames.contains(lowered), NativeFunctions.overloads[lowered] == nil {
            throw .invalidRequest("Aggregation function are not supported in the where clause")
        }
        var described: [FunctionArgument] = []
        for argument in arguments { described.append(try describe(argument)) }
        let function = try NativeFunctions.resolve(name, described)
        var values: [[UInt8]?] = []
        for (index, argument) in arguments.enumerated() {
            switch try evaluate(argument, for: Receiver(name: "arg\(index)", type: function.argumentTypes[index])) {
            case let .bytes(bytes): values.append(bytes)
            case .null, .unset: values.append(nil)
            }
        }
        return (function.returnType, try function.body(values, clock))
    }

    /// What overload resolution knows of a term argument.
    private func describe(_ term: Term) throws(ServerError) -> FunctionArgument {
        switch term {
        case let .literal(literal): return .literal(literal)
        case let .negation(.literal(.integer(text))): return .literal(.integer("-" + text))
        case let .negation(.literal(.float(text))): return .literal(.float("-" + text))
        case let .functionCall(name, arguments):
            var inner: [FunctionArgument] = []
            for argument in arguments { inner.append(try describe(argument)) }
            let function = try NativeFunctions.resolve(name, inner)
            return .typed(function.returnType, label: "system.\(function.name)(...)")
        default: return .any
        }
    }

    // MARK: Literals

    private static func kind(_ literal: Literal) -> String {
        switch literal {
        case .string: "STRING"
        case .integer: "INTEGER"
        case .float: "FLOAT"
        case .boolean: "BOOLEAN"
        case .uuid: "UUID"
        case .hex: "HEX"
        case .duration: "DURATION"
        }
    }

    /// Cassandra's constant-to-type conversion (`Constants.Literal.testAssignment` then `fromString`).
    func literalBytes(_ literal: Literal, for receiver: Receiver) throws(ServerError) -> [UInt8] {
        let mismatch = ServerError.invalidRequest(
            "Invalid \(Self.kind(literal)) constant (\(literal.rawText)) for \"\(receiver.name)\" of type \(receiver.type)")
        switch (literal, receiver.type) {
        case let (.string(text), .varchar):
            return Array(text.utf8)
        case let (.string(text), .ascii):
            guard text.utf8.allSatisfy({ $0 < 0x80 }) else { throw .invalidRequest(
                "Invalid ASCII character in string literal: java.nio.charset.UnmappableCharacterException: Input length = 1") }
            return Array(text.utf8)
        case let (.string(text), .inet):
            guard let address = InetAddress(text) else { throw .invalidRequest("Unable to make inet address from '\(text)'") }
            return address.bytes
        case let (.string(text), .timestamp):
            guard let millis = TimestampParser.millis(text) else {
                throw .invalidRequest("Unable to parse a date/time from '\(text)'")
            }
            return ValueValidation.int64Bytes(millis)
        case let (.integer(text), .timestamp):
            guard let millis = Int64(text) else { throw .invalidRequest("Unable to make long from '\(text)'") }
            return ValueValidation.int64Bytes(millis)
        case let (.string(text), .date):
            guard let date = CQLDate(text) else { throw .invalidRequest("Unable to coerce '\(text)' to a formatted date (long)") }
            return ValueValidation.uint32Bytes(date.rawValue)
        case let (.integer(text), .date):
            guard let raw = UInt32(text) else { throw .invalidRequest("Unable to make unsigned int (for date) from: '\(text)'") }
            return ValueValidation.uint32Bytes(raw)
        case let (.string(text), .time):
            guard let nanos = TimestampParser.timeNanos(text) else {
                throw .invalidRequest("Unable to coerce '\(text)' to a formatted time (long)")
            }
            return ValueValidation.int64Bytes(nanos)
        case let (.integer(text), .time):
            guard let nanos = Int64(text), nanos >= 0, nanos < 86_400_000_000_000 else {
                throw .invalidRequest("Unable to make long from '\(text)'")
            }
            return ValueValidation.int64Bytes(nanos)
        case let (.integer(text), .int):
            guard let value = Int32(text) else { throw .invalidRequest("Unable to make int from '\(text)'") }
            return ValueValidation.int32Bytes(value)
        case let (.integer(text), .bigint), let (.integer(text), .counter):
            guard let value = Int64(text) else { throw .invalidRequest("Unable to make long from '\(text)'") }
            return ValueValidation.int64Bytes(value)
        case let (.integer(text), .smallint):
            guard let value = Int16(text) else { throw .invalidRequest("Unable to make short from '\(text)'") }
            return [UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
        case let (.integer(text), .tinyint):
            guard let value = Int8(text) else { throw .invalidRequest("Unable to make byte from '\(text)'") }
            return [UInt8(bitPattern: value)]
        case let (.integer(text), .varint):
            guard let value = CQLVarint(text) else { throw .invalidRequest("Unable to make varint from '\(text)'") }
            return try encode(.varint(value), as: .varint)
        case let (.integer(text), .decimal), let (.float(text), .decimal):
            guard let value = CQLDecimal(text) else { throw .invalidRequest("Unable to make BigDecimal from '\(text)'") }
            return try encode(.decimal(value), as: .decimal)
        case let (.integer(text), .double), let (.float(text), .double):
            guard let value = Double(text) else { throw .invalidRequest("Unable to make double from '\(text)'") }
            return ValueValidation.int64Bytes(Int64(bitPattern: value.bitPattern))
        case let (.integer(text), .float), let (.float(text), .float):
            guard let value = Float(text) else { throw .invalidRequest("Unable to make float from '\(text)'") }
            return ValueValidation.int32Bytes(Int32(bitPattern: value.bitPattern))
        case let (.boolean(value), .boolean):
            return [value ? 1 : 0]
        case let (.uuid(uuid), .uuid):
            return ValueValidation.uuidBytes(uuid)
        case let (.uuid(uuid), .timeuuid):
            let bytes = ValueValidation.uuidBytes(uuid)
            guard bytes[6] >> 4 == 1 else { throw .invalidRequest("TimeUUID supports only version 1 UUIDs") }
            return bytes
        case let (.hex(digits), .blob):
            guard let bytes = ValueValidation.hexBytes(digits) else {
                throw .invalidRequest("cannot parse '\(digits)' as hex bytes")
            }
            return bytes
        case let (.duration(text), .duration), let (.string(text), .duration), let (.integer(text), .duration):
            do {
                return try encode(.duration(try CQLDuration(cqlLiteral: text)), as: .duration)
            } catch {
                throw .invalidRequest("Unable to convert '\(text)' to a duration")
            }
        default:
            throw mismatch
        }
    }

    private func encode(_ value: CQLValue, as type: DataType) throws(ServerError) -> [UInt8] {
        do {
            return try value.encode(as: type) ?? []
        } catch {
            throw .invalidRequest("Invalid value for type \(type): \(error)")
        }
    }
}
