import ChaosKit
import Foundation
import Synchronization
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A loopback peer behind the proxy: accepts one connection and hands its descriptor over.
private final class Upstream: Sendable {
    let port: UInt16
    private let listener: Int32
    private let accepted = Mutex<Int32?>(nil)

    init() throws {
        let (fd, port) = try Sockets.listen(port: 0)
        listener = fd
        self.port = port
        Sockets.spawn { [self] in
            let client = accept(listener, nil, nil)
            accepted.withLock { $0 = client }
        }
    }

    /// The accepted connection, once there is one.
    func connection() async throws -> Int32 {
        for _ in 0..<600 {
            if let fd = current(), fd >= 0 { return fd }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ChaosError("the proxy never connected upstream")
    }

    private func current() -> Int32? {
        accepted.withLock { $0 }
    }

    deinit {
        close(listener)
        if let fd = accepted.withLock({ $0 }), fd >= 0 { close(fd) }
    }
}

/// Reads exactly `count` bytes (or until the peer closes); blocking, so tests call it off the cooperative pool.
private func readBytes(_ fd: Int32, count: Int) async -> [UInt8] {
    await withCheckedContinuation { continuation in
        Sockets.spawn {
            var result: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while result.count < count {
                let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, count - result.count)) }
                if got < 0 && errno == EINTR { continue }
                guard got > 0 else { break }
                result += buffer[0..<got]
            }
            continuation.resume(returning: result)
        }
    }
}

private func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { raw in raw.baseAddress.map { Sockets.writeAll(fd, $0, raw.count) } ?? false }
}

@Suite("TCP proxy")
struct ProxyTests {
    @Test("forwards bytes both ways", arguments: [1, 100, 200_000])
    func forwards(size: Int) async throws {
        let upstream = try Upstream()
        let proxy = try TCPProxy(upstreamPort: Int(upstream.port))
        defer { proxy.stop() }
        let client = try #require(Sockets.connect(port: UInt16(proxy.port)))
        defer { close(client) }
        let server = try await upstream.connection()
        let request = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let response = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        async let received = readBytes(server, count: size)
        #expect(send(client, request))
        #expect(await received == request)
        async let answered = readBytes(client, count: size)
        #expect(send(server, response))
        #expect(await answered == response)
    }

    @Test("a cut closes both sides and refuses new connections for a while")
    func cut() async throws {
        let upstream = try Upstream()
        let proxy = try TCPProxy(upstreamPort: Int(upstream.port))
        defer { proxy.stop() }
        let client = try #require(Sockets.connect(port: UInt16(proxy.port)))
        defer { close(client) }
        let server = try await upstream.connection()
        async let warmup = readBytes(server, count: 1)
        #expect(send(client, [42]))
        #expect(await warmup == [42])
        proxy.cut(refusingFor: 60)
        // Both ends see end-of-stream: read returns nothing more.
        #expect(await readBytes(client, count: 1).isEmpty)
        #expect(await readBytes(server, count: 1).isEmpty)
        // A new connection is accepted by the kernel but closed by the proxy at once.
        let refused = try #require(Sockets.connect(port: UInt16(proxy.port)))
        defer { close(refused) }
        #expect(await readBytes(refused, count: 1).isEmpty)
    }

    @Test("a delay holds each chunk back and still delivers it intact")
    func delay() async throws {
        let upstream = try Upstream()
        let proxy = try TCPProxy(upstreamPort: Int(upstream.port))
        defer { proxy.stop() }
        let client = try #require(Sockets.connect(port: UInt16(proxy.port)))
        defer { close(client) }
        let server = try await upstream.connection()
        #expect(proxy.delayedChunks == 0)
        proxy.delay(milliseconds: 300, for: 60)
        let started = ContinuousClock.now
        async let received = readBytes(server, count: 3)
        #expect(send(client, [1, 2, 3]))
        #expect(await received == [1, 2, 3])
        // A lower bound only: the chunk cannot arrive before the proxy's sleep is over.
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        #expect(proxy.delayedChunks >= 1)
    }
}

@Suite("Effect server")
struct EffectServerTests {
    struct Case: Sendable {
        var tokens: [Int64]
        var applied: [Bool]
    }

    @Test("applies a token at least the highest seen and rejects a lower one", arguments: [
        Case(tokens: [1, 2, 3], applied: [true, true, true]),
        Case(tokens: [2, 1, 2, 3, 1], applied: [true, false, true, true, false]),
    ])
    func fencing(_ example: Case) throws {
        let server = try EffectServer()
        defer { server.stop() }
        let results = example.tokens.map { server.record(jobID: "job", token: $0) }
        #expect(results == example.applied)
        #expect(server.snapshot.map(\.applied) == example.applied)
        #expect(server.record(jobID: "other", token: 0))
    }
}
