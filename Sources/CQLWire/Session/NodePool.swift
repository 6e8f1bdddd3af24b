import Dispatch
import Logging
import Synchronization

/// One node as a session sees it: where it is, its data centre, whether it looks reachable, and the
/// session's connections to it (a few, opened on demand and kept filled, reopened with exponential
/// backoff and jitter after failures). A ``HostSelectionPolicy`` orders these.
public final class NodePool: Sendable {
    private struct State: Sendable {
        var connections: [CQLConnection] = []
        var opening: Task<CQLConnection, any Error>?
        var failures = 0
        var nextAttempt: UInt64 = 0
        var reconnectScheduled = false
        var lastError: String?
        var tokens: [Int64] = []
        var dataCenter: String?
        var closed = false
        var cursor = 0
    }

    /// Where the node serves CQL.
    public let endpoint: CQLEndpoint
    private let target: Int
    private let reconnection: ReconnectionPolicy
    private let makeConfiguration: @Sendable () -> CQLConnection.Configuration
    private let logger: Logger
    private let warmUp: @Sendable (CQLConnection) async -> Void
    private let state = Mutex(State())

    /// `warmUp` runs on the first connection opened while the pool has none (the node is new, or
    /// back after a restart or an outage) before any request can use it: the session re-prepares
    /// its statements there.
    init(endpoint: CQLEndpoint, connections: Int, reconnection: ReconnectionPolicy, logger: Logger,
         configuration: @escaping @Sendable () -> CQLConnection.Configuration,
         warmUp: @escaping @Sendable (CQLConnection) async -> Void = { _ in }) {
        self.endpoint = endpoint
        self.target = max(1, connections)
        self.reconnection = reconnection
        self.logger = logger
        self.makeConfiguration = configuration
        self.warmUp = warmUp
    }

    /// The node's data center (from `system.local` / `system.peers`), for NetworkTopologyStrategy replicas.
    public internal(set) var dataCenter: String? {
        get { state.withLock { $0.dataCenter } }
        set { state.withLock { $0.dataCenter = newValue } }
    }

    /// The node's tokens (from `system.local` / `system.peers`), for token-aware routing.
    var tokens: [Int64] {
        get { state.withLock { $0.tokens } }
        set { state.withLock { $0.tokens = newValue } }
    }

    /// Whether the node looks reachable: it has an open connection, or is not waiting out a backoff.
    public var isUp: Bool {
        let now = DispatchTime.now().uptimeNanoseconds
        return state.withLock { state in
            state.connections.contains { !$0.isClosed } || now >= state.nextAttempt
        }
    }

    /// The open connections.
    var openConnections: [CQLConnection] {
        state.withLock { $0.connections.filter { !$0.isClosed } }
    }

    /// An open connection, the less loaded of two picked in turn, opening one if there is none.
    func connection() async throws -> CQLConnection {
        enum Choice { case use(CQLConnection, full: Bool), wait(Task<CQLConnection, any Error>), refuse(String) }
        let choice: Choice = state.withLock { state in
            if let chosen = Self.pick(&state) { return .use(chosen, full: state.connections.count >= target) }
            state.connections.removeAll { $0.isClosed }
            if let chosen = Self.pick(&state) { return .use(chosen, full: state.connections.count >= target) }
            if state.closed { return .refuse("the session is closed") }
            if let opening = state.opening { return .wait(opening) }
            if DispatchTime.now().uptimeNanoseconds < state.nextAttempt {
                return .refuse("reconnecting after: \(state.lastError ?? "failure")")
            }
            let task = Task { try await self.open() }
            state.opening = task
            return .wait(task)
        }
        switch choice {
        case let .use(connection, full):
            if !full { fillInBackground() }
            return connection
        case let .wait(task):
            let connection = try await task.value
            fillInBackground()
            return connection
        case let .refuse(reason):
            throw CQLError.connectionFailed(endpoint: endpoint.description, reason: reason)
        }
    }

    /// The less loaded of the two connections at the cursor; nil when the pool is empty or one of
    /// them is closed (the caller then drops the closed ones and asks again).
    private static func pick(_ state: inout State) -> CQLConnection? {
        let count = state.connections.count
        guard count > 0 else { return nil }
        state.cursor &+= 1
        let first = state.connections[state.cursor % count]
        let firstLoad = first.load
        guard !firstLoad.isClosed else { return nil }
        guard count > 1 else { return first }
        let second = state.connections[(state.cursor + 1) % count]
        let secondLoad = second.load
        guard !secondLoad.isClosed else { return nil }
        return firstLoad.inFlight <= secondLoad.inFlight ? first : second
    }

    /// Opens one connection and adds it to the pool; records the failure and schedules a retry otherwise.
    private func open() async throws -> CQLConnection {
        do {
            let connection = try await CQLConnection.connect(host: endpoint.host, port: endpoint.port,
                                                             configuration: makeConfiguration())
            // Opens are one at a time (`opening`), so no other connection can join while this one warms up.
            if state.withLock({ $0.connections.allSatisfy(\.isClosed) }) { await warmUp(connection) }
            let keep = state.withLock { state -> Bool in
                state.opening = nil
                state.failures = 0
                state.nextAttempt = 0
                guard !state.closed else { return false }
                state.connections.append(connection)
                return true
            }
            guard keep else {
                connection.close()
                throw CQLError.sessionClosed
            }
            connection.onClose { [weak self] error in self?.connectionClosed(error) }
            logger.debug("connection opened", metadata: ["cql.endpoint": "\(endpoint)"])
            return connection
        } catch {
            let delay = state.withLock { state -> Duration in
                state.opening = nil
                state.failures += 1
                state.lastError = "\(error)"
                let delay = reconnection.delay(afterFailures: state.failures)
                state.nextAttempt = DispatchTime.now().uptimeNanoseconds &+ delay.nanoseconds
                return delay
            }
            logger.debug("connecting failed", metadata: ["cql.endpoint": "\(endpoint)", "cql.error": "\(error)",
                                                           "cql.retry_in": "\(delay)"])
            scheduleReconnect(after: delay)
            throw error
        }
    }

    private func connectionClosed(_ error: CQLError) {
        let empty = state.withLock { state -> Bool in
            state.connections.removeAll { $0.isClosed }
            return state.connections.isEmpty && !state.closed
        }
        logger.debug("connection lost", metadata: ["cql.endpoint": "\(endpoint)", "cql.error": "\(error)"])
        if empty { scheduleReconnect(after: .zero) } else { fillInBackground() }
    }

    /// Opens connections up to the target in the background.
    func fillInBackground() {
        let needed = state.withLock { state -> Bool in
            guard !state.closed, state.opening == nil, !state.reconnectScheduled else { return false }
            guard state.connections.count < target else { return false }
            guard DispatchTime.now().uptimeNanoseconds >= state.nextAttempt else { return false }
            state.reconnectScheduled = true
            return true
        }
        guard needed else { return }
        Task { await self.fill() }
    }

    private func scheduleReconnect(after delay: Duration) {
        let schedule = state.withLock { state -> Bool in
            guard !state.closed, !state.reconnectScheduled else { return false }
            state.reconnectScheduled = true
            return true
        }
        guard schedule else { return }
        Task {
            if delay > .zero { try? await Task.sleep(for: delay) }
            await self.fill()
        }
    }

    private func fill() async {
        while true {
            let next = state.withLock { state -> Task<CQLConnection, any Error>? in
                guard !state.closed, state.connections.count < target, state.opening == nil else {
                    state.reconnectScheduled = false
                    return nil
                }
                // While opening, a failure may schedule the next attempt itself.
                state.reconnectScheduled = false
                let task = Task { try await self.open() }
                state.opening = task
                return task
            }
            guard let next else { return }
            do {
                _ = try await next.value
            } catch {
                // open() recorded the failure and scheduled the next attempt.
                return
            }
        }
    }

    /// Forgets the backoff so the next request tries at once (a node reported UP).
    func markUp() {
        state.withLock { state in
            state.nextAttempt = 0
            state.failures = 0
        }
        fillInBackground()
    }

    /// Closes every connection; the pool opens no more.
    func close() {
        let connections = state.withLock { state -> [CQLConnection] in
            state.closed = true
            defer { state.connections = [] }
            return state.connections
        }
        for connection in connections { connection.close() }
    }
}
