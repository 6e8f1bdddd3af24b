public import Foundation

/// Runs a command to completion as a ``ChildProcess``, with its output captured in files of a
/// scratch directory; waits off the cooperative pool's threads (the node under test runs there too).
public enum Command {
    /// What a finished command left behind.
    public struct Outcome: Sendable {
        /// The exit code (128 + the signal when a signal ended it).
        public var status: Int32
        /// Standard output (both streams when they were combined).
        public var stdout: String
        /// Standard error (empty when combined with standard output).
        public var stderr: String
        /// Whether the deadline passed and the command was killed.
        public var timedOut: Bool
        /// Everything it printed: both streams.
        public var output: String { stderr.isEmpty ? stdout : stdout + "\n" + stderr }
        /// Both streams, for failure messages.
        public var transcript: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
    }

    /// Runs `executable` (a path, or a name looked up on `PATH`) with `arguments` and `input` on
    /// standard input; kills its process group after `timeout`.
    public static func run(
        _ executable: String, _ arguments: [String], input: String? = nil, environment: [String: String] = [:],
        workingDirectory: String? = Repository.root.path, combineOutput: Bool = false,
        timeout: Duration = .seconds(120)
    ) async throws -> Outcome {
        let path = executable.contains("/") ? executable : try Repository.requireOnPath(executable)
        let scratch = try ScratchDirectory(prefix: "command")
        let process = try await ChildProcess.start(
            path, arguments, name: "command", logs: scratch.path, environment: environment,
            workingDirectory: workingDirectory, input: input, combineOutput: combineOutput)
        var timedOut = false
        let status: Int32
        do {
            status = try await process.waitForExit(timeout: timeout)
        } catch {
            timedOut = true
            status = await process.killAndWait()
        }
        return Outcome(status: status, stdout: process.standardOutput,
                       stderr: combineOutput ? "" : process.standardError, timedOut: timedOut)
    }
}
