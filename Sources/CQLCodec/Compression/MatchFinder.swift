/// The match search shared by the LZ4 and Snappy compressors: a single hash table of the
/// last position where each 4-byte sequence was seen, greedy, in the style of LZ4's fast mode.
///
/// Every function takes a raw buffer and indexes it only where the caller has proven the
/// index in bounds; the buffer subscripts still check in debug builds.
enum MatchFinder {
    /// The shortest match either format can encode.
    static let minMatch = 4
    /// Both formats use 16-bit offsets here (Snappy could reach further, LZ4 cannot).
    static let maxOffset = 65_535
    /// After this many misses in a row the search step grows by one, so incompressible
    /// input is skipped over quickly instead of hashed byte by byte.
    static let skipTrigger = 6

    /// A table size that fits the input: small frames don't pay to clear the whole table,
    /// and 4096 entries of 4 bytes stay in the L1 cache, which matters more than a better ratio.
    static func hashLog(forInputCount count: Int) -> Int {
        min(12, max(8, Int.bitWidth - count.leadingZeroBitCount))
    }

    /// The earlier position a hash-table entry stands for, or -1 when it is out of reach.
    ///
    /// Entries hold positions modulo 2^32 (half the cache footprint of `Int`); a stale entry
    /// that aliases an in-range distance is harmless because callers compare the bytes
    /// before they use a candidate.
    @inline(__always)
    static func candidate(at position: Int, stored: UInt32) -> Int {
        let distance = UInt32(truncatingIfNeeded: position) &- stored
        guard distance != 0, distance <= UInt32(maxOffset), Int(distance) <= position else { return -1 }
        return position - Int(distance)
    }

    /// Reads four bytes at `index`; the caller guarantees `index + 4 <= buffer.count`.
    @inline(__always)
    static func read32(_ buffer: UnsafeRawBufferPointer, _ index: Int) -> UInt32 {
        buffer.loadUnaligned(fromByteOffset: index, as: UInt32.self)
    }

    /// Multiplicative (Fibonacci) hashing of a 4-byte sequence into `hashLog` bits.
    @inline(__always)
    static func hash(_ sequence: UInt32, hashLog: Int) -> Int {
        Int((sequence &* 2_654_435_761) >> UInt32(32 - hashLog))
    }

    /// Searches forward from `start` for a 4-byte match, stepping further after every miss (the
    /// skip heuristic both compressors share), then extends it backwards while the bytes before it
    /// match too, never before `anchor`. Nil once the search passes `lastMatchStart`.
    @inline(__always)
    static func nextMatch(
        _ source: UnsafeRawBufferPointer, table: UnsafeMutableBufferPointer<UInt32>, hashLog: Int,
        from start: Int, lastMatchStart: Int, anchor: Int
    ) -> (position: Int, candidate: Int)? {
        var attempts = 1 << skipTrigger
        var next = start
        var position = start
        var candidate = -1
        repeat {
            position = next
            next = position + (attempts >> skipTrigger)
            attempts += 1
            if position > lastMatchStart { return nil }
            let sequence = read32(source, position)
            let slot = hash(sequence, hashLog: hashLog)
            candidate = self.candidate(at: position, stored: table[slot])
            table[slot] = UInt32(truncatingIfNeeded: position)
            if candidate >= 0, read32(source, candidate) == sequence { break }
        } while true
        while position > anchor, candidate > 0, source[position - 1] == source[candidate - 1] {
            position -= 1
            candidate -= 1
        }
        return (position, candidate)
    }

    /// How many bytes starting at `current` equal those starting at the earlier `candidate`,
    /// comparing no byte at or past `limit` on the `current` side.
    @inline(__always)
    static func matchLength(
        _ buffer: UnsafeRawBufferPointer, current: Int, candidate: Int, limit: Int
    ) -> Int {
        var length = 0
        while current + length + 8 <= limit {
            let a = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: current + length, as: UInt64.self))
            let b = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: candidate + length, as: UInt64.self))
            let difference = a ^ b
            if difference != 0 { return length + difference.trailingZeroBitCount / 8 }
            length += 8
        }
        while current + length < limit, buffer[current + length] == buffer[candidate + length] {
            length += 1
        }
        return length
    }

    /// Copies `count` bytes within `buffer` from `source` to `destination` (which lies
    /// after it), the way both formats define a back-reference: when the regions overlap
    /// the copy repeats the last `destination - source` bytes.
    @inline(__always)
    static func copyMatch(
        _ buffer: UnsafeMutableRawBufferPointer, source: Int, destination: Int, count: Int
    ) {
        var written = 0
        let period = destination - source
        if period < 16 {
            // Short periods: bytes one by one up to a whole number of periods of at least 16
            // bytes are cheaper than a string of tiny memmoves.
            let head = min(count, period * ((16 + period - 1) / period))
            while written < head {
                buffer[destination + written] = buffer[source + written]
                written += 1
            }
        }
        // From a whole number of periods on, the distance from `source` doubles with every
        // chunk, so a long run fills in log steps.
        while written < count {
            let chunk = min(count - written, destination + written - source)
            UnsafeMutableRawBufferPointer(rebasing: buffer[(destination + written)..<(destination + written + chunk)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[source..<(source + chunk)]))
            written += chunk
        }
    }

    /// Copies `count` bytes from `source` at `from` into `destination` at `to`.
    @inline(__always)
    static func copyBytes(
        _ source: UnsafeRawBufferPointer, from: Int,
        into destination: UnsafeMutableRawBufferPointer, at to: Int, count: Int
    ) {
        guard count > 0 else { return }
        UnsafeMutableRawBufferPointer(rebasing: destination[to..<(to + count)])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[from..<(from + count)]))
    }

    /// Copies 16 bytes from `source` at `from` to `destination` at `to` as two words.
    ///
    /// Decoders use it for the many short literal runs and matches: the caller checks that
    /// 16 bytes fit on both sides, and the bytes past the run's end are overwritten later
    /// (or the whole output is discarded on error).
    @inline(__always)
    static func copy16(
        _ source: UnsafeRawBufferPointer, from: Int, into destination: UnsafeMutableRawBufferPointer, at to: Int
    ) {
        destination.storeBytes(of: source.loadUnaligned(fromByteOffset: from, as: UInt64.self), toByteOffset: to, as: UInt64.self)
        destination.storeBytes(of: source.loadUnaligned(fromByteOffset: from + 8, as: UInt64.self), toByteOffset: to + 8, as: UInt64.self)
    }

    /// Copies a match of at most 16 bytes from at least 8 bytes back as two words; the
    /// second word may read bytes the first just wrote, which is what an overlapping
    /// back-reference means. The caller checks that 16 bytes fit after `destination`.
    @inline(__always)
    static func copyShortMatch(_ buffer: UnsafeMutableRawBufferPointer, source: Int, destination: Int) {
        buffer.storeBytes(of: buffer.loadUnaligned(fromByteOffset: source, as: UInt64.self), toByteOffset: destination, as: UInt64.self)
        buffer.storeBytes(of: buffer.loadUnaligned(fromByteOffset: source + 8, as: UInt64.self), toByteOffset: destination + 8, as: UInt64.self)
    }
}
