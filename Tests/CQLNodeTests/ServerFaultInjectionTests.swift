@testable import CQLNode
import CQLWire
import Foundation
import Testing

/// Fault rules: which requests they match, how often they fire, and the errors they make.
@Suite("Server fault injection rules")
struct ServerFaultInjectionTests {
    static let insert = QueryRequest.query(Query(query: "INSERT INTO locks (name) VALUES ('a') IF NOT EXISTS",
                                                 parameters: QueryParameters(consistency: .two, serialConsistency: .localSerial)))
    static let prepare = QueryRequest.prepare(Prepare(query: "SELECT * FROM jobs WHERE id = ?"))
    static let execute = QueryRequest.execute(Execute(id: [0xAB, 0xCD], parameters: QueryParameters(consistency: .one)))
    static let batch = QueryRequest.batch(Batch(statements: [.prepared([0xAB, 0xCD], .none), .query("DELETE FROM jobs WHERE id = 1", .none)],
                                                consistency: .quorum))

    @Test("Matchers select requests by opcode, CQL substring and prepared id", arguments: [
        (FaultInjection.Match.any, [true, true, true, true]),
        (.opcode(.execute), [false, false, true, false]),
        (.cqlContains("IF NOT EXISTS"), [true, false, false, false]),
        (.cqlContains("FROM jobs"), [false, true, false, true]),
        (.preparedID([0xAB, 0xCD]), [false, false, true, true]),
        (.preparedID([0x01]), [false, false, false, false]),
    ])
    func matchers(match: FaultInjection.Match, expected: [Bool]) {
        let rule = FaultInjection.Rule(match: match, action: .timeout)
        let requests = [Self.insert, Self.prepare, Self.execute, Self.batch]
        #expect(requests.map { rule.matches($0) } == expected)
    }

    @Test("A counted rule fires that many times, then lets requests through")
    func countedRule() {
        let faults = FaultInjection()
        let id = faults.add(.init(match: .any, action: .unavailable, count: 2))
        let hits = (0..<5).map { _ in faults.fault(for: Self.insert) != nil }
        #expect(hits == [true, true, false, false, false])
        #expect(faults.firedCount(id) == 2)
    }

    @Test("Probability 0 never fires; probability 1 always does")
    func probability() {
        let never = FaultInjection(rules: [.init(match: .any, action: .timeout, probability: 0)])
        #expect((0..<100).allSatisfy { _ in never.fault(for: Self.insert) == nil })
        let always = FaultInjection(rules: [.init(match: .any, action: .timeout, probability: 1)])
        #expect((0..<100).allSatisfy { _ in always.fault(for: Self.insert) != nil })
    }

    @Test("The first matching rule wins; removed rules stop firing")
    func ordering() {
        let faults = FaultInjection()
        let first = faults.add(.init(match: .cqlContains("locks"), action: .writeTimeoutCAS))
        faults.add(.init(match: .any, action: .dropConnection))
        #expect(faults.fault(for: Self.insert)?.action == .writeTimeoutCAS)
        #expect(faults.fault(for: Self.prepare)?.action == .dropConnection)
        faults.remove(first)
        #expect(faults.fault(for: Self.insert)?.action == .dropConnection)
        faults.removeAll()
        #expect(faults.fault(for: Self.insert) == nil)
    }

    @Test("Injected errors carry the request's consistency levels")
    func injectedErrors() {
        let unavailable = FaultInjection.error(for: .unavailable, request: Self.insert)
        #expect(unavailable == ServerError(.unavailable(consistency: .two, required: 1, alive: 0),
                                           message: "Cannot achieve consistency level TWO"))
        let cas = FaultInjection.error(for: .writeTimeoutCAS, request: Self.insert)
        #expect(cas?.kind == .writeTimeout(consistency: .localSerial, received: 0, blockFor: 1, writeType: "CAS"))
        #expect(cas?.isCASWriteTimeout == true)
        let defaultSerial = FaultInjection.error(for: .writeTimeoutCAS, request: Self.execute)
        #expect(defaultSerial?.kind == .writeTimeout(consistency: .serial, received: 0, blockFor: 1, writeType: "CAS"))
        #expect(FaultInjection.error(for: .timeout, request: Self.insert) == nil)
    }

    @Test("WriteTimeout of each write type: the batch log at ONE, CAS at the serial consistency, the others at the request's",
          arguments: FaultInjection.WriteType.allCases)
    func writeTimeouts(writeType: FaultInjection.WriteType) {
        let error = FaultInjection.error(for: .writeTimeout(writeType, received: 1, blockFor: 2), request: Self.insert)
        let consistency: Consistency = switch writeType {
        case .batchLog: .one
        case .cas: .localSerial
        default: .two
        }
        #expect(error?.kind == .writeTimeout(consistency: consistency, received: 1, blockFor: 2, writeType: writeType.rawValue))
        #expect(error?.message == (writeType == .cas
            ? "CAS operation timed out: received 1 of 2 required responses after 0 contention retries"
            : "Operation timed out - received only 1 responses."))
    }

    @Test("ReadTimeout with and without the data retrieved, at the request's consistency", arguments: [false, true])
    func readTimeouts(dataPresent: Bool) {
        let error = FaultInjection.error(for: .readTimeout(received: 2, blockFor: 2, dataPresent: dataPresent), request: Self.batch)
        #expect(error == ServerError(.readTimeout(consistency: .quorum, received: 2, blockFor: 2, dataPresent: dataPresent),
                                     message: "Operation timed out - received only 2 responses."))
    }

    @Test("A lagging schema: unknown tables are refused as Cassandra does, CREATE goes through, and it ends with its time")
    func schemaLagTables() async {
        let lag = FaultInjection.SchemaLag(schemaVersion: UUID(), unknownTables: ["KV"])
        let texts = ["SELECT v FROM ks.kv WHERE k = 1", "INSERT INTO kv (k) VALUES (1)", "UPDATE \"kv\" SET v = 1 WHERE k = 1",
                     "ALTER TABLE ks.kv ADD w int", "SELECT v FROM ks.kvx", "CREATE TABLE ks.kv (k int PRIMARY KEY)"]
        let found = texts.map { lag.unknownTable(in: .query(Query(query: $0, parameters: QueryParameters(consistency: .one)))) }
        #expect(found == ["kv", "kv", "kv", "kv", nil, nil])

        let faults = FaultInjection()
        faults.lagSchema(lag, for: .seconds(3600))
        #expect(faults.schemaLag?.schemaVersion == lag.schemaVersion)
        faults.endSchemaLag()
        #expect(faults.schemaLag == nil)
        faults.lagSchema(lag, for: .zero)
        #expect(faults.schemaLag == nil)
    }

    @Test("A lagging node reports the older schema_version in system.local and refuses the new table, on the real executor")
    func schemaLagOnNode() async throws {
        let faults = FaultInjection()
        let node = try await EmbeddedNode.start(.init(faultInjection: faults))
        defer { Task { try? await node.shutdown() } }
        let connection = try await CQLConnection.connect(host: node.host, port: node.port)
        defer { connection.close() }
        func send(_ cql: String) async throws -> ResponseMessage {
            try await connection.send(.query(Query(query: cql, parameters: QueryParameters(consistency: .one)))).message
        }
        func schemaVersion() async throws -> UUID? {
            guard case let .result(.rows(rows)) = try await send("SELECT schema_version FROM system.local WHERE key='local'") else {
                return nil
            }
            return try rows.first?.decode(UUID?.self, named: "schema_version")
        }
        _ = try await send("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        let before = try #require(try await schemaVersion())
        _ = try await send("CREATE TABLE ks.kv (k int PRIMARY KEY, v int)")
        let after = try #require(try await schemaVersion())
        #expect(after != before)

        faults.lagSchema(FaultInjection.SchemaLag(schemaVersion: before, unknownTables: ["kv"]), for: .seconds(3600))
        #expect(try await schemaVersion() == before)
        #expect(try await send("INSERT INTO ks.kv (k, v) VALUES (1, 1)") == .error(ServerError(.invalid, message: "unconfigured table kv")))
        faults.endSchemaLag()
        #expect(try await schemaVersion() == after)
        #expect(try await send("INSERT INTO ks.kv (k, v) VALUES (1, 1)") == .result(.void))
    }

    @Test("A delayed request is answered, and an after-execution error replaces an applied statement's answer")
    func delayAndAfterExecution() async {
        let request = DispatchedRequest(stream: 3, version: 4, compression: nil, tracing: false, customPayload: nil,
                                        request: .query(Query(query: "USE ks", parameters: QueryParameters(consistency: .one))))
        let session = ClientSession()
        let context = RequestContext(stream: 3, session: session)
        let delayed = FaultInjection(rules: [.init(match: .any, action: .delay(.milliseconds(1)))])
        guard case let .respond(bytes) = await ConnectionHandler.run(request, context: context, handler: EchoHandler(), faults: delayed) else {
            Issue.record("a delayed request was not answered")
            return
        }
        #expect(bytes == request.encode(QueryResponse(.result(.setKeyspace("ks")))))

        session.keyspace = nil
        let after = FaultInjection(rules: [.init(match: .any, action: .writeTimeoutCAS, timing: .afterExecution)])
        let outcome = await ConnectionHandler.run(request, context: context, handler: EchoHandler(), faults: after)
        guard case let .respond(errorBytes) = outcome,
              let error = FaultInjection.error(for: .writeTimeoutCAS, request: request.request) else {
            Issue.record("expected an injected error, got \(outcome)")
            return
        }
        #expect(errorBytes == request.encode(.error(error)))
        // The statement ran before the error replaced its answer.
        #expect(session.keyspace == "ks")
    }
}
