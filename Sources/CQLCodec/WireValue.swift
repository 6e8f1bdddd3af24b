/// A `[value]` as it travels on the wire: bytes, null, or (protocol v4+) unset.
public enum WireValue: Hashable, Sendable {
    /// A null value (length -1).
    case null
    /// A value that leaves the bound column untouched (length -2).
    case unset
    /// The serialized value.
    case bytes([UInt8])
}
