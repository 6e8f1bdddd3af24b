/// A CQL `varint`: an arbitrary-precision integer, kept as its wire form.
///
/// The bytes are the minimal two's-complement big-endian encoding (`128` is `00 80`, `-1` is
/// `ff`), so equal numbers are equal values and re-encode byte for byte.
public struct CQLVarint: Hashable, Sendable, CustomStringConvertible {
    /// The minimal two's-complement big-endian bytes (at least one byte).
    public let bytes: [UInt8]

    /// A varint from two's-complement big-endian bytes; redundant sign bytes are dropped, empty is zero.
    public init(bytes: [UInt8]) {
        guard !bytes.isEmpty else {
            self.bytes = [0]
            return
        }
        var start = 0
        while start + 1 < bytes.count {
            let redundantZero = bytes[start] == 0x00 && bytes[start + 1] & 0x80 == 0
            let redundantOnes = bytes[start] == 0xFF && bytes[start + 1] & 0x80 != 0
            guard redundantZero || redundantOnes else { break }
            start += 1
        }
        self.bytes = start == 0 ? bytes : Array(bytes[start...])
    }

    /// A varint holding `value`.
    public init(_ value: Int64) {
        let raw = UInt64(bitPattern: value)
        self.init(bytes: (0..<8).map { UInt8(truncatingIfNeeded: raw >> UInt64(56 - 8 * $0)) })
    }

    /// Whether the number is below zero.
    public var isNegative: Bool { bytes[0] & 0x80 != 0 }

    /// Whether the number is zero.
    public var isZero: Bool { bytes == [0] }

    /// The value as Int64, or nil when it does not fit.
    public var int64Value: Int64? {
        guard bytes.count <= 8 else { return nil }
        var value: UInt64 = isNegative ? .max : 0
        for byte in bytes { value = value << 8 | UInt64(byte) }
        return Int64(bitPattern: value)
    }

    /// The number in decimal, with a leading `-` when negative.
    public var description: String {
        var limbs = Self.limbs(ofMagnitude: magnitudeBytes)
        var chunks: [UInt32] = []
        while !limbs.isEmpty {
            chunks.append(Self.divide(&limbs, by: 1_000_000_000))
        }
        guard let last = chunks.last else { return "0" }
        var text = isNegative ? "-" : ""
        text += String(last)
        for chunk in chunks.dropLast().reversed() {
            let digits = String(chunk)
            text += String(repeating: "0", count: 9 - digits.count) + digits
        }
        return text
    }

    /// Parses decimal text (`-123`, `+4`, any number of digits); nil for anything else.
    public init?(_ text: String) {
        var digits = Substring(text)
        var negative = false
        if let sign = digits.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var limbs: [UInt32] = []
        let utf8 = Array(digits.utf8)
        var index = 0
        let firstChunk = utf8.count % 9 == 0 ? 9 : utf8.count % 9
        var chunkLength = firstChunk
        while index < utf8.count {
            var chunk: UInt32 = 0
            var scale: UInt32 = 1
            for digit in utf8[index..<(index + chunkLength)] {
                chunk = chunk * 10 + UInt32(digit - 0x30)
                scale *= 10
            }
            Self.multiplyAdd(&limbs, multiplier: scale, addend: chunk)
            index += chunkLength
            chunkLength = 9
        }
        self.init(negative: negative, magnitudeLimbs: limbs)
    }

    /// A varint from a sign and a magnitude in little-endian 32-bit limbs.
    init(negative: Bool, magnitudeLimbs limbs: [UInt32]) {
        var magnitude: [UInt8] = [0]
        magnitude.reserveCapacity(limbs.count * 4 + 1)
        for limb in limbs.reversed() {
            magnitude.append(UInt8(truncatingIfNeeded: limb >> 24))
            magnitude.append(UInt8(truncatingIfNeeded: limb >> 16))
            magnitude.append(UInt8(truncatingIfNeeded: limb >> 8))
            magnitude.append(UInt8(truncatingIfNeeded: limb))
        }
        self.init(bytes: negative ? Self.negated(magnitude) : magnitude)
    }

    /// The absolute value as unsigned big-endian bytes.
    var magnitudeBytes: [UInt8] { isNegative ? Self.negated(bytes) : bytes }

    /// The negation of the number, in two's complement.
    public var negated: CQLVarint {
        CQLVarint(bytes: Self.negated([isNegative ? 0xFF : 0x00] + bytes))
    }

    /// Two's-complement negation of big-endian bytes (invert, add one).
    static func negated(_ bytes: [UInt8]) -> [UInt8] {
        var result = bytes.map { ~$0 }
        var index = result.count - 1
        while index >= 0 {
            let (sum, overflow) = result[index].addingReportingOverflow(1)
            result[index] = sum
            if !overflow { break }
            index -= 1
        }
        return result
    }

    /// Little-endian 32-bit limbs of unsigned big-endian bytes, without high zero limbs.
    static func limbs(ofMagnitude bytes: [UInt8]) -> [UInt32] {
        var limbs: [UInt32] = []
        limbs.reserveCapacity(bytes.count / 4 + 1)
        var end = bytes.count
        while end > 0 {
            let start = max(0, end - 4)
            var limb: UInt32 = 0
            for byte in bytes[start..<end] { limb = limb << 8 | UInt32(byte) }
            limbs.append(limb)
            end = start
        }
        while limbs.last == 0 { limbs.removeLast() }
        return limbs
    }

    /// Divides little-endian limbs in place, returning the remainder; drops high zero limbs.
    static func divide(_ limbs: inout [UInt32], by divisor: UInt32) -> UInt32 {
        var remainder: UInt64 = 0
        for index in limbs.indices.reversed() {
            let current = remainder << 32 | UInt64(limbs[index])
            limbs[index] = UInt32(truncatingIfNeeded: current / UInt64(divisor))
            remainder = current % UInt64(divisor)
        }
        while limbs.last == 0 { limbs.removeLast() }
        return UInt32(truncatingIfNeeded: remainder)
    }

    /// `limbs = limbs * multiplier + addend`, growing as needed.
    static func multiplyAdd(_ limbs: inout [UInt32], multiplier: UInt32, addend: UInt32) {
        var carry = UInt64(addend)
        for index in limbs.indices {
            let product = UInt64(limbs[index]) * UInt64(multiplier) + carry
            limbs[index] = UInt32(truncatingIfNeeded: product)
            carry = product >> 32
        }
        if carry != 0 { limbs.append(UInt32(truncatingIfNeeded: carry)) }
    }
}

extension CQLVarint: CQLCodable {
    /// Decodes `varint`, or widens any fixed-width integer type.
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        switch type {
        case .varint:
            try ValueBytes.check(cqlBytes, range, "varint")
            guard !range.isEmpty else { throw .invalidValue(what: "varint", detail: "empty value") }
            self.init(bytes: Array(cqlBytes[range]))
        default:
            guard let width = ValueBytes.integerWidth(type) else {
                throw .typeMismatch(expected: "CQLVarint (from varint or a fixed-width integer type)", actual: type.description)
            }
            self.init(try ValueBytes.readSigned(cqlBytes, range, width: width, type))
        }
    }

    /// Writes `varint`, or a fixed-width integer type when the value fits.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        if type == .varint { return writer.writeRaw(bytes) }
        guard let value = int64Value else {
            throw .invalidValue(what: type.description, detail: "\(self) is out of range")
        }
        try ValueBytes.writeInteger(value, as: type, into: &writer, swiftType: "CQLVarint")
    }

    /// `varint`.
    public static var defaultCQLType: DataType { .varint }
}
