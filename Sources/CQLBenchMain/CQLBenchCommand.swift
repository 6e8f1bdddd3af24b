import ArgumentParser
import CQLToolOptions
import CQLWire
import Foundation
import Histogram
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What each request of a run does.
enum Workload: String, ExpressibleByArgument, CaseIterable, Sendable {
    case insert, select, lwt, mixed
}

/// Where the benchmark's request tasks run.
enum ExecutorChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// On the session's I/O executor: answers resume them on the thread that read them.
    case io
    /// On Swift's cooperative pool, with a reader thread per connection (the session's default).
    case pool
}

/// `cqlbench`: a closed-loop load generator on CQLWire with prepared statements.
@main
struct CQLBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cqlbench",
        abstract: "Load generator for CQL nodes on the CQLWire client (prepared statements, closed loop).",
        discussion: """
            Creates KEYSPACE.kv (key bigint PRIMARY KEY, value blob) if missing, then keeps CONCURRENCY requests \
            in flight for WARMUP + DURATION seconds and reports the DURATION part: ops/s, p50/p99/p999 latency, \
            errors and client CPU microseconds per request (getrusage of this process divided by requests). \
            Workloads: insert (random keys below --rows), select (reads those keys; the rows are written first), \
            lwt (INSERT ... IF NOT EXISTS on fresh keys), mixed (--read-ratio selects, --lwt-ratio LWTs, the rest \
            inserts). --executor io (the default without TLS) runs the request tasks on the session's I/O executor, the \
            thread that reads the socket; --executor pool (the only choice with TLS) runs them on Swift's cooperative pool with a reader \
            thread per connection. scripts/bench/cqlbench_python.py runs the same workloads on the DataStax Python driver.
            """
    )

    @Option(help: "The node's address.")
    var host = "127.0.0.1"

    @Option(help: "The node's native-protocol port.")
    var port = 9042

    @Option(help: "insert, select, lwt or mixed.")
    var workload = Workload.insert

    @Option(help: "Requests in flight at once.")
    var concurrency = 64

    @Option(help: "Seconds measured.")
    var duration = 10.0

    @Option(help: "Seconds run before measuring.")
    var warmup = 1.0

    @Option(help: "The keyspace holding the benchmark table.")
    var keyspace = "cqlbench"

    @Option(help: "Connections per node.")
    var connections = 1

    @Option(help: "Distinct keys that insert writes and select reads.")
    var rows = 10_000

    @Option(name: .customLong("value-size"), help: "Bytes in each value.")
    var valueSize = 64

    @Option(name: .customLong("read-ratio"), help: "mixed: the fraction of requests that are selects.")
    var readRatio = 0.8

    @Option(name: .customLong("lwt-ratio"), help: "mixed: the fraction of requests that are LWTs.")
    var lwtRatio = 0.02

    @Option(help: "Consistency level of every request.")
    var consistency = "ONE"

    @Option(help: "io: request tasks run on the session's I/O executor (the default without TLS); pool: on the cooperative pool (the default and only choice with TLS).")
    var executor: ExecutorChoice?

    @OptionGroup(title: "TLS")
    var tls: TLSOptions

    @Flag(help: "Print one JSON line instead of the table.")
    var json = false

    /// `--executor`, else io without TLS and pool with it.
    func chosenExecutor() throws -> ExecutorChoice {
        try executor ?? (tls.configuration() == nil ? .io : .pool)
    }

    func validate() throws {
        guard concurrency > 0, concurrency <= 32_768 else { throw ValidationError("--concurrency must be 1...32768") }
        guard duration > 0, warmup >= 0 else { throw ValidationError("--duration must be positive, --warmup not negative") }
        guard connections > 0, rows > 0, valueSize >= 0 else { throw ValidationError("--connections and --rows must be positive") }
        guard (0...1).contains(readRatio), (0...1).contains(lwtRatio), readRatio + lwtRatio <= 1 else {
            throw ValidationError("--read-ratio and --lwt-ratio must add up to at most 1")
        }
        guard Consistency(name: consistency) != nil else { throw ValidationError("unknown consistency \(consistency)") }
        if executor == .io, try tls.configuration() != nil {
            throw ValidationError("--executor io cannot read TLS connections (NIO's event loop does); use --executor pool")
        }
        guard keyspace.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !keyspace.isEmpty else {
            throw ValidationError("--keyspace must be a plain identifier")
        }
    }

    func run() async throws {
        let level = Consistency(name: consistency) ?? .one
        let session: CQLSession
        do {
            var configuration = CQLSession.Configuration(
                contactPoints: [CQLEndpoint(host: host, port: port)], compression: [], consistency: level,
                connectionsPerNode: connections, usesIOExecutor: try chosenExecutor() == .io)
            configuration.tls = try tls.configuration()
            session = try await CQLSession.connect(configuration)
        } catch {
            FileHandle.standardError.write(Data("cqlbench: cannot connect to \(host):\(port): \(error)\n".utf8))
            throw ExitCode(2)
        }
        defer { session.close() }
        let requests = RequestCounter()
        // Each CREATE returns once every node knows it (the session waits for schema agreement).
        for ddl in ["CREATE KEYSPACE IF NOT EXISTS \(keyspace) WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
                    "CREATE TABLE IF NOT EXISTS \(keyspace).kv (key bigint PRIMARY KEY, value blob)"]
            where !(try await session.execute(ddl)).schemaInAgreement {
            FileHandle.standardError.write(Data("cqlbench: warning: the nodes do not agree on the schema yet\n".utf8))
        }
        requests.add(2)
        let statements = try await Statements(
            insert: session.prepare("INSERT INTO \(keyspace).kv (key, value) VALUES (?, ?)"),
            select: session.prepare("SELECT key, value FROM \(keyspace).kv WHERE key = ?"),
            lwt: session.prepare("INSERT INTO \(keyspace).kv (key, value) VALUES (?, ?) IF NOT EXISTS"))
        requests.add(3)
        let value = Data((0..<valueSize).map { UInt8(truncatingIfNeeded: $0) })

        if workload == .select || workload == .mixed {
            try await populate(session: session, insert: statements.insert, value: value, requests: requests)
        }

        let plan = Plan(workload: workload, rows: Int64(rows), readRatio: readRatio, lwtRatio: lwtRatio)
        let clock = ContinuousClock()
        let started = clock.now
        let measureFrom = started + .seconds(warmup)
        let end = measureFrom + .seconds(duration)
        let cpuAtStart = Guarded<Int64?>(nil)
        let results = try await session.withIOExecutor { try await withThrowingTaskGroup(of: WorkerResult.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var generator = SplitMix(seed: UInt64(worker) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(UInt32(truncatingIfNeeded: getpid())))
                    var result = WorkerResult()
                    var lwtKey = (Int64(worker) << 40) | Int64(generator.next() & 0xFF_FFFF) << 16
                    // Whether this worker already saw the measured window open (then the CPU clock was read).
                    var measuring = false
                    while true {
                        let begin = clock.now
                        if begin >= end { break }
                        if !measuring, begin >= measureFrom {
                            measuring = true
                            cpuAtStart.withLock { if $0 == nil { $0 = processCPUMicroseconds() } }
                        }
                        let operation = plan.next(&generator)
                        do {
                            switch operation {
                            case let .insert(key):
                                _ = try await session.execute(try statements.insert.bind(key, value))
                            case let .select(key):
                                _ = try await session.execute(try statements.select.bind(key))
                            case .lwt:
                                lwtKey += 1
                                _ = try await session.execute(try statements.lwt.bind(-lwtKey, value))
                            }
                            if begin >= measureFrom {
                                let elapsed = clock.now - begin
                                result.histogram.record(min(UInt64(max(0, elapsed.nanoseconds)), WorkerResult.longestLatency))
                            } else {
                                result.warmupRequests += 1
                            }
                        } catch {
                            if begin >= measureFrom { result.errors += 1 } else { result.warmupRequests += 1 }
                            if result.firstError == nil { result.firstError = "\(error)" }
                        }
                    }
                    return result
                }
            }
            var merged = WorkerResult()
            for try await result in group { merged.merge(result) }
            return merged
        } }
        let cpuEnd = processCPUMicroseconds()
        let measured = Double(min(clock.now - measureFrom, .seconds(duration + 60)).nanoseconds) / 1e9
        let measuredRequests = results.histogram.totalCount + results.errors
        let cpu = cpuEnd - (cpuAtStart.withLock { $0 } ?? cpuEnd)
        let client = "cqlwire (\(try chosenExecutor().rawValue)\(tls.isEnabled ? ", tls" : ""))"
        let report = Report(
            client: client, workload: workload.rawValue, concurrency: concurrency, durationSeconds: measured,
            ops: results.histogram.totalCount, opsPerSecond: measured > 0 ? Double(results.histogram.totalCount) / measured : 0,
            p50Microseconds: Double(results.histogram.valueAtPercentile(50)) / 1000,
            p99Microseconds: Double(results.histogram.valueAtPercentile(99)) / 1000,
            p999Microseconds: Double(results.histogram.valueAtPercentile(99.9)) / 1000,
            maxMicroseconds: Double(results.histogram.maxRecorded) / 1000,
            errors: results.errors,
            cpuMicrosecondsPerRequest: measuredRequests > 0 ? Double(cpu) / Double(measuredRequests) : 0,
            totalRequests: requests.value + results.warmupRequests + measuredRequests,
            firstError: results.firstError)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(report) + Data("\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data(report.table.utf8))
        }
    }

    /// Writes every key the select workload reads, so reads find rows (not measured).
    private func populate(session: CQLSession, insert: PreparedStatement, value: Data, requests: RequestCounter) async throws {
        let next = Guarded<Int64>(0)
        let total = Int64(rows)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<min(concurrency, rows) {
                group.addTask {
                    while true {
                        let key = next.withLock { key -> Int64 in
                            defer { key += 1 }
                            return key
                        }
                        if key >= total { return }
                        _ = try await session.execute(try insert.bind(key, value))
                    }
                }
            }
            try await group.waitForAll()
        }
        requests.add(total)
    }
}

/// The three prepared statements every workload draws from.
struct Statements: Sendable {
    let insert: PreparedStatement
    let select: PreparedStatement
    let lwt: PreparedStatement
}

/// One request to send.
enum Operation {
    case insert(Int64)
    case select(Int64)
    case lwt
}

/// Picks each request of a workload.
struct Plan: Sendable {
    let workload: Workload
    let rows: Int64
    let readRatio: Double
    let lwtRatio: Double

    func next(_ generator: inout SplitMix) -> Operation {
        let key = Int64(generator.next() % UInt64(rows))
        switch workload {
        case .insert: return .insert(key)
        case .select: return .select(key)
        case .lwt: return .lwt
        case .mixed:
            let draw = Double(generator.next() >> 11) / Double(1 << 53)
            if draw < readRatio { return .select(key) }
            if draw < readRatio + lwtRatio { return .lwt }
            return .insert(key)
        }
    }
}

/// A small fast generator (SplitMix64): each worker owns one, so drawing keys takes no lock.
struct SplitMix: Sendable {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What one worker saw.
struct WorkerResult: Sendable {
    /// Latencies are recorded up to this many nanoseconds (ten minutes); a longer one counts as this.
    static let longestLatency: UInt64 = 600_000_000_000
    /// Latencies in nanoseconds, to three significant digits (HdrHistogram), so percentiles need no sorting.
    var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: longestLatency,
                                      numberOfSignificantValueDigits: .three)
    var errors: UInt64 = 0
    var warmupRequests: UInt64 = 0
    var firstError: String?

    mutating func merge(_ other: WorkerResult) {
        histogram.add(other.histogram)
        errors += other.errors
        warmupRequests += other.warmupRequests
        if firstError == nil { firstError = other.firstError }
    }
}

/// Requests sent outside the measured workers (schema, prepares, populating), for per-request server costs.
final class RequestCounter: Sendable {
    private let count = Mutex<UInt64>(0)

    func add(_ amount: Int64) { count.withLock { $0 += UInt64(max(0, amount)) } }

    var value: UInt64 { count.withLock { $0 } }
}

/// The figures of a run, as a table or one JSON line (the same keys as cqlbench_python.py).
struct Report: Encodable {
    let client: String
    let workload: String
    let concurrency: Int
    let durationSeconds: Double
    let ops: UInt64
    let opsPerSecond: Double
    let p50Microseconds: Double
    let p99Microseconds: Double
    let p999Microseconds: Double
    let maxMicroseconds: Double
    let errors: UInt64
    let cpuMicrosecondsPerRequest: Double
    let totalRequests: UInt64
    let firstError: String?

    enum CodingKeys: String, CodingKey {
        case client, workload, concurrency, ops, errors
        case durationSeconds = "duration_s"
        case opsPerSecond = "ops_per_s"
        case p50Microseconds = "p50_us"
        case p99Microseconds = "p99_us"
        case p999Microseconds = "p999_us"
        case maxMicroseconds = "max_us"
        case cpuMicrosecondsPerRequest = "cpu_us_per_req"
        case totalRequests = "total_requests"
        case firstError = "first_error"
    }

    var table: String {
        func fixed(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
        var lines = [
            "client            \(client)",
            "workload          \(workload) (concurrency \(concurrency), \(fixed(durationSeconds, 2)) s measured)",
            "ops               \(ops)",
            "ops/s             \(fixed(opsPerSecond))",
            "latency p50       \(fixed(p50Microseconds)) us",
            "latency p99       \(fixed(p99Microseconds)) us",
            "latency p999      \(fixed(p999Microseconds)) us",
            "latency max       \(fixed(maxMicroseconds)) us",
            "errors            \(errors)",
            "client CPU/req    \(fixed(cpuMicrosecondsPerRequest, 2)) us",
        ]
        if let firstError { lines.append("first error       \(firstError)") }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// A value shared between worker tasks behind a mutex (a class, so escaping task closures can hold it).
final class Guarded<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { value in body(&value) }
    }
}

/// User plus system CPU time of this process, in microseconds.
func processCPUMicroseconds() -> Int64 {
    var usage = rusage()
    #if canImport(Glibc)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    let user = Int64(usage.ru_utime.tv_sec) * 1_000_000 + Int64(usage.ru_utime.tv_usec)
    let system = Int64(usage.ru_stime.tv_sec) * 1_000_000 + Int64(usage.ru_stime.tv_usec)
    return user + system
}

extension Duration {
    /// The whole duration in nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled &+ attoseconds / 1_000_000_000
    }
}
