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

    /// Why the node's TLS configuration cannot be used.
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        /// What failed, naming the file.
        public let description: String
    }

    /// The NIOSSL context every connection's handshake uses; reads the files.
    func makeContext() throws -> NIOSSLContext {
        func load(_ path: String, _ role: String) throws -> [NIOSSLCertificate] {
            let certificates: [NIOSSLCertificate]
            do {
                certificates = try NIOSSLCertificate.fromPEMFile(path)
            } catch {
                throw LoadError(description: "cannot load the \(role) \(path): \(error)")
            }
            guard !certificates.isEmpty else { throw LoadError(description: "the \(role) \(path) holds no PEM certificate") }
            return certificates
        }
        let chain = try load(certificateChainFile, "certificate")
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
        } catch {
            throw LoadError(description: "cannot load the private key \(privateKeyFile): \(error)")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                           privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        if let clientCAFile {
            tls.trustRoots = .certificates(try load(clientCAFile, "client CA file"))
            // Clients are not known by name: their certificate's chain is what is checked.
            tls.certificateVerification = .noHostnameVerification
        }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw LoadError(description: "TLS configuration refused: \(error)")
        }
    }
}
