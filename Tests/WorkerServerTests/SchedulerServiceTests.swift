import CQLNode
import CQLWire
import Foundation
import Logging
import Prometheus
import Scheduler
import ServiceLifecycle
import Testing
@testable import WorkerServer

/// The scheduler inside the worker's service group, on a node whose replicas are in trouble at start-up.
@Suite("Scheduler service")
struct SchedulerServiceTests {
    static let keyspace = "scheduler_start"
    static let logger = Logger(label: "scheduler-service-test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A service group running only a scheduler service on a fresh node whose requests `faults` may fail.
    static func withScheduler(startRetryDelay: Duration,
                              _ body: (ServiceGroup, FaultInjection, CQLSession) async throws -> Void) async throws {
        try await FaultyNode.with(schemaIn: keyspace) { _, faults, session in
            let jobs = JobService(session: session, keyspace: keyspace, configuration: SchedulerConfiguration(shards: 2),
                                  handlers: HandlerRegistry.builtIns(), logger: logger,
                                  metrics: PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()))
            let runtime = SchedulerRuntime(service: jobs, workerID: "start-test", shards: 2, pollInterval: .milliseconds(50), logger: logger)
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: [.init(service: SchedulerService(runtime: runtime, gracePeriod: .zero, logger: logger,
                                                           startRetryDelay: startRetryDelay))],
                logger: logger))
            try await body(group, faults, session)
        }
    }

    @Test("A database fault at the runtime's start is tried again until the worker registers")
    func startRetried() async throws {
        try await Self.withScheduler(startRetryDelay: .milliseconds(10)) { group, faults, session in
            // The first heartbeat (which registers the worker) finds too few replicas, several times.
            let rule = faults.add(FaultInjection.Rule(match: .cqlContains("\(Self.keyspace).workers (pool"), action: .unavailable, count: 6))
            let running = Task { try await group.run() }
            var registered = false
            for _ in 0..<400 where !registered {
                let rows = try await session.execute("SELECT worker_id FROM \(Self.keyspace).workers WHERE pool = 'default'")
                registered = rows.first != nil
                if !registered { try await Task.sleep(for: .milliseconds(25)) }
            }
            #expect(registered, "the runtime never started after the faults ended")
            #expect(faults.firedCount(rule) == 6)
            await group.triggerGracefulShutdown()
            try await running.value
        }
    }

    @Test("A shutdown while the start waits to be tried again ends the service at once")
    func shutdownWhileWaiting() async throws {
        try await Self.withScheduler(startRetryDelay: .seconds(3600)) { group, faults, _ in
            let rule = faults.add(FaultInjection.Rule(match: .cqlContains("\(Self.keyspace).workers (pool"), action: .unavailable))
            let running = Task { try await group.run() }
            while faults.firedCount(rule) == 0 { try await Task.sleep(for: .milliseconds(10)) }
            await group.triggerGracefulShutdown()
            // Returns although the next try is an hour away.
            try await running.value
        }
    }
}
