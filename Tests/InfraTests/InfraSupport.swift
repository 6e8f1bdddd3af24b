import Foundation
import TestSupport

/// The value after `prefix` on the first line that starts with it.
func lineValue(_ text: String, after prefix: String) -> String? {
    for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
        return String(line.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
    }
    return nil
}

/// HTTP through curl, as the scripts and operators do it.
enum HTTP {
    /// A response: status and body.
    struct Response {
        var status: Int
        var body: String
    }

    /// Sends `method` to `url` with an optional JSON body.
    static func request(_ method: String, _ url: String, json: String? = nil) async throws -> Response {
        var arguments = ["-sS", "-X", method, "-w", "\n%{http_code}", "--max-time", "10"]
        if let json { arguments += ["-H", "Content-Type: application/json", "--data-binary", json] }
        arguments.append(url)
        let outcome = try await Command.run(try Repository.requireOnPath("curl"), arguments, timeout: .seconds(30))
        guard outcome.status == 0 else { throw TestSupportError("curl \(method) \(url) failed: \(outcome.transcript)") }
        var lines = outcome.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        guard let last = lines.popLast(), let status = Int(last) else {
            throw TestSupportError("curl \(method) \(url): no status in \(outcome.stdout)")
        }
        return Response(status: status, body: lines.joined(separator: "\n"))
    }

    /// The JSON object of a response body.
    static func object(_ body: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw TestSupportError("not a JSON object: \(body)")
        }
        return object
    }
}

/// A `worker` on its embedded in-memory node with free ports, as the tests start it.
struct RunningWorker {
    let process: ChildProcess
    let url: String

    /// Starts the built `worker` and waits for its `worker listening on URL` line.
    static func start(scratch: ScratchDirectory) async throws -> RunningWorker {
        let process = try await ChildProcess.start(
            try Repository.product("worker"),
            ["--in-memory", "--http-port", "0", "--embedded-port", "0", "--poll-interval", "200ms"],
            logs: scratch.path, environment: ["SCHEDULER_CASSANDRA": "", "SCHEDULER_API_TOKEN": ""])
        do {
            let url = try await process.waitFor("worker listening line") { lineValue($0, after: "worker listening on ") }
            return RunningWorker(process: process, url: url)
        } catch {
            await process.stop()
            throw error
        }
    }
}

/// Prometheus text exposition, reduced to what the dashboard check needs.
struct MetricFamilies {
    /// Family name to its `# TYPE` (counter, gauge, histogram, summary, untyped).
    var types: [String: String] = [:]
    /// Names of the samples present.
    var samples: Set<String> = []

    init(exposition: String) {
        for line in exposition.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                if parts.count >= 4 { types[String(parts[2])] = String(parts[3]) }
            } else if !line.hasPrefix("#"), let name = line.split(whereSeparator: { $0 == "{" || $0 == " " }).first {
                samples.insert(String(name))
            }
        }
    }

    /// The value of each unlabelled sample (`name value`).
    static func values(exposition: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in exposition.split(separator: "\n") where !line.hasPrefix("#") && !line.contains("{") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Double(parts[1]) { values[String(parts[0])] = value }
        }
        return values
    }

    /// Whether a name used in PromQL selects series of this exposition: a counter/gauge family
    /// with samples, or a histogram/summary's `_bucket`/`_sum`/`_count` series.
    func serves(_ name: String) -> Bool {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if let type = types[base], type == "histogram" || (type == "summary" && suffix != "_bucket") {
                return samples.contains(name)
            }
        }
        guard let type = types[name], type != "histogram", type != "summary" else { return false }
        return samples.contains(name)
    }
}
