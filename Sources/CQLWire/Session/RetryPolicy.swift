/// What the session does with a request that failed.
public enum RetryDecision: Sendable, Hashable {
    /// Send it again to the node that answered.
    case retrySameHost
    /// Send it to the next node of its query plan.
    case retryNextHost
    /// Give the error to the caller.
    case rethrow
    /// Answer the caller as if the request had succeeded with no result (a void RESULT).
    case ignore

    /// Every decision, in the order of ``index``.
    static let all: [RetryDecision] = [.retrySameHost, .retryNextHost, .rethrow, .ignore]

    /// The decision's position in ``all``.
    var index: Int {
        switch self {
        case .retrySameHost: 0
        case .retryNextHost: 1
        case .rethrow: 2
        case .ignore: 3
        }
    }

    /// The value of the `decision` label of `cql_retry_decisions_total`.
    var label: String {
        switch self {
        case .retrySameHost: "retry"
        case .retryNextHost: "retry_next"
        case .rethrow: "rethrow"
        case .ignore: "ignore"
        }
    }
}

/// The request a ``RetryPolicy`` decides about.
public struct RetryRequest: Sendable {
    /// The CQL text (`BATCH` for a batch).
    public var cql: String
    /// Whether the statement may be applied twice with the same effect (``CQLStatement/isIdempotent``).
    public var isIdempotent: Bool
    /// Retries already made for this request (0 at its first failure).
    public var retryCount: Int

    /// A request description.
    public init(cql: String, isIdempotent: Bool, retryCount: Int) {
        self.cql = cql
        self.isIdempotent = isIdempotent
        self.retryCount = retryCount
    }
}

/// Decides whether a failed request is sent again, and where (the DataStax drivers' `RetryPolicy`).
///
/// The session asks it about every failure but two it settles itself: a request that certainly
/// never reached a node (no connection, refused before sending) always goes to the next node, and
/// a lightweight transaction whose outcome is unknown (WriteTimeout CAS or SIMPLE, WriteFailure, a
/// client timeout or a lost connection after sending) fails with ``CQLError/lwtOutcomeUnknown(reason:)``:
/// only a SERIAL read can tell whether it was applied.
public protocol RetryPolicy: Sendable {
    /// A replica read timed out (ERROR ReadTimeout): `received` of `blockFor` replicas answered,
    /// `dataPresent` whether the replica asked for the data did.
    func onReadTimeout(_ request: RetryRequest, consistency: Consistency, received: Int32, blockFor: Int32,
                       dataPresent: Bool) -> RetryDecision
    /// A replica write timed out (ERROR WriteTimeout) with `writeType` (SIMPLE, BATCH, BATCH_LOG,
    /// UNLOGGED_BATCH, COUNTER, CAS, VIEW, CDC): the write may or may not be applied.
    func onWriteTimeout(_ request: RetryRequest, consistency: Consistency, writeType: String, received: Int32,
                        blockFor: Int32) -> RetryDecision
    /// The coordinator knew too few replicas alive (ERROR Unavailable): nothing was applied.
    func onUnavailable(_ request: RetryRequest, consistency: Consistency, required: Int32, alive: Int32) -> RetryDecision
    /// Any other failure after the request was sent: a client-side timeout, a lost connection, a
    /// malformed answer, or ERROR Overloaded, Server error or Truncate error; the request may have been applied.
    func onRequestError(_ request: RetryRequest, error: any Error) -> RetryDecision
}

/// The DataStax drivers' documented default:
///
/// - ReadTimeout: retried once on the same node when enough replicas answered but the one asked
///   for the data did not (the read was nearly complete); otherwise rethrown.
/// - WriteTimeout: retried once on the same node when its write type is BATCH_LOG (the coordinator
///   failed writing the batch log; a logged batch is replayed from the log or applied by the retry,
///   never twice over a client timestamp), whatever the statement's idempotence; otherwise rethrown.
/// - Unavailable: tried once on the next node (another coordinator may see more replicas alive).
/// - Request errors: tried on the next node only when the statement is idempotent, at most
///   ``maxRetries`` times; the drivers try each node of the plan once, this policy wraps around
///   the plan so a one-node cluster retries too.
public struct DefaultRetryPolicy: RetryPolicy, Hashable {
    /// Retries of an idempotent statement after request errors.
    public var maxRetries: Int

    /// A policy; by default two retries after request errors.
    public init(maxRetries: Int = 2) {
        self.maxRetries = maxRetries
    }

    public func onReadTimeout(_ request: RetryRequest, consistency: Consistency, received: Int32, blockFor: Int32,
                              dataPresent: Bool) -> RetryDecision {
        request.retryCount == 0 && received >= blockFor && !dataPresent ? .retrySameHost : .rethrow
    }

    public func onWriteTimeout(_ request: RetryRequest, consistency: Consistency, writeType: String, received: Int32,
                               blockFor: Int32) -> RetryDecision {
        request.retryCount == 0 && writeType == "BATCH_LOG" ? .retrySameHost : .rethrow
    }

    public func onUnavailable(_ request: RetryRequest, consistency: Consistency, required: Int32, alive: Int32) -> RetryDecision {
        request.retryCount == 0 ? .retryNextHost : .rethrow
    }

    public func onRequestError(_ request: RetryRequest, error: any Error) -> RetryDecision {
        request.isIdempotent && request.retryCount < maxRetries ? .retryNextHost : .rethrow
    }
}

/// Never retries: every failure goes to the caller (the DataStax drivers' `FallthroughRetryPolicy`).
public struct FallthroughRetryPolicy: RetryPolicy, Hashable {
    /// The policy.
    public init() {}

    public func onReadTimeout(_ request: RetryRequest, consistency: Consistency, received: Int32, blockFor: Int32,
                              dataPresent: Bool) -> RetryDecision { .rethrow }
    public func onWriteTimeout(_ request: RetryRequest, consistency: Consistency, writeType: String, received: Int32,
                               blockFor: Int32) -> RetryDecision { .rethrow }
    public func onUnavailable(_ request: RetryRequest, consistency: Consistency, required: Int32, alive: Int32) -> RetryDecision {
        .rethrow
    }
    public func onRequestError(_ request: RetryRequest, error: any Error) -> RetryDecision { .rethrow }
}

/// The failure a retry decision was about: the value of the `error` label of `cql_retry_decisions_total`.
enum RetryCause: Int, CaseIterable, Sendable {
    case readTimeout, writeTimeout, unavailable, requestError

    var label: String {
        switch self {
        case .readTimeout: "read_timeout"
        case .writeTimeout: "write_timeout"
        case .unavailable: "unavailable"
        case .requestError: "request_error"
        }
    }
}

/// What the session does after one attempt of a request failed: the rules it settles itself, and
/// otherwise the ``RetryPolicy``'s decision.
enum FailedAttempt {
    /// The request certainly never reached a node (no connection, refused before sending, or the
    /// coordinator is bootstrapping and refuses every request): the next node of the plan, not a retry.
    case notSent
    /// A conditional statement whose outcome only a SERIAL read can tell (the reason, for the error).
    case lwtOutcomeUnknown(reason: String)
    /// What the policy decided, and the failure it was asked about.
    case decided(RetryDecision, after: RetryCause)
    /// Thrown as it is: the statement itself is wrong or a replica failed rather than timed out
    /// (`logged`), or the attempt was cancelled or failed outside the protocol.
    case fail(logged: Bool)

    /// Whether `error`, answering a conditional statement, leaves its outcome unknown: a timeout or
    /// a failure in the Paxos propose or commit phase (WriteTimeout CAS, or SIMPLE for the commit).
    static func leavesLWTOutcomeUnknown(_ error: ServerError) -> Bool {
        switch error.kind {
        case let .writeTimeout(_, _, _, writeType): writeType == "CAS" || writeType == "SIMPLE"
        case .writeFailure, .readFailure: true
        default: false
        }
    }
}

extension RetryPolicy {
    /// What follows `error`, thrown by an attempt of `request` (a conditional statement when
    /// `conditional`) at `endpoint`.
    func handle(_ error: any Error, of request: RetryRequest, conditional: Bool, endpoint: String) -> FailedAttempt {
        switch error {
        case let error as ServerError:
            if conditional, FailedAttempt.leavesLWTOutcomeUnknown(error) { return .lwtOutcomeUnknown(reason: "\(endpoint): \(error)") }
            // The coordinator refuses every request while it joins: nothing was applied.
            if case .isBootstrapping = error.kind { return .notSent }
            guard let (cause, decision) = decision(on: error, request: request) else { return .fail(logged: true) }
            return .decided(decision, after: cause)
        case let error as CQLError:
            if error.requestWasNotSent { return .notSent }
            if conditional { return .lwtOutcomeUnknown(reason: "\(error)") }
            return .decided(onRequestError(request, error: error), after: .requestError)
        default:
            return .fail(logged: false)
        }
    }

    /// What the policy decides about `error`, with the cause it was asked about; nil for errors no
    /// policy is asked about (the statement itself is wrong, or a replica failed rather than timed out).
    func decision(on error: ServerError, request: RetryRequest) -> (RetryCause, RetryDecision)? {
        switch error.kind {
        case let .readTimeout(consistency, received, blockFor, dataPresent):
            (.readTimeout, onReadTimeout(request, consistency: consistency, received: received, blockFor: blockFor,
                                         dataPresent: dataPresent))
        case let .writeTimeout(consistency, received, blockFor, writeType):
            (.writeTimeout, onWriteTimeout(request, consistency: consistency, writeType: writeType, received: received,
                                           blockFor: blockFor))
        case let .unavailable(consistency, required, alive):
            (.unavailable, onUnavailable(request, consistency: consistency, required: required, alive: alive))
        case .overloaded, .serverError, .truncateError:
            (.requestError, onRequestError(request, error: error))
        default:
            nil
        }
    }
}
