extension Rows: Sequence {
    /// Walks the rows, checking every cell length as it goes.
    ///
    /// The RESULT decoder validates rows when the frame arrives, so a malformed row is not
    /// expected here; if one is met anyway, iteration stops before it and ``error`` says why.
    /// Use ``validate()`` or the throwing ``decode(_:)`` to have that surface as an error.
    public struct Iterator: IteratorProtocol, Sendable {
        let buffer: [UInt8]
        let columns: [ColumnSpec]
        let columnCount: Int
        let end: Int
        var offset: Int
        var remaining: Int
        /// Why iteration stopped early, when a row was malformed.
        public private(set) var error: WireError?

        /// The next row, or nil at the end (or at a malformed row).
        public mutating func next() -> RowView? {
            guard remaining > 0, error == nil else { return nil }
            do throws(WireError) {
                let row = try nextRow()
                return row
            } catch {
                self.error = error
                return nil
            }
        }

        /// The next row, or nil at the end; throws at a malformed row.
        public mutating func nextRow() throws(WireError) -> RowView? {
            guard remaining > 0 else { return nil }
            let start = offset
            if let next = CellWalk.skip(buffer, from: offset, count: columnCount, end: end) {
                offset = next
            } else {
                // Only a malformed row gets here: the checked walk says which cell is wrong.
                for _ in 0..<columnCount { offset = try RowView.cell(in: buffer, at: offset, end: end).next }
            }
            remaining -= 1
            return RowView(unchecked: buffer, columns: columns, count: columnCount, range: start..<offset)
        }
    }

    /// An iterator from the first row.
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
