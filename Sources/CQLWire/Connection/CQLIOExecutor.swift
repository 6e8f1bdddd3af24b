#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A `TaskExecutor` that runs tasks on the thread doing the I/O of the connections attached to it,
/// the way an event loop does (SE-0417 task executor preference).
///
/// The thread waits on the sockets of its connections and on a wake-up pipe, decodes the answers
/// that arrived, resumes the requests waiting for them, runs the jobs that became ready (tasks
/// preferring this executor land here, without a hop through the cooperative pool), then writes
/// every frame those jobs sent with one syscall per connection and waits again.
///
/// Opt in per task: `withTaskExecutorPreference(executor) { ... }`, `Task(executorPreference:)`,
/// or ``CQLSession/withIOExecutor(isolation:_:)``. Work run here must never block (no locks held
/// for long, no blocking I/O, no `DispatchSemaphore.wait`): it stalls every connection of the
/// executor. Tasks without the preference are unaffected. After ``shutdown()`` the executor
/// closes its connections and hands later jobs to the global concurrent executor, so a task that
/// still prefers it keeps running.
public final class CQLIOExecutor: TaskExecutor, Sendable {
    private struct State: Sendable {
        var jobs: [UnownedJob] = []
        /// The loop is (about to be) asleep in `poll`: the next enqueuer must wake it.
        var sleeping = false
        var shutDown = false
        /// Connections attached since the loop last looked (it owns the list it polls).
        var attached: [CQLConnection] = []
    }

    /// The name given to the executor's `Thread`.
    public let name: String

    private let state = Mutex(State())
    /// The loop thread's id (0 before it started), for the cheap "am I on it" check of the write path.
    private let threadID = Atomic<UInt>(0)
    /// The read and write ends of the wake-up pipe; both non-blocking.
    private let wakeRead: Int32
    private let wakeWrite: Int32

    /// Starts the executor's thread; it runs until ``shutdown()``.
    public init(name: String = "cqlwire-io") {
        self.name = name
        var fds: [Int32] = [-1, -1]
        // A pipe rather than an eventfd: portable, and a wake-up costs the same one write.
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    /// Whether the calling thread is this executor's thread.
    public var isCurrentThread: Bool {
        threadID.load(ordering: .relaxed) == currentThreadID()
    }

    /// Stops the loop: its connections close (their requests fail with
    /// ``CQLError/connectionClosed(endpoint:reason:)``), queued jobs still run, later ones run on
    /// the global concurrent executor. Idempotent.
    public func shutdown() {
        let wake = state.withLock { state -> Bool in
            guard !state.shutDown else { return false }
            state.shutDown = true
            return true
        }
        if wake { poke() }
    }

    /// Runs `job` on the executor's thread (on the global concurrent executor once shut down).
    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let (accepted, wake) = state.withLock { state -> (Bool, Bool) in
            guard !state.shutDown else { return (false, false) }
            state.jobs.append(unowned)
            defer { state.sleeping = false }
            return (true, state.sleeping)
        }
        if wake { poke() }
        if !accepted { globalConcurrentExecutor.enqueue(ExecutorJob(unowned)) }
    }

    /// Hands `connection` to the loop, which then reads its socket; false once shut down.
    func attach(_ connection: CQLConnection) -> Bool {
        let accepted = state.withLock { state -> Bool in
            guard !state.shutDown else { return false }
            state.attached.append(connection)
            return true
        }
        if accepted { poke() }
        return accepted
    }

    private func poke() {
        guard wakeWrite >= 0 else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    /// The loop: attach, wait, read, run jobs, flush; until shut down.
    private func run() {
        threadID.store(currentThreadID(), ordering: .relaxed)
        // Without a wake-up pipe (descriptors exhausted) remote jobs are noticed by polling every 10 ms.
        let sleepTimeout: Int32 = wakeRead >= 0 ? -1 : 10
        let executor = asUnownedTaskExecutor()
        var connections: [CQLConnection] = []
        var polled = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        var batch: [UnownedJob] = []
        var scratch = [UInt8](repeating: 0, count: 64)
        while true {
            let (attached, block, shutDown) = state.withLock { state -> ([CQLConnection], Bool, Bool) in
                var attached: [CQLConnection] = []
                if !state.attached.isEmpty { swap(&attached, &state.attached) }
                let block = state.jobs.isEmpty
                if block { state.sleeping = true }
                return (attached, block, state.shutDown)
            }
            if shutDown { break }
            if !attached.isEmpty {
                for connection in attached {
                    guard let fd = connection.pollableDescriptor else { continue }
                    connections.append(connection)
                    polled.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
                }
            }
            var ready: Int32
            repeat {
                ready = poll(&polled, nfds_t(polled.count), block ? sleepTimeout : 0)
            } while ready < 0 && errno == EINTR
            // Awake again: the jobs the reads below resume must not poke the pipe (a wasted write,
            // and a wasted wake-up on the next poll).
            if block { state.withLock { $0.sleeping = false } }
            if ready > 0 {
                if polled[0].revents != 0 { _ = read(wakeRead, &scratch, scratch.count) }
                var index = connections.count
                while index > 0 {
                    index -= 1
                    guard polled[index + 1].revents != 0 else { continue }
                    polled[index + 1].revents = 0
                    if !connections[index].readAvailable() {
                        connections.remove(at: index)
                        polled.remove(at: index + 1)
                    }
                }
            }
            // Jobs the reads woke and jobs enqueued meanwhile; a few rounds so tasks that a job
            // resumed still write in this iteration's flush, bounded so the sockets are polled again.
            for _ in 0..<4 {
                state.withLock { state in
                    state.sleeping = false
                    swap(&batch, &state.jobs)
                }
                if batch.isEmpty { break }
                for job in batch { job.runSynchronously(on: executor) }
                batch.removeAll(keepingCapacity: true)
            }
            for connection in connections { connection.flushDeferredWrites() }
        }
        for connection in connections { connection.executorShutDown() }
        let (remaining, late) = state.withLock { state -> ([UnownedJob], [CQLConnection]) in
            defer {
                state.jobs = []
                state.attached = []
            }
            return (state.jobs, state.attached)
        }
        for connection in late { connection.executorShutDown() }
        for job in remaining { job.runSynchronously(on: executor) }
        // The thread id may be reused by a later thread, which must not pass for this executor's.
        threadID.store(0, ordering: .relaxed)
    }

    deinit {
        // Only here: an enqueuer racing with the shutdown may still poke, and holds a reference while it does.
        if wakeRead >= 0 { _ = close(wakeRead) }
        if wakeWrite >= 0 { _ = close(wakeWrite) }
    }
}

/// The calling thread's pthread id as an integer.
func currentThreadID() -> UInt {
    #if canImport(Glibc)
    UInt(pthread_self())
    #else
    UInt(bitPattern: pthread_self())
    #endif
}
