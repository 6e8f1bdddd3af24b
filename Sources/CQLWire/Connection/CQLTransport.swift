import Foundation

/// A byte stream to one node: what a ``CQLConnection`` reads frames from and writes frames to.
///
/// Kept small: ``SocketTransport`` and ``TLSTransport`` implement it. `read` blocks and is
/// only ever called from the connection's dedicated reader thread; `write` is called by whoever
/// drains the write queue, non-blocking from tasks and blocking only from the writer thread.
public protocol CQLTransport: AnyObject, Sendable {
    /// Reads at most `buffer.count` bytes, blocking until some arrive; 0 means the peer closed.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(CQLTransportError) -> Int
    /// Writes a prefix of `bytes` and returns its length; without `blocking`, 0 means "would block".
    func write(_ bytes: UnsafeRawBufferPointer, blocking: Bool) throws(CQLTransportError) -> Int
    /// Shuts the stream down in both directions, waking a blocked `read`; idempotent.
    func close()
    /// A descriptor a ``CQLIOExecutor`` can `poll` for readability, or nil (the default) when
    /// only a blocking `read` on a thread of its own can read the transport.
    var pollableDescriptor: Int32? { get }
    /// Reads what already arrived without blocking: nil when nothing has, 0 when the peer closed.
    /// Called only when ``pollableDescriptor`` is not nil.
    func readAvailable(into buffer: UnsafeMutableRawBufferPointer) throws(CQLTransportError) -> Int?
}

extension CQLTransport {
    /// No descriptor: the connection reads on a thread of its own.
    public var pollableDescriptor: Int32? { nil }

    /// Falls back to the blocking `read`; only reached by a transport that offers a descriptor
    /// without implementing this.
    public func readAvailable(into buffer: UnsafeMutableRawBufferPointer) throws(CQLTransportError) -> Int? {
        try read(into: buffer)
    }
}

/// Why a transport could not connect, read or write.
public enum CQLTransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The host name did not resolve.
    case resolution(host: String, detail: String)
    /// No resolved address accepted the connection.
    case connect(host: String, port: Int, detail: String)
    /// Connecting took longer than allowed.
    case connectTimeout(host: String, port: Int)
    /// A socket call failed with `errno`.
    case io(operation: String, errno: Int32)
    /// The TLS handshake with the node failed.
    case tls(host: String, port: Int, failure: CQLTLSFailure)
    /// The TLS layer ended the stream after the handshake (an alert from the node).
    case tlsStream(detail: String)
    /// The transport was closed locally.
    case closed

    public var description: String {
        switch self {
        case let .resolution(host, detail): "cannot resolve \(host): \(detail)"
        case let .connect(host, port, detail): "cannot connect to \(host):\(port): \(detail)"
        case let .connectTimeout(host, port): "connecting to \(host):\(port) timed out"
        case let .io(operation, code): "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
        case let .tls(host, port, failure): "TLS handshake with \(host):\(port) failed: \(failure)"
        case let .tlsStream(detail): "TLS failure: \(detail)"
        case .closed: "the transport is closed"
        }
    }
}
