/// The handlers a worker can run, keyed by kind.
public struct HandlerRegistry: Sendable {
    private var handlers: [String: any JobHandler] = [:]

    /// An empty registry.
    public init() {}

    /// The built-in kinds: `noop`, `sleep`, `echo`, `http`, and `shell` only when `shell` is
    /// given (running commands from job payloads is an explicit opt-in).
    public static func builtIns(http: HTTPHandler = HTTPHandler(), shell: ShellHandler? = nil) -> HandlerRegistry {
        var registry = HandlerRegistry()
        registry.register(NoopHandler())
        registry.register(SleepHandler())
        registry.register(EchoHandler())
        registry.register(http)
        if let shell { registry.register(shell) }
        return registry
    }

    /// Adds a handler under its kind, replacing any handler registered for that kind.
    public mutating func register(_ handler: some JobHandler) {
        handlers[type(of: handler).kind] = handler
    }

    /// The handler for a kind, nil when none is registered.
    public func handler(for kind: String) -> (any JobHandler)? {
        handlers[kind]
    }

    /// The registered kinds (what request validation accepts).
    public var kinds: Set<String> {
        Set(handlers.keys)
    }
}
