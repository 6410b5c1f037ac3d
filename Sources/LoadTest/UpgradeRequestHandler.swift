import NIOCore
import NIOHTTP1

/// Sends the WebSocket upgrade request once the TCP connection is up, and turns a refused upgrade (a response
/// other than 101 reaching it) into a ``ConnectFailure``. Removed from the pipeline when the upgrade succeeds.
final class UpgradeRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    /// `HTTPClientResponsePart`s of a refused upgrade.
    typealias InboundIn = HTTPClientResponsePart
    /// The request.
    typealias OutboundOut = HTTPClientRequestPart

    /// The handler's name in the pipeline, for its removal.
    static let name = "broker-load.upgrade-request"

    /// The upgrade request.
    private let head: HTTPRequestHead
    /// Completed by the socket's join; failed here when the upgrade is refused.
    private let joined: EventLoopPromise<Void>
    /// An upgrade error reported before the response it is about.
    private var pendingError: ConnectFailure?

    /// A handler sending `head` and failing `joined` when the upgrade does not happen.
    init(head: HTTPRequestHead, joined: EventLoopPromise<Void>) {
        self.head = head
        self.joined = joined
    }

    /// Writes the request.
    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    /// A response reaching this handler was not an accepted upgrade.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let response) = unwrapInboundIn(data) else { return }
        let status = response.status.code
        joined.fail(ConnectFailure(status == 101 ? pendingError?.reason ?? "upgrade refused" : "http \(status)"))
        context.close(promise: nil)
    }

    /// Upgrade errors wait for their response (which names the status); other errors fail at once.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOHTTPClientUpgradeError {
            pendingError = ConnectFailure(classifying: error)
            return
        }
        joined.fail(ConnectFailure(classifying: error))
        context.close(promise: nil)
    }

    /// A connection closed during the upgrade.
    func channelInactive(context: ChannelHandlerContext) {
        joined.fail(pendingError ?? ConnectFailure("closed during upgrade"))
        context.fireChannelInactive()
    }
}
