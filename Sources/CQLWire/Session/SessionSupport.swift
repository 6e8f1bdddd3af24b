import Foundation
import Metrics
import Synchronization

/// Client-side write timestamps: microseconds since the epoch, strictly increasing within the
/// session even when the wall clock stalls or steps back, so two writes of one session never tie.
final class ClientTimestampGenerator: Sendable {
    private let last = Mutex<Int64>(0)

    func next() -> Int64 {
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        return last.withLock { last in
            last = max(now, last &+ 1)
            return last
        }
    }
}

/// What a request is, the value of the metrics' `kind` label.
enum RequestKind: Int, CaseIterable, Sendable {
    case query, execute, batch, prepare

    /// The label value.
    var label: String {
        switch self {
        case .query: "query"
        case .execute: "execute"
        case .batch: "batch"
        case .prepare: "prepare"
        }
    }
}

/// The session's metrics, each name registered once with one label set (swift-prometheus traps otherwise),
/// and held per kind so a request touches its counters without a lookup.
struct SessionMetrics: Sendable {
    /// The metrics of one request kind.
    private struct PerKind: Sendable {
        let requests: Counter
        let errors: Counter
        let duration: Metrics.Timer
    }

    /// Indexed by ``RequestKind/rawValue``; empty without a factory.
    private let perKind: [PerKind]
    /// `cql_lwt_requests_total`: every conditional request sent.
    let lwtRequests: Counter?
    /// `cql_lwt_outcome_unknown_total`: conditional requests whose outcome is unknown.
    let lwtUnknown: Counter?
    /// `cql_speculative_executions_total`: executions started besides the first.
    let speculativeExecutions: Counter?
    /// `cql_retry_decisions_total{error, decision}`, indexed by ``RetryCause`` then decision; empty without a factory.
    private let retryDecisions: [Counter]

    init(factory: (any MetricsFactory)?) {
        guard let factory else {
            perKind = []
            lwtRequests = nil
            lwtUnknown = nil
            speculativeExecutions = nil
            retryDecisions = []
            return
        }
        perKind = RequestKind.allCases.map { kind in
            PerKind(requests: Counter(label: "cql_requests_total", dimensions: [("kind", kind.label)], factory: factory),
                    errors: Counter(label: "cql_request_errors_total", dimensions: [("kind", kind.label)], factory: factory),
                    duration: Metrics.Timer(label: "cql_request_duration_seconds", dimensions: [("kind", kind.label)],
                                            factory: factory))
        }
        lwtRequests = Counter(label: "cql_lwt_requests_total", dimensions: [], factory: factory)
        lwtUnknown = Counter(label: "cql_lwt_outcome_unknown_total", dimensions: [], factory: factory)
        speculativeExecutions = Counter(label: "cql_speculative_executions_total", dimensions: [], factory: factory)
        retryDecisions = RetryCause.allCases.flatMap { cause in
            RetryDecision.all.map { decision in
                Counter(label: "cql_retry_decisions_total", dimensions: [("error", cause.label), ("decision", decision.label)],
                        factory: factory)
            }
        }
    }

    func speculativeExecutionStarted() {
        speculativeExecutions?.increment()
    }

    func retryDecided(_ decision: RetryDecision, after cause: RetryCause) {
        guard !retryDecisions.isEmpty else { return }
        retryDecisions[cause.rawValue * RetryDecision.all.count + decision.index].increment()
    }

    /// Whether anything is recorded (a factory was given); without one, callers skip reading the clock.
    var isEnabled: Bool { !perKind.isEmpty }

    func requestSent(_ kind: RequestKind, conditional: Bool) {
        guard !perKind.isEmpty else { return }
        perKind[kind.rawValue].requests.increment()
        if conditional { lwtRequests?.increment() }
    }

    func requestFinished(_ kind: RequestKind, nanoseconds: UInt64, failed: Bool) {
        guard !perKind.isEmpty else { return }
        perKind[kind.rawValue].duration.recordNanoseconds(Int64(clamping: nanoseconds))
        if failed { perKind[kind.rawValue].errors.increment() }
    }
}
