import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport
import Testing

/// A blocking TCP client on 127.0.0.1 with send and receive timeouts, so a server that stops
/// reading or never closes fails the test instead of hanging it.
final class RawConnection {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let descriptor: Int32
    private var closed = false

    init(port: Int, timeoutSeconds: Int = 20) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(descriptor)
            closed = true
            throw Failure(description: "connect to \(port): errno \(code)")
        }
    }

    deinit { if !closed { Glibc.close(descriptor) } }

    /// Sends all of `bytes`; returns nil when sent, or the errno that stopped it (EAGAIN: the send timed out).
    func send(_ bytes: [UInt8]) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += sent
        }
        return nil
    }

    /// Reads one answer with a `Content-Length` body; nil when the connection ends or times out first.
    func receiveAnswer() -> String? {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let text = String(decoding: received, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let head = text[..<end.lowerBound].lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text[end.upperBound...].utf8.count >= length { return text }
            }
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { return nil }
            received += chunk[0..<count]
        }
    }

    /// Reads until the server closes; the bytes read and whether the end was a close (false: timeout or error).
    func receiveUntilClosed() -> (bytes: [UInt8], closed: Bool) {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 { return (received, true) }
            if count < 0 {
                if errno == EINTR { continue }
                // A reset after the answer was read counts as closed too.
                return (received, errno == ECONNRESET)
            }
            received += chunk[0..<count]
        }
    }
}

/// A socket listening on 127.0.0.1 on a free port, to make that port busy.
final class BusyPort {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 4) == 0 else {
            let code = errno
            if fd >= 0 { Glibc.close(fd) }
            throw RawConnection.Failure(description: "cannot hold a port: errno \(code)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { Glibc.close(descriptor) }
}

/// The `worker` process's HTTP connections, over raw sockets, and its start-up on busy ports.
@Suite("Worker connections", .serialized)
struct WorkerConnectionTests {
    /// Runs `body` with the port of a worker on the embedded in-memory node, stopped afterwards.
    func withWorker(_ body: (Int) async throws -> Void) async throws {
        let directory = try ScratchDirectory(prefix: "worker-test")
        let worker = try await ChildProcess.start("worker", ["--in-memory", "--http-port", "0", "--embedded-port", "0"],
                                            log: directory.path + "/worker.log")
        defer { worker.kill() }
        let url = try await worker.waitForLine(prefix: "worker listening on ")
        let port = try #require(URL(string: url)?.port, "no port in \(url)")
        try await body(port)
        _ = try await worker.terminate(timeout: .seconds(60))
    }

    /// `POST /jobs` with a body of `size` bytes, declared by Content-Length.
    static func oversizedRequest(size: Int, close: Bool) -> [UInt8] {
        let head = "POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(size)\r\n"
            + (close ? "Connection: close\r\n" : "") + "\r\n"
        return Array(head.utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: size)
    }

    @Test("A body over the limit gets its 413 with Connection: close, and the connection is closed (Connection: close and keep-alive)")
    func oversizedBodyIsAnsweredAndClosed() async throws {
        try await withWorker { port in
            for close in [true, false] {
                let connection = try RawConnection(port: port)
                // 32 times the 128 KiB limit: more than the socket buffers and the server's read-ahead hold, so the
                // answer goes out before the body is in and the server must read the rest for the client to finish sending.
                let failure = connection.send(Self.oversizedRequest(size: 4 << 20, close: close))
                #expect(failure == nil, "close=\(close): send stopped with errno \(failure ?? 0) (EAGAIN is a hang)")
                let (bytes, closed) = connection.receiveUntilClosed()
                let answer = String(decoding: bytes, as: UTF8.self)
                #expect(answer.hasPrefix("HTTP/1.1 413"), "close=\(close): \(answer)")
                #expect(answer.lowercased().contains("connection: close"), "close=\(close): \(answer)")
                #expect(answer.contains("request body is too large") || answer.contains("larger than"), "close=\(close): \(answer)")
                #expect(closed, "close=\(close): the server did not close the connection: \(answer)")
            }
            // The worker still serves.
            let healthy = try await HTTP.request("GET", "http://127.0.0.1:\(port)/healthz")
            #expect(healthy.status == 200)
        }
    }

    @Test("A keep-alive connection serves one request after another, a POST with its body among them, and stays open")
    func keepAliveStaysOpen() async throws {
        try await withWorker { port in
            let connection = try RawConnection(port: port)
            let job = #"{"schedule":"now","payload":{},"max_duration_seconds":30,"kind":"noop"}"#
            for round in 1...3 {
                let post = "POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(job.utf8.count)\r\n\r\n\(job)"
                #expect(connection.send(Array(post.utf8)) == nil)
                let created = try #require(connection.receiveAnswer(), "round \(round): no answer to POST")
                #expect(created.hasPrefix("HTTP/1.1 201"), "round \(round): \(created)")
                #expect(!created.lowercased().contains("connection: close"), "round \(round): \(created)")
                #expect(connection.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) == nil)
                let health = try #require(connection.receiveAnswer(), "round \(round): no answer to GET")
                #expect(health.hasPrefix("HTTP/1.1 200"), "round \(round): \(health)")
            }
        }
    }

    @Test("A body far over the limit is read only up to a bound, then the connection is closed instead of hanging")
    func hugeBodyIsCutOff() async throws {
        try await withWorker { port in
            let connection = try RawConnection(port: port)
            // 64 MiB: beyond what the worker reads and discards after answering (16 MiB).
            let failure = connection.send(Self.oversizedRequest(size: 64 << 20, close: true))
            #expect(failure == EPIPE || failure == ECONNRESET, "send ended with errno \(failure.map(String.init) ?? "none") (EAGAIN is a hang)")
        }
    }

    @Test("HEAD /healthz answers 200 with no body over a real connection")
    func headOverSocket() async throws {
        try await withWorker { port in
            let connection = try RawConnection(port: port)
            #expect(connection.send(Array("HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)) == nil)
            let (bytes, closed) = connection.receiveUntilClosed()
            let answer = String(decoding: bytes, as: UTF8.self)
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
            #expect(answer.hasSuffix("\r\n\r\n"), "a body follows the head: \(answer)")
            #expect(answer.lowercased().contains("content-length: 16"), "\(answer)")
            #expect(answer.lowercased().contains("connection: close"), "\(answer)")
            #expect(closed)
        }
    }

    @Test("A busy HTTP or CQL port stops the worker with exit status 1 naming the address and port")
    func busyPortsAreNamed() async throws {
        let busy = try BusyPort()
        for (flag, service) in [("--http-port", "HTTP"), ("--embedded-port", "CQL")] {
            let directory = try ScratchDirectory(prefix: "worker-test")
            let other = flag == "--http-port" ? "--embedded-port" : "--http-port"
            let worker = try await ChildProcess.start("worker", ["--in-memory", flag, "\(busy.port)", other, "0"],
                                                log: directory.path + "/worker.log")
            defer { worker.kill() }
            let status = try await worker.waitForExit(timeout: .seconds(60))
            #expect(status == 1, "\(flag): exit \(status)\n\(worker.output)")
            #expect(worker.output.contains("cannot listen for \(service) on 127.0.0.1:\(busy.port): address already in use"),
                    "\(flag): \(worker.output)")
        }
    }

    @Test("A busy port stops cqlnode with a non-zero status naming the address and port")
    func cqlnodeBusyPort() async throws {
        let busy = try BusyPort()
        let directory = try ScratchDirectory(prefix: "worker-test")
        let node = try await ChildProcess.start("cqlnode", ["--in-memory", "--port", "\(busy.port)"], log: directory.path + "/node.log")
        defer { node.kill() }
        let status = try await node.waitForExit(timeout: .seconds(60))
        #expect(status != 0, "\(node.output)")
        #expect(node.output.contains("cannot listen for CQL on 127.0.0.1:\(busy.port): address already in use"), "\(node.output)")
    }
}
