import CQLWire
import Logging
import Scheduler
import ServiceLifecycle

/// `GET /readyz`: probes the database in the background every ``interval`` and keeps the outcome,
/// so the endpoint answers at once from the last probe instead of waiting on a database that may
/// hang. A probe still running past ``deadline`` counts as a failure, and so does a last probe
/// older than two intervals (the probing stopped).
///
/// Ready means: the consistency and serial consistency the scheduler uses can be met with the
/// nodes the session sees up (``ReplicaAvailability``), and the scheduler schema is present.
actor ReadinessMonitor: Service {
    /// What the probes read.
    struct Target: Sendable {
        var session: CQLSession
        var keyspace: String
        var consistency: Consistency
        var serialConsistency: Consistency
        var localDatacenter: String?
    }

    /// The outcome of one probe.
    struct Outcome: Sendable, Equatable {
        /// When it finished.
        var finishedAt: ContinuousClock.Instant
        /// Why not ready; nil when ready.
        var problem: String?
    }

    /// The longest reason answered, in bytes.
    static let maximumReasonBytes = 200

    let target: Target
    /// Time between the starts of two probes.
    let interval: Duration
    /// How long a probe may take before it counts as failed.
    let deadline: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let logger: Logger
    private var last: Outcome?
    private var runningSince: ContinuousClock.Instant?

    /// A monitor of `target`; `now` is the clock the deadline is measured on (a test sets it).
    init(target: Target, interval: Duration = .seconds(2), deadline: Duration = .seconds(1), logger: Logger,
         now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.target = target
        self.interval = interval
        self.deadline = deadline
        self.logger = logger
        self.now = now
    }

    /// The readiness answer now, from the state the probes left: nil when ready, else one short reason.
    func answer() -> String? {
        let now = self.now()
        if let runningSince, now - runningSince > deadline {
            return "the database did not answer the readiness probe within \(Self.seconds(deadline))"
        }
        guard let last else { return "starting: no readiness probe has finished yet" }
        if now - last.finishedAt > interval * 2 + deadline {
            return "the last readiness probe finished \(Self.seconds(now - last.finishedAt)) ago"
        }
        return last.problem
    }

    /// Whether a probe is running now.
    var isProbing: Bool { runningSince != nil }

    /// Runs one probe and keeps its outcome; a probe already running is not started twice.
    func probe() async {
        guard runningSince == nil else { return }
        runningSince = now()
        let problem = await Self.check(target, timeout: deadline)
        if let problem, problem != last?.problem {
            logger.notice("not ready", metadata: ["reason": "\(problem)"])
        }
        last = Outcome(finishedAt: now(), problem: problem.map(Self.shortened))
        runningSince = nil
    }

    /// Probes every ``interval`` until the service group shuts down.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.probe()
                try? await Task.sleep(for: self.interval)
            }
        }
    }

    /// One probe of `target`: replica availability first (no request), then the schema.
    static func check(_ target: Target, timeout: Duration) async -> String? {
        let nodes = target.session.nodeStates
        guard nodes.contains(where: \.isUp) else {
            return "no Cassandra node connected" + ReplicaAvailability.downList(nodes)
        }
        if let replication = target.session.replication(ofKeyspace: target.keyspace) {
            let availability = ReplicaAvailability(nodes: nodes, replication: replication,
                                                    localDatacenter: target.localDatacenter)
            for level in [target.consistency, target.serialConsistency] {
                if let problem = availability.problem(for: level) { return problem }
            }
        }
        do {
            try await SchedulerSchema.verifySchema(session: target.session, keyspace: target.keyspace, timeout: timeout)
            return nil
        } catch JobServiceError.schemaMissing {
            return "scheduler schema missing or outdated in keyspace \(target.keyspace): run scripts/init_schema.sh"
        } catch {
            if let fault = DatabaseFault(error) { return "database unavailable (\(fault.cause))" }
            return "schema check failed: \(error)"
        }
    }

    /// At most ``maximumReasonBytes`` bytes, cut at a character.
    static func shortened(_ text: String) -> String {
        guard text.utf8.count > maximumReasonBytes else { return text }
        var result = ""
        for character in text {
            guard result.utf8.count + character.utf8.count <= maximumReasonBytes - 3 else { break }
            result.append(character)
        }
        return result + "..."
    }

    private static func seconds(_ duration: Duration) -> String {
        let parts = duration.components
        let tenths = parts.attoseconds / 100_000_000_000_000_000
        return tenths == 0 ? "\(parts.seconds)s" : "\(parts.seconds).\(tenths)s"
    }
}
