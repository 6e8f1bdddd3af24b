import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Loopback TCP plumbing on plain sockets: the proxy and the effect server run on threads of
/// their own so that a stalled peer never blocks the harness's tasks.
public enum Sockets {
    /// Listens on 127.0.0.1:`port` (0 picks one); returns the descriptor and the bound port.
    public static func listen(port: UInt16) throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ChaosError("socket() failed: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 256) == 0 else {
            close(fd)
            throw ChaosError("cannot listen on 127.0.0.1:\(port): errno \(errno)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, UInt16(bigEndian: actual.sin_port))
    }

    /// Connects to 127.0.0.1:`port`; nil when nothing accepts there.
    public static func connect(port: UInt16) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Writes all of `count` bytes; false once the peer is gone.
    public static func writeAll(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Bool {
        var offset = 0
        while offset < count {
            let written = write(fd, pointer + offset, count - offset)
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// Runs `body` on a detached thread (blocking socket loops).
    public static func spawn(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread { body() }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// A harness failure with a message.
public struct ChaosError: Error, CustomStringConvertible {
    /// The message.
    public let description: String
    /// A failure saying `description`.
    public init(_ description: String) { self.description = description }
}

/// The TCP proxy between workers and the node: forwards both ways, and on command cuts every
/// open connection, refuses new ones for a while, or delays every chunk it forwards.
public final class FaultProxy: @unchecked Sendable {
    /// The port workers connect to.
    public let port: UInt16
    private let upstreamPort: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private var open: Set<Int32> = []
    private var refuseUntil = Date.distantPast
    private var delayMicros: UInt32 = 0
    private var delayUntil = Date.distantPast
    private var delayed = 0

    /// Starts forwarding 127.0.0.1:(free port) to 127.0.0.1:`upstreamPort`.
    public init(upstreamPort: UInt16) throws {
        let (fd, port) = try Sockets.listen(port: 0)
        self.listener = fd
        self.port = port
        self.upstreamPort = upstreamPort
        Sockets.spawn { [self] in acceptLoop() }
    }

    /// Closes every forwarded connection and refuses new ones for `seconds`.
    public func cut(refusingFor seconds: Double) {
        lock.lock()
        refuseUntil = Date().addingTimeInterval(seconds)
        let fds = open
        lock.unlock()
        for fd in fds { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Holds every forwarded chunk `milliseconds` for the next `seconds`.
    public func delay(milliseconds: Int, for seconds: Double) {
        lock.lock()
        delayMicros = UInt32(max(0, min(milliseconds, 10_000)) * 1000)
        delayUntil = Date().addingTimeInterval(seconds)
        lock.unlock()
    }

    /// Chunks held back by ``delay(milliseconds:for:)`` so far.
    public var delayedChunks: Int {
        lock.lock()
        defer { lock.unlock() }
        return delayed
    }

    /// Connections (both ends counted) currently forwarded.
    public var openDescriptors: Int {
        lock.lock()
        defer { lock.unlock() }
        return open.count
    }

    /// Stops accepting and cuts every open connection.
    public func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        cut(refusingFor: 0)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                close(listener)
                return
            }
            lock.lock()
            let refusing = Date() < refuseUntil
            lock.unlock()
            guard !refusing, let upstream = Sockets.connect(port: upstreamPort) else {
                close(client)
                continue
            }
            lock.lock()
            open.insert(client)
            open.insert(upstream)
            lock.unlock()
            let finished = Counter()
            Sockets.spawn { [self] in pump(from: client, to: upstream, finished: finished) }
            Sockets.spawn { [self] in pump(from: upstream, to: client, finished: finished) }
        }
    }

    private func currentDelay() -> UInt32 {
        lock.lock()
        defer { lock.unlock() }
        guard Date() < delayUntil, delayMicros > 0 else { return 0 }
        delayed += 1
        return delayMicros
    }

    private func pump(from source: Int32, to target: Int32, finished: Counter) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            let delay = currentDelay()
            if delay > 0 { usleep(delay) }
            let ok = buffer.withUnsafeBytes { bytes in
                bytes.baseAddress.map { Sockets.writeAll(target, $0, count) } ?? false
            }
            guard ok else { break }
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(target, Int32(SHUT_RDWR))
        // The second pump of a pair to finish closes both ends, so neither closes under the other.
        if finished.increment() == 2 {
            lock.lock()
            open.remove(source)
            open.remove(target)
            lock.unlock()
            close(source)
            close(target)
        }
    }
}

/// A thread-safe counter.
public final class Counter: @unchecked Sendable {
    /// A counter at zero.
    public init() {}
    private let lock = NSLock()
    private var value = 0
    /// Adds one and returns the new value.
    public func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
