public import Foundation
public import Logging

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

/// What a run produced: kept in its history record, for a failed, timed-out or cancelled run too
/// (a handler's error carries it as ``JobHandlerError/result``).
public struct JobResult: Hashable, Sendable {
    /// Text recorded in the run's history; the scheduler keeps its last ``RunOutput/limit`` bytes.
    public var output: String?
    /// The exit status of a process that exited (`shell`).
    public var exitCode: Int32?
    /// The status of the HTTP response (`http`).
    public var httpStatus: Int?

    /// Creates a result.
    public init(output: String? = nil, exitCode: Int32? = nil, httpStatus: Int? = nil) {
        self.output = output
        self.exitCode = exitCode
        self.httpStatus = httpStatus
    }

    /// A result without output.
    public static let empty = JobResult()
}

/// How much output a run's history keeps: its last 4 KiB.
public enum RunOutput {
    /// Bytes of output kept per run.
    public static let limit = 4096

    /// The last `limit` bytes of `bytes` as text, starting at a character boundary, preceded by a
    /// note of how much came before when anything was dropped; `dropped` counts bytes already dropped.
    public static func tail(_ bytes: some Collection<UInt8>, dropped: Int = 0, limit: Int = RunOutput.limit) -> String {
        var kept = Array(bytes.suffix(max(0, limit)))
        var skipped = dropped + (bytes.count - kept.count)
        // A cut inside a multi-byte UTF-8 sequence would start with continuation bytes (10xxxxxx).
        while skipped > 0, let first = kept.first, first & 0xC0 == 0x80 {
            kept.removeFirst()
            skipped += 1
        }
        let text = String(decoding: kept, as: UTF8.self)
        return skipped > 0 ? "[\(skipped) earlier bytes dropped]\n" + text : text
    }

    /// The last `limit` bytes of `text` (see ``tail(_:dropped:limit:)``).
    public static func tail(_ text: String, limit: Int = RunOutput.limit) -> String {
        text.utf8.count <= limit ? text : tail(Array(text.utf8), limit: limit)
    }
}

/// Code that executes one kind of job. A run succeeds when `run` returns and fails when it
/// throws; when the run's task is cancelled (deadline, job cancelled, shutdown) the handler
/// should return or throw promptly, and anything it still does is fenced out by `attempt`.
/// What it throws then is still read for the run's history: a ``JobHandlerError`` such as
/// ``JobHandlerError/stopped(kind:output:)`` keeps the output produced so far.
public protocol JobHandler: Sendable {
    /// The `kind` a job names to be run by this handler.
    static var kind: String { get }

    /// Executes one run.
    func run(_ context: JobContext) async throws -> JobResult
}

/// Why a built-in handler failed a run. The run's output lives in ``result``, not in the description,
/// so a history record shows it once (in `output`).
public enum JobHandlerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The payload lacks a field the handler needs, or has it with a wrong type.
    case invalidPayload(kind: String, problem: String)
    /// The HTTP request could not be made or got no response.
    case requestFailed(url: String, problem: String)
    /// The HTTP receiver did not answer within the request's timeout (seconds).
    case noResponse(url: String, seconds: Double)
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
    /// The run was cancelled (job cancelled, shutdown) and the handler stopped its work.
    case stopped(kind: String, output: String)

    /// A one-line explanation for the run's history and logs.
    public var description: String {
        switch self {
        case let .invalidPayload(kind, problem):
            return "\(kind): invalid payload: \(problem)"
        case let .requestFailed(url, problem):
            return "http: request to \(url) failed: \(problem)"
        case let .noResponse(url, seconds):
            return "http: no response from \(url) within \(Self.format(seconds)) s"
        case let .httpStatus(url, status, _):
            return "http: \(url) answered \(status)"
        case let .launchFailed(command, problem):
            return "shell: cannot start \(command): \(problem)"
        case let .exitStatus(command, status, _):
            return "shell: \(command) exited with status \(status)"
        case let .killedBySignal(command, signal, _):
            return "shell: \(command) was killed by signal \(signal)"
        case let .deadlineExceeded(kind, _):
            return "\(kind): deadline exceeded"
        case let .stopped(kind, _):
            return "\(kind): stopped, run cancelled"
        }
    }

    /// What the run produced before it failed: output, exit code, HTTP status.
    public var result: JobResult {
        switch self {
        case .invalidPayload, .requestFailed, .noResponse, .launchFailed:
            return .empty
        case let .httpStatus(_, status, body):
            return JobResult(output: body.isEmpty ? nil : body, httpStatus: status)
        case let .exitStatus(_, status, output):
            return JobResult(output: output.isEmpty ? nil : output, exitCode: status)
        case let .killedBySignal(_, _, output), let .deadlineExceeded(_, output), let .stopped(_, output):
            return JobResult(output: output.isEmpty ? nil : output)
        }
    }

    /// `2`, `0.5`: seconds without a needless fraction.
    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int64(seconds)) : String(format: "%.3g", seconds)
    }
}
