import Foundation
import TestSupport
import Testing

/// `--help` and `-h` of every script: the usage, exit status 0 and no side effects. Programs that
/// build, install or start things are stubbed on PATH by ones that log their call and fail, and
/// the repository's files must be left as they were.
@Suite("Script help")
struct ScriptHelpTests {
    /// The runnable scripts under scripts/ (the sourced ones in scripts/lib aside).
    static func scripts() throws -> [String] {
        let directory = Repository.file("scripts")
        guard let walker = FileManager.default.enumerator(atPath: directory.path) else { throw TestSupportError("no scripts/") }
        return walker.compactMap { $0 as? String }
            .filter { ($0.hasSuffix(".sh") || $0.hasSuffix(".py")) && !$0.hasPrefix("lib/") }
            .sorted()
    }

    /// Programs a help text has no business running.
    static let stubbed = ["swift", "apt-get", "apt", "pip", "pip3", "python3", "python", "sudo", "docker", "cargo", "make",
                          "curl", "git", "redis-server", "redis-benchmark", "cqlsh", "promtool", "prometheus", "timeout", "setsid"]

    /// Path and modification time of every repository file outside build and git directories.
    static func repositoryState() -> [String: Date] {
        var state: [String: Date] = [:]
        guard let walker = FileManager.default.enumerator(at: Repository.root, includingPropertiesForKeys: [.contentModificationDateKey],
                                                           options: []) else { return state }
        for case let url as URL in walker {
            let name = url.lastPathComponent
            if name == ".git" || name.hasPrefix(".build") || name == ".swiftpm" {
                walker.skipDescendants()
                continue
            }
            state[url.path] = (try? url.resourceValues(forKeys: [.contentModificationDateKey]))?.contentModificationDate
        }
        return state
    }

    @Test("every script prints its usage and exits 0 on --help and -h, running nothing", arguments: ["--help", "-h"])
    func help(flag: String) async throws {
        let scripts = try Self.scripts()
        #expect(scripts.count >= 15, "\(scripts)")
        let scratch = try ScratchDirectory()
        let stubs = scratch.path("stubs")
        let calls = scratch.path("calls.log")
        try FileManager.default.createDirectory(atPath: stubs, withIntermediateDirectories: true)
        for name in Self.stubbed {
            let stub = "\(stubs)/\(name)"
            try "#!/bin/sh\necho \"\(name) $*\" >> '\(calls)'\nexit 1\n".write(toFile: stub, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: stub)
        }
        // Found before PATH gets the stubs: the Python scripts themselves run on the real interpreter.
        let python = try Repository.requireOnPath("python3")
        let bash = try Repository.requireOnPath("bash")
        let path = stubs + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let before = Self.repositoryState()
        for script in scripts {
            let file = Repository.file("scripts/\(script)").path
            let interpreter = script.hasSuffix(".py") ? python : bash
            let outcome = try await Command.run(interpreter, [file, flag], environment: ["PATH": path], timeout: .seconds(60))
            #expect(outcome.status == 0, "\(script) \(flag): \(outcome.transcript)")
            #expect(outcome.stdout.lowercased().contains("usage"), "\(script) \(flag) prints no usage: \(outcome.transcript)")
            let called = (try? String(contentsOfFile: calls, encoding: .utf8)) ?? ""
            #expect(called.isEmpty, "\(script) \(flag) ran: \(called)")
            try? FileManager.default.removeItem(atPath: calls)
        }
        let after = Self.repositoryState()
        let changed = Set(before.keys).symmetricDifference(after.keys).union(before.keys.filter { before[$0] != after[$0] })
        #expect(changed.isEmpty, "help runs changed the repository: \(changed.sorted())")
    }
}
