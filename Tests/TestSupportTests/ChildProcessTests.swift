import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Whether a process with this id still exists (a zombie counts as gone once reaped).
private func alive(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 }

@Suite("Child processes")
struct ChildProcessTests {
    @Test("a command's exit code, standard output and standard error come back apart")
    func separateStreams() async throws {
        let outcome = try await Command.run("sh", ["-c", "echo out; echo err >&2; exit 3"])
        #expect(outcome.status == 3)
        #expect(outcome.stdout == "out\n")
        #expect(outcome.stderr == "err\n")
        #expect(!outcome.timedOut)
    }

    @Test("combined output keeps both streams in the order they were written")
    func combinedStreams() async throws {
        let outcome = try await Command.run("sh", ["-c", "echo one; echo two >&2; echo three"], combineOutput: true)
        #expect(outcome.output == "one\ntwo\nthree\n")
        #expect(outcome.stderr.isEmpty)
    }

    @Test("input reaches standard input; environment overrides reach the process")
    func inputAndEnvironment() async throws {
        let outcome = try await Command.run("sh", ["-c", "cat; echo \"$GREETING\""], input: "line 1\nline 2\n",
                                            environment: ["GREETING": "hello"])
        #expect(outcome.stdout == "line 1\nline 2\nhello\n", "\(outcome.transcript)")
    }

    @Test("past its deadline a command is killed with everything in its process group")
    func timeoutKillsGroup() async throws {
        let scratch = try ScratchDirectory()
        let pidFile = scratch.path("grandchild")
        let outcome = try await Command.run("sh", ["-c", "sleep 300 & echo $! > \(pidFile); wait"], timeout: .seconds(2))
        #expect(outcome.timedOut)
        #expect(outcome.status == 128 + SIGKILL)
        let grandchild = try #require(pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(await eventually(timeout: .seconds(10)) { !alive(grandchild) }, "the background sleep \(grandchild) outlived the kill")
    }

    @Test("a server's line is found while it runs; a signal ends it with 128 + the signal")
    func lineThenSignal() async throws {
        let scratch = try ScratchDirectory()
        let process = try await ChildProcess.start(try Repository.requireOnPath("sh"),
                                                   ["-c", "echo 'listening on 127.0.0.1:4242'; exec sleep 300"],
                                                   logs: scratch.path)
        defer { process.kill() }
        #expect(try await process.waitForLine(prefix: "listening on ", timeout: .seconds(30)) == "127.0.0.1:4242")
        #expect(process.isRunning)
        #expect(try await process.terminate(timeout: .seconds(30)) == 128 + SIGTERM)
        #expect(!process.isRunning)
    }

    @Test("waiting for a line fails at once, with the output, when the process exits without it")
    func exitBeforeLine() async throws {
        let scratch = try ScratchDirectory()
        let process = try await ChildProcess.start(try Repository.requireOnPath("sh"), ["-c", "echo something else; exit 1"],
                                                   logs: scratch.path)
        let error = await #expect(throws: TestSupportError.self) {
            try await process.waitForLine(prefix: "listening on ", timeout: .seconds(60))
        }
        #expect(error?.description.contains("something else") == true, "\(String(describing: error))")
        #expect(process.exitCode == 1)
    }

    @Test("a process nobody stopped is killed when its last reference goes")
    func droppedIsKilled() async throws {
        let scratch = try ScratchDirectory()
        var process: ChildProcess? = try await ChildProcess.start(try Repository.requireOnPath("sleep"), ["300"], logs: scratch.path)
        let pid = try #require(process?.processIdentifier)
        #expect(alive(pid))
        process = nil
        #expect(await eventually(timeout: .seconds(10)) { !alive(pid) }, "sleep \(pid) outlived its ChildProcess")
    }

    @Test("a missing executable is a clear error")
    func missingExecutable() async throws {
        let scratch = try ScratchDirectory()
        await #expect(throws: TestSupportError.self) {
            try await ChildProcess.start("/nonexistent/tool", [], logs: scratch.path)
        }
    }
}

@Suite("eventually")
struct EventuallyTests {
    @Test("returns true as soon as the condition holds")
    func holds() async {
        var calls = 0
        #expect(await eventually(timeout: .seconds(10)) {
            calls += 1
            return calls == 3
        })
        #expect(calls == 3)
    }

    @Test("returns false once the deadline passed; the throwing form names what never happened")
    func neverHolds() async {
        #expect(await eventually(timeout: .milliseconds(100)) { false } == false)
        let error = await #expect(throws: TestSupportError.self) {
            try await eventually("the moon to turn blue", timeout: .milliseconds(100), context: { "sky: grey" }) { false }
        }
        #expect(error?.description.contains("the moon to turn blue") == true)
        #expect(error?.description.contains("sky: grey") == true)
    }
}
