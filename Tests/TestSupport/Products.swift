public import Foundation

/// The repository and the products `swift build` put beside the test binary.
public enum Repository {
    /// The repository root, three levels above this file (Tests/TestSupport/Products.swift).
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A file of the repository by relative path.
    public static func file(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// The text of a repository file.
    public static func text(_ relative: String) throws -> String {
        try String(contentsOf: file(relative), encoding: .utf8)
    }

    /// The executable `name` built beside the running test binary (or harness): it sits in the build
    /// products directory of any `--scratch-path`, possibly inside a bundle, so the search walks up a
    /// few levels from the running executable.
    public static func product(_ name: String) throws -> String {
        let running = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first ?? ""
        var directory = URL(fileURLWithPath: running).deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw TestSupportError("the \(name) product was not found beside the test binary (swift build builds it)")
    }

    /// The path of an executable on `PATH` (python3, cqlsh, curl, openssl), nil when there is none.
    public static func onPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The path of an executable on `PATH`, or an error naming it.
    public static func requireOnPath(_ name: String) throws -> String {
        guard let path = onPath(name) else { throw TestSupportError("\(name) is not on PATH") }
        return path
    }
}

/// A failure of the test support code (a process that never printed its line, a missing binary, a
/// condition that never held), saying what went wrong and what the process printed.
public struct TestSupportError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    /// A failure saying `description`.
    public init(_ description: String) { self.description = description }
}
