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
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, APIError)
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    var responder: HTTPChannelHandler.Responder
    let endpoint: SocketEndpoint
    let http1: HTTP1Channel.Configuration

    init(responder: @escaping HTTPChannelHandler.Responder, endpoint: SocketEndpoint, http1: HTTP1Channel.Configuration = .init()) {
        self.responder = responder
        self.endpoint = endpoint
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
            let decision = NIOLockedValueBox<Result<SocketEndpoint.Admission, APIError>?>(nil)
            let endpoint = self.endpoint
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: endpoint.configuration.maxFrameBytes,
                shouldUpgrade: { channel, head in
                    let promise = channel.eventLoop.makePromise(of: HTTPHeaders?.self)
                    promise.completeWithTask {
                        let result: Result<SocketEndpoint.Admission, APIError>
                        do throws(APIError) {
                            result = .success(try await endpoint.admit(method: head.method, target: head.uri))
                        } catch {
                            result = .failure(error)
                        }
                        decision.withLockedValue { $0 = result }
                        if case .success = result { return HTTPHeaders() }
                        return nil
                    }
                    return promise.futureResult
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .success(let admission) = decision.withLockedValue({ $0 }) else {
                            throw NIOWebSocketUpgradeError.unsupportedWebSocketTarget
                        }
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
                        if case .failure(let error) = decision.withLockedValue({ $0 }) {
                            return UpgradeResult.refused(asyncChannel, error)
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
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
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
                channel.responder = Self.laterUpgradeResponder(responder)
                await channel.handleHTTP(asyncChannel: asyncChannel, logger: logger)
            case .refused(let asyncChannel, let error):
                await Self.refuse(asyncChannel, with: error, logger: logger)
            }
        } catch let error as ChannelError where error == .inputClosed {
            logger.trace("connection closed before its first request")
        } catch {
            logger.debug("connection setup failed", metadata: ["error": "\(error)"])
        }
    }

    private struct CloseConnection: Error {}

    /// Answers a refused upgrade with its error and closes the connection.
    private static func refuse(
        _ asyncChannel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, with error: APIError, logger: Logger
    ) async {
        GatewayMetrics.errors("upgrade refused").increment()
        let body = error.body
        var headers = error.headerFields
        headers[.connection] = "close"
        headers[.contentLength] = String(body.readableBytes)
        do {
            try await asyncChannel.executeThenClose { _, outbound in
                try await outbound.write(contentsOf: [.head(HTTPResponse(status: error.status, headerFields: headers)), .body(body), .end(nil)])
            }
        } catch {
            logger.trace("refused upgrade not answered", metadata: ["error": "\(error)"])
        }
    }

    /// NIO upgrades only a connection's first request. An upgrade asked for later on a kept-alive connection is
    /// redirected to the same target with the connection closed, so the client retries on a fresh one (as
    /// hummingbird-websocket does).
    private static func laterUpgradeResponder(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        { request, writer, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                try await responder(request, writer, channel)
                return
            }
            var target = request.uri.path
            if let query = request.uri.query { target += "?\(query)" }
            try await writer.writeResponse(
                HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: target])
            )
            throw CloseConnection()
        }
    }
}
