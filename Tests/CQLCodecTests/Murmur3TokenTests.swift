import Testing
@testable import CQLCodec

@Suite("Murmur3 tokens, value for value with Cassandra")
struct Murmur3TokenTests {
    /// Expected tokens computed by the DataStax Python driver's `cassandra.murmur3.murmur3`
    /// (cassandra-driver 3.30.1), which reproduces Cassandra's Murmur3Partitioner.
    static let pythonDriverVectors: [(hex: String, token: Int64)] = [
        ("61", -8_839_064_797_231_613_815),
        ("616263", -5_434_086_359_492_102_041),
        ("68656c6c6f20776f726c64", 5_998_619_086_395_760_910),
        ("80", -5_284_281_814_142_962_636),
        ("ffffffffffffffffffffffffffffff", -2_195_530_867_418_009_455),
        ("fe81fe81fe81fe81fe81fe81fe81fe81fe81", -2_939_644_631_315_300_612),
        ("31323365343536372d653839622d313264332d613435362d343236363134313734303030", 2_542_362_671_309_815_941),
        ("00000001", -4_069_959_284_402_364_209),
        ("000000000000002a", 8_623_491_988_607_824_794),
        ("808182838485868788898a8b8c8d8e8f90", -3_616_694_464_407_856_223),
        (String((0..<256).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[byte >> 4], digits[byte & 15]])
        }.joined()), 2_060_892_794_568_774_329),
    ]

    @Test("tokens equal the Python driver's", arguments: pythonDriverVectors)
    func matchesPythonDriver(_ vector: (hex: String, token: Int64)) {
        let bytes = stride(from: 0, to: vector.hex.count, by: 2).compactMap { offset -> UInt8? in
            let start = vector.hex.index(vector.hex.startIndex, offsetBy: offset)
            return UInt8(vector.hex[start..<vector.hex.index(start, offsetBy: 2)], radix: 16)
        }
        #expect(Murmur3Token.token(of: bytes) == vector.token)
    }

    @Test("a composite partition key is hashed as length-prefixed components with end bytes")
    func compositeKey() {
        let key = Murmur3Token.partitionKeyBytes([[0, 0, 0, 1], [0x61]])
        #expect(key == [0, 4, 0, 0, 0, 1, 0, 0, 1, 0x61, 0])
        #expect(Murmur3Token.partitionKeyBytes([[7, 8]]) == [7, 8])
    }
}
