import Foundation

/// Runs a real peer (the DataStax Python driver, cqlsh) as a subprocess with a deadline and collects its output.
struct PeerProcess {
    /// What a finished peer left behind.
    struct Outcome {
        var status: Int32
        var output: String
        var timedOut: Bool
    }

    /// The directory holding the Python scripts.
    static let scriptsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("python")

    /// The path of an executable found on `PATH`, or nil.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Whether `python3 -c "import cassandra"` succeeds (scripts/test.sh installs the driver from PyPI).
    static let pythonDriverAvailable: Bool = {
        guard let python = which("python3") else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", "import cassandra"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// Whether cqlsh is on `PATH`.
    static var cqlshAvailable: Bool { which("cqlsh") != nil }

    /// Runs `executable` with `arguments`, terminating it after `timeout` seconds; output is stdout and stderr
    /// together. Waits without blocking a thread of the cooperative pool (the node under test runs there too).
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    timeout: Duration) async throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let collected = OutputBuffer()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { collected.append(data) }
        }
        let exited = AsyncStream<Void> { continuation in
            process.terminationHandler = { _ in
                continuation.yield()
                continuation.finish()
            }
        }
        try process.run()
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            collected.markTimedOut()
            process.terminate()
        }
        for await _ in exited { break }
        watchdog.cancel()
        pipe.fileHandleForReading.readabilityHandler = nil
        collected.append(pipe.fileHandleForReading.readDataToEndOfFile())
        return Outcome(status: process.terminationStatus, output: collected.text, timedOut: collected.timedOut)
    }
}

/// Output gathered from a subprocess's pipe on the pipe's own thread.
final class OutputBuffer: @unchecked Sendable {
    // Safe: every access to `data` holds `lock`.
    private let lock = NSLock()
    private var data = Data()
    private var expired = false

    func append(_ more: Data) {
        lock.lock()
        data.append(more)
        lock.unlock()
    }

    func markTimedOut() {
        lock.lock()
        expired = true
        lock.unlock()
    }

    var timedOut: Bool {
        lock.lock()
        defer { lock.unlock() }
        return expired
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
