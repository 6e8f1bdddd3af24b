import Foundation

/// Runs a built tool (`cqlprobe`, `cqlbench`) as scripts do, with separate standard output and error.
struct ToolProcess {
    /// What a finished tool left behind.
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    struct NotBuilt: Error, CustomStringConvertible {
        var name: String
        var description: String { "the \(name) product was not found next to the test binary (swift build builds it)" }
    }

    /// The executable `name` built beside the test bundle: the test binary sits in the build products
    /// directory (any --scratch-path), possibly inside a bundle, so the search walks up a few levels.
    static func binary(_ name: String) throws -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw NotBuilt(name: name)
    }

    /// Runs `name` with `arguments` (and `input` on standard input), killing it after `timeout`.
    /// Waits off the cooperative pool's threads: the node under test runs there too.
    static func run(_ name: String, _ arguments: [String], input: String? = nil, environment: [String: String] = [:],
                    timeout: Duration = .seconds(120)) async throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binary(name))
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        let collectedOut = Collected()
        let collectedErr = Collected()
        out.fileHandleForReading.readabilityHandler = { collectedOut.append($0.availableData) }
        err.fileHandleForReading.readabilityHandler = { collectedErr.append($0.availableData) }
        let exited = AsyncStream<Void> { continuation in
            process.terminationHandler = { _ in
                continuation.yield()
                continuation.finish()
            }
        }
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            process.terminate()
        }
        for await _ in exited { break }
        watchdog.cancel()
        out.fileHandleForReading.readabilityHandler = nil
        err.fileHandleForReading.readabilityHandler = nil
        collectedOut.append(out.fileHandleForReading.readDataToEndOfFile())
        collectedErr.append(err.fileHandleForReading.readDataToEndOfFile())
        return Outcome(status: process.terminationStatus, stdout: collectedOut.text, stderr: collectedErr.text)
    }
}

/// Bytes gathered from a pipe on the pipe's own thread.
final class Collected: @unchecked Sendable {
    // Safe: every access to `data` holds `lock`.
    private let lock = NSLock()
    private var data = Data()

    func append(_ more: Data) {
        guard !more.isEmpty else { return }
        lock.lock()
        data.append(more)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
