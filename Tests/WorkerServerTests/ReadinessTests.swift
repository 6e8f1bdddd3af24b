import CQLNode
import CQLWire
import Foundation
import Logging
import Scheduler
import Synchronization
import Testing
@testable import WorkerServer

/// A clock a test moves by hand.
final class ManualInstant: Sendable {
    private let instant = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { instant.withLock { $0 } }
    func advance(by duration: Duration) { instant.withLock { $0 = $0 + duration } }
}

@Suite("Replica availability for /readyz")
struct ReplicaAvailabilityTests {
    static func node(_ host: String, _ dc: String?, up: Bool) -> CQLNodeState {
        CQLNodeState(endpoint: CQLEndpoint(host: host), datacenter: dc, isUp: up)
    }

    static let threeInDC1 = [node("10.0.0.1", "dc1", up: true), node("10.0.0.2", "dc1", up: true), node("10.0.0.3", "dc1", up: true)]

    static func withDown(_ nodes: [CQLNodeState], _ hosts: Set<String>) -> [CQLNodeState] {
        nodes.map { node in
            var node = node
            if hosts.contains(node.endpoint.host) { node.isUp = false }
            return node
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var nodes: [CQLNodeState]
        var replication: CQLKeyspaceReplication
        var localDatacenter: String?
        var consistency: Consistency
        /// nil: achievable; otherwise a part of the reason.
        var problem: String?
        var testDescription: String { name }
    }

    static let twoDCs = threeInDC1 + [node("10.1.0.1", "dc2", up: false), node("10.1.0.2", "dc2", up: false),
                                      node("10.1.0.3", "dc2", up: false)]

    static let cases: [Case] = [
        Case(name: "RF 3, all up, LOCAL_QUORUM", nodes: threeInDC1, replication: .networkTopology(["dc1": 3]),
             consistency: .localQuorum),
        Case(name: "RF 3, one down, LOCAL_QUORUM holds", nodes: withDown(threeInDC1, ["10.0.0.3"]),
             replication: .networkTopology(["dc1": 3]), consistency: .localQuorum),
        Case(name: "RF 3, one down, LOCAL_SERIAL holds", nodes: withDown(threeInDC1, ["10.0.0.3"]),
             replication: .networkTopology(["dc1": 3]), consistency: .localSerial),
        Case(name: "RF 3, two down, LOCAL_QUORUM lost", nodes: withDown(threeInDC1, ["10.0.0.2", "10.0.0.3"]),
             replication: .networkTopology(["dc1": 3]), consistency: .localQuorum,
             problem: "LOCAL_QUORUM needs 2 of 3 replicas in dc1, 1 up; down: 10.0.0.2:9042, 10.0.0.3:9042"),
        Case(name: "RF 3, two down, LOCAL_ONE holds", nodes: withDown(threeInDC1, ["10.0.0.2", "10.0.0.3"]),
             replication: .networkTopology(["dc1": 3]), consistency: .localOne),
        Case(name: "RF 3, one down, ALL lost", nodes: withDown(threeInDC1, ["10.0.0.1"]),
             replication: .networkTopology(["dc1": 3]), consistency: .all, problem: "ALL needs 3 of 3 replicas, 2 up"),
        Case(name: "RF 3 on a single node: quorum never reachable", nodes: [node("10.0.0.1", "dc1", up: true)],
             replication: .networkTopology(["dc1": 3]), consistency: .localQuorum, problem: "needs 2 of 3 replicas in dc1, 1 up"),
        Case(name: "dc2 down: LOCAL_QUORUM in dc1 holds", nodes: twoDCs, replication: .networkTopology(["dc1": 3, "dc2": 3]),
             localDatacenter: "dc1", consistency: .localQuorum),
        Case(name: "dc2 down: SERIAL across both lost", nodes: twoDCs, replication: .networkTopology(["dc1": 3, "dc2": 3]),
             localDatacenter: "dc1", consistency: .serial, problem: "SERIAL needs 4 of 6 replicas, 3 up"),
        Case(name: "dc2 down: EACH_QUORUM lost", nodes: twoDCs, replication: .networkTopology(["dc1": 3, "dc2": 3]),
             localDatacenter: "dc1", consistency: .eachQuorum, problem: "EACH_QUORUM needs 2 of 3 replicas in dc2, 0 up"),
        Case(name: "two data centres and no local one", nodes: twoDCs, replication: .networkTopology(["dc1": 3, "dc2": 3]),
             consistency: .localQuorum, problem: "set --local-dc"),
        Case(name: "local data centre without replicas", nodes: threeInDC1, replication: .networkTopology(["dc1": 3]),
             localDatacenter: "dc9", consistency: .localQuorum, problem: "no replicas in the local data centre dc9"),
        Case(name: "six nodes RF 3, two down: some partition may have lost its quorum",
             nodes: withDown(threeInDC1 + [node("10.0.0.4", "dc1", up: true), node("10.0.0.5", "dc1", up: true),
                                           node("10.0.0.6", "dc1", up: true)], ["10.0.0.4", "10.0.0.5"]),
             replication: .networkTopology(["dc1": 3]), consistency: .localQuorum, problem: "needs 2 of 3 replicas in dc1, 1 up"),
        Case(name: "embedded SimpleStrategy RF 1, up", nodes: [node("127.0.0.1", "datacenter1", up: true)],
             replication: .simple(replicationFactor: 1), consistency: .localQuorum),
        Case(name: "embedded SimpleStrategy RF 1, down", nodes: [node("127.0.0.1", "datacenter1", up: false)],
             replication: .simple(replicationFactor: 1), consistency: .localSerial,
             problem: "LOCAL_SERIAL needs 1 of 1 replicas, 0 up; down: 127.0.0.1:9042"),
    ]

    @Test("Whether a consistency level can be met with the nodes up", arguments: cases)
    func availability(_ testCase: Case) {
        let availability = ReplicaAvailability(nodes: testCase.nodes, replication: testCase.replication,
                                               localDatacenter: testCase.localDatacenter)
        let problem = availability.problem(for: testCase.consistency)
        if let expected = testCase.problem {
            #expect(problem?.contains(expected) == true, "expected a reason containing \"\(expected)\", got \(problem ?? "none")")
        } else {
            #expect(problem == nil, "expected achievable, got \(problem ?? "")")
        }
    }

    @Test("The down list names each host once and at most three")
    func downList() {
        let nodes = (1...6).map { Self.node("10.0.0.\($0)", "dc1", up: false) }
        let list = ReplicaAvailability.downList(nodes + nodes)
        #expect(list == "; down: 10.0.0.1:9042, 10.0.0.2:9042, 10.0.0.3:9042 and 3 more")
    }
}

@Suite("Readiness monitor")
struct ReadinessMonitorTests {
    static let logger = Logger(label: "readiness-test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func monitor(_ session: CQLSession, keyspace: String, clock: ManualInstant? = nil) -> ReadinessMonitor {
        let target = ReadinessMonitor.Target(session: session, keyspace: keyspace, consistency: .localQuorum,
                                             serialConsistency: .localSerial, localDatacenter: nil)
        guard let clock else { return ReadinessMonitor(target: target, logger: logger) }
        return ReadinessMonitor(target: target, logger: logger, now: { clock.now })
    }

    @Test("Ready on a reachable node with the schema; a short reason, each host once, when the node stops")
    func nodeStops() async throws {
        try await FaultyNode.with(schemaIn: "readiness") { node, _, session in
            let monitor = Self.monitor(session, keyspace: "readiness")
            #expect(await monitor.answer()?.hasPrefix("starting") == true)
            await monitor.probe()
            #expect(await monitor.answer() == nil)

            try await node.shutdown()
            // The session sees the connection close shortly after; probe until it does.
            var reason: String?
            for _ in 0..<100 {
                await monitor.probe()
                reason = await monitor.answer()
                if reason != nil { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let problem = try #require(reason, "still ready after the node stopped")
            #expect(problem.utf8.count <= ReadinessMonitor.maximumReasonBytes, "\(problem)")
            let host = "\(node.host):\(node.port)"
            #expect(problem.components(separatedBy: host).count - 1 <= 1, "a host listed twice: \(problem)")
        }
    }

    @Test("A probe running past its deadline answers 503 at once; its timeout then becomes the reason")
    func hungNode() async throws {
        try await FaultyNode.with(schemaIn: "readiness") { _, faults, session in
            let clock = ManualInstant()
            let monitor = Self.monitor(session, keyspace: "readiness", clock: clock)
            await monitor.probe()
            #expect(await monitor.answer() == nil)

            faults.add(FaultInjection.Rule(match: .any, action: .timeout))
            let probe = Task { await monitor.probe() }
            while !(await monitor.isProbing) { await Task.yield() }
            // Within the deadline the last outcome stands.
            clock.advance(by: .milliseconds(900))
            #expect(await monitor.answer() == nil)
            // Past it, the answer says so without waiting for the database.
            clock.advance(by: .milliseconds(200))
            let started = ContinuousClock.now
            let answer = await monitor.answer()
            #expect(ContinuousClock.now - started < .seconds(1))
            #expect(answer == "the database did not answer the readiness probe within 1s")

            await probe.value
            #expect(await monitor.answer() == "database unavailable (client_timeout)")
        }
    }

    @Test("An outcome older than two intervals is stale: the probing stopped")
    func stale() async throws {
        try await FaultyNode.with(schemaIn: "readiness") { _, _, session in
            let clock = ManualInstant()
            let monitor = Self.monitor(session, keyspace: "readiness", clock: clock)
            await monitor.probe()
            clock.advance(by: .seconds(5))
            #expect(await monitor.answer() == nil)
            clock.advance(by: .seconds(1))
            #expect(await monitor.answer()?.hasPrefix("the last readiness probe finished 6") == true)
        }
    }

    @Test("The schema missing is one short reason naming init_schema.sh")
    func schemaMissing() async throws {
        try await FaultyNode.with(schemaIn: "readiness") { _, _, session in
            let monitor = Self.monitor(session, keyspace: "nothing_here")
            await monitor.probe()
            #expect(await monitor.answer() == "scheduler schema missing or outdated in keyspace nothing_here: run scripts/init_schema.sh")
        }
    }
}
