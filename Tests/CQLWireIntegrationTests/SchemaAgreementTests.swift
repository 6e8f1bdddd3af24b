import Clocks
@testable import CQLNode
import CQLWire
import Foundation
import Logging
import Synchronization
import Testing
import TestSupport

/// Schema agreement after DDL, on a scripted three-node cluster whose third node lags behind the
/// schema (an older `schema_version`, `unconfigured table` for the new table) for a set time of a test clock.
@Suite("Schema agreement: DDL waits until every node knows the new schema")
struct SchemaAgreementTests {
    static let specs = [
        ScriptedCluster.NodeSpec(tokens: [-6_000_000_000_000_000_000], dataCenter: "dc1"),
        ScriptedCluster.NodeSpec(tokens: [0], dataCenter: "dc1"),
        ScriptedCluster.NodeSpec(tokens: [6_000_000_000_000_000_000], dataCenter: "dc1"),
    ]
    static let keyspaces = ["ks": ["class": "SimpleStrategy", "replication_factor": "3"]]
    static let create = "CREATE TABLE ks.kv (k int PRIMARY KEY, v int)"

    static func session(_ cluster: ScriptedCluster, clock: TestClock<Duration>, maxWait: Duration,
                        logs: LogRecorder = LogRecorder(), discoverNodes: Bool = true) async throws -> CQLSession {
        var configuration = CQLSession.Configuration(
            contactPoints: [cluster.endpoint(0)], requestTimeout: .seconds(5), consistency: .one, discoverNodes: discoverNodes,
            loadBalancing: .roundRobin, reconnection: ReconnectionPolicy(baseDelay: .milliseconds(20), maxDelay: .milliseconds(200)),
            logger: Logger(label: "test", factory: { _ in logs }), maxSchemaAgreementWait: maxWait)
        configuration.clock = clock
        let session = try await CQLSession.connect(configuration)
        let expected = discoverNodes ? 3 : 1
        #expect(await eventually { session.nodes.count == expected })
        return session
    }

    /// Runs `operation` while moving `clock` on in `step`s (each after the session had a moment to
    /// send its checks), returning its result and the test-clock time it took.
    static func advancing<T: Sendable>(_ clock: TestClock<Duration>, by step: Duration,
                                       _ operation: @escaping @Sendable () async throws -> T) async throws -> (T, Duration) {
        let start = clock.now
        let finished = LockedList<Bool>()
        let task = Task {
            defer { finished.append(true) }
            return try await operation()
        }
        while finished.all.isEmpty {
            // The session's checks are real requests: give them real time to come back before the next step.
            try await Task.sleep(for: .milliseconds(20))
            await clock.advance(by: step)
        }
        return (try await task.value, start.duration(to: clock.now))
    }

    /// Inserts into the new table through every node (round robin): the lagging one answers
    /// `unconfigured table kv` while it has not learnt it.
    static func insertEverywhere(_ session: CQLSession) async throws {
        for key in Int32(0)..<3 { _ = try await session.execute("INSERT INTO ks.kv (k, v) VALUES (?, ?)", [key, key]) }
    }

    @Test("DDL returns once the lagging node reports the new schema version, and statements then succeed on every node")
    func waitsForLaggingNode() async throws {
        let cluster = try await ScriptedCluster.start(Self.specs, keyspaces: Self.keyspaces)
        defer { Task { await cluster.stop() } }
        let clock = TestClock()
        let session = try await Self.session(cluster, clock: clock, maxWait: .seconds(10))
        defer { session.close() }
        #expect(try await session.checkSchemaAgreement())

        let lag = FaultInjection.SchemaLag(schemaVersion: cluster.schemaVersion, unknownTables: ["kv"])
        // Two lagging nodes: whichever coordinates the DDL (and so has it), another one lags.
        for node in 1...2 { cluster.servers[node].faults.lagSchema(lag, for: .seconds(2), clock: clock) }
        let (result, waited) = try await Self.advancing(clock, by: .milliseconds(200)) {
            try await session.execute(Self.create)
        }
        #expect(result.schemaChange?.name == "kv")
        #expect(result.schemaInAgreement)
        #expect(waited >= .seconds(2), "returned after \(waited), before the lagging node caught up")
        #expect(waited < .seconds(10))
        try await Self.insertEverywhere(session)
    }

    @Test("without the wait (maxSchemaAgreementWait 0) a statement right after DDL fails on the lagging node")
    func noWaitFailsOnLaggingNode() async throws {
        let cluster = try await ScriptedCluster.start(Self.specs, keyspaces: Self.keyspaces)
        defer { Task { await cluster.stop() } }
        let clock = TestClock()
        let session = try await Self.session(cluster, clock: clock, maxWait: .zero)
        defer { session.close() }
        let lag = FaultInjection.SchemaLag(schemaVersion: cluster.schemaVersion, unknownTables: ["kv"])
        // Two lagging nodes: whichever coordinates the DDL (and so has it), another one lags.
        for node in 1...2 { cluster.servers[node].faults.lagSchema(lag, for: .seconds(2), clock: clock) }
        let result = try await session.execute(Self.create)
        #expect(result.schemaInAgreement)
        #expect(!(try await session.checkSchemaAgreement()))
        await #expect {
            try await Self.insertEverywhere(session)
        } throws: { error in
            (error as? ServerError) == ServerError(.invalid, message: "unconfigured table kv")
        }
        await clock.advance(by: .seconds(2))
        #expect(try await session.checkSchemaAgreement())
        try await Self.insertEverywhere(session)
    }

    @Test("the wait checks on the node that ran the DDL: a control node that has not heard of it would see agreement on the old schema")
    func checksOnCoordinator() async throws {
        let cluster = try await ScriptedCluster.start(Self.specs, keyspaces: Self.keyspaces)
        defer { Task { await cluster.stop() } }
        let clock = TestClock()
        let session = try await Self.session(cluster, clock: clock, maxWait: .seconds(10))
        defer { session.close() }
        #expect(session.controlConnectionEndpoint == cluster.endpoint(0).description)
        // Round robin: a few DDL statements reach another coordinator than the control connection's node.
        for attempt in 0..<6 {
            let lag = FaultInjection.SchemaLag(schemaVersion: cluster.schemaVersion, unknownTables: ["kv"])
            cluster.servers[0].faults.lagSchema(lag, for: .seconds(2), clock: clock)
            let (result, waited) = try await Self.advancing(clock, by: .milliseconds(200)) {
                try await session.execute(Self.create)
            }
            cluster.servers[0].faults.endSchemaLag()
            guard result.coordinator != cluster.endpoint(0).description else { continue }
            #expect(result.schemaInAgreement)
            #expect(waited >= .seconds(2), "attempt \(attempt): returned after \(waited), before the control node caught up")
            return
        }
        Issue.record("no DDL went to another node than the control connection's")
    }

    @Test("a session that does not discover nodes (a shell on one node) still waits for every peer")
    func withoutDiscovery() async throws {
        let cluster = try await ScriptedCluster.start(Self.specs, keyspaces: Self.keyspaces)
        defer { Task { await cluster.stop() } }
        let clock = TestClock()
        let session = try await Self.session(cluster, clock: clock, maxWait: .seconds(10), discoverNodes: false)
        defer { session.close() }
        let lag = FaultInjection.SchemaLag(schemaVersion: cluster.schemaVersion, unknownTables: ["kv"])
        cluster.servers[1].faults.lagSchema(lag, for: .seconds(1), clock: clock)
        let (result, waited) = try await Self.advancing(clock, by: .milliseconds(200)) {
            try await session.execute(Self.create)
        }
        #expect(result.schemaInAgreement)
        #expect(waited >= .seconds(1))
    }

    @Test("agreement not reached within the bound: the DDL still succeeds, flagged, with a warning logged")
    func timeoutIsAFlagNotAnError() async throws {
        let cluster = try await ScriptedCluster.start(Self.specs, keyspaces: Self.keyspaces)
        defer { Task { await cluster.stop() } }
        let clock = TestClock()
        let logs = LogRecorder()
        let session = try await Self.session(cluster, clock: clock, maxWait: .seconds(10), logs: logs)
        defer { session.close() }
        let lag = FaultInjection.SchemaLag(schemaVersion: cluster.schemaVersion, unknownTables: ["kv"])
        for node in 1...2 { cluster.servers[node].faults.lagSchema(lag, for: .seconds(60), clock: clock) }
        let (result, waited) = try await Self.advancing(clock, by: .seconds(1)) {
            try await session.execute(Self.create)
        }
        #expect(!result.schemaInAgreement)
        #expect(waited >= .seconds(10))
        #expect(waited < .seconds(60))
        let warnings = logs.messages(at: .warning)
        #expect(warnings.contains { $0.contains("schema disagreement") }, "\(warnings)")

        // On demand: false while the node lags, true once it caught up.
        #expect(!(try await session.checkSchemaAgreement()))
        for node in 1...2 { cluster.servers[node].faults.endSchemaLag() }
        #expect(try await session.checkSchemaAgreement())
        #expect(try await session.waitForSchemaAgreement())
    }
}

/// Records every log message with its level.
struct LogRecorder: LogHandler {
    final class Store: Sendable {
        private let entries = Mutex<[(Logger.Level, String)]>([])

        func append(_ level: Logger.Level, _ message: String) { entries.withLock { $0.append((level, message)) } }
        func messages(at level: Logger.Level) -> [String] { entries.withLock { $0.filter { $0.0 == level }.map(\.1) } }
    }

    let store = Store()
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
             function: String, line: UInt) {
        store.append(level, "\(message) \(metadata ?? [:])")
    }

    func messages(at level: Logger.Level) -> [String] { store.messages(at: level) }
}
