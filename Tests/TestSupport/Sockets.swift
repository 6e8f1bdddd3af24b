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
        guard fd >= 0 else { throw TestSupportError("socket() failed: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 256) == 0 else {
            close(fd)
            throw TestSupportError("cannot listen on 127.0.0.1:\(port): errno \(errno)")
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
            // MSG_NOSIGNAL: a peer gone mid-write is an error return, not a SIGPIPE for the whole process.
            let written = send(fd, pointer + offset, count - offset, Int32(MSG_NOSIGNAL))
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

    /// A port free on 127.0.0.1 right now, found by binding port 0 (for servers without a port-0 mode).
    public static func freePort() throws -> Int {
        let (fd, port) = try listen(port: 0)
        close(fd)
        return Int(port)
    }

    /// Accepts connections on `listener` until it is shut down, handing each to `body`; closes the
    /// listener at the end. Blocks: run it with ``spawn(_:)``.
    public static func acceptLoop(_ listener: Int32, _ body: (Int32) -> Void) {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                close(listener)
                return
            }
            body(client)
        }
    }

    /// Runs `body` on a detached thread (blocking socket loops).
    public static func spawn(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread { body() }
        thread.stackSize = 1 << 20
        thread.start()
    }
}
