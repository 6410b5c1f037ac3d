import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Hummingbird's HTTP/1.1 child channel plus the `/socket/websocket` upgrade, built for this broker.
///
/// Hand-written after hummingbird-websocket's `HTTP1WebSocketUpgradeChannel` (same NIO upgrade handler, same
/// HTTP path), because that channel keeps a task, a `NIOAsyncChannel` and swift-websocket's handler for the
/// life of every socket, and answers every refused upgrade with an empty `400` itself. Here:
/// - an upgraded socket is plain NIO: ``SocketHandler`` on the channel's event loop, and nothing else per
///   socket but its ``Connection``; the connection's serving task ends at the upgrade;
/// - a refused upgrade is answered with the contract's status and error body (``SocketEndpoint`` decides
///   which), then the connection is closed. (NIO's upgrade handler does not pass a refused upgrade request on
///   to the HTTP handlers, so the router cannot answer it.)
struct BrokerServerChannel: ServerChildChannel, HTTPChannelHandler {
    enum UpgradeResult: Sendable {
        /// The socket is open and runs by itself.
        case webSocket
        /// HTTP.
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// The first request asked for an upgrade, which was refused with this error.
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, APIError, SocketEndpoint.UpgradeEdge)
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    var responder: HTTPChannelHandler.Responder
    let endpoint: SocketEndpoint
    let http1: HTTP1Channel.Configuration
    let limits: HTTPConnectionGuard.Limits

    init(
        responder: @escaping HTTPChannelHandler.Responder,
        endpoint: SocketEndpoint,
        limits: HTTPConnectionGuard.Limits,
        http1: HTTP1Channel.Configuration = .init()
    ) {
        self.responder = responder
        self.endpoint = endpoint
        self.limits = limits
        self.http1 = http1
    }

    /// The receive buffer sizes: 512 bytes at first (an upgrade request, a Phoenix frame), up to 64 KiB.
    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65_536)

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // NIO keeps each channel's receive buffer for reuse, at the size of its first read (2 KiB by
            // default) or larger: starting small keeps an idle socket's share small; reads of big request
            // bodies grow it as needed.
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveBuffers)
            // What the upgrade check decided, for this connection's one upgrade attempt.
            let decision = NIOLockedValueBox<(Result<SocketEndpoint.Admission, APIError>, SocketEndpoint.UpgradeEdge)?>(nil)
            let endpoint = self.endpoint
            let guards = HTTPConnectionGuard(limits: self.limits).handlers()
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: endpoint.configuration.maxFrameBytes,
                shouldUpgrade: { channel, head in
                    let promise = channel.eventLoop.makePromise(of: HTTPHeaders?.self)
                    // NIO's bridge from the upgrader's callback to async code (a task per upgrade attempt, ended by
                    // the admission's answer): the upgrader offers no structured alternative.
                    let edge = endpoint.edge(peer: channel.remoteAddress?.ipAddress) { head.headers[$0] }
                    promise.completeWithTask {
                        let result: Result<SocketEndpoint.Admission, APIError>
                        do throws(APIError) {
                            let admission = try await endpoint.admit(
                                method: head.method,
                                target: head.uri,
                                origin: head.headers.first(name: "origin"),
                                edge: edge
                            )
                            try endpoint.reserve(admission, on: channel)
                            result = .success(admission)
                        } catch {
                            result = .failure(error)
                        }
                        decision.withLockedValue { $0 = (result, edge) }
                        if case .success = result { return HTTPHeaders([("x-request-id", edge.requestID)]) }
                        return nil
                    }
                    return promise.futureResult
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .success(let admission) = decision.withLockedValue({ $0?.0 }) else {
                            throw NIOWebSocketUpgradeError.unsupportedWebSocketTarget
                        }
                        try Self.removeGuards(from: channel)
                        try endpoint.open(admission, on: channel, logger: logger)
                        return UpgradeResult.webSocket
                    }
                }
            )
            let http1 = self.http1
            let upgrade = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandlers(http1.additionalChannelHandlers())
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: http1.idleTimeout.map { .init($0) }, logger: logger)
                        )
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        if let (result, edge) = decision.withLockedValue({ $0 }), case .failure(let error) = result {
                            return UpgradeResult.refused(asyncChannel, error, edge)
                        }
                        return UpgradeResult.http(asyncChannel)
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(upgradeConfiguration: upgrade)
            configuration.enablePipelining = false  // HTTP is pipelined by NIOAsyncChannel
            configuration.enableErrorHandling = false  // handled by Hummingbird
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validates them already
            configuration.decoderConfiguration.maxHeaderFieldSize = http1.httpDecoder.maxHeaderFieldSize
            configuration.decoderConfiguration.maxHeaderListSize = http1.httpDecoder.maxHeaderListSize
            configuration.decoderConfiguration.maxHeaderFieldCount = http1.httpDecoder.maxHeaderFieldCount
            // A head's line and headers are bounded by the guard; the decoder's own bounds are a second line.
            configuration.decoderConfiguration.maxHeaderListSize = min(
                configuration.decoderConfiguration.maxHeaderListSize,
                self.limits.maxHeadBytes
            )
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(guards.head, position: .first)
            try pipeline.addHandler(guards.request, position: .after(try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)))
            return Value(upgradeResult: result, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .webSocket:
                return
            case .http(let asyncChannel):
                var channel = self
                channel.responder = Self.laterUpgradeResponder(responder, endpoint: endpoint, logger: logger)
                await channel.handleHTTP(asyncChannel: asyncChannel, logger: logger)
            case .refused(let asyncChannel, let error, let edge):
                await Self.refuse(asyncChannel, with: error, edge: edge, logger: logger)
            }
        } catch let error as ChannelError where error == .inputClosed {
            logger.trace("connection closed before its first request")
            value.channel.close(promise: nil)
        } catch {
            // A first request NIO could not parse, for one: nothing else would ever close the connection.
            logger.debug("connection setup failed", metadata: ["error": "\(error)"])
            value.channel.close(promise: nil)
        }
    }

    private struct CloseConnection: Error {}

    /// A refused upgrade's answer, whichever request of the connection asked: counted, logged, and headed so
    /// that the connection closes after it and the request id is echoed.
    private static func refusal(
        _ error: APIError,
        edge: SocketEndpoint.UpgradeEdge,
        logger: Logger
    ) -> (headers: HTTPFields, body: ByteBuffer) {
        GatewayMetrics.errors("upgrade refused").increment()
        SocketEndpoint.logRefusal(status: error.status.code, edge: edge, logger: logger)
        let body = error.body
        var headers = error.headerFields
        headers[.connection] = "close"
        headers[RequestID.field] = edge.requestID
        headers[.contentLength] = String(body.readableBytes)
        return (headers, body)
    }

    /// Answers a refused upgrade with its error and closes the connection.
    private static func refuse(
        _ asyncChannel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>,
        with error: APIError,
        edge: SocketEndpoint.UpgradeEdge,
        logger: Logger
    ) async {
        let (headers, body) = refusal(error, edge: edge, logger: logger)
        do {
            try await asyncChannel.executeThenClose { _, outbound in
                try await outbound.write(contentsOf: [.head(HTTPResponse(status: error.status, headerFields: headers)), .body(body), .end(nil)])
            }
        } catch {
            logger.trace("refused upgrade not answered", metadata: ["error": "\(error)"])
        }
    }

    /// NIO upgrades only a connection's first request; an upgrade asked for later on a kept-alive connection
    /// (proxies reuse backend connections this way) reaches the router's responder, and is served here the same
    /// way: refused with the contract's status and body (then the connection closes), or switched to a socket
    /// in place. Never a redirect: a WebSocket handshake fails on any 3xx.
    ///
    /// The switch happens on the channel's event loop: the `101` goes out through NIO's HTTP encoder, the frame
    /// handlers and ``SocketHandler`` go in right after the HTTP decoder, and the HTTP handlers come out (the
    /// decoder last, so bytes it holds past the request reach the frame decoder). Hummingbird's serving task
    /// for the connection waits here until the socket closes, since ending it would close the channel; so a
    /// socket opened this way costs that one suspended task more than one opened by a first request.
    private static func laterUpgradeResponder(
        _ responder: @escaping HTTPChannelHandler.Responder,
        endpoint: SocketEndpoint,
        logger: Logger
    ) -> HTTPChannelHandler.Responder {
        { request, writer, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                try await responder(request, writer, channel)
                return
            }
            var target = request.uri.path
            if let query = request.uri.query { target += "?\(query)" }
            var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method.rawValue), uri: target)
            for field in request.headers { head.headers.add(name: field.name.rawName, value: field.value) }
            let admission: SocketEndpoint.Admission
            var accept: HTTPHeaders
            let edge = endpoint.edge(peer: channel.remoteAddress?.ipAddress) { head.headers[$0] }
            do {
                accept = try await Self.handshakeHeaders(for: head, on: channel)
                admission = try await endpoint.admit(method: head.method, target: target, origin: request.headers[.origin], edge: edge)
                try endpoint.reserve(admission, on: channel)
                accept.add(name: "x-request-id", value: edge.requestID)
            } catch {
                let error = error as? APIError ?? .badRequest("invalid websocket upgrade")
                let (headers, body) = refusal(error, edge: edge, logger: logger)
                var bodyWriter = try await writer.writeHead(HTTPResponse(status: error.status, headerFields: headers))
                try await bodyWriter.write(body)
                try await bodyWriter.finish(nil)
                throw CloseConnection()
            }
            try await channel.eventLoop.submit {
                try Self.switchToWebSocket(channel, headers: accept, admission: admission, endpoint: endpoint, logger: logger)
            }.get()
            try await channel.closeFuture.get()
        }
    }

    /// The `101`'s headers (`Sec-WebSocket-Accept` and the rest) from NIO's upgrader, which also checks the
    /// request's key and version.
    private static func handshakeHeaders(for head: HTTPRequestHead, on channel: any Channel) async throws -> HTTPHeaders {
        let upgrader = NIOTypedWebSocketServerUpgrader<Void>(
            shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
            upgradePipelineHandler: { channel, _ in channel.eventLoop.makeSucceededVoidFuture() }
        )
        return try await upgrader.buildUpgradeResponse(channel: channel, upgradeRequest: head, initialResponseHeaders: HTTPHeaders()).get()
    }

    /// Removes the ``HTTPConnectionGuard`` handlers from a connection becoming a WebSocket, which keeps its own
    /// idle rule. Runs on the channel's event loop.
    private static func removeGuards(from channel: any Channel) throws {
        let pipeline = channel.pipeline.syncOperations
        pipeline.removeHandler(context: try pipeline.context(handlerType: HTTPHeadGuardHandler.self), promise: nil)
        pipeline.removeHandler(context: try pipeline.context(handlerType: HTTPRequestGuardHandler.self), promise: nil)
    }

    /// Answers `101` and replaces the HTTP handlers by the socket's. Runs on the channel's event loop.
    private static func switchToWebSocket(
        _ channel: any Channel,
        headers: HTTPHeaders,
        admission: SocketEndpoint.Admission,
        endpoint: SocketEndpoint,
        logger: Logger
    ) throws {
        let pipeline = channel.pipeline.syncOperations
        try removeGuards(from: channel)
        let codec = try pipeline.context(handlerType: HTTP1ToHTTPServerCodec.self)
        let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        codec.writeAndFlush(
            NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers))),
            promise: nil
        )
        let frameDecoder = ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: endpoint.configuration.maxFrameBytes))
        let errorHandler = WebSocketProtocolErrorHandler()
        try pipeline.addHandler(WebSocketFrameEncoder(), position: .after(decoder))
        try pipeline.addHandler(frameDecoder, position: .after(try pipeline.handler(type: WebSocketFrameEncoder.self)))
        try pipeline.addHandler(errorHandler, position: .after(frameDecoder))
        try endpoint.open(admission, on: channel, position: .after(errorHandler), logger: logger)
        pipeline.removeHandler(context: try pipeline.context(handlerType: HTTPConnectionStateHandler.self), promise: nil)
        pipeline.removeHandler(context: codec, promise: nil)
        pipeline.removeHandler(context: try pipeline.context(handlerType: HTTPResponseEncoder.self), promise: nil)
        pipeline.removeHandler(context: try pipeline.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self), promise: nil)
    }
}
