#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CQLWire
import Foundation
import TestSupport

/// A loopback listener that answers the first frame of each connection as a node that only
/// speaks protocol v3 does: an ERROR (Protocol error) in a v3 frame on the request's stream.
final class RefusingServer: Sendable {
    let port: Int
    private let listener: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 8) == 0 else { throw TestSupportError("cannot listen: errno \(errno)") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [fd] in
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }
                var header = [UInt8](repeating: 0, count: FrameHeader.size)
                let count = header.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, Int32(MSG_WAITALL)) }
                if count == FrameHeader.size {
                    let error = ServerError(.protocolError, message: "Invalid or unsupported protocol version (4); supported versions are (3/v3)")
                    var body = ByteWriter()
                    error.encode(into: &body)
                    var writer = ByteWriter()
                    FrameHeader(version: 3, isResponse: true, stream: Int16(header[2]) << 8 | Int16(header[3]),
                                opcode: Opcode.error.rawValue, length: Int32(body.bytes.count)).encode(into: &writer)
                    writer.writeRaw(body.bytes)
                    _ = writer.bytes.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
                Thread.sleep(forTimeInterval: 0.2)
                _ = close(client)
            }
        }.start()
    }

    func stop() {
        _ = shutdown(listener, Int32(SHUT_RDWR))
    }
}
