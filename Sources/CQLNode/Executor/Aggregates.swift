import BigInt
import Foundation
import CQLCodec

/// Cassandra's native aggregates over serialized values (`AggregateFcts`): min and max by the type's
/// order; sum and avg in the argument's own type, with Cassandra's arithmetic for each type.
enum Aggregates {
    /// Whether `sum` and `avg` accept the type.
    static func isNumeric(_ type: DataType) -> Bool {
        switch type {
        case .int, .bigint, .smallint, .tinyint, .counter, .float, .double, .varint, .decimal: true
        default: false
        }
    }

    /// The aggregate's result over the non-null `values` (one per row, in row order).
    static func compute(_ function: String, values: [[UInt8]], type: DataType) -> [UInt8]? {
        switch function {
        case "min": return values.min { ValueOrder.compare($0, $1, as: type) < 0 }
        case "max": return values.max { ValueOrder.compare($0, $1, as: type) < 0 }
        default: break
        }
        let isAverage = function == "avg"
        switch type {
        case .float, .double:
            let numbers = values.compactMap { floatingValue($0) }
            let total = isAverage ? FloatingAverage.of(numbers) : KahanSum.of(numbers)
            return type == .float ? ValueValidation.int32Bytes(Int32(bitPattern: Float(total).bitPattern))
                : ValueValidation.int64Bytes(Int64(bitPattern: total.bitPattern))
        case .int, .bigint, .smallint, .tinyint, .counter:
            let numbers = values.compactMap { ValueValidation.signedInteger($0) }
            // Sums wrap in the type (Java's int/long arithmetic); averages sum exactly (Cassandra falls
            // back to BigInteger on overflow) and truncate toward zero.
            var total: Int64 = 0
            if isAverage {
                let exact = numbers.reduce(BigInt(0)) { $0 + BigInt($1) }
                total = numbers.isEmpty ? 0 : Int64(truncatingIfNeeded: exact / BigInt(numbers.count))
            } else {
                for number in numbers { total = total &+ number }
            }
            switch type {
            case .int: return ValueValidation.int32Bytes(Int32(truncatingIfNeeded: total))
            case .smallint: return [UInt8(truncatingIfNeeded: total >> 8), UInt8(truncatingIfNeeded: total)]
            case .tinyint: return [UInt8(truncatingIfNeeded: total)]
            default: return ValueValidation.int64Bytes(total)
            }
        case .varint:
            let numbers = values.map { ExactNumber.integer($0) }
            let total = numbers.reduce(BigInt(0), +)
            return ExactNumber.varintBytes(isAverage ? (numbers.isEmpty ? 0 : total / BigInt(numbers.count)) : total)
        case .decimal:
            var result = ExactDecimal.zero
            var count = 0
            for bytes in values {
                guard let number = ExactDecimal(bytes) else { continue }
                if isAverage {
                    // Cassandra's running mean: avg += (value - avg) / count, rounded half-even at the scale of the difference.
                    count += 1
                    result = result + (number - result).divided(by: count)
                } else {
                    result = result + number
                }
            }
            return result.bytes
        default:
            return nil
        }
    }

    private static func floatingValue(_ bytes: [UInt8]) -> Double? {
        guard let bits = ValueValidation.signedInteger(bytes) else { return nil }
        return bytes.count == 4 ? Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
            : Double(bitPattern: UInt64(bitPattern: bits))
    }
}

/// Cassandra's float and double sum: Kahan-compensated, with the plain sum kept for same-signed infinities.
private enum KahanSum {
    static func of(_ numbers: [Double]) -> Double {
        var sum = 0.0, compensation = 0.0, simple = 0.0
        for number in numbers {
            simple += number
            let adjusted = number - compensation
            let rounded = sum + adjusted
            compensation = (rounded - sum) - adjusted
            sum = rounded
        }
        let total = sum + compensation
        return total.isNaN && simple.isInfinite ? simple : total
    }
}

/// Cassandra's float and double average: the Kahan sum divided by the count, 0 for no rows.
/// (Cassandra switches to BigDecimal when the running sum overflows to infinity; the mean of such
/// huge values is computed here in halves, which gives the same double.)
private enum FloatingAverage {
    static func of(_ numbers: [Double]) -> Double {
        guard !numbers.isEmpty else { return 0 }
        let total = KahanSum.of(numbers)
        if total.isInfinite, numbers.allSatisfy(\.isFinite) {
            return KahanSum.of(numbers.map { $0 / Double(numbers.count) })
        }
        return total / Double(numbers.count)
    }
}

/// Conversions between serialized varints and `BigInt`.
enum ExactNumber {
    /// A serialized varint (two's complement, big-endian) as a `BigInt`; empty is zero.
    static func integer(_ bytes: [UInt8]) -> BigInt {
        guard let first = bytes.first else { return 0 }
        let magnitude = BigInt(BigUInt(Data(bytes)))
        return first & 0x80 == 0 ? magnitude : magnitude - (BigInt(1) << (bytes.count * 8))
    }

    /// The shortest two's-complement big-endian bytes of `value`.
    static func varintBytes(_ value: BigInt) -> [UInt8] {
        if value.sign == .plus {
            var bytes = [UInt8](value.magnitude.serialize())
            if bytes.isEmpty || bytes[0] & 0x80 != 0 { bytes.insert(0, at: 0) }
            return bytes
        }
        // -m in n bytes is 2^(8n) - m, with n large enough that the top bit is set.
        var width = max(1, (value.magnitude.bitWidth + 7) / 8)
        while true {
            let encoded = (BigInt(1) << (width * 8)) + value
            var bytes = [UInt8](encoded.magnitude.serialize())
            while bytes.count < width { bytes.insert(0, at: 0) }
            if bytes[0] & 0x80 != 0 { return bytes }
            width += 1
        }
    }
}

/// A decimal with Java `BigDecimal` arithmetic: sums keep the larger scale, division keeps the dividend's.
struct ExactDecimal: Equatable {
    var unscaled: BigInt
    var scale: Int32

    static let zero = ExactDecimal(unscaled: 0, scale: 0)

    init(unscaled: BigInt, scale: Int32) {
        self.unscaled = unscaled
        self.scale = scale
    }

    /// A serialized decimal (a 4-byte scale, then the unscaled varint); nil when shorter than 4 bytes.
    init?(_ bytes: [UInt8]) {
        guard bytes.count >= 4, let scale = ValueValidation.signedInteger(Array(bytes[0..<4])) else { return nil }
        self.init(unscaled: ExactNumber.integer(Array(bytes[4...])), scale: Int32(truncatingIfNeeded: scale))
    }

    var bytes: [UInt8] { ValueValidation.int32Bytes(scale) + ExactNumber.varintBytes(unscaled) }

    private func rescaled(to target: Int32) -> BigInt {
        target > scale ? unscaled * BigInt(10).power(Int(target - scale)) : unscaled
    }

    static func + (lhs: ExactDecimal, rhs: ExactDecimal) -> ExactDecimal {
        let scale = max(lhs.scale, rhs.scale)
        return ExactDecimal(unscaled: lhs.rescaled(to: scale) + rhs.rescaled(to: scale), scale: scale)
    }

    static func - (lhs: ExactDecimal, rhs: ExactDecimal) -> ExactDecimal {
        let scale = max(lhs.scale, rhs.scale)
        return ExactDecimal(unscaled: lhs.rescaled(to: scale) - rhs.rescaled(to: scale), scale: scale)
    }

    /// `BigDecimal.divide(BigDecimal.valueOf(divisor), RoundingMode.HALF_EVEN)`: same scale, rounded half to even.
    func divided(by divisor: Int) -> ExactDecimal {
        let (quotient, remainder) = unscaled.quotientAndRemainder(dividingBy: BigInt(divisor))
        let twice = remainder.magnitude * 2
        let divisorMagnitude = BigUInt(divisor)
        var rounded = quotient
        let awayFromZero = twice > divisorMagnitude || (twice == divisorMagnitude && quotient.magnitude % 2 == 1)
        if awayFromZero { rounded += unscaled.sign == .minus ? -1 : 1 }
        return ExactDecimal(unscaled: rounded, scale: scale)
    }
}
