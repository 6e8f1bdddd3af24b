#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CQLWire
import Foundation

/// A loopback TCP proxy in front of one port, so a session sees several node addresses, and a
/// test can cut one of them or read the exact bytes the client sent.
final class TCPProxy: @unchecked Sendable {
    // @unchecked: `state` is only touched while holding `lock`; the descriptors are plain Int32s.
    private let lock = NSLock()
    private var state = (sockets: [Int32](), cut: false)
    private let listener: Int32
    private let targetPort: Int
    /// The port clients connect to.
    let port: Int
    /// Every chunk the clients sent, in order, with the number of the proxied connection it came from.
    let clientBytes = LockedList<Chunk>()
    private var connectionCount = 0

    /// Bytes one client connection sent.
    struct Chunk: Sendable {
        var connection: Int
        var bytes: [UInt8]
    }

    init(targetPort: Int) throws {
        self.targetPort = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 64) == 0 else { throw ProxyError.setup(errno) }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    enum ProxyError: Error { case setup(Int32) }

    deinit {
        cut()
        _ = close(listener)
    }

    /// Closes the listener and every proxied connection: the address stops answering.
    func cut() {
        let sockets = lock.withLock { () -> [Int32] in
            state.cut = true
            return state.sockets
        }
        _ = shutdown(listener, Int32(SHUT_RDWR))
        for socket in sockets { _ = shutdown(socket, Int32(SHUT_RDWR)) }
    }

    /// The frames the clients sent since the recording was last cleared, decoded connection by connection.
    func sentFrames() throws -> [Frame] {
        let chunks = clientBytes.all
        var frames: [Frame] = []
        for connection in Set(chunks.map(\.connection)).sorted() {
            var decoder = FrameDecoder()
            decoder.append(chunks.filter { $0.connection == connection }.flatMap(\.bytes))
            while let frame = try decoder.nextFrame() { frames.append(frame) }
        }
        return frames
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                return
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = in_port_t(UInt16(targetPort).bigEndian)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            let number = lock.withLock { () -> Int? in
                guard !state.cut, connected == 0 else { return nil }
                state.sockets.append(contentsOf: [client, upstream])
                connectionCount += 1
                return connectionCount
            }
            guard let number else {
                _ = close(client)
                _ = close(upstream)
                continue
            }
            Thread { [self] in pump(from: client, to: upstream, record: number) }.start()
            Thread { [self] in pump(from: upstream, to: client, record: nil) }.start()
        }
    }

    private func pump(from source: Int32, to destination: Int32, record connection: Int?) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            if let connection { clientBytes.append(Chunk(connection: connection, bytes: Array(buffer[0..<count]))) }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { bytes in
                    let rest = UnsafeRawBufferPointer(rebasing: bytes[offset..<count])
                    return send(destination, rest.baseAddress, rest.count, Int32(MSG_NOSIGNAL))
                }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { break }
                offset += written
            }
            if offset < count { break }
        }
        _ = shutdown(source, Int32(SHUT_RDWR))
        _ = shutdown(destination, Int32(SHUT_RDWR))
    }
}
