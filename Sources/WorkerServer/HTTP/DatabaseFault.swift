import CQLWire
import Foundation
import Hummingbird
import Scheduler

/// A failure of the database rather than of the request or the code: a replica timeout, too few
/// replicas alive, an overloaded or bootstrapping coordinator, a lost connection, a client-side
/// timeout, an LWT whose outcome is unknown, or the schema missing. The API answers each one with
/// 503, `Retry-After` and whether repeating the request is safe; never with 500.
struct DatabaseFault: Sendable, Equatable {
    /// A short name of the failure for clients and dashboards (`write_timeout`, `unavailable`, ...).
    var cause: String
    /// What happened, readable in a log line and an error body.
    var detail: String
    /// How long a client should wait before trying again.
    var retryAfterSeconds: Int

    /// The fault `error` stands for, nil when it is no database fault (a bug, bad input, a refusal).
    init?(_ error: any Error) {
        switch error {
        case let server as ServerError:
            guard let fault = Self.fault(server) else { return nil }
            self = fault
        case let client as CQLError:
            guard let fault = Self.fault(client) else { return nil }
            self = fault
        case let JobServiceError.schemaMissing(detail):
            self.init(cause: "schema_missing", detail: detail, retryAfterSeconds: 30)
        default:
            return nil
        }
    }

    init(cause: String, detail: String, retryAfterSeconds: Int) {
        self.cause = cause
        self.detail = detail
        self.retryAfterSeconds = retryAfterSeconds
    }

    private static func fault(_ error: ServerError) -> DatabaseFault? {
        let detail = "\(error)"
        switch error.kind {
        case .unavailable: return DatabaseFault(cause: "unavailable", detail: detail, retryAfterSeconds: 2)
        case .writeTimeout: return DatabaseFault(cause: "write_timeout", detail: detail, retryAfterSeconds: 1)
        case .readTimeout: return DatabaseFault(cause: "read_timeout", detail: detail, retryAfterSeconds: 1)
        case .writeFailure: return DatabaseFault(cause: "write_failure", detail: detail, retryAfterSeconds: 2)
        case .readFailure: return DatabaseFault(cause: "read_failure", detail: detail, retryAfterSeconds: 2)
        case .overloaded: return DatabaseFault(cause: "overloaded", detail: detail, retryAfterSeconds: 5)
        case .isBootstrapping: return DatabaseFault(cause: "bootstrapping", detail: detail, retryAfterSeconds: 10)
        case .truncateError, .serverError: return DatabaseFault(cause: "server_error", detail: detail, retryAfterSeconds: 2)
        // A node answering with a statement it has already forgotten: the session prepares it again on the next try.
        case .unprepared: return DatabaseFault(cause: "unprepared", detail: detail, retryAfterSeconds: 1)
        case .badCredentials, .unauthorized: return DatabaseFault(cause: "not_authorized", detail: detail, retryAfterSeconds: 30)
        case .invalid:
            // A node that has not learnt the schema yet (or a keyspace never initialised) names the
            // table or keyspace; any other invalid statement is a bug of ours.
            let message = error.message.lowercased()
            guard message.contains("unconfigured table") || message.contains("does not exist")
                || message.contains("doesn't exist") else { return nil }
            return DatabaseFault(cause: "schema_missing", detail: detail, retryAfterSeconds: 30)
        case .protocolError, .syntaxError, .configError, .alreadyExists, .functionFailure, .unknown:
            return nil
        }
    }

    private static func fault(_ error: CQLError) -> DatabaseFault? {
        let detail = "\(error)"
        switch error {
        case .requestTimedOut: return DatabaseFault(cause: "client_timeout", detail: detail, retryAfterSeconds: 1)
        case .lwtOutcomeUnknown: return DatabaseFault(cause: "outcome_unknown", detail: detail, retryAfterSeconds: 1)
        case let .noHostAvailable(errors):
            // Every node tried, often twice: name the distinct reasons once, the first few only.
            var seen = Set<String>()
            let distinct = errors.map(Self.withoutEndpoint).filter { seen.insert($0).inserted }
            let shown = distinct.prefix(2).map { $0.count > 160 ? String($0.prefix(160)) + "…" : $0 }
            let more = distinct.count > 2 ? "; and \(distinct.count - 2) more" : ""
            let unavailable = distinct.contains { $0.hasPrefix("Unavailable") }
            return DatabaseFault(cause: unavailable ? "unavailable" : "connection",
                                 detail: "no node could serve the request: " + shown.joined(separator: "; ") + more,
                                 retryAfterSeconds: 2)
        case .connectionFailed, .connectionClosed, .malformedResponse, .unexpectedResponse:
            return DatabaseFault(cause: "connection", detail: detail, retryAfterSeconds: 2)
        case .tooManyRequests: return DatabaseFault(cause: "overloaded", detail: detail, retryAfterSeconds: 1)
        case .protocolVersionRefused, .authenticationRequired, .authenticationFailed:
            return DatabaseFault(cause: "not_authorized", detail: detail, retryAfterSeconds: 30)
        case .tlsHandshakeFailed: return DatabaseFault(cause: "tls", detail: detail, retryAfterSeconds: 30)
        case .sessionClosed: return DatabaseFault(cause: "shutting_down", detail: detail, retryAfterSeconds: 5)
        // The client's own settings or statements are wrong: a bug or a misconfiguration, not the database.
        case .invalidStatement, .invalidConfiguration: return nil
        }
    }

    /// `cannot connect to ...` out of `10.0.0.2:9042: cannot connect to ...` (the session's per-node reasons).
    private static func withoutEndpoint(_ reason: String) -> String {
        guard let separator = reason.range(of: ": "), !reason[..<separator.lowerBound].contains(" ") else { return reason }
        return String(reason[separator.upperBound...])
    }

    /// The 503 answer. `retrySafe` says whether repeating the request cannot apply it twice; when it
    /// is false (a `POST /jobs` without an idempotency key) the message says how to make it safe.
    func apiError(retrySafe: Bool) -> APIError {
        var headers = HTTPFields()
        headers[.retryAfter] = String(retryAfterSeconds)
        let message = retrySafe
            ? "database unavailable (\(cause)): \(detail); retrying this request is safe"
            : "database unavailable (\(cause)): \(detail); the job may or may not have been created and a retry "
                + "without an idempotency_key may create it twice: send an idempotency_key to make retries safe"
        return APIError(.serviceUnavailable, message,
                        extra: ["retry_safe": .bool(retrySafe), "cause": .string(cause),
                                "retry_after_seconds": .number(String(retryAfterSeconds))],
                        headers: headers)
    }
}
