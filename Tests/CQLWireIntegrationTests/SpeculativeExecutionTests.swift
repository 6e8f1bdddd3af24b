import Clocks
@testable import CQLNode
import CQLWire
import Foundation
import MetricsTestKit
import Testing

/// Speculative executions against two scripted nodes, one of them slow, on a test clock.
@Suite("Speculative execution of idempotent statements")
struct SpeculativeExecutionTests {
    @Test("an idempotent statement unanswered after the delay also goes to the next node, whose answer wins; others never")
    func slowNode() async throws {
        let slow = try await TestServer.start(handler: ScriptedHandler())
        let fast = try await TestServer.start(handler: ScriptedHandler())
        defer { Task { await slow.stop(); await fast.stop() } }
        let clock = TestClock()
        let metrics = TestMetrics()
        var configuration = SessionTests.configuration([slow.endpoint, fast.endpoint], metrics: metrics)
        configuration.speculativeExecution = SpeculativeExecutionPolicy(delay: .milliseconds(100), maxExecutions: 2)
        configuration.clock = clock
        let session = try await CQLSession.connect(configuration)
        defer { session.close() }
        #expect(session.nodes.count == 2)
        // Real time, far beyond what the fast node needs even on a loaded machine, so only the
        // speculative execution (on the test clock) can answer first.
        slow.faults.add(.init(match: .cqlContains("SELECT"), action: .delay(.seconds(3))))

        // Round robin: the plans start at each node in turn; every answer comes from the fast one.
        for index in 0..<4 {
            let statement = try CQLStatement("SELECT \(index)", isIdempotent: true)
            let (result, _) = try await SchemaAgreementTests.advancing(clock, by: .milliseconds(100)) {
                try await session.execute(statement)
            }
            #expect(result.coordinator == fast.endpoint.description)
            #expect(try echoed(result) == "SELECT \(index)")
        }
        let speculative = try metrics.expectCounter("cql_speculative_executions_total").totalValue
        #expect(speculative >= 1 && speculative <= 4)

        // Not idempotent: one execution only, so the plan that starts at the slow node waits for it.
        var coordinators = Set<String>()
        for index in 0..<2 {
            let statement = try CQLStatement("SELECT plain \(index)")
            let (result, _) = try await SchemaAgreementTests.advancing(clock, by: .milliseconds(100)) {
                try await session.execute(statement)
            }
            coordinators.insert(result.coordinator)
        }
        #expect(coordinators == [slow.endpoint.description, fast.endpoint.description])
        #expect(try metrics.expectCounter("cql_speculative_executions_total").totalValue == speculative)
    }
}
