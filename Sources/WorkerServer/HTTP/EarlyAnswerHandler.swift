import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose answer was sent before its request body arrived in full (a 413 for
/// a body over the limit, a 401 before the body was read), the way nginx does: the answer gets
/// `Connection: close`, the rest of the body is read and discarded (at most
/// ``maximumDrainBytes`` or ``maximumDrainTime``) so a client that sends its whole body before
/// reading, such as Python's urllib, finishes sending and reads the answer, then the connection is
/// closed.
///
/// Without it Hummingbird stops reading a `Connection: close` request once answered and waits for
/// the client to close, while the client waits, blocked in `send`, for the server to read: both
/// hang. A keep-alive request's rest would be read without bound instead.
final class EarlyAnswerHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        case serving
        /// Answered early: the rest of the request is read and dropped.
        case draining
        /// Closing: anything still read is dropped.
        case closed
    }

    /// The most body bytes read and thrown away after an early answer before the connection is closed anyway.
    static let maximumDrainBytes = 16 << 20
    /// How long the rest of a body is read after an early answer before the connection is closed anyway.
    static let maximumDrainTime = TimeAmount.seconds(10)

    private var requestsEnded = 0
    /// Per request not yet answered, in order: whether it asked for `Connection: close`.
    private var closeAsked: [Bool] = []
    private var answersStarted = 0
    /// Set when an answer went out before its request's end: the connection closes after it.
    private var closeAfterAnswer = false
    private var state = State.serving
    private var discarded = 0
    private var drainDeadline: Scheduled<Void>?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch state {
        case .serving:
            break
        case .closed:
            return
        case .draining:
            switch part {
            case let .body(buffer):
                discarded += buffer.readableBytes
                if discarded > Self.maximumDrainBytes { close(context) }
            case .end, .head:
                close(context)
            }
            return
        }
        switch part {
        case let .head(request):
            closeAsked.append(request.headerFields[.connection].map { $0.lowercased().contains("close") } ?? false)
        case .end:
            requestsEnded += 1
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Hummingbird stopped reading (back-pressure of a request nobody consumes): read on regardless.
        if state == .draining { context.read() }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case var .head(answer) where answer.status.kind != .informational:
            answersStarted += 1
            let asked = closeAsked.isEmpty ? false : closeAsked.removeFirst()
            // Answers go out in request order, so this is the answer to request number `answersStarted`.
            let early = requestsEnded < answersStarted
            if early { closeAfterAnswer = true }
            // Hummingbird closes after answering a request that asked for it, without saying so.
            if early || asked {
                answer.headerFields[.connection] = "close"
                context.write(wrapOutboundOut(.head(answer)), promise: promise)
                return
            }
        case .end where closeAfterAnswer:
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            context.writeAndFlush(data, promise: written)
            startDraining(context)
            if requestsEnded >= answersStarted {
                // The body arrived meanwhile: nothing to drain; close once the answer is out.
                written.futureResult.assumeIsolated().whenComplete { [self] _ in close(context) }
            }
            return
        default:
            break
        }
        context.write(data, promise: promise)
    }

    private func startDraining(_ context: ChannelHandlerContext) {
        state = .draining
        drainDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: Self.maximumDrainTime) { [self] in
            close(context)
        }
        context.read()
    }

    private func close(_ context: ChannelHandlerContext) {
        drainDeadline?.cancel()
        drainDeadline = nil
        guard state != .closed else { return }
        state = .closed
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        drainDeadline?.cancel()
        drainDeadline = nil
        context.fireChannelInactive()
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 as the worker serves it: Hummingbird's, with early answers closing their connection
    /// (``EarlyAnswerHandler``).
    static var worker: HTTPServerBuilder {
        .http1(configuration: HTTP1Channel.Configuration(additionalChannelHandlers: [EarlyAnswerHandler()]))
    }
}
