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

    /// Why the TLS files cannot serve connections: the message names the file and the problem.
    public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
        /// What is wrong, naming the file.
        public let description: String
    }

    /// The NIOSSL context every connection's handshake uses; reads the files, and throws
    /// ``ConfigurationError`` naming one that cannot be used.
    func makeContext() throws(ConfigurationError) -> NIOSSLContext {
        let chain = try Self.certificates(certificateChainFile, role: "certificate")
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
        } catch {
            throw ConfigurationError(description: "cannot load the private key \(privateKeyFile): \(error)")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                           privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        if let clientCAFile {
            tls.trustRoots = .certificates(try Self.certificates(clientCAFile, role: "client CA file"))
            // Clients are not known by name: their certificate's chain is what is checked.
            tls.certificateVerification = .noHostnameVerification
        }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw ConfigurationError(description: "TLS configuration refused: \(error)")
        }
    }

    /// The PEM certificates of `path` (at least one); `role` names the file in the error.
    private static func certificates(_ path: String, role: String) throws(ConfigurationError) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw ConfigurationError(description: "cannot load the \(role) \(path): \(error)")
        }
        guard !certificates.isEmpty else { throw ConfigurationError(description: "the \(role) \(path) holds no PEM certificate") }
        return certificates
    }
}
