import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One effect a run of an `http` job tried to apply.
struct EffectRecord: Sendable {
    /// The job, lower-case UUID text as the `X-Job-Id` header carries it.
    var jobID: String
    /// The run's fencing token (`X-Fencing-Token`).
    var token: Int64
    /// Whether it was applied (token at least the highest seen for the job) or rejected as stale.
    var applied: Bool
    /// Arrival order across all jobs.
    var sequence: Int
}

/// The receiver of the effect-recording job kind: a minimal HTTP/1.1 server that applies a
/// job's effect only when its fencing token is at least the highest already seen for the job,
/// and answers 409 to a stale one, recording both.
final class EffectServer: @unchecked Sendable {
    /// Where it listens.
    let port: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private var highest: [String: Int64] = [:]
    private var records: [EffectRecord] = []

    /// Starts listening on a free loopback port.
    init() throws {
        let (fd, port) = try Sockets.listen(port: 0)
        self.listener = fd
        self.port = port
        Sockets.spawn { [self] in acceptLoop() }
    }

    /// Every effect so far, in arrival order.
    var snapshot: [EffectRecord] {
        lock.lock()
        defer { lock.unlock() }
        return records
    }

    /// Applies or rejects one effect; returns whether it was applied.
    func record(jobID: String, token: Int64) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let applied = token >= (highest[jobID] ?? Int64.min)
        if applied { highest[jobID] = token }
        records.append(EffectRecord(jobID: jobID, token: token, applied: applied, sequence: records.count))
        return applied
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            Sockets.spawn { [self] in serve(client) }
        }
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
        if record(jobID: job.lowercased(), token: token) {
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
