@testable import CQLNode
import CQLWire
import Foundation
import TestSupport
import Testing

/// TLS between the client and the embedded node, with certificates the test makes with `openssl`.
@Suite("TLS to the embedded node")
struct TLSTests {
    /// Starts an in-memory node serving TLS with `certificate`/`key` (requiring client
    /// certificates signed by `clientCA` when given), runs `body`, and stops the node.
    static func withTLSNode(certificate: String, key: String, clientCA: String? = nil,
                            _ body: (EmbeddedNode) async throws -> Void) async throws {
        var configuration = EmbeddedNode.Configuration()
        configuration.tls = CQLServerTLSConfiguration(certificateChainFile: certificate, privateKeyFile: key,
                                                      clientCAFile: clientCA)
        let node = try await EmbeddedNode.start(configuration)
        do {
            try await body(node)
        } catch {
            try await node.shutdown()
            throw error
        }
        try await node.shutdown()
    }

    /// Long, so that a failure well before it shows the failure did not wait for a deadline; the
    /// elapsed-time bounds below are loose because a loaded CI machine can be slow.
    static let connectTimeout = Duration.seconds(60)
    static let quickly = Duration.seconds(30)

    static func sessionConfiguration(_ node: EmbeddedNode, host: String? = nil, tls: CQLTLSConfiguration?,
                                     compression: [FrameCompression] = []) -> CQLSession.Configuration {
        var configuration = CQLSession.Configuration(
            contactPoints: [CQLEndpoint(host: host ?? node.host, port: node.port)], compression: compression,
            connectTimeout: Self.connectTimeout, consistency: .one, pageSize: 50,
            reconnection: ReconnectionPolicy(baseDelay: .milliseconds(20), maxDelay: .milliseconds(200)))
        configuration.tls = tls
        return configuration
    }

    /// The TLS failure a connection attempt threw, or nil when it threw something else (or nothing).
    static func tlsFailure(_ attempt: () async throws -> Void) async -> CQLTLSFailure? {
        do {
            try await attempt()
        } catch let CQLError.tlsHandshakeFailed(_, reason) {
            return reason
        } catch {
            Issue.record("expected a TLS handshake failure, got \(error)")
        }
        return nil
    }

    @Test("queries, prepared statements, an LWT and paging run over TLS, with and without LZ4",
          arguments: [[FrameCompression](), [.lz4]])
    func queries(compression: [FrameCompression]) async throws {
        let certificates = try await TestCertificates.shared()
        try await Self.withTLSNode(certificate: certificates.serverCertificate, key: certificates.serverKey) { node in
            let session = try await CQLSession.connect(Self.sessionConfiguration(
                node, tls: CQLTLSConfiguration(trustRoots: .file(certificates.caFile)), compression: compression))
            defer { session.close() }
            _ = try await session.execute(
                "CREATE KEYSPACE tls WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
            _ = try await session.execute("CREATE TABLE tls.kv (k int PRIMARY KEY, v text)")
            let insert = try await session.prepare("INSERT INTO tls.kv (k, v) VALUES (?, ?)")
            // Values large enough that LZ4 compresses frames and TLS splits them over several records.
            let large = String(repeating: "payload-", count: 4096)
            for key in 0..<120 { _ = try await session.execute(try insert.bind(Int32(key), key == 7 ? large : "v\(key)")) }

            let select = try await session.prepare("SELECT v FROM tls.kv WHERE k = ?")
            let row = try #require(try await session.execute(try select.bind(Int32(7))).first)
            #expect(try row.decode(String.self, at: 0) == large)

            var keys: [Int32] = []
            for try await row in session.rows(try CQLStatement("SELECT k FROM tls.kv")) {
                keys.append(try row.decode(Int32.self, at: 0))
            }
            #expect(keys.sorted() == Array(0..<120), "paging over TLS returned \(keys.count) rows")

            // A 6 MiB value: the write outgrows the channel's write buffer (the writer thread waits
            // for it to drain) and the answer can outgrow the read buffer (reading pauses).
            let huge = String(repeating: "0123456789abcdef", count: 6 * 65536)
            _ = try await session.execute(try insert.bind(Int32(2000), huge))
            let hugeRow = try #require(try await session.execute(try select.bind(Int32(2000))).first)
            #expect(try hugeRow.decode(String.self, at: 0) == huge)

            let lwt = "INSERT INTO tls.kv (k, v) VALUES (1000, 'first') IF NOT EXISTS"
            #expect(try await session.execute(lwt).wasApplied)
            #expect(try await session.execute(lwt).wasApplied == false)
        }
    }

    @Test("many concurrent requests over two TLS connections all get their own answers")
    func concurrentRequests() async throws {
        let certificates = try await TestCertificates.shared()
        try await Self.withTLSNode(certificate: certificates.serverCertificate, key: certificates.serverKey) { node in
            let session = try await CQLSession.connect(Self.sessionConfiguration(
                node, tls: CQLTLSConfiguration(trustRoots: .file(certificates.caFile)), compression: [.lz4]))
            defer { session.close() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<400 {
                    group.addTask {
                        let result = try await session.execute("SELECT release_version, key FROM system.local WHERE key = 'local'")
                        #expect(try result.first?.decode(String.self, at: 1) == "local", "request \(index)")
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test("a certificate signed by another CA is refused as an untrusted issuer")
    func otherCA() async throws {
        let certificates = try await TestCertificates.shared()
        try await Self.withTLSNode(certificate: certificates.otherServerCertificate, key: certificates.otherServerKey) { node in
            let failure = await Self.tlsFailure {
                _ = try await CQLSession.connect(Self.sessionConfiguration(
                    node, tls: CQLTLSConfiguration(trustRoots: .file(certificates.caFile))))
            }
            #expect(failure == .untrustedIssuer)
        }
    }

    @Test("an expired certificate is refused as expired")
    func expired() async throws {
        let certificates = try await TestCertificates.shared()
        try await Self.withTLSNode(certificate: certificates.expiredCertificate, key: certificates.expiredKey) { node in
            let failure = await Self.tlsFailure {
                _ = try await CQLConnection.connect(host: node.host, port: node.port, configuration: CQLConnection.Configuration(
                    tls: CQLTLSConfiguration(trustRoots: .file(certificates.caFile))))
            }
            #expect(failure == .certificateExpired)
        }
    }

    @Test("a certificate for another host name is refused, and accepted with that name as the server name")
    func wrongHostName() async throws {
        let certificates = try await TestCertificates.shared()
        try await Self.withTLSNode(certificate: certificates.wrongHostCertificate, key: certificates.wrongHostKey) { node in
            for host in ["127.0.0.1", "localhost"] {
                let failure = await Self.tlsFailure {
                    _ = try await CQLSession.connect(Self.sessionConfiguration(
                        node, host: host, tls: CQLTLSConfiguration(trustRoots: .file(certificates.caFile))))
                }
                #expect(failure == .hostnameMismatch(expected: host))
            }
            let session = try await CQLSession.connect(Self.sessionConfiguration(node, tls: CQLTLSConfiguration(
                trustRoots: .file(certificates.caFile), serverHostname: certificates.wrongHostName)))
            defer { session.close() }
            #expect(try await session.execute("SELECT key FROM system.local").first?.decode(String.self, at: 0) == "local")
            // Without the host name check the certificate's chain alone decides.
            let unchecked = try await CQLSession.connect(Self.sessionConfiguration(node, tls: CQLTLSConfiguration(
                trustRoots: .file(certificates.caFile), verification: .certificateOnly)))
            unchecked.close()
        }
    }

    @Test("mutual TLS: a client certificate from the CA is accepted; none, or one from another CA, is refused")
    func mutualTLS() async throws {
        let certificates = try await TestCertificates.shared()
        try await Self.withTLSNode(certificate: certificates.serverCertificate, key: certificates.serverKey,
                                   clientCA: certificates.caFile) { node in
            let session = try await CQLSession.connect(Self.sessionConfiguration(node, tls: CQLTLSConfiguration(
                trustRoots: .file(certificates.caFile), certificateChainFile: certificates.clientCertificate,
                privateKeyFile: certificates.clientKey)))
            #expect(try await session.execute("SELECT key FROM system.local").first?.decode(String.self, at: 0) == "local")
            session.close()

            let clock = ContinuousClock()
            let start = clock.now
            let anonymous = await Self.tlsFailure {
                _ = try await CQLSession.connect(Self.sessionConfiguration(
                    node, tls: CQLTLSConfiguration(trustRoots: .file(certificates.caFile))))
            }
            #expect(anonymous == .clientCertificateRequired)
            #expect(clock.now - start < Self.quickly, "refusing took \(clock.now - start)")

            let stranger = await Self.tlsFailure {
                _ = try await CQLSession.connect(Self.sessionConfiguration(node, tls: CQLTLSConfiguration(
                    trustRoots: .file(certificates.caFile), certificateChainFile: certificates.otherClientCertificate,
                    privateKeyFile: certificates.otherClientKey)))
            }
            #expect(stranger.map { if case .clientCertificateRejected = $0 { true } else { false } } == true,
                    "got \(String(describing: stranger))")
        }
    }

    @Test("a plaintext client against a TLS node fails at once with a hint to use TLS")
    func plaintextClientOnTLSNode() async throws {
        let certificates = try await TestCertificates.shared()
        try await Self.withTLSNode(certificate: certificates.serverCertificate, key: certificates.serverKey) { node in
            let clock = ContinuousClock()
            let start = clock.now
            do {
                _ = try await CQLConnection.connect(host: node.host, port: node.port,
                                                    configuration: CQLConnection.Configuration(connectTimeout: Self.connectTimeout))
                Issue.record("a plaintext handshake with a TLS node succeeded")
            } catch let CQLError.connectionFailed(_, reason) {
                #expect(reason.contains("--tls-ca"), "\(reason)")
            }
            #expect(clock.now - start < Self.quickly, "failing took \(clock.now - start)")
        }
    }

    @Test("a TLS client against a plaintext node fails at once: the node does not speak TLS")
    func tlsClientOnPlaintextNode() async throws {
        let certificates = try await TestCertificates.shared()
        let node = try await EmbeddedNode.start(.init())
        defer { Task { try? await node.shutdown() } }
        let clock = ContinuousClock()
        let start = clock.now
        let failure = await Self.tlsFailure {
            _ = try await CQLConnection.connect(host: node.host, port: node.port, configuration: CQLConnection.Configuration(
                connectTimeout: Self.connectTimeout, tls: CQLTLSConfiguration(trustRoots: .file(certificates.caFile))))
        }
        #expect(failure.map { if case .notTLS = $0 { true } else { false } } == true, "got \(String(describing: failure))")
        #expect(clock.now - start < Self.quickly, "failing took \(clock.now - start)")
    }

    @Test("a handshake the peer never answers ends at the connect timeout")
    func silentPeer() async throws {
        // A listening socket that accepts (the kernel does) and never says a word.
        let listener = try SilentListener()
        let certificates = try await TestCertificates.shared()
        let clock = ContinuousClock()
        let start = clock.now
        let failure = await Self.tlsFailure {
            _ = try await CQLConnection.connect(host: "127.0.0.1", port: listener.port, configuration: CQLConnection.Configuration(
                connectTimeout: .milliseconds(500), tls: CQLTLSConfiguration(trustRoots: .file(certificates.caFile))))
        }
        #expect(failure == .timedOut)
        #expect(clock.now - start < Self.quickly, "timing out took \(clock.now - start)")
    }

    @Test("a session skips a contact point whose handshake times out and connects through the next one")
    func timedOutContactPoint() async throws {
        let listener = try SilentListener()
        let certificates = try await TestCertificates.shared()
        try await Self.withTLSNode(certificate: certificates.serverCertificate, key: certificates.serverKey) { node in
            var configuration = Self.sessionConfiguration(node, tls: CQLTLSConfiguration(trustRoots: .file(certificates.caFile)))
            configuration.contactPoints.insert(CQLEndpoint(host: "127.0.0.1", port: listener.port), at: 0)
            // Short for the silent contact point, long enough for the real node on a loaded machine.
            configuration.connectTimeout = .seconds(3)
            configuration.discoverNodes = false
            let session = try await CQLSession.connect(configuration)
            defer { session.close() }
            #expect(try await session.execute("SELECT key FROM system.local").first?.decode(String.self, at: 0) == "local")
        }
    }

    @Test("configurations that cannot work are refused before connecting")
    func invalidConfigurations() async throws {
        let certificates = try await TestCertificates.shared()
        var withExecutor = CQLSession.Configuration(contactPoints: [CQLEndpoint(host: "127.0.0.1", port: 1)], usesIOExecutor: true)
        withExecutor.tls = CQLTLSConfiguration(trustRoots: .file(certificates.caFile))
        await #expect(performing: { _ = try await CQLSession.connect(withExecutor) }, throws: { error in
            guard case let CQLError.invalidConfiguration(detail) = error else { return false }
            return detail.contains("I/O executor")
        })
        var missing = CQLSession.Configuration(contactPoints: [CQLEndpoint(host: "127.0.0.1", port: 1)])
        missing.tls = CQLTLSConfiguration(trustRoots: .file(certificates.directory + "/absent.pem"))
        await #expect(performing: { _ = try await CQLSession.connect(missing) }, throws: { error in
            guard case let CQLError.invalidConfiguration(detail) = error else { return false }
            return detail.contains("absent.pem")
        })
        #expect(throws: CQLError.invalidConfiguration("--tls-cert and --tls-key go together")) {
            _ = try CQLTLSConfiguration.fromOptions(caFile: certificates.caFile, certificateFile: certificates.clientCertificate,
                                                    keyFile: nil, serverName: nil, enabled: false)
        }
        #expect(try CQLTLSConfiguration.fromOptions(caFile: nil, certificateFile: nil, keyFile: nil, serverName: nil,
                                                    enabled: false) == nil)
        #expect(try CQLTLSConfiguration.fromOptions(caFile: nil, certificateFile: nil, keyFile: nil, serverName: nil,
                                                    enabled: true)?.trustRoots == .system)
    }
}

/// A TCP listener on 127.0.0.1 that never accepts: connections complete in the kernel's backlog
/// and then hear nothing.
final class SilentListener: Sendable {
    let port: Int
    private let descriptor: Int32

    struct Failed: Error {}

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failed() }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 8) == 0 else {
            close(fd)
            throw Failed()
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
