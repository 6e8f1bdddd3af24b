package import Foundation

/// A bounds-checked cursor over bytes received from the wire.
///
/// Reads the body primitives of the native protocol specification (section 3). Every read
/// checks the remaining length first and throws ``WireError`` instead of trapping; lengths
/// read from the wire are validated before any arithmetic uses them.
package struct ByteReader: Sendable {
    /// The bytes being read. Slices handed out by the reader index into this array.
    package let bytes: [UInt8]
    /// The index of the next byte to read.
    package private(set) var offset: Int
    /// One past the last byte this reader may read.
    package let end: Int

    /// A reader over all of `bytes`.
    package init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
        self.end = bytes.count
    }

    /// A reader over `range` of `bytes`; `range` is clamped to the array.
    package init(_ bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        let lower = min(max(range.lowerBound, 0), bytes.count)
        let upper = min(max(range.upperBound, lower), bytes.count)
        self.offset = lower
        self.end = upper
    }

    /// How many bytes are left to read.
    package var remaining: Int { end - offset }

    /// Whether every byte has been read.
    package var isAtEnd: Bool { offset >= end }

    /// Throws unless at least `count` bytes remain.
    package func require(_ count: Int, _ what: @autoclosure () -> String) throws(WireError) {
        if count < 0 { throw .negativeLength(what: what(), length: count) }
        if count > end - offset { throw .truncated(what: what(), needed: count, available: end - offset) }
    }

    /// Throws ``WireError/trailingBytes(what:count:)`` unless every byte was read.
    package func expectEnd(_ what: String) throws(WireError) {
        if offset < end { throw .trailingBytes(what: what, count: end - offset) }
    }

    /// Skips `count` bytes.
    package mutating func skip(_ count: Int, _ what: String = "bytes") throws(WireError) {
        try require(count, what)
        offset += count
    }

    // MARK: Fixed-width integers (big-endian)

    /// Reads one unsigned byte.
    package mutating func readUInt8(_ what: @autoclosure () -> String = "byte") throws(WireError) -> UInt8 {
        try require(1, what())
        let value = bytes[offset]
        offset += 1
        return value
    }

    /// Reads an unsigned 16-bit integer.
    package mutating func readUInt16(_ what: @autoclosure () -> String = "[short]") throws(WireError) -> UInt16 {
        try require(2, what())
        let value = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        offset += 2
        return value
    }

    /// Reads a signed 32-bit integer: `[int]`.
    package mutating func readInt32(_ what: @autoclosure () -> String = "[int]") throws(WireError) -> Int32 {
        try require(4, what())
        var value: UInt32 = 0
        for index in offset..<(offset + 4) { value = value << 8 | UInt32(bytes[index]) }
        offset += 4
        return Int32(bitPattern: value)
    }

    /// Reads a signed 64-bit integer: `[long]`.
    package mutating func readInt64(_ what: @autoclosure () -> String = "[long]") throws(WireError) -> Int64 {
        try require(8, what())
        var value: UInt64 = 0
        for index in offset..<(offset + 8) { value = value << 8 | UInt64(bytes[index]) }
        offset += 8
        return Int64(bitPattern: value)
    }

    /// Reads `count` raw bytes, copying them.
    package mutating func readRaw(_ count: Int, _ what: @autoclosure () -> String = "bytes") throws(WireError) -> [UInt8] {
        try require(count, what())
        let slice = Array(bytes[offset..<(offset + count)])
        offset += count
        return slice
    }

    /// Reads `count` bytes and returns their range in ``bytes`` without copying.
    package mutating func readRange(_ count: Int, _ what: @autoclosure () -> String = "bytes") throws(WireError) -> Range<Int> {
        try require(count, what())
        let range = offset..<(offset + count)
        offset += count
        return range
    }

    // MARK: Protocol primitives

    /// `[short]`: a 2-byte unsigned integer.
    package mutating func readShort() throws(WireError) -> UInt16 { try readUInt16("[short]") }

    /// `[string]`: a `[short]` n, then n bytes of UTF-8.
    package mutating func readString(_ what: @autoclosure () -> String = "[string]") throws(WireError) -> String {
        let length = Int(try readUInt16(what()))
        return try readUTF8(length, what())
    }

    /// `[long string]`: an `[int]` n, then n bytes of UTF-8.
    package mutating func readLongString(_ what: @autoclosure () -> String = "[long string]") throws(WireError) -> String {
        let length = Int(try readInt32(what()))
        return try readUTF8(length, what())
    }

    /// Reads `length` bytes as UTF-8 text.
    package mutating func readUTF8(_ length: Int, _ what: @autoclosure () -> String = "text") throws(WireError) -> String {
        let range = try readRange(length, what())
        guard let text = String(validating: bytes[range], as: UTF8.self) else { throw .invalidUTF8(what: what()) }
        return text
    }

    /// `[uuid]`: 16 bytes.
    package mutating func readUUID(_ what: @autoclosure () -> String = "[uuid]") throws(WireError) -> UUID {
        try require(16, what())
        let b = bytes
        let o = offset
        offset += 16
        return UUID(uuid: (b[o], b[o + 1], b[o + 2], b[o + 3], b[o + 4], b[o + 5], b[o + 6], b[o + 7],
                           b[o + 8], b[o + 9], b[o + 10], b[o + 11], b[o + 12], b[o + 13], b[o + 14], b[o + 15]))
    }

    /// `[string list]`: a `[short]` n, then n `[string]`.
    package mutating func readStringList(_ what: @autoclosure () -> String = "[string list]") throws(WireError) -> [String] {
        let count = Int(try readUInt16(what()))
        // Each string takes at least 2 bytes: refuse counts the input cannot hold before allocating.
        try require(count * 2, what())
        var list: [String] = []
        list.reserveCapacity(count)
        for _ in 0..<count { list.append(try readString(what())) }
        return list
    }

    /// `[bytes]`: an `[int]` n, then n bytes; a negative n is null.
    package mutating func readBytes(_ what: @autoclosure () -> String = "[bytes]") throws(WireError) -> [UInt8]? {
        let length = Int(try readInt32(what()))
        if length < 0 { return nil }
        return try readRaw(length, what())
    }

    /// `[bytes]` without copying: the range of the content in ``bytes``, or nil for null.
    package mutating func readBytesRange(_ what: @autoclosure () -> String = "[bytes]") throws(WireError) -> Range<Int>? {
        let length = Int(try readInt32(what()))
        if length < 0 { return nil }
        return try readRange(length, what())
    }

    /// `[value]`: an `[int]` n, then n bytes; -1 is null, -2 is unset, other negatives are invalid.
    package mutating func readValue(_ what: @autoclosure () -> String = "[value]") throws(WireError) -> WireValue {
        let length = Int(try readInt32(what()))
        switch length {
        case -1: return .null
        case -2: return .unset
        case ..<0: throw .negativeLength(what: what(), length: length)
        default: return .bytes(try readRaw(length, what()))
        }
    }

    /// `[short bytes]`: a `[short]` n, then n bytes.
    package mutating func readShortBytes(_ what: @autoclosure () -> String = "[short bytes]") throws(WireError) -> [UInt8] {
        let length = Int(try readUInt16(what()))
        return try readRaw(length, what())
    }

    /// `[inet]`: a one-byte address size (4 or 16), the address, then an `[int]` port.
    package mutating func readInet(_ what: @autoclosure () -> String = "[inet]") throws(WireError) -> InetEndpoint {
        let address = try readInetAddress(what())
        let port = try readInt32(what())
        return InetEndpoint(address: address, port: port)
    }

    /// `[inetaddr]`: a one-byte address size (4 or 16), then the address.
    package mutating func readInetAddress(_ what: @autoclosure () -> String = "[inetaddr]") throws(WireError) -> InetAddress {
        let size = Int(try readUInt8(what()))
        guard size == 4 || size == 16 else {
            throw .invalidValue(what: what(), detail: "address size \(size), expected 4 or 16")
        }
        guard let address = InetAddress(bytes: try readRaw(size, what())) else {
            throw .invalidValue(what: what(), detail: "address size \(size)")
        }
        return address
    }

    /// `[consistency]`: a `[short]` consistency level.
    package mutating func readConsistency(_ what: @autoclosure () -> String = "[consistency]") throws(WireError) -> Consistency {
        let raw = try readUInt16(what())
        guard let level = Consistency(rawValue: raw) else {
            throw .invalidValue(what: what(), detail: "consistency 0x\(String(raw, radix: 16))")
        }
        return level
    }

    /// `[string map]`: a `[short]` n, then n pairs of `[string]` key and `[string]` value, in wire order.
    package mutating func readStringMap(_ what: @autoclosure () -> String = "[string map]") throws(WireError) -> [(String, String)] {
        let count = Int(try readUInt16(what()))
        try require(count * 4, what())
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(count)
        for _ in 0..<count { pairs.append((try readString(what()), try readString(what()))) }
        return pairs
    }

    /// `[string multimap]`: a `[short]` n, then n pairs of `[string]` key and `[string list]`, in wire order.
    package mutating func readStringMultimap(_ what: @autoclosure () -> String = "[string multimap]") throws(WireError) -> [(String, [String])] {
        let count = Int(try readUInt16(what()))
        try require(count * 4, what())
        var pairs: [(String, [String])] = []
        pairs.reserveCapacity(count)
        for _ in 0..<count { pairs.append((try readString(what()), try readStringList(what()))) }
        return pairs
    }

    /// `[bytes map]`: a `[short]` n, then n pairs of `[string]` key and `[bytes]` value, in wire order.
    package mutating func readBytesMap(_ what: @autoclosure () -> String = "[bytes map]") throws(WireError) -> [(String, [UInt8]?)] {
        let count = Int(try readUInt16(what()))
        try require(count * 6, what())
        var pairs: [(String, [UInt8]?)] = []
        pairs.reserveCapacity(count)
        for _ in 0..<count { pairs.append((try readString(what()), try readBytes(what()))) }
        return pairs
    }
}
