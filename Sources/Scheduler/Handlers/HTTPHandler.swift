import Foundation
import Logging
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOConcurrencyHelpers

/// POSTs to a URL: payload `{"url": "http://...", "timeout_seconds": n, "body": ...}`.
///
/// The request body is `body` (a string is sent as is, any other JSON value as JSON text), or
/// the whole payload when `body` is absent. Headers `X-Job-Id`, `X-Job-Attempt` and
/// `X-Fencing-Token` let the receiver fence out stale runs as the scheduler does. A status
/// outside 200...299 fails the run. The run's result keeps the response status and the last
/// ``maximumResponseBytes`` of the body, for a failed status too. The request times out at
/// `timeout_seconds` or at the run's deadline, whichever comes first (the error then reads
/// `http: no response from <url> within N s`), and is cancelled with the run's task.
public struct HTTPHandler: JobHandler {
    /// `http`.
    public static let kind = "http"

    /// How much of a response body is kept as output (its last bytes).
    public let maximumResponseBytes: Int

    /// Creates the handler.
    public init(maximumResponseBytes: Int = RunOutput.limit) {
        self.maximumResponseBytes = maximumResponseBytes
    }

    /// Sends the request and succeeds on a 2xx answer, with the response body as output.
    public func run(_ context: JobContext) async throws -> JobResult {
        let payload = try context.payloadObject(kind: Self.kind)
        guard let urlText = payload["url"]?.stringValue else {
            throw JobHandlerError.invalidPayload(kind: Self.kind, problem: "needs \"url\" as a string")
        }
        guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host != nil
        else {
            throw JobHandlerError.invalidPayload(kind: Self.kind, problem: "\"url\" must be an http or https URL")
        }
        var timeout = Self.seconds(context.remaining)
        if let value = payload["timeout_seconds"] {
            guard let seconds = value.doubleValue, seconds.isFinite, seconds > 0 else {
                throw JobHandlerError.invalidPayload(kind: Self.kind, problem: "\"timeout_seconds\" must be a positive number")
            }
            timeout = min(timeout, seconds)
        }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.timeoutInterval = max(timeout, 0.001)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(context.jobID.uuidString.lowercased(), forHTTPHeaderField: "X-Job-Id")
        request.setValue(String(context.attempt), forHTTPHeaderField: "X-Job-Attempt")
        request.setValue(String(context.attempt), forHTTPHeaderField: "X-Fencing-Token")
        switch payload["body"] {
        case .string(let text)?: request.httpBody = Data(text.utf8)
        case let value?: request.httpBody = Data(value.jsonText.utf8)
        case nil: request.httpBody = Data(context.payload.utf8)
        }
        let (data, status) = try await Self.send(request, urlText: urlText, timeout: request.timeoutInterval)
        let body = RunOutput.tail(data, limit: maximumResponseBytes)
        guard (200...299).contains(status) else {
            throw JobHandlerError.httpStatus(url: urlText, status: status, body: body)
        }
        context.logger.debug("http job delivered", metadata: ["url": "\(urlText)", "status": "\(status)"])
        return JobResult(output: body.isEmpty ? nil : body, httpStatus: status)
    }

    /// One request on an ephemeral session (no cookies or cache shared between jobs), cancelled
    /// when the calling task is.
    private static func send(_ request: URLRequest, urlText: String, timeout: Double) async throws -> (Data, Int) {
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let pending = NIOLockedValueBox<(task: URLSessionDataTask?, cancelled: Bool)>((nil, false))
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Data, Int), any Error>) in
                let task = session.dataTask(with: request) { data, response, error in
                    if let error {
                        let cancelled = pending.withLockedValue { $0.cancelled }
                        if cancelled {
                            continuation.resume(throwing: CancellationError())
                        } else if (error as? URLError)?.code == .timedOut || (error as NSError).code == NSURLErrorTimedOut {
                            continuation.resume(throwing: JobHandlerError.noResponse(url: urlText, seconds: timeout))
                        } else {
                            continuation.resume(throwing: JobHandlerError.requestFailed(url: urlText, problem: error.localizedDescription))
                        }
                        return
                    }
                    guard let http = response as? HTTPURLResponse else {
                        continuation.resume(throwing: JobHandlerError.requestFailed(url: urlText, problem: "no HTTP response"))
                        return
                    }
                    continuation.resume(returning: (data ?? Data(), http.statusCode))
                }
                let alreadyCancelled = pending.withLockedValue { state in
                    state.task = task
                    return state.cancelled
                }
                task.resume()
                if alreadyCancelled { task.cancel() }
            }
        } onCancel: {
            let task = pending.withLockedValue { state in
                state.cancelled = true
                return state.task
            }
            task?.cancel()
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
