import CQLWire
import Foundation
import Scheduler

extension ClusterStatus {
    /// The answer of `GET /cluster`: workers with the shards they own, every shard's lease and queue,
    /// the runs in flight and the Cassandra nodes the session sees.
    func apiJSON(nodes: [CQLNodeState]) -> JSONValue {
        func time(_ date: Date?) -> JSONValue { date.map { .string(RFC3339.format($0)) } ?? .null }
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        func number(_ value: some BinaryInteger) -> JSONValue { .number(String(value)) }
        return .object([
            "read_at": time(readAt),
            "pool": .string(pool),
            "workers": .array(workers.map { worker in
                .object([
                    "worker_id": .string(worker),
                    "shards": .array(shards(ownedBy: worker).map { number($0) }),
                    "runs": number(runs.filter { $0.worker == worker }.count),
                ])
            }),
            "shards": .array(shards.map { shard in
                .object([
                    "shard": number(shard.shard),
                    "lock": .string(shard.lockName),
                    "owner": text(shard.owner),
                    "fencing_token": number(shard.fencingToken),
                    "lease_expires_at": time(shard.leaseExpiresAt),
                    "queue_depth": number(shard.queueDepth),
                    "lag_seconds": .number(String(format: "%.3f", shard.lagSeconds)),
                ])
            }),
            "queue_complete": .bool(queueComplete),
            "runs_in_flight": number(runsInFlight),
            "runs": .array(runs.map { run in
                .object([
                    "job_id": .string(run.jobID.uuidString.lowercased()),
                    "kind": .string(run.kind),
                    "attempt": number(run.attempt),
                    "worker_id": text(run.worker),
                    "started_at": time(run.startedAt),
                    "lease_expires_at": time(run.leaseExpiresAt),
                ])
            }),
            "nodes": .array(nodes.map { node in
                .object([
                    "address": .string(node.endpoint.description),
                    "datacenter": text(node.datacenter),
                    "up": .bool(node.isUp),
                ])
            }),
        ])
    }
}
