public import Foundation

/// Appends native protocol body primitives (specification section 3) to a byte array.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8]

    /// An empty writer with room for `capacity` bytes.
    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// How many bytes have been written.
    public var count: Int { bytes.count }

    /// Appends one byte.
    public mutating func writeUInt8(_ value: UInt8) { bytes.append(value) }

    /// Appends an unsigned 16-bit integer, big-endian.
    public mutating func writeUInt16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    /// Appends `[int]`.
    public mutating func writeInt32(_ value: Int32) {
        let v = UInt32(bitPattern: value)
        bytes.append(UInt8(truncatingIfNeeded: v >> 24))
        bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    /// Appends `[long]`.
    public mutating func writeInt64(_ value: Int64) {
        let v = UInt64(bitPattern: value)
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift)))
        }
    }

    /// Appends raw bytes.
    public mutating func writeRaw<Bytes: Sequence>(_ raw: Bytes) where Bytes.Element == UInt8 {
        bytes.append(contentsOf: raw)
    }

    /// Overwrites an `[int]` previously written at `offset` (for length fields known only later).
    package mutating func patchInt32(_ value: Int32, at offset: Int) {
        let v = UInt32(bitPattern: value)
        bytes[offset] = UInt8(truncatingIfNeeded: v >> 24)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: v >> 16)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: v >> 8)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: v)
    }

    /// Appends `[short]`.
    package mutating func writeShort(_ value: UInt16) { writeUInt16(value) }

    /// Appends `[string]`. Text longer than 65535 UTF-8 bytes is truncated to keep the frame valid;
    /// callers that can receive such text validate it first.
    package mutating func writeString(_ value: String) {
        let utf8 = value.utf8
        let length = min(utf8.count, Int(UInt16.max))
        writeUInt16(UInt16(length))
        bytes.append(contentsOf: utf8.prefix(length))
    }

    /// Appends `[long string]`.
    package mutating func writeLongString(_ value: String) {
        let utf8 = value.utf8
        writeInt32(Int32(clamping: utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// Appends `[uuid]`.
    public mutating func writeUUID(_ value: UUID) {
        let u = value.uuid
        bytes.append(contentsOf: [u.0, u.1, u.2, u.3, u.4, u.5, u.6, u.7,
                                  u.8, u.9, u.10, u.11, u.12, u.13, u.14, u.15])
    }

    /// Appends `[string list]`.
    package mutating func writeStringList(_ list: [String]) {
        writeUInt16(UInt16(clamping: list.count))
        for item in list.prefix(Int(UInt16.max)) { writeString(item) }
    }

    /// Appends `[bytes]`; nil is written as length -1 (null).
    public mutating func writeBytes(_ value: [UInt8]?) {
        guard let value else { return writeInt32(-1) }
        writeInt32(Int32(clamping: value.count))
        bytes.append(contentsOf: value)
    }

    /// Appends `[value]`: bytes, null (-1) or unset (-2).
    public mutating func writeValue(_ value: WireValue) {
        switch value {
        case .null: writeInt32(-1)
        case .unset: writeInt32(-2)
        case let .bytes(content): writeBytes(content)
        }
    }

    /// Appends `[short bytes]`.
    package mutating func writeShortBytes(_ value: [UInt8]) {
        writeUInt16(UInt16(clamping: value.count))
        bytes.append(contentsOf: value.prefix(Int(UInt16.max)))
    }

    /// Appends `[inet]`.
    package mutating func writeInet(_ value: InetEndpoint) {
        writeInetAddress(value.address)
        writeInt32(value.port)
    }

    /// Appends `[inetaddr]`.
    package mutating func writeInetAddress(_ value: InetAddress) {
        writeUInt8(UInt8(value.bytes.count))
        bytes.append(contentsOf: value.bytes)
    }

    /// Appends `[consistency]`.
    package mutating func writeConsistency(_ value: Consistency) { writeUInt16(value.rawValue) }

    /// Appends `[string map]`, pairs in the given order (a decoded map re-encodes byte for byte).
    package mutating func writeStringMap(_ pairs: [(String, String)]) {
        writeUInt16(UInt16(clamping: pairs.count))
        for (key, value) in pairs.prefix(Int(UInt16.max)) {
            writeString(key)
            writeString(value)
        }
    }

    /// Appends `[string multimap]`, pairs in the given order.
    package mutating func writeStringMultimap(_ pairs: [(String, [String])]) {
        writeUInt16(UInt16(clamping: pairs.count))
        for (key, values) in pairs.prefix(Int(UInt16.max)) {
            writeString(key)
            writeStringList(values)
        }
    }

    /// Appends `[bytes map]`, pairs in the given order.
    package mutating func writeBytesMap(_ pairs: [(String, [UInt8]?)]) {
        writeUInt16(UInt16(clamping: pairs.count))
        for (key, value) in pairs.prefix(Int(UInt16.max)) {
            writeString(key)
            writeBytes(value)
        }
    }
}
