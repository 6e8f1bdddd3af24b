import Foundation
@testable import CQLCodec
@testable import CQLWire

/// One value of every request and response shape, for round trips and truncation sweeps.
enum MessageSamples {
    static let uuid = UUID(uuidString: "6BE2A8D0-2D0E-4C65-9E5A-1A0B2C3D4E5F") ?? UUID()
    static let ipv4 = address([127, 0, 0, 1])
    static let ipv6 = address([UInt8](repeating: 0, count: 15) + [1])

    private static func address(_ bytes: [UInt8]) -> InetAddress {
        guard let address = InetAddress(bytes: bytes) else { preconditionFailure("4 or 16 bytes make an address") }
        return address
    }

    static let columns = [
        ColumnSpec(keyspace: "ks", table: "t", name: "id", type: .uuid),
        ColumnSpec(keyspace: "ks", table: "t", name: "tags", type: .map(key: .varchar, value: .list(.int))),
        ColumnSpec(keyspace: "ks", table: "t", name: "[applied]", type: .boolean),
    ]
    static let mixedColumns = [
        ColumnSpec(keyspace: "ks", table: "a", name: "x", type: .int),
        ColumnSpec(keyspace: "other", table: "b", name: "y", type: .tuple([.int, .duration])),
    ]

    static let allParameters = QueryParameters(
        consistency: .localQuorum, values: .positional([.bytes([0, 0, 0, 1]), .null, .unset, .bytes([])]),
        skipMetadata: true, pageSize: 5000, pagingState: [1, 2, 3], serialConsistency: .localSerial,
        defaultTimestamp: 1_700_000_000_000_000)

    static var requests: [(String, RequestMessage)] {
        [
            ("startup", .startup(Startup())),
            ("startup lz4", .startup(Startup(cqlVersion: "3.4.5", compression: "lz4"))),
            ("startup custom order", .startup(Startup(options: [("DRIVER_NAME", "x"), ("CQL_VERSION", "3.0.0")]))),
            ("auth response", .authResponse(.plain(username: "cassandra", password: "cassandra"))),
            ("auth response null", .authResponse(AuthResponse(token: nil))),
            ("auth response empty", .authResponse(AuthResponse(token: []))),
            ("options", .options),
            ("query bare", .query(Query(query: "SELECT * FROM system.local", parameters: .init(consistency: .one)))),
            ("query empty values", .query(Query(query: "", parameters: .init(consistency: .any, values: .positional([]))))),
            ("query all flags", .query(Query(query: "SELECT ✓ FROM t WHERE a = ?", parameters: allParameters))),
            ("query named", .query(Query(query: "INSERT INTO t (a, b) VALUES (:a, :b)", parameters: .init(
                consistency: .quorum, values: .named([("a", .bytes([9])), ("b", .unset), ("c", .null)]),
                pageSize: -1, defaultTimestamp: -5)))),
            ("query serial only", .query(Query(query: "q", parameters: .init(consistency: .serial, serialConsistency: .serial)))),
            ("prepare", .prepare(Prepare(query: "UPDATE t SET v = ? WHERE k = ? IF v = ?"))),
            ("execute", .execute(Execute(id: [0xDE, 0xAD, 0xBE, 0xEF], parameters: allParameters))),
            ("execute empty id", .execute(Execute(id: [], parameters: .init(consistency: .all)))),
            ("batch logged", .batch(Batch(type: .logged, statements: [
                .query("INSERT INTO t (k) VALUES (?)", .positional([.bytes([1])])),
                .prepared([7, 7], .positional([.null, .unset])),
                .query("DELETE FROM t WHERE k = 1", .positional([])),
            ], consistency: .quorum))),
            ("batch unlogged flags", .batch(Batch(type: .unlogged, statements: [.prepared([1], .positional([.bytes([])]))],
                                                   consistency: .localOne, serialConsistency: .localSerial,
                                                   defaultTimestamp: 42))),
            ("batch counter empty", .batch(Batch(type: .counter, statements: [], consistency: .one))),
            ("batch named", .batch(Batch(type: .logged, statements: [
                .query("INSERT INTO t (k) VALUES (:k)", .named([("k", .bytes([1]))])),
                .prepared([3], .named([])),
            ], consistency: .quorum, defaultTimestamp: 1))),
            ("register", .register(Register(events: ["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"]))),
            ("register none", .register(Register(events: []))),
        ]
    }

    static let allErrorKinds: [ServerError.Kind] = [
        .serverError, .protocolError, .badCredentials,
        .unavailable(consistency: .two, required: 2, alive: 1),
        .overloaded, .isBootstrapping, .truncateError,
        .writeTimeout(consistency: .localSerial, received: 0, blockFor: 1, writeType: "CAS"),
        .readTimeout(consistency: .quorum, received: 1, blockFor: 2, dataPresent: false),
        .readTimeout(consistency: .one, received: 1, blockFor: 1, dataPresent: true),
        .readFailure(consistency: .all, received: 1, blockFor: 3, numFailures: 2, dataPresent: true),
        .functionFailure(keyspace: "ks", function: "f", argTypes: ["int", "frozen<list<text>>"]),
        .writeFailure(consistency: .eachQuorum, received: 2, blockFor: 3, numFailures: 1, writeType: "BATCH_LOG"),
        .syntaxError, .unauthorized, .invalid, .configError,
        .alreadyExists(keyspace: "ks", table: "t"), .alreadyExists(keyspace: "ks", table: ""),
        .unprepared(id: [0x5C, 0x6E, 0x15]),
        .unknown(code: 0x7777, extra: [1, 2, 3]),
        .unknown(code: -1, extra: []),
    ]

    static var rows: Rows {
        get throws {
            try Rows(metadata: RowsMetadata(columns: columns),
                     cells: [[[1, 2], nil, [1]], [[], [0, 0, 0, 0], nil]])
        }
    }

    static var responses: [(String, ResponseMessage)] {
        get throws {
            var list: [(String, ResponseMessage)] = allErrorKinds.map { kind in
                ("error \(kind.code)", .error(ServerError(kind, message: "message for \(kind.name)")))
            }
            list += [
                ("ready", .ready),
                ("authenticate", .authenticate(Authenticate(authenticator: "org.apache.cassandra.auth.PasswordAuthenticator"))),
                ("supported", .supported(Supported(options: [("PROTOCOL_VERSIONS", ["3/v3", "4/v4"]), ("COMPRESSION", []),
                                                             ("CQL_VERSION", ["3.4.5"])]))),
                ("void", .result(.void)),
                ("rows", .result(.rows(try rows))),
                ("rows no columns zero rows", .result(.rows(Rows(metadata: RowsMetadata(columns: []), rowCount: 0, buffer: [], contentRange: 0..<0)))),
                ("rows mixed tables", .result(.rows(try Rows(metadata: RowsMetadata(columns: mixedColumns, pagingState: [0xAB]),
                                                           cells: [[nil, [1]]])))),
                ("rows global off", .result(.rows(try Rows(metadata: RowsMetadata(columns: columns, globalTableSpec: false),
                                                         cells: [])))),
                ("rows no metadata paging", .result(.rows(try Rows(metadata: RowsMetadata(columns: [], columnCount: 2, pagingState: [],
                                                                                   noMetadata: true),
                                                                 values: [[.bytes([1]), .null], [.unset, .bytes([])]])))),
                ("set keyspace", .result(.setKeyspace("scheduler"))),
                ("prepared", .result(.prepared(Prepared(
                    id: [0x5C, 0x6E, 0x15, 0xD4],
                    metadata: PreparedMetadata(columns: columns, pkIndices: [0, 2]),
                    resultMetadata: RowsMetadata(columns: [columns[2]]))))),
                ("prepared mixed, no result metadata", .result(.prepared(Prepared(
                    id: [1], metadata: PreparedMetadata(columns: mixedColumns, pkIndices: []),
                    resultMetadata: RowsMetadata(columns: [], noMetadata: true))))),
                ("prepared no markers", .result(.prepared(Prepared(
                    id: [], metadata: PreparedMetadata(columns: []), resultMetadata: RowsMetadata(columns: []))))),
            ]
            for target in SchemaChange.Target.allCases {
                for change in SchemaChange.ChangeType.allCases {
                    let schema = switch target {
                    case .keyspace: SchemaChange(changeType: change, target: target, keyspace: "ks")
                    case .table, .type: SchemaChange(changeType: change, target: target, keyspace: "ks", name: "n")
                    case .function, .aggregate:
                        SchemaChange(changeType: change, target: target, keyspace: "ks", name: "f", argumentTypes: ["int", "text"])
                    }
                    list.append(("schema change \(change.rawValue) \(target.rawValue)", .result(.schemaChange(schema))))
                    list.append(("event schema \(change.rawValue) \(target.rawValue)", .event(.schemaChange(schema))))
                }
            }
            for change in Event.TopologyChange.allCases {
                list.append(("topology \(change.rawValue)", .event(.topologyChange(change, InetEndpoint(address: ipv4, port: 9042)))))
            }
            for change in Event.StatusChange.allCases {
                list.append(("status \(change.rawValue)", .event(.statusChange(change, InetEndpoint(address: ipv6, port: 9042)))))
            }
            list += [
                ("auth challenge", .authChallenge(AuthChallenge(token: [1, 2]))),
                ("auth challenge null", .authChallenge(AuthChallenge(token: nil))),
                ("auth success null", .authSuccess(AuthSuccess())),
                ("auth success", .authSuccess(AuthSuccess(token: []))),
            ]
            return list
        }
    }
}
