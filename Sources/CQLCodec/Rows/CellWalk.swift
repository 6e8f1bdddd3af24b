/// Tight, allocation-free walks over `[bytes]` cells for the row fast paths.
///
/// Each function proves its own bounds before reading (documented at the read) and reports
/// a cell that does not fit as nil rather than an error: callers then re-run their checked
/// reader, which throws the precise ``WireError``. Reads go through `UnsafeRawBufferPointer`,
/// whose subscripts skip the per-byte bounds checks that `[UInt8]` would repeat.
@usableFromInline
enum CellWalk {
    /// Where `count` consecutive `[bytes]` cells starting at `offset` end, or nil when one does not fit before `end`.
    ///
    /// A negative length is a null cell with no content, as ``RowView`` reads it.
    @inlinable
    static func skip(_ buffer: [UInt8], from offset: Int, count: Int, end: Int) -> Int? {
        guard offset >= 0, offset <= end, end <= buffer.count, count >= 0 else { return nil }
        return buffer.withUnsafeBytes { raw -> Int? in
            var at = offset
            var left = count
            while left > 0 {
                // Invariant: 0 <= at <= end <= raw.count, so the 4 bytes at `at` exist once end - at >= 4,
                // and neither subtraction nor addition below can overflow.
                guard end &- at >= 4 else { return nil }
                let length = Int(Int32(bitPattern: UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self))))
                at &+= 4
                // length <= end - at keeps `at` <= end.
                if length > 0 {
                    guard length <= end &- at else { return nil }
                    at &+= length
                }
                left &-= 1
            }
            return at
        }
    }

    /// The `[bytes]` cell at `offset`: its content range (nil for null) and where the next cell starts,
    /// or nil when it does not fit before `end`.
    @inlinable @inline(__always)
    static func cell(_ buffer: [UInt8], at offset: Int, end: Int) -> (content: Range<Int>?, next: Int)? {
        guard offset >= 0, end <= buffer.count, end - offset >= 4 else { return nil }
        // 0 <= offset and offset + 4 <= end <= buffer.count: the length bytes are inside the buffer.
        let length = buffer.withUnsafeBytes { raw in
            Int(Int32(bitPattern: UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))))
        }
        let start = offset + 4
        if length < 0 { return (nil, start) }
        guard length <= end - start else { return nil }
        return (start..<(start + length), start + length)
    }
}
