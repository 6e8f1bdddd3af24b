/// The LZ4 block format (lz4/lz4 `doc/lz4_Block_format.md`), which Cassandra uses for frame
/// bodies in protocol v4 and for segments in v5.
///
/// A block carries no length of its own: the caller knows the uncompressed length (the v4
/// body prefix, the v5 segment header) and the decoder produces exactly that many bytes.
package enum LZ4 {
    /// The last match must start at least this many bytes before the end of the block
    /// (the format's `MFLIMIT`): reference decoders copy in wide words and rely on it.
    static let matchFindLimit = 12
    /// The last bytes of a block are always literals (the format's `LASTLITERALS`).
    static let lastLiterals = 5
    /// No input byte decodes to more than 255 bytes (the densest encoding is a run of
    /// 255-valued length bytes), so a larger declared length is a lie, refused before allocating.
    static let maxExpansion = 255

    /// The largest block ``compressBlock(_:)`` produces for `count` input bytes.
    package static func maxCompressedLength(_ count: Int) -> Int {
        count + count / 255 + 16
    }

    /// Compresses `input` into one LZ4 block (no length prefix).
    package static func compressBlock(_ input: [UInt8]) -> [UInt8] {
        let capacity = maxCompressedLength(input.count)
        return input.withUnsafeBytes { source in
            [UInt8](unsafeUninitializedCapacity: capacity) { output, written in
                written = compress(source, into: UnsafeMutableRawBufferPointer(output))
            }
        }
    }

    /// Decompresses one LZ4 block that must decode to exactly `uncompressedLength` bytes.
    package static func decompressBlock(_ block: [UInt8], uncompressedLength: Int) throws(WireError) -> [UInt8] {
        // `withUnsafeBytes` only rethrows untyped errors, so the typed one travels in a Result.
        try block.withUnsafeBytes { source in
            Result { () throws(WireError) in try decompressBlock(source, uncompressedLength: uncompressedLength) }
        }.get()
    }

    /// Decompresses a block held in `source`; lets callers skip a prefix without copying.
    static func decompressBlock(_ source: UnsafeRawBufferPointer, uncompressedLength: Int) throws(WireError) -> [UInt8] {
        guard uncompressedLength >= 0 else {
            throw .compression(algorithm: "lz4", detail: "negative uncompressed length \(uncompressedLength)")
        }
        let (bound, overflow) = source.count.multipliedReportingOverflow(by: maxExpansion)
        guard overflow || uncompressedLength <= bound else {
            throw .compression(
                algorithm: "lz4",
                detail: "\(source.count) bytes cannot decode to the declared \(uncompressedLength) bytes")
        }
        var failure: String?
        let output = [UInt8](unsafeUninitializedCapacity: uncompressedLength) { output, written in
            failure = decompress(source, into: UnsafeMutableRawBufferPointer(output))
            // UInt8 needs no deinitialisation, so a failed decode may leave bytes unset;
            // claiming them all only when the decode succeeded keeps the array honest.
            written = failure == nil ? uncompressedLength : 0
        }
        if let failure { throw .compression(algorithm: "lz4", detail: failure) }
        return output
    }

    // MARK: Compression

    /// Writes the block for `source` into `output` (at least `maxCompressedLength` bytes)
    /// and returns its length.
    static func compress(_ source: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        let count = source.count
        var out = 0
        var anchor = 0
        if count > matchFindLimit {
            let hashLog = MatchFinder.hashLog(forInputCount: count)
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 1 << hashLog) { table in
                table.initialize(repeating: 0)
                findSequences(source, table: table, hashLog: hashLog, output: output, out: &out, anchor: &anchor)
            }
        }
        writeSequence(source, literalStart: anchor, literalCount: count - anchor, offset: 0, matchLength: 0,
                      into: output, at: &out)
        return out
    }

    /// Emits every sequence that ends in a match; leaves `anchor` at the first byte of the
    /// final literal run.
    private static func findSequences(
        _ source: UnsafeRawBufferPointer, table: UnsafeMutableBufferPointer<UInt32>, hashLog: Int,
        output: UnsafeMutableRawBufferPointer, out: inout Int, anchor: inout Int
    ) {
        let count = source.count
        let lastMatchStart = count - matchFindLimit
        let matchEnd = count - lastLiterals
        table[MatchFinder.hash(MatchFinder.read32(source, 0), hashLog: hashLog)] = 0
        var position = 1
        while true {
            guard let (start, candidate) = MatchFinder.nextMatch(
                source, table: table, hashLog: hashLog, from: position, lastMatchStart: lastMatchStart, anchor: anchor)
            else { return }
            position = start
            let length = MatchFinder.minMatch + MatchFinder.matchLength(
                source, current: position + MatchFinder.minMatch,
                candidate: candidate + MatchFinder.minMatch, limit: matchEnd)
            writeSequence(source, literalStart: anchor, literalCount: position - anchor,
                          offset: position - candidate, matchLength: length, into: output, at: &out)
            position += length
            anchor = position
            if position > lastMatchStart { return }
            // Seed the table inside the match so the next search can find what follows it.
            table[MatchFinder.hash(MatchFinder.read32(source, position - 2), hashLog: hashLog)] = UInt32(truncatingIfNeeded: position - 2)
        }
    }

    /// Writes one sequence: token, literal length, literals and, unless `matchLength` is 0
    /// (the final sequence), the offset and match length.
    @inline(__always)
    private static func writeSequence(
        _ source: UnsafeRawBufferPointer, literalStart: Int, literalCount: Int, offset: Int, matchLength: Int,
        into output: UnsafeMutableRawBufferPointer, at out: inout Int
    ) {
        let tokenIndex = out
        out += 1
        var token: UInt8
        if literalCount >= 15 {
            token = 0xF0
            writeLengthExtension(literalCount - 15, into: output, at: &out)
        } else {
            token = UInt8(literalCount) << 4
        }
        MatchFinder.copyBytes(source, from: literalStart, into: output, at: out, count: literalCount)
        out += literalCount
        if matchLength > 0 {
            output[out] = UInt8(truncatingIfNeeded: offset)
            output[out + 1] = UInt8(truncatingIfNeeded: offset >> 8)
            out += 2
            let extra = matchLength - MatchFinder.minMatch
            if extra >= 15 {
                token |= 0x0F
                writeLengthExtension(extra - 15, into: output, at: &out)
            } else {
                token |= UInt8(extra)
            }
        }
        output[tokenIndex] = token
    }

    @inline(__always)
    private static func writeLengthExtension(_ value: Int, into output: UnsafeMutableRawBufferPointer, at out: inout Int) {
        var remaining = value
        while remaining >= 255 {
            output[out] = 255
            out += 1
            remaining -= 255
        }
        output[out] = UInt8(remaining)
        out += 1
    }

    // MARK: Decompression

    /// Decodes `source` into all of `output`; returns why it failed, or nil.
    static func decompress(_ source: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> String? {
        let inputEnd = source.count
        let outputEnd = output.count
        var position = 0
        var out = 0
        if inputEnd == 0 {
            // Encoders write a lone zero token for empty input; an empty block is accepted
            // only where it means the same.
            return outputEnd == 0 ? nil : "empty block for \(outputEnd) declared bytes"
        }
        while true {
            guard position < inputEnd else {
                return "block ends after a match at byte \(position) without its final literals"
            }
            let token = source[position]
            position += 1

            var literalCount = Int(token >> 4)
            if literalCount == 15 {
                guard readLengthExtension(source, at: &position, into: &literalCount, limit: outputEnd - out) else {
                    return "literal length at byte \(position) runs past the input or the declared length"
                }
            }
            if literalCount <= 16, inputEnd - position >= 16, outputEnd - out >= 16 {
                MatchFinder.copy16(source, from: position, into: output, at: out)
            } else {
                guard literalCount <= inputEnd - position else {
                    return "\(literalCount) literals at byte \(position) run past the end of the block"
                }
                guard literalCount <= outputEnd - out else {
                    return "\(literalCount) literals at byte \(position) overflow the declared length \(outputEnd)"
                }
                MatchFinder.copyBytes(source, from: position, into: output, at: out, count: literalCount)
            }
            position += literalCount
            out += literalCount
            if position == inputEnd { break }

            guard inputEnd - position >= 2 else { return "match offset truncated at byte \(position)" }
            let offset = Int(source[position]) | Int(source[position + 1]) << 8
            position += 2
            guard offset != 0 else { return "zero match offset at byte \(position - 2)" }
            guard offset <= out else {
                return "match offset \(offset) at byte \(position - 2) points before the start of the output"
            }
            var matchLength = Int(token & 0x0F)
            if matchLength == 15 {
                guard readLengthExtension(source, at: &position, into: &matchLength, limit: outputEnd - out) else {
                    return "match length at byte \(position) runs past the input or the declared length"
                }
            }
            matchLength += MatchFinder.minMatch
            guard matchLength <= outputEnd - out else {
                return "match of \(matchLength) bytes at output byte \(out) overflows the declared length \(outputEnd)"
            }
            if matchLength <= 16, offset >= 8, outputEnd - out >= 16 {
                MatchFinder.copyShortMatch(output, source: out - offset, destination: out)
            } else {
                MatchFinder.copyMatch(output, source: out - offset, destination: out, count: matchLength)
            }
            out += matchLength
        }
        guard out == outputEnd else {
            return "block decodes to \(out) bytes, \(outputEnd) declared"
        }
        return nil
    }

    /// Adds the 255-continued length bytes at `position` to `length`; false when the input
    /// ends first or the length passes `limit` (which also keeps the sum from overflowing).
    @inline(__always)
    private static func readLengthExtension(
        _ source: UnsafeRawBufferPointer, at position: inout Int, into length: inout Int, limit: Int
    ) -> Bool {
        while true {
            guard position < source.count else { return false }
            let byte = source[position]
            position += 1
            length += Int(byte)
            if length > limit { return false }
            if byte != 255 { return true }
        }
    }
}
