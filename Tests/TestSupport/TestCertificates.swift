import Foundation

/// Certificates for TLS tests, made with the `openssl` command at run time in a scratch
/// directory (removed when the test process exits): two CAs and the certificates they sign.
///
/// Every leaf key is an ECDSA P-256 key in PKCS#8 PEM; certificates are valid for 30 days
/// unless said otherwise.
public struct TestCertificates: Sendable {
    /// The scratch directory holding every file.
    public let directory: String

    /// The CA that signs the certificates below (unless said otherwise).
    public var caFile: String { directory + "/ca.pem" }
    /// The node's certificate for `localhost` and `127.0.0.1` (DNS and IP SANs).
    public var serverCertificate: String { directory + "/server.pem" }
    /// The private key of ``serverCertificate``.
    public var serverKey: String { directory + "/server.key" }
    /// A second CA, trusted by nobody here.
    public var otherCAFile: String { directory + "/other-ca.pem" }
    /// A certificate for `localhost` and `127.0.0.1` signed by ``otherCAFile``.
    public var otherServerCertificate: String { directory + "/other-server.pem" }
    /// The private key of ``otherServerCertificate``.
    public var otherServerKey: String { directory + "/other-server.key" }
    /// A certificate naming only ``wrongHostName``, signed by the CA.
    public var wrongHostCertificate: String { directory + "/wrong-host.pem" }
    /// The private key of ``wrongHostCertificate``.
    public var wrongHostKey: String { directory + "/wrong-host.key" }
    /// The only name ``wrongHostCertificate`` carries.
    public let wrongHostName = "node1.cluster.test"
    /// A certificate for `localhost` and `127.0.0.1`, signed by the CA, expired yesterday.
    public var expiredCertificate: String { directory + "/expired.pem" }
    /// The private key of ``expiredCertificate``.
    public var expiredKey: String { directory + "/expired.key" }
    /// A client certificate (`CN=scheduler-client`, clientAuth) signed by the CA.
    public var clientCertificate: String { directory + "/client.pem" }
    /// The private key of ``clientCertificate``.
    public var clientKey: String { directory + "/client.key" }
    /// A client certificate signed by ``otherCAFile``.
    public var otherClientCertificate: String { directory + "/other-client.pem" }
    /// The private key of ``otherClientCertificate``.
    public var otherClientKey: String { directory + "/other-client.key" }

    /// The certificates of this test process, made on first use.
    public static func shared() async throws -> TestCertificates { try await made.value }

    private static let made = Task { try await TestCertificates(making: scratchDirectory) }

    private static let scratchDirectory: String = {
        let path = NSTemporaryDirectory() + "cqlwire-tls-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
        atexit { try? FileManager.default.removeItem(atPath: TestCertificates.scratchDirectory) }
        return path
    }()

    /// Why a certificate could not be made.
    public struct OpenSSLFailed: Error, CustomStringConvertible {
        public let description: String
    }

    private init(making directory: String) async throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try await makeCA("ca", "Scheduler Test CA")
        try await makeCA("other-ca", "Some Other CA")
        let serverNames = "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"
        try await makeLeaf("server", subject: "localhost", extensions: serverNames, issuer: "ca")
        try await makeLeaf("other-server", subject: "localhost", extensions: serverNames, issuer: "other-ca")
        try await makeLeaf("wrong-host", subject: wrongHostName,
                     extensions: "subjectAltName=DNS:\(wrongHostName)\nextendedKeyUsage=serverAuth", issuer: "ca")
        try await makeLeaf("expired", subject: "localhost", extensions: serverNames, issuer: "ca", days: -1)
        let client = "extendedKeyUsage=clientAuth"
        try await makeLeaf("client", subject: "scheduler-client", extensions: client, issuer: "ca")
        try await makeLeaf("other-client", subject: "scheduler-client", extensions: client, issuer: "other-ca")
    }

    private func makeCA(_ name: String, _ commonName: String) async throws {
        try await openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(name).key", "-out", "\(name).pem", "-days", "30", "-subj", "/CN=\(commonName)",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    private func makeLeaf(_ name: String, subject: String, extensions: String, issuer: String, days: Int = 30) async throws {
        try await openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(subject)"])
        try Data((extensions + "\nbasicConstraints=CA:FALSE\n").utf8).write(to: URL(fileURLWithPath: "\(directory)/\(name).ext"))
        try await openssl(["x509", "-req", "-in", "\(name).csr", "-CA", "\(issuer).pem", "-CAkey", "\(issuer).key",
                     "-set_serial", "\(UInt32.random(in: 1...UInt32.max))", "-days", "\(days)",
                     "-extfile", "\(name).ext", "-out", "\(name).pem"])
    }

    private func openssl(_ arguments: [String]) async throws {
        let outcome = try await Command.run("openssl", arguments, workingDirectory: directory, timeout: .seconds(60))
        guard outcome.status == 0 else {
            throw OpenSSLFailed(description: "openssl \(arguments.joined(separator: " ")) failed: \(outcome.stderr)")
        }
    }
}
