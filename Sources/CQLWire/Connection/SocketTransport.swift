#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A plain TCP transport over a BSD socket: IPv4 or IPv6, host names through `getaddrinfo`,
/// TCP_NODELAY (requests are small and latency-bound) and keep-alive.
public final class SocketTransport: CQLTransport {
    /// The descriptor stays open until deinit so a concurrent `read` never sees it reused;
    /// `close()` only shuts the socket down, which wakes the reader.
    private let descriptor: Int32
    private let isClosed = Mutex(false)

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit {
        #if canImport(Glibc)
        _ = Glibc.close(descriptor)
        #else
        _ = Darwin.close(descriptor)
        #endif
    }

    /// Resolves `host` and connects to the first address that accepts within `timeout`; blocks the calling thread.
    public static func connect(host: String, port: Int, timeout: Duration) throws(CQLTransportError) -> SocketTransport {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw .resolution(host: host, detail: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var lastError = "no address"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            // Close-on-exec: a child process must not inherit (and keep open) the connection.
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue),
                            info.pointee.ai_protocol)
            guard fd >= 0 else {
                lastError = String(cString: strerror(errno))
                continue
            }
            do throws(CQLTransportError) {
                try connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen, timeout: timeout, host: host, port: port)
                var one: Int32 = 1
                _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                _ = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
                #if canImport(Darwin)
                _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
                #endif
                return SocketTransport(descriptor: fd)
            } catch {
                _ = closeDescriptor(fd)
                if case .connectTimeout = error { throw error }
                lastError = error.description
            }
        }
        throw .connect(host: host, port: port, detail: lastError)
    }

    /// A non-blocking connect bounded by `timeout`, then back to blocking mode for the reader.
    private static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t,
                                timeout: Duration, host: String, port: Int) throws(CQLTransportError) {
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        if systemConnect(fd, address, length) != 0 {
            guard errno == EINPROGRESS else { throw .io(operation: "connect", errno: errno) }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let millis = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
            var ready: Int32
            repeat { ready = poll(&poller, 1, max(1, millis)) } while ready < 0 && errno == EINTR
            guard ready > 0 else {
                if ready == 0 { throw .connectTimeout(host: host, port: port) }
                throw .io(operation: "poll", errno: errno)
            }
            var code: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &size)
            guard code == 0 else { throw .io(operation: "connect", errno: code) }
        }
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
    }

    /// Blocks in `recv` until bytes arrive; 0 when the peer closed.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(CQLTransportError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let count = recv(descriptor, base, buffer.count, 0)
            if count >= 0 { return count }
            let code = errno
            if code == EINTR { continue }
            if isClosed.withLock({ $0 }) { throw .closed }
            throw .io(operation: "recv", errno: code)
        }
    }

    /// The socket, which a ``CQLIOExecutor`` polls instead of blocking a thread in `recv`.
    public var pollableDescriptor: Int32? { descriptor }

    /// `recv` with MSG_DONTWAIT: nil on EAGAIN, 0 when the peer closed.
    public func readAvailable(into buffer: UnsafeMutableRawBufferPointer) throws(CQLTransportError) -> Int? {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let count = recv(descriptor, base, buffer.count, Int32(MSG_DONTWAIT))
            if count >= 0 { return count }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            if isClosed.withLock({ $0 }) { throw .closed }
            throw .io(operation: "recv", errno: code)
        }
    }

    /// `send` with MSG_NOSIGNAL; without `blocking`, MSG_DONTWAIT and 0 on EAGAIN.
    public func write(_ bytes: UnsafeRawBufferPointer, blocking: Bool) throws(CQLTransportError) -> Int {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        #if canImport(Glibc)
        let flags = Int32(MSG_NOSIGNAL) | (blocking ? 0 : Int32(MSG_DONTWAIT))
        #else
        let flags = blocking ? 0 : MSG_DONTWAIT
        #endif
        while true {
            if isClosed.withLock({ $0 }) { throw .closed }
            let count = send(descriptor, base, bytes.count, flags)
            if count >= 0 { return count }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK {
                if !blocking { return 0 }
                // A blocking socket only says EAGAIN with a send timeout; wait until it drains.
                var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                _ = poll(&poller, 1, 1000)
                continue
            }
            throw .io(operation: "send", errno: code)
        }
    }

    /// Shuts the socket down (the descriptor itself is closed on deinit, once no thread can be reading it).
    public func close() {
        let first = isClosed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        if first { _ = shutdown(descriptor, Int32(SHUT_RDWR)) }
    }
}

private func closeDescriptor(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #else
    Darwin.close(fd)
    #endif
}

private func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
    #if canImport(Glibc)
    Glibc.connect(fd, address, length)
    #else
    Darwin.connect(fd, address, length)
    #endif
}
