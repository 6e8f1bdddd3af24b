/// A `[consistency]` level, as numbered by the native protocol specification (section 3).
public enum Consistency: UInt16, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    case any = 0x0000
    case one = 0x0001
    case two = 0x0002
    case three = 0x0003
    case quorum = 0x0004
    case all = 0x0005
    case localQuorum = 0x0006
    case eachQuorum = 0x0007
    case serial = 0x0008
    case localSerial = 0x0009
    case localOne = 0x000A

    /// The level's name as Cassandra and cqlsh write it (`LOCAL_QUORUM`).
    public var description: String {
        switch self {
        case .any: "ANY"
        case .one: "ONE"
        case .two: "TWO"
        case .three: "THREE"
        case .quorum: "QUORUM"
        case .all: "ALL"
        case .localQuorum: "LOCAL_QUORUM"
        case .eachQuorum: "EACH_QUORUM"
        case .serial: "SERIAL"
        case .localSerial: "LOCAL_SERIAL"
        case .localOne: "LOCAL_ONE"
        }
    }

    /// Parses a level name as cqlsh accepts it (case-insensitive, `LOCAL_QUORUM`).
    public init?(name: String) {
        guard let level = Self.allCases.first(where: { $0.description == name.uppercased() }) else { return nil }
        self = level
    }

    /// Whether this is a serial level (SERIAL or LOCAL_SERIAL), used for Paxos.
    public var isSerial: Bool { self == .serial || self == .localSerial }
}
