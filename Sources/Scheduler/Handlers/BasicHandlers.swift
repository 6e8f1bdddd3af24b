/// Does nothing and succeeds: for testing the scheduler itself.
public struct NoopHandler: JobHandler {
    /// `noop`.
    public static let kind = "noop"

    /// Creates the handler.
    public init() {}

    /// Succeeds at once.
    public func run(_ context: JobContext) async throws -> JobResult {
        .empty
    }
}

/// Returns the payload as the run's output.
public struct EchoHandler: JobHandler {
    /// `echo`.
    public static let kind = "echo"

    /// Creates the handler.
    public init() {}

    /// Succeeds with the payload text as output.
    public func run(_ context: JobContext) async throws -> JobResult {
        JobResult(output: context.payload)
    }
}

/// Sleeps for `{"seconds": n}` (0...604800, fractions allowed), returning promptly with
/// `CancellationError` when the run's task is cancelled.
public struct SleepHandler: JobHandler {
    /// `sleep`.
    public static let kind = "sleep"

    /// The longest sleep accepted, as long as the longest run.
    public static let maximumSeconds = 7.0 * 86_400

    /// Creates the handler.
    public init() {}

    /// Sleeps, then succeeds.
    public func run(_ context: JobContext) async throws -> JobResult {
        let payload = try context.payloadObject(kind: Self.kind)
        guard let value = payload["seconds"] else {
            throw JobHandlerError.invalidPayload(kind: Self.kind, problem: "needs \"seconds\"")
        }
        guard let seconds = value.doubleValue, seconds.isFinite, seconds >= 0, seconds <= Self.maximumSeconds else {
            throw JobHandlerError.invalidPayload(kind: Self.kind, problem: "\"seconds\" must be a number from 0 to \(Int(Self.maximumSeconds))")
        }
        try await Task.sleep(for: .seconds(seconds))
        return .empty
    }
}
