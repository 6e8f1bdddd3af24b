public import Foundation

/// A CQL `decimal`: an arbitrary-precision unscaled integer and a 32-bit scale
/// (the value is `unscaled × 10^-scale`, as Java's `BigDecimal`).
public struct CQLDecimal: Hashable, Sendable, CustomStringConvertible {
    /// The digits as an integer.
    public var unscaled: CQLVarint
    /// How many digits of `unscaled` lie right of the decimal point (negative: zeros to append).
    public var scale: Int32

    /// A decimal `unscaled × 10^-scale`.
    public init(unscaled: CQLVarint, scale: Int32) {
        self.unscaled = unscaled
        self.scale = scale
    }

    /// The number as Java's `BigDecimal.toString()` writes it (and Python's `str(Decimal)`, which cqlsh prints):
    /// plain unless the scale is negative or the exponent is below -6, then scientific (`1.23E+5`).
    public var description: String {
        let (sign, digits) = signAndDigits
        if scale == 0 { return sign + digits }
        let adjusted = -Int64(scale) + Int64(digits.count - 1)
        if scale > 0, adjusted >= -6 { return sign + Self.placePoint(digits, scale: Int(scale)) }
        var text = sign + String(digits.prefix(1))
        if digits.count > 1 { text += "." + digits.dropFirst() }
        return text + "E" + (adjusted >= 0 ? "+" : "") + String(adjusted)
    }

    /// The number without an exponent (Java's `toPlainString()`).
    ///
    /// A scale from the wire can ask for two billion zeros; beyond ``maximumPlainPadding`` of
    /// them this returns ``description`` (scientific) instead of allocating gigabytes.
    public var plainString: String {
        let (sign, digits) = signAndDigits
        let padding = scale <= 0 ? -Int64(scale) : Int64(scale) - Int64(digits.count)
        if padding > Int64(Self.maximumPlainPadding) { return description }
        if scale <= 0 {
            if unscaled.isZero { return "0" }
            return sign + digits + String(repeating: "0", count: Int(-Int64(scale)))
        }
        return sign + Self.placePoint(digits, scale: Int(scale))
    }

    /// The most zeros ``plainString`` writes out.
    public static let maximumPlainPadding = 10_000

    private var signAndDigits: (String, String) {
        let text = unscaled.description
        return text.hasPrefix("-") ? ("-", String(text.dropFirst())) : ("", text)
    }

    private static func placePoint(_ digits: String, scale: Int) -> String {
        if digits.count > scale {
            let split = digits.index(digits.endIndex, offsetBy: -scale)
            return digits[..<split] + "." + digits[split...]
        }
        return "0." + String(repeating: "0", count: scale - digits.count) + digits
    }

    /// Parses `-12.345`, `1E+3`, `.5`, `6.02e23`; nil when malformed or the scale leaves Int32.
    public init?(_ text: String) {
        var rest = Substring(text)
        var sign = ""
        if let first = rest.first, first == "-" || first == "+" {
            sign = first == "-" ? "-" : ""
            rest = rest.dropFirst()
        }
        var exponent: Int64 = 0
        if let marker = rest.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let parsed = Int64(rest[rest.index(after: marker)...]) else { return nil }
            exponent = parsed
            rest = rest[..<marker]
        }
        var integerPart = rest
        var fractionPart: Substring = ""
        if let point = rest.firstIndex(of: ".") {
            integerPart = rest[..<point]
            fractionPart = rest[rest.index(after: point)...]
        }
        guard !(integerPart.isEmpty && fractionPart.isEmpty),
              (integerPart + fractionPart).utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              fractionPart.count < Int(Int32.max),
              let unscaled = CQLVarint(sign + integerPart + fractionPart) else { return nil }
        let (scale, overflow) = Int64(fractionPart.count).subtractingReportingOverflow(exponent)
        guard !overflow, let scale32 = Int32(exactly: scale) else { return nil }
        self.init(unscaled: unscaled, scale: scale32)
    }

    /// A decimal from Foundation's `Decimal`; nil for NaN.
    public init?(_ decimal: Decimal) {
        guard !decimal.isNaN else { return nil }
        self.init(decimal.description)
    }

    /// The value as Foundation's `Decimal`, or nil when it needs more than its 38 digits or its exponent range.
    public var decimalValue: Decimal? {
        let (_, digits) = signAndDigits
        guard digits.count <= 38, scale > -128, scale < 128 else { return nil }
        return Decimal(string: plainString, locale: Locale(identifier: "en_US_POSIX"))
    }
}

extension CQLDecimal: CQLCodable {
    /// Decodes `decimal`: an `[int]` scale, then the varint unscaled value.
    public init(cqlBytes: [UInt8], range: Range<Int>, type: DataType) throws(WireError) {
        guard type == .decimal else { throw .typeMismatch(expected: "CQLDecimal (from decimal)", actual: type.description) }
        try ValueBytes.check(cqlBytes, range, "decimal")
        var reader = ByteReader(cqlBytes, range: range)
        let scale = try reader.readInt32("decimal scale")
        guard !reader.isAtEnd else { throw .truncated(what: "decimal unscaled value", needed: 1, available: 0) }
        let digits = try reader.readRaw(reader.remaining, "decimal unscaled value")
        self.init(unscaled: CQLVarint(bytes: digits), scale: scale)
    }

    /// Writes `decimal`.
    public func encodeCQL(into writer: inout ByteWriter, as type: DataType) throws(WireError) {
        guard type == .decimal else { throw .typeMismatch(expected: type.description, actual: "Swift CQLDecimal") }
        writer.writeInt32(scale)
        writer.writeRaw(unscaled.bytes)
    }

    /// `decimal`.
    public static var defaultCQLType: DataType { .decimal }
}
