import CQLWire
import NIOSSL

/// TLS on the node's native-protocol port, as Cassandra's `client_encryption_options` with
/// `enabled: true, optional: false`: every connection must speak TLS; with a client CA, every
/// client must present a certificate that CA signed (`require_client_auth: true`).
public struct CQLServerTLSConfiguration: Sendable, Hashable {
    /// A PEM file with the node's certificate, then its intermediates.
    public var certificateChainFile: String
    /// The PEM private key of the node's certificate.
    public var privateKeyFile: String
    /// A PEM file of the CAs that sign client certificates; nil accepts clients without one.
    public var clientCAFile: String?

    /// A configuration serving `certificateChainFile`, requiring client certificates when `clientCAFile` is set.
    public init(certificateChainFile: String, privateKeyFile: String, clientCAFile: String? = nil) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.clientCAFile = clientCAFile
    }

    /// The NIOSSL context every connection's handshake uses; reads the files, and throws
    /// ``CQLError/invalidConfiguration(_:)`` naming one that cannot be used.
    func makeContext() throws(CQLError) -> NIOSSLContext {
        let chain = try CQLTLSConfiguration.loadCertificates(certificateChainFile, role: "certificate")
        let key = try CQLTLSConfiguration.loadPrivateKey(privateKeyFile)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                           privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        if let clientCAFile {
            tls.trustRoots = .certificates(try CQLTLSConfiguration.loadCertificates(clientCAFile, role: "client CA file"))
            // Clients are not known by name: their certificate's chain is what is checked.
            tls.certificateVerification = .noHostnameVerification
        }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw .invalidConfiguration("TLS configuration refused: \(error)")
        }
    }
}
