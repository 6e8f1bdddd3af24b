import Foundation
import Metrics

/// Client-side write timestamps: microseconds since the epoch, strictly increasing within the
/// session even when the wall clock stalls or steps back, so two writes of one session never tie.
final class ClientTimestampGenerator: Sendable {
    private let last = Locked<Int64>(0)

    func next() -> Int64 {
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        return last.withLock { last in
            last = max(now, last &+ 1)
            return last
        }
    }
}

/// The session's metrics, each name registered once with one label set (swift-prometheus traps otherwise).
struct SessionMetrics: Sendable {
    /// The request kinds, the only values of the `kind` label.
    static let kinds = ["query", "execute", "batch", "prepare"]

    private let requests: [String: Counter]
    private let errors: [String: Counter]
    private let durations: [String: Metrics.Timer]
    /// `cql_lwt_requests_total`: every conditional request sent.
    let lwtRequests: Counter?
    /// `cql_lwt_outcome_unknown_total`: conditional requests whose outcome is unknown.
    let lwtUnknown: Counter?

    init(factory: (any MetricsFactory)?) {
        guard let factory else {
            requests = [:]
            errors = [:]
            durations = [:]
            lwtRequests = nil
            lwtUnknown = nil
            return
        }
        var requests: [String: Counter] = [:]
        var errors: [String: Counter] = [:]
        var durations: [String: Metrics.Timer] = [:]
        for kind in Self.kinds {
            requests[kind] = Counter(label: "cql_requests_total", dimensions: [("kind", kind)], factory: factory)
            errors[kind] = Counter(label: "cql_request_errors_total", dimensions: [("kind", kind)], factory: factory)
            durations[kind] = Metrics.Timer(label: "cql_request_duration_seconds", dimensions: [("kind", kind)], factory: factory)
        }
        self.requests = requests
        self.errors = errors
        self.durations = durations
        lwtRequests = Counter(label: "cql_lwt_requests_total", dimensions: [], factory: factory)
        lwtUnknown = Counter(label: "cql_lwt_outcome_unknown_total", dimensions: [], factory: factory)
    }

    func requestSent(_ kind: String, conditional: Bool) {
        requests[kind]?.increment()
        if conditional { lwtRequests?.increment() }
    }

    func requestFinished(_ kind: String, nanoseconds: UInt64, failed: Bool) {
        durations[kind]?.recordNanoseconds(Int64(clamping: nanoseconds))
        if failed { errors[kind]?.increment() }
    }
}
