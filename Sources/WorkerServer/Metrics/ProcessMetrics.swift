import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process metrics every Prometheus client library exports
/// (https://prometheus.io/docs/instrumenting/writing_clientlibs/#process-metrics), read from
/// `/proc` when `/metrics` is scraped, as client_golang's process collector does on Linux.
/// Where `/proc` is missing (macOS) a value is left out rather than guessed.
struct ProcessMetrics: Sendable, Equatable {
    /// `process_cpu_seconds_total`: user plus system CPU time.
    var cpuSeconds: Double?
    /// `process_resident_memory_bytes`.
    var residentMemoryBytes: Double?
    /// `process_virtual_memory_bytes`.
    var virtualMemoryBytes: Double?
    /// `process_start_time_seconds`: since the Unix epoch.
    var startTimeSeconds: Double?
    /// `process_open_fds`.
    var openFileDescriptors: Double?
    /// `process_max_fds`: the soft limit on open descriptors (`+Inf` when unlimited).
    var maxFileDescriptors: Double?

    /// Their catalog entries (help texts as client_golang words them).
    static let descriptions: [MetricDescription] = [
        MetricDescription("process_cpu_seconds_total", .counter, "Total user and system CPU time spent in seconds."),
        MetricDescription("process_resident_memory_bytes", .gauge, "Resident memory size in bytes."),
        MetricDescription("process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes."),
        MetricDescription("process_start_time_seconds", .gauge, "Start time of the process since unix epoch in seconds."),
        MetricDescription("process_open_fds", .gauge, "Number of open file descriptors."),
        MetricDescription("process_max_fds", .gauge, "Maximum number of open file descriptors."),
    ]

    /// This process's values now.
    static func read(proc: String = "/proc") -> ProcessMetrics {
        var metrics = ProcessMetrics()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = try? String(contentsOfFile: "\(proc)/self/stat", encoding: .utf8) {
            let bootTime = (try? String(contentsOfFile: "\(proc)/stat", encoding: .utf8)).flatMap(Self.bootTime(procStat:))
            metrics.apply(stat: stat, bootTime: bootTime, ticksPerSecond: ticks, pageSize: pageSize)
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "\(proc)/self/fd") {
            metrics.openFileDescriptors = Double(descriptors.count)
        }
        if let limits = try? String(contentsOfFile: "\(proc)/self/limits", encoding: .utf8) {
            metrics.maxFileDescriptors = Self.openFilesLimit(limits: limits)
        }
        return metrics
    }

    /// Fills the values of a `/proc/PID/stat` line: utime and stime (fields 14 and 15, in clock
    /// ticks), starttime (22, ticks after boot), vsize (23, bytes) and rss (24, pages). The command
    /// name (field 2) is in parentheses and may hold spaces and parentheses, so fields are counted
    /// after its last `)`. A field that does not parse is left out.
    mutating func apply(stat: String, bootTime: Double?, ticksPerSecond: Double, pageSize: Double) {
        guard let close = stat.lastIndex(of: ")"), ticksPerSecond > 0 else { return }
        // Field 3 (state) is the first after the name.
        let fields = stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        func field(_ number: Int) -> Double? {
            let index = number - 3
            return fields.indices.contains(index) ? Double(fields[index]) : nil
        }
        if let user = field(14), let system = field(15) { cpuSeconds = (user + system) / ticksPerSecond }
        if let bootTime, let start = field(22) { startTimeSeconds = bootTime + start / ticksPerSecond }
        virtualMemoryBytes = field(23)
        if let pages = field(24) { residentMemoryBytes = pages * pageSize }
    }

    /// `btime` of `/proc/stat`: the boot time in seconds since the epoch.
    static func bootTime(procStat: String) -> Double? {
        for line in procStat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// The soft limit of the `Max open files` row of `/proc/PID/limits`.
    static func openFilesLimit(limits: String) -> Double? {
        let prefix = "Max open files"
        for line in limits.split(separator: "\n") where line.hasPrefix(prefix) {
            guard let soft = line.dropFirst(prefix.count).split(separator: " ", omittingEmptySubsequences: true).first else { return nil }
            return soft == "unlimited" ? .infinity : Double(soft)
        }
        return nil
    }

    /// The values present, as Prometheus text exposition with HELP and TYPE lines.
    func exposition() -> String {
        let values: [String: Double?] = [
            "process_cpu_seconds_total": cpuSeconds, "process_resident_memory_bytes": residentMemoryBytes,
            "process_virtual_memory_bytes": virtualMemoryBytes, "process_start_time_seconds": startTimeSeconds,
            "process_open_fds": openFileDescriptors, "process_max_fds": maxFileDescriptors,
        ]
        var text = ""
        for description in Self.descriptions {
            guard let value = values[description.name] ?? nil else { continue }
            text += "# HELP \(description.name) \(description.help)\n# TYPE \(description.name) \(description.kind.rawValue)\n"
            text += "\(description.name) \(value.isInfinite ? "+Inf" : "\(value)")\n"
        }
        return text
    }
}
