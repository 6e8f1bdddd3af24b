import CQLWire
import Foundation
import Testing

/// What the captured frames mean, read through our codec: the values Cassandra 3.11 answered,
/// so that a decoder that parses but misreads a field still fails here.
@Suite("Capture conformance: what Cassandra said")
struct CaptureSemanticsTests {
    /// The decoded request and response pairs of a connection, matched by stream id in order.
    struct Exchange {
        var request: RequestMessage
        var response: Envelope<ResponseMessage>
    }

    static func exchanges(_ connection: CapturedConnection) -> [Exchange] {
        var pending = CaptureCorpus.responses(connection)
        return CaptureCorpus.requests(connection).compactMap { stream, request in
            guard let index = pending.firstIndex(where: { $0.stream == stream }) else { return nil }
            return Exchange(request: request, response: pending.remove(at: index).envelope)
        }
    }

    /// The connection that ran the scenario (the driver's second connection; the first is its control connection).
    static func session(_ file: String) throws -> CapturedConnection {
        let connections = try CaptureCorpus.connections(file)
        return try #require(connections.last { connection in
            CaptureCorpus.requests(connection).contains { _, message in
                if case let .query(query) = message { query.query == "USE \"cap\"" } else { false }
            }
        })
    }

    static func rows(_ response: Envelope<ResponseMessage>) throws -> [[String: CQLValue]] {
        guard case let .result(.rows(rows)) = response.message else {
            Issue.record("expected rows, got \(response.message)")
            return []
        }
        return try CaptureCorpus.namedRows(rows)
    }

    static func columns(_ response: Envelope<ResponseMessage>) -> [String] {
        guard case let .result(.rows(rows)) = response.message else { return [] }
        return rows.metadata.columns.map(\.name)
    }

    static func error(_ response: Envelope<ResponseMessage>) -> ServerError? {
        if case let .error(error) = response.message { error } else { nil }
    }

    static func queryText(_ message: RequestMessage) -> String? {
        if case let .query(query) = message { query.query } else { nil }
    }

    @Test("lwt.pcap: [applied] alone when applied or no row; the current row or the conditioned columns when not")
    func lwt() throws {
        let exchanges = Self.exchanges(try Self.session("captures-c311/lwt.pcap"))
        let conditional = exchanges.filter { exchange in
            Self.columns(exchange.response).first == "[applied]"
        }
        #expect(conditional.count == 6)
        let outcome = try conditional.map { try Self.rows($0.response) }

        // INSERT ... IF NOT EXISTS, applied.
        #expect(Self.columns(conditional[0].response) == ["[applied]"])
        #expect(outcome[0] == [["[applied]": .boolean(true)]])
        // The same INSERT again: not applied, with the whole existing row.
        #expect(Self.columns(conditional[1].response) == ["[applied]", "name", "epoch", "expire_at", "fencing_token", "owner"])
        #expect(outcome[1].first?["[applied]"] == .boolean(false))
        #expect(outcome[1].first?["owner"] == .text("w1"))
        #expect(outcome[1].first?["fencing_token"] == .bigint(1))
        #expect(outcome[1].first?["expire_at"] == .timestamp(1_893_456_000_000))
        // Prepared UPDATE ... IF epoch = ?: applied, then not applied with the conditioned column only.
        guard case .execute = conditional[2].request, case .execute = conditional[3].request else {
            Issue.record("expected EXECUTE for the prepared conditional update")
            return
        }
        #expect(outcome[2] == [["[applied]": .boolean(true)]])
        #expect(Self.columns(conditional[3].response) == ["[applied]", "epoch"])
        #expect(outcome[3] == [["[applied]": .boolean(false), "epoch": .bigint(2)]])
        // DELETE ... IF owner = 'w2' with serial consistency LOCAL_SERIAL: applied.
        guard case let .query(delete) = conditional[4].request else {
            Issue.record("expected a QUERY for the conditional delete")
            return
        }
        #expect(delete.parameters.serialConsistency == .localSerial)
        #expect(outcome[4] == [["[applied]": .boolean(true)]])
        // DELETE ... IF EXISTS on a missing row: not applied, and nothing else.
        #expect(Self.queryText(conditional[5].request)?.hasSuffix("IF EXISTS") == true)
        #expect(outcome[5] == [["[applied]": .boolean(false)]])

        // The SERIAL read sees the row the applied prepared update wrote.
        let serial = try #require(exchanges.first { exchange in
            if case let .query(query) = exchange.request { query.parameters.consistency == .serial } else { false }
        })
        let row = try #require(try Self.rows(serial.response).first)
        #expect(row["owner"] == .text("w2"))
        #expect(row["epoch"] == .bigint(2))
    }

    @Test("paging.pcap: each page's paging_state is what the driver sends back for the next page")
    func paging() throws {
        let exchanges = Self.exchanges(try Self.session("captures-c311/paging.pcap"))
        let paged = exchanges.filter { exchange in
            switch exchange.request {
            case let .query(query): query.parameters.pageSize == 10
            case let .execute(execute): execute.parameters.pageSize == 7
            default: false
            }
        }
        #expect(paged.count == 5)
        func state(_ response: Envelope<ResponseMessage>) -> [UInt8]? {
            if case let .result(.rows(rows)) = response.message { rows.metadata.pagingState } else { nil }
        }
        func sentState(_ request: RequestMessage) -> [UInt8]? {
            switch request {
            case let .query(query): query.parameters.pagingState
            case let .execute(execute): execute.parameters.pagingState
            default: nil
            }
        }
        // QUERY, page size 10, over 25 rows: 10 + 10 + 5, the last page without a paging state.
        let query = Array(paged.prefix(3))
        #expect(try query.map { try Self.rows($0.response).count } == [10, 10, 5])
        #expect(sentState(query[0].request) == nil)
        #expect(state(query[0].response) == Hex.bytes("0006000400000009f07ffffff5f07ffffff5"))
        #expect(sentState(query[1].request) == state(query[0].response))
        #expect(sentState(query[2].request) == state(query[1].response))
        #expect(state(query[2].response) == nil)
        // Prepared SELECT, page size 7, resumed from the first page's state.
        let prepared = Array(paged.suffix(2))
        #expect(try prepared.map { try Self.rows($0.response).count } == [7, 7])
        #expect(sentState(prepared[1].request) == state(prepared[0].response))
        #expect(state(prepared[1].response) != nil)
        let pageOne = try Self.rows(prepared[0].response).compactMap { $0["c"] }
        let pageTwo = try Self.rows(prepared[1].response).compactMap { $0["c"] }
        #expect(pageOne == (0 ..< 7).map { .int(Int32($0)) })
        #expect(pageTwo == (7 ..< 14).map { .int(Int32($0)) })
    }

    @Test("errors.pcap: each error code with its fields and Cassandra's message")
    func errors() throws {
        let exchanges = Self.exchanges(try Self.session("captures-c311/errors.pcap"))
        let errors = exchanges.compactMap { Self.error($0.response) }
        #expect(errors.map(\.code) == [0x2000, 0x2200, 0x2200, 0x2400, 0x2400, 0x1000, 0x1000, 0x2500])
        guard errors.count == 8 else { return }
        #expect(errors[0].kind == .syntaxError)
        #expect(errors[0].message == "line 1:0 no viable alternative at input 'SELEKT' ([SELEKT]...)")
        #expect(errors[1].message == "unconfigured table no_such_table")
        #expect(errors[2].message.hasSuffix("use ALLOW FILTERING"))
        #expect(errors[3].kind == .alreadyExists(keyspace: "cap", table: "pg"))
        #expect(errors[3].message == "Cannot add already existing table \"pg\" to keyspace \"cap\"")
        #expect(errors[4].kind == .alreadyExists(keyspace: "cap", table: ""))
        #expect(errors[5].kind == .unavailable(consistency: .two, required: 2, alive: 1))
        #expect(errors[5].message == "Cannot achieve consistency level TWO")
        #expect(errors[6].kind == .unavailable(consistency: .three, required: 3, alive: 1))
        let unknownID = try #require(exchanges.last)
        guard case let .execute(execute) = unknownID.request else {
            Issue.record("expected the EXECUTE of an unknown id")
            return
        }
        #expect(errors[7].kind == .unprepared(id: execute.id))
        #expect(execute.id == [UInt8](repeating: 0, count: 16))
    }

    @Test("auth.pcap: AUTHENTICATE names the PasswordAuthenticator; SASL PLAIN; success, bad credentials, no credentials")
    func auth() throws {
        let connections = try CaptureCorpus.connections("captures-c311/auth.pcap")
        #expect(connections.count == 4)
        var outcomes: [String] = []
        for connection in connections {
            let exchanges = Self.exchanges(connection)
            let startup = try #require(exchanges.first { if case .startup = $0.request { true } else { false } })
            #expect(startup.response.message == .authenticate(Authenticate(authenticator: "org.apache.cassandra.auth.PasswordAuthenticator")))
            guard let auth = exchanges.first(where: { if case .authResponse = $0.request { true } else { false } }) else {
                outcomes.append("stopped at AUTHENTICATE")
                continue
            }
            switch auth.response.message {
            case let .authSuccess(success):
                #expect(auth.request == .authResponse(AuthResponse(token: Array("\0cassandra\0cassandra".utf8))))
                #expect(success.token == nil)
                outcomes.append("success")
            case let .error(error):
                #expect(auth.request == .authResponse(AuthResponse(token: Array("\0cassandra\0wrong".utf8))))
                #expect(error.kind == .badCredentials)
                #expect(error.message == "Provided username cassandra and/or password are incorrect")
                outcomes.append("bad credentials")
            default:
                Issue.record("unexpected answer to AUTH_RESPONSE: \(auth.response.message)")
            }
        }
        #expect(outcomes == ["success", "success", "bad credentials", "stopped at AUTHENTICATE"])
    }

    @Test("events.pcap: SCHEMA_CHANGE events on stream -1 of the registered connection, and the matching RESULTs")
    func events() throws {
        let connections = try CaptureCorpus.connections("captures-c311/events.pcap")
        let control = try #require(connections.first)
        #expect(CaptureCorpus.requests(control).contains { $0.message == .register(Register(events: ["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"])) })
        let events = CaptureCorpus.responses(control).filter { $0.stream == -1 }
        let expected: [SchemaChange] = [.created, .updated, .dropped].map {
            SchemaChange(changeType: $0, target: .table, keyspace: "cap", name: "ev_tmp")
        }
        #expect(events.map(\.envelope.message) == expected.map { .event(.schemaChange($0)) })
        let results = Self.exchanges(try Self.session("captures-c311/events.pcap")).compactMap { exchange -> SchemaChange? in
            if case let .result(.schemaChange(change)) = exchange.response.message { change } else { nil }
        }
        #expect(results == expected)
    }

    @Test("batch.pcap: logged and unlogged batches; a conditional batch applied, then not applied with the key columns")
    func batch() throws {
        let exchanges = Self.exchanges(try Self.session("captures-c311/batch.pcap"))
        let batches = exchanges.compactMap { exchange -> (Batch, Envelope<ResponseMessage>)? in
            if case let .batch(batch) = exchange.request { (batch, exchange.response) } else { nil }
        }
        #expect(batches.map(\.0.type) == [.logged, .unlogged, .logged, .logged])
        guard batches.count == 4 else { return }
        let kinds = batches[0].0.statements.map { statement in
            if case .prepared = statement { "prepared" } else { "query" }
        }
        #expect(Set(kinds) == ["prepared", "query"])
        #expect(batches[0].1.message == .result(.void))
        #expect(batches[1].1.message == .result(.void))
        #expect(try Self.rows(batches[2].1) == [["[applied]": .boolean(true)]])
        #expect(Self.columns(batches[3].1) == ["[applied]", "p", "c", "v"])
        #expect(try Self.rows(batches[3].1) == [["[applied]": .boolean(false), "p": .int(2), "c": .int(0), "v": .text("x")]])
    }

    @Test("types.pcap: a row of every scalar type and collection, and a row of nulls, read back as written")
    func types() throws {
        let exchanges = Self.exchanges(try Self.session("captures-c311/types.pcap"))
        let select = try #require(exchanges.first { Self.queryText($0.request) == "SELECT * FROM types" })
        let rows = try Self.rows(select.response)
        #expect(rows.count == 2)
        let full = try #require(rows.first { $0["a"] != .null })
        let expected: [String: CQLValue] = [
            "id": .uuid(try #require(UUID(uuidString: "0f0e0d0c-0b0a-4908-8706-050403020100"))),
            "a": .ascii("ascii"),
            "b": .bigint(.min),
            "bl": .blob([0x00, 0x01, 0xFF]),
            "bo": .boolean(true),
            "d": .double(3.5),
            "de": .decimal(CQLDecimal(unscaled: CQLVarint(-123_456_789), scale: 4)),
            "dt": .date(CQLDate(daysSinceEpoch: 19000)),
            "f": .float(1.25),
            "i": .inet(try #require(InetAddress("2001:db8::1"))),
            "l": .list([.int(3), .int(1), .int(2)]),
            "m": .map([CQLMapEntry(key: .text("x"), value: .int(1)), CQLMapEntry(key: .text("y"), value: .int(2))]),
            "n": .int(.min),
            "si": .smallint(.min),
            "st": .set([.text("a"), .text("b")]),
            "t": .text("h\u{e9}llo \u{2603}"),
            "ti": .tinyint(.min),
            "tm": .time(try #require(CQLTime(nanosecondsSinceMidnight: 3_723_000_000_001))),
            "tp": .tuple([.int(5), .text("five")]),
            "ts": .timestamp(1_709_210_096_789),
            "tu": .timeuuid(try #require(UUID(uuidString: "e3d5a5a0-8f1b-11ee-8080-808080808080"))),
            "vi": .varint(try #require(CQLVarint("1267650600228229401496703205377"))),
        ]
        for (column, value) in expected {
            #expect(full[column] == value, "column \(column)")
        }
        #expect(full.count == expected.count)
        // Cassandra stores an empty collection as no cell at all: it reads back as null.
        let empty = try #require(rows.first { $0["a"] == .null })
        #expect(empty.filter { $0.key != "id" }.values.allSatisfy { $0 == .null })
    }

    @Test("cassandra_compressed.pcap: STARTUP asks for snappy; every later frame is snappy-compressed")
    func snappy() throws {
        for connection in try CaptureCorpus.connections("captures/cassandra_compressed.pcap") {
            let startup = try #require(connection.requests.first)
            #expect(startup.compression == .snappy)
            #expect(try startup.frame.decodeRequest(compression: nil).message == .startup(Startup(options: [("CQL_VERSION", "3.0.0"), ("COMPRESSION", "snappy")])))
            #expect((connection.requests.dropFirst() + connection.responses).allSatisfy { $0.raw.flags & 0x01 != 0 })
            let ready = try #require(connection.responses.first)
            #expect(try ready.frame.decodeResponse(compression: .snappy).message == .ready)
        }
        let rows = try CaptureCorpus.connections("captures/cassandra_compressed.pcap").flatMap { connection in
            try CaptureCorpus.responses(connection).flatMap { _, envelope -> [[String: CQLValue]] in
                if case .result(.rows) = envelope.message { try Self.rows(envelope) } else { [] }
            }
        }
        #expect(rows.contains { $0["artist"] == .text("Joséphine Baker") && $0["title"] == .text("La Petite Tonkinoise") })
    }

    @Test("lz4.pcap: STARTUP asks for lz4; QUERY, PREPARE, EXECUTE, RESULT and an LWT all travel compressed")
    func lz4() throws {
        let session = try Self.session("captures-c311/lz4.pcap")
        #expect(session.requests.first { $0.raw.opcode == Opcode.startup.rawValue }?.compression == .lz4)
        let exchanges = Self.exchanges(session)
        let opcodes = Set(exchanges.map(\.request.opcode))
        #expect(opcodes.isSuperset(of: [.query, .prepare, .execute]))
        let afterStartup = session.requests.drop { $0.raw.opcode != Opcode.startup.rawValue }.dropFirst()
        #expect(afterStartup.allSatisfy { $0.raw.flags & 0x01 != 0 })
        let lwt = try #require(exchanges.last)
        #expect(Self.queryText(lwt.request)?.hasSuffix("IF NOT EXISTS") == true)
        #expect(try Self.rows(lwt.response) == [["[applied]": .boolean(true)]])
        let select = try #require(exchanges.first { Self.queryText($0.request) == "SELECT * FROM pg WHERE p = 4" })
        #expect(try Self.rows(select.response).count == 5)
    }

    @Test("cassandra_trace_err.pcap: a traced QUERY with page size, serial consistency and timestamp → config error")
    func traceError() throws {
        let connection = try #require(try CaptureCorpus.connections("captures/cassandra_trace_err.pcap").first)
        let request = try #require(connection.requests.first)
        #expect(request.raw.flags == 0x02)
        let decoded = try request.frame.decodeRequest(compression: nil).message
        let expected = Query(query: "DROP KEYSPACE mykeyspace;",
                             parameters: QueryParameters(consistency: .one, pageSize: 100, serialConsistency: .serial,
                                                         defaultTimestamp: 1_470_296_132_129_220))
        #expect(decoded == .query(expected))
        let answer = try #require(connection.responses.first)
        let error = try #require(Self.error(try answer.frame.decodeResponse(compression: nil)))
        #expect(error.kind == .configError)
        #expect(error.message == "Cannot drop non existing keyspace 'mykeyspace'.")
    }

    @Test("negotiation.pcap: the refused versions' answers are protocol errors in a v5 USE_BETA frame")
    func negotiation() throws {
        let connections = try CaptureCorpus.connections("captures-c311/negotiation.pcap")
        let refused = connections.prefix(3)
        let messages = try refused.map { connection -> String in
            let answer = try #require(connection.responses.first)
            var reader = ByteReader(answer.raw.body)
            guard case let .error(error) = try ResponseMessage(opcode: .error, body: &reader) else { return "" }
            #expect(error.kind == .protocolError)
            return error.message
        }
        #expect(messages.count == 3)
        guard messages.count == 3 else { return }
        #expect(messages[0].hasPrefix("Invalid or unsupported protocol version (66); supported versions are (3/v3, 4/v4, 5/v5-beta)"))
        #expect(messages[1].hasPrefix("Invalid or unsupported protocol version (65)"))
        #expect(messages[2].hasPrefix("Beta version of the protocol used (5/v5-beta), but USE_BETA flag is unset"))
        // Then v4: OPTIONS → SUPPORTED advertising what Cassandra 3.11 speaks.
        let v4 = try #require(connections.dropFirst(3).first)
        let supported = try #require(CaptureCorpus.responses(v4).first)
        guard case let .supported(options) = supported.envelope.message else {
            Issue.record("expected SUPPORTED, got \(supported.envelope.message)")
            return
        }
        #expect(options.options.first { $0.0 == "PROTOCOL_VERSIONS" }?.1 == ["3/v3", "4/v4", "5/v5-beta"])
    }

    @Test("bad_frames.pcap: what Cassandra refused, our decoder refuses with a typed error")
    func badFrames() throws {
        let capture = try PcapCapture(contentsOf: FixturePath.url("captures-c311/bad_frames.pcap"))
        let byPort = Dictionary(uniqueKeysWithValues: capture.connections.map { ($0.clientPort, $0) })
        func connection(_ port: UInt16) throws -> TCPConnection {
            try #require(byPort[port], "no connection from port \(port)")
        }
        func decoderError(_ bytes: [UInt8]) -> WireError? {
            var decoder = FrameDecoder()
            decoder.append(bytes)
            do {
                while try decoder.nextFrame() != nil {}
                return nil
            } catch {
                return error
            }
        }
        func answer(_ port: UInt16) throws -> (RawFrame, ServerError) {
            let connection = try #require(byPort[port])
            let frame = try #require(cqlFrames(connection.serverToClient).last)
            var reader = ByteReader(frame.body)
            guard case let .error(error) = try ResponseMessage(opcode: .error, body: &reader) else {
                throw WireError.invalidValue(what: "answer", detail: "not an ERROR")
            }
            return (frame, error)
        }

        // `GET / HTTP/1.1`: the bytes read as a header whose length is far over the limit.
        #expect(decoderError(try connection(41920).clientToServer) == .frameTooLarge(length: 0x2048_5454, limit: 256 * 1024 * 1024))
        let http = try answer(41920)
        #expect(http.0.versionByte == 0x85 && http.0.flags == 0x10)
        #expect(http.1.message.hasPrefix("Invalid or unsupported protocol version (71)"))

        // Opcode 0x42 after STARTUP.
        let unknown = try #require(cqlFrames(try connection(41926).clientToServer).last)
        #expect(throws: WireError.unknownOpcode(0x42)) {
            _ = try CapturedFrame(file: "", clientPort: 0, raw: unknown).frame.decodeRequest(compression: nil)
        }
        let unknownAnswer = try answer(41926)
        #expect(unknownAnswer.0.stream == unknown.stream)
        #expect(unknownAnswer.1.kind == .protocolError && unknownAnswer.1.message == "Unknown opcode 66")

        // 300 MiB and negative lengths: refused from the header alone.
        #expect(decoderError(try connection(41928).clientToServer) == .frameTooLarge(length: 300 * 1024 * 1024, limit: 256 * 1024 * 1024))
        #expect(decoderError(try connection(45484).clientToServer) == .negativeLength(what: "frame body length", length: -5))

        // A truncated STARTUP: the decoder waits for the rest, as Cassandra did.
        var decoder = FrameDecoder()
        decoder.append(try connection(45454).clientToServer)
        #expect(try decoder.nextFrame() == nil)
        #expect(decoder.bufferedCount == 19)

        // QUERY before STARTUP is a well-formed frame; refusing it is the connection state machine's job.
        let early = try #require(cqlFrames(try connection(45462).clientToServer).first)
        guard case .query = try CapturedFrame(file: "", clientPort: 0, raw: early).frame.decodeRequest(compression: nil).message else {
            Issue.record("expected a QUERY")
            return
        }
        #expect(try answer(45462).1.message == "Unexpected message QUERY, expecting STARTUP or OPTIONS")

        // A request frame with the response bit.
        let wrongDirection = try #require(cqlFrames(try connection(45478).clientToServer).first)
        #expect(throws: WireError.self) {
            _ = try CapturedFrame(file: "", clientPort: 0, raw: wrongDirection).frame.decodeRequest(compression: nil)
        }
        #expect(try answer(45478).1.message.hasPrefix("Wrong protocol direction (expected REQUEST, got RESPONSE) for opcode 5 (OPTIONS)"))
    }
}
