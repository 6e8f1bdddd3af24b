/// A `Decoder` over one row: structs by column name, unkeyed containers by column position,
/// and a single value for one-column rows.
///
/// A struct of one reference, so passing it as `any Decoder` stores it inline (no box).
struct RowDecoder: Decoder {
    let cells: RowCells
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(row: RowView, names: ColumnNameIndex) {
        cells = RowCells(row: row, names: names)
    }

    init(cells: RowCells) {
        self.cells = cells
    }

    func container<Key: CodingKey>(keyedBy _: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(CellKeyedContainer<Key, RowCells>(cells: cells, codingPath: []))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        CellUnkeyedContainer(cells: cells, codingPath: [])
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        guard cells.count == 1 else {
            throw WireError.invalidValue(what: "row", detail: "a single value needs exactly one column, the row has \(cells.count)")
        }
        let cell = try cells.cell(at: 0)
        return CellSingleValueContainer(buffer: cells.buffer, range: cell.range, type: cell.type, codingPath: [],
                                        context: cells.context(at: 0))
    }
}

extension RowView {
    /// Decodes the row as a `Decodable`: a struct by column name (a Swift `jobId` also finds
    /// `job_id`), an unkeyed type by column position, or, for a one-column row, the column itself.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try decode(type, names: ColumnNameIndex(columns), isNative: T.self is any CQLDecodable.Type)
    }

    /// `isNative`: whether `T` is ``CQLDecodable``, checked once per result rather than per row.
    func decode<T: Decodable>(_: T.Type, names: ColumnNameIndex, isNative: Bool) throws -> T {
        if count == 1, isNative, !columns.isEmpty {
            return try CellDecoding.decode(T.self, buffer: buffer, range: try bytes(at: 0), type: columns[0].type,
                                           codingPath: [], context: { "column \"\(columns[0].name)\"" })
        }
        return try T(from: RowDecoder(row: self, names: names))
    }

    /// As ``decode(_:names:isNative:)``, reading through `cells`, which already points at this row.
    func decode<T: Decodable>(_: T.Type, cells: RowCells, isNative: Bool) throws -> T {
        if count == 1, isNative, !columns.isEmpty {
            return try CellDecoding.decode(T.self, buffer: buffer, range: try bytes(at: 0), type: columns[0].type,
                                           codingPath: [], context: { "column \"\(columns[0].name)\"" })
        }
        return try T(from: RowDecoder(cells: cells))
    }
}

extension Rows {
    /// Decodes every row as a `Decodable` (see ``RowView/decode(_:)``); throws at a malformed row.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> [T] {
        let names = ColumnNameIndex(metadata.columns)
        var iterator = makeIterator()
        var values: [T] = []
        values.reserveCapacity(capacityHint)
        let isNative = T.self is any CQLDecodable.Type
        var cells: RowCells?
        while let row = try iterator.nextRow() {
            // Reuse the cursor unless a decoded value kept a reference to it (an escaped decoder
            // must keep seeing its own row).
            if var reusable = cells.take(), isKnownUniquelyReferenced(&reusable) {
                reusable.reset(to: row)
                cells = reusable
            } else {
                cells = RowCells(row: row, names: names)
            }
            guard let current = cells else { break }
            values.append(try row.decode(type, cells: current, isNative: isNative))
        }
        return values
    }
}
