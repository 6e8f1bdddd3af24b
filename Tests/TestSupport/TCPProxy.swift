import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP proxy in front of one port, on threads of its own so a stalled peer never blocks
/// a test's tasks. It forwards both ways and, on command, cuts every open connection and refuses
/// new ones for a while (``cut(refusingFor:)``), stops answering altogether (``stop()``), delays
/// every chunk it forwards (``delay(milliseconds:for:)``), or records what the clients sent.
///
/// The CQL client tests put several in front of one node to make a cluster of addresses; the chaos
/// harness puts one between the workers and the node.
public final class TCPProxy: Sendable {
    /// The port clients connect to.
    public let port: Int
    private let upstreamPort: UInt16
    private let listener: Int32
    private let recordsClientBytes: Bool
    private let state = Mutex(State())

    private struct State {
        var open: Set<Int32> = []
        var refuseUntil = ContinuousClock.Instant.now
        var stopped = false
        var delayMicroseconds: UInt32 = 0
        var delayUntil = ContinuousClock.Instant.now
        var delayedChunks = 0
        var connections = 0
        var chunks: [Chunk] = []
    }

    /// Bytes one client connection sent, in order.
    public struct Chunk: Sendable {
        /// The number of the proxied connection (1, 2, ... in order of acceptance).
        public var connection: Int
        /// The bytes.
        public var bytes: [UInt8]
    }

    /// Starts forwarding 127.0.0.1:(free port) to 127.0.0.1:`upstreamPort`; with
    /// `recordsClientBytes` it keeps every chunk the clients send (``clientChunks``).
    public init(upstreamPort: Int, recordsClientBytes: Bool = false) throws {
        guard let upstream = UInt16(exactly: upstreamPort) else { throw TestSupportError("no TCP port: \(upstreamPort)") }
        let (fd, port) = try Sockets.listen(port: 0)
        self.listener = fd
        self.port = Int(port)
        self.upstreamPort = upstream
        self.recordsClientBytes = recordsClientBytes
        Sockets.spawn { [self] in Sockets.acceptLoop(listener) { forward($0) } }
    }

    /// Closes every forwarded connection and refuses new ones for `seconds`.
    public func cut(refusingFor seconds: Double) {
        let fds = state.withLock { state in
            state.refuseUntil = .now + .milliseconds(Int(max(0, seconds) * 1000))
            return state.open
        }
        for fd in fds { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Stops listening and cuts every open connection: the address stops answering for good.
    public func stop() {
        let fds = state.withLock { state in
            state.stopped = true
            return state.open
        }
        shutdown(listener, Int32(SHUT_RDWR))
        for fd in fds { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Holds every forwarded chunk `milliseconds` (at most 10 s) for the next `seconds`.
    public func delay(milliseconds: Int, for seconds: Double) {
        state.withLock { state in
            state.delayMicroseconds = UInt32(max(0, min(milliseconds, 10_000)) * 1000)
            state.delayUntil = .now + .milliseconds(Int(max(0, seconds) * 1000))
        }
    }

    /// Chunks held back by ``delay(milliseconds:for:)`` so far.
    public var delayedChunks: Int { state.withLock { $0.delayedChunks } }

    /// Descriptors of forwarded connections open now (both ends counted).
    public var openDescriptors: Int { state.withLock { $0.open.count } }

    /// What the clients sent since the last ``clearClientChunks()`` (with `recordsClientBytes`).
    public var clientChunks: [Chunk] { state.withLock { $0.chunks } }

    /// Forgets the recorded client bytes.
    public func clearClientChunks() { state.withLock { $0.chunks.removeAll() } }

    /// Connects an accepted client upstream and starts a pump each way (or closes it while refusing).
    private func forward(_ client: Int32) {
        let refusing = state.withLock { $0.stopped || ContinuousClock.now < $0.refuseUntil }
        guard !refusing, let upstream = Sockets.connect(port: upstreamPort) else {
            close(client)
            return
        }
        let number = state.withLock { state in
            state.open.formUnion([client, upstream])
            state.connections += 1
            return state.connections
        }
        let pair = PumpPair()
        Sockets.spawn { [self] in pump(from: client, to: upstream, pair: pair, recordAs: recordsClientBytes ? number : nil) }
        Sockets.spawn { [self] in pump(from: upstream, to: client, pair: pair, recordAs: nil) }
    }

    /// The delay for the next chunk, counting it when there is one.
    private func currentDelay() -> UInt32 {
        state.withLock { state in
            guard ContinuousClock.now < state.delayUntil, state.delayMicroseconds > 0 else { return 0 }
            state.delayedChunks += 1
            return state.delayMicroseconds
        }
    }

    private func pump(from source: Int32, to target: Int32, pair: PumpPair, recordAs connection: Int?) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            if let connection {
                let chunk = Chunk(connection: connection, bytes: Array(buffer[0..<count]))
                state.withLock { $0.chunks.append(chunk) }
            }
            let delay = currentDelay()
            if delay > 0 { usleep(delay) }
            let sent = buffer.withUnsafeBytes { bytes in
                bytes.baseAddress.map { Sockets.writeAll(target, $0, count) } ?? false
            }
            guard sent else { break }
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(target, Int32(SHUT_RDWR))
        // The second pump of a pair to finish closes both ends, so neither closes under the other.
        if pair.finished.add(1, ordering: .acquiringAndReleasing).newValue == 2 {
            state.withLock { state in
                state.open.remove(source)
                state.open.remove(target)
            }
            close(source)
            close(target)
        }
    }
}

/// The two pumps of one proxied connection.
private final class PumpPair: Sendable {
    let finished = Atomic<Int>(0)
}
