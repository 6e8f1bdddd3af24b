import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Runs a program: payload `{"command": "...", "args": ["..."], "shell": false}`.
///
/// Without `"shell": true` the command is executed directly (a bare name is looked up in
/// `PATH`), with `args` as its arguments and no shell interpreting anything; with it, the
/// command runs as `/bin/sh -c command`. Standard output and error are captured together,
/// interleaved as written, and the last ``maximumOutputBytes`` are kept (also when the run times
/// out or is cancelled). Exit status 0 succeeds; any other status, or a signal, fails the run.
///
/// The child is isolated from the worker: it inherits no descriptor but stdin (/dev/null), stdout
/// and stderr (the output pipe), so it cannot hold or use the worker's listening sockets, client
/// connections or epoll descriptors, also after the worker died; and it leads a process group of its
/// own. At the run's deadline, or when the run's task is cancelled (job cancelled, worker shutdown),
/// the whole group gets SIGTERM, then SIGKILL after ``terminationGrace``. Only registered when the
/// worker enables it.
public struct ShellHandler: JobHandler {
    /// `shell`.
    public static let kind = "shell"

    /// How long a process may take to exit after SIGTERM before it gets SIGKILL.
    public let terminationGrace: Duration
    /// How much combined output is kept (the last bytes); the rest is read and discarded.
    public let maximumOutputBytes: Int

    /// Creates the handler.
    public init(terminationGrace: Duration = .seconds(5), maximumOutputBytes: Int = RunOutput.limit) {
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
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(executable: executable, arguments: arguments)
        } catch {
            throw JobHandlerError.launchFailed(command: command, problem: error.description)
        }
        let supervisor = ProcessSupervisor(processGroup: child.pid, grace: terminationGrace)
        let output = OutputCollector(fileDescriptor: child.outputDescriptor, limit: maximumOutputBytes)
        output.start()
        let reaper = Thread { supervisor.exited(ChildProcess.wait(for: child.pid)) }
        reaper.name = "shell-job-wait"
        reaper.start()

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

        switch supervisor.terminationCause {
        case .deadline?:
            throw JobHandlerError.deadlineExceeded(kind: Self.kind, output: text)
        case .cancelled?:
            throw JobHandlerError.stopped(kind: Self.kind, output: text)
        case nil:
            break
        }
        switch exit {
        case .exited(0):
            return JobResult(output: text.isEmpty ? nil : text, exitCode: 0)
        case .exited(let status):
            throw JobHandlerError.exitStatus(command: command, status: status, output: text)
        case .signaled(let signal):
            throw JobHandlerError.killedBySignal(command: command, signal: signal, output: text)
        }
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

/// A child started with `posix_spawn` rather than Foundation's `Process`: `Process` lets the child
/// inherit the spawning thread's signal mask, and Swift's pool threads block SIGTERM, so the
/// child could never be asked to stop. Here the child gets an empty mask, default dispositions
/// (SIGPIPE included), its own process group (so SIGTERM/SIGKILL reach whatever it started),
/// stdin from /dev/null, stdout+stderr into one pipe, and every other descriptor closed.
///
/// Closing is a spawn action (glibc's `posix_spawn_file_actions_addclosefrom_np`, 2.34 and later)
/// rather than close-on-exec on each descriptor: descriptors opened by libraries (NIO's sockets
/// and epoll, URLSession's, a log file) or by another thread between our `pipe` and the spawn would
/// otherwise leak into the child. glibc declares the function only for `_DEFAULT_SOURCE`, which
/// Swift's Glibc module does not define, so it is looked up once by name; without it (an older
/// glibc) no shell job is started rather than one that leaks the worker's sockets.
private struct ChildProcess {
    enum Exit: Sendable { case exited(Int32), signaled(Int32) }

    /// Why a child could not be started.
    enum SpawnError: Error, CustomStringConvertible {
        case system(Int32)
        case cannotIsolate

        var description: String {
            switch self {
            case let .system(code): return String(cString: strerror(code))
            case .cannotIsolate:
                return "this C library lacks posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later is needed "
                    + "to keep the worker's descriptors from the child)"
            }
        }
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// `posix_spawn_file_actions_addclosefrom_np`, nil when the C library lacks it.
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    let pid: pid_t
    /// The read end of the output pipe, owned by the caller (closed by the collector).
    let outputDescriptor: Int32

    static func spawn(executable: String, arguments: [String]) throws(SpawnError) -> ChildProcess {
        guard let addCloseFrom else { throw .cannotIsolate }
        var descriptors: [Int32] = [-1, -1]
        guard pipe(&descriptors) == 0 else { throw .system(errno) }
        let (readEnd, writeEnd) = (descriptors[0], descriptors[1])
        // Other children spawned meanwhile must not inherit the pipe (dup2 clears the flag for
        // this child's stdout and stderr).
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        defer { close(writeEnd) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        // Last: the pipe's own descriptors and everything the worker holds are closed in the child.
        let closing = addCloseFrom(&actions, 3)
        guard closing == 0 else {
            close(readEnd)
            throw .system(closing)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGALRM, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            close(readEnd)
            throw .system(result)
        }
        return ChildProcess(pid: pid, outputDescriptor: readEnd)
    }

    /// Blocks until the child exits and reaps it (call on a dedicated thread).
    static func wait(for pid: pid_t) -> Exit {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, 0)
            if result == pid { break }
            if result < 0 && errno == EINTR { continue }
            // Someone else reaped it: the status is lost.
            return .exited(-1)
        }
        let signal = status & 0x7F
        if signal == 0 { return .exited((status >> 8) & 0xFF) }
        return .signaled(signal)
    }
}

/// Tracks one child process group: its exit, and the SIGTERM-then-SIGKILL escalation.
private final class ProcessSupervisor: Sendable {
    enum Cause: Sendable { case deadline, cancelled }
    struct State {
        var exit: ChildProcess.Exit?
        var waiter: CheckedContinuation<ChildProcess.Exit, Never>?
        var cause: Cause?
    }

    private let state = Mutex(State())
    private let processGroup: pid_t
    private let grace: Duration

    init(processGroup: pid_t, grace: Duration) {
        self.processGroup = processGroup
        self.grace = grace
    }

    var terminationCause: Cause? { state.withLock { $0.cause } }

    func exited(_ exit: ChildProcess.Exit) {
        let waiter = state.withLock { state -> CheckedContinuation<ChildProcess.Exit, Never>? in
            state.exit = exit
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: exit)
    }

    func waitForExit() async -> ChildProcess.Exit {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> ChildProcess.Exit? in
                if let exit = state.exit { return exit }
                state.waiter = continuation
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// SIGTERM to the group now and SIGKILL after the grace period, once; never after the
    /// child was reaped (its pid, and so the group id, may be reused by then).
    func terminate(because cause: Cause) {
        let first = state.withLock { state -> Bool in
            guard state.exit == nil, state.cause == nil else { return false }
            state.cause = cause
            return true
        }
        guard first else { return }
        let group = processGroup
        kill(-group, SIGTERM)
        let grace = self.grace
        Task { [self] in
            try? await Task.sleep(for: grace)
            let stillRunning = state.withLock { $0.exit == nil }
            if stillRunning { kill(-group, SIGKILL) }
        }
    }
}

/// Reads a pipe on a dedicated thread (blocking reads stay off Swift's cooperative pool) and
/// keeps the last `limit` bytes.
private final class OutputCollector: Sendable {
    struct State {
        var bytes: [UInt8] = []
        var dropped = 0
        var stopRequested = false
        var done = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let fileDescriptor: Int32
    private let limit: Int
    private let state = Mutex(State())

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
                state.bytes.append(contentsOf: buffer[0..<count])
                let excess = state.bytes.count - limit
                if excess > 0 {
                    state.bytes.removeFirst(excess)
                    state.dropped += excess
                }
            }
        }
        close(fileDescriptor)
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
        return state.withLock { state in RunOutput.tail(state.bytes, dropped: state.dropped, limit: limit) }
    }
}
