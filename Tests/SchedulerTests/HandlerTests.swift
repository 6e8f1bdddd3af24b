import Foundation
import Logging
import Testing
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

    @Test("http refuses payloads without an http(s) URL", arguments: ["{}", #"{"url":"ftp://x/"}"#, #"{"url":"http://127.0.0.1/","timeout_seconds":0}"#])
    func httpBadPayload(payload: String) async {
        await #expect(throws: JobHandlerError.self) { try await HTTPHandler().run(Self.context(payload: payload)) }
    }

    @Test("shell succeeds on exit status 0 and captures output")
    func shellSuccess() async throws {
        let result = try await ShellHandler().run(Self.context(payload: #"{"command":"echo","args":["hello","$HOME"]}"#))
        // No shell: `$HOME` reaches echo literally.
        #expect(result.output == "hello $HOME\n")
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

    @Test("shell stops the process when the run's task is cancelled")
    func shellCancelled() async {
        let task = Task { try await ShellHandler().run(Self.context(payload: #"{"command":"sleep","args":["30"]}"#)) }
        try? await Task.sleep(for: .milliseconds(100))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
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
        let result = try await handler.run(Self.context(payload: #"{"command":"head -c 100000 /dev/zero | tr '\\0' x","shell":true}"#))
        #expect(result.output == "xxxxxxxxxx\n[output truncated]")
    }
}
