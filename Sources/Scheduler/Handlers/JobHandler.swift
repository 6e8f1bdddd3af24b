import Foundation
import Logging

/// What a handler knows about the run it executes.
public struct JobContext: Sendable {
    /// The job's id.
    public let jobID: UUID
    /// The run's attempt counter, which is also its fencing token: receivers that see a higher
    /// value for the same job must ignore writes carrying a lower one.
    public let attempt: Int64
    /// The job's payload, JSON text.
    public let payload: String
    /// When the run exceeds `max_duration_seconds`; the executor cancels the handler's task then.
    public let deadline: ContinuousClock.Instant
    /// A logger carrying the job id and attempt as metadata.
    public let logger: Logger

    /// Creates a context.
    public init(jobID: UUID, attempt: Int64, payload: String, deadline: ContinuousClock.Instant, logger: Logger) {
        self.jobID = jobID
        self.attempt = attempt
        self.payload = payload
        self.deadline = deadline
        self.logger = logger
    }

    /// The payload parsed as a JSON object, or `invalidPayload` naming the handler's kind.
    public func payloadObject(kind: String) throws(JobHandlerError) -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONValue.parse(payload)
        } catch {
            throw .invalidPayload(kind: kind, problem: "payload is not valid JSON: \(error)")
        }
        guard case .object(let members) = value else {
            throw .invalidPayload(kind: kind, problem: "payload must be a JSON object, got \(value.typeName)")
        }
        return members
    }

    /// Time left until the deadline, zero once it has passed.
    public var remaining: Duration {
        max(.zero, deadline - ContinuousClock.now)
    }
}

/// What a successful run produced.
public struct JobResult: Hashable, Sendable {
    /// Text recorded in the run's history (handlers keep it short).
    public var output: String?

    /// Creates a result.
    public init(output: String? = nil) {
        self.output = output
    }

    /// A result without output.
    public static let empty = JobResult()
}

/// Code that executes one kind of job. A run succeeds when `run` returns and fails when it
/// throws; when the run's task is cancelled (deadline, job cancelled, shutdown) the handler
/// should return or throw promptly, and anything it still does is fenced out by `attempt`.
public protocol JobHandler: Sendable {
    /// The `kind` a job names to be run by this handler.
    static var kind: String { get }

    /// Executes one run.
    func run(_ context: JobContext) async throws -> JobResult
}

/// Why a built-in handler failed a run.
public enum JobHandlerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The payload lacks a field the handler needs, or has it with a wrong type.
    case invalidPayload(kind: String, problem: String)
    /// The HTTP request could not be made or got no response.
    case requestFailed(url: String, problem: String)
    /// The HTTP receiver answered with a status outside 200...299.
    case httpStatus(url: String, status: Int, body: String)
    /// The process could not be started.
    case launchFailed(command: String, problem: String)
    /// The process exited with a status other than 0.
    case exitStatus(command: String, status: Int32, output: String)
    /// The process was ended by a signal it did not get from us.
    case killedBySignal(command: String, signal: Int32, output: String)
    /// The run reached its deadline and the handler stopped its work (e.g. killed the process).
    case deadlineExceeded(kind: String, output: String)

    /// A one-line explanation for the run's history and logs.
    public var description: String {
        switch self {
        case .invalidPayload(let kind, let problem):
            return "\(kind): invalid payload: \(problem)"
        case .requestFailed(let url, let problem):
            return "http: request to \(url) failed: \(problem)"
        case .httpStatus(let url, let status, let body):
            return "http: \(url) answered \(status)" + (body.isEmpty ? "" : ": \(body)")
        case .launchFailed(let command, let problem):
            return "shell: cannot start \(command): \(problem)"
        case .exitStatus(let command, let status, let output):
            return "shell: \(command) exited with status \(status)" + (output.isEmpty ? "" : ": \(output)")
        case .killedBySignal(let command, let signal, let output):
            return "shell: \(command) was killed by signal \(signal)" + (output.isEmpty ? "" : ": \(output)")
        case .deadlineExceeded(let kind, let output):
            return "\(kind): deadline exceeded" + (output.isEmpty ? "" : ": \(output)")
        }
    }
}
