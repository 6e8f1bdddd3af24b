import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a program: payload `{"command": "...", "args": ["..."], "shell": false}`.
///
/// Without `"shell": true` the command is executed directly (a bare name is looked up in
/// `PATH`), with `args` as its arguments and no shell interpreting anything; with it, the
/// command runs as `/bin/sh -c command`. Standard output and error are captured together up to
/// ``maximumOutputBytes``. Exit status 0 succeeds; any other status, or a signal, fails the run.
/// At the run's deadline, or when the run's task is cancelled, the process gets SIGTERM, then
/// SIGKILL after ``terminationGrace``. Only registered when the worker enables it.
public struct ShellHandler: JobHandler {
    /// `shell`.
    public static let kind = "shell"

    /// How long a process may take to exit after SIGTERM before it gets SIGKILL.
    public let terminationGrace: Duration
    /// How much combined output is kept; the rest is read and discarded.
    public let maximumOutputBytes: Int

    /// Creates the handler.
    public init(terminationGrace: Duration = .seconds(5), maximumOutputBytes: Int = 64 * 1024) {
        self.terminationGrace = terminationGrace
        self.maximumOutputBytes = maximumOutputBytes
    }

    /// Runs the process to completion or to the deadline.
    public func run(_ context: JobContext) async throws -> JobResult {
        let payload = try context.payloadObject(kind: Self.kind)
        guard let command = payload["command"]?.stringValue, !command.isEmpty else {
            throw JobHandlerError.invalidPayload(kind: Self.kind, problem: "needs \"command\" as a non-empty string")
        }
        var arguments: [String] = []
        if let value = payload["args"] {
            guard case .array(let elements) = value else {
                throw JobHandlerError.invalidPayload(kind: Self.kind, problem: "\"args\" must be an array of strings")
            }
            for element in elements {
                guard let text = element.stringValue else {
                    throw JobHandlerError.invalidPayload(kind: Self.kind, problem: "\"args\" must be an array of strings")
                }
                arguments.append(text)
            }
        }
        var useShell = false
        if let value = payload["shell"] {
            guard let flag = value.boolValue else {
                throw JobHandlerError.invalidPayload(kind: Self.kind, problem: "\"shell\" must be true or false")
            }
            useShell = flag
        }
        let executable: String
        if useShell {
            executable = "/bin/sh"
            arguments = ["-c", command] + (arguments.isEmpty ? [] : ["sh"] + arguments)
        } else {
            guard let path = Self.resolve(command) else {
                throw JobHandlerError.launchFailed(command: command, problem: "not found or not executable")
            }
            executable = path
        }
        return try await execute(executable: executable, arguments: arguments, command: command, context: context)
    }

    private func execute(executable: String, arguments: [String], command: String, context: JobContext) async throws -> JobResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        let supervisor = ProcessSupervisor(grace: terminationGrace)
        process.terminationHandler = { finished in
            supervisor.exited(status: finished.terminationStatus, bySignal: finished.terminationReason == .uncaughtSignal)
        }
        do {
            try process.run()
        } catch {
            throw JobHandlerError.launchFailed(command: command, problem: error.localizedDescription)
        }
        supervisor.started(pid: process.processIdentifier)
        // The parent's copy of the write end would keep the reader from ever seeing end-of-file.
        try? pipe.fileHandleForWriting.close()
        let output = OutputCollector(fileDescriptor: pipe.fileHandleForReading.fileDescriptor, limit: maximumOutputBytes)
        output.start()

        let deadline = context.deadline
        let watchdog = Task {
            try await Task.sleep(until: deadline, clock: .continuous)
            supervisor.terminate(because: .deadline)
        }
        let exit = await withTaskCancellationHandler {
            await supervisor.waitForExit()
        } onCancel: {
            supervisor.terminate(because: .cancelled)
        }
        watchdog.cancel()
        let text = await output.finish()
        withExtendedLifetime(pipe) {}

        switch supervisor.terminationCause {
        case .deadline?:
            throw JobHandlerError.deadlineExceeded(kind: Self.kind, output: text)
        case .cancelled?:
            throw CancellationError()
        case nil:
            break
        }
        if exit.bySignal {
            throw JobHandlerError.killedBySignal(command: command, signal: exit.status, output: text)
        }
        guard exit.status == 0 else {
            throw JobHandlerError.exitStatus(command: command, status: exit.status, output: text)
        }
        return JobResult(output: text.isEmpty ? nil : text)
    }

    /// The executable for a command: a path as given, a bare name through `PATH`.
    static func resolve(_ command: String) -> String? {
        if command.contains("/") {
            return FileManager.default.isExecutableFile(atPath: command) ? command : nil
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(command)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// Tracks one child process: its exit, and the SIGTERM-then-SIGKILL escalation.
private final class ProcessSupervisor: Sendable {
    enum Cause: Sendable { case deadline, cancelled }
    struct Exit: Sendable { var status: Int32; var bySignal: Bool }
    struct State {
        var pid: pid_t?
        var exit: Exit?
        var waiter: CheckedContinuation<Exit, Never>?
        var cause: Cause?
    }

    private let state = LockedBox(State())
    private let grace: Duration

    init(grace: Duration) {
        self.grace = grace
    }

    var terminationCause: Cause? { state.withLock { $0.cause } }

    func started(pid: pid_t) {
        let pending = state.withLock { state -> Cause? in
            state.pid = pid
            return state.cause
        }
        if let pending { terminate(because: pending, force: true) }
    }

    func exited(status: Int32, bySignal: Bool) {
        let exit = Exit(status: status, bySignal: bySignal)
        let waiter = state.withLock { state -> CheckedContinuation<Exit, Never>? in
            state.exit = exit
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: exit)
    }

    func waitForExit() async -> Exit {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Exit? in
                if let exit = state.exit { return exit }
                state.waiter = continuation
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// SIGTERM now and SIGKILL after the grace period, once, and never after the exit was seen
    /// (the pid may belong to another process by then).
    func terminate(because cause: Cause, force: Bool = false) {
        let pid = state.withLock { state -> pid_t? in
            guard state.exit == nil, force || state.cause == nil else { return nil }
            state.cause = state.cause ?? cause
            return state.pid
        }
        guard let pid else { return }
        kill(pid, SIGTERM)
        let grace = self.grace
        Task { [self] in
            try? await Task.sleep(for: grace)
            let stillRunning = state.withLock { $0.exit == nil }
            if stillRunning { kill(pid, SIGKILL) }
        }
    }
}

/// Reads a pipe on a dedicated thread (blocking reads stay off Swift's cooperative pool) and
/// keeps the first `limit` bytes.
private final class OutputCollector: Sendable {
    struct State {
        var bytes: [UInt8] = []
        var truncated = false
        var stopRequested = false
        var done = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let fileDescriptor: Int32
    private let limit: Int
    private let state = LockedBox(State())

    init(fileDescriptor: Int32, limit: Int) {
        self.fileDescriptor = fileDescriptor
        self.limit = limit
    }

    func start() {
        let thread = Thread { [self] in self.readLoop() }
        thread.name = "shell-job-output"
        thread.start()
    }

    private func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 100)
            if ready == 0 {
                // A grandchild may hold the pipe open after the process exited: stop once the
                // process is gone and nothing more arrives.
                if state.withLock({ $0.stopRequested }) { break }
                continue
            }
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            let count = buffer.withUnsafeMutableBytes { read(fileDescriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            state.withLock { state in
                let room = max(0, limit - state.bytes.count)
                if count > room { state.truncated = true }
                state.bytes.append(contentsOf: buffer[0..<min(count, room)])
            }
        }
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.done = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Waits for the reader to drain what is left, then returns the captured text.
    func finish() async -> String {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                state.stopRequested = true
                if state.done { return true }
                state.waiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
        return state.withLock { state in
            String(decoding: state.bytes, as: UTF8.self) + (state.truncated ? "\n[output truncated]" : "")
        }
    }
}
