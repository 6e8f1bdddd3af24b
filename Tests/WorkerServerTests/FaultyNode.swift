import CQLNode
import CQLWire
import Scheduler

/// An embedded node whose requests a test can make fail, with a session to it.
enum FaultyNode {
    /// Runs `body` with a fresh node, its fault injection and a session (with the scheduler schema in
    /// `keyspace` when one is given); the session and node are stopped afterwards, also when `body` throws.
    static func with(schemaIn keyspace: String? = nil,
                     _ body: (EmbeddedNode, FaultInjection, CQLSession) async throws -> Void) async throws {
        let faults = FaultInjection()
        let node = try await EmbeddedNode.start(EmbeddedNode.Configuration(faultInjection: faults))
        var session: CQLSession?
        do {
            let connected = try await CQLSession.connect(CQLSession.Configuration(
                contactPoints: [CQLEndpoint(host: node.host, port: node.port)], connectionsPerNode: 1))
            session = connected
            if let keyspace { try await SchedulerSchema.applySchema(session: connected, keyspace: keyspace) }
            try await body(node, faults, connected)
        } catch {
            session?.close()
            try? await node.shutdown()
            throw error
        }
        session?.close()
        // A test may have stopped the node already.
        try? await node.shutdown()
    }
}
