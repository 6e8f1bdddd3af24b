#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

// File-scope wrappers: inside `CommitLog`, `open` and `close` name its own methods.
// Close-on-exec always: a child process (a job's shell command, a test's subprocess) that inherited the
// LOCK descriptor would hold the directory lock for as long as it lives.
private func posixOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 { open(path, flags | O_CLOEXEC, mode) }
private func posixClose(_ fd: Int32) { _ = close(fd) }
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }
private func posixPwrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int, _ offset: off_t) -> Int {
    pwrite(fd, buffer, count, offset)
}

/// A position in the commit log: every appended record gets the next number.
typealias LogSequenceNumber = UInt64

/// The write-ahead log with group commit, and the snapshots that bound its length.
///
/// Appending only queues a framed record (`[u32 length][u32 CRC32][payload]`) in memory and returns its
/// sequence number. A dedicated flusher thread (blocking `write`/`fsync` must not run on Swift's
/// cooperative pool) takes everything queued, writes it in one go and `fsync`s once, so concurrent writers
/// share the cost of one fsync; then it resumes every ``awaitDurable(_:)`` caller it has covered.
///
/// Files in the data directory: `snapshot-G.snap` holds the whole state as of the start of
/// `commitlog-G.log`; start-up loads the newest valid snapshot and replays the logs from its generation on.
///
/// Concurrency: the queue, the durable position and the waiters are guarded by one `NSCondition` (a mutex with
/// the condition variable the flusher sleeps on). The file descriptor and generation of the open log are
/// touched only by the flusher thread after `init`. That is why the class is `@unchecked Sendable`.
final class CommitLog: @unchecked Sendable {
    private enum Item {
        case records([UInt8])
        case rotate(snapshot: @Sendable (_ emit: ([UInt8]) -> Void) -> Void, generation: UInt64)
    }

    let directory: String
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var pending: [Item] = []
    /// Framed records appended since the last queued item, grown in place (no copy per append).
    private var buffer: [UInt8] = []
    private var nextLSN: LogSequenceNumber = 1
    private var durableLSN: LogSequenceNumber = 0
    private var waiters: [(lsn: LogSequenceNumber, continuation: CheckedContinuation<StorageError?, Never>)] = []
    private var failure: StorageError?
    private var stopping = false
    private var stopped = false
    private var closed = false
    /// Holds an exclusive `flock` on the directory's LOCK file while open: two nodes on one directory would corrupt it.
    private let lockDescriptor: Int32
    private var logBytes: Int
    private var generation: UInt64
    // Flusher thread only.
    private var descriptor: Int32
    private var openGeneration: UInt64

    /// Bytes of the current log after which the owner should take a snapshot.
    let snapshotThreshold: Int

    /// The state found on disk: the newest snapshot's payload and the logged record payloads after it.
    struct Recovery {
        var snapshot: [UInt8]?
        var records: [[UInt8]]
        var droppedTailBytes: Int
    }

    private init(directory: String, lockDescriptor: Int32, descriptor: Int32, generation: UInt64, logBytes: Int,
                 snapshotThreshold: Int) {
        self.directory = directory
        self.lockDescriptor = lockDescriptor
        self.descriptor = descriptor
        self.generation = generation
        self.openGeneration = generation
        self.logBytes = logBytes
        self.snapshotThreshold = snapshotThreshold
    }

    // MARK: - Files

    static func logName(_ generation: UInt64) -> String { "commitlog-\(String(format: "%016llx", generation)).log" }
    static func snapshotName(_ generation: UInt64) -> String { "snapshot-\(String(format: "%016llx", generation)).snap" }

    private static func parseGeneration(of name: String, prefix: String, suffix: String) -> UInt64? {
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        return UInt64(name.dropFirst(prefix.count).dropLast(suffix.count), radix: 16)
    }

    private static func fail(_ operation: String, _ path: String) -> StorageError {
        .io(operation: operation, path: path, errno: errno)
    }

    static func readFile(_ path: String) throws(StorageError) -> [UInt8] {
        let fd = posixOpen(path, O_RDONLY)
        guard fd >= 0 else { throw fail("open", path) }
        defer { posixClose(fd) }
        var bytes: [UInt8] = []
        // Sized up front: a snapshot is as large as the data, and growing by doubling would briefly hold twice that.
        var status = stat()
        if fstat(fd, &status) == 0, status.st_size > 0, status.st_size < Int.max / 2 { bytes.reserveCapacity(Int(status.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw fail("read", path)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StorageError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                posixWrite(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw fail("write", path)
            }
            offset += written
        }
    }

    static func sync(_ fd: Int32, path: String) throws(StorageError) {
        guard fsync(fd) == 0 else { throw fail("fsync", path) }
    }

    static func syncDirectory(_ path: String) throws(StorageError) {
        let fd = posixOpen(path, O_RDONLY)
        guard fd >= 0 else { throw fail("open", path) }
        defer { posixClose(fd) }
        try sync(fd, path: path)
    }

    /// A new, empty, synced log file of this generation, open for appending.
    private static func createLog(directory: String, generation: UInt64) throws(StorageError) -> Int32 {
        let path = directory + "/" + logName(generation)
        let fd = posixOpen(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
        guard fd >= 0 else { throw fail("open", path) }
        do {
            try writeAll(fd, StorageCodec.logMagic, path: path)
            try sync(fd, path: path)
            try syncDirectory(directory)
        } catch {
            posixClose(fd)
            throw error
        }
        return fd
    }

    static func frame(_ payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(payload.count + 8)
        let length = UInt32(clamping: payload.count)
        let crc = CRC32.checksum(payload)
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: length >> UInt32(shift))) }
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
        bytes.append(contentsOf: payload)
        return bytes
    }

    private static func uint32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    /// Splits a log file into record payloads; returns the offset where valid records end.
    static func parseLog(_ bytes: [UInt8]) -> (records: [[UInt8]], validEnd: Int) {
        guard bytes.count >= StorageCodec.logMagic.count, Array(bytes[0..<8]) == StorageCodec.logMagic else { return ([], 0) }
        var records: [[UInt8]] = []
        var offset = StorageCodec.logMagic.count
        while offset + 8 <= bytes.count {
            let length = Int(uint32(bytes, offset))
            let crc = uint32(bytes, offset + 4)
            let start = offset + 8
            guard length <= bytes.count - start else { break }
            let payload = Array(bytes[start..<(start + length)])
            guard CRC32.checksum(payload) == crc else { break }
            records.append(payload)
            offset = start + length
        }
        return (records, offset)
    }

    /// A snapshot file's header: magic, `[u64 length][u32 CRC32]`; the payload follows.
    static func snapshotHeader(length: UInt64, crc: UInt32) -> [UInt8] {
        var bytes = StorageCodec.snapshotMagic
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: length >> UInt64(shift))) }
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
        return bytes
    }

    /// Writes a snapshot file as `encode` emits its payload, then the header (whose length and CRC come last).
    ///
    /// The payload is as large as the data, so building it whole (and a framed copy of it) would add that
    /// much again to the process's peak memory while the snapshot is written.
    static func writeSnapshot(_ fd: Int32, path: String, _ encode: (_ emit: ([UInt8]) -> Void) -> Void) throws(StorageError) {
        let placeholder = snapshotHeader(length: 0, crc: 0)
        try writeAll(fd, placeholder, path: path)
        var crc = CRC32.start
        var length: UInt64 = 0
        var failure: StorageError?
        encode { chunk in
            guard failure == nil else { return }
            do throws(StorageError) {
                try writeAll(fd, chunk, path: path)
            } catch {
                failure = error
            }
            crc = CRC32.update(crc, chunk)
            length += UInt64(chunk.count)
        }
        if let failure { throw failure }
        let header = snapshotHeader(length: length, crc: CRC32.finish(crc))
        let written = header.withUnsafeBytes { posixPwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == header.count else { throw fail("write", path) }
    }

    static func parseSnapshot(_ bytes: consuming [UInt8]) -> [UInt8]? {
        let header = StorageCodec.snapshotMagic.count + 12
        guard bytes.count >= header, Array(bytes[0..<8]) == StorageCodec.snapshotMagic else { return nil }
        var length: UInt64 = 0
        for index in 8..<16 { length = length << 8 | UInt64(bytes[index]) }
        let crc = uint32(bytes, 16)
        guard length == UInt64(bytes.count - header), CRC32.checksum(bytes[header...]) == crc else { return nil }
        // In place: no second copy of a payload as large as the data.
        var payload = consume bytes
        payload.removeFirst(header)
        return payload
    }

    /// Opens the data directory: finds the newest snapshot and the records after it, drops a torn tail, and
    /// leaves a log open for appending.
    static func open(directory: String, snapshotThreshold: Int) throws(StorageError) -> (CommitLog, Recovery) {
        if mkdir(directory, 0o755) != 0, errno != EEXIST { throw fail("mkdir", directory) }
        let lockPath = directory + "/LOCK"
        let lockDescriptor = posixOpen(lockPath, O_RDWR | O_CREAT, 0o644)
        guard lockDescriptor >= 0 else { throw fail("open", lockPath) }
        // A LOCK released an instant ago can still be held for a moment: a process forked by another thread
        // shares the lock's file description until its exec closes it (O_CLOEXEC). Wait briefly for that.
        var locked = flock(lockDescriptor, LOCK_EX | LOCK_NB) == 0
        for _ in 0..<100 where !locked && (errno == EWOULDBLOCK || errno == EINTR) {
            usleep(20_000)
            locked = flock(lockDescriptor, LOCK_EX | LOCK_NB) == 0
        }
        guard locked else {
            let error = fail("lock (is another node using this directory?)", lockPath)
            posixClose(lockDescriptor)
            throw error
        }
        do {
            return try open(directory: directory, lockDescriptor: lockDescriptor, snapshotThreshold: snapshotThreshold)
        } catch {
            posixClose(lockDescriptor)
            throw error
        }
    }

    private static func open(directory: String, lockDescriptor: Int32, snapshotThreshold: Int) throws(StorageError)
        -> (CommitLog, Recovery) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .io(operation: "list", path: directory, errno: EIO)
        }
        for name in names where name.hasSuffix(".tmp") { unlink(directory + "/" + name) }

        var snapshot: [UInt8]?
        var base: UInt64 = 0
        let snapshots = names.compactMap { parseGeneration(of: $0, prefix: "snapshot-", suffix: ".snap") }.sorted(by: >)
        for candidate in snapshots {
            if let payload = parseSnapshot(try readFile(directory + "/" + snapshotName(candidate))) {
                snapshot = payload
                base = candidate
                break
            }
        }
        let allLogs = names.compactMap { parseGeneration(of: $0, prefix: "commitlog-", suffix: ".log") }
        // Files older than the snapshot are covered by it; a crash during rotation can leave them behind.
        for old in allLogs where old < base { unlink(directory + "/" + logName(old)) }
        for old in snapshots where old < base { unlink(directory + "/" + snapshotName(old)) }
        let logs = allLogs.filter { $0 >= base }.sorted()
        var records: [[UInt8]] = []
        var dropped = 0
        var current: (generation: UInt64, size: Int)?
        for (index, log) in logs.enumerated() {
            let path = directory + "/" + logName(log)
            let bytes = try readFile(path)
            let (found, validEnd) = parseLog(bytes)
            records.append(contentsOf: found)
            let previous = current
            current = (log, max(validEnd, StorageCodec.logMagic.count))
            if validEnd < bytes.count {
                // A crash mid-write leaves a torn record: cut it off so later appends follow valid records.
                dropped = bytes.count - validEnd
                if validEnd < StorageCodec.logMagic.count {
                    // Not even a header: appends continue in the log before it (never truncate that one).
                    current = previous
                    unlink(path)
                } else {
                    let fd = posixOpen(path, O_WRONLY)
                    guard fd >= 0 else { throw fail("open", path) }
                    defer { posixClose(fd) }
                    guard ftruncate(fd, off_t(validEnd)) == 0 else { throw fail("ftruncate", path) }
                    try sync(fd, path: path)
                }
                for later in logs.dropFirst(index + 1) { unlink(directory + "/" + logName(later)) }
                break
            }
        }
        let descriptor: Int32
        let generation: UInt64
        let size: Int
        if let current {
            let path = directory + "/" + logName(current.generation)
            descriptor = posixOpen(path, O_WRONLY | O_APPEND)
            guard descriptor >= 0 else { throw fail("open", path) }
            generation = current.generation
            size = current.size
        } else {
            generation = base
            descriptor = try createLog(directory: directory, generation: generation)
            size = StorageCodec.logMagic.count
        }
        let log = CommitLog(directory: directory, lockDescriptor: lockDescriptor, descriptor: descriptor, generation: generation, logBytes: size,
                            snapshotThreshold: snapshotThreshold)
        log.start()
        return (log, Recovery(snapshot: snapshot, records: records, droppedTailBytes: dropped))
    }

    // MARK: - Appending

    /// Queues a record; it is durable once ``awaitDurable(_:)`` for the returned number returns.
    func append(_ payload: [UInt8]) -> LogSequenceNumber {
        let framed = Self.frame(payload)
        condition.lock()
        defer { condition.unlock() }
        let lsn = nextLSN
        nextLSN += 1
        logBytes += framed.count
        buffer.append(contentsOf: framed)
        condition.broadcast()
        return lsn
    }

    /// Whether the current log has grown past ``snapshotThreshold``.
    var needsSnapshot: Bool {
        condition.lock()
        defer { condition.unlock() }
        return logBytes > snapshotThreshold
    }

    /// Queues a snapshot of the state as of every record appended so far (encoded on the flusher thread);
    /// later records go to a fresh log.
    func rotate(snapshot encode: @escaping @Sendable (_ emit: ([UInt8]) -> Void) -> Void) {
        condition.lock()
        defer { condition.unlock() }
        generation += 1
        if !buffer.isEmpty {
            pending.append(.records(buffer))
            buffer = []
        }
        pending.append(.rotate(snapshot: encode, generation: generation))
        logBytes = StorageCodec.logMagic.count
        condition.broadcast()
    }

    /// The highest sequence number handed out so far.
    var lastLSN: LogSequenceNumber {
        condition.lock()
        defer { condition.unlock() }
        return nextLSN - 1
    }

    /// Suspends until the record `lsn` (and all before it) is on disk.
    func awaitDurable(_ lsn: LogSequenceNumber) async throws(StorageError) {
        let error: StorageError? = await withCheckedContinuation { continuation in
            condition.lock()
            if let failure {
                condition.unlock()
                continuation.resume(returning: failure)
            } else if durableLSN >= lsn {
                condition.unlock()
                continuation.resume(returning: nil)
            } else {
                waiters.append((lsn, continuation))
                condition.unlock()
            }
        }
        if let error { throw error }
    }

    // MARK: - Flusher

    private func start() {
        let thread = Thread { [self] in self.run() }
        thread.name = "cqlnode-commitlog"
        thread.start()
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty && buffer.isEmpty && !stopping { condition.wait() }
            if !buffer.isEmpty {
                pending.append(.records(buffer))
                buffer = []
            }
            if pending.isEmpty {
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let batch = pending
            pending = []
            let covered = nextLSN - 1
            condition.unlock()

            var error: StorageError?
            do {
                try flush(batch)
            } catch let failure {
                error = failure
            }

            condition.lock()
            var ready: [CheckedContinuation<StorageError?, Never>] = []
            if let error {
                failure = error
                ready = waiters.map(\.continuation)
                waiters = []
            } else {
                durableLSN = covered
                waiters.removeAll { waiter in
                    guard waiter.lsn <= covered else { return false }
                    ready.append(waiter.continuation)
                    return true
                }
            }
            condition.unlock()
            for continuation in ready { continuation.resume(returning: error) }
        }
    }

    private func flush(_ batch: [Item]) throws(StorageError) {
        condition.lock()
        let failed = failure
        condition.unlock()
        if let failed { throw failed }
        var dirty = false
        for item in batch {
            switch item {
            case let .records(bytes):
                try Self.writeAll(descriptor, bytes, path: directory + "/" + Self.logName(openGeneration))
                dirty = true
            case let .rotate(encode, generation):
                let oldPath = directory + "/" + Self.logName(openGeneration)
                if dirty { try Self.sync(descriptor, path: oldPath) }
                dirty = false
                let snapshotPath = directory + "/" + Self.snapshotName(generation)
                let temporary = snapshotPath + ".tmp"
                let fd = posixOpen(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                guard fd >= 0 else { throw Self.fail("open", temporary) }
                do {
                    try Self.writeSnapshot(fd, path: temporary, encode)
                    try Self.sync(fd, path: temporary)
                } catch {
                    posixClose(fd)
                    throw error
                }
                posixClose(fd)
                guard rename(temporary, snapshotPath) == 0 else { throw Self.fail("rename", temporary) }
                try Self.syncDirectory(directory)
                let fresh = try Self.createLog(directory: directory, generation: generation)
                posixClose(descriptor)
                descriptor = fresh
                let previous = openGeneration
                openGeneration = generation
                for old in stride(from: Int64(previous), to: Int64(generation), by: 1) {
                    unlink(directory + "/" + Self.logName(UInt64(old)))
                    unlink(directory + "/" + Self.snapshotName(UInt64(old)))
                }
                try Self.syncDirectory(directory)
            }
        }
        if dirty { try Self.sync(descriptor, path: directory + "/" + Self.logName(openGeneration)) }
    }

    /// Flushes what is queued, stops the flusher thread and closes the log.
    func close() {
        shutDown(dropPending: false)
    }

    private func shutDown(dropPending: Bool) {
        condition.lock()
        if dropPending {
            pending = []
            buffer = []
        }
        stopping = true
        condition.broadcast()
        while !stopped { condition.wait() }
        let first = !closed
        closed = true
        // Nothing will be written any more: whoever still waits (or waits later) learns it rather than hanging.
        let closedError = StorageError.io(operation: "append to closed commit log", path: directory, errno: EBADF)
        if failure == nil { failure = closedError }
        let orphans = waiters.map(\.continuation)
        waiters = []
        condition.unlock()
        for continuation in orphans { continuation.resume(returning: closedError) }
        guard first else { return }
        posixClose(descriptor)
        posixClose(lockDescriptor)
    }

    /// Stops the flusher without flushing what is queued, as a crash would (tests only).
    func abandon() {
        shutDown(dropPending: true)
    }
}
