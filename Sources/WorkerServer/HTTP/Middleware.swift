import CQLWire
import Foundation
import Hummingbird
import Logging
import Metrics

/// Turns every failure into a JSON error: routing misses into 404 or 405 (with `Allow`),
/// Hummingbird's own errors (413 on a too large body) into the same shape, database faults into
/// 503 with `Retry-After` and `retry_safe` (see ``DatabaseFault``), and anything unforeseen (a
/// bug) into a logged 500 that reveals nothing.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch {
            return try Self.translate(error, request: request, logger: logger).response(from: request, context: context)
        }
    }

    /// The API error a thrown error stands for.
    static func translate(_ error: any Error, request: Request, logger: Logger) -> APIError {
        if let mapped = JobServiceErrorMapping.apiError(for: error) { return mapped }
        if let http = error as? HTTPError {
            switch http.status {
            case .notFound:
                var allowed = APIRoute.allowedMethods(for: request.uri.path)
                // HEAD is answered wherever GET is (``HeadMiddleware``).
                if allowed.contains(.get) { allowed.append(.head) }
                if allowed.isEmpty {
                    return APIError(.notFound, "no such endpoint: \(request.uri.path)", field: "path")
                }
                var headers = HTTPFields()
                headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
                return APIError(.methodNotAllowed,
                                "method \(request.method.rawValue) is not allowed on \(request.uri.path); allowed: \(allowed.map(\.rawValue).joined(separator: ", "))",
                                field: "method", headers: headers)
            default:
                return APIError(http.status, http.body ?? http.status.reasonPhrase)
            }
        }
        // NIO's too-many-bytes error from collecting a body over the limit, among others.
        if let responseError = error as? any HTTPResponseError {
            if responseError.status == .contentTooLarge {
                return APIError(.contentTooLarge, "request body is too large", field: "body")
            }
            return APIError(responseError.status, responseError.status.reasonPhrase)
        }
        if let fault = DatabaseFault(error) {
            logger.warning("database request failed", metadata: ["error": "\(fault.detail)", "cause": "\(fault.cause)",
                                                                "path": "\(request.uri.path)"])
            return fault.apiError(retrySafe: APIRoute.isRetrySafe(method: request.method, path: request.uri.path))
        }
        logger.error("request failed", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
        return APIError(.internalServerError, "internal error")
    }
}

/// Drops the body of every answer to HEAD (RFC 9110 §9.3.2), keeping its status and headers,
/// `Content-Length` included: every GET route is also routed for HEAD to the same handler
/// (``WorkerAPI/makeRouter()``), so HEAD answers as GET would. Added outside the error
/// middleware, so an error answer to a HEAD loses its body too.
struct HeadMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        guard request.method == .head else { return response }
        let length = response.headers[.contentLength] ?? response.body.contentLength.map { String($0) }
        response.body = ResponseBody()
        response.headers[.contentLength] = length
        return response
    }
}

/// Requires `Authorization: Bearer <token>` on every endpoint but the public ones.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The console checks the same token itself, from its sign-in cookie.
        guard !APIRoute.isPublic(path: request.uri.path), !WebConsole.owns(path: request.uri.path) else {
            return try await next(request, context)
        }
        var challenge = HTTPFields()
        challenge[.wwwAuthenticate] = "Bearer realm=\"scheduler\""
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, "missing bearer token", field: "authorization", headers: challenge)
        }
        let prefix = "bearer "
        guard header.count > prefix.count, header.lowercased().hasPrefix(prefix) else {
            throw APIError(.unauthorized, "authorization must be 'Bearer <token>'", field: "authorization", headers: challenge)
        }
        let presented = Array(header.utf8.dropFirst(prefix.utf8.count))
        guard Self.constantTimeEqual(presented, token) else {
            throw APIError(.unauthorized, "invalid bearer token", field: "authorization", headers: challenge)
        }
        return try await next(request, context)
    }

    /// Compares without returning early, so response timing does not reveal a matching prefix.
    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
        for index in 0..<max(lhs.count, rhs.count) {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}

/// Counts requests and their latency per endpoint template and status into the worker's registry.
/// Added outermost, so it sees the statuses the error middleware produced.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let factory: any MetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        // Templates and known methods only, so job ids and odd methods do not explode the label space.
        let route = APIRoute.all.first { $0.matches(path: request.uri.path) }?.path
            ?? (WebConsole.owns(path: request.uri.path) ? "/ui" : "unmatched")
        let knownMethods: Set<HTTPRequest.Method> = [.get, .post, .put, .delete, .patch, .head, .options]
        let method = knownMethods.contains(request.method) ? request.method.rawValue : "other"
        Counter(label: "worker_http_requests_total",
                dimensions: [("method", method), ("route", route), ("status", String(response.status.code))],
                factory: factory).increment()
        Timer(label: "worker_http_request_duration_seconds", dimensions: [("method", method), ("route", route)],
              factory: factory).record(duration: ContinuousClock.now - start)
        return response
    }
}
