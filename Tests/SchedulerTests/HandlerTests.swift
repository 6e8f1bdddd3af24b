import Foundation
import Logging
import Testing
import TestSupport
@testable import Scheduler

@Suite("Job handlers", .tags(.fast))
struct HandlerTests {
    static let jobID = UUID(uuidString: "6BE2A8D0-2D0E-4C65-9E5A-1A0B2C3D4E5F") ?? UUID()

    static func context(payload: String, attempt: Int64 = 7, timeout: Duration = .seconds(30)) -> JobContext {
        JobContext(
            jobID: jobID, attempt: attempt, payload: payload,
            deadline: ContinuousClock.now.advanced(by: timeout), logger: Logger(label: "handler-tests"))
    }

    @Test("the built-in registry has noop, sleep, echo and http; shell only when enabled")
    func registry() {
        #expect(HandlerRegistry.builtIns().kinds == ["noop", "sleep", "echo", "http"])
        #expect(HandlerRegistry.builtIns(shell: ShellHandler()).kinds == ["noop", "sleep", "echo", "http", "shell"])
        #expect(HandlerRegistry.builtIns().handler(for: "shell") == nil)
        #expect(HandlerRegistry.builtIns().handler(for: "echo") is EchoHandler)
    }

    @Test("noop succeeds without output")
    func noop() async throws {
        #expect(try await NoopHandler().run(Self.context(payload: "{}")) == .empty)
    }

    @Test("echo returns the payload")
    func echo() async throws {
        let result = try await EchoHandler().run(Self.context(payload: #"{"hello":"world"}"#))
        #expect(result.output == #"{"hello":"world"}"#)
    }

    @Test("sleep returns when its time is up")
    func sleepCompletes() async throws {
        #expect(try await SleepHandler().run(Self.context(payload: #"{"seconds":0.01}"#)) == .empty)
    }

    @Test("sleep stops promptly when its task is cancelled")
    func sleepCancelled() async throws {
        let task = Task { try await SleepHandler().run(Self.context(payload: #"{"seconds":3600}"#)) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test("sleep refuses payloads without a usable seconds", arguments: ["{}", #"{"seconds":-1}"#, #"{"seconds":"5"}"#, "[1]", "nope"])
    func sleepBadPayload(payload: String) async {
        await #expect(throws: JobHandlerError.self) { try await SleepHandler().run(Self.context(payload: payload)) }
    }

    @Test("http POSTs the body with the job id, attempt and fencing token headers")
    func httpDelivers() async throws {
        let server = try TestHTTPServer(status: 200)
        defer { server.stop() }
        let payload = #"{"url":"http://127.0.0.1:\#(server.port)/hook","timeout_seconds":10,"body":{"n":1}}"#
        let result = try await HTTPHandler().run(Self.context(payload: payload, attempt: 42))
        #expect(result.output == "received")
        let request = try #require(server.requests.first)
        #expect(request.requestLine == "POST /hook HTTP/1.1")
        #expect(request.headers["x-job-id"] == "6be2a8d0-2d0e-4c65-9e5a-1a0b2c3d4e5f")
        #expect(request.headers["x-job-attempt"] == "42")
        #expect(request.headers["x-fencing-token"] == "42")
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.body == #"{"n":1}"#)
    }

    @Test("http without a body field sends the whole payload")
    func httpWholePayload() async throws {
        let server = try TestHTTPServer(status: 204)
        defer { server.stop() }
        let payload = #"{"url":"http://127.0.0.1:\#(server.port)/"}"#
        _ = try await HTTPHandler().run(Self.context(payload: payload))
        #expect(server.requests.first?.body == payload)
    }

    @Test("http fails the run on a non-2xx status")
    func httpFailureStatus() async throws {
        let server = try TestHTTPServer(status: 503)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/"
        await #expect(throws: JobHandlerError.httpStatus(url: url, status: 503, body: "received")) {
            try await HTTPHandler().run(Self.context(payload: #"{"url":"\#(url)"}"#))
        }
    }

    @Test("http keeps a failed answer's status and body as the run's result")
    func httpFailureResult() async throws {
        let server = try TestHTTPServer(status: 500)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/"
        do {
            _ = try await HTTPHandler().run(Self.context(payload: #"{"url":"\#(url)"}"#))
            Issue.record("a 500 answer succeeded")
        } catch let error as JobHandlerError {
            #expect(error.result == JobResult(output: "received", httpStatus: 500))
            #expect(error.description == "http: \(url) answered 500")
        }
        let ok = try TestHTTPServer(status: 200)
        defer { ok.stop() }
        #expect(try await HTTPHandler().run(Self.context(payload: #"{"url":"http://127.0.0.1:\#(ok.port)/"}"#))
            == JobResult(output: "received", httpStatus: 200))
    }

    @Test("http names the URL and the timeout when no answer comes")
    func httpNoResponse() async throws {
        let server = try TestHTTPServer(status: 200, silent: true)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/"
        await #expect(throws: JobHandlerError.noResponse(url: url, seconds: 0.5)) {
            try await HTTPHandler().run(Self.context(payload: #"{"url":"\#(url)","timeout_seconds":0.5}"#))
        }
        #expect(JobHandlerError.noResponse(url: url, seconds: 0.5).description == "http: no response from \(url) within 0.5 s")
        #expect(JobHandlerError.noResponse(url: url, seconds: 30).description == "http: no response from \(url) within 30 s")
    }

    @Test("http refuses payloads without an http(s) URL", arguments: ["{}", #"{"url":"ftp://x/"}"#, #"{"url":"http://127.0.0.1/","timeout_seconds":0}"#])
    func httpBadPayload(payload: String) async {
        await #expect(throws: JobHandlerError.self) { try await HTTPHandler().run(Self.context(payload: payload)) }
    }

    @Test("shell succeeds on exit status 0 and captures output")
    func shellSuccess() async throws {
        let result = try await ShellHandler().run(Self.context(payload: #"{"command":"echo","args":["hello","$HOME"]}"#))
        // No shell: `$HOME` reaches echo literally.
        #expect(result.output == "hello $HOME\n")
        #expect(result.exitCode == 0)
        let viaShell = try await ShellHandler().run(Self.context(payload: #"{"command":"echo out; echo err >&2","shell":true}"#))
        #expect(viaShell.output == "out\nerr\n")
    }

    @Test("shell fails on a non-zero exit status")
    func shellFailure() async {
        await #expect(throws: JobHandlerError.exitStatus(command: "false", status: 1, output: "")) {
            try await ShellHandler().run(Self.context(payload: #"{"command":"false"}"#))
        }
        await #expect(throws: JobHandlerError.exitStatus(command: "echo oops; exit 3", status: 3, output: "oops\n")) {
            try await ShellHandler().run(Self.context(payload: #"{"command":"echo oops; exit 3","shell":true}"#))
        }
        #expect(JobHandlerError.exitStatus(command: "x", status: 3, output: "oops\n").result == JobResult(output: "oops\n", exitCode: 3))
        #expect(JobHandlerError.exitStatus(command: "x", status: 3, output: "oops\n").description == "shell: x exited with status 3")
    }

    @Test("shell keeps the output a process wrote before its deadline")
    func shellDeadlineOutput() async {
        await #expect(throws: JobHandlerError.deadlineExceeded(kind: "shell", output: "started\n")) {
            try await ShellHandler().run(Self.context(payload: #"{"command":"echo started; sleep 30","shell":true}"#, timeout: .seconds(1)))
        }
    }

    @Test("a shell child inherits only stdin, stdout and stderr, and leads its own process group")
    func shellIsolation() async throws {
        // A listening socket and a pipe the worker holds, without close-on-exec: the child must not see them.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        defer { for fd in [listener] + ends { close(fd) } }
        let payload = #"{"command":"ls /proc/self/fd; cut -d' ' -f1,5 /proc/$$/stat","shell":true}"#
        let result = try await ShellHandler().run(Self.context(payload: payload))
        let lines = (result.output ?? "").split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        // `ls` lists 0, 1, 2 and its own descriptor of /proc/self/fd (3); nothing else.
        let descriptors = lines.compactMap { Int($0) }
        #expect(descriptors == [0, 1, 2, 3], "\(result.output ?? "")")
        let ids = try #require(lines.last).split(separator: " ").compactMap { Int($0) }
        #expect(ids.count == 2 && ids[0] == ids[1], "the shell should lead its group: \(lines)")
        #expect(ids.first.map { Int32($0) != getpgrp() } ?? false)
    }

    @Test("shell kills a process that outlives its deadline")
    func shellDeadline() async {
        let start = ContinuousClock.now
        await #expect(throws: JobHandlerError.deadlineExceeded(kind: "shell", output: "")) {
            try await ShellHandler().run(Self.context(payload: #"{"command":"sleep","args":["30"]}"#, timeout: .seconds(1)))
        }
        // Not a timing assertion on the kill itself: only that it did not wait out the 30 s.
        #expect(ContinuousClock.now - start < .seconds(25))
    }

    @Test("shell escalates to SIGKILL when SIGTERM is ignored")
    func shellEscalates() async {
        let payload = #"{"command":"trap '' TERM; sleep 30","shell":true}"#
        let handler = ShellHandler(terminationGrace: .milliseconds(200))
        let start = ContinuousClock.now
        await #expect(throws: JobHandlerError.deadlineExceeded(kind: "shell", output: "")) {
            try await handler.run(Self.context(payload: payload, timeout: .milliseconds(500)))
        }
        #expect(ContinuousClock.now - start < .seconds(25))
    }

    @Test("shell stops the process group when the run's task is cancelled, keeping the output")
    func shellCancelled() async throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("shell-cancel-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: marker) }
        // The grandchild `sleep` is in the group too: the run ends only once the pipe's writers are gone.
        // SIGKILL would come only after a 600 s grace and the sleep lasts 600 s, so an end well before
        // that can only be SIGTERM reaching the whole group (no tight wall-clock bound: machines are loaded).
        let payload = #"{"command":"echo begun; touch \#(marker); sleep 600; echo never","shell":true}"#
        let task = Task { try await ShellHandler(terminationGrace: .seconds(600)).run(Self.context(payload: payload)) }
        #expect(try await eventually(timeout: .seconds(20)) { FileManager.default.fileExists(atPath: marker) })
        let start = ContinuousClock.now
        task.cancel()
        await #expect(throws: JobHandlerError.stopped(kind: "shell", output: "begun\n")) { try await task.value }
        #expect(ContinuousClock.now - start < .seconds(120))
    }

    @Test("shell refuses unknown commands and bad payloads")
    func shellBadInput() async {
        await #expect(throws: JobHandlerError.launchFailed(command: "no-such-command-h12", problem: "not found or not executable")) {
            try await ShellHandler().run(Self.context(payload: #"{"command":"no-such-command-h12"}"#))
        }
        await #expect(throws: JobHandlerError.invalidPayload(kind: "shell", problem: "\"args\" must be an array of strings")) {
            try await ShellHandler().run(Self.context(payload: #"{"command":"echo","args":[1]}"#))
        }
    }

    @Test("shell output is capped")
    func shellOutputCap() async throws {
        let handler = ShellHandler(maximumOutputBytes: 10)
        let result = try await handler.run(Self.context(payload: #"{"command":"head -c 100000 /dev/zero | tr '\\0' x; echo end","shell":true}"#))
        #expect(result.output == "[99994 earlier bytes dropped]\nxxxxxxend\n")
        #expect(ShellHandler().maximumOutputBytes == 4096)
    }

    @Test("run output keeps the last bytes, cut at a character boundary")
    func outputTail() {
        #expect(RunOutput.tail("short") == "short")
        #expect(RunOutput.tail("abcdef", limit: 3) == "[3 earlier bytes dropped]\ndef")
        // "é" is two bytes: a cut through it drops its first half and the half is counted.
        #expect(RunOutput.tail("aébc", limit: 3) == "[3 earlier bytes dropped]\nbc")
        #expect(RunOutput.tail(Array("xyz".utf8), dropped: 10, limit: 5) == "[10 earlier bytes dropped]\nxyz")
    }
}
