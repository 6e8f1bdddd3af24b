import Foundation
package import NIOSSL

/// TLS to the nodes (Cassandra's `client_encryption_options`): the server's certificate is
/// verified against trust roots and its host name checked; a client certificate is presented
/// when the nodes require one (mutual TLS).
///
/// ```swift
/// var configuration = CQLSession.Configuration(contactPoints: [CQLEndpoint(host: "db1.example.com")])
/// configuration.tls = CQLTLSConfiguration(trustRoots: .file("/etc/cassandra/ca.pem"))
/// ```
public struct CQLTLSConfiguration: Sendable, Hashable {
    /// Where the certificates that may sign a node's certificate come from.
    public enum TrustRoots: Sendable, Hashable {
        /// The operating system's trust store.
        case system
        /// A PEM file of CA certificates (a bundle may hold several).
        case file(String)
    }

    /// How much of the node's certificate is checked.
    public enum Verification: Sendable, Hashable {
        /// The chain leads to a trust root, every certificate is within its validity period, and
        /// the certificate names the host (a DNS or IP subject alternative name).
        case full
        /// As ``full`` without the host name check: for clusters whose node certificates name no
        /// host the client can know (a shared certificate, addresses not in the SAN).
        case certificateOnly
    }

    /// The CAs trusted to sign the nodes' certificates.
    public var trustRoots: TrustRoots
    /// A PEM file with the client certificate (and its intermediates) for mutual TLS; nil for none.
    public var certificateChainFile: String?
    /// The PEM private key of ``certificateChainFile``.
    public var privateKeyFile: String?
    /// The name the node's certificate must carry, and the SNI name sent; nil uses the host of
    /// the endpoint connected to. A certificate whose IP SAN is the address connected to is
    /// accepted whatever the name (it names that node too).
    public var serverHostname: String?
    /// How much of the node's certificate is checked; ``Verification/full`` by default.
    public var verification: Verification

    /// A configuration; by default the system's trust roots, no client certificate, full verification.
    public init(trustRoots: TrustRoots = .system, certificateChainFile: String? = nil, privateKeyFile: String? = nil,
                serverHostname: String? = nil, verification: Verification = .full) {
        self.trustRoots = trustRoots
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.serverHostname = serverHostname
        self.verification = verification
    }

    /// The configuration the command-line tools' shared flags describe (`--tls-ca FILE`,
    /// `--tls-cert FILE`, `--tls-key FILE`, `--tls-server-name NAME`, `--tls`); nil when none
    /// turns TLS on. Throws ``CQLError/invalidConfiguration(_:)`` for a combination that cannot work.
    public static func fromOptions(caFile: String?, certificateFile: String?, keyFile: String?, serverName: String?,
                                   enabled: Bool) throws(CQLError) -> CQLTLSConfiguration? {
        guard enabled || caFile != nil || certificateFile != nil || keyFile != nil || serverName != nil else { return nil }
        guard (certificateFile == nil) == (keyFile == nil) else {
            throw .invalidConfiguration("--tls-cert and --tls-key go together")
        }
        if caFile == nil, !enabled {
            throw .invalidConfiguration("TLS needs --tls-ca FILE (or --tls for the system's trust roots)")
        }
        let configuration = CQLTLSConfiguration(trustRoots: caFile.map(TrustRoots.file) ?? .system,
                                                certificateChainFile: certificateFile, privateKeyFile: keyFile,
                                                serverHostname: serverName)
        try configuration.validate()
        return configuration
    }

    /// Loads every file the configuration names, so a missing or unreadable one fails when the
    /// session is configured rather than on each connection attempt.
    public func validate() throws(CQLError) {
        _ = try makeContext()
    }

    /// The NIOSSL context of a client connection; the files are read here.
    func makeContext() throws(CQLError) -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = verification == .full ? .fullVerification : .noHostnameVerification
        switch trustRoots {
        case .system:
            tls.trustRoots = .default
        case let .file(path):
            tls.trustRoots = .certificates(try Self.loadCertificates(path, role: "CA file"))
        }
        switch (certificateChainFile, privateKeyFile) {
        case (nil, nil):
            break
        case let (chain?, key?):
            tls.certificateChain = try Self.loadCertificates(chain, role: "client certificate").map { .certificate($0) }
            tls.privateKey = .privateKey(try Self.loadPrivateKey(key))
        default:
            throw .invalidConfiguration("a client certificate needs both its chain file and its private key file")
        }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw .invalidConfiguration("TLS configuration refused: \(error)")
        }
    }

    /// The PEM certificates of `path` (at least one); `role` names the file in the error.
    package static func loadCertificates(_ path: String, role: String) throws(CQLError) -> [NIOSSLCertificate] {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw .invalidConfiguration("the \(role) \(path) does not exist or cannot be read")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw .invalidConfiguration("cannot load the \(role) \(path): \(error)")
        }
        guard !certificates.isEmpty else { throw .invalidConfiguration("the \(role) \(path) holds no PEM certificate") }
        return certificates
    }

    /// The PEM private key of `path`.
    package static func loadPrivateKey(_ path: String) throws(CQLError) -> NIOSSLPrivateKey {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw .invalidConfiguration("the private key \(path) does not exist or cannot be read")
        }
        do {
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            throw .invalidConfiguration("cannot load the private key \(path): \(error)")
        }
    }
}

/// Why a TLS handshake with a node failed.
public enum CQLTLSFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The node's certificate chain does not lead to a trusted root (unknown or self-signed issuer).
    case untrustedIssuer
    /// The node's certificate does not name the host connected to (or the configured server name).
    case hostnameMismatch(expected: String)
    /// A certificate of the node's chain is past its validity period.
    case certificateExpired
    /// A certificate of the node's chain is not valid yet.
    case certificateNotYetValid
    /// The node requires a client certificate and none was configured.
    case clientCertificateRequired
    /// The node refused the client certificate (TLS alert named in `alert`).
    case clientCertificateRejected(alert: String)
    /// What answered does not speak TLS: a plaintext native-protocol port, most likely.
    case notTLS(detail: String)
    /// The node closed the connection before the handshake finished.
    case closedDuringHandshake
    /// The handshake did not finish within the connect timeout.
    case timedOut
    /// Any other handshake failure, as the TLS library reported it.
    case other(String)

    /// Whether the failure comes from certificates or settings, which another contact point will
    /// not fix (a session gives up at once), rather than from one node's state (a timeout, a close).
    public var isConfigurationProblem: Bool {
        switch self {
        case .untrustedIssuer, .hostnameMismatch, .certificateExpired, .certificateNotYetValid, .clientCertificateRequired,
             .clientCertificateRejected, .notTLS: true
        case .closedDuringHandshake, .timedOut, .other: false
        }
    }

    public var description: String {
        switch self {
        case .untrustedIssuer: "the node's certificate is not signed by a trusted CA"
        case let .hostnameMismatch(expected): "the node's certificate does not name \(expected)"
        case .certificateExpired: "the node's certificate has expired"
        case .certificateNotYetValid: "the node's certificate is not valid yet"
        case .clientCertificateRequired: "the node requires a client certificate and none is configured"
        case let .clientCertificateRejected(alert): "the node refused the client certificate (\(alert))"
        case let .notTLS(detail): "the node does not speak TLS on this port (\(detail))"
        case .closedDuringHandshake: "the node closed the connection during the TLS handshake"
        case .timedOut: "the TLS handshake timed out"
        case let .other(detail): detail
        }
    }
}
