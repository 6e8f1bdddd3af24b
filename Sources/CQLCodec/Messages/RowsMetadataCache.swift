import Foundation

/// The last few result metadata a connection decoded, kept with their bytes.
///
/// Answers to one statement carry the same `<metadata>` bytes each time (an LWT's `[applied]`
/// columns, a SELECT's columns when the node sends them): when the next answer starts with bytes
/// equal to an entry's, the entry's decoded columns are reused instead of decoding every column
/// spec (its strings and types) again. Equal bytes decode to equal metadata, so reuse is exact.
/// Metadata with a paging state (different each page) is never cached.
package struct RowsMetadataCache: Sendable {
    private var entries: [(bytes: [UInt8], metadata: RowsMetadata)] = []
    private var nextVictim = 0

    /// Entries kept: a handful of statements answered on one connection.
    static let capacity = 8
    /// Metadata longer than this is decoded each time (rare, and a long comparison would cost more).
    static let maxCachedLength = 2048

    /// A cache that starts empty.
    package init() {}

    /// The metadata of an entry whose bytes `reader` starts with, the reader moved past them.
    mutating func take(from reader: inout ByteReader) -> RowsMetadata? {
        let available = reader.remaining
        for entry in entries where entry.bytes.count <= available {
            let equal = reader.bytes.withUnsafeBufferPointer { all -> Bool in
                entry.bytes.withUnsafeBufferPointer { cached -> Bool in
                    guard let base = all.baseAddress, let cachedBase = cached.baseAddress else { return cached.isEmpty }
                    return memcmp(base + reader.offset, cachedBase, cached.count) == 0
                }
            }
            if equal, (try? reader.skip(entry.bytes.count)) != nil { return entry.metadata }
        }
        return nil
    }

    /// Remembers `metadata`, decoded from `bytes`, replacing the oldest entry when full.
    mutating func insert(_ bytes: ArraySlice<UInt8>, _ metadata: RowsMetadata) {
        guard metadata.pagingState == nil, !metadata.noMetadata, bytes.count <= Self.maxCachedLength else { return }
        if entries.count < Self.capacity {
            entries.append((Array(bytes), metadata))
        } else {
            entries[nextVictim] = (Array(bytes), metadata)
            nextVictim = (nextVictim + 1) % Self.capacity
        }
    }
}

extension RowsMetadata {
    /// Reads `<metadata>`, reusing the columns `cache` holds for the same bytes.
    init(from reader: inout ByteReader, cache: inout RowsMetadataCache) throws(WireError) {
        if let cached = cache.take(from: &reader) {
            self = cached
            return
        }
        let start = reader.offset
        try self.init(from: &reader)
        cache.insert(reader.bytes[start..<reader.offset], self)
    }
}
