/// Shared helpers for reading and writing the serialized content of CQL values (section 6).
///
/// Every function checks that `range` lies inside `bytes` before touching it, so a range
/// computed from hostile lengths can never make a value codec trap.
enum ValueBytes {
    /// Throws unless `range` lies within `bytes`.
    @inline(__always)
    static func check(_ bytes: [UInt8], _ range: Range<Int>, _ what: @autoclosure () -> String) throws(WireError) {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else {
            throw .truncated(what: what(), needed: range.count, available: max(0, bytes.count - max(0, range.lowerBound)))
        }
    }

    /// Throws unless `range` holds exactly `width` bytes.
    @inline(__always)
    static func requireWidth(_ bytes: [UInt8], _ range: Range<Int>, _ width: Int, _ type: DataType) throws(WireError) {
        try check(bytes, range, type.description)
        guard range.count == width else {
            throw .invalidValue(what: type.description, detail: "expected \(width) bytes, got \(range.count)")
        }
    }

    /// Reads a big-endian two's-complement integer of exactly `width` bytes, sign-extended.
    @inline(__always)
    static func readSigned(_ bytes: [UInt8], _ range: Range<Int>, width: Int, _ type: DataType) throws(WireError) -> Int64 {
        try requireWidth(bytes, range, width, type)
        // requireWidth proved range lies inside bytes, so the raw reads below stay in bounds.
        let value: UInt64 = bytes.withUnsafeBytes { raw in
            switch width {
            case 8: return UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: range.lowerBound, as: UInt64.self))
            case 4: return UInt64(UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: range.lowerBound, as: UInt32.self)))
            default:
                var value: UInt64 = 0
                for index in range { value = value << 8 | UInt64(raw[index]) }
                return value
            }
        }
        let shift = UInt64(64 - 8 * width)
        return Int64(bitPattern: value << shift) >> Int64(shift)
    }

    /// The fixed width of an integer CQL type, or nil for any other type.
    static func integerWidth(_ type: DataType) -> Int? {
        switch type {
        case .tinyint: 1
        case .smallint: 2
        case .int: 4
        case .bigint, .counter: 8
        default: nil
        }
    }

    /// Reads any CQL integer type (`tinyint` to `bigint`, `counter`, `varint`) as Int64.
    ///
    /// `swiftType` names the destination in errors; a varint that does not fit throws.
    static func readInteger(_ bytes: [UInt8], _ range: Range<Int>, _ type: DataType, swiftType: String,
                            accepting widths: Int) throws(WireError) -> Int64 {
        if let width = integerWidth(type), width <= widths {
            return try readSigned(bytes, range, width: width, type)
        }
        if type == .varint, widths == 8 {
            let varint = try CQLVarint(cqlBytes: bytes, range: range, type: type)
            guard let value = varint.int64Value else {
                throw .invalidValue(what: "varint", detail: "\(varint) does not fit in \(swiftType)")
            }
            return value
        }
        throw .typeMismatch(expected: "\(swiftType) (from \(integerTypesText(widths)))", actual: type.description)
    }

    private static func integerTypesText(_ widths: Int) -> String {
        switch widths {
        case 1: "tinyint"
        case 2: "smallint or tinyint"
        case 4: "int, smallint or tinyint"
        default: "bigint, counter, int, smallint, tinyint or varint"
        }
    }

    /// Writes `value` as the integer CQL type `type`, refusing values that do not fit.
    static func writeInteger(_ value: Int64, as type: DataType, into writer: inout ByteWriter, swiftType: String) throws(WireError) {
        switch type {
        case .tinyint:
            guard let narrow = Int8(exactly: value) else { throw outOfRange(value, type) }
            writer.writeUInt8(UInt8(bitPattern: narrow))
        case .smallint:
            guard let narrow = Int16(exactly: value) else { throw outOfRange(value, type) }
            writer.writeUInt16(UInt16(bitPattern: narrow))
        case .int:
            guard let narrow = Int32(exactly: value) else { throw outOfRange(value, type) }
            writer.writeInt32(narrow)
        case .bigint, .counter:
            writer.writeInt64(value)
        case .varint:
            writer.writeRaw(CQLVarint(value).bytes)
        default:
            throw .typeMismatch(expected: type.description, actual: "Swift \(swiftType)")
        }
    }

    private static func outOfRange(_ value: Int64, _ type: DataType) -> WireError {
        .invalidValue(what: type.description, detail: "\(value) is out of range")
    }

    /// Decodes UTF-8 text for `text`/`varchar`/`ascii`, checking ASCII for `ascii`.
    static func readText(_ bytes: [UInt8], _ range: Range<Int>, _ type: DataType) throws(WireError) -> String {
        try check(bytes, range, type.description)
        // check proved range lies inside bytes. ASCII is valid UTF-8 that `String(decoding:)` keeps
        // byte for byte, so the common case skips the generic `String(validating:)` path.
        let ascii: String? = bytes.withUnsafeBytes { raw in
            let content = UnsafeRawBufferPointer(rebasing: raw[range])
            return InlineValue.isASCII(content) ? String(decoding: content, as: UTF8.self) : nil
        }
        if let ascii { return ascii }
        if case .ascii = type {
            for index in range where bytes[index] >= 0x80 {
                throw .invalidValue(what: "ascii", detail: "byte 0x\(String(bytes[index], radix: 16)) is not ASCII")
            }
        }
        guard let text = String(validating: bytes[range], as: UTF8.self) else { throw .invalidUTF8(what: type.description) }
        return text
    }

    /// Appends a `[bytes]`-style length-prefixed value whose content `body` writes.
    static func writeLengthPrefixed(_ writer: inout ByteWriter, _ what: String,
                                    _ body: (inout ByteWriter) throws(WireError) -> Void) throws(WireError) {
        let lengthOffset = writer.count
        writer.writeInt32(0)
        try body(&writer)
        let length = writer.count - lengthOffset - 4
        guard let length32 = Int32(exactly: length) else {
            throw .lengthTooLarge(what: what, length: length, limit: Int(Int32.max))
        }
        writer.patchInt32(length32, at: lengthOffset)
    }

    /// Lowercase hexadecimal with a `0x` prefix, as cqlsh prints blobs.
    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text: [UInt8] = [0x30, 0x78]
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Collection and tuple framing shared by ``CQLValue`` and the static codecs.
enum CollectionBytes {
    /// Reads a v4 collection's `[int]` element count, refusing counts the bytes cannot hold.
    ///
    /// Every element takes at least 4 bytes (its length), `minimumElementSize` per entry.
    static func readCount(_ reader: inout ByteReader, minimumElementSize: Int, _ type: DataType) throws(WireError) -> Int {
        let count = Int(try reader.readInt32("\(type) element count"))
        if count < 0 { throw .negativeLength(what: "\(type) element count", length: count) }
        guard count <= reader.remaining / minimumElementSize else {
            throw .truncated(what: "\(type) elements", needed: count * minimumElementSize, available: reader.remaining)
        }
        return count
    }

    /// The content ranges of a list or set's elements (nil for a null element).
    static func elementRanges(_ bytes: [UInt8], _ range: Range<Int>, _ type: DataType) throws(WireError) -> [Range<Int>?] {
        try ValueBytes.check(bytes, range, type.description)
        var reader = ByteReader(bytes, range: range)
        let count = try readCount(&reader, minimumElementSize: 4, type)
        var ranges: [Range<Int>?] = []
        ranges.reserveCapacity(count)
        for _ in 0..<count { ranges.append(try reader.readBytesRange("\(type) element")) }
        try reader.expectEnd(type.description)
        return ranges
    }

    /// The content ranges of a map's entries.
    static func entryRanges(_ bytes: [UInt8], _ range: Range<Int>, _ type: DataType) throws(WireError) -> [(key: Range<Int>?, value: Range<Int>?)] {
        try ValueBytes.check(bytes, range, type.description)
        var reader = ByteReader(bytes, range: range)
        let count = try readCount(&reader, minimumElementSize: 8, type)
        var ranges: [(key: Range<Int>?, value: Range<Int>?)] = []
        ranges.reserveCapacity(count)
        for _ in 0..<count {
            let key = try reader.readBytesRange("\(type) key")
            ranges.append((key, try reader.readBytesRange("\(type) value")))
        }
        try reader.expectEnd(type.description)
        return ranges
    }

    /// The content ranges of a tuple's or UDT's fields; fields missing at the end are null.
    static func fieldRanges(_ bytes: [UInt8], _ range: Range<Int>, fieldCount: Int, _ type: DataType) throws(WireError) -> [Range<Int>?] {
        try ValueBytes.check(bytes, range, type.description)
        var reader = ByteReader(bytes, range: range)
        var ranges: [Range<Int>?] = []
        ranges.reserveCapacity(fieldCount)
        while ranges.count < fieldCount {
            if reader.isAtEnd {
                ranges.append(nil)
            } else {
                ranges.append(try reader.readBytesRange("\(type) field"))
            }
        }
        try reader.expectEnd(type.description)
        return ranges
    }
}
