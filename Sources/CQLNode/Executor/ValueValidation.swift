import CQLCodec
import Foundation

/// Checks bound values against their receivers' types with Cassandra's messages, and builds serialized values.
enum ValueValidation {
    /// Validates a client-supplied value of `type`; sets and maps come back sorted and without duplicates,
    /// as Cassandra stores them.
    static func normalize(_ bytes: [UInt8], as type: DataType, receiver: String) throws(ServerError) -> [UInt8] {
        let count = bytes.count
        switch type {
        case .int:
            guard count == 0 || count == 4 else { throw .invalidRequest("Expected 4 or 0 byte int (\(count))") }
        case .bigint, .counter:
            guard count == 0 || count == 8 else { throw .invalidRequest("Expected 8 or 0 byte long (\(count))") }
        case .timestamp:
            guard count == 0 || count == 8 else { throw .invalidRequest("Expected 8 or 0 byte long for date (\(count))") }
        case .boolean:
            guard count == 0 || count == 1 else { throw .invalidRequest("Expected 1 or 0 byte value (\(count))") }
        case .double:
            guard count == 0 || count == 8 else { throw .invalidRequest("Expected 8 or 0 byte value for a double (\(count))") }
        case .float:
            guard count == 0 || count == 4 else { throw .invalidRequest("Expected 4 or 0 byte value for a float (\(count))") }
        case .smallint:
            guard count == 2 else { throw .invalidRequest("Expected 2 bytes for a smallint (\(count))") }
        case .tinyint:
            guard count == 1 else { throw .invalidRequest("Expected 1 byte for a tinyint (\(count))") }
        case .uuid:
            guard count == 0 || count == 16 else { throw .invalidRequest("UUID should be 16 or 0 bytes (\(count))") }
        case .timeuuid:
            guard count == 0 || count == 16 else { throw .invalidRequest("UUID should be 16 or 0 bytes (\(count))") }
            if count == 16, bytes[6] >> 4 != 1 { throw .invalidRequest("Invalid version for TimeUUID type.") }
        case .date:
            guard count == 4 else { throw .invalidRequest("Expected 4 byte long for date (\(count))") }
        case .time:
            guard count == 8 else { throw .invalidRequest("Expected 8 byte long for time (\(count))") }
        case .varchar:
            guard String(validating: bytes, as: UTF8.self) != nil else { throw .invalidRequest("String didn't validate.") }
        case .ascii:
            if let bad = bytes.first(where: { $0 >= 0x80 }) { throw .invalidRequest("Invalid byte for ascii: \(bad)") }
        case .inet:
            guard count == 0 || count == 4 || count == 16 else {
                throw .invalidRequest("Invalid inet address length: \(count) bytes")
            }
        case let .list(element):
            let elements = try split(bytes, type: type, receiver: receiver)
            var normalized: [[UInt8]] = []
            for item in elements { normalized.append(try normalize(item, as: element, receiver: receiver)) }
            return encodeList(normalized)
        case let .set(element):
            let elements = try split(bytes, type: type, receiver: receiver)
            var normalized: [[UInt8]] = []
            for item in elements { normalized.append(try normalize(item, as: element, receiver: receiver)) }
            return encodeSet(normalized, elementType: element)
        case let .map(keyType, valueType):
            let elements = try split(bytes, type: type, receiver: receiver, pairs: true)
            var pairs: [([UInt8], [UInt8])] = []
            var index = 0
            while index + 1 < elements.count {
                pairs.append((try normalize(elements[index], as: keyType, receiver: receiver),
                              try normalize(elements[index + 1], as: valueType, receiver: receiver)))
                index += 2
            }
            return encodeMap(pairs, keyType: keyType)
        default:
            do {
                _ = try CQLValue.decode(bytes, as: type)
            } catch {
                throw .invalidRequest("Invalid value for \(receiver) of type \(type): \(error)")
            }
        }
        return bytes
    }

    /// The `[int n][bytes]...` elements of a serialized collection (two per entry for maps).
    static func split(_ bytes: [UInt8], type: DataType, receiver: String, pairs: Bool = false) throws(ServerError) -> [[UInt8]] {
        var reader = ByteReader(bytes)
        do {
            let count = Int(try reader.readInt32("collection size"))
            guard count >= 0 else { throw ServerError.invalidRequest("Invalid negative collection size for \(receiver)") }
            var elements: [[UInt8]] = []
            let items = pairs ? count.multipliedReportingOverflow(by: 2) : (partialValue: count, overflow: false)
            guard !items.overflow, items.partialValue <= bytes.count else {
                throw ServerError.invalidRequest("Not enough bytes to read a \(type) for \(receiver)")
            }
            for _ in 0..<items.partialValue {
                guard let element = try reader.readBytes("collection element") else {
                    throw ServerError.invalidRequest("null is not supported inside collections")
                }
                elements.append(element)
            }
            guard reader.remaining == 0 else {
                throw ServerError.invalidRequest("Unexpected extraneous bytes after \(type) value")
            }
            return elements
        } catch let error as ServerError {
            throw error
        } catch {
            throw .invalidRequest("Not enough bytes to read a \(type) for \(receiver)")
        }
    }

    /// `[int n]` then each element as `[bytes]`.
    static func encodeList(_ elements: [[UInt8]]) -> [UInt8] {
        var writer = ByteWriter(capacity: 16 + elements.count * 8)
        writer.writeInt32(Int32(clamping: elements.count))
        for element in elements { writer.writeBytes(element) }
        return writer.bytes
    }

    /// A set in Cassandra's element order, duplicates dropped.
    static func encodeSet(_ elements: [[UInt8]], elementType: DataType) -> [UInt8] {
        let sorted = elements.sorted { ValueOrder.compare($0, $1, as: elementType) < 0 }
        var unique: [[UInt8]] = []
        for element in sorted where unique.last.map({ ValueOrder.compare($0, element, as: elementType) != 0 }) ?? true {
            unique.append(element)
        }
        return encodeList(unique)
    }

    /// A map in key order; a repeated key keeps its last value, as in Cassandra.
    static func encodeMap(_ pairs: [([UInt8], [UInt8])], keyType: DataType) -> [UInt8] {
        var unique: [([UInt8], [UInt8])] = []
        for pair in pairs {
            if let index = unique.firstIndex(where: { ValueOrder.compare($0.0, pair.0, as: keyType) == 0 }) {
                unique[index] = pair
            } else {
                unique.append(pair)
            }
        }
        unique.sort { ValueOrder.compare($0.0, $1.0, as: keyType) < 0 }
        var writer = ByteWriter(capacity: 16 + unique.count * 16)
        writer.writeInt32(Int32(clamping: unique.count))
        for (key, value) in unique {
            writer.writeBytes(key)
            writer.writeBytes(value)
        }
        return writer.bytes
    }

    static func int32Bytes(_ value: Int32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
    }

    static func uint32Bytes(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32($0))) }
    }

    static func int64Bytes(_ value: Int64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }

    static func uuidBytes(_ uuid: UUID) -> [UInt8] {
        withUnsafeBytes(of: uuid.uuid) { Array($0) }
    }

    /// A big-endian two's complement integer of 1 to 8 bytes.
    static func signedInteger(_ bytes: [UInt8]) -> Int64? {
        guard let first = bytes.first, bytes.count <= 8 else { return nil }
        var value: Int64 = first >= 0x80 ? -1 : 0
        for byte in bytes { value = value << 8 | Int64(byte) }
        return value
    }

    /// A `date` (days since the epoch, offset by 2^31) for a time in milliseconds.
    static func dateBytes(millis: Int64) -> [UInt8] {
        // Floor division: a time before the epoch belongs to the day before, and no subtraction can overflow.
        let days = millis / 86_400_000 - (millis % 86_400_000 < 0 ? 1 : 0)
        return uint32Bytes(UInt32(truncatingIfNeeded: days &+ (1 << 31)))
    }

    /// Milliseconds since the epoch of a `date` or `timestamp` value.
    static func millis(fromDate bytes: [UInt8]) -> Int64? {
        if bytes.count == 8 { return signedInteger(bytes) }
        guard bytes.count == 4 else { return nil }
        let raw = Int64(bytes[0]) << 24 | Int64(bytes[1]) << 16 | Int64(bytes[2]) << 8 | Int64(bytes[3])
        return (raw - (1 << 31)) * 86_400_000
    }

    /// The bytes of an even-length hex string.
    static func hexBytes(_ digits: String) -> [UInt8]? {
        let characters = Array(digits.utf8)
        guard characters.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(characters.count / 2)
        var index = 0
        while index < characters.count {
            guard let high = nibble(characters[index]), let low = nibble(characters[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Cassandra's timestamp and time literal formats (`TimestampSerializer`, `TimeSerializer`), in UTC.
enum TimestampParser {
    /// Milliseconds since the epoch for `yyyy-mm-dd[( |T)HH:MM[:SS[.fff]]][zone]` or an integer.
    static func millis(_ text: String) -> Int64? {
        if let value = Int64(text) { return value }
        var scanner = Substring(text.trimmingCharacters(in: .whitespaces))
        guard let year = number(&scanner, digits: 4...5), take(&scanner, "-"), let month = number(&scanner, digits: 1...2),
              take(&scanner, "-"), let day = number(&scanner, digits: 1...2),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var millis = CivilCalendar.days(year: year, month: month, day: day) * 86_400_000
        if take(&scanner, "T") || take(&scanner, " ") {
            if let first = scanner.first, first.isNumber {
                guard let hour = number(&scanner, digits: 1...2), take(&scanner, ":"),
                      let minute = number(&scanner, digits: 1...2), hour < 24, minute < 60 else { return nil }
                millis += (hour * 3600 + minute * 60) * 1000
                if take(&scanner, ":") {
                    guard let second = number(&scanner, digits: 1...2), second < 60 else { return nil }
                    millis += second * 1000
                    if take(&scanner, ".") {
                        let digits = scanner.prefix { $0.isNumber }
                        guard !digits.isEmpty, digits.count <= 9 else { return nil }
                        scanner = scanner.dropFirst(digits.count)
                        let padded = (String(digits) + "000").prefix(3)
                        millis += Int64(padded) ?? 0
                    }
                }
            }
        }
        _ = take(&scanner, " ")
        if scanner.isEmpty || scanner == "Z" || scanner == "UTC" || scanner == "GMT" { return millis }
        guard let sign = scanner.first, sign == "+" || sign == "-" else { return nil }
        scanner = scanner.dropFirst()
        let zone = scanner.filter { $0 != ":" }
        guard zone.count == 4 || zone.count == 2, zone.allSatisfy(\.isNumber), let value = Int64(zone) else { return nil }
        let offsetMinutes = zone.count == 4 ? (value / 100) * 60 + value % 100 : value * 60
        return millis - (sign == "+" ? 1 : -1) * offsetMinutes * 60_000
    }

    /// Nanoseconds since midnight for `HH:MM:SS[.fffffffff]`.
    static func timeNanos(_ text: String) -> Int64? {
        var scanner = Substring(text.trimmingCharacters(in: .whitespaces))
        guard let hour = number(&scanner, digits: 1...2), take(&scanner, ":"), let minute = number(&scanner, digits: 1...2),
              take(&scanner, ":"), let second = number(&scanner, digits: 1...2),
              hour < 24, minute < 60, second < 60 else { return nil }
        var nanos = ((hour * 60 + minute) * 60 + second) * 1_000_000_000
        if take(&scanner, ".") {
            let digits = scanner.prefix { $0.isNumber }
            guard !digits.isEmpty, digits.count <= 9 else { return nil }
            scanner = scanner.dropFirst(digits.count)
            nanos += Int64(String(digits) + String(repeating: "0", count: 9 - digits.count)) ?? 0
        }
        return scanner.isEmpty ? nanos : nil
    }

    private static func number(_ scanner: inout Substring, digits: ClosedRange<Int>) -> Int64? {
        let prefix = scanner.prefix { $0.isASCII && $0.isNumber }
        guard digits.contains(prefix.count), let value = Int64(prefix) else { return nil }
        scanner = scanner.dropFirst(prefix.count)
        return value
    }

    private static func take(_ scanner: inout Substring, _ character: Character) -> Bool {
        guard scanner.first == character else { return false }
        scanner = scanner.dropFirst()
        return true
    }
}
