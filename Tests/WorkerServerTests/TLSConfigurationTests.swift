import CQLWire
import TestSupport
import Testing
import WorkerServer

@Suite("Worker TLS configuration")
struct TLSConfigurationTests {
    @Test("SCHEDULER_TLS_* variables configure TLS; flags win over them")
    func environmentAndFlags() async throws {
        let certificates = try await TestCertificates.shared()
        let environment = [
            "SCHEDULER_CASSANDRA": "db1:9142", "SCHEDULER_TLS_CA": certificates.otherCAFile,
            "SCHEDULER_TLS_CERT": certificates.clientCertificate, "SCHEDULER_TLS_KEY": certificates.clientKey,
            "SCHEDULER_TLS_SERVER_NAME": "cassandra.internal",
        ]
        let fromEnvironment = try WorkerOptions.parse([]).resolve(environment: environment)
        #expect(fromEnvironment.tls == CQLTLSConfiguration(
            trustRoots: .file(certificates.otherCAFile), certificateChainFile: certificates.clientCertificate,
            privateKeyFile: certificates.clientKey, serverHostname: "cassandra.internal"))

        let flagged = try WorkerOptions.parse(["--tls-ca", certificates.caFile]).resolve(environment: environment)
        #expect(flagged.tls?.trustRoots == .file(certificates.caFile))

        let system = try WorkerOptions.parse([]).resolve(environment: ["SCHEDULER_CASSANDRA": "db1", "SCHEDULER_TLS": "true"])
        #expect(system.tls == CQLTLSConfiguration(trustRoots: .system))
        #expect(try WorkerOptions.parse(["--cassandra", "db1"]).resolve(environment: [:]).tls == nil)
    }

    @Test("TLS settings that cannot work name the setting and the problem", arguments: [
        (["--cassandra", "db1", "--tls-cert", "c.pem"], "--tls-cert and --tls-key go together"),
        (["--cassandra", "db1", "--tls-server-name", "x"], "needs --tls-ca"),
        (["--cassandra", "db1", "--tls-ca", "/nonexistent/ca.pem"], "/nonexistent/ca.pem"),
        (["--tls"], "embedded node"),
    ])
    func refused(arguments: [String], problem: String) throws {
        do {
            _ = try WorkerOptions.parse(arguments).resolve(environment: [:])
            Issue.record("\(arguments) was accepted")
        } catch {
            #expect("\(error)".contains(problem), "\(error)")
            #expect("\(error)".hasPrefix("--tls"), "\(error)")
        }
    }
}
