extension Rows: Sequence {
    /// Walks the rows, checking every cell length as it goes.
    ///
    /// The RESULT decoder validates rows when the frame arrives, so a malformed row is not
    /// expected here; if one is met anyway, iteration stops before it and ``error`` says why.
    /// Use ``validate()`` or the throwing ``decode(_:)`` to have that surface as an error.
    ///
    /// Inlinable, so a caller's `for row in rows` loop walks each row's cells in place.
    public struct Iterator: IteratorProtocol, Sendable {
        @usableFromInline let buffer: [UInt8]
        @usableFromInline let columns: [ColumnSpec]
        @usableFromInline let columnCount: Int
        @usableFromInline let end: Int
        @usableFromInline var offset: Int
        @usableFromInline var remaining: Int
        /// Why iteration stopped early, when a row was malformed.
        public private(set) var error: WireError?

        @usableFromInline
        init(buffer: [UInt8], columns: [ColumnSpec], columnCount: Int, end: Int, offset: Int, remaining: Int) {
            self.buffer = buffer
            self.columns = columns
            self.columnCount = columnCount
            self.end = end
            self.offset = offset
            self.remaining = remaining
            self.error = nil
        }

        /// The next row, or nil at the end (or at a malformed row).
        @inlinable @inline(__always)
        public mutating func next() -> RowView? {
            guard remaining > 0, error == nil else { return nil }
            do throws(WireError) {
                let row = try nextRow()
                return row
            } catch {
                stop(error)
                return nil
            }
        }

        /// Records why iteration stopped.
        @usableFromInline
        mutating func stop(_ error: WireError) {
            self.error = error
        }

        /// The next row, or nil at the end; throws at a malformed row.
        @inlinable @inline(__always)
        public mutating func nextRow() throws(WireError) -> RowView? {
            guard remaining > 0 else { return nil }
            let start = offset
            if let next = CellWalk.skip(buffer, from: offset, count: columnCount, end: end) {
                offset = next
            } else {
                try throwMalformedRow()
            }
            remaining -= 1
            // CellWalk.skip proved the row's columnCount cells lie within start..<offset.
            return RowView(unchecked: buffer, columns: columns, count: columnCount, range: start..<offset)
        }

        /// Only a malformed row gets here: the checked walk says which cell is wrong.
        @usableFromInline
        func throwMalformedRow() throws(WireError) {
            var at = offset
            for _ in 0..<columnCount { at = try RowView.cell(in: buffer, at: at, end: end).next }
            // CellWalk.skip and the checked walk agree on every layout, so this is not reached.
            throw .invalidValue(what: "row", detail: "malformed cells at offset \(offset)")
        }
    }

    /// An iterator from the first row.
    @inlinable
    public func makeIterator() -> Iterator {
        let lower = Swift.min(Swift.max(contentRange.lowerBound, 0), buffer.count)
        let upper = Swift.min(Swift.max(contentRange.upperBound, lower), buffer.count)
        return Iterator(buffer: buffer, columns: metadata.columns, columnCount: Swift.max(metadata.columnCount, 0),
                        end: upper, offset: lower, remaining: Swift.max(rowCount, 0))
    }

    /// A capacity for collecting the rows: at most ``rowCount``, bounded by what the bytes can hold.
    ///
    /// Not `underestimatedCount`: `Array(rows)` traps when a sequence yields fewer elements
    /// than that promises, and iteration stops early at a malformed row.
    var capacityHint: Int {
        let cellsPerRow = Swift.max(metadata.columnCount, 0)
        guard cellsPerRow > 0 else { return 0 }
        return Swift.min(Swift.max(rowCount, 0), contentRange.count / (4 * cellsPerRow))
    }

    /// Every row as a view, throwing at the first malformed one.
    public func rowViews() throws(WireError) -> [RowView] {
        var iterator = makeIterator()
        var views: [RowView] = []
        views.reserveCapacity(capacityHint)
        while let row = try iterator.nextRow() { views.append(row) }
        return views
    }

    /// Throws unless `rowCount` rows of `columnCount` cells exactly fill the content.
    public func validate() throws(WireError) {
        guard contentRange.lowerBound >= 0, contentRange.upperBound <= buffer.count else {
            throw .truncated(what: "rows content", needed: contentRange.count, available: Swift.max(0, buffer.count - Swift.max(0, contentRange.lowerBound)))
        }
        guard rowCount >= 0 else { throw .negativeLength(what: "rows_count", length: rowCount) }
        var iterator = makeIterator()
        while try iterator.nextRow() != nil {}
        try ByteReader(buffer, range: iterator.offset..<contentRange.upperBound).expectEnd("rows content")
    }

    /// The first row, if any (nil too when it is malformed).
    public var first: RowView? {
        var iterator = makeIterator()
        return iterator.next()
    }
}
