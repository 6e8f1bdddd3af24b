/// One row of a ``Rows`` result, read in place from the received bytes.
///
/// Creating or iterating a view allocates nothing: it holds the rows' buffer, the column
/// metadata and the row's byte range, and finds a cell by walking the `[bytes]` lengths
/// (at most ``count`` small hops). The row's cells were bounds-checked when the view was made.
public struct RowView: Sendable {
    /// The bytes the row lies in (shared with the ``Rows`` it came from).
    public let buffer: [UInt8]
    /// The result's columns; empty when the server sent `No_metadata`.
    public let columns: [ColumnSpec]
    /// How many cells the row has.
    public let count: Int
    /// Where the row's cells lie in ``buffer``.
    public let range: Range<Int>

    /// A view of a row whose cells start at `range.lowerBound`; validates every cell length.
    public init(buffer: [UInt8], columns: [ColumnSpec], count: Int, start: Int) throws(WireError) {
        var offset = start
        guard start >= 0, start <= buffer.count else {
            throw .truncated(what: "row", needed: 4, available: 0)
        }
        for _ in 0..<max(count, 0) { offset = try Self.cell(in: buffer, at: offset, end: buffer.count).next }
        self.init(unchecked: buffer, columns: columns, count: count, range: start..<offset)
    }

    /// A view over cells the caller has checked: `count` cells exactly fill `range`, inside `buffer`.
    @inlinable
    init(unchecked buffer: [UInt8], columns: [ColumnSpec], count: Int, range: Range<Int>) {
        self.buffer = buffer
        self.columns = columns
        self.count = count
        self.range = range
    }

    /// Reads the `[bytes]` cell at `offset`: its content range (nil for null) and where the next cell starts.
    @inline(__always)
    static func cell(in buffer: [UInt8], at offset: Int, end: Int) throws(WireError) -> (content: Range<Int>?, next: Int) {
        guard offset >= 0, end - offset >= 4, end <= buffer.count else {
            throw .truncated(what: "row cell length", needed: 4, available: max(0, end - offset))
        }
        let length = Int(Int32(bitPattern: UInt32(buffer[offset]) << 24 | UInt32(buffer[offset + 1]) << 16
                                   | UInt32(buffer[offset + 2]) << 8 | UInt32(buffer[offset + 3])))
        let start = offset + 4
        if length < 0 { return (nil, start) }
        guard length <= end - start else {
            throw .truncated(what: "row cell", needed: length, available: end - start)
        }
        return (start..<(start + length), start + length)
    }

    /// The content range of cell `index` in ``buffer``, or nil when the cell is null.
    public func bytes(at index: Int) throws(WireError) -> Range<Int>? {
        guard index >= 0, index < count else {
            throw .invalidValue(what: "column index", detail: "\(index) is outside 0..<\(count)")
        }
        var offset = range.lowerBound
        for _ in 0..<index { offset = try Self.cell(in: buffer, at: offset, end: range.upperBound).next }
        return try Self.cell(in: buffer, at: offset, end: range.upperBound).content
    }

    /// The column at `index`; throws when the result carried no metadata for it.
    public func column(at index: Int) throws(WireError) -> ColumnSpec {
        guard index >= 0, index < columns.count else {
            throw .invalidValue(what: "column index", detail: "\(index) has no column metadata (\(columns.count) columns known)")
        }
        return columns[index]
    }

    /// The index of the first column named `name`.
    public func index(of name: String) -> Int? {
        columns.firstIndex { $0.name == name }
    }

    /// Decodes cell `index` as a Swift type, checking the column's CQL type.
    public func decode<T: CQLDecodable>(_ type: T.Type = T.self, at index: Int) throws(WireError) -> T {
        let content = try bytes(at: index)
        let column = try column(at: index)
        do throws(WireError) {
            return try T.decodeCQL(buffer, range: content, type: column.type)
        } catch {
            throw error.inColumn(column.name)
        }
    }

    /// Decodes the cell of the column named `name`.
    public func decode<T: CQLDecodable>(_ type: T.Type = T.self, named name: String) throws(WireError) -> T {
        guard let index = index(of: name) else { throw .noSuchColumn(name, in: columns) }
        return try decode(type, at: index)
    }

    /// Cell `index` as a dynamic value.
    public func value(at index: Int) throws(WireError) -> CQLValue {
        try decode(CQLValue.self, at: index)
    }

    /// The cell of the column named `name` as a dynamic value.
    public func value(named name: String) throws(WireError) -> CQLValue {
        try decode(CQLValue.self, named: name)
    }

    /// Cell `index` as a dynamic value (`try row[0]`).
    public subscript(index: Int) -> CQLValue {
        get throws(WireError) { try value(at: index) }
    }

    /// The cell of the column named `name` as a dynamic value (`try row["name"]`).
    public subscript(name: String) -> CQLValue {
        get throws(WireError) { try value(named: name) }
    }

    /// Every cell as a dynamic value, in column order.
    public func values() throws(WireError) -> [CQLValue] {
        var values: [CQLValue] = []
        values.reserveCapacity(count)
        for cell in cells {
            let column = try column(at: cell.index)
            do throws(WireError) {
                values.append(try CQLValue.decode(buffer, range: cell.range, as: column.type))
            } catch {
                throw error.inColumn(column.name)
            }
        }
        return values
    }

    /// The cells in column order, without decoding them.
    @inlinable
    public var cells: Cells { Cells(row: self) }

    /// The cells of a row, walked in order.
    public struct Cells: Sequence, Sendable {
        @usableFromInline let row: RowView

        @inlinable init(row: RowView) { self.row = row }

        /// One cell: its column index and content range (nil for null).
        public struct Cell: Hashable, Sendable {
            /// The column index.
            public let index: Int
            /// The content range in the row's buffer, or nil for null.
            public let range: Range<Int>?

            @inlinable init(index: Int, range: Range<Int>?) {
                self.index = index
                self.range = range
            }
        }

        /// Walks the cells of a row.
        public struct Iterator: IteratorProtocol, Sendable {
            // The buffer and bounds only, not the whole view: one reference to retain, not two.
            @usableFromInline let buffer: [UInt8]
            @usableFromInline let count: Int
            @usableFromInline let end: Int
            @usableFromInline var index = 0
            @usableFromInline var offset: Int

            @inlinable init(row: RowView, offset: Int) {
                self.buffer = row.buffer
                self.count = row.count
                self.end = row.range.upperBound
                self.offset = offset
            }

            /// The next cell; nil at the end (or at a malformed cell, which a validated view never has).
            ///
            /// Inlinable so a caller's loop reads cells without a call or a retain per cell; every
            /// read is still bounds-checked by `CellWalk.cell(_:at:end:)`.
            @inlinable @inline(__always)
            public mutating func next() -> Cell? {
                guard index < count, let cell = CellWalk.cell(buffer, at: offset, end: end) else {
                    return nil
                }
                let current = Cell(index: index, range: cell.content)
                index += 1
                offset = cell.next
                return current
            }
        }

        /// An iterator from the first cell.
        @inlinable
        public func makeIterator() -> Iterator { Iterator(row: row, offset: row.range.lowerBound) }
    }
}

extension WireError {
    /// The error with the column it happened in named, so a log line says where.
    func inColumn(_ name: String) -> WireError {
        inContext("column \"\(name)\"")
    }

    /// The error with `context` (a column or field) added.
    func inContext(_ context: String) -> WireError {
        switch self {
        case let .typeMismatch(expected, actual):
            .typeMismatch(expected: expected, actual: "\(actual) in \(context)")
        case let .invalidValue(what, detail):
            .invalidValue(what: what == "value" ? context : "\(what) in \(context)", detail: detail)
        case let .truncated(what, needed, available):
            .truncated(what: "\(what) in \(context)", needed: needed, available: available)
        case let .invalidUTF8(what):
            .invalidUTF8(what: "\(what) in \(context)")
        case let .trailingBytes(what, count):
            .trailingBytes(what: "\(what) in \(context)", count: count)
        case let .negativeLength(what, length):
            .negativeLength(what: "\(what) in \(context)", length: length)
        default:
            self
        }
    }

    /// No column has the name.
    static func noSuchColumn(_ name: String, in columns: [ColumnSpec]) -> WireError {
        .invalidValue(what: "column \"\(name)\"", detail: "not in the result (columns: \(columns.map(\.name).joined(separator: ", ")))")
    }
}
