public import ArgumentParser
public import CQLWire

/// The TLS flags every CQL tool takes (`cqlprobe`, `cqlbench`; `worker` has the same names with
/// `SCHEDULER_TLS_*` variables): `--tls-ca FILE` turns TLS on.
public struct TLSOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("tls-ca"), help: "PEM CA bundle that signs the node's certificate; turns TLS on.")
    public var caFile: String?

    @Option(name: .customLong("tls-cert"), help: "PEM client certificate for mutual TLS (needs --tls-key).")
    public var certificateFile: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.")
    public var keyFile: String?

    @Option(name: .customLong("tls-server-name"),
            help: "The name the node's certificate must carry (default: the host connected to).")
    public var serverName: String?

    @Flag(name: .customLong("tls"), help: "TLS with the system's trust roots (when there is no CA file).")
    public var enabled = false

    public init() {}

    /// Whether any flag turns TLS on.
    public var isEnabled: Bool { enabled || caFile != nil || certificateFile != nil || keyFile != nil || serverName != nil }

    /// The configuration the flags describe, nil without TLS; a bad combination or an unreadable
    /// file is a `ValidationError` naming it.
    public func configuration() throws -> CQLTLSConfiguration? {
        do {
            return try CQLTLSConfiguration.fromOptions(caFile: caFile, certificateFile: certificateFile, keyFile: keyFile,
                                                       serverName: serverName, enabled: enabled)
        } catch let CQLError.invalidConfiguration(detail) {
            throw ValidationError(detail)
        }
    }

    public func validate() throws {
        _ = try configuration()
    }
}
