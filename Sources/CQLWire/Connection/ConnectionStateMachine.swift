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
        /// A caller waits for the answer until `deadline` (ns; `.max` for never).
        case waiting(requestID: UInt64, waiter: Waiter, deadline: UInt64)
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
    /// When the connection's timer next looks for expired requests (`.max`: it sleeps until woken).
    /// Never later than the earliest deadline of a waiting request, so no timeout is missed; it may
    /// be earlier (a request answered since), which only costs one scan that finds nothing.
    private(set) var timerWake: UInt64 = .max
    /// Set when an allocation moved ``timerWake`` earlier; ``takeTimerWakeRequest()`` clears it.
    private var timerNeedsWake = false

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

    /// Takes a free stream id for a request whose waiter gives up at `deadline` (ns).
    ///
    /// When the deadline is earlier than ``timerWake`` it becomes the new wake time and
    /// ``Allocation/send(stream:requestID:)`` is the caller's cue to wake the timer (see `wakesTimer`).
    mutating func allocate(waiter: Waiter, now: UInt64, deadline: UInt64 = .max) -> Allocation {
        guard state != .closed else { return .closed }
        guard let stream = takeFreeStream() else { return .exhausted(inFlight: inFlight) }
        nextRequestID &+= 1
        slots[stream] = .waiting(requestID: nextRequestID, waiter: waiter, deadline: deadline)
        if deadline < timerWake {
            timerWake = deadline
            timerNeedsWake = true
        }
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
        case let .waiting(_, waiter, _):
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
        guard index >= 0, index < maxStreams, case let .waiting(current, waiter, _)? = slots[index],
              current == requestID else { return nil }
        slots[index] = .abandoned(requestID: requestID)
        abandonedCount += 1
        return waiter
    }

    /// A request that was allocated could not be written: frees its id at once (the server
    /// never saw it) and returns its waiter, or nil when it already finished.
    mutating func unsent(stream: Int16, requestID: UInt64) -> Waiter? {
        let index = Int(stream)
        guard index >= 0, index < maxStreams, case let .waiting(current, waiter, _)? = slots[index],
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
            if case let .waiting(_, waiter, _)? = slots[index] { waiters.append(waiter) }
            slots[index] = nil
        }
        inFlight = 0
        abandonedCount = 0
        heartbeatSentAt = nil
        timerWake = .max
        return waiters
    }

    /// Whether the timer must be woken to sleep until the new, earlier ``timerWake``; asking clears it.
    mutating func takeTimerWakeRequest() -> Bool {
        defer { timerNeedsWake = false }
        return timerNeedsWake
    }

    /// The timer woke at `now`: every waiting request past its deadline is abandoned (its id stays
    /// reserved until the late answer) and returned to be failed; ``timerWake`` moves to the
    /// earliest deadline still pending. Does nothing before ``timerWake``.
    mutating func expire(now: UInt64) -> [(stream: Int16, requestID: UInt64, waiter: Waiter)] {
        guard state != .closed, now >= timerWake else { return [] }
        var expired: [(stream: Int16, requestID: UInt64, waiter: Waiter)] = []
        var earliest = UInt64.max
        var remaining = inFlight
        var index = 0
        // Stops once every occupied slot was seen: with few requests in flight the scan is short.
        while remaining > 0, index < maxStreams {
            if let slot = slots[index] {
                remaining -= 1
                if case let .waiting(requestID, waiter, deadline) = slot {
                    if deadline <= now {
                        slots[index] = .abandoned(requestID: requestID)
                        abandonedCount += 1
                        expired.append((Int16(truncatingIfNeeded: index), requestID, waiter))
                    } else {
                        earliest = min(earliest, deadline)
                    }
                }
            }
            index += 1
        }
        timerWake = earliest
        timerNeedsWake = false
        return expired
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
