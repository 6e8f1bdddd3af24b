import Foundation
import CQLWire
import Logging
import Testing
@testable import WorkerServer

@Suite("Worker configuration")
struct ConfigurationTests {
    @Test("No flags and no environment give the documented defaults")
    func defaults() throws {
        let configuration = try WorkerOptions.parse([]).resolve(environment: [:])
        #expect(configuration.httpHost == "127.0.0.1")
        #expect(configuration.httpPort == 8080)
        #expect(configuration.database == .embedded(port: 9042, storage: .directory("./.scheduler-data")))
        #expect(configuration.keyspace == "scheduler")
        #expect(configuration.shards == 16)
        #expect(configuration.pollInterval == .milliseconds(500))
        #expect(configuration.shutdownGrace == .seconds(30))
        #expect(configuration.maxConcurrentRuns == 16)
        #expect(configuration.historyRetention == .seconds(30 * 86_400))
        #expect(configuration.apiToken == nil)
        #expect(!configuration.enableShellJobs)
        #expect(configuration.consistency == .localQuorum)
        #expect(configuration.serialConsistency == .localSerial)
        #expect(configuration.localDatacenter == nil)
        #expect(configuration.workerID.hasSuffix("-\(ProcessInfo.processInfo.processIdentifier)"))
    }

    @Test("Environment variables configure; flags win over them")
    func precedence() throws {
        let environment = [
            "SCHEDULER_HTTP_PORT": "9000", "SCHEDULER_KEYSPACE": "from_env", "SCHEDULER_SHARDS": "4",
            "SCHEDULER_CASSANDRA": "10.0.0.1:9043,cass2", "SCHEDULER_API_TOKEN": "t", "SCHEDULER_ENABLE_SHELL_JOBS": "true",
            "SCHEDULER_POLL_INTERVAL": "2s", "SCHEDULER_SHUTDOWN_GRACE": "1m", "SCHEDULER_WORKER_ID": "w-env",
            "SCHEDULER_MAX_CONCURRENT_RUNS": "64", "SCHEDULER_HISTORY_RETENTION": "7d",
        ]
        let fromEnvironment = try WorkerOptions.parse([]).resolve(environment: environment)
        #expect(fromEnvironment.httpPort == 9000)
        #expect(fromEnvironment.keyspace == "from_env")
        #expect(fromEnvironment.shards == 4)
        #expect(fromEnvironment.database == .cluster([CQLEndpoint(host: "10.0.0.1", port: 9043), CQLEndpoint(host: "cass2", port: 9042)]))
        #expect(fromEnvironment.apiToken == "t")
        #expect(fromEnvironment.enableShellJobs)
        #expect(fromEnvironment.pollInterval == .seconds(2))
        #expect(fromEnvironment.shutdownGrace == .seconds(60))
        #expect(fromEnvironment.workerID == "w-env")
        #expect(fromEnvironment.maxConcurrentRuns == 64)
        #expect(fromEnvironment.historyRetention == .seconds(7 * 86_400))

        let flagged = try WorkerOptions.parse(["--http-port", "0", "--keyspace", "from_flag", "--shards", "8", "--max-concurrent-runs", "128",
                                               "--history-retention", "0"])
            .resolve(environment: environment)
        #expect(flagged.historyRetention == .zero)
        #expect(flagged.httpPort == 0)
        #expect(flagged.maxConcurrentRuns == 128)
        #expect(flagged.keyspace == "from_flag")
        #expect(flagged.shards == 8)
    }

    @Test("Embedded options: data directory, port, in memory")
    func embedded() throws {
        let configuration = try WorkerOptions.parse(["--data-dir", "/tmp/x", "--embedded-port", "0"]).resolve(environment: [:])
        #expect(configuration.database == .embedded(port: 0, storage: .directory("/tmp/x")))
        let inMemory = try WorkerOptions.parse([]).resolve(environment: ["SCHEDULER_IN_MEMORY": "1", "SCHEDULER_EMBEDDED_PORT": "9999"])
        #expect(inMemory.database == .embedded(port: 9999, storage: .inMemory))
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        let arguments: [String]
        let environment: [String: String]
        let setting: String
        var testDescription: String { "\(arguments) \(environment)" }
    }

    static let bad: [BadCase] = [
        BadCase(arguments: ["--http-port", "70000"], environment: [:], setting: "--http-port"),
        BadCase(arguments: [], environment: ["SCHEDULER_HTTP_PORT": "http"], setting: "SCHEDULER_HTTP_PORT"),
        BadCase(arguments: ["--keyspace", "drop table;"], environment: [:], setting: "--keyspace"),
        BadCase(arguments: ["--cassandra", "host:notaport"], environment: [:], setting: "--cassandra"),
        BadCase(arguments: ["--cassandra", "a:1,,b:2"], environment: [:], setting: "--cassandra"),
        BadCase(arguments: ["--shards", "0"], environment: [:], setting: "--shards"),
        BadCase(arguments: ["--poll-interval", "fast"], environment: [:], setting: "--poll-interval"),
        BadCase(arguments: ["--poll-interval", "1ms"], environment: [:], setting: "--poll-interval"),
        BadCase(arguments: ["--shutdown-grace=-5s"], environment: [:], setting: "--shutdown-grace"),
        BadCase(arguments: ["--max-concurrent-runs", "0"], environment: [:], setting: "--max-concurrent-runs"),
        BadCase(arguments: [], environment: ["SCHEDULER_MAX_CONCURRENT_RUNS": "many"], setting: "SCHEDULER_MAX_CONCURRENT_RUNS"),
        BadCase(arguments: ["--username", "u"], environment: [:], setting: "--username/--password"),
        BadCase(arguments: [], environment: ["SCHEDULER_ENABLE_SHELL_JOBS": "maybe"], setting: "SCHEDULER_ENABLE_SHELL_JOBS"),
        BadCase(arguments: ["--log-level", "loud"], environment: [:], setting: "--log-level"),
        BadCase(arguments: ["--consistency", "LOCAL_SERIAL"], environment: [:], setting: "--consistency"),
        BadCase(arguments: ["--consistency", "MOST"], environment: [:], setting: "--consistency"),
        BadCase(arguments: [], environment: ["SCHEDULER_CONSISTENCY": "ANY"], setting: "SCHEDULER_CONSISTENCY"),
        BadCase(arguments: ["--serial-consistency", "LOCAL_QUORUM"], environment: [:], setting: "--serial-consistency"),
        BadCase(arguments: [], environment: ["SCHEDULER_SERIAL_CONSISTENCY": "QUORUM"], setting: "SCHEDULER_SERIAL_CONSISTENCY"),
        BadCase(arguments: ["--local-dc", " "], environment: [:], setting: "--local-dc"),
        BadCase(arguments: ["--history-retention", "forever"], environment: [:], setting: "--history-retention"),
        BadCase(arguments: [], environment: ["SCHEDULER_HISTORY_RETENTION": "7301d"], setting: "SCHEDULER_HISTORY_RETENTION"),
    ]

    @Test("Consistency levels and the local data centre come from flags or SCHEDULER_* variables and reach the session")
    func consistency() throws {
        let environment = ["SCHEDULER_CONSISTENCY": "quorum", "SCHEDULER_SERIAL_CONSISTENCY": "SERIAL", "SCHEDULER_LOCAL_DC": "eu-west"]
        let fromEnvironment = try WorkerOptions.parse([]).resolve(environment: environment)
        #expect(fromEnvironment.consistency == .quorum)
        #expect(fromEnvironment.serialConsistency == .serial)
        #expect(fromEnvironment.localDatacenter == "eu-west")
        let flagged = try WorkerOptions.parse(["--consistency", "EACH_QUORUM", "--serial-consistency", "local_serial", "--local-dc", "dc2"])
            .resolve(environment: environment)
        #expect(flagged.consistency == .eachQuorum)
        #expect(flagged.serialConsistency == .localSerial)
        #expect(flagged.localDatacenter == "dc2")
        let session = flagged.sessionConfiguration(contactPoints: [CQLEndpoint(host: "h1")],
                                                   logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        #expect(session.consistency == .eachQuorum)
        #expect(session.serialConsistency == .localSerial)
        #expect(session.localDatacenter == "dc2")
    }

    @Test("Unusable values are refused naming the flag or variable", arguments: bad)
    func refused(_ testCase: BadCase) throws {
        let options = try WorkerOptions.parse(testCase.arguments)
        #expect(throws: ConfigurationError.self) { try options.resolve(environment: testCase.environment) }
        do {
            _ = try options.resolve(environment: testCase.environment)
        } catch {
            #expect(error.setting == testCase.setting, "\(error)")
        }
    }

    @Test("Durations", arguments: [
        ("500ms", Duration.milliseconds(500)), ("30s", .seconds(30)), ("2m", .seconds(120)), ("1h", .seconds(3600)), ("15", .seconds(15)), ("30d", .seconds(2_592_000)),
    ])
    func durations(_ text: String, _ expected: Duration) {
        #expect(SettingParser.duration(text) == expected)
    }

    @Test("Endpoints", arguments: [
        ("h1:9042,h2:9043", [CQLEndpoint(host: "h1", port: 9042), CQLEndpoint(host: "h2", port: 9043)]),
        ("[::1]:9050", [CQLEndpoint(host: "::1", port: 9050)]),
        ("cass", [CQLEndpoint(host: "cass", port: 9042)]),
    ])
    func endpoints(_ text: String, _ expected: [CQLEndpoint]) {
        #expect(SettingParser.endpoints(text) == expected)
    }
}
