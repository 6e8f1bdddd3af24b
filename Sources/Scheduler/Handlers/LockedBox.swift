import Foundation

/// A value shared between a handler's task and callbacks that Foundation runs on its own threads
/// (URLSession completion, Process termination, a reader thread).
///
/// `@unchecked Sendable` is sound because `value` is only touched inside `withLock`, under `lock`.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
