import CQLCodec

/// The node's opaque `paging_state`: where the next page starts and how much of the LIMIT is left.
///
/// Self-contained (no server-side cursor), so a page can be resumed on any connection, and checked on the
/// way in: a damaged or foreign state is refused as a protocol error, as Cassandra does.
struct PagingState: Hashable, Sendable {
    /// The storage position of the last row returned.
    var position: ReadPosition
    /// Rows still allowed by the statement's LIMIT, or nil without one.
    var remaining: Int?

    private static let magic: [UInt8] = [0x43, 0x4E, 0x01]

    /// The bytes sent to the client.
    func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 32 + position.partitionKey.count)
        writer.writeRaw(Self.magic[...])
        writer.writeBytes(position.partitionKey)
        if let clustering = position.clustering {
            writer.writeInt32(Int32(clamping: clustering.count))
            for value in clustering { writer.writeBytes(value) }
        } else {
            writer.writeInt32(-1)
        }
        writer.writeInt32(Int32(clamping: position.rowsInPartition))
        writer.writeInt32(remaining.map { Int32(clamping: $0) } ?? -1)
        return writer.bytes
    }

    /// Reads a state a client sent back.
    init(decoding bytes: [UInt8]) throws(ServerError) {
        let invalid = ServerError.protocolViolation("Invalid value for the paging state")
        guard bytes.count >= Self.magic.count, Array(bytes.prefix(Self.magic.count)) == Self.magic else { throw invalid }
        var reader = ByteReader(Array(bytes.dropFirst(Self.magic.count)))
        do {
            guard let key = try reader.readBytes("paging state key") else { throw invalid }
            let count = Int(try reader.readInt32("paging state clustering"))
            var clustering: [[UInt8]]?
            if count >= 0 {
                guard count <= reader.remaining else { throw invalid }
                var values: [[UInt8]] = []
                for _ in 0..<count {
                    guard let value = try reader.readBytes("paging state clustering value") else { throw invalid }
                    values.append(value)
                }
                clustering = values
            } else if count != -1 {
                throw invalid
            }
            let rows = Int(try reader.readInt32("paging state rows"))
            let remaining = Int(try reader.readInt32("paging state remaining"))
            guard rows >= 0, remaining >= -1, reader.remaining == 0 else { throw invalid }
            position = ReadPosition(partitionKey: key, clustering: clustering, rowsInPartition: rows)
            self.remaining = remaining >= 0 ? remaining : nil
        } catch {
            throw invalid
        }
    }

    /// A state to resume after `position`.
    init(position: ReadPosition, remaining: Int?) {
        self.position = position
        self.remaining = remaining
    }
}
