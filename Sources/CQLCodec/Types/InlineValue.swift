public import Foundation

/// Inlinable fast paths for the commonest column values, so a caller's loop decodes them
/// without a call, a retain of the buffer or an error path per value.
///
/// Each returns nil whenever anything is off (range outside the buffer, wrong width,
/// non-ASCII text); the callers then run their checked decoder, which throws the precise
/// ``WireError``. So the fast paths only ever accept input the checked ones accept too.
@usableFromInline
enum InlineValue {
    /// Whether `range` lies inside `bytes` and holds exactly `width` bytes.
    @inlinable @inline(__always)
    static func fits(_ bytes: [UInt8], _ range: Range<Int>, _ width: Int) -> Bool {
        range.lowerBound >= 0 && range.upperBound <= bytes.count && range.count == width
    }

    /// 16 bytes as a UUID.
    @inlinable @inline(__always)
    static func uuid(_ bytes: [UInt8], _ range: Range<Int>) -> UUID? {
        guard fits(bytes, range, 16) else { return nil }
        // fits proved lowerBound >= 0 and lowerBound + 16 <= bytes.count.
        return bytes.withUnsafeBytes { raw in
            UUID(uuid: raw.loadUnaligned(fromByteOffset: range.lowerBound, as: uuid_t.self))
        }
    }

    /// 8 bytes as a big-endian Int64.
    @inlinable @inline(__always)
    static func int64(_ bytes: [UInt8], _ range: Range<Int>) -> Int64? {
        guard fits(bytes, range, 8) else { return nil }
        // fits proved the 8 bytes at lowerBound are inside the buffer.
        return bytes.withUnsafeBytes { raw in
            Int64(bigEndian: raw.loadUnaligned(fromByteOffset: range.lowerBound, as: Int64.self))
        }
    }

    /// 4 bytes as a big-endian Int32.
    @inlinable @inline(__always)
    static func int32(_ bytes: [UInt8], _ range: Range<Int>) -> Int32? {
        guard fits(bytes, range, 4) else { return nil }
        // fits proved the 4 bytes at lowerBound are inside the buffer.
        return bytes.withUnsafeBytes { raw in
            Int32(bigEndian: raw.loadUnaligned(fromByteOffset: range.lowerBound, as: Int32.self))
        }
    }

    /// Whether every byte is below 0x80, eight bytes at a time.
    @inlinable @inline(__always)
    static func isASCII(_ content: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        var high: UInt64 = 0
        while content.count - index >= 8 {
            high |= content.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < content.count {
            high |= UInt64(content[index])
            index += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    /// The bytes as a String when they are all ASCII (valid UTF-8 that decoding keeps byte for byte).
    @inlinable @inline(__always)
    static func asciiText(_ bytes: [UInt8], _ range: Range<Int>) -> String? {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else { return nil }
        return bytes.withUnsafeBytes { raw -> String? in
            let content = UnsafeRawBufferPointer(rebasing: raw[range])
            guard isASCII(content) else { return nil }
            // Straight into the string's own storage: `String(decoding:)` would first try a dynamic
            // cast of the buffer. The initializer still validates what was copied.
            return String(unsafeUninitializedCapacity: content.count) { target in
                UnsafeMutableRawBufferPointer(target).copyMemory(from: content)
                return content.count
            }
        }
    }
}
