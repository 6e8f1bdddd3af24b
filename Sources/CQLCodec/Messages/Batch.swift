/// BATCH: run several DML statements as one (specification 4.1.7), protocol v4 layout.
public struct Batch: Sendable, Equatable {
    /// `<type>`: how the batch is applied.
    public enum BatchType: UInt8, Sendable, Hashable, CaseIterable {
        /// Atomic through the batch log (a CQL `BEGIN BATCH`).
        case logged = 0
        /// Without the batch log.
        case unlogged = 1
        /// Counter updates only.
        case counter = 2
    }

    /// One `<query_i>`: CQL text or a prepared id, with its values.
    public enum Statement: Sendable, Equatable {
        /// `<kind>` 0: a `[long string]` query.
        case query(String, QueryValues)
        /// `<kind>` 1: a `[short bytes]` prepared id.
        case prepared([UInt8], QueryValues)

        /// The statement's values.
        public var values: QueryValues {
            switch self {
            case let .query(_, values), let .prepared(_, values): values
            }
        }
    }

    /// The batch type.
    public var type: BatchType
    /// The statements, in order.
    public var statements: [Statement]
    /// The consistency level of the batch.
    public var consistency: Consistency
    /// The consistency of the Paxos phase of a conditional batch.
    public var serialConsistency: Consistency?
    /// The default write timestamp in microseconds.
    public var defaultTimestamp: Int64?

    enum Flag {
        static let serialConsistency: UInt8 = 0x10
        static let defaultTimestamp: UInt8 = 0x20
        /// Specified but unusable (CASSANDRA-10246); decoded so captured traffic still parses.
        static let namesForValues: UInt8 = 0x40
        static let all: UInt8 = 0x70
    }

    /// A BATCH message.
    public init(type: BatchType = .logged, statements: [Statement], consistency: Consistency,
                serialConsistency: Consistency? = nil, defaultTimestamp: Int64? = nil) {
        self.type = type
        self.statements = statements
        self.consistency = consistency
        self.serialConsistency = serialConsistency
        self.defaultTimestamp = defaultTimestamp
    }

    /// The v4 `<flags>` byte this batch encodes with; 0x40 when any statement has named values.
    public var flags: UInt8 {
        var flags: UInt8 = 0
        if serialConsistency != nil { flags |= Flag.serialConsistency }
        if defaultTimestamp != nil { flags |= Flag.defaultTimestamp }
        if statements.contains(where: { if case .named = $0.values { true } else { false } }) {
            flags |= Flag.namesForValues
        }
        return flags
    }

    /// Reads the body: `<type><n><query_1>...<query_n><consistency><flags>[<serial_consistency>][<timestamp>]`.
    package init(from reader: inout ByteReader) throws(WireError) {
        let rawType = try reader.readUInt8("batch type")
        guard let type = BatchType(rawValue: rawType) else {
            throw .invalidValue(what: "batch type", detail: "\(rawType)")
        }
        self.type = type
        let count = Int(try reader.readShort())
        // Each statement takes at least 5 bytes; check before the flags tell us how to read values.
        try reader.require(count * 5, "batch statements")
        // Whether values are named is told by the flags after the statements; the plain layout
        // is by far the common one, so try it first and fall back to the named one.
        var plain = reader
        if let statements = try? Self.readStatements(&plain, count: count, named: false),
           let flags = try? Self.peekFlags(plain), flags & Flag.namesForValues == 0 {
            self.statements = statements
            reader = plain
        } else {
            var named = reader
            statements = try Self.readStatements(&named, count: count, named: true)
            guard try Self.peekFlags(named) & Flag.namesForValues != 0 else {
                throw .invalidValue(what: "batch flags", detail: "statements do not match the names-for-values flag")
            }
            reader = named
        }
        consistency = try reader.readConsistency("batch consistency")
        let flags = try reader.readUInt8("batch flags")
        guard flags & ~Flag.all == 0 else {
            throw .invalidValue(what: "batch flags", detail: "unknown bits 0x\(String(flags & ~Flag.all, radix: 16))")
        }
        serialConsistency = flags & Flag.serialConsistency != 0 ? try reader.readConsistency("serial_consistency") : nil
        defaultTimestamp = flags & Flag.defaultTimestamp != 0 ? try reader.readInt64("default timestamp") : nil
    }

    private static func peekFlags(_ reader: ByteReader) throws(WireError) -> UInt8 {
        var reader = reader
        _ = try reader.readConsistency("batch consistency")
        return try reader.readUInt8("batch flags")
    }

    private static func readStatements(_ reader: inout ByteReader, count: Int, named: Bool) throws(WireError) -> [Statement] {
        var statements: [Statement] = []
        statements.reserveCapacity(count)
        for _ in 0..<count { statements.append(try readStatement(&reader, named: named)) }
        return statements
    }

    private static func readStatement(_ reader: inout ByteReader, named: Bool) throws(WireError) -> Statement {
        let kind = try reader.readUInt8("batch statement kind")
        let isPrepared: Bool
        switch kind {
        case 0: isPrepared = false
        case 1: isPrepared = true
        default: throw .invalidValue(what: "batch statement kind", detail: "\(kind)")
        }
        let query = isPrepared ? "" : try reader.readLongString("batch query string")
        let id = isPrepared ? try reader.readShortBytes("batch prepared id") : []
        let values = try QueryValues(from: &reader, named: named, context: "batch ")
        return isPrepared ? .prepared(id, values) : .query(query, values)
    }

    /// Appends the body. With the names flag, positional values get empty names to keep the frame well formed.
    package func encode(into writer: inout ByteWriter) {
        let flags = self.flags
        let named = flags & Flag.namesForValues != 0
        writer.writeUInt8(type.rawValue)
        writer.writeShort(UInt16(clamping: statements.count))
        for statement in statements.prefix(Int(UInt16.max)) {
            switch statement {
            case let .query(text, _):
                writer.writeUInt8(0)
                writer.writeLongString(text)
            case let .prepared(id, _):
                writer.writeUInt8(1)
                writer.writeShortBytes(id)
            }
            let pairs: [(String, WireValue)]
            switch statement.values {
            case .none: pairs = []
            case let .positional(list): pairs = list.map { ("", $0) }
            case let .named(named): pairs = named
            }
            writer.writeShort(UInt16(clamping: pairs.count))
            for (name, value) in pairs.prefix(Int(UInt16.max)) {
                if named { writer.writeString(name) }
                writer.writeValue(value)
            }
        }
        writer.writeConsistency(consistency)
        writer.writeUInt8(flags)
        if let serialConsistency { writer.writeConsistency(serialConsistency) }
        if let defaultTimestamp { writer.writeInt64(defaultTimestamp) }
    }
}
