/// The rows of a statement across all its pages: the next page is fetched when iteration reaches it.
public struct CQLRowSequence: AsyncSequence, Sendable {
    /// Each row, a view over its page's bytes.
    public typealias Element = RowView

    let session: CQLSession
    let statement: CQLStatement

    /// Iterates page by page.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let session: CQLSession
        let statement: CQLStatement
        var page: [RowView] = []
        var index = 0
        var pagingState: [UInt8]?
        var started = false

        /// The next row, fetching the next page when this one is used up; nil after the last page.
        public mutating func next() async throws -> RowView? {
            while true {
                if index < page.count {
                    defer { index += 1 }
                    return page[index]
                }
                if started && pagingState == nil { return nil }
                let result = try await session.execute(statement.resuming(at: started ? pagingState : statement.pagingState))
                started = true
                page = try result.rows.rowViews()
                index = 0
                pagingState = result.pagingState
            }
        }
    }

    /// An iterator starting at the statement's paging state (the first page when it has none).
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(session: session, statement: statement)
    }
}

/// The rows of a statement across all its pages, each decoded as `T`.
public struct CQLDecodedRowSequence<T: Decodable & Sendable>: AsyncSequence, Sendable {
    /// Each row decoded.
    public typealias Element = T

    let rows: CQLRowSequence

    /// Decodes as it goes.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: CQLRowSequence.AsyncIterator

        /// The next decoded row; nil after the last page.
        public mutating func next() async throws -> T? {
            guard let row = try await base.next() else { return nil }
            return try row.decode(T.self)
        }
    }

    /// An iterator over the decoded rows.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: rows.makeAsyncIterator())
    }
}
