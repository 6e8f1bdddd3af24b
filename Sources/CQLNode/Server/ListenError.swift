#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// A listening socket that could not be opened, naming the address it was for: "Address already
/// in use" alone does not tell an operator which of a process's ports is taken.
public struct ListenError: Error, CustomStringConvertible, Sendable {
    /// What was to listen there (`CQL`, `HTTP`).
    public let service: String
    /// The address asked for.
    public let host: String
    /// The port asked for.
    public let port: Int
    /// The system's error number.
    public let errno: Int32

    /// The error of a failed bind of `host`:`port`; nil when `error` is not a system error.
    public init?(bindFailure error: any Error, service: String, host: String, port: Int) {
        guard let system = error as? IOError else { return nil }
        self.service = service
        self.host = host
        self.port = port
        self.errno = system.errnoCode
    }

    /// Whether another socket holds the address.
    public var isAddressInUse: Bool { errno == EADDRINUSE }

    /// `cannot listen for HTTP on 127.0.0.1:8080: address already in use (...)`.
    public var description: String {
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let reason = isAddressInUse
            ? "address already in use (another process listens on it; pick another port)"
            : String(cString: strerror(errno))
        return "cannot listen for \(service) on \(address): \(reason)"
    }
}
