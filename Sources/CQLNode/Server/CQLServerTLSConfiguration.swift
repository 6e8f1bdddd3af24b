import Foundation
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
        let files = [("certificate", certificateChainFile), ("private key", privateKeyFile)]
            + (clientCAFile.map { [("client CA file", $0)] } ?? [])
        for (role, path) in files where !FileManager.default.isReadableFile(atPath: path) {
            throw ConfigurationError(description: "the \(role) \(path) does not exist or cannot be read")
        }
        // NIOSSL reads and parses the PEM files when the context is made.
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: [.file(certificateChainFile)],
                                                           privateKey: .file(privateKeyFile))
        tls.minimumTLSVersion = .tlsv12
        if let clientCAFile {
            tls.trustRoots = .file(clientCAFile)
            // Clients are not known by name: their certificate's chain is what is checked.
            tls.certificateVerification = .noHostnameVerification
        }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw ConfigurationError(description: "TLS configuration refused: \(error)")
        }
    }
}
