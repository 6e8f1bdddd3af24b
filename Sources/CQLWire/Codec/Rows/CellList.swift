/// Cells that a `Decodable` container reads: a row's columns, a UDT's fields, a collection's
/// elements or a map's entries. One abstraction so one set of containers serves them all.
protocol CellList {
    /// The bytes the cells lie in.
    var buffer: [UInt8] { get }
    /// How many cells there are.
    var count: Int { get }
    /// The content range (nil for null) and CQL type of cell `index`.
    func cell(at index: Int) throws(WireError) -> (range: Range<Int>?, type: DataType)
    /// The cell a keyed container's key names.
    func index(forKey key: String) -> Int?
    /// The key a keyed container sees for cell `index`.
    func key(at index: Int) -> String
    /// Where cell `index` is, for error messages (`column "x"`, `column "x" field "y"`).
    func context(at index: Int) -> String
}

/// A plain coding key for positions and names.
struct CellCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
    }

    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

/// Column name to index lookups, computed once per ``Rows`` and shared by its rows.
///
/// Exact names win; otherwise a Swift `jobId` finds a CQL `job_id` (case and underscores ignored).
final class ColumnNameIndex: Sendable {
    let exact: [String: Int]
    let loose: [String: Int]

    init(_ columns: [ColumnSpec]) {
        var exact: [String: Int] = [:]
        var loose: [String: Int] = [:]
        for (index, column) in columns.enumerated() {
            if exact[column.name] == nil { exact[column.name] = index }
            let normalized = Self.normalize(column.name)
            if loose[normalized] == nil { loose[normalized] = index }
        }
        self.exact = exact
        self.loose = loose
    }

    func index(of name: String) -> Int? {
        exact[name] ?? loose[Self.normalize(name)]
    }

    static func normalize(_ name: String) -> String {
        String(String.UnicodeScalarView(name.lowercased().unicodeScalars.filter { $0 != "_" }))
    }
}

/// The columns of one row; walks on from the last cell read, so reading columns in order
/// (as synthesized `Decodable` initializers do, `decodeNil` then `decode` for optionals)
/// costs at most one hop per read.
final class RowCells: CellList {
    let row: RowView
    let names: ColumnNameIndex
    /// The cell the cursor is at, and where that cell starts.
    private var cursorIndex = 0
    private var cursorOffset: Int

    init(row: RowView, names: ColumnNameIndex) {
        self.row = row
        self.names = names
        self.cursorOffset = row.range.lowerBound
    }

    var buffer: [UInt8] { row.buffer }
    var count: Int { row.count }

    func cell(at index: Int) throws(WireError) -> (range: Range<Int>?, type: DataType) {
        let column = try row.column(at: index)
        guard index < row.count else { return (try row.bytes(at: index), column.type) }
        if index < cursorIndex {
            cursorIndex = 0
            cursorOffset = row.range.lowerBound
        }
        while cursorIndex < index {
            cursorOffset = try RowView.cell(in: row.buffer, at: cursorOffset, end: row.range.upperBound).next
            cursorIndex += 1
        }
        return (try RowView.cell(in: row.buffer, at: cursorOffset, end: row.range.upperBound).content, column.type)
    }

    func index(forKey key: String) -> Int? { names.index(of: key) }
    func key(at index: Int) -> String { index < row.columns.count ? row.columns[index].name : String(index) }
    func context(at index: Int) -> String { "column \"\(key(at: index))\"" }
}

/// The fields of a UDT or tuple value, or the elements of a list or set.
struct FieldCells: CellList {
    let buffer: [UInt8]
    let ranges: [Range<Int>?]
    let types: [DataType]
    let names: [String]?
    let parent: String

    var count: Int { ranges.count }

    func cell(at index: Int) throws(WireError) -> (range: Range<Int>?, type: DataType) {
        (ranges[index], types.count == 1 ? types[0] : types[index])
    }

    func index(forKey key: String) -> Int? {
        guard let names else { return Int(key).flatMap { ranges.indices.contains($0) ? $0 : nil } }
        return names.firstIndex(of: key) ?? names.firstIndex { ColumnNameIndex.normalize($0) == ColumnNameIndex.normalize(key) }
    }

    func key(at index: Int) -> String { names?[index] ?? String(index) }

    func context(at index: Int) -> String {
        names.map { "\(parent) field \"\($0[index])\"" } ?? "\(parent) element \(index)"
    }
}

/// A map's entries: keyed by each key's text, or unkeyed as alternating key and value.
struct MapCells: CellList {
    let buffer: [UInt8]
    let entries: [(key: Range<Int>?, value: Range<Int>?)]
    let keyType: DataType
    let valueType: DataType
    let keys: [String]
    let alternating: Bool
    let parent: String

    init(buffer: [UInt8], range: Range<Int>, keyType: DataType, valueType: DataType, type: DataType,
         alternating: Bool, parent: String) throws(WireError) {
        self.buffer = buffer
        self.entries = try CollectionBytes.entryRanges(buffer, range, type)
        self.keyType = keyType
        self.valueType = valueType
        self.alternating = alternating
        self.parent = parent
        var keys: [String] = []
        if !alternating {
            keys.reserveCapacity(entries.count)
            for entry in entries {
                keys.append(Self.keyText(try CQLValue.decode(buffer, range: entry.key, as: keyType)))
            }
        }
        self.keys = keys
    }

    /// The text a keyed container sees for a map key: text as is, numbers in decimal.
    static func keyText(_ key: CQLValue) -> String {
        switch key {
        case let .text(text), let .ascii(text): text
        default: key.cqlLiteral
        }
    }

    var count: Int { alternating ? entries.count * 2 : entries.count }

    func cell(at index: Int) throws(WireError) -> (range: Range<Int>?, type: DataType) {
        guard alternating else { return (entries[index].value, valueType) }
        let entry = entries[index / 2]
        return index % 2 == 0 ? (entry.key, keyType) : (entry.value, valueType)
    }

    func index(forKey key: String) -> Int? { keys.lastIndex(of: key) }
    func key(at index: Int) -> String { alternating ? String(index) : keys[index] }
    func context(at index: Int) -> String { alternating ? "\(parent) entry \(index / 2)" : "\(parent) key \(keys[index])" }
}
