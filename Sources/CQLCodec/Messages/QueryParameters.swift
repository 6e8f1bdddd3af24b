/// The values bound to a statement's markers (`<n>[name_1]<value_1>...` of specification 4.1.4).
public enum QueryValues: Sendable, Equatable {
    /// No values: the Values flag (0x01) is not set.
    case none
    /// Values by position (flag 0x01).
    case positional([WireValue])
    /// Values by bind-marker name (flags 0x01 and 0x40).
    case named([(String, WireValue)])

    /// How many values are bound.
    public var count: Int {
        switch self {
        case .none: 0
        case let .positional(values): values.count
        case let .named(pairs): pairs.count
        }
    }

    public static func == (lhs: QueryValues, rhs: QueryValues) -> Bool {
        switch (lhs, rhs) {
        case (.none, .none): true
        case let (.positional(a), .positional(b)): a == b
        case let (.named(a), .named(b)): a.elementsEqual(b) { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }
}

/// `<query_parameters>` shared by QUERY and EXECUTE (specification 4.1.4), protocol v4 layout.
///
/// The flags byte is derived from which fields are set, so a decoded value re-encodes byte for byte.
public struct QueryParameters: Sendable, Equatable {
    /// The consistency level of the operation.
    public var consistency: Consistency
    /// The bound values.
    public var values: QueryValues
    /// Ask the server to leave result metadata out (`Skip_metadata`).
    public var skipMetadata: Bool
    /// The page size in rows (`Page_size`).
    public var pageSize: Int32?
    /// Where to resume a paged query (`With_paging_state`).
    public var pagingState: [UInt8]?
    /// The consistency of the Paxos phase of a conditional update (`With serial consistency`).
    public var serialConsistency: Consistency?
    /// The default write timestamp in microseconds (`With default timestamp`).
    public var defaultTimestamp: Int64?

    /// The v4 flag masks.
    enum Flag {
        static let values: UInt8 = 0x01
        static let skipMetadata: UInt8 = 0x02
        static let pageSize: UInt8 = 0x04
        static let pagingState: UInt8 = 0x08
        static let serialConsistency: UInt8 = 0x10
        static let defaultTimestamp: UInt8 = 0x20
        static let namesForValues: UInt8 = 0x40
        static let all: UInt8 = 0x7F
    }

    /// Parameters; everything but the consistency is optional.
    public init(consistency: Consistency, values: QueryValues = .none, skipMetadata: Bool = false,
                pageSize: Int32? = nil, pagingState: [UInt8]? = nil, serialConsistency: Consistency? = nil,
                defaultTimestamp: Int64? = nil) {
        self.consistency = consistency
        self.values = values
        self.skipMetadata = skipMetadata
        self.pageSize = pageSize
        self.pagingState = pagingState
        self.serialConsistency = serialConsistency
        self.defaultTimestamp = defaultTimestamp
    }

    /// The v4 `<flags>` byte these parameters encode with.
    public var flags: UInt8 {
        var flags: UInt8 = 0
        switch values {
        case .none: break
        case .positional: flags |= Flag.values
        case .named: flags |= Flag.values | Flag.namesForValues
        }
        if skipMetadata { flags |= Flag.skipMetadata }
        if pageSize != nil { flags |= Flag.pageSize }
        if pagingState != nil { flags |= Flag.pagingState }
        if serialConsistency != nil { flags |= Flag.serialConsistency }
        if defaultTimestamp != nil { flags |= Flag.defaultTimestamp }
        return flags
    }

    /// Reads `<query_parameters>`; flags outside protocol v4 are refused.
    package init(from reader: inout ByteReader) throws(WireError) {
        consistency = try reader.readConsistency("query consistency")
        let flags = try reader.readUInt8("query flags")
        guard flags & ~Flag.all == 0 else {
            throw .invalidValue(what: "query flags", detail: "unknown bits 0x\(String(flags & ~Flag.all, radix: 16))")
        }
        if flags & Flag.values != 0 {
            values = try QueryValues(from: &reader, named: flags & Flag.namesForValues != 0)
        } else if flags & Flag.namesForValues != 0 {
            // The specification says 0x40 is ignored without 0x01; refusing it keeps re-encoding exact.
            throw .invalidValue(what: "query flags", detail: "names for values (0x40) without values (0x01)")
        } else {
            values = .none
        }
        skipMetadata = flags & Flag.skipMetadata != 0
        pageSize = flags & Flag.pageSize != 0 ? try reader.readInt32("result_page_size") : nil
        if flags & Flag.pagingState != 0 {
            guard let state = try reader.readBytes("paging_state") else {
                throw .invalidValue(what: "paging_state", detail: "null while With_paging_state is set")
            }
            pagingState = state
        } else {
            pagingState = nil
        }
        serialConsistency = flags & Flag.serialConsistency != 0 ? try reader.readConsistency("serial_consistency") : nil
        defaultTimestamp = flags & Flag.defaultTimestamp != 0 ? try reader.readInt64("default timestamp") : nil
    }

    /// Appends `<query_parameters>`.
    package func encode(into writer: inout ByteWriter) {
        writer.writeConsistency(consistency)
        writer.writeUInt8(flags)
        switch values {
        case .none: break
        case let .positional(list):
            writer.writeShort(UInt16(clamping: list.count))
            for value in list.prefix(Int(UInt16.max)) { writer.writeValue(value) }
        case let .named(pairs):
            writer.writeShort(UInt16(clamping: pairs.count))
            for (name, value) in pairs.prefix(Int(UInt16.max)) {
                writer.writeString(name)
                writer.writeValue(value)
            }
        }
        if let pageSize { writer.writeInt32(pageSize) }
        if let pagingState { writer.writeBytes(pagingState) }
        if let serialConsistency { writer.writeConsistency(serialConsistency) }
        if let defaultTimestamp { writer.writeInt64(defaultTimestamp) }
    }
}

extension QueryValues {
    /// Reads a `[short]` count, then that many `[value]`s, each after its `[string]` name when `named`
    /// (QUERY and EXECUTE values, and each statement of a BATCH). `context` prefixes the error text.
    init(from reader: inout ByteReader, named: Bool, context: String = "") throws(WireError) {
        let count = Int(try reader.readShort())
        if named {
            // Each named value takes at least 6 bytes: refuse counts the input cannot hold before allocating.
            try reader.require(count * 6, "\(context)named values")
            var pairs: [(String, WireValue)] = []
            pairs.reserveCapacity(count)
            for _ in 0..<count {
                let name = try reader.readString("value name")
                pairs.append((name, try reader.readValue("bound value")))
            }
            self = .named(pairs)
        } else {
            try reader.require(count * 4, "\(context)values")
            var list: [WireValue] = []
            list.reserveCapacity(count)
            for _ in 0..<count { list.append(try reader.readValue("bound value")) }
            self = .positional(list)
        }
    }
}
