import CQLCodec
import NIOCore

/// Drives one client connection: bytes go through the ``ServerConnectionStateMachine``, statements
/// run concurrently on the ``QueryHandler`` (a task per request), answers go out in whatever
/// order they finish, coalesced into one flush per event-loop tick.
///
/// Every method runs on the channel's event loop; tasks hop back to it through `NIOLoopBound`.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var machine: ServerConnectionStateMachine
    private let handler: any QueryHandler
    private let events: EventBus
    private let faults: FaultInjection?
    private let registry: ConnectionRegistry
    private let maxConcurrentRequests: Int
    private var readingPaused = false
    private var context: ChannelHandlerContext?
    private var flushScheduled = false
    private var tasks: [Int: Task<Void, Never>] = [:]
    private var nextTaskID = 0
    private var isOpen = true

    init(configuration: ServerConnectionStateMachine.Configuration, handler: any QueryHandler, events: EventBus,
         faults: FaultInjection?, registry: ConnectionRegistry, maxConcurrentRequests: Int) {
        machine = ServerConnectionStateMachine(configuration: configuration)
        self.maxConcurrentRequests = max(1, maxConcurrentRequests)
        self.handler = handler
        self.events = events
        self.faults = faults
        self.registry = registry
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        if !registry.add(context.channel) {
            // The server is shutting down; a connection accepted in the meantime is not served.
            context.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        events.unregister(ObjectIdentifier(self))
        registry.remove(context.channel)
        for task in tasks.values { task.cancel() }
        tasks.removeAll()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let actions = buffer.withUnsafeReadableBytes { machine.receive($0) }
        perform(actions, context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Socket errors (a reset from the peer) end the connection; nothing can be answered.
        context.close(promise: nil)
    }

    private func perform(_ actions: [ServerConnectionStateMachine.Action], context: ChannelHandlerContext) {
        var lastWrite: EventLoopFuture<Void>?
        for action in actions {
            switch action {
            case let .write(bytes):
                lastWrite = context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)))
            case let .dispatch(request):
                dispatch(request, context: context)
            case let .register(eventTypes):
                let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                let eventLoop = context.eventLoop
                events.register(ObjectIdentifier(self), eventTypes: eventTypes) { event in
                    eventLoop.execute { bound.value.deliver(event) }
                }
            case .close:
                close(after: lastWrite, context: context)
                return
            }
        }
    }

    /// Closes once the writes queued so far reached the socket, so a final error is not lost.
    private func close(after lastWrite: EventLoopFuture<Void>?, context: ChannelHandlerContext) {
        isOpen = false
        context.flush()
        guard let lastWrite else {
            context.close(promise: nil)
            return
        }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        lastWrite.whenComplete { _ in bound.value.close(promise: nil) }
    }

    private func dispatch(_ request: DispatchedRequest, context: ChannelHandlerContext) {
        let requestContext = RequestContext(stream: request.stream, protocolVersion: request.version,
                                            tracing: request.tracing, customPayload: request.customPayload,
                                            session: machine.session, events: events,
                                            localAddress: context.channel.localAddress,
                                            remoteAddress: context.channel.remoteAddress)
        let taskID = nextTaskID
        nextTaskID &+= 1
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        tasks[taskID] = Self.start(request, context: requestContext, handler: handler, faults: faults) { outcome in
            eventLoop.execute { bound.value.complete(taskID: taskID, outcome: outcome) }
        }
        if tasks.count >= maxConcurrentRequests, !readingPaused {
            // Back-pressure: the client's further frames wait in the kernel until answers drain.
            readingPaused = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
    }

    /// The task running one request; built from Sendable values only, away from the handler's state.
    private static func start(_ request: DispatchedRequest, context: RequestContext, handler: any QueryHandler,
                              faults: FaultInjection?,
                              completion: @escaping @Sendable (Outcome) -> Void) -> Task<Void, Never> {
        Task {
            completion(await run(request, context: context, handler: handler, faults: faults))
        }
    }

    /// How a dispatched request ends.
    enum Outcome: Sendable {
        /// Send this frame.
        case respond([UInt8])
        /// Send nothing (an injected timeout).
        case silence
        /// Close the connection (an injected drop).
        case drop
    }

    /// Runs a request through the faults and the handler, off the event loop.
    static func run(_ request: DispatchedRequest, context: RequestContext, handler: any QueryHandler,
                    faults: FaultInjection?) async -> Outcome {
        let fault = faults?.fault(for: request.request)
        if let fault, fault.timing == .beforeExecution {
            switch fault.action {
            case .timeout: return .silence
            case .dropConnection: return .drop
            case let .delay(duration): try? await Task.sleep(for: duration)
            case .unavailable, .writeTimeoutCAS, .writeTimeout, .readTimeout, .answer:
                if let error = FaultInjection.error(for: fault.action, request: request.request) {
                    return .respond(request.encode(.error(error)))
                }
            }
        }
        let lag = faults?.schemaLag
        if let table = lag?.unknownTable(in: request.request) {
            return .respond(request.encode(.error(ServerError(.invalid, message: "unconfigured table \(table)"))))
        }
        var response = await handler.handle(request.request, context: context)
        if let lag { response = lag.rewriting(response, of: request.request) }
        if let fault, fault.timing == .afterExecution {
            switch fault.action {
            case .timeout: return .silence
            case .dropConnection: return .drop
            case let .delay(duration): try? await Task.sleep(for: duration)
            case .unavailable, .writeTimeoutCAS, .writeTimeout, .readTimeout, .answer:
                if let error = FaultInjection.error(for: fault.action, request: request.request) {
                    return .respond(request.encode(.error(error)))
                }
            }
        }
        return .respond(request.encode(response))
    }

    private func complete(taskID: Int, outcome: Outcome) {
        tasks[taskID] = nil
        guard isOpen, let context else { return }
        if readingPaused, tasks.count < maxConcurrentRequests / 2 + 1 {
            readingPaused = false
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
        }
        switch outcome {
        case let .respond(bytes):
            context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
            scheduleFlush(context: context)
        case .silence:
            break
        case .drop:
            isOpen = false
            context.close(promise: nil)
        }
    }

    private func deliver(_ event: Event) {
        guard isOpen, let context else { return }
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: machine.eventFrame(event))), promise: nil)
        scheduleFlush(context: context)
    }

    /// One flush for all answers finishing in the same event-loop tick.
    private func scheduleFlush(context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = bound.value
            handler.flushScheduled = false
            handler.context?.flush()
        }
    }
}
