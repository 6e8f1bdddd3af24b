public import Foundation
import Subprocess
import SystemPackage
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A program run as a child process by a test or the chaos harness, on swift-subprocess.
///
/// Its standard output and error go to files (no pipe for a chatty server to fill), read at any
/// time while it runs (``waitForLine(prefix:timeout:)``). It leads a process group of its own, so
/// ``kill()`` and dropping the last reference end it and whatever it started in that group; a
/// program that puts its own children in other groups (the worker's shell jobs) keeps them.
public final class ChildProcess: Sendable {
    /// A name for messages (the executable's file name unless given).
    public let name: String
    /// The process id.
    public let processIdentifier: Int32  // pid_t
    /// Where standard output goes.
    public let standardOutputPath: String
    /// Where standard error goes (the same file as standard output when they are combined).
    public let standardErrorPath: String

    /// The exit status once the process is reaped, shared with `runner`.
    private let exit: ExitStatus
    /// Runs the process to its end; cancelling it kills the process group.
    private let runner: Task<Void, Never>

    /// Starts `executable` with `arguments`; its output goes to `<name>.out` and `<name>.err` in
    /// `directory` (one `<name>.log` when `combineOutput`).
    ///
    /// - Parameters:
    ///   - environment: variables set on top of this process's environment.
    ///   - removingEnvironment: prefixes of inherited variables to leave out (`SCHEDULER_`).
    ///   - input: text on standard input (none: `/dev/null`).
    public static func start(
        _ executable: String, _ arguments: [String], name: String? = nil, logs directory: String,
        environment: [String: String] = [:], removingEnvironment prefixes: [String] = [],
        workingDirectory: String? = nil, input: String? = nil, combineOutput: Bool = false
    ) async throws -> ChildProcess {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw TestSupportError("no executable at \(executable); build the package first (swift build)")
        }
        let name = name ?? URL(fileURLWithPath: executable).lastPathComponent
        let outPath = "\(directory)/\(name).\(combineOutput ? "log" : "out")"
        let errPath = combineOutput ? outPath : "\(directory)/\(name).err"
        var opened: [Int32] = []
        func openFile(_ path: String, _ flags: Int32) throws -> Int32 {
            let fd = open(path, flags | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                for fd in opened { close(fd) }
                throw TestSupportError("cannot open \(path): errno \(errno)")
            }
            opened.append(fd)
            return fd
        }
        var inputPath = "/dev/null"
        if let input {
            inputPath = "\(directory)/\(name).in"
            try Data(input.utf8).write(to: URL(fileURLWithPath: inputPath))
        }
        let inFD = try openFile(inputPath, O_RDONLY)
        let outFD = try openFile(outPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND)
        // Two descriptors of one file in append mode: both streams land in order of writing.
        let errFD = try openFile(errPath, O_WRONLY | O_CREAT | O_APPEND | (combineOutput ? 0 : O_TRUNC))

        var variables = ProcessInfo.processInfo.environment.filter { key, _ in
            !prefixes.contains { key.hasPrefix($0) }
        }
        for (key, value) in environment { variables[key] = value }
        var custom: [Environment.Key: String] = [:]
        for (key, value) in variables {
            if let key = Environment.Key(rawValue: key) { custom[key] = value }
        }
        var options = PlatformOptions()
        // A group of its own: the teardown below reaches what it started in that group.
        options.processGroupID = 0
        options.teardownSequence = [.send(signal: .kill, toProcessGroup: true, allowedDurationToNextStep: .seconds(5))]

        let exit = ExitStatus()
        let (started, announce) = AsyncStream<Result<pid_t, any Error>>.makeStream()
        let runner = Task {
            do {
                let result = try await Subprocess.run(
                    .path(.init(executable)), arguments: Arguments(arguments), environment: .custom(custom),
                    workingDirectory: workingDirectory.map { .init($0) }, platformOptions: options,
                    input: .fileDescriptor(.init(rawValue: inFD), closeAfterSpawningProcess: true),
                    output: .fileDescriptor(.init(rawValue: outFD), closeAfterSpawningProcess: true),
                    error: .fileDescriptor(.init(rawValue: errFD), closeAfterSpawningProcess: true)
                ) { execution in
                    announce.yield(.success(execution.processIdentifier.value))
                }
                let code: Int32 = switch result.terminationStatus {
                case .exited(let code): code
                case .signaled(let signal): 128 + signal
                }
                exit.record(code)
            } catch {
                exit.record(127)
                announce.yield(.failure(error))
            }
            announce.finish()
        }
        var iterator = started.makeAsyncIterator()
        guard let first = await iterator.next() else { throw TestSupportError("\(name) did not start") }
        let pid: pid_t
        do {
            pid = try first.get()
        } catch {
            throw TestSupportError("cannot start \(executable): \(error)")
        }
        return ChildProcess(name: name, pid: pid, out: outPath, err: errPath, exit: exit, runner: runner)
    }

    private init(name: String, pid: pid_t, out: String, err: String, exit: ExitStatus, runner: Task<Void, Never>) {
        self.name = name
        self.processIdentifier = pid
        self.standardOutputPath = out
        self.standardErrorPath = err
        self.exit = exit
        self.runner = runner
    }

    /// Whoever forgets to stop a process still does not leave it running.
    deinit { runner.cancel() }

    /// Standard output so far.
    public var standardOutput: String { (try? String(contentsOfFile: standardOutputPath, encoding: .utf8)) ?? "" }
    /// Standard error so far (both streams when they are combined).
    public var standardError: String { (try? String(contentsOfFile: standardErrorPath, encoding: .utf8)) ?? "" }
    /// Everything it printed so far: both streams (for failure messages and searches).
    public var output: String {
        standardOutputPath == standardErrorPath ? standardOutput : standardOutput + "\n" + standardError
    }
    /// Both streams, labelled, for failure messages.
    public var transcript: String { "--- \(name) stdout\n\(standardOutput)\n--- \(name) stderr\n\(standardError)" }

    /// Whether it still runs (not yet reaped).
    public var isRunning: Bool { exit.code == nil }
    /// Its exit code once it ended (128 + the signal when a signal ended it).
    public var exitCode: Int32? { exit.code }

    /// Sends `signal` to the process (to its whole group when `toGroup`) while it runs.
    public func send(_ signal: Int32, toGroup: Bool = false) {
        guard isRunning else { return }
        _ = Glibc.kill(toGroup ? -processIdentifier : processIdentifier, signal)
    }

    /// SIGKILLs the process group now without waiting (for `defer`: a failed test leaves nothing).
    public func kill() {
        send(SIGCONT, toGroup: true)
        send(SIGKILL, toGroup: true)
    }

    /// Waits for the process to end by itself and returns its exit code; throws after `timeout`.
    public func waitForExit(timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let code = exit.code { return code }
            guard ContinuousClock.now < deadline else {
                throw TestSupportError("\(name) did not exit within \(timeout)\n\(transcript)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Sends SIGTERM and returns the exit code; throws when it has not exited after `timeout`.
    public func terminate(timeout: Duration) async throws -> Int32 {
        send(SIGTERM)
        return try await waitForExit(timeout: timeout)
    }

    /// SIGTERM (after SIGCONT, in case it is stopped), then SIGKILL to the group once `grace` has
    /// passed; returns the exit code.
    @discardableResult
    public func stop(grace: Duration = .seconds(20)) async -> Int32 {
        send(SIGCONT)
        send(SIGTERM)
        if let code = try? await waitForExit(timeout: grace) { return code }
        return await killAndWait()
    }

    /// SIGKILLs the process group and waits until the process is reaped.
    @discardableResult
    public func killAndWait() async -> Int32 {
        kill()
        while true {
            if let code = exit.code { return code }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Polls its output until `extract` finds something; throws when it exits first or `timeout`
    /// passes, with what it printed.
    public func waitFor<T>(_ what: String, timeout: Duration = .seconds(120), in stream: Stream = .both,
                           _ extract: (String) -> T?) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while true {
            let text = switch stream {
            case .both: output
            case .standardOutput: standardOutput
            }
            if let found = extract(text) { return found }
            guard isRunning else { throw TestSupportError("\(name) exited before \(what)\n\(transcript)") }
            guard ContinuousClock.now < deadline else { throw TestSupportError("no \(what) from \(name) within \(timeout)\n\(transcript)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Waits for a line starting with `prefix` and returns the rest of it.
    public func waitForLine(prefix: String, timeout: Duration = .seconds(120), in stream: Stream = .both) async throws -> String {
        try await waitFor("a line '\(prefix)'", timeout: timeout, in: stream) { text in
            text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        }
    }

    /// Which output ``waitFor(_:timeout:in:_:)`` searches.
    public enum Stream: Sendable {
        /// Standard output and error.
        case both
        /// Standard output only.
        case standardOutput
    }
}

/// The exit code of one child, written once by its runner and read by the tests.
private final class ExitStatus: Sendable {
    private let value = Mutex<Int32?>(nil)
    var code: Int32? { value.withLock { $0 } }
    func record(_ code: Int32) { value.withLock { $0 = code } }
}
