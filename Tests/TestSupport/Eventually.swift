/// Polls `condition` every `interval` until it holds or `timeout` has passed on the continuous
/// clock, then asks once more: whether it held. For `#expect(await eventually { ... })`.
public func eventually(
    timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline, !Task.isCancelled {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// Polls `condition` like ``eventually(timeout:every:_:)`` and throws a ``TestSupportError`` naming
/// `what` (and `context()`, such as the output of the processes involved) when it never held.
public func eventually(
    _ what: String, timeout: Duration = .seconds(60), every interval: Duration = .milliseconds(200),
    context: () -> String = { "" }, _ condition: () async throws -> Bool
) async throws {
    guard try await eventually(timeout: timeout, every: interval, condition) else {
        let detail = context()
        throw TestSupportError("\(what) did not happen within \(timeout)" + (detail.isEmpty ? "" : "\n\(detail)"))
    }
}
