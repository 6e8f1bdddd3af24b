import CQLCodec
import Foundation

/// One overload of a native scalar function (Cassandra's `NativeScalarFunction`): its argument and
/// result types, and what it computes from serialized arguments.
struct NativeFunction: Sendable {
    /// The lowercased name without keyspace (`blobastext`).
    let name: String
    let argumentTypes: [DataType]
    let returnType: DataType
    let body: @Sendable (_ arguments: [[UInt8]?], _ clock: NodeClock) throws(ServerError) -> [UInt8]?

    /// As Cassandra lists a signature in its messages: `system.todate : (timeuuid) -> date`.
    var signature: String {
        "system.\(name) : (" + argumentTypes.map(\.description).joined(separator: ", ") + ") -> \(returnType)"
    }
}

/// What the resolver knows of an argument before running the function.
enum FunctionArgument {
    /// A column, a nested function call, or anything else with a known type; `label` is how messages name it.
    case typed(DataType, label: String)
    /// A constant: it fits any type it converts to, but never exactly (`Constants.Literal.testAssignment`).
    case literal(Literal)
    /// A bind marker or `null`: any type.
    case any
}

/// Cassandra's native scalar functions (`TimeFcts`, `UuidFcts`, `BytesConversionFcts`) and their
/// overload resolution (`FunctionResolver`). `token`, `toJson`, `fromJson` and the aggregates depend on
/// where they are called and are handled by their callers.
enum NativeFunctions {
    /// Overloads by lowercased name.
    static let overloads: [String: [NativeFunction]] = {
        var all: [NativeFunction] = timeFunctions + uuidFunctions + bytesConversions
        var table: [String: [NativeFunction]] = [:]
        for function in all { table[function.name, default: []].append(function) }
        all.removeAll()
        return table
    }()

    /// The names the selection and term code handle themselves.
    static let aggregateNames: Set<String> = ["count", "min", "max", "sum", "avg"]

    /// Picks the overload of `name` that `arguments` call, or throws Cassandra's message (an unknown name reads
    /// differently in a selection and in a term, as in Cassandra).
    static func resolve(_ name: FunctionName, _ arguments: [FunctionArgument], inSelection: Bool = false) throws(ServerError) -> NativeFunction {
        let lowered = name.name.lowercased()
        let written = (name.keyspace.map { $0 + "." } ?? "") + lowered
        let unknown = ServerError.invalidRequest(inSelection ? "Unknown function '\(written)'" : "Unknown function \(written) called")
        if let keyspace = name.keyspace, keyspace.lowercased() != "system" { throw unknown }
        guard let candidates = overloads[lowered] else { throw unknown }
        if candidates.count == 1, let function = candidates.first {
            guard arguments.count == function.argumentTypes.count else {
                throw .invalidRequest("Invalid number of arguments in call to function system.\(lowered): "
                    + "\(function.argumentTypes.count) required but \(arguments.count) provided")
            }
            for (index, argument) in arguments.enumerated() where match(argument, function.argumentTypes[index]) == .none {
                throw .invalidRequest("Type error: \(describe(argument)) cannot be passed as argument \(index) of function "
                    + "system.\(lowered) of type \(function.argumentTypes[index])")
            }
            return function
        }
        var compatible: [NativeFunction] = []
        for function in candidates where function.argumentTypes.count == arguments.count {
            var result = Match.exact
            for (index, argument) in arguments.enumerated() {
                result = min(result, match(argument, function.argumentTypes[index]))
            }
            if result == .exact { return function }
            if result == .weak { compatible.append(function) }
        }
        guard let only = compatible.first else {
            throw .invalidRequest("Invalid call to function \(written), none of its type signatures match "
                + "(known type signatures: \(candidates.map(\.signature).joined(separator: ", ")))")
        }
        guard compatible.count == 1 else {
            throw .invalidRequest("Ambiguous call to function \(written) (can be matched by following signatures: "
                + "\(compatible.map(\.signature).joined(separator: ", "))): use type casts to disambiguate")
        }
        return only
    }

    private enum Match: Comparable { case none, weak, exact }

    private static func match(_ argument: FunctionArgument, _ type: DataType) -> Match {
        switch argument {
        case .any:
            return .weak
        case let .typed(actual, _):
            if actual == type { return .exact }
            return isValueCompatible(actual, with: type) ? .weak : .none
        case let .literal(literal):
            return literalFits(literal, type) ? .weak : .none
        }
    }

    /// `AbstractType.isValueCompatibleWith`: a blob takes any value's bytes; a few types read each other's.
    private static func isValueCompatible(_ actual: DataType, with type: DataType) -> Bool {
        switch (actual, type) {
        case (_, .blob), (.ascii, .varchar), (.timeuuid, .uuid), (.timestamp, .bigint), (.bigint, .timestamp),
             (.int, .varint), (.bigint, .varint), (.counter, .bigint), (.bigint, .counter): true
        default: false
        }
    }

    /// `Constants.Literal.testAssignment`.
    static func literalFits(_ literal: Literal, _ type: DataType) -> Bool {
        switch literal {
        case .string: [.ascii, .varchar, .inet, .date, .time, .timestamp].contains(type)
        case .integer: [.bigint, .counter, .date, .decimal, .double, .duration, .float, .int, .smallint, .time, .timestamp,
                        .tinyint, .varint].contains(type)
        case .uuid: type == .uuid || type == .timeuuid
        case .float: [.decimal, .double, .float].contains(type)
        case .boolean: type == .boolean
        case .hex: type == .blob
        case .duration: type == .duration
        }
    }

    private static func describe(_ argument: FunctionArgument) -> String {
        switch argument {
        case let .literal(.string(text)): "'\(text)'"
        case let .literal(literal): literal.rawText
        case let .typed(_, label): label
        case .any: "?"
        }
    }

    // MARK: The functions

    private static func scalar(_ name: String, _ arguments: [DataType], _ result: DataType,
                               _ body: @escaping @Sendable ([[UInt8]?], NodeClock) throws(ServerError) -> [UInt8]?) -> NativeFunction {
        NativeFunction(name: name, argumentTypes: arguments, returnType: result, body: body)
    }

    /// The first argument when present (functions of null are null).
    private static func first(_ arguments: [[UInt8]?]) -> [UInt8]? { arguments.first ?? nil }

    private static let timeFunctions: [NativeFunction] = {
        @Sendable func millis(ofTimeUUID arguments: [[UInt8]?]) -> Int64? { first(arguments).flatMap(NodeClock.unixMillis(ofTimeUUID:)) }
        @Sendable func millis(ofDate arguments: [[UInt8]?]) -> Int64? { first(arguments).flatMap(ValueValidation.millis(fromDate:)) }
        func boundary(_ maximum: Bool) -> @Sendable ([[UInt8]?], NodeClock) -> [UInt8]? {
            { arguments, _ in
                guard let bytes = first(arguments), let millis = ValueValidation.signedInteger(bytes) else { return nil }
                return ValueValidation.uuidBytes(NodeClock.boundaryTimeUUID(millis: millis, maximum: maximum))
            }
        }
        return [
            scalar("now", [], .timeuuid) { _, clock in ValueValidation.uuidBytes(clock.timeUUID()) },
            scalar("currenttimeuuid", [], .timeuuid) { _, clock in ValueValidation.uuidBytes(clock.timeUUID()) },
            scalar("currenttimestamp", [], .timestamp) { _, clock in ValueValidation.int64Bytes(clock.nowMicros / 1000) },
            scalar("currentdate", [], .date) { _, clock in ValueValidation.dateBytes(millis: clock.nowMicros / 1000) },
            scalar("currenttime", [], .time) { _, clock in
                let day: Int64 = 86_400_000_000
                return ValueValidation.int64Bytes((clock.nowMicros % day + day) % day * 1000)
            },
            scalar("mintimeuuid", [.timestamp], .timeuuid, boundary(false)),
            scalar("maxtimeuuid", [.timestamp], .timeuuid, boundary(true)),
            scalar("dateof", [.timeuuid], .timestamp) { arguments, _ in millis(ofTimeUUID: arguments).map(ValueValidation.int64Bytes) },
            scalar("unixtimestampof", [.timeuuid], .bigint) { arguments, _ in millis(ofTimeUUID: arguments).map(ValueValidation.int64Bytes) },
            // Overloads in the order Cassandra 3.11 lists them in its messages.
            scalar("todate", [.timestamp], .date) { arguments, _ in millis(ofDate: arguments).map { ValueValidation.dateBytes(millis: $0) } },
            scalar("todate", [.timeuuid], .date) { arguments, _ in millis(ofTimeUUID: arguments).map { ValueValidation.dateBytes(millis: $0) } },
            scalar("totimestamp", [.date], .timestamp) { arguments, _ in millis(ofDate: arguments).map(ValueValidation.int64Bytes) },
            scalar("totimestamp", [.timeuuid], .timestamp) { arguments, _ in millis(ofTimeUUID: arguments).map(ValueValidation.int64Bytes) },
            scalar("tounixtimestamp", [.date], .bigint) { arguments, _ in millis(ofDate: arguments).map(ValueValidation.int64Bytes) },
            scalar("tounixtimestamp", [.timestamp], .bigint) { arguments, _ in millis(ofDate: arguments).map(ValueValidation.int64Bytes) },
            scalar("tounixtimestamp", [.timeuuid], .bigint) { arguments, _ in millis(ofTimeUUID: arguments).map(ValueValidation.int64Bytes) },
        ]
    }()

    private static let uuidFunctions: [NativeFunction] = [
        scalar("uuid", [], .uuid) { _, _ in ValueValidation.uuidBytes(UUID()) },
    ]

    /// `<type>asblob` and `blobas<type>` for every native type but blob; `varcharasblob`/`blobasvarchar`
    /// besides the `text` pair, since both names denote one type.
    private static let bytesConversions: [NativeFunction] = {
        let types: [DataType] = [.ascii, .bigint, .boolean, .counter, .date, .decimal, .double, .duration, .float, .inet,
                                 .int, .smallint, .varchar, .time, .timestamp, .timeuuid, .tinyint, .uuid, .varint]
        var functions: [NativeFunction] = []
        func add(_ type: DataType, named typeName: String) {
            functions.append(scalar(typeName + "asblob", [type], .blob) { arguments, _ in first(arguments) })
            let fromBlob = "blobas" + typeName
            functions.append(scalar(fromBlob, [.blob], type) { arguments, _ throws(ServerError) in
                guard let bytes = first(arguments) else { return nil }
                do {
                    return try ValueValidation.normalize(bytes, as: type, receiver: fromBlob)
                } catch {
                    throw .invalidRequest("In call to function system.\(fromBlob), value 0x\(JSONValue.hexDigits(bytes)) "
                        + "is not a valid binary representation for type \(type)")
                }
            })
        }
        for type in types { add(type, named: type.description) }
        add(.varchar, named: "varchar")
        return functions
    }()
}

extension NodeClock {
    /// The smallest (`maximum` false) or largest version 1 UUID of a millisecond, as `minTimeuuid`/`maxTimeuuid`
    /// give (`UUIDGen`: clock sequence and node all `0x80` or all `0x7f` bytes, variant ignored on purpose).
    static func boundaryTimeUUID(millis: Int64, maximum: Bool) -> UUID {
        let ticks = millis &* 10_000 &+ gregorianOffset &+ (maximum ? 9_999 : 0)
        var bytes = ValueValidation.uuidBytes(timeUUID(ticks: ticks, clockSequence: 0, node: []))
        for index in 8..<16 { bytes[index] = maximum ? 0x7F : 0x80 }
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}
