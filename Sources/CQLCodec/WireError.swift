/// Why bytes could not be decoded as (or encoded to) native protocol data.
///
/// Every read of wire data is bounds-checked; malformed, truncated or hostile input ends in
/// one of these cases, never in a trap.
public enum WireError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The input ended `needed` bytes into a read of `what` with only `available` left.
    case truncated(what: String, needed: Int, available: Int)
    /// A length field of `what` was negative where the protocol does not allow it.
    case negativeLength(what: String, length: Int)
    /// A length field of `what` is larger than the limit the decoder accepts.
    case lengthTooLarge(what: String, length: Int, limit: Int)
    /// A `[string]` or `[long string]` was not valid UTF-8.
    case invalidUTF8(what: String)
    /// A field held a value the protocol does not define.
    case invalidValue(what: String, detail: String)
    /// A frame header carried a protocol version this codec does not speak.
    case unsupportedVersion(UInt8)
    /// A frame header carried an opcode the protocol does not define.
    case unknownOpcode(UInt8)
    /// A frame declared a body longer than the configured maximum.
    case frameTooLarge(length: Int, limit: Int)
    /// A message body had bytes left over after it was decoded.
    case trailingBytes(what: String, count: Int)
    /// Types were nested deeper than the decoder allows.
    case nestingTooDeep(limit: Int)
    /// A compressed body could not be decompressed.
    case compression(algorithm: String, detail: String)
    /// A Swift value cannot be represented as the CQL type it is bound to.
    case typeMismatch(expected: String, actual: String)

    public var description: String {
        switch self {
        case let .truncated(what, needed, available):
            "truncated input reading \(what): needed \(needed) bytes, \(available) available"
        case let .negativeLength(what, length):
            "negative length \(length) reading \(what)"
        case let .lengthTooLarge(what, length, limit):
            "length \(length) of \(what) exceeds the limit of \(limit)"
        case let .invalidUTF8(what):
            "invalid UTF-8 in \(what)"
        case let .invalidValue(what, detail):
            "invalid \(what): \(detail)"
        case let .unsupportedVersion(version):
            "unsupported protocol version \(version)"
        case let .unknownOpcode(opcode):
            "unknown opcode \(opcode)"
        case let .frameTooLarge(length, limit):
            "frame body of \(length) bytes exceeds the limit of \(limit)"
        case let .trailingBytes(what, count):
            "\(count) unexpected trailing bytes after \(what)"
        case let .nestingTooDeep(limit):
            "types nested deeper than \(limit) levels"
        case let .compression(algorithm, detail):
            "\(algorithm) decompression failed: \(detail)"
        case let .typeMismatch(expected, actual):
            "type mismatch: expected \(expected), got \(actual)"
        }
    }
}
