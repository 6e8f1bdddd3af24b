@testable import CQLNode
import CQLWire
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
