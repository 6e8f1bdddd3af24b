import CQLCodec
import Foundation
import Synchronization

/// How a ``Storage`` keeps its data.
struct StorageOptions: Sendable {
    /// Where the commit log and snapshots live, or `nil` to keep everything in memory only (tests, `--in-memory`).
    var dataDirectory: String?
    /// The commit log size after which the state is written to a snapshot and a fresh log begins.
    var snapshotThreshold: Int
    /// The clock (seconds) a snapshot uses to drop expired cells and tombstones past `gc_grace_seconds`.
    var clock: @Sendable () -> Int32

    /// Options; 64 MiB of log between snapshots by default.
    init(dataDirectory: String? = nil, snapshotThreshold: Int = 64 << 20,
                clock: @escaping @Sendable () -> Int32 = { Int32(clamping: Int(Date().timeIntervalSince1970)) }) {
        self.dataDirectory = dataDirectory
        self.snapshotThreshold = snapshotThreshold
        self.clock = clock
    }
}

/// What a schema change did.
enum SchemaMutationOutcome: Hashable, Sendable {
    /// The schema changed; the change is durable once ``Storage/awaitDurable(_:)`` returns for this number.
    case applied(LogSequenceNumber)
    /// Nothing changed (`IF NOT EXISTS` on an existing object, `IF EXISTS` on a missing one).
    case unchanged
}

/// The catalog and all table data, as seen inside ``Storage/withTransaction(_:)``.
///
/// Every change made through it is appended to the commit log before the call returns, in the order the
/// changes were applied, so replay rebuilds exactly this state.
struct StorageState: Sendable {
    /// The schema catalog.
    var catalog = Catalog()
    var tables: [UUID: TableData] = [:]
    let log: CommitLog?
    let clock: @Sendable () -> Int32
    /// Mutations since the last compaction; without a log (no snapshots) this paces in-memory compaction.
    var mutationsSinceCompaction = 0

    init(log: CommitLog?, clock: @escaping @Sendable () -> Int32) {
        self.log = log
        self.clock = clock
    }

    private func table(_ id: UUID) throws(StorageError) -> TableSchema {
        guard let table = catalog.table(id: id) else { throw .unknownTableID(id.uuidString) }
        return table
    }

    // MARK: Writes

    /// Applies mutations atomically (all or none are applied) and logs them; returns their log position.
    @discardableResult
    mutating func apply(_ mutations: [Mutation]) throws(StorageError) -> LogSequenceNumber {
        for mutation in mutations {
            let schema = try table(mutation.tableID)
            let data = tables[mutation.tableID]
            let existing = data?.partitions[PartitionPosition(key: mutation.partitionKey)]
            try MutationApplier(table: schema, columns: data?.columns ?? ColumnIDs()).validate(mutation, existing: existing)
        }
        let resolved = applyValidated(mutations)
        guard let log else {
            mutationsSinceCompaction += mutations.count
            if mutationsSinceCompaction >= Self.inMemoryCompactionInterval {
                mutationsSinceCompaction = 0
                compact(now: clock())
            }
            return 0
        }
        let lsn = log.append(StorageCodec.encode(.mutations(resolved)))
        snapshotIfNeeded()
        return lsn
    }

    /// Applies one mutation; see ``apply(_:)-([Mutation])``.
    @discardableResult
    mutating func apply(_ mutation: Mutation) throws(StorageError) -> LogSequenceNumber {
        try apply([mutation])
    }

    private mutating func applyValidated(_ mutations: [Mutation]) -> [Mutation] {
        var resolved: [Mutation] = []
        resolved.reserveCapacity(mutations.count)
        for mutation in mutations {
            guard let schema = catalog.table(id: mutation.tableID) else { continue }
            let position = PartitionPosition(key: mutation.partitionKey)
            tables[mutation.tableID, default: TableData()].insertPositionIfNeeded(position)
            let applier = MutationApplier(table: schema, columns: internColumns(of: mutation, schema: schema))
            var result = mutation
            // Applied in place through the dictionary's modify accessor: no copy of the partition.
            modifyPartition(table: mutation.tableID, position) { partition in
                result = applier.apply(mutation, to: &partition)
            }
            tables[mutation.tableID]?.removeIfEmpty(position)
            resolved.append(result)
        }
        return resolved
    }

    /// Gives every column the mutation names an id in its table, so applying it needs no lookup that can fail.
    private mutating func internColumns(of mutation: Mutation, schema: TableSchema) -> ColumnIDs {
        guard var data = tables[mutation.tableID] else { return ColumnIDs() }
        var added = false
        for operation in mutation.operations {
            let name: String
            switch operation {
            case .deletePartition, .deleteRow, .deleteRange, .insertRowMarker: continue
            case let .setColumn(_, column, _, _, _), let .deleteColumn(_, column, _), let .counterAdd(_, column, _, _),
                 let .collection(_, column, _, _, _):
                name = column
            }
            guard data.columns.id(name) == nil, schema.column(named: name) != nil else { continue }
            if !added {
                // Taken out so that interning does not copy the table's partitions.
                tables[mutation.tableID] = nil
                added = true
            }
            data.columns.intern(name)
        }
        if added { tables[mutation.tableID] = data }
        return data.columns
    }

    private mutating func modifyPartition(table: UUID, _ position: PartitionPosition, _ body: (inout PartitionData) -> Void) {
        guard tables[table] != nil else { return }
        body(&tables[table, default: TableData()].partitions[position, default: PartitionData()])
    }

    /// Applies a schema change and logs it, or throws Cassandra's error for it.
    mutating func apply(_ change: SchemaMutation) throws(StorageError) -> SchemaMutationOutcome {
        guard try applySchema(change) else { return .unchanged }
        guard let log else { return .applied(0) }
        let lsn = log.append(StorageCodec.encode(.schema(change)))
        snapshotIfNeeded()
        return .applied(lsn)
    }

    /// Validates and applies a schema change; false when `IF [NOT] EXISTS` made it a no-op.
    mutating func applySchema(_ change: SchemaMutation) throws(StorageError) -> Bool {
        var catalog = self.catalog
        switch change {
        case let .createKeyspace(keyspace, ifNotExists):
            if catalog.keyspaces[keyspace.name] != nil {
                if ifNotExists { return false }
                throw .keyspaceAlreadyExists(keyspace.name)
            }
            guard keyspace.replication.contains(where: { $0.0 == "class" }) else {
                throw .configuration("Missing mandatory replication strategy class")
            }
            var fresh = keyspace
            fresh.tables = [:]
            catalog.keyspaces[keyspace.name] = fresh
        case let .alterKeyspace(name, replication, durableWrites):
            guard var keyspace = catalog.keyspaces[name] else { throw .keyspaceDoesNotExist(name) }
            if let replication { keyspace.replication = replication }
            if let durableWrites { keyspace.durableWrites = durableWrites }
            catalog.keyspaces[name] = keyspace
        case let .dropKeyspace(name, ifExists):
            guard let keyspace = catalog.keyspaces[name] else {
                if ifExists { return false }
                throw .keyspaceDoesNotExist(name)
            }
            for table in keyspace.tables.values { tables[table.id] = nil }
            catalog.keyspaces[name] = nil
        case let .createTable(table, ifNotExists):
            guard var keyspace = catalog.keyspaces[table.keyspace] else { throw .keyspaceDoesNotExist(table.keyspace) }
            if keyspace.tables[table.name] != nil {
                if ifNotExists { return false }
                throw .tableAlreadyExists(keyspace: table.keyspace, table: table.name)
            }
            try Self.validate(table)
            keyspace.tables[table.name] = table
            catalog.keyspaces[table.keyspace] = keyspace
            tables[table.id] = TableData()
        case let .alterTable(keyspaceName, tableName, alteration, ifExists):
            guard var keyspace = catalog.keyspaces[keyspaceName], var table = keyspace.tables[tableName] else {
                if ifExists { return false }
                throw .tableDoesNotExist(keyspace: keyspaceName, table: tableName)
            }
            switch alteration {
            case let .addColumns(columns):
                for column in columns {
                    if table.column(named: column.name) != nil { throw .columnAlreadyExists(column.name) }
                    if column.kind == .static, table.clusteringColumns.isEmpty {
                        throw .invalidRequest("Static columns are only useful (and thus allowed) if the table has at least one clustering column")
                    }
                    guard column.kind == .static || column.kind == .regular else {
                        throw .invalidRequest("Cannot add PRIMARY KEY column \(column.name)")
                    }
                    table.columns.append(column)
                }
            case let .dropColumns(names):
                for name in names {
                    guard let column = table.column(named: name) else {
                        throw .columnNotFound(column: name, table: "\(keyspaceName).\(tableName)")
                    }
                    if column.kind.isPrimaryKey { throw .cannotDropPrimaryKeyColumn(name) }
                    table.columns.removeAll { $0.name == name }
                }
                dropColumnData(Set(names), table: table.id)
            case let .setOptions(options):
                for (name, value) in options {
                    if name == "default_time_to_live", table.isCounterTable, (Int(value) ?? 0) > 0 {
                        throw .invalidRequest("Cannot set default_time_to_live on a table with counters")
                    }
                    if let index = table.options.firstIndex(where: { $0.0 == name }) {
                        table.options[index].1 = value
                    } else {
                        table.options.append((name, value))
                    }
                }
            }
            keyspace.tables[tableName] = table
            catalog.keyspaces[keyspaceName] = keyspace
        case let .dropTable(keyspaceName, tableName, ifExists):
            guard var keyspace = catalog.keyspaces[keyspaceName], let table = keyspace.tables[tableName] else {
                if ifExists { return false }
                throw .tableDoesNotExist(keyspace: keyspaceName, table: tableName)
            }
            keyspace.tables[tableName] = nil
            catalog.keyspaces[keyspaceName] = keyspace
            tables[table.id] = nil
        case let .truncateTable(keyspaceName, tableName):
            let table = try catalog.table(keyspace: keyspaceName, name: tableName)
            tables[table.id] = TableData()
        case let .createType(type, ifNotExists):
            guard var keyspace = catalog.keyspaces[type.keyspace] else { throw .keyspaceDoesNotExist(type.keyspace) }
            if keyspace.userType(named: type.name) != nil {
                if ifNotExists { return false }
                throw .typeAlreadyExists(keyspace: type.keyspace, type: type.name)
            }
            keyspace.userTypes.append(type)
            catalog.keyspaces[type.keyspace] = keyspace
        case let .dropType(keyspaceName, name, ifExists):
            guard var keyspace = catalog.keyspaces[keyspaceName], keyspace.userType(named: name) != nil else {
                if ifExists { return false }
                guard catalog.keyspaces[keyspaceName] != nil else { throw .keyspaceDoesNotExist(keyspaceName) }
                throw .typeDoesNotExist(keyspace: keyspaceName, type: name)
            }
            for table in keyspace.tables.values.sorted(by: { $0.name < $1.name })
            where table.columns.contains(where: { Self.uses($0.type, type: name, keyspace: keyspaceName) }) {
                throw .typeInUse(keyspace: keyspaceName, type: name, usedBy: "\(keyspaceName).\(table.name)")
            }
            for other in keyspace.userTypes where other.name != name
            && other.fields.contains(where: { Self.uses($0.type, type: name, keyspace: keyspaceName) }) {
                throw .typeInUse(keyspace: keyspaceName, type: name, usedBy: "\(keyspaceName).\(other.name)")
            }
            keyspace.userTypes.removeAll { $0.name == name }
            catalog.keyspaces[keyspaceName] = keyspace
        }
        self.catalog = catalog
        return true
    }

    private static func uses(_ type: DataType, type name: String, keyspace: String) -> Bool {
        switch type {
        case let .udt(userType):
            return (userType.name == name && userType.keyspace == keyspace)
                || userType.fields.contains { uses($0.type, type: name, keyspace: keyspace) }
        case let .list(element), let .set(element): return uses(element, type: name, keyspace: keyspace)
        case let .map(key, value): return uses(key, type: name, keyspace: keyspace) || uses(value, type: name, keyspace: keyspace)
        case let .tuple(elements): return elements.contains { uses($0, type: name, keyspace: keyspace) }
        default: return false
        }
    }

    private static func validate(_ table: TableSchema) throws(StorageError) {
        var seen = Set<String>()
        for column in table.columns where !seen.insert(column.name).inserted {
            throw .invalidRequest("Multiple definition of identifier \(column.name)")
        }
        if table.partitionKeyColumns.isEmpty { throw .invalidRequest("No PRIMARY KEY specifed for table '\(table.name)' (exactly one required)") }
        if table.clusteringColumns.isEmpty, !table.staticColumns.isEmpty {
            throw .invalidRequest("Static columns are only useful (and thus allowed) if the table has at least one clustering column")
        }
        let nonKey = table.columns.filter { !$0.kind.isPrimaryKey }
        let counters = nonKey.filter { $0.type == .counter }.count
        if counters > 0, counters < nonKey.count { throw .invalidRequest("Cannot mix counter and non counter columns in the same table") }
        if let key = table.columns.first(where: { $0.kind.isPrimaryKey && $0.type == .counter }) {
            throw .invalidRequest("counter type is not supported for PRIMARY KEY column '\(key.name)'")
        }
        if counters > 0, table.defaultTimeToLive > 0 {
            throw .invalidRequest("Cannot set default_time_to_live on a table with counters")
        }
    }

    private mutating func dropColumnData(_ names: Set<String>, table id: UUID) {
        guard var data = tables[id] else { return }
        let ids = Set(names.compactMap { data.columns.id($0) })
        guard !ids.isEmpty else { return }
        tables[id] = nil
        func drop(_ row: RowData) -> RowData {
            guard row.contains(anyOf: ids) else { return row }
            var edit = row.edit()
            edit.cells.removeAll { ids.contains($0.id) }
            for id in ids { edit.complex[id] = nil }
            return RowData(edit)
        }
        for position in data.order {
            guard var partition = data.partitions.removeValue(forKey: position) else { continue }
            partition.staticRow = drop(partition.staticRow)
            for index in partition.rows.indices { partition.rows[index].row = drop(partition.rows[index].row) }
            partition.rows.removeAll { $0.row.isEmpty }
            data.partitions[position] = partition
        }
        data.order.removeAll { data.partitions[$0]?.isEmpty ?? true }
        data.partitions = data.partitions.filter { !$0.value.isEmpty }
        tables[id] = data
    }

    // MARK: Reads

    /// Reads one partition's rows.
    func read(table id: UUID, partitionKey: [UInt8], query: ReadQuery) throws(StorageError) -> ReadResult {
        let schema = try table(id)
        guard let data = tables[id] else { return ReadResult(rows: [], resume: nil) }
        return TableReader(table: schema, columns: data.columns, query: query).read(data, partitionKey: partitionKey)
    }

    /// Reads rows across partitions in token order (`token()` ranges, `ALLOW FILTERING`, full scans, paging).
    func scan(table id: UUID, tokens: TokenRange = .all, query: ReadQuery) throws(StorageError) -> ReadResult {
        let schema = try table(id)
        guard let data = tables[id] else { return ReadResult(rows: [], resume: nil) }
        return TableReader(table: schema, columns: data.columns, query: query).scan(data, range: tokens)
    }

    /// Lists the partitions that have live data, in token order, with their static columns (`SELECT DISTINCT`).
    func distinctPartitions(table id: UUID, tokens: TokenRange = .all, query: ReadQuery) throws(StorageError) -> ReadResult {
        let schema = try table(id)
        guard let data = tables[id] else { return ReadResult(rows: [], resume: nil) }
        return TableReader(table: schema, columns: data.columns, query: query).distinct(data, range: tokens)
    }

    /// Counts the rows a query returns, in one partition or (without a key) across the token range (`count(*)`).
    func count(table id: UUID, partitionKey: [UInt8]? = nil, tokens: TokenRange = .all, query: ReadQuery) throws(StorageError) -> Int {
        var unlimited = query
        unlimited.limit = nil
        unlimited.resume = nil
        if let partitionKey { return try read(table: id, partitionKey: partitionKey, query: unlimited).rows.count }
        return try scan(table: id, tokens: tokens, query: unlimited).rows.count
    }

    // MARK: Snapshots

    /// In memory mode, how many mutations pass between compactions (which drop expired data and old tombstones).
    static let inMemoryCompactionInterval = 100_000

    private mutating func snapshotIfNeeded() {
        guard let log, log.needsSnapshot else { return }
        compact(now: clock())
        // A copy-on-write image: encoding it on the flusher thread keeps the lock free meanwhile.
        let image = self
        log.rotate { emit in image.encodeSnapshot(emit) }
    }

    /// Turns expired cells into tombstones and drops tombstones older than the table's `gc_grace_seconds`.
    mutating func compact(now: Int32) {
        for id in Array(tables.keys) {
            guard let schema = catalog.table(id: id), var data = tables.removeValue(forKey: id) else { continue }
            let horizon = now &- schema.gcGraceSeconds
            var emptied = false
            for position in data.order {
                // Most partitions hold nothing to compact: look before taking them out of the dictionary.
                guard let partition = data.partitions[position], Self.needsCompaction(partition, now: now, horizon: horizon),
                      var taken = data.partitions.removeValue(forKey: position) else { continue }
                Self.compact(&taken, now: now, horizon: horizon)
                if taken.isEmpty { emptied = true } else { data.partitions[position] = taken }
            }
            if emptied { data.order.removeAll { data.partitions[$0] == nil } }
            tables[id] = data
        }
    }

    private static func compact(_ cell: CellData, now: Int32, horizon: Int32) -> CellData? {
        var cell = cell
        if cell.value != nil, cell.ttl != nil, cell.localDeletionTime <= now {
            cell = CellData(value: nil, timestamp: cell.timestamp, ttl: nil, localDeletionTime: cell.localDeletionTime)
        }
        if cell.value == nil, cell.localDeletionTime < horizon { return nil }
        return cell
    }

    private static func needsCompaction(_ cell: PackedCell, now: Int32, horizon: Int32) -> Bool {
        (!cell.isTombstone && cell.ttl != nil && cell.localDeletionTime <= now) || (cell.isTombstone && cell.localDeletionTime < horizon)
    }

    /// Whether compacting the row would change it (decoding every row at each snapshot would be slow).
    private static func needsCompaction(_ row: RowData, now: Int32, horizon: Int32) -> Bool {
        if !row.complex.isEmpty { return true }
        var reader = row.reader
        if let marker = reader.marker, !marker.isLive(at: now) { return true }
        if let deletion = reader.deletion, deletion.localDeletionTime < horizon { return true }
        while let (_, cell) = reader.next() {
            if needsCompaction(cell, now: now, horizon: horizon) { return true }
        }
        return false
    }

    private static func needsCompaction(_ partition: PartitionData, now: Int32, horizon: Int32) -> Bool {
        if partition.deletion != nil || !partition.rangeTombstones.isEmpty { return true }
        if needsCompaction(partition.staticRow, now: now, horizon: horizon) { return true }
        return partition.rows.contains { needsCompaction($0.row, now: now, horizon: horizon) }
    }

    private static func compact(_ row: inout RowData, now: Int32, horizon: Int32) {
        guard needsCompaction(row, now: now, horizon: horizon) else { return }
        var edit = row.edit()
        if let marker = edit.marker {
            // An expired marker only mattered for liveness; its timestamp is shadowed by nothing else.
            edit.marker = marker.isLive(at: now) ? marker : nil
        }
        if let deletion = edit.deletion, deletion.localDeletionTime < horizon { edit.deletion = nil }
        edit.cells = edit.cells.compactMap { item in compact(item.cell, now: now, horizon: horizon).map { (item.id, $0) } }
        for (id, var complex) in edit.complex {
            complex.cells = complex.cells.compactMap { item in
                compact(item.cell, now: now, horizon: horizon).map { (item.path, $0) }
            }
            if let deletion = complex.deletion, deletion.localDeletionTime < horizon { complex.deletion = nil }
            edit.complex[id] = complex.cells.isEmpty && complex.deletion == nil ? nil : complex
        }
        row = RowData(edit)
    }

    private static func compact(_ partition: inout PartitionData, now: Int32, horizon: Int32) {
        if let deletion = partition.deletion, deletion.localDeletionTime < horizon { partition.deletion = nil }
        if !partition.rangeTombstones.isEmpty {
            partition.rangeTombstones.removeAll { $0.deletion.localDeletionTime < horizon }
        }
        var statics = partition.staticRow
        compact(&statics, now: now, horizon: horizon)
        partition.staticRow = statics
        for index in partition.rows.indices { compact(&partition.rows[index].row, now: now, horizon: horizon) }
        partition.rows.removeAll { $0.row.isEmpty }
    }

    /// The snapshot payload in one array (tests; the log streams it with ``encodeSnapshot(_:)``).
    func encodeSnapshot() -> [UInt8] {
        var image: [UInt8] = []
        encodeSnapshot { image += $0 }
        return image
    }

    /// Emits the snapshot payload in pieces of about a megabyte, so it never sits in memory whole.
    func encodeSnapshot(_ emit: ([UInt8]) -> Void) {
        let piece = 1 << 20
        var writer = ByteWriter(capacity: piece + (piece >> 2))
        func flushIfFull() {
            guard writer.count >= piece else { return }
            emit(writer.bytes)
            writer.bytes.removeAll(keepingCapacity: true)
        }
        let keyspaces = catalog.keyspaces.values.sorted { $0.name < $1.name }
        writer.writeInt32(Int32(clamping: keyspaces.count))
        for keyspace in keyspaces {
            StorageCodec.write(keyspace, &writer)
            flushIfFull()
        }
        let ids = tables.keys.sorted { $0.uuidString < $1.uuidString }
        writer.writeInt32(Int32(clamping: ids.count))
        for id in ids {
            guard let data = tables[id] else { continue }
            writer.writeUUID(id)
            writer.writeInt32(Int32(clamping: data.order.count))
            for position in data.order {
                guard let partition = data.partitions[position] else { continue }
                StorageCodec.write(position.key, &writer)
                StorageCodec.write(partition, columns: data.columns, &writer)
                flushIfFull()
            }
        }
        if writer.count > 0 { emit(writer.bytes) }
    }

    mutating func loadSnapshot(_ bytes: [UInt8]) throws(StorageError) {
        var reader = ByteReader(bytes)
        do {
            var catalog = Catalog()
            for _ in 0..<(try StorageCodec.readCount(&reader, "keyspaces")) {
                let keyspace = try StorageCodec.readKeyspace(&reader)
                catalog.keyspaces[keyspace.name] = keyspace
            }
            var tables: [UUID: TableData] = [:]
            for _ in 0..<(try StorageCodec.readCount(&reader, "tables")) {
                let id = try reader.readUUID()
                var data = TableData()
                let count = try StorageCodec.readCount(&reader, "partitions")
                data.order.reserveCapacity(count)
                for _ in 0..<count {
                    let position = PartitionPosition(key: try StorageCodec.readBlob(&reader))
                    let partition = try StorageCodec.readPartition(&reader, columns: &data.columns)
                    data.partitions[position] = partition
                    data.order.append(position)
                }
                tables[id] = data
            }
            try reader.expectEnd("snapshot")
            self.catalog = catalog
            self.tables = tables
        } catch {
            throw .corrupt("snapshot: \(error)")
        }
    }

    mutating func replay(_ payload: [UInt8]) throws(StorageError) {
        switch try StorageCodec.decodeRecord(payload) {
        case let .schema(change):
            _ = try applySchema(change)
        case let .mutations(mutations):
            _ = applyValidated(mutations)
        }
    }
}

/// The embedded node's storage engine: schema catalog, table data with Cassandra semantics, and durability.
///
/// A write is acknowledged only after its log record is on disk:
/// ```swift
/// let lsn = try storage.apply([mutation])
/// try await storage.awaitDurable(lsn)
/// ```
/// A lightweight transaction reads, compares and writes under the lock, then waits outside it:
/// ```swift
/// let lsn: LogSequenceNumber? = try storage.withTransaction { state in
///     let existing = try state.read(table: id, partitionKey: key, query: ReadQuery(slices: [.prefix(ck)], now: now))
///     guard existing.rows.isEmpty else { return nil }
///     return try state.apply([insert])
/// }
/// if let lsn { try await storage.awaitDurable(lsn) }
/// ```
///
/// All state sits behind one `Mutex` (from the Synchronization module), chosen over an actor on purpose:
/// LWT needs a synchronous read-compare-write that nothing can interleave (``withTransaction(_:)``), reads and
/// writes are short CPU-bound work, and executor code running on NIO event loops must not hop executors
/// to touch storage. Durability waits happen outside the lock (``awaitDurable(_:)``), so a slow fsync
/// never blocks readers or other writers.
final class Storage: Sendable {
    private let state: Mutex<StorageState>
    private let log: CommitLog?

    /// Bytes of torn or corrupt log tail dropped when the data directory was opened.
    let droppedTailBytes: Int

    /// Opens storage: in memory, or from the data directory (newest snapshot, then the commit log).
    init(options: StorageOptions = StorageOptions()) throws(StorageError) {
        guard let directory = options.dataDirectory else {
            log = nil
            droppedTailBytes = 0
            state = Mutex(StorageState(log: nil, clock: options.clock))
            return
        }
        let (log, recovery) = try CommitLog.open(directory: directory, snapshotThreshold: options.snapshotThreshold)
        var initial = StorageState(log: nil, clock: options.clock)
        do {
            if let snapshot = recovery.snapshot { try initial.loadSnapshot(snapshot) }
            for record in recovery.records { try initial.replay(record) }
        } catch {
            log.close()
            throw error
        }
        var running = StorageState(log: log, clock: options.clock)
        running.catalog = initial.catalog
        running.tables = initial.tables
        self.log = log
        self.droppedTailBytes = recovery.droppedTailBytes
        self.state = Mutex(running)
    }

    /// Runs `body` with exclusive access to the whole state: reads and writes in it are atomic together (LWT).
    func withTransaction<Result: Sendable, Failure: Error>(
        _ body: (inout StorageState) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try state.withLock { (state: inout StorageState) throws(Failure) -> Result in try body(&state) }
    }

    /// The current schema catalog.
    var catalog: Catalog { state.withLock { $0.catalog } }

    /// Applies a schema change; see ``StorageState/apply(_:)-(SchemaMutation)``.
    func apply(_ change: SchemaMutation) throws(StorageError) -> SchemaMutationOutcome {
        try withTransaction { (state: inout StorageState) throws(StorageError) in try state.apply(change) }
    }

    /// Applies mutations atomically; await ``awaitDurable(_:)`` with the result before acknowledging them.
    @discardableResult
    func apply(_ mutations: [Mutation]) throws(StorageError) -> LogSequenceNumber {
        try withTransaction { (state: inout StorageState) throws(StorageError) in try state.apply(mutations) }
    }

    /// Reads one partition.
    func read(table: UUID, partitionKey: [UInt8], query: ReadQuery) throws(StorageError) -> ReadResult {
        try withTransaction { (state: inout StorageState) throws(StorageError) in
            try state.read(table: table, partitionKey: partitionKey, query: query)
        }
    }

    /// Reads across partitions in token order.
    func scan(table: UUID, tokens: TokenRange = .all, query: ReadQuery) throws(StorageError) -> ReadResult {
        try withTransaction { (state: inout StorageState) throws(StorageError) in
            try state.scan(table: table, tokens: tokens, query: query)
        }
    }

    /// Suspends until everything logged up to `lsn` is on disk (at once in memory mode).
    func awaitDurable(_ lsn: LogSequenceNumber) async throws(StorageError) {
        guard let log else { return }
        try await log.awaitDurable(lsn)
    }

    /// Flushes the log, stops its flusher thread and unlocks the data directory; the storage must not be used afterwards.
    func close() {
        log?.close()
    }

    deinit {
        log?.close()
    }

    /// Stops the flusher and drops whatever was not yet written, like a crash (for durability tests).
    func abandonForTesting() {
        log?.abandon()
    }
}
