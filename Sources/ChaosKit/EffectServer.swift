import Foundation
import Synchronization
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// One effect a run of an `http` job tried to apply.
public struct EffectRecord: Sendable, Hashable {
    /// The job, lower-case UUID text as the `X-Job-Id` header carries it.
    public var jobID: String
    /// The run's fencing token (`X-Fencing-Token`).
    public var token: Int64
    /// Whether it was applied (token at least the highest seen for the job) or rejected as stale.
    public var applied: Bool
    /// Decision order across all jobs.
    public var sequence: Int
    /// Whether the server held the request back before deciding (its slow mode).
    public var held: Bool

    /// A record.
    public init(jobID: String, token: Int64, applied: Bool, sequence: Int, held: Bool = false) {
        self.jobID = jobID
        self.token = token
        self.applied = applied
        self.sequence = sequence
        self.held = held
    }
}

/// The receiver of the effect-recording job kind: a minimal HTTP/1.1 server that applies a
/// job's effect only when its fencing token is at least the highest already seen for the job,
/// and answers 409 to a stale one, recording both.
///
/// Slow mode models a run whose write is delivered late (a worker paused mid-run, a slow network):
/// a fraction of requests is held for a while before the decision. The worker's request times out
/// meanwhile, its run fails and is retried under a new token whose effect lands first, so the held
/// one arrives stale and must be rejected.
public final class EffectServer: Sendable {
    /// Where it listens.
    public let port: UInt16
    private let listener: Int32
    private let holdFraction: Double
    private let holdSeconds: Double
    private let state: Mutex<State>

    private struct State {
        var random: SplitMix64
        var highest: [String: Int64] = [:]
        var records: [EffectRecord] = []
        var inFlight = 0
    }

    /// Starts listening on a free loopback port; `holdFraction` of the requests (0...1, drawn from
    /// `seed`) wait `holdSeconds` before they are decided.
    public init(holdFraction: Double = 0, holdSeconds: Double = 0, seed: UInt64 = 1) throws {
        let (fd, port) = try Sockets.listen(port: 0)
        self.listener = fd
        self.port = port
        self.holdFraction = min(max(holdFraction, 0), 1)
        self.holdSeconds = max(holdSeconds, 0)
        self.state = Mutex(State(random: SplitMix64(seed: seed)))
        Sockets.spawn { [self] in Sockets.acceptLoop(listener) { client in Sockets.spawn { [self] in serve(client) } } }
    }

    /// Every effect decided so far, in decision order.
    public var snapshot: [EffectRecord] { state.withLock { $0.records } }

    /// Requests received and not yet decided (held ones included).
    public var pending: Int { state.withLock { $0.inFlight } }

    /// Waits until no request is pending or `timeout` passed; returns whether it is idle.
    public func waitIdle(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while pending > 0 {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return true
    }

    /// Stops accepting connections (requests already received are still decided).
    public func stop() { shutdown(listener, Int32(SHUT_RDWR)) }

    /// Applies or rejects one effect; returns whether it was applied.
    public func record(jobID: String, token: Int64, held: Bool = false) -> Bool {
        state.withLock { state in
            let applied = token >= (state.highest[jobID] ?? Int64.min)
            if applied { state.highest[jobID] = token }
            state.records.append(EffectRecord(jobID: jobID, token: token, applied: applied, sequence: state.records.count, held: held))
            return applied
        }
    }

    /// Counts a request in and draws whether to hold it.
    private func admit() -> Bool {
        state.withLock { state in
            state.inFlight += 1
            return holdFraction > 0 && Double.random(in: 0..<1, using: &state.random) < holdFraction
        }
    }

    private func finish() {
        state.withLock { $0.inFlight -= 1 }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 8192)
        var headerEnd: Int?
        var contentLength = 0
        var headers: [String: String] = [:]
        while data.count < 1 << 20 {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            data.append(contentsOf: buffer[0..<count])
            if headerEnd == nil, let end = Self.find(Array("\r\n\r\n".utf8), in: data) {
                headerEnd = end + 4
                let text = String(decoding: data[0..<end], as: UTF8.self)
                for line in text.split(separator: "\r\n").dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    let name = line[..<colon].lowercased()
                    headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                contentLength = Int(headers["content-length"] ?? "0") ?? 0
            }
            if let headerEnd, data.count >= headerEnd + contentLength { break }
        }
        guard let job = headers["x-job-id"], let token = headers["x-fencing-token"].flatMap({ Int64($0) }) else {
            respond(fd, status: "400 Bad Request", body: "missing fencing headers")
            return
        }
        let held = admit()
        defer { finish() }
        if held { usleep(UInt32(min(holdSeconds, 600) * 1_000_000)) }
        if record(jobID: job.lowercased(), token: token, held: held) {
            respond(fd, status: "200 OK", body: "applied")
        } else {
            respond(fd, status: "409 Conflict", body: "stale token")
        }
    }

    private func respond(_ fd: Int32, status: String, body: String) {
        let text = "HTTP/1.1 \(status)\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { raw in raw.baseAddress.map { Sockets.writeAll(fd, $0, raw.count) } ?? false }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }
}
