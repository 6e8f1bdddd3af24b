/// Cuts a byte stream into frames, for clients and servers alike.
///
/// Feed it whatever the socket delivered with ``append(_:)-(Sequence<UInt8>)`` and take
/// frames with ``nextFrame()`` until it returns nil. A frame declaring a negative length or
/// one over ``maxBodyLength`` is refused as soon as its header is in, before its body is
/// awaited; after such an error the stream cannot be resynchronised, so the decoder keeps
/// throwing it.
package struct FrameDecoder: Sendable {
    /// The largest body accepted (Cassandra's `native_transport_max_frame_size`, 256 MiB by default).
    package let maxBodyLength: Int

    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var failure: WireError?

    /// A decoder refusing bodies longer than `maxBodyLength` bytes.
    package init(maxBodyLength: Int = 256 * 1024 * 1024) {
        self.maxBodyLength = max(0, maxBodyLength)
    }

    /// How many received bytes are not yet part of a returned frame.
    package var bufferedCount: Int { buffer.count - readIndex }

    /// Adds received bytes.
    package mutating func append(_ bytes: some Sequence<UInt8>) {
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    /// Adds received bytes.
    package mutating func append(_ bytes: [UInt8]) {
        compactIfWorthwhile()
        if buffer.isEmpty {
            // Nothing is pending: share the caller's storage (copy-on-write) instead of copying a whole page.
            buffer = bytes
            readIndex = 0
            return
        }
        buffer.append(contentsOf: bytes)
    }

    /// Adds received bytes straight from a socket buffer.
    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, or nil when more bytes are needed.
    package mutating func nextFrame() throws(WireError) -> Frame? {
        if let failure { throw failure }
        guard buffer.count - readIndex >= FrameHeader.size else { return nil }
        var reader = ByteReader(buffer, range: readIndex..<(readIndex + FrameHeader.size))
        let header = try FrameHeader(decoding: &reader)
        let length = Int(header.length)
        if length < 0 {
            let error = WireError.negativeLength(what: "frame body length", length: length)
            failure = error
            throw error
        }
        if length > maxBodyLength {
            let error = WireError.frameTooLarge(length: length, limit: maxBodyLength)
            failure = error
            throw error
        }
        let bodyStart = readIndex + FrameHeader.size
        guard buffer.count - bodyStart >= length else { return nil }
        let body = Self.copy(buffer, bodyStart..<(bodyStart + length))
        readIndex = bodyStart + length
        if readIndex == buffer.count {
            // A large buffer is let go rather than kept empty: it may be storage shared with the
            // caller's array (see append), whose capacity cannot be kept without a new allocation.
            if buffer.capacity > Self.keptCapacity { buffer = [] } else { buffer.removeAll(keepingCapacity: true) }
            readIndex = 0
        }
        return Frame(header: header, body: body)
    }

    /// The largest empty buffer kept for the next frames.
    private static let keptCapacity = 64 * 1024

    /// `bytes[range]` as a new array, copied with one `memcpy` (a large page must not go byte by byte).
    private static func copy(_ bytes: [UInt8], _ range: Range<Int>) -> [UInt8] {
        // Callers pass a range they checked lies inside `bytes`.
        guard range.lowerBound >= 0, range.upperBound <= bytes.count, !range.isEmpty else { return [] }
        return bytes.withUnsafeBytes { raw in
            let source = UnsafeRawBufferPointer(rebasing: raw[range])
            return [UInt8](unsafeUninitializedCapacity: source.count) { target, initialized in
                UnsafeMutableRawBufferPointer(target).copyMemory(from: source)
                initialized = source.count
            }
        }
    }

    /// Drops consumed bytes once they outweigh the unread ones, so each byte moves O(1) times.
    private mutating func compactIfWorthwhile() {
        guard readIndex > 0, readIndex >= 4096, readIndex >= buffer.count - readIndex else { return }
        buffer.removeSubrange(0..<readIndex)
        readIndex = 0
    }
}
