import Dispatch
import Logging
import Metrics
import Synchronization

/// How a request travels: the ``HostSelectionPolicy`` plans the nodes, the request is sent to the
/// plan's next node, and after a failure the ``RetryPolicy`` decides what follows (see
/// `FailedAttempt` for the cases the session settles itself).
extension CQLSession {
    /// Sends a request along its query plan, retrying as the configured ``RetryPolicy`` decides, with metrics and logs.
    ///
    /// `routed` is the statement whose partition the request touches (its routing key is only
    /// computed when the plan has a choice to make). `localOnly`: the request's consistency is a
    /// LOCAL_* one, so with a local data center only its nodes are tried. `ignored` is the answer
    /// when the policy ignores a failure (nil: the failure is rethrown).
    func perform<Result: Sendable>(kind: RequestKind, cql: String, conditional: Bool, idempotent: Bool,
                                   localOnly: Bool, routed: CQLStatement?, timeout: Duration?,
                                   ignored: (@Sendable (String) -> Result)? = nil,
                                   _ body: @escaping @Sendable (CQLConnection) async throws -> Result) async throws -> Result {
        let request = HostSelectionRequest(isConditional: conditional, isDataCenterLocal: localOnly, routed: routed)
        guard let plan = queryPlan(for: request) else { throw CQLError.sessionClosed }
        if idempotent, !conditional, let speculative = configuration.speculativeExecution, speculative.maxExecutions > 1,
           plan.count > 1 {
            return try await speculate(speculative, clock: configuration.clock, plan: plan, kind: kind, cql: cql,
                                       ignored: ignored, body)
        }
        return try await send(along: plan, kind: kind, cql: cql, conditional: conditional, idempotent: idempotent,
                              ignored: ignored, body)
    }

    /// The nodes to try for `request`, as the configured ``HostSelectionPolicy`` orders them; nil once the session is closed.
    private func queryPlan(for request: HostSelectionRequest) -> [NodePool]? {
        let snapshot = state.withLock { state -> (nodes: [NodePool], map: TokenMap, counter: Int)? in
            guard !state.closed else { return nil }
            state.roundRobin &+= 1
            return (state.nodes, state.tokenMap, state.roundRobin)
        }
        guard let (nodes, map, counter) = snapshot else { return nil }
        return hostSelection.queryPlan(for: request, in: HostSelectionContext(nodes: nodes, requestCounter: counter, tokenMap: map))
    }

    /// Runs an idempotent request as speculative executions: the first along the plan, each next one
    /// `policy.delay` later along the plan rotated to start at the next node, while none has finished;
    /// the first to finish (answer or final error) is the request's outcome and the others are cancelled.
    private func speculate<Result: Sendable, C: Clock>(
        _ policy: SpeculativeExecutionPolicy, clock: C, plan: [NodePool], kind: RequestKind, cql: String,
        ignored: (@Sendable (String) -> Result)?, _ body: @escaping @Sendable (CQLConnection) async throws -> Result
    ) async throws -> Result where C.Duration == Duration {
        let executions = min(policy.maxExecutions, plan.count)
        return try await withThrowingTaskGroup(of: Result.self) { group in
            for index in 0..<executions {
                group.addTask {
                    if index > 0 {
                        try await clock.sleep(for: policy.delay * index)
                        self.metrics.speculativeExecutionStarted()
                        self.logger.debug("speculative execution", metadata: ["cql.query": "\(cql)", "cql.execution": "\(index)"])
                    }
                    let rotated = Array(plan[index...] + plan[..<index])
                    return try await self.send(along: rotated, kind: kind, cql: cql, conditional: false, idempotent: true,
                                               ignored: ignored, body)
                }
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CQLError.noHostAvailable(errors: []) }
            return first
        }
    }

    /// Sends a request along `plan`: each attempt goes to the plan's next reachable node (wrapping
    /// round the plan), and a failed one is handed to the configured ``RetryPolicy``.
    private func send<Result: Sendable>(along plan: [NodePool], kind: RequestKind, cql: String, conditional: Bool,
                                        idempotent: Bool, ignored: (@Sendable (String) -> Result)?,
                                        _ body: @Sendable (CQLConnection) async throws -> Result) async throws -> Result {
        let metrics = self.metrics
        let policy = configuration.retryPolicy
        let started = metrics.isEnabled ? DispatchTime.now().uptimeNanoseconds : 0
        var errors: [String] = []
        var retries = 0
        // The plan's node to try next (wrapping round the plan), and how many nodes were found unreachable.
        var position = 0
        var unreachable = 0
        var logger = self.logger
        // Every log line below is debug or trace: the metadata is only worth building when they print.
        if logger.logLevel <= .debug { logger[metadataKey: "cql.kind"] = "\(kind.label)" }
        func finish(failed: Bool) {
            guard metrics.isEnabled else { return }
            metrics.requestFinished(kind, nanoseconds: DispatchTime.now().uptimeNanoseconds &- started, failed: failed)
        }
        if plan.isEmpty, let local = configuration.localDatacenter {
            finish(failed: true)
            throw CQLError.noHostAvailable(errors: ["no node of the local data center \(local) is known"])
        }
        while unreachable < plan.count {
            let node = plan[position % plan.count]
            let connection: CQLConnection
            do {
                connection = try await node.connection()
            } catch {
                errors.append("\(node.endpoint): \(error)")
                unreachable += 1
                position += 1
                continue
            }
            metrics.requestSent(kind, conditional: conditional)
            logger.trace("sending", metadata: ["cql.endpoint": "\(connection.endpoint)", "cql.query": "\(cql)",
                                               "cql.retries": "\(retries)"])
            let failure: any Error
            do {
                let result = try await body(connection)
                finish(failed: false)
                return result
            } catch {
                failure = error
            }
            if failure is ServerError || failure is CQLError { errors.append("\(connection.endpoint): \(failure)") }
            let request = RetryRequest(cql: cql, isIdempotent: idempotent, retryCount: retries)
            let decision: RetryDecision
            switch policy.handle(failure, of: request, conditional: conditional, endpoint: connection.endpoint) {
            case .notSent:
                unreachable += 1
                position += 1
                continue
            case let .lwtOutcomeUnknown(reason):
                finish(failed: true)
                metrics.lwtUnknown?.increment()
                logger.debug("LWT outcome unknown", metadata: ["cql.error": "\(reason)", "cql.query": "\(cql)"])
                throw CQLError.lwtOutcomeUnknown(reason: reason)
            case let .fail(logged):
                // A cancelled speculative execution did not fail: another one answered.
                finish(failed: !(failure is CancellationError))
                if logged { logger.debug("request failed", metadata: ["cql.error": "\(failure)", "cql.query": "\(cql)"]) }
                throw failure
            case let .decided(decided, cause):
                metrics.retryDecided(decided, after: cause)
                decision = decided
            }
            switch decision {
            case .retrySameHost, .retryNextHost:
                if case .retryNextHost = decision { position += 1 }
                retries += 1
                logger.debug("retrying", metadata: ["cql.error": "\(failure)", "cql.endpoint": "\(connection.endpoint)",
                                                    "cql.decision": "\(decision.label)"])
            case .ignore:
                if let ignored {
                    finish(failed: false)
                    logger.debug("failure ignored", metadata: ["cql.error": "\(failure)", "cql.query": "\(cql)"])
                    return ignored(connection.endpoint)
                }
                fallthrough
            case .rethrow:
                finish(failed: true)
                logger.debug("request failed", metadata: ["cql.error": "\(failure)", "cql.query": "\(cql)"])
                throw failure
            }
        }
        finish(failed: true)
        throw CQLError.noHostAvailable(errors: errors)
    }
}
