/// Why a schedule, cron expression, interval, time or time zone was refused; the message reads
/// well on its own in a log line or an HTTP 400 body.
public struct ScheduleError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong, e.g. `minute field: 61 is out of range 0-59`.
    public let message: String

    /// Creates an error with the given message.
    public init(_ message: String) {
        self.message = message
    }

    /// The message itself.
    public var description: String { message }
}
