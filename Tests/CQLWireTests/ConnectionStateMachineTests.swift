import Testing
@testable import CQLCodec
@testable import CQLWire

@Suite("Client connection state machine: stream ids, late answers, heartbeats, failure fan-out")
struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine<Int>

    static let second: UInt64 = 1_000_000_000

    static func readyMachine(maxStreams: Int = 32768) -> Machine {
        var machine = Machine(maxStreams: maxStreams, heartbeatInterval: 30 * second, heartbeatTimeout: 10 * second, now: 0)
        machine.handshakeCompleted()
        return machine
    }

    static func send(_ machine: inout Machine, waiter: Int, now: UInt64 = 0) throws -> (stream: Int16, requestID: UInt64) {
        guard case let .send(stream, requestID) = machine.allocate(waiter: waiter, now: now) else {
            Issue.record("expected a stream for waiter \(waiter)")
            throw CancellationError()
        }
        return (stream, requestID)
    }

    @Test("every one of the 32768 stream ids is handed out once, then allocation reports exhaustion")
    func exhaustion() throws {
        var machine = Self.readyMachine()
        var seen = Set<Int16>()
        for waiter in 0..<32768 {
            let (stream, _) = try Self.send(&machine, waiter: waiter)
            #expect(stream >= 0)
            seen.insert(stream)
        }
        #expect(seen.count == 32768)
        guard case let .exhausted(inFlight) = machine.allocate(waiter: -1, now: 0) else {
            Issue.record("allocation succeeded with every id in flight")
            return
        }
        #expect(inFlight == 32768)
    }

    @Test("an answered id becomes free again and is reused")
    func reuse() throws {
        var machine = Self.readyMachine(maxStreams: 2)
        let first = try Self.send(&machine, waiter: 1)
        _ = try Self.send(&machine, waiter: 2)
        guard case let .deliver(waiter) = machine.responseReceived(stream: first.stream, now: 0) else {
            Issue.record("the answer was not delivered")
            return
        }
        #expect(waiter == 1)
        let third = try Self.send(&machine, waiter: 3)
        #expect(third.stream == first.stream)
        #expect(third.requestID != first.requestID)
    }

    @Test("a timed-out request keeps its id until the late answer, which goes to nobody")
    func lateAnswer() throws {
        var machine = Self.readyMachine(maxStreams: 2)
        let timedOut = try Self.send(&machine, waiter: 1)
        #expect(machine.abandon(stream: timedOut.stream, requestID: timedOut.requestID) == 1)
        // The id is still held: only one of the two ids can be allocated.
        let other = try Self.send(&machine, waiter: 2)
        #expect(other.stream != timedOut.stream)
        guard case .exhausted = machine.allocate(waiter: 3, now: 0) else {
            Issue.record("the abandoned id was handed out again before its late answer")
            return
        }
        guard case let .discardLate(requestID) = machine.responseReceived(stream: timedOut.stream, now: 0) else {
            Issue.record("the late answer was not discarded")
            return
        }
        #expect(requestID == timedOut.requestID)
        let fresh = try Self.send(&machine, waiter: 4)
        #expect(fresh.stream == timedOut.stream)
        guard case let .deliver(waiter) = machine.responseReceived(stream: fresh.stream, now: 0) else {
            Issue.record("the answer to the new request was not delivered")
            return
        }
        #expect(waiter == 4)
    }

    @Test("abandoning a request that already finished, or a newer one on its id, does nothing")
    func staleAbandon() throws {
        var machine = Self.readyMachine(maxStreams: 1)
        let first = try Self.send(&machine, waiter: 1)
        _ = machine.responseReceived(stream: first.stream, now: 0)
        let second = try Self.send(&machine, waiter: 2)
        #expect(second.stream == first.stream)
        #expect(machine.abandon(stream: first.stream, requestID: first.requestID) == nil)
        #expect(machine.abandon(stream: second.stream, requestID: second.requestID) == 2)
    }

    @Test("an answer on a stream nothing was sent on is a protocol violation", arguments: [Int16(0), 5, -2, 32767])
    func unknownStream(stream: Int16) {
        var machine = Self.readyMachine(maxStreams: 8)
        guard case .unknownStream = machine.responseReceived(stream: stream, now: 0) else {
            Issue.record("an unsolicited answer on \(stream) was accepted")
            return
        }
    }

    @Test("a request that could not be written frees its id at once")
    func unsent() throws {
        var machine = Self.readyMachine(maxStreams: 1)
        let request = try Self.send(&machine, waiter: 1)
        #expect(machine.unsent(stream: request.stream, requestID: request.requestID) == 1)
        #expect(machine.inFlight == 0)
        _ = try Self.send(&machine, waiter: 2)
    }

    @Test("closing fails every waiting request once, skips abandoned ones, and refuses new ones")
    func failureFanOut() throws {
        var machine = Self.readyMachine()
        var requests: [(stream: Int16, requestID: UInt64)] = []
        for waiter in 0..<100 { requests.append(try Self.send(&machine, waiter: waiter)) }
        _ = machine.abandon(stream: requests[7].stream, requestID: requests[7].requestID)
        _ = machine.responseReceived(stream: requests[8].stream, now: 0)
        let failed = machine.close()
        #expect(Set(failed) == Set(0..<100).subtracting([7, 8]))
        #expect(failed.count == 98)
        #expect(machine.close().isEmpty)
        #expect(machine.state == .closed)
        guard case .closed = machine.allocate(waiter: 1000, now: 0) else {
            Issue.record("a closed connection accepted a request")
            return
        }
    }

    @Test("an idle connection sends one heartbeat, and is closed when it stays unanswered")
    func heartbeatUnanswered() {
        var machine = Self.readyMachine()
        #expect(machine.tick(now: 29 * Self.second) == .none)
        guard case .sendHeartbeat = machine.tick(now: 30 * Self.second) else {
            Issue.record("no heartbeat after 30 s of silence")
            return
        }
        #expect(machine.tick(now: 35 * Self.second) == .none)
        #expect(machine.tick(now: 40 * Self.second) == .closeUnresponsive)
    }

    @Test("an answered heartbeat resets the idle clock; traffic postpones it")
    func heartbeatAnswered() throws {
        var machine = Self.readyMachine()
        guard case let .sendHeartbeat(stream) = machine.tick(now: 30 * Self.second) else {
            Issue.record("no heartbeat after 30 s of silence")
            return
        }
        guard case .heartbeatAnswered = machine.responseReceived(stream: stream, now: 31 * Self.second) else {
            Issue.record("the heartbeat answer was not recognised")
            return
        }
        #expect(machine.tick(now: 50 * Self.second) == .none)
        _ = try Self.send(&machine, waiter: 1, now: 60 * Self.second)
        #expect(machine.tick(now: 80 * Self.second) == .none)
        guard case .sendHeartbeat = machine.tick(now: 90 * Self.second) else {
            Issue.record("no heartbeat 30 s after the last request")
            return
        }
    }

    @Test("no heartbeats during the handshake")
    func noHeartbeatWhileHandshaking() {
        var machine = Machine(heartbeatInterval: Self.second, heartbeatTimeout: Self.second, now: 0)
        #expect(machine.tick(now: 100 * Self.second) == .none)
    }
}

@Suite("Conditional statement detection from CQL text")
struct CQLTextTests {
    @Test("LWTs are conditional DML; DDL's IF NOT EXISTS and strings mentioning IF are not", arguments: [
        ("INSERT INTO ks.locks (name, owner) VALUES (?, ?) IF NOT EXISTS", true),
        ("update locks set owner = ? where name = ? if owner = ?", true),
        ("DELETE FROM locks WHERE name = ? IF EXISTS", true),
        ("BEGIN BATCH UPDATE t SET v = 1 WHERE k = 1 IF v = 0; APPLY BATCH", true),
        ("CREATE TABLE IF NOT EXISTS ks.t (k int PRIMARY KEY)", false),
        ("CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy'}", false),
        ("INSERT INTO t (k, v) VALUES (1, 'IF')", false),
        ("INSERT INTO t (k, \"if\") VALUES (1, 2)", false),
        ("INSERT INTO t (k, v) VALUES (1, $$ IF $$)", false),
        ("SELECT * FROM t WHERE k = 1 -- IF", false),
        ("UPDATE t /* IF */ SET v = 1 WHERE k = 1", false),
        ("SELECT iff FROM t", false),
    ])
    func detection(cql: String, conditional: Bool) {
        #expect(CQLText.isConditional(cql) == conditional, "\(cql)")
    }
}
