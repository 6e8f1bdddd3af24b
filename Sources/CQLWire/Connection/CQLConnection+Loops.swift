import Dispatch
import Foundation
import Logging
import Synchronization

/// The connection's loops: the reader thread (or the I/O executor) decoding frames and resuming
/// the waiting tasks, the timer thread failing requests past their deadline, the heartbeat task,
/// and the writer thread taking over on back-pressure. Stream ids, in-flight requests, deadlines
/// and heartbeats are decided by the ``ConnectionStateMachine`` in ``state``; these loops only feed
/// it events (answers, the clock) and carry out what it returns.
extension CQLConnection {
    /// What the thread reading the socket keeps between reads (the reader thread's, or the I/O
    /// executor's when attached to one).
    ///
    /// `@unchecked Sendable` is sound because exactly one thread ever reads the connection: the
    /// reader thread, or the executor's loop; nothing else touches this.
    final class ReadState: @unchecked Sendable {
        var decoder: FrameDecoder
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        // The answers of one read are handed over together once it is decoded: the tasks become
        // runnable in one burst, so a pool thread woken for the first finds the others queued.
        var deliveries: [(Waiter, Envelope<ResponseMessage>)] = []
        /// Result metadata seen on this connection: answers to the same statement reuse its columns.
        var metadataCache = RowsMetadataCache()

        init(maxBodyLength: Int) { decoder = FrameDecoder(maxBodyLength: maxBodyLength) }
    }

    // MARK: - Threads

    /// Starts the reader (unless the I/O executor reads), writer and timer threads and the heartbeat task.
    func startThreads() {
        // Stored before the handshake's first send; whoever gets the connection later got it through a lock.
        let attached = attachedExecutor?.attach(self) ?? false
        readByExecutor.store(attached, ordering: .relaxed)
        if !attached {
            let reader = Thread { [self] in readLoop() }
            reader.name = "cqlwire-reader \(endpoint)"
            reader.start()
        }
        let writerThread = Thread { [self] in writeLoop() }
        writerThread.name = "cqlwire-writer \(endpoint)"
        writerThread.start()
        let timer = Thread { [self] in timerLoop() }
        timer.name = "cqlwire-timer \(endpoint)"
        timer.start()
        let tick = tickInterval
        Task { [weak self] in
            while true {
                guard (try? await Task.sleep(for: tick)) != nil, let connection = self, !connection.isClosed else { return }
                connection.heartbeatTick()
            }
        }
    }

    private var tickInterval: Duration {
        max(.milliseconds(50), min(configuration.heartbeatInterval, configuration.heartbeatTimeout) / 2)
    }

    /// Writes with blocking sends whenever the socket pushed back on a non-blocking drain.
    private func writeLoop() {
        while writer.waitForBackPressure() {
            drain(blocking: true)
        }
    }

    /// Fails requests past their deadline. Sleeps until the earliest deadline of a waiting
    /// request (a thread rather than a timer task per request: sending stays free of timer work).
    private func timerLoop() {
        while true {
            let wake = state.withLock { $0.machine.state == .closed ? nil : $0.machine.timerWake }
            guard let wake else { return }
            let now = DispatchTime.now().uptimeNanoseconds
            if now < wake {
                if wake == .max { timerSignal.wait() } else { _ = timerSignal.wait(timeout: DispatchTime(uptimeNanoseconds: wake)) }
                continue
            }
            let (expired, orphaned) = state.withLock { ($0.machine.expire(now: now), $0.machine.abandonedCount) }
            for (stream, _, waiter) in expired {
                let error = CQLError.requestTimedOut(endpoint: endpoint,
                                                     timeout: .nanoseconds(Int64(clamping: waiter.timeoutNanoseconds)))
                logger.debug("request abandoned", metadata: ["cql.stream": "\(stream)", "cql.reason": "\(error)"])
                waiter.continuation.resume(throwing: error)
            }
            if !expired.isEmpty, orphaned >= max(1, configuration.maxOrphanedRequests) {
                close(reason: "\(orphaned) requests went unanswered")
            }
        }
    }

    private func readLoop() {
        while true {
            let count: Int
            do {
                count = try readState.buffer.withUnsafeMutableBytes { bytes throws(CQLTransportError) -> Int in
                    try transport.read(into: bytes)
                }
            } catch {
                close(reason: "read failed: \(error)")
                return
            }
            guard consume(count) else { return }
        }
    }

    /// The socket descriptor the I/O executor polls.
    var pollableDescriptor: Int32? { transport.pollableDescriptor }

    /// Called by the I/O executor when the socket is readable: reads what arrived and resumes the
    /// requests it answers; false once the connection is closed (the executor then forgets it).
    func readAvailable() -> Bool {
        let count: Int?
        do {
            count = try readState.buffer.withUnsafeMutableBytes { bytes throws(CQLTransportError) -> Int? in
                try transport.readAvailable(into: bytes)
            }
        } catch {
            close(reason: "read failed: \(error)")
            return false
        }
        guard let count else { return !isClosed }
        return consume(count)
    }

    /// The I/O executor reading this connection shut down: nothing will read it any more.
    func executorShutDown() {
        close(reason: "its I/O executor shut down")
    }

    /// Decodes the `count` bytes just read into the buffer and resumes the requests they answer;
    /// false when the connection is (now) closed.
    private func consume(_ count: Int) -> Bool {
        guard count > 0 else {
            close(reason: "the node closed the connection")
            return false
        }
        let reader = readState
        reader.buffer.withUnsafeBytes { reader.decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        // One clock read per read: the frames of one read arrived together.
        let now = DispatchTime.now().uptimeNanoseconds
        var open = true
        do {
            while open, let frame = try reader.decoder.nextFrame() {
                open = handle(frame, now: now, deliveries: &reader.deliveries)
            }
        } catch {
            close(reason: "undecodable frame: \(error)")
            open = false
        }
        // Answers taken out of their slots before a failure are still theirs to receive.
        for (waiter, envelope) in reader.deliveries { waiter.continuation.resume(returning: envelope) }
        reader.deliveries.removeAll(keepingCapacity: true)
        return open
    }

    /// Routes one frame to its waiter (appended to `deliveries`); false when the connection had to close.
    private func handle(_ frame: Frame, now: UInt64, deliveries: inout [(Waiter, Envelope<ResponseMessage>)]) -> Bool {
        let compression = state.withLock { $0.compression }
        let envelope: Envelope<ResponseMessage>
        do {
            envelope = try frame.decodeResponse(compression: compression, maxBodyLength: configuration.maxFrameBodyLength,
                                                metadataCache: &readState.metadataCache)
        } catch {
            if frame.header.version != Frame.supportedVersion, let refusal = try? frame.decodeVersionRefusal() {
                let failure = CQLError.protocolVersionRefused(endpoint: endpoint, message: refusal.message)
                if let waiter = takeWaiter(stream: frame.header.stream) { waiter.continuation.resume(throwing: failure) }
                close(error: failure)
            } else {
                close(error: .malformedResponse(endpoint: endpoint, detail: "\(error)"))
            }
            return false
        }
        if envelope.stream < 0 {
            if case let .event(event) = envelope.message {
                logger.debug("event", metadata: ["cql.event": "\(event)"])
                eventContinuation.yield(event)
            }
            return true
        }
        let action = state.withLock { $0.machine.responseReceived(stream: envelope.stream, now: now) }
        switch action {
        case let .deliver(waiter):
            deliveries.append((waiter, envelope))
        case let .discardLate(requestID):
            logger.debug("late response dropped", metadata: ["cql.stream": "\(envelope.stream)", "cql.request": "\(requestID)"])
        case .heartbeatAnswered:
            logger.trace("heartbeat answered")
        case .unknownStream:
            close(error: .unexpectedResponse(endpoint: endpoint, expected: "a response on a stream in use",
                                             received: "\(envelope.message.opcode) on stream \(envelope.stream)"))
            return false
        }
        return true
    }

    private func takeWaiter(stream: Int16) -> Waiter? {
        let action = state.withLock { $0.machine.responseReceived(stream: stream, now: DispatchTime.now().uptimeNanoseconds) }
        if case let .deliver(waiter) = action { return waiter }
        return nil
    }

    func abandon(stream: Int16, requestID: UInt64, error: any Error) {
        let (waiter, orphaned) = state.withLock { ($0.machine.abandon(stream: stream, requestID: requestID), $0.machine.abandonedCount) }
        guard let waiter else { return }
        logger.debug("request abandoned", metadata: ["cql.stream": "\(stream)", "cql.reason": "\(error)"])
        waiter.continuation.resume(throwing: error)
        if orphaned >= max(1, configuration.maxOrphanedRequests) {
            close(reason: "\(orphaned) requests went unanswered")
        }
    }

    private func heartbeatTick() {
        // OPTIONS is never compressed, so the negotiated compression does not matter here.
        let action = state.withLock { $0.machine.tick(now: DispatchTime.now().uptimeNanoseconds) }
        switch action {
        case .none:
            return
        case let .sendHeartbeat(stream):
            logger.trace("heartbeat", metadata: ["cql.stream": "\(stream)"])
            enqueue(inline: true) { RequestMessage.options.appendUncompressedFrame(to: &$0, stream: stream, tracing: false) }
        case .closeUnresponsive:
            close(reason: "heartbeat unanswered for \(configuration.heartbeatTimeout)")
        }
    }
}
