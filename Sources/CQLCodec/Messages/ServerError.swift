/// ERROR: what the server reports when a request fails (specifications 4.2.1 and 9).
///
/// Thrown by the client as a Swift error; every v4 code decodes into ``Kind`` with its fields.
public struct ServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The error code with the fields that follow the message on the wire.
    public enum Kind: Sendable, Hashable {
        /// 0x0000: a server-side bug.
        case serverError
        /// 0x000A: the client violated the protocol.
        case protocolError
        /// 0x0100: authentication failed.
        case badCredentials
        /// 0x1000: not enough replicas alive to satisfy the consistency level.
        case unavailable(consistency: Consistency, required: Int32, alive: Int32)
        /// 0x1001: the coordinator is overloaded.
        case overloaded
        /// 0x1002: the coordinator is bootstrapping.
        case isBootstrapping
        /// 0x1003: a truncation failed.
        case truncateError
        /// 0x1100: a write timed out; `writeType` is SIMPLE, BATCH, UNLOGGED_BATCH, COUNTER, BATCH_LOG, CAS, VIEW or CDC.
        case writeTimeout(consistency: Consistency, received: Int32, blockFor: Int32, writeType: String)
        /// 0x1200: a read timed out.
        case readTimeout(consistency: Consistency, received: Int32, blockFor: Int32, dataPresent: Bool)
        /// 0x1300: a replica failed a read.
        case readFailure(consistency: Consistency, received: Int32, blockFor: Int32, numFailures: Int32, dataPresent: Bool)
        /// 0x1400: a user-defined function failed.
        case functionFailure(keyspace: String, function: String, argTypes: [String])
        /// 0x1500: a replica failed a write.
        case writeFailure(consistency: Consistency, received: Int32, blockFor: Int32, numFailures: Int32, writeType: String)
        /// 0x2000: the statement does not parse.
        case syntaxError
        /// 0x2100: the user may not run the statement.
        case unauthorized
        /// 0x2200: the statement is invalid.
        case invalid
        /// 0x2300: the statement conflicts with the configuration.
        case configError
        /// 0x2400: the keyspace or table exists; `table` is empty for a keyspace.
        case alreadyExists(keyspace: String, table: String)
        /// 0x2500: the prepared id is unknown to this node: prepare again.
        case unprepared(id: [UInt8])
        /// A code this protocol version does not define, with whatever followed the message.
        case unknown(code: Int32, extra: [UInt8])

        /// The error code on the wire.
        public var code: Int32 {
            switch self {
            case .serverError: 0x0000
            case .protocolError: 0x000A
            case .badCredentials: 0x0100
            case .unavailable: 0x1000
            case .overloaded: 0x1001
            case .isBootstrapping: 0x1002
            case .truncateError: 0x1003
            case .writeTimeout: 0x1100
            case .readTimeout: 0x1200
            case .readFailure: 0x1300
            case .functionFailure: 0x1400
            case .writeFailure: 0x1500
            case .syntaxError: 0x2000
            case .unauthorized: 0x2100
            case .invalid: 0x2200
            case .configError: 0x2300
            case .alreadyExists: 0x2400
            case .unprepared: 0x2500
            case let .unknown(code, _): code
            }
        }

        /// The name Cassandra's drivers use for the code.
        public var name: String {
            switch self {
            case .serverError: "Server error"
            case .protocolError: "Protocol error"
            case .badCredentials: "Bad credentials"
            case .unavailable: "Unavailable"
            case .overloaded: "Overloaded"
            case .isBootstrapping: "Is bootstrapping"
            case .truncateError: "Truncate error"
            case .writeTimeout: "Write timeout"
            case .readTimeout: "Read timeout"
            case .readFailure: "Read failure"
            case .functionFailure: "Function failure"
            case .writeFailure: "Write failure"
            case .syntaxError: "Syntax error"
            case .unauthorized: "Unauthorized"
            case .invalid: "Invalid"
            case .configError: "Config error"
            case .alreadyExists: "Already exists"
            case .unprepared: "Unprepared"
            case .unknown: "Unknown error"
            }
        }
    }

    /// The error code with its typed fields.
    public var kind: Kind
    /// The server's message.
    public var message: String

    /// An error of `kind` with `message`.
    public init(_ kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    /// The error code on the wire.
    public var code: Int32 { kind.code }

    /// Whether this is a write timeout during Paxos (`CAS`): the LWT's outcome is unknown.
    public var isCASWriteTimeout: Bool {
        if case let .writeTimeout(_, _, _, writeType) = kind { writeType == "CAS" } else { false }
    }

    /// Reads the body: `<code><message>` and the code's fields.
    package init(from reader: inout ByteReader) throws(WireError) {
        let code = try reader.readInt32("error code")
        message = try reader.readString("error message")
        switch code {
        case 0x0000: kind = .serverError
        case 0x000A: kind = .protocolError
        case 0x0100: kind = .badCredentials
        case 0x1000:
            kind = .unavailable(consistency: try reader.readConsistency(), required: try reader.readInt32("required"),
                                alive: try reader.readInt32("alive"))
        case 0x1001: kind = .overloaded
        case 0x1002: kind = .isBootstrapping
        case 0x1003: kind = .truncateError
        case 0x1100:
            kind = .writeTimeout(consistency: try reader.readConsistency(), received: try reader.readInt32("received"),
                                 blockFor: try reader.readInt32("blockfor"), writeType: try reader.readString("writeType"))
        case 0x1200:
            kind = .readTimeout(consistency: try reader.readConsistency(), received: try reader.readInt32("received"),
                                blockFor: try reader.readInt32("blockfor"),
                                dataPresent: try reader.readUInt8("data_present") != 0)
        case 0x1300:
            kind = .readFailure(consistency: try reader.readConsistency(), received: try reader.readInt32("received"),
                                blockFor: try reader.readInt32("blockfor"), numFailures: try reader.readInt32("numfailures"),
                                dataPresent: try reader.readUInt8("data_present") != 0)
        case 0x1400:
            kind = .functionFailure(keyspace: try reader.readString("keyspace"), function: try reader.readString("function"),
                                    argTypes: try reader.readStringList("arg_types"))
        case 0x1500:
            kind = .writeFailure(consistency: try reader.readConsistency(), received: try reader.readInt32("received"),
                                 blockFor: try reader.readInt32("blockfor"), numFailures: try reader.readInt32("numfailures"),
                                 writeType: try reader.readString("writeType"))
        case 0x2000: kind = .syntaxError
        case 0x2100: kind = .unauthorized
        case 0x2200: kind = .invalid
        case 0x2300: kind = .configError
        case 0x2400: kind = .alreadyExists(keyspace: try reader.readString("keyspace"), table: try reader.readString("table"))
        case 0x2500: kind = .unprepared(id: try reader.readShortBytes("unprepared id"))
        default: kind = .unknown(code: code, extra: try reader.readRaw(reader.remaining, "error details"))
        }
    }

    /// Appends the body.
    package func encode(into writer: inout ByteWriter) {
        writer.writeInt32(code)
        writer.writeString(message)
        switch kind {
        case .serverError, .protocolError, .badCredentials, .overloaded, .isBootstrapping, .truncateError,
             .syntaxError, .unauthorized, .invalid, .configError:
            break
        case let .unavailable(consistency, required, alive):
            writer.writeConsistency(consistency)
            writer.writeInt32(required)
            writer.writeInt32(alive)
        case let .writeTimeout(consistency, received, blockFor, writeType):
            writer.writeConsistency(consistency)
            writer.writeInt32(received)
            writer.writeInt32(blockFor)
            writer.writeString(writeType)
        case let .readTimeout(consistency, received, blockFor, dataPresent):
            writer.writeConsistency(consistency)
            writer.writeInt32(received)
            writer.writeInt32(blockFor)
            writer.writeUInt8(dataPresent ? 1 : 0)
        case let .readFailure(consistency, received, blockFor, numFailures, dataPresent):
            writer.writeConsistency(consistency)
            writer.writeInt32(received)
            writer.writeInt32(blockFor)
            writer.writeInt32(numFailures)
            writer.writeUInt8(dataPresent ? 1 : 0)
        case let .functionFailure(keyspace, function, argTypes):
            writer.writeString(keyspace)
            writer.writeString(function)
            writer.writeStringList(argTypes)
        case let .writeFailure(consistency, received, blockFor, numFailures, writeType):
            writer.writeConsistency(consistency)
            writer.writeInt32(received)
            writer.writeInt32(blockFor)
            writer.writeInt32(numFailures)
            writer.writeString(writeType)
        case let .alreadyExists(keyspace, table):
            writer.writeString(keyspace)
            writer.writeString(table)
        case let .unprepared(id):
            writer.writeShortBytes(id)
        case let .unknown(_, extra):
            writer.writeRaw(extra)
        }
    }

    /// One log line: name, code, message and the typed fields.
    public var description: String {
        let code = "0x" + String(UInt32(bitPattern: self.code), radix: 16, uppercase: true)
        let details: String
        switch kind {
        case let .unavailable(consistency, required, alive):
            details = " (consistency \(consistency), required \(required), alive \(alive))"
        case let .writeTimeout(consistency, received, blockFor, writeType):
            details = " (consistency \(consistency), received \(received) of \(blockFor), write type \(writeType))"
        case let .readTimeout(consistency, received, blockFor, dataPresent):
            details = " (consistency \(consistency), received \(received) of \(blockFor), data \(dataPresent ? "present" : "absent"))"
        case let .readFailure(consistency, received, blockFor, numFailures, dataPresent):
            details = " (consistency \(consistency), received \(received) of \(blockFor), \(numFailures) failed, data \(dataPresent ? "present" : "absent"))"
        case let .functionFailure(keyspace, function, argTypes):
            details = " (function \(keyspace).\(function)(\(argTypes.joined(separator: ", "))))"
        case let .writeFailure(consistency, received, blockFor, numFailures, writeType):
            details = " (consistency \(consistency), received \(received) of \(blockFor), \(numFailures) failed, write type \(writeType))"
        case let .alreadyExists(keyspace, table):
            details = table.isEmpty ? " (keyspace \(keyspace))" : " (table \(keyspace).\(table))"
        case let .unprepared(id):
            details = " (id \(id.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()))"
        default:
            details = ""
        }
        return "\(kind.name) [\(code)]: \(message)\(details)"
    }
}
