import CQLCodec
import Foundation

/// What the node says about itself in `system.local` and DESCRIBE CLUSTER: a single Cassandra 4.1 node
/// of `datacenter1`/`rack1` in "Test Cluster", as a fresh `cassandra` package would be.
struct NodeIdentity: Sendable, Hashable {
    /// `cluster_name`.
    var clusterName: String
    /// `data_center`.
    var dataCenter: String
    /// `rack`.
    var rack: String
    /// `release_version`: drivers and cqlsh pick their behaviour from it.
    var releaseVersion: String
    /// `cql_version`.
    var cqlVersion: String
    /// `native_protocol_version`: the highest version the server speaks.
    var nativeProtocolVersion: String
    /// The address clients reach the node at (`broadcast_address`, `listen_address`, `rpc_address`).
    var address: InetAddress
    /// The native protocol port (`rpc_port`).
    var nativePort: Int
    /// The node's ring tokens (`tokens`), evenly spread over the Murmur3 range.
    var tokens: [Int64]

    /// Murmur3Partitioner, the only partitioner the node implements.
    static let partitioner = "org.apache.cassandra.dht.Murmur3Partitioner"
    /// The snitch DESCRIBE CLUSTER reports.
    static let snitch = "org.apache.cassandra.locator.SimpleSnitch"

    /// An identity (`address` nil: 127.0.0.1); the defaults are those of a stock single-node Cassandra 4.1 (16 tokens).
    init(clusterName: String = "Test Cluster", dataCenter: String = "datacenter1", rack: String = "rack1",
                releaseVersion: String = "4.1.7", cqlVersion: String = "3.4.6", nativeProtocolVersion: String = "4",
                address: InetAddress? = nil, nativePort: Int = 9042,
                tokenCount: Int = 16) {
        self.clusterName = clusterName
        self.dataCenter = dataCenter
        self.rack = rack
        self.releaseVersion = releaseVersion
        self.cqlVersion = cqlVersion
        self.nativeProtocolVersion = nativeProtocolVersion
        self.address = address ?? .loopback
        self.nativePort = nativePort
        self.tokens = Self.evenTokens(count: max(1, tokenCount))
    }

    /// `count` tokens dividing the ring into equal parts, the first at the ring's start.
    static func evenTokens(count: Int) -> [Int64] {
        let step = UInt64.max / UInt64(count)
        return (0..<count).map { index in
            Int64(bitPattern: UInt64(bitPattern: Int64.min) &+ step &* UInt64(index))
        }
    }
}

extension InetAddress {
    /// 127.0.0.1.
    static let loopback: InetAddress = {
        guard let address = InetAddress(bytes: [127, 0, 0, 1]) else { preconditionFailure("four bytes are an IPv4 address") }
        return address
    }()
}
