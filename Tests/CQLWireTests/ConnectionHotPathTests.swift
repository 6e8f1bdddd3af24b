import Testing
@testable import CQLCodec
@testable import CQLWire

/// The pieces the connection's request path was made cheaper with: deadlines kept by the state
/// machine for one timer thread, and frames encoded straight into the write buffer.
@Suite("Client connection hot path: request deadlines and in-place frame encoding")
struct ConnectionHotPathTests {
    typealias Machine = ConnectionStateMachine<Int>

    static func readyMachine(maxStreams: Int = 32768) -> Machine {
        var machine = Machine(maxStreams: maxStreams, heartbeatInterval: 30_000_000_000, heartbeatTimeout: 10_000_000_000, now: 0)
        machine.handshakeCompleted()
        return machine
    }

    static func send(_ machine: inout Machine, waiter: Int, deadline: UInt64) throws -> (stream: Int16, requestID: UInt64) {
        guard case let .send(stream, requestID) = machine.allocate(waiter: waiter, now: 0, deadline: deadline) else {
            Issue.record("expected a stream for waiter \(waiter)")
            throw CancellationError()
        }
        return (stream, requestID)
    }

    @Test("only an allocation that moves the timer's wake earlier asks to wake it")
    func wakeRequests() throws {
        var machine = Self.readyMachine()
        #expect(machine.timerWake == .max)
        _ = try Self.send(&machine, waiter: 1, deadline: 500)
        #expect(machine.timerWake == 500)
        let first = machine.takeTimerWakeRequest()
        let again = machine.takeTimerWakeRequest()
        #expect(first && !again)
        _ = try Self.send(&machine, waiter: 2, deadline: 900)
        let later = machine.takeTimerWakeRequest()
        #expect(!later)
        #expect(machine.timerWake == 500)
        _ = try Self.send(&machine, waiter: 3, deadline: 100)
        let earlier = machine.takeTimerWakeRequest()
        #expect(earlier)
        #expect(machine.timerWake == 100)
    }

    @Test("expiry fails exactly the requests past their deadline and keeps their ids until the late answer")
    func expiry() throws {
        var machine = Self.readyMachine(maxStreams: 4)
        let early = try Self.send(&machine, waiter: 1, deadline: 100)
        let answered = try Self.send(&machine, waiter: 2, deadline: 100)
        let late = try Self.send(&machine, waiter: 3, deadline: 300)
        _ = machine.responseReceived(stream: answered.stream, now: 50)
        let tooSoon = machine.expire(now: 99)
        #expect(tooSoon.isEmpty)
        let expired = machine.expire(now: 100)
        #expect(expired.map(\.waiter) == [1])
        #expect(expired.first?.stream == early.stream)
        #expect(expired.first?.requestID == early.requestID)
        #expect(machine.timerWake == 300)
        #expect(machine.abandonedCount == 1)
        // The expired id is still held: a late answer is discarded, not delivered to a newer request.
        guard case let .discardLate(requestID) = machine.responseReceived(stream: early.stream, now: 150) else {
            Issue.record("the late answer to an expired request was not discarded")
            return
        }
        #expect(requestID == early.requestID)
        let rest = machine.expire(now: 1000)
        #expect(rest.map(\.waiter) == [3])
        #expect(machine.timerWake == .max)
        let abandoned = machine.abandon(stream: late.stream, requestID: late.requestID)
        #expect(abandoned == nil)
    }

    @Test("a request without a deadline never expires")
    func noDeadline() throws {
        var machine = Self.readyMachine(maxStreams: 2)
        _ = try Self.send(&machine, waiter: 1, deadline: .max)
        let wake = machine.takeTimerWakeRequest()
        #expect(!wake)
        let expired = machine.expire(now: .max - 1)
        #expect(expired.isEmpty)
    }

    @Test("expiry finds requests anywhere in the id space, after ids wrapped around")
    func expiryAcrossIDs() throws {
        var machine = Self.readyMachine(maxStreams: 8)
        for waiter in 0..<6 {
            let sent = try Self.send(&machine, waiter: waiter, deadline: 1_000)
            _ = machine.responseReceived(stream: sent.stream, now: 0)
        }
        // The cursor is at id 6: these take ids 6, 7, 0.
        var streams: [Int16] = []
        for waiter in 10..<13 { streams.append(try Self.send(&machine, waiter: waiter, deadline: UInt64(waiter) * 10).stream) }
        #expect(streams == [6, 7, 0])
        let expired = machine.expire(now: 1_000)
        #expect(Set(expired.map(\.waiter)) == [10, 11, 12])
    }

    @Test("a frame built in place equals the encoder's uncompressed frame",
          arguments: MessageSamples.requests.map(\.1), [false, true])
    func inPlaceFrame(request: RequestMessage, tracing: Bool) {
        let expected = request.encodeFrame(stream: 1234, tracing: tracing)
        var buffer: [UInt8] = [0xAA, 0xBB]
        request.appendUncompressedFrame(to: &buffer, stream: 1234, tracing: tracing)
        #expect(Array(buffer.prefix(2)) == [0xAA, 0xBB])
        #expect(Array(buffer.dropFirst(2)) == expected)
    }
}
