import CQLCodec
import Foundation

/// CRC-32 (IEEE 802.3, reflected, as zlib computes it) over commit log records and snapshots.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        finish(update(start, bytes))
    }

    /// The running value before any byte, for a checksum computed piece by piece with ``update(_:_:)``.
    static let start: UInt32 = 0xFFFF_FFFF

    static func update<Bytes: Sequence>(_ running: UInt32, _ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc = running
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc
    }

    static func finish(_ running: UInt32) -> UInt32 { running ^ 0xFFFF_FFFF }
}

/// One commit log record: a schema change or an atomic batch of data mutations.
enum LogRecord: Sendable {
    case schema(SchemaMutation)
    case mutations([Mutation])
}

/// The binary encoding of log records and snapshots, on the protocol's primitives.
///
/// Every decode failure becomes ``StorageError/corrupt(_:)``: a record that passed its CRC but does not
/// decode means a bug or a foreign file, and replay must stop rather than guess.
enum StorageCodec {
    static let snapshotMagic: [UInt8] = Array("CQLNSNP1".utf8)
    static let logMagic: [UInt8] = Array("CQLNLOG1".utf8)

    // MARK: Primitives

    static func write(_ bytes: [UInt8], _ writer: inout ByteWriter) {
        writer.writeInt32(Int32(clamping: bytes.count))
        writer.writeRaw(bytes)
    }

    static func readBlob(_ reader: inout ByteReader) throws(WireError) -> [UInt8] {
        let length = try reader.readInt32("blob length")
        guard length >= 0 else { throw .invalidValue(what: "blob length", detail: "negative") }
        return try reader.readRaw(Int(length), "blob")
    }

    static func write(_ list: [[UInt8]], _ writer: inout ByteWriter) {
        writer.writeInt32(Int32(clamping: list.count))
        for item in list { write(item, &writer) }
    }

    static func readBlobList(_ reader: inout ByteReader) throws(WireError) -> [[UInt8]] {
        let count = try reader.readInt32("list count")
        guard count >= 0 else { throw .invalidValue(what: "list count", detail: "negative") }
        try reader.require(Int(count) * 4, "list items")
        var list: [[UInt8]] = []
        list.reserveCapacity(Int(count))
        for _ in 0..<count { list.append(try readBlob(&reader)) }
        return list
    }

    static func write(optional value: [UInt8]?, _ writer: inout ByteWriter) {
        writer.writeBytes(value)
    }

    static func writeTTL(_ ttl: Int32?, _ writer: inout ByteWriter) { writer.writeInt32(ttl ?? -1) }

    static func readTTL(_ reader: inout ByteReader) throws(WireError) -> Int32? {
        let value = try reader.readInt32("ttl")
        return value < 0 ? nil : value
    }

    static func readBool(_ reader: inout ByteReader) throws(WireError) -> Bool { try reader.readUInt8("bool") != 0 }

    static func readCount(_ reader: inout ByteReader, _ what: String) throws(WireError) -> Int {
        let count = try reader.readInt32(what)
        guard count >= 0, Int(count) <= reader.remaining else { throw .invalidValue(what: what, detail: "bad count \(count)") }
        return Int(count)
    }

    // MARK: Clustering

    static func write(_ bound: ClusteringBound?, _ writer: inout ByteWriter) {
        guard let bound else {
            writer.writeUInt8(0)
            return
        }
        writer.writeUInt8(bound.inclusive ? 2 : 1)
        write(bound.prefix, &writer)
    }

    static func readBound(_ reader: inout ByteReader) throws(WireError) -> ClusteringBound? {
        let tag = try reader.readUInt8("bound")
        guard tag != 0 else { return nil }
        return ClusteringBound(try readBlobList(&reader), inclusive: tag == 2)
    }

    static func write(_ slice: ClusteringSlice, _ writer: inout ByteWriter) {
        write(slice.start, &writer)
        write(slice.end, &writer)
    }

    static func readSlice(_ reader: inout ByteReader) throws(WireError) -> ClusteringSlice {
        let start = try readBound(&reader)
        return ClusteringSlice(start: start, end: try readBound(&reader))
    }

    // MARK: Mutations

    static func write(_ operation: CollectionOperation, _ writer: inout ByteWriter) {
        switch operation {
        case let .listAppend(values): writer.writeUInt8(0); write(values, &writer)
        case let .listPrepend(values): writer.writeUInt8(1); write(values, &writer)
        case let .listSetIndex(index, value):
            writer.writeUInt8(2); writer.writeInt64(Int64(index)); writer.writeBytes(value)
        case let .listRemoveValues(values): writer.writeUInt8(3); write(values, &writer)
        case let .setAdd(values): writer.writeUInt8(4); write(values, &writer)
        case let .setRemove(values): writer.writeUInt8(5); write(values, &writer)
        case let .mapPut(entries):
            writer.writeUInt8(6)
            writer.writeInt32(Int32(clamping: entries.count))
            for entry in entries { write(entry.key, &writer); write(entry.value, &writer) }
        case let .mapRemove(keys): writer.writeUInt8(7); write(keys, &writer)
        case let .setField(index, value):
            writer.writeUInt8(8); writer.writeInt64(Int64(index)); writer.writeBytes(value)
        case let .putCell(path, value):
            writer.writeUInt8(9); write(path, &writer); writer.writeBytes(value)
        }
    }

    static func readCollectionOperation(_ reader: inout ByteReader) throws(WireError) -> CollectionOperation {
        switch try reader.readUInt8("collection operation") {
        case 0: return .listAppend(try readBlobList(&reader))
        case 1: return .listPrepend(try readBlobList(&reader))
        case 2:
            let index = try reader.readInt64("index")
            return .listSetIndex(Int(truncatingIfNeeded: index), try reader.readBytes())
        case 3: return .listRemoveValues(try readBlobList(&reader))
        case 4: return .setAdd(try readBlobList(&reader))
        case 5: return .setRemove(try readBlobList(&reader))
        case 6:
            let count = try readCount(&reader, "map entries")
            var entries: [CollectionOperation.MapEntry] = []
            for _ in 0..<count {
                let key = try readBlob(&reader)
                entries.append(.init(key: key, value: try readBlob(&reader)))
            }
            return .mapPut(entries)
        case 7: return .mapRemove(try readBlobList(&reader))
        case 8:
            let index = try reader.readInt64("field")
            return .setField(index: Int(truncatingIfNeeded: index), value: try reader.readBytes())
        case 9:
            let path = try readBlob(&reader)
            return .putCell(path: path, value: try reader.readBytes())
        case let tag: throw .invalidValue(what: "collection operation", detail: "tag \(tag)")
        }
    }

    static func write(_ operation: MutationOperation, _ writer: inout ByteWriter) {
        switch operation {
        case let .deletePartition(timestamp):
            writer.writeUInt8(0); writer.writeInt64(timestamp)
        case let .deleteRow(clustering, timestamp):
            writer.writeUInt8(1); write(clustering, &writer); writer.writeInt64(timestamp)
        case let .deleteRange(slice, timestamp):
            writer.writeUInt8(2); write(slice, &writer); writer.writeInt64(timestamp)
        case let .insertRowMarker(clustering, timestamp, ttl):
            writer.writeUInt8(3); write(clustering, &writer); writer.writeInt64(timestamp); writeTTL(ttl, &writer)
        case let .setColumn(clustering, column, value, timestamp, ttl):
            writer.writeUInt8(4); write(clustering, &writer); writer.writeString(column); write(value, &writer)
            writer.writeInt64(timestamp); writeTTL(ttl, &writer)
        case let .deleteColumn(clustering, column, timestamp):
            writer.writeUInt8(5); write(clustering, &writer); writer.writeString(column); writer.writeInt64(timestamp)
        case let .counterAdd(clustering, column, delta, timestamp):
            writer.writeUInt8(6); write(clustering, &writer); writer.writeString(column); writer.writeInt64(delta)
            writer.writeInt64(timestamp)
        case let .collection(clustering, column, operation, timestamp, ttl):
            writer.writeUInt8(7); write(clustering, &writer); writer.writeString(column); write(operation, &writer)
            writer.writeInt64(timestamp); writeTTL(ttl, &writer)
        }
    }

    static func readOperation(_ reader: inout ByteReader) throws(WireError) -> MutationOperation {
        switch try reader.readUInt8("operation") {
        case 0:
            return .deletePartition(timestamp: try reader.readInt64())
        case 1:
            let clustering = try readBlobList(&reader)
            return .deleteRow(clustering: clustering, timestamp: try reader.readInt64())
        case 2:
            let slice = try readSlice(&reader)
            return .deleteRange(slice, timestamp: try reader.readInt64())
        case 3:
            let clustering = try readBlobList(&reader)
            let timestamp = try reader.readInt64()
            return .insertRowMarker(clustering: clustering, timestamp: timestamp, ttl: try readTTL(&reader))
        case 4:
            let clustering = try readBlobList(&reader)
            let column = try reader.readString()
            let value = try readBlob(&reader)
            let timestamp = try reader.readInt64()
            return .setColumn(clustering: clustering, column: column, value: value, timestamp: timestamp, ttl: try readTTL(&reader))
        case 5:
            let clustering = try readBlobList(&reader)
            let column = try reader.readString()
            return .deleteColumn(clustering: clustering, column: column, timestamp: try reader.readInt64())
        case 6:
            let clustering = try readBlobList(&reader)
            let column = try reader.readString()
            let delta = try reader.readInt64()
            return .counterAdd(clustering: clustering, column: column, delta: delta, timestamp: try reader.readInt64())
        case 7:
            let clustering = try readBlobList(&reader)
            let column = try reader.readString()
            let operation = try readCollectionOperation(&reader)
            let timestamp = try reader.readInt64()
            return .collection(clustering: clustering, column: column, operation, timestamp: timestamp, ttl: try readTTL(&reader))
        case let tag:
            throw .invalidValue(what: "operation", detail: "tag \(tag)")
        }
    }

    static func write(_ mutation: Mutation, _ writer: inout ByteWriter) {
        writer.writeUUID(mutation.tableID)
        write(mutation.partitionKey, &writer)
        writer.writeInt32(mutation.nowInSeconds)
        writer.writeInt32(Int32(clamping: mutation.operations.count))
        for operation in mutation.operations { write(operation, &writer) }
    }

    static func readMutation(_ reader: inout ByteReader) throws(WireError) -> Mutation {
        let id = try reader.readUUID()
        let key = try readBlob(&reader)
        let now = try reader.readInt32()
        let count = try readCount(&reader, "operations")
        var operations: [MutationOperation] = []
        operations.reserveCapacity(count)
        for _ in 0..<count { operations.append(try readOperation(&reader)) }
        return Mutation(tableID: id, partitionKey: key, operations: operations, nowInSeconds: now)
    }

    // MARK: Schema

    static func write(_ pairs: [(String, String)], _ writer: inout ByteWriter) { writer.writeStringMap(pairs) }

    static func write(_ column: ColumnSchema, _ writer: inout ByteWriter) {
        writer.writeString(column.name)
        writer.writeDataType(column.type)
        switch column.kind {
        case let .partitionKey(position): writer.writeUInt8(0); writer.writeInt32(Int32(clamping: position))
        case let .clustering(position, order):
            writer.writeUInt8(order == .ascending ? 1 : 2); writer.writeInt32(Int32(clamping: position))
        case .regular: writer.writeUInt8(3)
        case .static: writer.writeUInt8(4)
        }
        writer.writeUInt8(column.isFrozen ? 1 : 0)
    }

    static func readColumn(_ reader: inout ByteReader) throws(WireError) -> ColumnSchema {
        let name = try reader.readString()
        let type = try reader.readDataType()
        let kind: ColumnKind
        switch try reader.readUInt8("column kind") {
        case 0: kind = .partitionKey(position: Int(try reader.readInt32()))
        case 1: kind = .clustering(position: Int(try reader.readInt32()), order: .ascending)
        case 2: kind = .clustering(position: Int(try reader.readInt32()), order: .descending)
        case 3: kind = .regular
        case 4: kind = .static
        case let tag: throw .invalidValue(what: "column kind", detail: "tag \(tag)")
        }
        return ColumnSchema(name: name, type: type, kind: kind, isFrozen: try readBool(&reader))
    }

    static func write(_ table: TableSchema, _ writer: inout ByteWriter) {
        writer.writeString(table.keyspace)
        writer.writeString(table.name)
        writer.writeUUID(table.id)
        writer.writeInt32(Int32(clamping: table.columns.count))
        for column in table.columns { write(column, &writer) }
        write(table.options, &writer)
    }

    static func readTable(_ reader: inout ByteReader) throws(WireError) -> TableSchema {
        let keyspace = try reader.readString()
        let name = try reader.readString()
        let id = try reader.readUUID()
        let count = try readCount(&reader, "columns")
        var columns: [ColumnSchema] = []
        for _ in 0..<count { columns.append(try readColumn(&reader)) }
        return TableSchema(keyspace: keyspace, name: name, id: id, columns: columns, options: try reader.readStringMap())
    }

    static func write(_ type: UserTypeSchema, _ writer: inout ByteWriter) {
        writer.writeString(type.keyspace)
        writer.writeString(type.name)
        writer.writeInt32(Int32(clamping: type.fields.count))
        for field in type.fields {
            writer.writeString(field.name)
            writer.writeDataType(field.type)
        }
    }

    static func readUserType(_ reader: inout ByteReader) throws(WireError) -> UserTypeSchema {
        let keyspace = try reader.readString()
        let name = try reader.readString()
        let count = try readCount(&reader, "fields")
        var fields: [UserType.Field] = []
        for _ in 0..<count {
            let fieldName = try reader.readString()
            fields.append(.init(name: fieldName, type: try reader.readDataType()))
        }
        return UserTypeSchema(keyspace: keyspace, name: name, fields: fields)
    }

    static func write(_ keyspace: KeyspaceSchema, _ writer: inout ByteWriter) {
        writer.writeString(keyspace.name)
        write(keyspace.replication, &writer)
        writer.writeUInt8(keyspace.durableWrites ? 1 : 0)
        let tables = keyspace.tables.values.sorted { $0.name < $1.name }
        writer.writeInt32(Int32(clamping: tables.count))
        for table in tables { write(table, &writer) }
        writer.writeInt32(Int32(clamping: keyspace.userTypes.count))
        for type in keyspace.userTypes { write(type, &writer) }
    }

    static func readKeyspace(_ reader: inout ByteReader) throws(WireError) -> KeyspaceSchema {
        let name = try reader.readString()
        let replication = try reader.readStringMap()
        let durable = try readBool(&reader)
        var tables: [String: TableSchema] = [:]
        for _ in 0..<(try readCount(&reader, "tables")) {
            let table = try readTable(&reader)
            tables[table.name] = table
        }
        var types: [UserTypeSchema] = []
        for _ in 0..<(try readCount(&reader, "types")) { types.append(try readUserType(&reader)) }
        return KeyspaceSchema(name: name, replication: replication, durableWrites: durable, tables: tables, userTypes: types)
    }

    static func write(_ change: SchemaMutation, _ writer: inout ByteWriter) {
        switch change {
        case let .createKeyspace(keyspace, ifNotExists):
            writer.writeUInt8(0); write(keyspace, &writer); writer.writeUInt8(ifNotExists ? 1 : 0)
        case let .alterKeyspace(name, replication, durableWrites):
            writer.writeUInt8(1); writer.writeString(name)
            writer.writeUInt8(replication == nil ? 0 : 1)
            if let replication { write(replication, &writer) }
            writer.writeUInt8(durableWrites.map { $0 ? 2 : 1 } ?? 0)
        case let .dropKeyspace(name, ifExists):
            writer.writeUInt8(2); writer.writeString(name); writer.writeUInt8(ifExists ? 1 : 0)
        case let .createTable(table, ifNotExists):
            writer.writeUInt8(3); write(table, &writer); writer.writeUInt8(ifNotExists ? 1 : 0)
        case let .alterTable(keyspace, table, alteration, ifExists):
            writer.writeUInt8(4); writer.writeString(keyspace); writer.writeString(table)
            switch alteration {
            case let .addColumns(columns):
                writer.writeUInt8(0); writer.writeInt32(Int32(clamping: columns.count))
                for column in columns { write(column, &writer) }
            case let .dropColumns(names):
                writer.writeUInt8(1); writer.writeStringList(names)
            case let .setOptions(options):
                writer.writeUInt8(2); write(options, &writer)
            }
            writer.writeUInt8(ifExists ? 1 : 0)
        case let .dropTable(keyspace, table, ifExists):
            writer.writeUInt8(5); writer.writeString(keyspace); writer.writeString(table); writer.writeUInt8(ifExists ? 1 : 0)
        case let .truncateTable(keyspace, table):
            writer.writeUInt8(6); writer.writeString(keyspace); writer.writeString(table)
        case let .createType(type, ifNotExists):
            writer.writeUInt8(7); write(type, &writer); writer.writeUInt8(ifNotExists ? 1 : 0)
        case let .dropType(keyspace, name, ifExists):
            writer.writeUInt8(8); writer.writeString(keyspace); writer.writeString(name); writer.writeUInt8(ifExists ? 1 : 0)
        }
    }

    static func readSchemaChange(_ reader: inout ByteReader) throws(WireError) -> SchemaMutation {
        switch try reader.readUInt8("schema change") {
        case 0:
            let keyspace = try readKeyspace(&reader)
            return .createKeyspace(keyspace, ifNotExists: try readBool(&reader))
        case 1:
            let name = try reader.readString()
            let replication = try readBool(&reader) ? try reader.readStringMap() : nil
            let durable = try reader.readUInt8("durable writes")
            return .alterKeyspace(name: name, replication: replication, durableWrites: durable == 0 ? nil : durable == 2)
        case 2:
            let name = try reader.readString()
            return .dropKeyspace(name, ifExists: try readBool(&reader))
        case 3:
            let table = try readTable(&reader)
            return .createTable(table, ifNotExists: try readBool(&reader))
        case 4:
            let keyspace = try reader.readString()
            let table = try reader.readString()
            let alteration: TableAlteration
            switch try reader.readUInt8("alteration") {
            case 0:
                var columns: [ColumnSchema] = []
                for _ in 0..<(try readCount(&reader, "columns")) { columns.append(try readColumn(&reader)) }
                alteration = .addColumns(columns)
            case 1: alteration = .dropColumns(try reader.readStringList())
            case 2: alteration = .setOptions(try reader.readStringMap())
            case let tag: throw .invalidValue(what: "alteration", detail: "tag \(tag)")
            }
            return .alterTable(keyspace: keyspace, table: table, alteration, ifExists: try readBool(&reader))
        case 5:
            let keyspace = try reader.readString()
            let table = try reader.readString()
            return .dropTable(keyspace: keyspace, table: table, ifExists: try readBool(&reader))
        case 6:
            let keyspace = try reader.readString()
            return .truncateTable(keyspace: keyspace, table: try reader.readString())
        case 7:
            let type = try readUserType(&reader)
            return .createType(type, ifNotExists: try readBool(&reader))
        case 8:
            let keyspace = try reader.readString()
            let name = try reader.readString()
            return .dropType(keyspace: keyspace, name: name, ifExists: try readBool(&reader))
        case let tag:
            throw .invalidValue(what: "schema change", detail: "tag \(tag)")
        }
    }

    static func encode(_ record: LogRecord) -> [UInt8] {
        var writer = ByteWriter(capacity: 128)
        switch record {
        case let .schema(change):
            writer.writeUInt8(0)
            write(change, &writer)
        case let .mutations(mutations):
            writer.writeUInt8(1)
            writer.writeInt32(Int32(clamping: mutations.count))
            for mutation in mutations { write(mutation, &writer) }
        }
        return writer.bytes
    }

    static func decodeRecord(_ bytes: [UInt8]) throws(StorageError) -> LogRecord {
        var reader = ByteReader(bytes)
        do {
            let record: LogRecord
            switch try reader.readUInt8("record kind") {
            case 0:
                record = .schema(try readSchemaChange(&reader))
            case 1:
                let count = try readCount(&reader, "mutations")
                var mutations: [Mutation] = []
                for _ in 0..<count { mutations.append(try readMutation(&reader)) }
                record = .mutations(mutations)
            case let tag:
                throw WireError.invalidValue(what: "record kind", detail: "tag \(tag)")
            }
            try reader.expectEnd("record")
            return record
        } catch {
            throw .corrupt("log record: \(error)")
        }
    }

    // MARK: Data (snapshots)

    static func write(_ cell: CellData, _ writer: inout ByteWriter) {
        writer.writeBytes(cell.value)
        writer.writeInt64(cell.timestamp)
        writeTTL(cell.ttl, &writer)
        writer.writeInt32(cell.localDeletionTime)
    }

    static func readCell(_ reader: inout ByteReader) throws(WireError) -> CellData {
        let value = try reader.readBytes()
        let timestamp = try reader.readInt64()
        let ttl = try readTTL(&reader)
        return CellData(value: value, timestamp: timestamp, ttl: ttl, localDeletionTime: try reader.readInt32())
    }

    static func write(_ deletion: DeletionTime?, _ writer: inout ByteWriter) {
        guard let deletion else {
            writer.writeUInt8(0)
            return
        }
        writer.writeUInt8(1)
        writer.writeInt64(deletion.timestamp)
        writer.writeInt32(deletion.localDeletionTime)
    }

    static func readDeletion(_ reader: inout ByteReader) throws(WireError) -> DeletionTime? {
        guard try readBool(&reader) else { return nil }
        let timestamp = try reader.readInt64()
        return DeletionTime(timestamp: timestamp, localDeletionTime: try reader.readInt32())
    }

    /// Writes a row in the snapshot format: columns by name, in name order (as before rows were packed).
    static func write(_ row: RowData, columns: ColumnIDs, _ writer: inout ByteWriter) {
        var reader = row.reader
        writer.writeUInt8(reader.marker == nil ? 0 : 1)
        if let marker = reader.marker { write(marker.cellData(in: row.packed), &writer) }
        write(reader.deletion, &writer)
        var simple: [(name: String, cell: CellData)] = []
        while let (id, cell) = reader.next() {
            if let name = columns.name(id) { simple.append((name, cell.cellData(in: row.packed))) }
        }
        var complex: [(name: String, column: ComplexColumn)] = []
        for (id, column) in row.complex {
            if let name = columns.name(id) { complex.append((name, column)) }
        }
        writer.writeInt32(Int32(clamping: simple.count + complex.count))
        var entries: [(name: String, simple: CellData?, complex: ComplexColumn?)] =
            simple.map { ($0.name, $0.cell, nil) } + complex.map { ($0.name, nil, $0.column) }
        entries.sort { $0.name < $1.name }
        for entry in entries {
            writer.writeString(entry.name)
            if let cell = entry.simple {
                writer.writeUInt8(0)
                write(cell, &writer)
            } else if let column = entry.complex {
                writer.writeUInt8(1)
                write(column.deletion, &writer)
                writer.writeInt32(Int32(clamping: column.cells.count))
                for item in column.cells {
                    write(item.path, &writer)
                    write(item.cell, &writer)
                }
            }
        }
    }

    /// Reads a row of the snapshot format, giving its columns ids in `columns`.
    static func readRow(_ reader: inout ByteReader, columns: inout ColumnIDs) throws(WireError) -> RowData {
        var row = RowEdit()
        if try readBool(&reader) { row.marker = try readCell(&reader) }
        row.deletion = try readDeletion(&reader)
        for _ in 0..<(try readCount(&reader, "columns")) {
            let id = columns.intern(try reader.readString())
            if try readBool(&reader) {
                var complex = ComplexColumn(deletion: try readDeletion(&reader), cells: [])
                for _ in 0..<(try readCount(&reader, "cells")) {
                    let path = try readBlob(&reader)
                    complex.cells.append((path, try readCell(&reader)))
                }
                row[simple: id] = nil
                row.setComplex(id, complex)
            } else {
                row[simple: id] = try readCell(&reader)
            }
        }
        return RowData(row)
    }

    static func write(_ partition: PartitionData, columns: ColumnIDs, _ writer: inout ByteWriter) {
        write(partition.deletion, &writer)
        write(partition.staticRow, columns: columns, &writer)
        writer.writeInt32(Int32(clamping: partition.rangeTombstones.count))
        for tombstone in partition.rangeTombstones {
            write(tombstone.slice, &writer)
            write(tombstone.deletion, &writer)
        }
        writer.writeInt32(Int32(clamping: partition.rows.count))
        for row in partition.rows {
            write(row.clustering.values, &writer)
            write(row.row, columns: columns, &writer)
        }
    }

    static func readPartition(_ reader: inout ByteReader, columns: inout ColumnIDs) throws(WireError) -> PartitionData {
        var partition = PartitionData()
        partition.deletion = try readDeletion(&reader)
        partition.staticRow = try readRow(&reader, columns: &columns)
        var tombstones: [RangeTombstone] = []
        for _ in 0..<(try readCount(&reader, "range tombstones")) {
            let slice = try readSlice(&reader)
            guard let deletion = try readDeletion(&reader) else { throw .invalidValue(what: "range tombstone", detail: "no deletion") }
            tombstones.append(RangeTombstone(slice: slice, deletion: deletion))
        }
        partition.rangeTombstones = tombstones
        let count = try readCount(&reader, "rows")
        partition.rows.reserveCapacity(count)
        for _ in 0..<count {
            let clustering = ClusteringKey(try readBlobList(&reader))
            partition.rows.append(ClusteredRow(clustering: clustering, row: try readRow(&reader, columns: &columns)))
        }
        return partition
    }
}
