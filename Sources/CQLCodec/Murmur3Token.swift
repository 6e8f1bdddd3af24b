/// Cassandra's Murmur3Partitioner: the token of a partition key, value for value.
///
/// Cassandra hashes with its own port of MurmurHash3 x64/128 (seed 0) and keeps the first
/// 64-bit half. Its port reads the tail bytes as *signed* Java bytes (sign-extended into the
/// 64-bit lanes), which differs from the reference algorithm for bytes ≥ 0x80; drivers route by
/// this exact value, so we reproduce it. `Int64.min` is reserved as the minimum token and is
/// mapped to `Int64.max`.
package enum Murmur3Token {
    /// The token of a serialized partition key (see ``partitionKeyBytes(_:)`` for composite keys).
    package static func token<Bytes: RandomAccessCollection>(of key: Bytes) -> Int64
        where Bytes.Element == UInt8, Bytes.Index == Int {
        let h1 = hash(key).0
        return h1 == .min ? .max : h1
    }

    /// The bytes Cassandra hashes for a partition key: the single component's value, or for a
    /// composite key each component as `[short] length, bytes, 0x00`.
    package static func partitionKeyBytes(_ components: [[UInt8]]) -> [UInt8] {
        guard components.count != 1 else { return components[0] }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(components.reduce(0) { $0 + $1.count + 3 })
        for component in components {
            let length = UInt16(clamping: component.count)
            bytes.append(UInt8(truncatingIfNeeded: length >> 8))
            bytes.append(UInt8(truncatingIfNeeded: length))
            bytes.append(contentsOf: component.prefix(Int(length)))
            bytes.append(0)
        }
        return bytes
    }

    private static let c1: UInt64 = 0x87C3_7B91_1142_53D5
    private static let c2: UInt64 = 0x4CF5_AD43_2745_937F

    /// MurmurHash3 x64/128 with seed 0 as Cassandra computes it: both 64-bit halves.
    static func hash<Bytes: RandomAccessCollection>(_ key: Bytes) -> (Int64, Int64)
        where Bytes.Element == UInt8, Bytes.Index == Int {
        let start = key.startIndex
        let length = key.count
        let blocks = length / 16
        var h1: UInt64 = 0
        var h2: UInt64 = 0

        func littleEndian(_ offset: Int) -> UInt64 {
            var value: UInt64 = 0
            for index in stride(from: 7, through: 0, by: -1) {
                value = value << 8 | UInt64(key[start + offset + index])
            }
            return value
        }
        // Java's `(long) byte`: sign-extended.
        func signed(_ offset: Int) -> UInt64 {
            UInt64(bitPattern: Int64(Int8(bitPattern: key[start + offset])))
        }

        for block in 0..<blocks {
            var k1 = littleEndian(block * 16)
            var k2 = littleEndian(block * 16 + 8)
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
            h1 = rotl(h1, 27); h1 &+= h2; h1 = h1 &* 5 &+ 0x52DC_E729
            k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
            h2 = rotl(h2, 31); h2 &+= h1; h2 = h2 &* 5 &+ 0x3849_5AB5
        }

        let tail = blocks * 16
        let rest = length & 15
        var k1: UInt64 = 0
        var k2: UInt64 = 0
        if rest > 8 {
            for index in stride(from: rest - 1, through: 8, by: -1) {
                k2 ^= signed(tail + index) << UInt64((index - 8) * 8)
            }
            k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
        }
        if rest > 0 {
            for index in stride(from: min(rest, 8) - 1, through: 0, by: -1) {
                k1 ^= signed(tail + index) << UInt64(index * 8)
            }
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
        }

        h1 ^= UInt64(length)
        h2 ^= UInt64(length)
        h1 &+= h2
        h2 &+= h1
        h1 = fmix(h1)
        h2 = fmix(h2)
        h1 &+= h2
        h2 &+= h1
        return (Int64(bitPattern: h1), Int64(bitPattern: h2))
    }

    private static func rotl(_ value: UInt64, _ shift: UInt64) -> UInt64 {
        (value << shift) | (value >> (64 - shift))
    }

    private static func fmix(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k &*= 0xFF51_AFD7_ED55_8CCD
        k ^= k >> 33
        k &*= 0xC4CE_B9FE_1A85_EC53
        k ^= k >> 33
        return k
    }
}
