import Foundation
import NIOConcurrencyHelpers

/// The node's clock: write timestamps in microseconds, strictly increasing per node (so two writes the
/// node orders never tie), expiry seconds, and version 1 UUIDs for `now()`.
final class NodeClock: Sendable {
    private struct State {
        var lastMicros: Int64 = .min
        var lastUUIDTicks: Int64 = .min
    }

    private let source: @Sendable () -> Int64
    private let state = NIOLockedValueBox(State())
    private let node: [UInt8]
    private let clockSequence: UInt16

    /// A clock reading `source` (microseconds since the epoch); the system clock by default.
    init(source: (@Sendable () -> Int64)? = nil) {
        self.source = source ?? { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded(.down)) }
        var generator = SystemRandomNumberGenerator()
        // The multicast bit marks a node id that is not a MAC address (RFC 4122, 4.5).
        var node = (0..<6).map { _ in UInt8.random(in: 0...255, using: &generator) }
        node[0] |= 0x01
        self.node = node
        self.clockSequence = UInt16.random(in: 0...0x3FFF, using: &generator)
    }

    /// The current time in microseconds, as read (not made unique).
    var nowMicros: Int64 { source() }

    /// The current time in seconds, for TTL expiry and tombstone times.
    var nowSeconds: Int32 { Int32(clamping: source() / 1_000_000) }

    /// A write timestamp later than every one this clock handed out before.
    func nextTimestamp() -> Int64 {
        let now = source()
        return state.withLockedValue { state in
            let next = now > state.lastMicros ? now : state.lastMicros &+ 1
            state.lastMicros = next
            return next
        }
    }

    /// 100 ns intervals between the Gregorian calendar's start (1582-10-15) and the Unix epoch.
    static let gregorianOffset: Int64 = 0x01B2_1DD2_1381_4000

    /// A new version 1 (time-based) UUID, unique on this node, for `now()`.
    func timeUUID() -> UUID {
        let nowTicks = source() &* 10 &+ Self.gregorianOffset
        let ticks = state.withLockedValue { state in
            let next = nowTicks > state.lastUUIDTicks ? nowTicks : state.lastUUIDTicks &+ 1
            state.lastUUIDTicks = next
            return next
        }
        return Self.timeUUID(ticks: ticks, clockSequence: clockSequence, node: node)
    }

    /// A version 1 UUID with the given 60-bit timestamp.
    static func timeUUID(ticks: Int64, clockSequence: UInt16, node: [UInt8]) -> UUID {
        let time = UInt64(bitPattern: ticks)
        let low = UInt32(truncatingIfNeeded: time)
        let mid = UInt16(truncatingIfNeeded: time >> 32)
        let high = UInt16(truncatingIfNeeded: time >> 48) & 0x0FFF | 0x1000
        let sequence = clockSequence & 0x3FFF | 0x8000
        var bytes: [UInt8] = [
            UInt8(truncatingIfNeeded: low >> 24), UInt8(truncatingIfNeeded: low >> 16),
            UInt8(truncatingIfNeeded: low >> 8), UInt8(truncatingIfNeeded: low),
            UInt8(truncatingIfNeeded: mid >> 8), UInt8(truncatingIfNeeded: mid),
            UInt8(truncatingIfNeeded: high >> 8), UInt8(truncatingIfNeeded: high),
            UInt8(truncatingIfNeeded: sequence >> 8), UInt8(truncatingIfNeeded: sequence),
        ]
        bytes.append(contentsOf: node.prefix(6))
        while bytes.count < 16 { bytes.append(0) }
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// The Unix time in milliseconds a version 1 UUID's timestamp stands for, or nil for other versions.
    static func unixMillis(ofTimeUUID bytes: [UInt8]) -> Int64? {
        guard bytes.count == 16, bytes[6] >> 4 == 1 else { return nil }
        let low = UInt64(bytes[0]) << 24 | UInt64(bytes[1]) << 16 | UInt64(bytes[2]) << 8 | UInt64(bytes[3])
        let mid = UInt64(bytes[4]) << 8 | UInt64(bytes[5])
        let high = UInt64(bytes[6] & 0x0F) << 8 | UInt64(bytes[7])
        let ticks = Int64(bitPattern: high << 48 | mid << 32 | low)
        return (ticks &- gregorianOffset) / 10_000
    }
}
