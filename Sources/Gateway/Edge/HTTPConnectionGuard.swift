import NIOCore
import NIOHTTP1

/// The limits of contract §4 on plain HTTP connections, against slow and abusive clients:
/// - `BROKER_HTTP_HEAD_TIMEOUT`: a request's line and headers must arrive within it from their first byte;
///   otherwise `408` (no response is in progress then, so one can be written) and the connection is closed;
/// - `BROKER_HTTP_IDLE_TIMEOUT`: a connection with no request in flight (a fresh one that sends nothing, or a
///   kept-alive one between requests) is closed after it;
/// - `BROKER_MAX_HEADER_BYTES`: a request line plus headers larger than it gets `431` and a close.
///
/// Two handlers share this state: ``HTTPHeadGuardHandler`` first in the pipeline sees raw bytes (it counts a
/// head's bytes up to its blank line and writes the `408` and `431` itself, below the HTTP encoder), and
/// ``HTTPRequestGuardHandler`` right after NIO's HTTP decoder sees requests begin and responses end. An upgraded
/// WebSocket removes both and keeps its own idle rule. Hand-written: neither NIO nor Hummingbird bounds a head's
/// arrival time, and NIO's decoder does not bound the request line.
package final class HTTPConnectionGuard {
    /// The limits (contract §4 defaults).
    package struct Limits: Sendable {
        /// `BROKER_HTTP_HEAD_TIMEOUT`.
        package var headTimeout: TimeAmount = .seconds(10)
        /// `BROKER_HTTP_IDLE_TIMEOUT`.
        package var idleTimeout: TimeAmount = .seconds(60)
        /// `BROKER_MAX_HEADER_BYTES`.
        package var maxHeadBytes = 16_384

        /// The defaults.
        package init() {}
    }

    private enum Phase {
        /// No request in flight: the idle timer runs.
        case idle
        /// A head is arriving: its bytes so far, and how much of the blank line (`\r\n\r\n`) ends them.
        case head(bytes: Int, matched: Int)
        /// A request is in flight (body or response); its bytes are the decoder's business.
        case request
    }

    let limits: Limits
    private var phase = Phase.idle
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private var ended = false

    init(limits: Limits) { self.limits = limits }

    /// The two handlers, in pipeline order: raw bytes first, then requests after the decoder.
    func handlers() -> (head: HTTPHeadGuardHandler, request: HTTPRequestGuardHandler) {
        (HTTPHeadGuardHandler(guard: self), HTTPRequestGuardHandler(guard: self))
    }

    fileprivate func attach(_ context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { becomeIdle() }
    }

    fileprivate func channelActive() { becomeIdle() }

    /// Stops every timer: the connection closed, or became a WebSocket.
    func end() {
        ended = true
        timer?.cancel()
        timer = nil
        context = nil
    }

    /// Counts raw inbound bytes of a head. Returns false when the head is too large (answered and closing).
    fileprivate func received(_ buffer: ByteBuffer) -> Bool {
        guard !ended else { return true }
        var bytes: Int
        var matched: Int
        switch phase {
        case .request:
            return true
        case .idle:
            guard buffer.readableBytes > 0 else { return true }
            bytes = 0
            matched = 0
            arm(limits.headTimeout) { $0.headTimedOut() }
        case .head(let soFar, let partial):
            bytes = soFar
            matched = partial
        }
        let terminator: [UInt8] = [13, 10, 13, 10]
        for byte in buffer.readableBytesView {
            bytes += 1
            if byte == terminator[matched] {
                matched += 1
            } else {
                matched = byte == 13 ? 1 : 0
            }
            if matched == 4 {
                phase = .request
                disarm()
                return true
            }
            if bytes > limits.maxHeadBytes {
                reject(status: .requestHeaderFieldsTooLarge, detail: "request head larger than \(limits.maxHeadBytes) bytes")
                return false
            }
        }
        phase = .head(bytes: bytes, matched: matched)
        return true
    }

    /// The decoder produced a request head: it is in flight (also for a pipelined one the raw count missed).
    fileprivate func requestBegan() {
        guard !ended else { return }
        phase = .request
        disarm()
    }

    /// A response ended: the connection is idle until the next request's first byte.
    fileprivate func responseEnded() {
        guard !ended, case .request = phase else { return }
        becomeIdle()
    }

    private func becomeIdle() {
        guard !ended else { return }
        phase = .idle
        arm(limits.idleTimeout) { $0.context?.close(promise: nil) }
    }

    private func headTimedOut() {
        guard case .head = phase else { return }
        reject(status: .requestTimeout, detail: "request head not received within \(limits.headTimeout.nanoseconds / 1_000_000_000) s")
    }

    /// Answers a request NIO's decoder could not parse with `400` and closes (nothing else would for a first
    /// request: NIO's upgrade handler waits for a head that never comes).
    fileprivate func malformed() {
        guard !ended else { return }
        reject(status: .badRequest, detail: "malformed HTTP request")
    }

    /// Writes a complete error response in the contract's shape as raw bytes, then closes.
    private func reject(status: HTTPResponseStatus, detail: String) {
        guard let context else { return }
        let body = #"{"errors":{"detail":"\#(detail)"}}"#
        let head =
            "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\ncontent-type: application/json; charset=utf-8\r\n"
            + "content-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n"
        end()
        let channel = context.channel
        context.writeAndFlush(NIOAny(channel.allocator.buffer(string: head + body))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    private func arm(_ delay: TimeAmount, _ action: @escaping (HTTPConnectionGuard) -> Void) {
        timer?.cancel()
        guard let context else { return }
        let loop = context.eventLoop
        timer = loop.assumeIsolated().scheduleTask(in: delay) { [self] in
            self.timer = nil
            action(self)
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}

/// The raw-bytes half of ``HTTPConnectionGuard``, first in the pipeline.
final class HTTPHeadGuardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let connectionGuard: HTTPConnectionGuard

    init(guard connectionGuard: HTTPConnectionGuard) { self.connectionGuard = connectionGuard }

    func handlerAdded(context: ChannelHandlerContext) { connectionGuard.attach(context) }

    func handlerRemoved(context: ChannelHandlerContext) { connectionGuard.end() }

    func channelActive(context: ChannelHandlerContext) {
        connectionGuard.channelActive()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connectionGuard.end()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard connectionGuard.received(unwrapInboundIn(data)) else { return }  // too large: answered, closing
        context.fireChannelRead(data)
    }
}

/// The request half of ``HTTPConnectionGuard``, right after NIO's HTTP decoder.
final class HTTPRequestGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let connectionGuard: HTTPConnectionGuard

    init(guard connectionGuard: HTTPConnectionGuard) { self.connectionGuard = connectionGuard }

    /// Between a request's head and its response's end.
    private var responding = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            responding = true
            connectionGuard.requestBegan()
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError, !responding {
            connectionGuard.malformed()
            return
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            responding = false
            connectionGuard.responseEnded()
        }
        context.write(data, promise: promise)
    }
}
