/// A frame-body compression negotiated in STARTUP (`COMPRESSION` option).
///
/// Only the body is compressed, never the header; the header's compression flag says
/// whether a given body is (specification section 5).
public enum FrameCompression: String, Sendable, CaseIterable {
    /// LZ4: a 4-byte big-endian uncompressed length, then one LZ4 block.
    case lz4
    /// Snappy: one raw Snappy stream, which carries its own length.
    case snappy

    /// Compresses a frame body in the protocol v4 layout (lz4: 4-byte big-endian uncompressed length, then an LZ4 block; snappy: a raw Snappy block).
    ///
    /// A v4 frame's length is a 32-bit `[int]`, so a body this function is given never
    /// exceeds what the 4-byte prefix can state; a larger one is a programming error.
    public func compress(_ body: [UInt8]) -> [UInt8] {
        switch self {
        case .lz4:
            precondition(body.count <= Int(UInt32.max), "a frame body cannot exceed 4 GiB")
            let length = UInt32(body.count)
            let prefix: [UInt8] = [
                UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
                UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length),
            ]
            let capacity = 4 + LZ4.maxCompressedLength(body.count)
            return body.withUnsafeBytes { source in
                [UInt8](unsafeUninitializedCapacity: capacity) { output, written in
                    let raw = UnsafeMutableRawBufferPointer(output)
                    for index in 0..<4 { raw[index] = prefix[index] }
                    written = 4 + LZ4.compress(source, into: UnsafeMutableRawBufferPointer(rebasing: raw[4...]))
                }
            }
        case .snappy:
            return Snappy.compress(body)
        }
    }

    /// Decompresses a frame body; refuses output over `maxLength` bytes (decompression bombs) and malformed input with WireError.compression(algorithm:detail:)
    ///
    /// An empty body decodes to an empty body: some drivers set the compression flag on
    /// frames whose body is empty without running the compressor.
    public func decompress(_ body: [UInt8], maxLength: Int) throws(WireError) -> [UInt8] {
        if body.isEmpty { return [] }
        switch self {
        case .lz4:
            guard body.count >= 4 else {
                throw .compression(algorithm: rawValue, detail: "body of \(body.count) bytes lacks the 4-byte length")
            }
            let declared = Int(body[0]) << 24 | Int(body[1]) << 16 | Int(body[2]) << 8 | Int(body[3])
            guard declared <= max(maxLength, 0) else {
                throw .compression(
                    algorithm: rawValue,
                    detail: "uncompressed length \(declared) exceeds the limit of \(max(maxLength, 0))")
            }
            // `withUnsafeBytes` only rethrows untyped errors, so the typed one travels in a Result.
            return try body.withUnsafeBytes { source in
                Result { () throws(WireError) in
                    try LZ4.decompressBlock(UnsafeRawBufferPointer(rebasing: source[4...]), uncompressedLength: declared)
                }
            }.get()
        case .snappy:
            return try Snappy.decompress(body, maxLength: maxLength)
        }
    }
}
