import CQLNode

/// CQLWire's session has a `Statement` too; in this test module the name means the node's parsed statement.
typealias Statement = CQLNode.Statement
