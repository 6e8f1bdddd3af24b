import CQLCodec
import Crypto
import Foundation
import Synchronization

/// The system keyspaces of a Cassandra 4.1 node, kept as real tables in ``Storage`` so the ordinary
/// SELECT path serves drivers' metadata queries (`system.local`, `system.peers_v2`, `system_schema.*`,
/// `system_virtual_schema.*`).
///
/// ``install(in:identity:)`` creates or repairs them at start-up and rewrites `system_schema` from the
/// catalog; every schema change afterwards rewrites the changed keyspace's rows in the same transaction
/// (see ``SchemaExecutor``), so the tables never disagree with the catalog.
enum SystemKeyspaces {
    /// A keyspace the node defines itself.
    struct Definition {
        var name: String
        var replication: [(String, String)]
        var isVirtual: Bool
        var tables: [String]
    }

    static let localStrategy = [("class", "org.apache.cassandra.locator.LocalStrategy")]

    static func simple(_ factor: Int) -> [(String, String)] {
        [("class", "org.apache.cassandra.locator.SimpleStrategy"), ("replication_factor", String(factor))]
    }

    /// The keyspaces and their tables, as Cassandra 4.1 declares them.
    static let definitions: [Definition] = [
        Definition(name: "system", replication: localStrategy, isVirtual: false, tables: [
            """
            CREATE TABLE local (key text, bootstrapped text, broadcast_address inet, broadcast_port int,
                cluster_name text, cql_version text, data_center text, gossip_generation int, host_id uuid,
                listen_address inet, listen_port int, native_protocol_version text, partitioner text, rack text,
                release_version text, rpc_address inet, rpc_port int, schema_version uuid, tokens set<text>,
                truncated_at map<uuid, blob>, PRIMARY KEY ((key)))
            """,
            """
            CREATE TABLE peers (peer inet, data_center text, host_id uuid, preferred_ip inet, rack text,
                release_version text, rpc_address inet, schema_version uuid, tokens set<text>, PRIMARY KEY ((peer)))
            """,
            """
            CREATE TABLE peers_v2 (peer inet, peer_port int, data_center text, host_id uuid, native_address inet,
                native_port int, preferred_ip inet, preferred_port int, rack text, release_version text,
                schema_version uuid, tokens set<text>, PRIMARY KEY ((peer), peer_port))
            """,
        ]),
        Definition(name: "system_schema", replication: localStrategy, isVirtual: false, tables: [
            "CREATE TABLE keyspaces (keyspace_name text, durable_writes boolean, replication frozen<map<text, text>>, PRIMARY KEY ((keyspace_name)))",
            """
            CREATE TABLE tables (keyspace_name text, table_name text, additional_write_policy text,
                bloom_filter_fp_chance double, caching frozen<map<text, text>>, cdc boolean, comment text,
                compaction frozen<map<text, text>>, compression frozen<map<text, text>>, crc_check_chance double,
                dclocal_read_repair_chance double, default_time_to_live int, extensions frozen<map<text, blob>>,
                flags frozen<set<text>>, gc_grace_seconds int, id uuid, max_index_interval int, memtable text,
                memtable_flush_period_in_ms int, min_index_interval int, read_repair text, read_repair_chance double,
                speculative_retry text, PRIMARY KEY ((keyspace_name), table_name))
            """,
            """
            CREATE TABLE columns (keyspace_name text, table_name text, column_name text, clustering_order text,
                column_name_bytes blob, kind text, position int, type text,
                PRIMARY KEY ((keyspace_name), table_name, column_name))
            """,
            """
            CREATE TABLE dropped_columns (keyspace_name text, table_name text, column_name text,
                dropped_time timestamp, kind text, type text, PRIMARY KEY ((keyspace_name), table_name, column_name))
            """,
            """
            CREATE TABLE triggers (keyspace_name text, table_name text, trigger_name text,
                options frozen<map<text, text>>, PRIMARY KEY ((keyspace_name), table_name, trigger_name))
            """,
            """
            CREATE TABLE views (keyspace_name text, view_name text, additional_write_policy text, base_table_id uuid,
                base_table_name text, bloom_filter_fp_chance double, caching frozen<map<text, text>>, cdc boolean,
                comment text, compaction frozen<map<text, text>>, compression frozen<map<text, text>>,
                crc_check_chance double, dclocal_read_repair_chance double, default_time_to_live int,
                extensions frozen<map<text, blob>>, gc_grace_seconds int, id uuid, include_all_columns boolean,
                max_index_interval int, memtable text, memtable_flush_period_in_ms int, min_index_interval int,
                read_repair text, read_repair_chance double, speculative_retry text, where_clause text,
                PRIMARY KEY ((keyspace_name), view_name))
            """,
            """
            CREATE TABLE types (keyspace_name text, type_name text, field_names frozen<list<text>>,
                field_types frozen<list<text>>, PRIMARY KEY ((keyspace_name), type_name))
            """,
            """
            CREATE TABLE functions (keyspace_name text, function_name text, argument_types frozen<list<text>>,
                argument_names frozen<list<text>>, body text, called_on_null_input boolean, language text,
                return_type text, PRIMARY KEY ((keyspace_name), function_name, argument_types))
            """,
            """
            CREATE TABLE aggregates (keyspace_name text, aggregate_name text, argument_types frozen<list<text>>,
                final_func text, initcond text, return_type text, state_func text, state_type text,
                PRIMARY KEY ((keyspace_name), aggregate_name, argument_types))
            """,
            """
            CREATE TABLE indexes (keyspace_name text, table_name text, index_name text, kind text,
                options frozen<map<text, text>>, PRIMARY KEY ((keyspace_name), table_name, index_name))
            """,
        ]),
        Definition(name: "system_auth", replication: simple(1), isVirtual: false, tables: [
            """
            CREATE TABLE roles (role text, can_login boolean, is_superuser boolean, member_of set<text>,
                salted_hash text, PRIMARY KEY ((role)))
            """,
            "CREATE TABLE role_members (role text, member text, PRIMARY KEY ((role), member))",
            "CREATE TABLE role_permissions (role text, resource text, permissions set<text>, PRIMARY KEY ((role), resource))",
            "CREATE TABLE resource_role_permissons_index (resource text, role text, PRIMARY KEY ((resource), role))",
            "CREATE TABLE network_permissions (role text, dcs frozen<set<text>>, PRIMARY KEY ((role)))",
        ]),
        Definition(name: "system_distributed", replication: simple(3), isVirtual: false, tables: [
            """
            CREATE TABLE parent_repair_history (parent_id timeuuid, columnfamily_names set<text>,
                exception_message text, exception_stacktrace text, finished_at timestamp, keyspace_name text,
                options map<text, text>, requested_ranges set<text>, started_at timestamp,
                successful_ranges set<text>, PRIMARY KEY ((parent_id)))
            """,
            """
            CREATE TABLE repair_history (keyspace_name text, columnfamily_name text, id timeuuid, coordinator inet,
                coordinator_port int, exception_message text, exception_stacktrace text, finished_at timestamp,
                parent_id timeuuid, participants set<inet>, participants_v2 set<text>, range_begin text,
                range_end text, started_at timestamp, status text,
                PRIMARY KEY ((keyspace_name, columnfamily_name), id))
            """,
            """
            CREATE TABLE view_build_status (keyspace_name text, view_name text, host_id uuid, status text,
                PRIMARY KEY ((keyspace_name, view_name), host_id))
            """,
        ]),
        Definition(name: "system_traces", replication: simple(2), isVirtual: false, tables: [
            """
            CREATE TABLE events (session_id uuid, event_id timeuuid, activity text, source inet,
                source_elapsed int, source_port int, thread text, PRIMARY KEY ((session_id), event_id))
            """,
            """
            CREATE TABLE sessions (session_id uuid, client inet, command text, coordinator inet,
                coordinator_port int, duration int, parameters map<text, text>, request text,
                started_at timestamp, PRIMARY KEY ((session_id)))
            """,
        ]),
        Definition(name: "system_virtual_schema", replication: localStrategy, isVirtual: true, tables: [
            "CREATE TABLE keyspaces (keyspace_name text, PRIMARY KEY ((keyspace_name)))",
            "CREATE TABLE tables (keyspace_name text, table_name text, comment text, PRIMARY KEY ((keyspace_name), table_name))",
            """
            CREATE TABLE columns (keyspace_name text, table_name text, column_name text, clustering_order text,
                column_name_bytes blob, kind text, position int, type text,
                PRIMARY KEY ((keyspace_name), table_name, column_name))
            """,
        ]),
    ]

    /// The keyspaces users cannot create, alter or drop (Cassandra answers Unauthorized).
    static let names: Set<String> = Set(definitions.map(\.name))

    /// The keyspaces whose schema lives in `system_virtual_schema` instead of `system_schema`.
    static let virtualNames: Set<String> = Set(definitions.filter(\.isVirtual).map(\.name))

    /// The system keyspaces Cassandra counts as local (not replicated): DESCRIBE SCHEMA leaves out all system ones.
    static func isSystem(_ keyspace: String) -> Bool { names.contains(keyspace) }

    /// The schemas of the definitions, parsed from their CQL.
    static let schemas: [KeyspaceSchema] = {
        definitions.map { definition in
            var keyspace = KeyspaceSchema(name: definition.name, replication: definition.replication)
            for cql in definition.tables {
                guard case let .createTable(create)? = try? CQLParser.parse(cql).statement,
                      let table = try? TableDefinition.table(create, keyspace: keyspace, id: tableID(definition.name, create.name.name))
                else { preconditionFailure("system table definition does not parse: \(cql)") }
                keyspace.tables[table.name] = table
            }
            return keyspace
        }
    }()

    /// A stable id for a system table (a name-based UUID, as Cassandra's `TableId.forSystemTable`).
    static func tableID(_ keyspace: String, _ table: String) -> UUID {
        var digest = Array(Insecure.MD5.hash(data: Array((keyspace + table).utf8)))
        guard digest.count == 16 else { return UUID() }
        digest[6] = (digest[6] & 0x0F) | 0x30
        digest[8] = (digest[8] & 0x3F) | 0x80
        return UUID(uuid: (digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
                           digest[8], digest[9], digest[10], digest[11], digest[12], digest[13], digest[14], digest[15]))
    }

    // MARK: Installation

    /// Creates the system keyspaces (or repairs tables whose columns changed), rewrites `system_schema` and
    /// `system_virtual_schema` from the catalog, and writes `system.local` with a fresh `schema_version`.
    /// Idempotent: call it at every start, after the server knows its address and port.
    static func install(in storage: Storage, identity: NodeIdentity) async throws(StorageError) {
        let lsn = try storage.withTransaction { (state: inout StorageState) throws(StorageError) -> LogSequenceNumber in
            try install(state: &state, identity: identity)
        }
        try await storage.awaitDurable(lsn)
    }

    static func install(state: inout StorageState, identity: NodeIdentity) throws(StorageError) -> LogSequenceNumber {
        var lsn: LogSequenceNumber = 0
        for keyspace in schemas {
            if let existing = state.catalog.keyspaces[keyspace.name] {
                if !existing.replication.elementsEqual(keyspace.replication, by: { $0 == $1 }) {
                    lsn = max(lsn, logged(try state.apply(.alterKeyspace(name: keyspace.name, replication: keyspace.replication, durableWrites: true))))
                }
            } else {
                lsn = max(lsn, logged(try state.apply(.createKeyspace(keyspace, ifNotExists: true))))
            }
            for table in keyspace.tables.values.sorted(by: { $0.name < $1.name }) {
                if let existing = state.catalog.keyspaces[keyspace.name]?.tables[table.name] {
                    if existing.columns == table.columns, existing.id == table.id { continue }
                    lsn = max(lsn, logged(try state.apply(.dropTable(keyspace: keyspace.name, table: table.name, ifExists: true))))
                }
                lsn = max(lsn, logged(try state.apply(.createTable(table, ifNotExists: false))))
            }
        }
        for name in ["system_schema", "system_virtual_schema"] {
            for table in state.catalog.keyspaces[name]?.tables.keys.sorted() ?? [] {
                lsn = max(lsn, logged(try state.apply(.truncateTable(keyspace: name, table: table))))
            }
        }
        let hostID = existingHostID(in: state) ?? UUID()
        let timestamp = SchemaClock.next()
        var mutations: [Mutation] = []
        for keyspace in state.catalog.keyspaces.values.sorted(by: { $0.name < $1.name }) {
            mutations += try SchemaRows.keyspaceRows(keyspace, catalog: state.catalog, timestamp: timestamp)
        }
        mutations += try localRows(identity: identity, hostID: hostID, schemaVersion: UUID(), catalog: state.catalog, timestamp: timestamp)
        lsn = max(lsn, try state.apply(mutations))
        return lsn
    }

    private static func logged(_ outcome: SchemaMutationOutcome) -> LogSequenceNumber {
        if case let .applied(lsn) = outcome { return lsn }
        return 0
    }

    private static func existingHostID(in state: StorageState) -> UUID? {
        guard let local = state.catalog.keyspaces["system"]?.tables["local"],
              let result = try? state.read(table: local.id, partitionKey: Array("local".utf8), query: ReadQuery(now: 0)),
              let row = result.rows.first, case let .cell(cell)? = row.columns["host_id"],
              case let .uuid(uuid)? = try? CQLValue.decode(cell.value, as: .uuid) else { return nil }
        return uuid
    }

    /// The `system.local` row.
    static func localRows(identity: NodeIdentity, hostID: UUID, schemaVersion: UUID, catalog: Catalog,
                          timestamp: Int64) throws(StorageError) -> [Mutation] {
        let address = CQLValue.inet(identity.address)
        let port = CQLValue.int(Int32(clamping: identity.nativePort))
        let values: [String: CQLValue] = [
            "key": .text("local"), "bootstrapped": .text("COMPLETED"), "broadcast_address": address,
            "broadcast_port": .int(7000), "cluster_name": .text(identity.clusterName),
            "cql_version": .text(identity.cqlVersion), "data_center": .text(identity.dataCenter),
            "gossip_generation": .int(Int32(clamping: Int(Date().timeIntervalSince1970))), "host_id": .uuid(hostID),
            "listen_address": address, "listen_port": .int(7000),
            "native_protocol_version": .text(identity.nativeProtocolVersion),
            "partitioner": .text(NodeIdentity.partitioner), "rack": .text(identity.rack),
            "release_version": .text(identity.releaseVersion), "rpc_address": address, "rpc_port": port,
            "schema_version": .uuid(schemaVersion), "tokens": .set(identity.tokens.map { .text(String($0)) }),
        ]
        return [try SchemaRows.row(in: catalog, "system", "local", values, timestamp: timestamp)]
    }

    /// The mutation that sets `system.local.schema_version` after a schema change.
    static func schemaVersionUpdate(catalog: Catalog, version: UUID, timestamp: Int64) throws(StorageError) -> Mutation {
        try SchemaRows.row(in: catalog, "system", "local", ["key": .text("local"), "schema_version": .uuid(version)],
                           timestamp: timestamp, rowMarker: false)
    }
}

/// Strictly increasing write timestamps (microseconds) for the node's own writes to system tables, so a
/// rewrite's tombstone never shadows the rows written after it, even if the wall clock steps back.
enum SchemaClock {
    private static let last = Mutex<Int64>(0)

    /// A timestamp above every one returned before; two apart, so `t` deletes and `t + 1` rewrites.
    static func next() -> Int64 {
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        return last.withLock { last in
            last = max(now, last + 2)
            return last
        }
    }
}

extension SystemKeyspaces {
    /// The identity `system.local` holds (cluster name, address, port, tokens), or nil before installation.
    static func storedIdentity(in storage: Storage) -> NodeIdentity? {
        storage.withTransaction { (state: inout StorageState) -> NodeIdentity? in
            guard let local = state.catalog.keyspaces["system"]?.tables["local"],
                  let result = try? state.read(table: local.id, partitionKey: Array("local".utf8), query: ReadQuery(now: 0)),
                  let row = result.rows.first else { return nil }
            func value(_ name: String) -> CQLValue? {
                guard let column = local.column(named: name), let bytes = row.columns[name]?.serialized(as: column.type) else { return nil }
                return try? CQLValue.decode(bytes, as: column.type)
            }
            var identity = NodeIdentity()
            if case let .text(name)? = value("cluster_name") { identity.clusterName = name }
            if case let .inet(address)? = value("rpc_address") { identity.address = address }
            if case let .int(port)? = value("rpc_port") { identity.nativePort = Int(port) }
            if case let .set(tokens)? = value("tokens") {
                identity.tokens = tokens.compactMap { if case let .text(token) = $0 { Int64(token) } else { nil } }
            }
            return identity
        }
    }
}
