import Dispatch
import Synchronization

/// The write side of a connection: encoded frames queued in one buffer, and who writes them.
///
/// Frames are appended to one buffer so a batch needs neither a join nor an allocation per
/// frame; the drainer swaps it with a spare, whose capacity it keeps. Three drain strategies,
/// chosen per frame by ``enqueue(inline:onExecutor:_:)``:
///
/// - **caller**: with few requests in flight the sender writes its frame itself, non-blocking
///   (latency: there is little to batch, and the write does not wait for a free pool thread);
/// - **job**: otherwise one pool job per burst writes whatever queued up meanwhile, so under load
///   many frames share one syscall;
/// - **executor**: on the I/O executor's thread the executor's loop flushes once the jobs it runs
///   are done (``takeExecutorFlush()``).
///
/// When the socket pushes back, the rest goes to the writer thread, which blocks in
/// ``waitForBackPressure()`` until then. The writer does no I/O of its own choosing and knows
/// nothing of the connection: a failed write is thrown to whoever drained, which closes the
/// connection.
final class FrameWriter: Sendable {
    /// Who writes what was just queued.
    enum Drainer { case caller, job, executor }

    private struct State: Sendable {
        var pending: [UInt8] = []
        var spare: [UInt8] = []
        var draining = false
        /// `draining` is held by the I/O executor's thread, which flushes once its ready jobs ran.
        var flushOnExecutor = false
        var closed = false
    }

    /// The largest write buffer kept between batches.
    private static let keptWriteCapacity = 256 * 1024

    private let transport: any CQLTransport
    private let state = Mutex(State())
    /// Signalled when the socket pushed back (the writer thread takes over) and on close.
    private let backPressure = DispatchSemaphore(value: 0)

    init(transport: any CQLTransport) {
        self.transport = transport
    }

    /// Queues an encoded frame and says who drains the queue now: nil when someone already does
    /// (or the writer is closed, and the frame was dropped).
    ///
    /// `write` appends the frame's bytes to the queue, under the write lock. `inline`: few requests
    /// are in flight, so the caller may write at once. `onExecutor`: the caller runs on the I/O
    /// executor's thread reading this connection, whose loop flushes after the jobs it runs, whatever the load.
    func enqueue(inline: Bool, onExecutor: Bool, _ write: (inout [UInt8]) -> Void) -> Drainer? {
        state.withLock { state -> Drainer? in
            guard !state.closed else { return nil }
            write(&state.pending)
            guard !state.draining else { return nil }
            state.draining = true
            if onExecutor {
                state.flushOnExecutor = true
                return .executor
            }
            return inline ? .caller : .job
        }
    }

    /// Whether the I/O executor's thread holds the drain (it then calls ``drain(blocking:)``); clears it.
    func takeExecutorFlush() -> Bool {
        state.withLock { state -> Bool in
            defer { state.flushOnExecutor = false }
            return state.flushOnExecutor
        }
    }

    /// Writes everything queued, a whole buffer per syscall. Only the holder of the drain (the
    /// ``Drainer`` that ``enqueue(inline:onExecutor:_:)`` returned, or the writer thread) calls
    /// this; without `blocking` it hands the rest to the writer thread on back-pressure. Throws
    /// what the transport threw; the drain is released either way.
    func drain(blocking: Bool) throws {
        var batch: [UInt8] = []
        while true {
            let taken = state.withLock { state -> Bool in
                guard !state.closed, !state.pending.isEmpty else {
                    state.draining = false
                    state.flushOnExecutor = false
                    return false
                }
                swap(&batch, &state.spare)
                swap(&batch, &state.pending)
                return true
            }
            guard taken else { return }
            var offset = 0
            do {
                while offset < batch.count {
                    let written = try batch.withUnsafeBytes { buffer throws(CQLTransportError) -> Int in
                        try transport.write(UnsafeRawBufferPointer(rebasing: buffer[offset...]), blocking: blocking)
                    }
                    if written == 0 {
                        state.withLock { $0.pending.insert(contentsOf: batch[offset...], at: 0) }
                        backPressure.signal()
                        return
                    }
                    offset += written
                }
            } catch {
                state.withLock { $0.draining = false }
                throw error
            }
            // Hands the emptied buffer back for the next batch, unless it grew unusually large.
            if batch.capacity <= Self.keptWriteCapacity { batch.removeAll(keepingCapacity: true) } else { batch = [] }
            state.withLock { swap(&batch, &$0.spare) }
        }
    }

    /// The writer thread's wait: returns true when the socket pushed back (the thread then drains
    /// with blocking writes), false once the writer is closed (the thread ends).
    func waitForBackPressure() -> Bool {
        backPressure.wait()
        return !state.withLock { $0.closed }
    }

    /// Drops what is queued, refuses later frames and ends the writer thread.
    func close() {
        state.withLock {
            $0.closed = true
            $0.pending = []
            $0.spare = []
        }
        backPressure.signal()
    }
}

extension RequestMessage {
    /// Appends the frame ``encodeFrame(stream:version:tracing:customPayload:compression:)`` makes
    /// without compression, built in place: no body array, no frame array, no copy.
    func appendUncompressedFrame(to buffer: inout [UInt8], stream: Int16, tracing: Bool) {
        let start = buffer.count
        var writer = ByteWriter(capacity: 0)
        swap(&writer.bytes, &buffer)
        FrameHeader(isResponse: false, flags: tracing ? [.tracing] : [], stream: stream, opcode: opcode.rawValue, length: 0)
            .encode(into: &writer)
        encode(into: &writer)
        swap(&writer.bytes, &buffer)
        let length = UInt32(bitPattern: Int32(clamping: buffer.count - start - FrameHeader.size))
        // The length is the header's last four bytes, big-endian.
        for index in 0..<4 {
            buffer[start + 5 + index] = UInt8(truncatingIfNeeded: length >> (24 - 8 * UInt32(index)))
        }
    }
}
