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
    /// Each column's name, and whether it is the first column of that name (the one `exact` finds).
    let firstNames: [(name: String, isFirst: Bool)]

    init(_ columns: [ColumnSpec]) {
        var exact: [String: Int] = [:]
        var loose: [String: Int] = [:]
        var firstNames: [(name: String, isFirst: Bool)] = []
        firstNames.reserveCapacity(columns.count)
        for (index, column) in columns.enumerated() {
            let isFirst = exact[column.name] == nil
            if isFirst { exact[column.name] = index }
            firstNames.append((column.name, isFirst))
            let normalized = Self.normalize(column.name)
            if loose[normalized] == nil { loose[normalized] = index }
        }
        self.exact = exact
        self.loose = loose
        self.firstNames = firstNames
    }

    /// Whether column `index` is the one ``index(of:)`` returns for `name`, without hashing.
    @inline(__always)
    func isExact(_ name: String, at index: Int) -> Bool {
        guard index >= 0, index < firstNames.count else { return false }
        let entry = firstNames[index]
        return entry.isFirst && entry.name == name
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
///
/// ``Rows/decode(_:)`` moves one instance from row to row (``reset(to:)``) while nothing else
/// holds it, so a page of rows costs one cursor rather than one per row.
///
/// The cursor's fields skip dynamic exclusivity checks: every access is a plain read or write
/// inside one method of this class (no `inout` or long access spans), so none can overlap.
final class RowCells: CellList {
    @exclusivity(unchecked) private(set) var row: RowView
    let names: ColumnNameIndex
    /// The cell the cursor is at, and where that cell starts.
    @exclusivity(unchecked) private var cursorIndex = 0
    @exclusivity(unchecked) private var cursorOffset: Int
    /// The column after the last one a key named: synthesized initializers read in declaration
    /// order, which usually is the column order, so this is checked before hashing the key.
    @exclusivity(unchecked) private var nextKeyGuess = 0

    init(row: RowView, names: ColumnNameIndex) {
        self.row = row
        self.names = names
        self.cursorOffset = row.range.lowerBound
    }

    /// Points the cursor at the start of another row of the same result.
    func reset(to row: RowView) {
        self.row = row
        cursorIndex = 0
        cursorOffset = row.range.lowerBound
        nextKeyGuess = 0
    }

    var buffer: [UInt8] { row.buffer }
    var count: Int { row.count }

    func cell(at index: Int) throws(WireError) -> (range: Range<Int>?, type: DataType) {
        // Only the type is needed: reading it alone spares copying the whole ColumnSpec (three strings).
        guard index >= 0, index < row.columns.count else { return (nil, try row.column(at: index).type) }  // throws
        let type = row.columns[index].type
        guard index < row.count else { return (try row.bytes(at: index), type) }
        if index < cursorIndex {
            cursorIndex = 0
            cursorOffset = row.range.lowerBound
        }
        let end = row.range.upperBound
        while cursorIndex < index {
            guard let cell = CellWalk.cell(row.buffer, at: cursorOffset, end: end) else {
                return (try RowView.cell(in: row.buffer, at: cursorOffset, end: end).content, type)  // throws
            }
            cursorOffset = cell.next
            cursorIndex += 1
        }
        guard let cell = CellWalk.cell(row.buffer, at: cursorOffset, end: end) else {
            return (try RowView.cell(in: row.buffer, at: cursorOffset, end: end).content, type)  // throws
        }
        return (cell.content, type)
    }

    func index(forKey key: String) -> Int? {
        let guess = nextKeyGuess
        let found = names.isExact(key, at: guess) ? guess : names.index(of: key)
        if let found { nextKeyGuess = found + 1 }
        return found
    }
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
