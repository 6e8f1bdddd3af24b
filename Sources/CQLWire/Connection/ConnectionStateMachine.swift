/// The client side of one connection as a value: events in, actions out, no I/O and no clock
/// (time arrives as `now` in nanoseconds), so every protocol edge case is a unit test.
///
/// It owns the stream ids (0...32767 in protocol v4). A request that timed out or was
/// cancelled keeps its id reserved until its late response arrives or the connection closes,
/// so a late answer can never be mistaken for the answer to a newer request.
struct ConnectionStateMachine<Waiter> {
    /// Where the connection is in its life.
    enum State: Equatable {
        /// Before READY: only handshake requests are sent.
        case handshaking
        /// READY (or AUTH_SUCCESS) received.
        case ready
        /// Closed locally or by the peer; every pending request has been failed.
        case closed
    }

    /// One occupied stream id.
    enum Slot {
        /// A caller waits for the answer.
        case waiting(requestID: UInt64, waiter: Waiter)
        /// Nobody waits any more (timed out, cancelled): the id is held until the late answer.
        case abandoned(requestID: UInt64)
        /// A heartbeat OPTIONS sent by the connection itself.
        case heartbeat
    }

    /// What a stream allocation produced.
    enum Allocation {
        /// Send the request on this stream.
        case send(stream: Int16, requestID: UInt64)
        /// No id is free: every one is in flight or held for a late answer.
        case exhausted(inFlight: Int)
        /// The connection is closed.
        case closed
    }

    /// What to do with a response frame.
    enum ResponseAction {
        /// Hand the response to the waiter.
        case deliver(Waiter)
        /// A late answer to an abandoned request: drop it (its id is free again).
        case discardLate(requestID: UInt64)
        /// The heartbeat was answered.
        case heartbeatAnswered
        /// An answer on a stream nothing was sent on: the peer broke the protocol.
        case unknownStream
    }

    /// What a clock tick asks for.
    enum TickAction: Equatable {
        /// Nothing.
        case none
        /// Send OPTIONS on this stream to check the idle connection is alive.
        case sendHeartbeat(stream: Int16)
        /// The heartbeat went unanswered: close the connection.
        case closeUnresponsive
    }

    static var streamCount: Int { 32768 }

    private(set) var state: State = .handshaking
    private var slots: [Slot?]
    private var nextStream = 0
    private var nextRequestID: UInt64 = 0
    /// Occupied slots, abandoned ones included.
    private(set) var inFlight = 0
    /// Slots whose waiter gave up.
    private(set) var abandonedCount = 0
    private let maxStreams: Int
    private let heartbeatInterval: UInt64
    private let heartbeatTimeout: UInt64
    private var lastActivity: UInt64
    private var heartbeatSentAt: UInt64?

    /// A machine with at most `maxStreams` ids (capped at 32768) and heartbeats after
    /// `heartbeatInterval` ns of silence, declared dead after `heartbeatTimeout` ns without answer.
    init(maxStreams: Int = 32768, heartbeatInterval: UInt64, heartbeatTimeout: UInt64, now: UInt64) {
        self.maxStreams = min(max(1, maxStreams), Self.streamCount)
        self.slots = Array(repeating: nil, count: self.maxStreams)
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.lastActivity = now
    }

    /// The handshake finished.
    mutating func handshakeCompleted() {
        if state == .handshaking { state = .ready }
    }

    /// Takes a free stream id for a request.
    mutating func allocate(waiter: Waiter, now: UInt64) -> Allocation {
        guard state != .closed else { return .closed }
        guard let stream = takeFreeStream() else { return .exhausted(inFlight: inFlight) }
        nextRequestID &+= 1
        slots[stream] = .waiting(requestID: nextRequestID, waiter: waiter)
        inFlight += 1
        lastActivity = now
        return .send(stream: Int16(truncatingIfNeeded: stream), requestID: nextRequestID)
    }

    /// A response arrived on `stream`.
    mutating func responseReceived(stream: Int16, now: UInt64) -> ResponseAction {
        lastActivity = now
        let index = Int(stream)
        guard index >= 0, index < maxStreams, let slot = slots[index] else { return .unknownStream }
        slots[index] = nil
        inFlight -= 1
        switch slot {
        case let .waiting(_, waiter):
            return .deliver(waiter)
        case let .abandoned(requestID):
            abandonedCount -= 1
            return .discardLate(requestID: requestID)
        case .heartbeat:
            heartbeatSentAt = nil
            return .heartbeatAnswered
        }
    }

    /// The waiter of request `requestID` on `stream` gave up (timeout or cancellation); returns
    /// it so it can be failed, or nil when the request already finished. The id stays reserved.
    mutating func abandon(stream: Int16, requestID: UInt64) -> Waiter? {
        let index = Int(stream)
        guard index >= 0, index < maxStreams, case let .waiting(current, waiter)? = slots[index],
              current == requestID else { return nil }
        slots[index] = .abandoned(requestID: requestID)
        abandonedCount += 1
        return waiter
    }

    /// A request that was allocated could not be written: frees its id at once (the server
    /// never saw it) and returns its waiter, or nil when it already finished.
    mutating func unsent(stream: Int16, requestID: UInt64) -> Waiter? {
        let index = Int(stream)
        guard index >= 0, index < maxStreams, case let .waiting(current, waiter)? = slots[index],
              current == requestID else { return nil }
        slots[index] = nil
        inFlight -= 1
        return waiter
    }

    /// Time passed; decides whether the idle connection needs a heartbeat or is dead.
    mutating func tick(now: UInt64) -> TickAction {
        guard state == .ready else { return .none }
        if let sentAt = heartbeatSentAt {
            return now &- sentAt >= heartbeatTimeout ? .closeUnresponsive : .none
        }
        guard now &- lastActivity >= heartbeatInterval, let stream = takeFreeStream() else { return .none }
        slots[stream] = .heartbeat
        inFlight += 1
        heartbeatSentAt = now
        lastActivity = now
        return .sendHeartbeat(stream: Int16(truncatingIfNeeded: stream))
    }

    /// The connection closed: returns every waiter still waiting, to be failed; ids are all freed.
    mutating func close() -> [Waiter] {
        guard state != .closed else { return [] }
        state = .closed
        var waiters: [Waiter] = []
        for index in slots.indices {
            if case let .waiting(_, waiter)? = slots[index] { waiters.append(waiter) }
            slots[index] = nil
        }
        inFlight = 0
        abandonedCount = 0
        heartbeatSentAt = nil
        return waiters
    }

    /// The next free id at or after the cursor, cycling so fresh ids are preferred over just-freed ones.
    private mutating func takeFreeStream() -> Int? {
        guard inFlight < maxStreams else { return nil }
        for offset in 0..<maxStreams {
            let candidate = (nextStream + offset) % maxStreams
            if case .none = slots[candidate] {
                nextStream = (candidate + 1) % maxStreams
                return candidate
            }
        }
        return nil
    }
}

extension ConnectionStateMachine: Sendable where Waiter: Sendable {}
extension ConnectionStateMachine.Slot: Sendable where Waiter: Sendable {}
