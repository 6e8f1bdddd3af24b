/// The raw Snappy block format (google/snappy `format_description.txt`): a varint of the
/// uncompressed length, then literal and copy elements. Not the Snappy framing format.
///
/// This is what Cassandra's `SnappyCompressor` puts in a protocol v4 frame body.
package enum Snappy {
    /// A 3-byte copy element yields at most 64 bytes, the densest any element gets; a
    /// declared length above that ratio is a lie, refused before allocating.
    static let maxExpansion = 22
    /// Literal runs are written in chunks of this size so every length fits the
    /// 2-byte literal header.
    static let maxLiteralChunk = 65_536

    /// The largest stream ``compress(_:)`` produces for `count` input bytes.
    package static func maxCompressedLength(_ count: Int) -> Int {
        32 + count + count / 6
    }

    /// Compresses `input` into one raw Snappy stream.
    package static func compress(_ input: [UInt8]) -> [UInt8] {
        let capacity = maxCompressedLength(input.count)
        return input.withUnsafeBytes { source in
            [UInt8](unsafeUninitializedCapacity: capacity) { output, written in
                written = compress(source, into: UnsafeMutableRawBufferPointer(output))
            }
        }
    }

    /// Decompresses one raw Snappy stream, refusing one that declares more than `maxLength` bytes.
    package static func decompress(_ input: [UInt8], maxLength: Int) throws(WireError) -> [UInt8] {
        // `withUnsafeBytes` only rethrows untyped errors, so the typed one travels in a Result.
        try input.withUnsafeBytes { source in
            Result { () throws(WireError) in try decompress(source, maxLength: maxLength) }
        }.get()
    }

    /// Reads the uncompressed length at the start of a stream without decoding the rest.
    package static func uncompressedLength(_ input: [UInt8]) throws(WireError) -> Int {
        try input.withUnsafeBytes { source in
            var position = 0
            return Result { () throws(WireError) in try readPreamble(source, at: &position) }
        }.get()
    }

    static func decompress(_ source: UnsafeRawBufferPointer, maxLength: Int) throws(WireError) -> [UInt8] {
        var position = 0
        let declared = try readPreamble(source, at: &position)
        guard declared <= max(maxLength, 0) else {
            throw .compression(
                algorithm: "snappy",
                detail: "uncompressed length \(declared) exceeds the limit of \(max(maxLength, 0))")
        }
        let elementBytes = source.count - position
        let (bound, overflow) = elementBytes.multipliedReportingOverflow(by: maxExpansion)
        guard overflow || declared <= bound else {
            throw .compression(
                algorithm: "snappy",
                detail: "\(elementBytes) bytes cannot decode to the declared \(declared) bytes")
        }
        var failure: String?
        let output = [UInt8](unsafeUninitializedCapacity: declared) { output, written in
            failure = decodeElements(
                UnsafeRawBufferPointer(rebasing: source[position...]), into: UnsafeMutableRawBufferPointer(output))
            // UInt8 needs no deinitialisation; claim the bytes only when all were written.
            written = failure == nil ? declared : 0
        }
        if let failure { throw .compression(algorithm: "snappy", detail: failure) }
        return output
    }

    /// Reads the little-endian base-128 varint that opens a stream; Snappy limits it to 32 bits.
    private static func readPreamble(_ source: UnsafeRawBufferPointer, at position: inout Int) throws(WireError) -> Int {
        var value = 0
        var shift = 0
        while true {
            guard position < source.count else {
                throw .compression(algorithm: "snappy", detail: "truncated uncompressed length")
            }
            let byte = source[position]
            position += 1
            value |= Int(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
            guard shift < 32 else {
                throw .compression(algorithm: "snappy", detail: "uncompressed length varint longer than 5 bytes")
            }
        }
        guard value <= Int(UInt32.max) else {
            throw .compression(algorithm: "snappy", detail: "uncompressed length \(value) exceeds 32 bits")
        }
        return value
    }

    // MARK: Compression

    /// Writes the stream for `source` into `output` (at least `maxCompressedLength` bytes)
    /// and returns its length.
    static func compress(_ source: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        let count = source.count
        var out = 0
        var length = UInt64(count)
        while length >= 0x80 {
            output[out] = UInt8(truncatingIfNeeded: length) | 0x80
            out += 1
            length >>= 7
        }
        output[out] = UInt8(length)
        out += 1

        var anchor = 0
        // Below this a match search costs more than it can save.
        if count >= 16 {
            let hashLog = MatchFinder.hashLog(forInputCount: count)
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 1 << hashLog) { table in
                table.initialize(repeating: 0)
                findElements(source, table: table, hashLog: hashLog, output: output, out: &out, anchor: &anchor)
            }
        }
        writeLiterals(source, from: anchor, count: count - anchor, into: output, at: &out)
        return out
    }

    /// Emits literals and copies up to the last match; leaves `anchor` at the first byte
    /// not yet written.
    private static func findElements(
        _ source: UnsafeRawBufferPointer, table: UnsafeMutableBufferPointer<UInt32>, hashLog: Int,
        output: UnsafeMutableRawBufferPointer, out: inout Int, anchor: inout Int
    ) {
        let count = source.count
        let lastMatchStart = count - MatchFinder.minMatch
        var position = 0
        while true {
            guard let (start, candidate) = MatchFinder.nextMatch(
                source, table: table, hashLog: hashLog, from: position, lastMatchStart: lastMatchStart, anchor: anchor)
            else { return }
            position = start
            let length = MatchFinder.minMatch + MatchFinder.matchLength(
                source, current: position + MatchFinder.minMatch,
                candidate: candidate + MatchFinder.minMatch, limit: count)
            writeLiterals(source, from: anchor, count: position - anchor, into: output, at: &out)
            writeCopy(offset: position - candidate, length: length, into: output, at: &out)
            position += length
            anchor = position
            if position > lastMatchStart { return }
            table[MatchFinder.hash(MatchFinder.read32(source, position - 1), hashLog: hashLog)] = UInt32(truncatingIfNeeded: position - 1)
        }
    }

    private static func writeLiterals(
        _ source: UnsafeRawBufferPointer, from start: Int, count: Int,
        into output: UnsafeMutableRawBufferPointer, at out: inout Int
    ) {
        var written = 0
        while written < count {
            let chunk = min(count - written, maxLiteralChunk)
            let stored = chunk - 1
            if stored < 60 {
                output[out] = UInt8(stored) << 2
                out += 1
            } else if stored < 256 {
                output[out] = 60 << 2
                output[out + 1] = UInt8(stored)
                out += 2
            } else {
                output[out] = 61 << 2
                output[out + 1] = UInt8(truncatingIfNeeded: stored)
                output[out + 2] = UInt8(truncatingIfNeeded: stored >> 8)
                out += 3
            }
            MatchFinder.copyBytes(source, from: start + written, into: output, at: out, count: chunk)
            out += chunk
            written += chunk
        }
    }

    /// Writes a copy as elements of at most 64 bytes, never leaving a remainder under 4.
    private static func writeCopy(offset: Int, length: Int, into output: UnsafeMutableRawBufferPointer, at out: inout Int) {
        var remaining = length
        while remaining >= 68 {
            writeCopy2(offset: offset, length: 64, into: output, at: &out)
            remaining -= 64
        }
        if remaining > 64 {
            writeCopy2(offset: offset, length: 60, into: output, at: &out)
            remaining -= 60
        }
        if remaining < 12, offset < 2048 {
            output[out] = 0x01 | UInt8(remaining - 4) << 2 | UInt8(offset >> 8) << 5
            output[out + 1] = UInt8(truncatingIfNeeded: offset)
            out += 2
        } else {
            writeCopy2(offset: offset, length: remaining, into: output, at: &out)
        }
    }

    @inline(__always)
    private static func writeCopy2(offset: Int, length: Int, into output: UnsafeMutableRawBufferPointer, at out: inout Int) {
        output[out] = 0x02 | UInt8(length - 1) << 2
        output[out + 1] = UInt8(truncatingIfNeeded: offset)
        output[out + 2] = UInt8(truncatingIfNeeded: offset >> 8)
        out += 3
    }

    // MARK: Decompression

    /// Decodes the elements in `source` into all of `output`; returns why it failed, or nil.
    static func decodeElements(_ source: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> String? {
        let inputEnd = source.count
        let outputEnd = output.count
        var position = 0
        var out = 0
        while position < inputEnd {
            let tag = source[position]
            position += 1
            let length: Int
            let offset: Int
            switch tag & 0x03 {
            case 0x00:
                var literalCount = Int(tag >> 2)
                if literalCount >= 60 {
                    let lengthBytes = literalCount - 59
                    guard inputEnd - position >= lengthBytes else {
                        return "literal length truncated at byte \(position)"
                    }
                    literalCount = 0
                    for index in 0..<lengthBytes {
                        literalCount |= Int(source[position + index]) << (8 * index)
                    }
                    position += lengthBytes
                }
                literalCount += 1
                if literalCount <= 16, inputEnd - position >= 16, outputEnd - out >= 16 {
                    MatchFinder.copy16(source, from: position, into: output, at: out)
                } else {
                    guard literalCount <= inputEnd - position else {
                        return "\(literalCount) literals at byte \(position) run past the end of the stream"
                    }
                    guard literalCount <= outputEnd - out else {
                        return "\(literalCount) literals at byte \(position) overflow the declared length \(outputEnd)"
                    }
                    MatchFinder.copyBytes(source, from: position, into: output, at: out, count: literalCount)
                }
                position += literalCount
                out += literalCount
                continue
            case 0x01:
                guard position < inputEnd else { return "copy offset truncated at byte \(position)" }
                length = 4 + Int((tag >> 2) & 0x07)
                offset = Int(tag >> 5) << 8 | Int(source[position])
                position += 1
            case 0x02:
                guard inputEnd - position >= 2 else { return "copy offset truncated at byte \(position)" }
                length = 1 + Int(tag >> 2)
                offset = Int(source[position]) | Int(source[position + 1]) << 8
                position += 2
            default:
                guard inputEnd - position >= 4 else { return "copy offset truncated at byte \(position)" }
                length = 1 + Int(tag >> 2)
                offset = Int(source[position]) | Int(source[position + 1]) << 8
                    | Int(source[position + 2]) << 16 | Int(source[position + 3]) << 24
                position += 4
            }
            guard offset != 0 else { return "zero copy offset before byte \(position)" }
            guard offset <= out else {
                return "copy offset \(offset) before byte \(position) points before the start of the output"
            }
            guard length <= outputEnd - out else {
                return "copy of \(length) bytes at output byte \(out) overflows the declared length \(outputEnd)"
            }
            if length <= 16, offset >= 8, outputEnd - out >= 16 {
                MatchFinder.copyShortMatch(output, source: out - offset, destination: out)
            } else {
                MatchFinder.copyMatch(output, source: out - offset, destination: out, count: length)
            }
            out += length
        }
        guard out == outputEnd else {
            return "stream decodes to \(out) bytes, \(outputEnd) declared"
        }
        return nil
    }
}
