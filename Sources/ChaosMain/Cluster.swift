import ChaosKit
import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

extension ChildProcess {
    /// Starts `executable`, its standard output and error in `<name>.out` and `<name>.err` of
    /// `directory`, and lists its pid in the file `CHAOS_PID_FILE` names, if any: each child leads a
    /// process group of its own, so scripts/chaos.sh kills them by pid when chaos itself cannot.
    static func start(executable: URL, arguments: [String], name: String, directory: URL) async throws -> ChildProcess {
        let child = try await start(executable.path, arguments, name: name, logs: directory.path)
        if let path = ProcessInfo.processInfo.environment["CHAOS_PID_FILE"], let handle = FileHandle(forWritingAtPath: path) {
            defer { try? handle.close() }
            _ = try? handle.seekToEnd()
            try? handle.write(contentsOf: Data("\(child.processIdentifier) \(executable.path)\n".utf8))
        }
        return child
    }
}

/// The node, the proxy in front of it and the workers, with the faults the harness injects.
actor Cluster {
    /// One worker slot (restarted under a new id after a kill).
    struct Slot {
        var child: ChildProcess?
        var url: String?
        var incarnation = 0
        var stoppedUntil: ContinuousClock.Instant?
    }

    private let binDirectory: URL
    private let workDirectory: URL
    private let shards: Int
    private(set) var node: ChildProcess?
    /// The node's port, kept across restarts so the proxy keeps forwarding to it.
    private(set) var nodePort: UInt16 = 0
    private var nodeIncarnation = 0
    private(set) var proxy: TCPProxy?
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
        let child = try await ChildProcess.start(executable: binDirectory.appendingPathComponent("cqlnode"),
                              arguments: ["--host", "127.0.0.1", "--port", String(nodePort),
                                          "--data-dir", workDirectory.appendingPathComponent("node-data").path,
                                          "--lwt-audit-log", auditLogPath],
                              name: "cqlnode-\(nodeIncarnation)", directory: workDirectory)
        node = child
        let address = try await child.waitForLine(prefix: "cqlnode listening on ", timeout: .seconds(120), in: .standardOutput)
        guard let portText = address.split(separator: ":").last, let port = UInt16(portText) else {
            throw ChaosError("cannot parse the node's address '\(address)'")
        }
        nodePort = port
        if proxy == nil { proxy = try TCPProxy(upstreamPort: Int(port)) }
    }

    /// kill -9 the node and start it again from its commit log.
    func restartNode() async throws {
        await node?.killAndWait()
        faults["node kill -9 + restart", default: 0] += 1
        try await Task.sleep(for: .milliseconds(500))
        try await startNode()
    }

    /// Starts worker `index` (a new incarnation with its own id).
    func startWorker(_ index: Int) async throws {
        guard let proxy else { throw ChaosError("start the node first") }
        slots[index].incarnation += 1
        let id = "w\(index)-\(slots[index].incarnation)"
        let child = try await ChildProcess.start(executable: binDirectory.appendingPathComponent("worker"),
                              arguments: ["--cassandra", "127.0.0.1:\(proxy.port)", "--http-port", "0", "--worker-id", id,
                                          "--shards", String(shards), "--poll-interval", "200ms", "--log-level", "warning"],
                              name: "worker-\(id)", directory: workDirectory)
        slots[index].child = child
        slots[index].stoppedUntil = nil
        slots[index].url = try await child.waitForLine(prefix: "worker listening on ", timeout: .seconds(120), in: .standardOutput)
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
        await slots[index].child?.killAndWait()
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
            if let child = slots[index].child { await child.stop(grace: .seconds(15)) }
            slots[index].child = nil
        }
        if let node { await node.stop(grace: .seconds(15)) }
        node = nil
    }

    /// Kills everything at once (error paths).
    func killAll() async {
        for slot in slots { await slot.child?.killAndWait() }
        await node?.killAndWait()
    }
}
