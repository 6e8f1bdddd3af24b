import Foundation
import Testing
@testable import CQLCodec
@testable import CQLWire

@Suite("Protocol v4 messages (specification section 4)")
struct MessageTests {
    static let pixie = "Fixtures/vectors/pixie_cql_captured.hex"

    @Test("every request round-trips through a frame, with and without compression and payload")
    func requestRoundTrips() throws {
        for (name, message) in MessageSamples.requests {
            for compression in [nil] + FrameCompression.allCases {
                for payload in [nil, [("k", [1, 2] as [UInt8]?), ("null", nil)]] as [[(String, [UInt8]?)]?] {
                    let bytes = message.encodeFrame(stream: 7, tracing: true, customPayload: payload, compression: compression)
                    let frame = try FrameFixtures.frame(bytes)
                    let envelope = try frame.decodeRequest(compression: compression)
                    #expect(envelope.message == message, "\(name) via \(compression?.rawValue ?? "plain")")
                    #expect(envelope.stream == 7 && envelope.header.flags.contains(.tracing))
                    #expect(envelope.customPayload.map { $0.map(\.0) } == payload.map { $0.map(\.0) })
                    #expect(envelope.customPayload.map { $0.map(\.1) } == payload.map { $0.map(\.1) })
                    let startupOrOptions = message.opcode == .startup || message.opcode == .options
                    #expect(frame.header.flags.contains(.compression) == (compression != nil && !startupOrOptions && !frame.body.isEmpty),
                            "\(name): compression flag")
                }
            }
        }
    }

    @Test("every response round-trips, with tracing id, warnings, payload and compression")
    func responseRoundTrips() throws {
        for (name, message) in try MessageSamples.responses {
            for compression in [nil] + FrameCompression.allCases {
                let plain = message.encodeFrame(stream: -1, compression: compression)
                let plainEnvelope = try FrameFixtures.frame(plain).decodeResponse(compression: compression)
                #expect(plainEnvelope.message == message, "\(name) via \(compression?.rawValue ?? "plain")")
                #expect(plainEnvelope.tracingID == nil && plainEnvelope.warnings.isEmpty && plainEnvelope.customPayload == nil)

                let decorated = message.encodeFrame(stream: 3, tracingID: MessageSamples.uuid, warnings: ["w1", "wärning"],
                                                    customPayload: [("p", [0])], compression: compression, useBeta: true)
                let envelope = try FrameFixtures.frame(decorated).decodeResponse(compression: compression)
                #expect(envelope.message == message, "\(name) decorated")
                #expect(envelope.tracingID == MessageSamples.uuid)
                #expect(envelope.warnings == ["w1", "wärning"])
                #expect(envelope.customPayload?.first?.0 == "p" && envelope.customPayload?.first?.1 == [0])
                #expect(envelope.header.flags.isSuperset(of: [.tracing, .warning, .customPayload, .useBeta]))
            }
        }
    }

    @Test("re-encoding a decoded body gives back the same bytes")
    func reencodingIsByteExact() throws {
        for (name, message) in MessageSamples.requests {
            var writer = ByteWriter()
            message.encode(into: &writer)
            var reader = ByteReader(writer.bytes)
            var again = ByteWriter()
            try RequestMessage(opcode: message.opcode, body: &reader).encode(into: &again)
            #expect(again.bytes == writer.bytes, "\(name)")
        }
        for (name, message) in try MessageSamples.responses {
            var writer = ByteWriter()
            message.encode(into: &writer)
            var reader = ByteReader(writer.bytes)
            var again = ByteWriter()
            try ResponseMessage(opcode: message.opcode, body: &reader).encode(into: &again)
            #expect(again.bytes == writer.bytes, "\(name)")
        }
    }

    @Test("every v4 error code decodes to its typed kind", arguments: MessageSamples.allErrorKinds)
    func errorCodes(kind: ServerError.Kind) throws {
        let error = ServerError(kind, message: "boom")
        var writer = ByteWriter()
        error.encode(into: &writer)
        var reader = ByteReader(writer.bytes)
        #expect(try reader.readInt32() == kind.code)
        var full = ByteReader(writer.bytes)
        let decoded = try ServerError(from: &full)
        #expect(decoded == error && full.isAtEnd)
        #expect(decoded.description.contains("boom") && decoded.description.contains(kind.name))
    }

    @Test("error descriptions read well in a log line")
    func errorDescriptions() {
        let unavailable = ServerError(.unavailable(consistency: .three, required: 3, alive: 1),
                                      message: "Cannot achieve consistency level THREE")
        #expect(unavailable.description
            == "Unavailable [0x1000]: Cannot achieve consistency level THREE (consistency THREE, required 3, alive 1)")
        let cas = ServerError(.writeTimeout(consistency: .serial, received: 0, blockFor: 1, writeType: "CAS"), message: "timeout")
        #expect(cas.isCASWriteTimeout)
        #expect(!ServerError(.writeTimeout(consistency: .one, received: 0, blockFor: 1, writeType: "SIMPLE"), message: "").isCASWriteTimeout)
        #expect(ServerError(.unprepared(id: [0x0A, 0xFF]), message: "x").description == "Unprepared [0x2500]: x (id 0aff)")
    }

    @Test("Pixie's captured request bodies decode to the expected values and re-encode byte for byte")
    func pixieRequests() throws {
        let vectors = try FrameFixtures.hexVectors(Self.pixie)
        func decode(_ name: String, _ opcode: Opcode) throws -> RequestMessage {
            let body = try #require(vectors[name], "missing \(name)")
            let message = try FrameFixtures.requestFrame(opcode, body: body).decodeRequest(compression: nil).message
            var writer = ByteWriter()
            message.encode(into: &writer)
            #expect(writer.bytes == body, "\(name) re-encoded as \(FrameFixtures.hex(writer.bytes))")
            return message
        }
        #expect(try decode("kStartupReq", .startup) == .startup(Startup(options: [("CQL_VERSION", "3.0.0")])))
        #expect(try decode("kAuthResponseReq", .authResponse) == .authResponse(.plain(username: "cassandra", password: "cassandra")))
        #expect(try decode("kRegisterReq", .register)
            == .register(Register(events: ["TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"])))
        #expect(try decode("kOptionsReq", .options) == .options)
        #expect(try decode("kQueryReq", .query)
            == .query(Query(query: "SELECT * FROM system.peers", parameters: .init(consistency: .one))))
        #expect(try decode("kBadQueryReq", .query) == .query(Query(
            query: "SELECT * FROM system.schema_keyspaces ;",
            parameters: .init(consistency: .one, pageSize: 100, serialConsistency: .serial,
                              defaultTimestamp: 0x0005_9DAF_91D4_C05C))))
        guard case let .prepare(prepare) = try decode("kPrepareReq", .prepare) else { Issue.record("not PREPARE"); return }
        #expect(prepare.query.hasPrefix("UPDATE counter1 SET \"C0\"=\"C0\"+?"))
        guard case let .execute(execute) = try decode("kExecuteReq", .execute) else { Issue.record("not EXECUTE"); return }
        #expect(execute.id == FrameFixtures.bytes(hex: "5c6e15d4084b0fd0d55a6e4b1648927c"))
        #expect(execute.parameters.consistency == .localOne && execute.parameters.pageSize == 5000)
        #expect(execute.parameters.values.count == 6 && execute.parameters.defaultTimestamp == 0x0005_9E07_8A50_B900)
        #expect(execute.parameters.flags == 0x25)
        var params = try ByteReader(#require(vectors["kQueryParams"]))
        let decoded = try QueryParameters(from: &params)
        #expect(params.isAtEnd && decoded.values.count == 6)
    }

    @Test("Pixie's captured response bodies decode to the expected values and re-encode byte for byte")
    func pixieResponses() throws {
        let vectors = try FrameFixtures.hexVectors(Self.pixie)
        func decode(_ name: String, _ opcode: Opcode) throws -> ResponseMessage {
            let body = try #require(vectors[name], "missing \(name)")
            let message = try FrameFixtures.responseFrame(opcode, body: body).decodeResponse(compression: nil).message
            var writer = ByteWriter()
            message.encode(into: &writer)
            #expect(writer.bytes == body, "\(name) re-encoded as \(FrameFixtures.hex(writer.bytes))")
            return message
        }
        #expect(try decode("kAuthenticateResp", .authenticate)
            == .authenticate(Authenticate(authenticator: "org.apache.cassandra.auth.PasswordAuthenticator")))
        #expect(try decode("kAuthSuccessResp", .authSuccess) == .authSuccess(AuthSuccess(token: nil)))
        #expect(try decode("kReadyResp", .ready) == .ready)
        #expect(try decode("kExecuteResultResp", .result) == .result(.void))
        #expect(try decode("kBadQueryErrorResp", .error)
            == .error(ServerError(.invalid, message: "unconfigured table schema_keyspaces")))
        #expect(try decode("kSupportedResp", .supported) == .supported(Supported(options: [
            ("PROTOCOL_VERSIONS", ["3/v3", "4/v4", "5/v5-beta"]), ("COMPRESSION", ["snappy", "lz4"]), ("CQL_VERSION", ["3.4.4"]),
        ])))
        #expect(try decode("kEventResp", .event) == .event(.schemaChange(SchemaChange(
            changeType: .dropped, target: .table, keyspace: "tutorialspoint", name: "emp"))))

        guard case let .result(.rows(rows)) = try decode("kResultResp", .result) else { Issue.record("not rows"); return }
        #expect(rows.rowCount == 0 && rows.metadata.globalTableSpec && rows.metadata.pagingState == nil)
        #expect(rows.metadata.columns.map(\.name) == ["peer", "data_center", "host_id", "preferred_ip", "rack",
                                                     "release_version", "rpc_address", "schema_version", "tokens"])
        #expect(rows.metadata.columns.last?.type == .set(.varchar) && rows.metadata.columns.allSatisfy { $0.table == "peers" })

        guard case let .result(.prepared(prepared)) = try decode("kPrepareResultResp", .result) else {
            Issue.record("not prepared"); return
        }
        #expect(prepared.id == FrameFixtures.bytes(hex: "5c6e15d4084b0fd0d55a6e4b1648927c"))
        #expect(prepared.metadata.columnCount == 6 && prepared.metadata.pkIndices == [5])
        #expect(prepared.metadata.columns.map(\.type) == [.counter, .counter, .counter, .counter, .counter, .blob])
        #expect(prepared.resultMetadata.noMetadata && prepared.resultMetadata.columnCount == 0)
    }

    @Test("frames the DataStax Python driver encodes decode and re-encode to the same bodies")
    func pythonDriverRequests() throws {
        struct Case: Decodable {
            var name: String
            var compression: String?
            var body: String
            var frame: String
        }
        struct File: Decodable { var cases: [Case] }
        let url = FrameFixtures.repositoryRoot.appendingPathComponent("Fixtures/python-driver/requests.json")
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        #expect(file.cases.count > 50)
        for item in file.cases {
            let frameBytes = try #require(FrameFixtures.bytes(hex: item.frame))
            let body = try #require(FrameFixtures.bytes(hex: item.body))
            let compression = try item.compression.map { try #require(FrameCompression(rawValue: $0)) }
            let frame = try FrameFixtures.frame(frameBytes)
            let envelope = try frame.decodeRequest(compression: compression)
            var writer = ByteWriter()
            envelope.message.encode(into: &writer)
            #expect(writer.bytes == body, "\(item.name): body re-encoded differently")
            let again = envelope.message.encodeFrame(stream: frame.header.stream,
                                                     tracing: frame.header.flags.contains(.tracing),
                                                     compression: compression)
            if compression == nil || !frame.header.flags.contains(.compression) {
                #expect(again == frameBytes, "\(item.name): frame re-encoded differently")
            } else {
                let ours = try FrameFixtures.frame(again).decodeRequest(compression: compression)
                #expect(ours.message == envelope.message, "\(item.name): our compressed frame decodes differently")
            }
        }
    }

    @Test("values, flags and consistency of QUERY parameters follow the v4 layout")
    func queryParameterFlags() throws {
        #expect(QueryParameters(consistency: .one).flags == 0)
        #expect(QueryParameters(consistency: .one, values: .positional([])).flags == 0x01)
        #expect(QueryParameters(consistency: .one, values: .named([])).flags == 0x41)
        #expect(MessageSamples.allParameters.flags == 0x3F)
        var unknownBit = ByteReader([0x00, 0x01, 0x80])
        #expect(throws: WireError.self) { try QueryParameters(from: &unknownBit) }
        var namesWithoutValues = ByteReader([0x00, 0x01, 0x40])
        #expect(throws: WireError.self) { try QueryParameters(from: &namesWithoutValues) }
        var badConsistency = ByteReader([0x00, 0x42, 0x00])
        #expect(throws: WireError.invalidValue(what: "query consistency", detail: "consistency 0x42")) {
            try QueryParameters(from: &badConsistency)
        }
    }

    @Test("a decoded BATCH keeps statements, kinds and values; 0x40 names are read as well")
    func batchDetails() throws {
        var writer = ByteWriter()
        writer.writeUInt8(1)
        writer.writeShort(1)
        writer.writeUInt8(0)
        writer.writeLongString("INSERT INTO t (k) VALUES (:k)")
        writer.writeShort(1)
        writer.writeString("k")
        writer.writeValue(.bytes([5]))
        writer.writeConsistency(.one)
        writer.writeUInt8(0x40)
        var reader = ByteReader(writer.bytes)
        let batch = try Batch(from: &reader)
        #expect(reader.isAtEnd && batch.type == .unlogged)
        #expect(batch.statements == [.query("INSERT INTO t (k) VALUES (:k)", .named([("k", .bytes([5]))]))])
        var badType = ByteReader([3, 0, 0, 0, 1, 0])
        #expect(throws: WireError.invalidValue(what: "batch type", detail: "3")) { try Batch(from: &badType) }
        var badKind = ByteReader([0, 0, 1, 2])
        #expect(throws: WireError.self) { try Batch(from: &badKind) }
        var lowFlags = ByteReader([0, 0, 0, 0, 1, 0x01])
        #expect(throws: WireError.self) { try Batch(from: &lowFlags) }
    }

    @Test("Rows keep their content in the frame body without copying and validate every cell")
    func rowsContent() throws {
        let rows = try MessageSamples.rows
        #expect(try rows.cellValues() == [[[1, 2], nil, [1]], [[], [0, 0, 0, 0], nil]])
        let bytes = ResponseMessage.result(.rows(rows)).encodeFrame(stream: 1)
        let frame = try FrameFixtures.frame(bytes)
        guard case let .result(.rows(decoded)) = try frame.decodeResponse(compression: nil).message else {
            Issue.record("not rows"); return
        }
        #expect(decoded.buffer == frame.body)
        #expect(decoded.contentRange.upperBound == frame.body.count)
        #expect(try decoded.cellValues() == rows.cellValues())
        // One row short of what rows_count promises.
        var short = ByteWriter()
        RowsMetadata(columns: [MessageSamples.columns[0]]).encode(into: &short)
        short.writeInt32(3)
        short.writeBytes([1])
        short.writeBytes(nil)
        var reader = ByteReader(short.bytes)
        #expect(throws: WireError.self) { try Rows(from: &reader) }
        // A huge rows_count is refused by walking, not by allocating.
        var huge = ByteWriter()
        RowsMetadata(columns: MessageSamples.columns).encode(into: &huge)
        huge.writeInt32(.max)
        var hugeReader = ByteReader(huge.bytes)
        #expect(throws: WireError.self) { try Rows(from: &hugeReader) }
        #expect(throws: WireError.self) { try Rows(metadata: RowsMetadata(columns: MessageSamples.columns), cells: [[nil]]) }
    }

    @Test("metadata flags: global table spec kept as chosen, paging state, no metadata")
    func metadataFlags() throws {
        #expect(RowsMetadata(columns: MessageSamples.columns).flags == 0x01)
        #expect(RowsMetadata(columns: MessageSamples.columns, globalTableSpec: false).flags == 0x00)
        #expect(RowsMetadata(columns: MessageSamples.mixedColumns, globalTableSpec: true).flags == 0x00)
        #expect(RowsMetadata(columns: [], columnCount: 3, pagingState: [1], noMetadata: true).flags == 0x06)
        var unknown = ByteReader([0, 0, 0, 0x08, 0, 0, 0, 0])
        #expect(throws: WireError.self) { try RowsMetadata(from: &unknown) }
        var negative = ByteReader([0, 0, 0, 0x04, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: WireError.negativeLength(what: "columns_count", length: -1)) { try RowsMetadata(from: &negative) }
    }

    @Test("unknown event types, schema targets and result kinds are refused")
    func unknownEnumerations() throws {
        var writer = ByteWriter()
        writer.writeString("KEYSPACE_CHANGE")
        var event = ByteReader(writer.bytes)
        #expect(throws: WireError.invalidValue(what: "event type", detail: "KEYSPACE_CHANGE")) { try Event(from: &event) }
        var schema = ByteWriter()
        schema.writeString("CREATED")
        schema.writeString("INDEX")
        var schemaReader = ByteReader(schema.bytes)
        #expect(throws: WireError.invalidValue(what: "schema change target", detail: "INDEX")) {
            try SchemaChange(from: &schemaReader)
        }
        var kind = ByteReader([0, 0, 0, 6])
        #expect(throws: WireError.invalidValue(what: "result kind", detail: "0x6")) { try ResultMessage(from: &kind) }
    }

    @Test("Startup and Supported options keep their wire order and answer lookups")
    func optionLookups() {
        let startup = Startup(options: [("COMPRESSION", "snappy"), ("CQL_VERSION", "3.0.0")])
        #expect(startup.cqlVersion == "3.0.0" && startup.compression == "snappy")
        #expect(Startup().compression == nil)
        let supported = Supported(options: [("COMPRESSION", ["lz4", "snappy"])])
        #expect(supported[option: "COMPRESSION"] == ["lz4", "snappy"] && supported[option: "CQL_VERSION"] == [])
    }
}
