import ChaosKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process whose standard output and error go to files in the work directory.
final class Child: @unchecked Sendable {
    /// Its process id.
    let pid: Int32
    private let process: Process
    /// Where its standard output goes.
    let stdoutPath: String

    /// Starts `executable` with `arguments`, logs named `name` in `directory`.
    init(executable: URL, arguments: [String], name: String, directory: URL) throws {
        let out = directory.appendingPathComponent("\(name).out").path
        let err = directory.appendingPathComponent("\(name).err").path
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        guard let outHandle = FileHandle(forWritingAtPath: out), let errHandle = FileHandle(forWritingAtPath: err) else {
            throw ChaosError("cannot open log files for \(name)")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        self.process = process
        self.pid = process.processIdentifier
        self.stdoutPath = out
        Self.register(pid: process.processIdentifier, executable: executable.path)
    }

    /// Appends `pid executable` to the file `CHAOS_PID_FILE` names, if any: Foundation starts each child
    /// in a process group of its own, so scripts/chaos.sh kills them by pid when chaos itself cannot.
    private static func register(pid: Int32, executable: String) {
        guard let path = ProcessInfo.processInfo.environment["CHAOS_PID_FILE"],
              let handle = FileHandle(forWritingAtPath: path) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data("\(pid) \(executable)\n".utf8))
    }

    /// Waits for a line of standard output starting with `prefix`; returns the rest of it.
    func waitForLine(prefix: String, timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: stdoutPath, encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
                return String(line.dropFirst(prefix.count))
            }
            guard process.isRunning else { throw ChaosError("\(stdoutPath): exited before printing '\(prefix)'") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ChaosError("\(stdoutPath): no '\(prefix)' line in time")
    }

    /// Sends `signal`.
    func send(_ signal: Int32) { kill(pid, signal) }

    /// Whether it still runs.
    var isRunning: Bool { process.isRunning }

    /// SIGKILL and reap.
    func killHard() {
        kill(pid, SIGCONT)
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then SIGKILL after `grace` seconds.
    func stop(grace: Double) async {
        kill(pid, SIGCONT)
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning { killHard() }
    }
}

/// The node, the proxy in front of it and the workers, with the faults the harness injects.
actor Cluster {
    /// One worker slot (restarted under a new id after a kill).
    struct Slot {
        var child: Child?
        var url: String?
        var incarnation = 0
        var stoppedUntil: ContinuousClock.Instant?
    }

    private let binDirectory: URL
    private let workDirectory: URL
    private let shards: Int
    private(set) var node: Child?
    /// The node's port, kept across restarts so the proxy keeps forwarding to it.
    private(set) var nodePort: UInt16 = 0
    private var nodeIncarnation = 0
    private(set) var proxy: FaultProxy?
    private var slots: [Slot]

    /// Faults injected so far, by kind.
    private(set) var faults: [String: Int] = [:]

    /// A cluster of `workers` workers over `shards` shards, binaries in `binDirectory`.
    init(binDirectory: URL, workDirectory: URL, workers: Int, shards: Int) {
        self.binDirectory = binDirectory
        self.workDirectory = workDirectory
        self.shards = shards
        self.slots = Array(repeating: Slot(), count: workers)
    }

    /// Fault kinds as ``faults`` counts them.
    static let killFault = "worker SIGKILL + restart"
    /// A worker SIGSTOPped past its leases.
    static let stopFault = "worker SIGSTOP/SIGCONT"
    /// Every proxied connection cut.
    static let cutFault = "proxy cut"
    /// Proxied traffic delayed.
    static let delayFault = "proxy delay"

    /// The node's LWT audit log (every incarnation appends to it).
    var auditLogPath: String { workDirectory.appendingPathComponent("lwt-audit.jsonl").path }

    /// Stops the proxy's listener and cuts what it still forwards.
    func stopProxy() { proxy?.stop() }

    /// Starts the node (on a free port the first time, then on the same one).
    func startNode() async throws {
        nodeIncarnation += 1
        let child = try Child(executable: binDirectory.appendingPathComponent("cqlnode"),
                              arguments: ["--host", "127.0.0.1", "--port", String(nodePort),
                                          "--data-dir", workDirectory.appendingPathComponent("node-data").path,
                                          "--lwt-audit-log", auditLogPath],
                              name: "cqlnode-\(nodeIncarnation)", directory: workDirectory)
        node = child
        let address = try await child.waitForLine(prefix: "cqlnode listening on ", timeout: .seconds(120))
        guard let portText = address.split(separator: ":").last, let port = UInt16(portText) else {
            throw ChaosError("cannot parse the node's address '\(address)'")
        }
        nodePort = port
        if proxy == nil { proxy = try FaultProxy(upstreamPort: port) }
    }

    /// kill -9 the node and start it again from its commit log.
    func restartNode() async throws {
        node?.killHard()
        faults["node kill -9 + restart", default: 0] += 1
        try await Task.sleep(for: .milliseconds(500))
        try await startNode()
    }

    /// Starts worker `index` (a new incarnation with its own id).
    func startWorker(_ index: Int) async throws {
        guard let proxy else { throw ChaosError("start the node first") }
        slots[index].incarnation += 1
        let id = "w\(index)-\(slots[index].incarnation)"
        let child = try Child(executable: binDirectory.appendingPathComponent("worker"),
                              arguments: ["--cassandra", "127.0.0.1:\(proxy.port)", "--http-port", "0", "--worker-id", id,
                                          "--shards", String(shards), "--poll-interval", "200ms", "--log-level", "warning"],
                              name: "worker-\(id)", directory: workDirectory)
        slots[index].child = child
        slots[index].stoppedUntil = nil
        slots[index].url = try await child.waitForLine(prefix: "worker listening on ", timeout: .seconds(120))
    }

    /// URLs of the workers that run and are not stopped.
    func liveURLs() -> [String] {
        slots.compactMap { slot in
            guard slot.stoppedUntil == nil, slot.child?.isRunning == true else { return nil }
            return slot.url
        }
    }

    /// SIGKILL a random running worker and start it again after a short pause.
    func killRandomWorker<G: RandomNumberGenerator>(using generator: inout G) async throws {
        let candidates = slots.indices.filter { slots[$0].stoppedUntil == nil && slots[$0].child != nil }
        guard let index = candidates.randomElement(using: &generator) else { return }
        slots[index].child?.killHard()
        slots[index].child = nil
        slots[index].url = nil
        faults[Self.killFault, default: 0] += 1
        try await Task.sleep(for: .milliseconds(Int.random(in: 500...3000, using: &generator)))
        try await startWorker(index)
    }

    /// SIGSTOP a random worker for `seconds` (longer than its leases); `resumeDue` sends SIGCONT.
    func stopRandomWorker<G: RandomNumberGenerator>(for seconds: Int, using generator: inout G) {
        // One paused worker at a time, so the other two keep the queue moving.
        guard !slots.contains(where: { $0.stoppedUntil != nil }) else { return }
        let candidates = slots.indices.filter { slots[$0].child != nil }
        guard let index = candidates.randomElement(using: &generator) else { return }
        slots[index].child?.send(SIGSTOP)
        slots[index].stoppedUntil = ContinuousClock.now + .seconds(seconds)
        faults[Self.stopFault, default: 0] += 1
    }

    /// SIGCONT workers whose pause is over (all of them when `all`).
    func resumeDue(all: Bool = false) {
        for index in slots.indices {
            guard let until = slots[index].stoppedUntil, all || ContinuousClock.now >= until else { continue }
            slots[index].child?.send(SIGCONT)
            slots[index].stoppedUntil = nil
        }
    }

    /// Cuts every worker-node connection through the proxy.
    func cutConnections(refusingFor seconds: Double) {
        proxy?.cut(refusingFor: seconds)
        faults[Self.cutFault, default: 0] += 1
    }

    /// Delays worker-node traffic through the proxy.
    func delayConnections(milliseconds: Int, for seconds: Double) {
        proxy?.delay(milliseconds: milliseconds, for: seconds)
        faults[Self.delayFault, default: 0] += 1
    }

    /// Stops every worker (SIGTERM with a grace period), then the node.
    func shutdown() async {
        for index in slots.indices {
            if let child = slots[index].child { await child.stop(grace: 15) }
            slots[index].child = nil
        }
        if let node { await node.stop(grace: 15) }
        node = nil
    }

    /// Kills everything at once (error paths).
    func killAll() {
        for slot in slots { slot.child?.killHard() }
        node?.killHard()
    }
}
