import Foundation

/// A value guarded by a lock, for state shared between a connection's reader thread and its callers.
///
/// `@unchecked Sendable` is sound because `value` is only reachable through ``withLock(_:)``,
/// which holds `lock` for the whole access; `Value` itself must be `Sendable` so nothing
/// non-thread-safe escapes the closure.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// Runs blocking work (connect, DNS) on a fresh thread, never on Swift's cooperative pool.
func runOnDedicatedThread<T: Sendable>(name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.name = name
        thread.start()
    }
}
