import Foundation

/// Paths of the repository and of the products built beside the test binary.
enum Repo {
    /// The repository root, three levels above this file (Tests/InfraTests/InfraSupport.swift).
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A file of the repository by relative path.
    static func file(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// The text of a repository file.
    static func text(_ relative: String) throws -> String { try String(contentsOf: file(relative), encoding: .utf8) }

    /// A program that is neither built nor on PATH.
    struct NotFound: Error, CustomStringConvertible {
        var name: String
        var description: String { "\(name) was not found (build products directory or PATH)" }
    }

    /// The executable `name` built beside the test binary: it sits in the build products directory
    /// (any --scratch-path), possibly inside a bundle, so the search walks up a few levels.
    static func product(_ name: String) throws -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw NotFound(name: name)
    }

    /// The directory the built products live in (scripts get it on PATH so they skip `swift build`).
    static func productsDirectory() throws -> String {
        URL(fileURLWithPath: try product("cqlprobe")).deletingLastPathComponent().path
    }

    /// An executable on PATH (promtool, prometheus, curl, bash).
    static func onPath(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw NotFound(name: name)
    }
}

/// Errors of the process helpers, each naming what went wrong.
struct InfraFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A scratch directory removed when the test is done with it.
final class ScratchDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("infratests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Runs a command to completion with its output captured in files (no pipe buffers to fill).
enum Command {
    /// What a finished command left behind.
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Both streams, for failure messages.
        var transcript: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
    }

    /// Runs `executable` with `arguments`, killing it after `timeout`. Waits off the cooperative pool.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    currentDirectory: URL = Repo.root, timeout: Duration = .seconds(120)) async throws -> Outcome {
        let scratch = try ScratchDirectory()
        let process = try LaunchedProcess(executable, arguments, environment: environment,
                                          currentDirectory: currentDirectory, scratch: scratch)
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            process.terminate(signal: SIGKILL)
        }
        let status = await process.exitStatus()
        watchdog.cancel()
        return Outcome(status: status, stdout: process.stdout, stderr: process.stderr)
    }
}

/// A child process whose standard output and error go to files in a scratch directory.
final class LaunchedProcess: @unchecked Sendable {
    // Safe: `process` is only started in init; Foundation's Process is thread-safe for the
    // terminate/isRunning/terminationStatus calls made afterwards.
    private let process = Process()
    private let scratch: ScratchDirectory
    private let outPath: String
    private let errPath: String
    private let exited: AsyncStream<Int32>

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
         currentDirectory: URL = Repo.root, scratch: ScratchDirectory) throws {
        self.scratch = scratch
        let tag = UUID().uuidString
        outPath = scratch.path("\(tag).out")
        errPath = scratch.path("\(tag).err")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        guard let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath) else {
            throw InfraFailure("cannot open output files in \(scratch.url.path)")
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        process.currentDirectoryURL = currentDirectory
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        exited = stream
        process.terminationHandler = { finished in
            continuation.yield(finished.terminationStatus)
            continuation.finish()
        }
        try process.run()
        try out.close()
        try err.close()
    }

    /// Standard output so far.
    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    /// Standard error so far.
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
    /// Whether the process still runs.
    var isRunning: Bool { process.isRunning }

    /// Waits for the exit and returns its status.
    func exitStatus() async -> Int32 {
        for await status in exited { return status }
        return process.terminationStatus
    }

    /// Sends `signal` when the process still runs.
    func terminate(signal: Int32 = SIGTERM) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Stops the process: SIGTERM, then SIGKILL when it lingers.
    func stop() async {
        terminate()
        let killer = Task {
            try await Task.sleep(for: .seconds(20))
            self.terminate(signal: SIGKILL)
        }
        _ = await exitStatus()
        killer.cancel()
    }

    /// Polls standard output and error until `extract` finds something, failing when the process
    /// exits first or `timeout` passes.
    func waitFor<T>(_ what: String, timeout: Duration = .seconds(90), _ extract: (String) -> T?) async throws -> T {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if let found = extract(stdout + "\n" + stderr) { return found }
            if !process.isRunning {
                throw InfraFailure("process exited before \(what)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw InfraFailure("no \(what) within \(timeout)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)")
    }
}

/// The value after `prefix` on the first line that starts with it.
func lineValue(_ text: String, after prefix: String) -> String? {
    for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
        return String(line.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
    }
    return nil
}

/// A port free on 127.0.0.1 right now, found by binding port 0 (for servers without a port-0 mode).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw InfraFailure("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw InfraFailure("bind() failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw InfraFailure("getsockname() failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// HTTP through curl, as the scripts and operators do it.
enum HTTP {
    /// A response: status and body.
    struct Response {
        var status: Int
        var body: String
    }

    /// Sends `method` to `url` with an optional JSON body.
    static func request(_ method: String, _ url: String, json: String? = nil) async throws -> Response {
        var arguments = ["-sS", "-X", method, "-w", "\n%{http_code}", "--max-time", "10"]
        if let json { arguments += ["-H", "Content-Type: application/json", "--data-binary", json] }
        arguments.append(url)
        let outcome = try await Command.run(try Repo.onPath("curl"), arguments, timeout: .seconds(30))
        guard outcome.status == 0 else { throw InfraFailure("curl \(method) \(url) failed: \(outcome.transcript)") }
        var lines = outcome.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        guard let last = lines.popLast(), let status = Int(last) else {
            throw InfraFailure("curl \(method) \(url): no status in \(outcome.stdout)")
        }
        return Response(status: status, body: lines.joined(separator: "\n"))
    }

    /// The JSON object of a response body.
    static func object(_ body: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw InfraFailure("not a JSON object: \(body)")
        }
        return object
    }
}

/// A `worker` on its embedded in-memory node with free ports, as the tests start it.
struct RunningWorker {
    let process: LaunchedProcess
    let url: String

    /// Starts the built `worker` and waits for its `worker listening on URL` line.
    static func start(scratch: ScratchDirectory) async throws -> RunningWorker {
        let process = try LaunchedProcess(
            try Repo.product("worker"),
            ["--in-memory", "--http-port", "0", "--embedded-port", "0", "--poll-interval", "200ms"],
            environment: ["SCHEDULER_CASSANDRA": "", "SCHEDULER_API_TOKEN": ""], scratch: scratch)
        do {
            let url = try await process.waitFor("worker listening line") { lineValue($0, after: "worker listening on ") }
            return RunningWorker(process: process, url: url)
        } catch {
            await process.stop()
            throw error
        }
    }
}

/// Prometheus text exposition, reduced to what the dashboard check needs.
struct MetricFamilies {
    /// Family name to its `# TYPE` (counter, gauge, histogram, summary, untyped).
    var types: [String: String] = [:]
    /// Names of the samples present.
    var samples: Set<String> = []

    init(exposition: String) {
        for line in exposition.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                if parts.count >= 4 { types[String(parts[2])] = String(parts[3]) }
            } else if !line.hasPrefix("#"), let name = line.split(whereSeparator: { $0 == "{" || $0 == " " }).first {
                samples.insert(String(name))
            }
        }
    }

    /// The value of each unlabelled sample (`name value`).
    static func values(exposition: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in exposition.split(separator: "\n") where !line.hasPrefix("#") && !line.contains("{") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Double(parts[1]) { values[String(parts[0])] = value }
        }
        return values
    }

    /// Whether a name used in PromQL selects series of this exposition: a counter/gauge family
    /// with samples, or a histogram/summary's `_bucket`/`_sum`/`_count` series.
    func serves(_ name: String) -> Bool {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if let type = types[base], type == "histogram" || (type == "summary" && suffix != "_bucket") {
                return samples.contains(name)
            }
        }
        guard let type = types[name], type != "histogram", type != "summary" else { return false }
        return samples.contains(name)
    }
}
