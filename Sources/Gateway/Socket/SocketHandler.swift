import NIOCore
import NIOWebSocket

/// The NIO end of one socket, on its channel's event loop: reassembles messages from frames, answers pings and
/// the closing handshake, and hands each text message to its ``Connection``. Every inbound frame, pings
/// included, counts as activity for the idle timeout.
///
/// Hand-written: NIO supplies the frame codec and the protocol error handler (bad frames, frames over the
/// limit: close 1002 / 1009); what is left, message reassembly and the control frames, is what
/// swift-websocket's handler does with a task per socket, and here costs nothing while the socket is idle.
final class SocketHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let connection: Connection
    private let maxMessageBytes: Int
    /// The first frames of a fragmented message; `nil` between messages.
    private var fragments: ByteBuffer?
    private var fragmentsAreText = false

    init(connection: Connection, maxMessageBytes: Int) {
        self.connection = connection
        self.maxMessageBytes = maxMessageBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        connection.touch()
        // RFC 6455 §5.1–5.3: client frames are masked, and no extension (so no reserved bit) was negotiated.
        guard frame.maskKey != nil, !frame.rsv1, !frame.rsv2, !frame.rsv3 else { return protocolError(context) }
        switch frame.opcode {
        case .text, .binary:
            guard fragments == nil else { return protocolError(context) }
            if frame.fin {
                if frame.opcode == .text { connection.received(frame.unmaskedData) }
            } else {
                fragments = frame.unmaskedData
                fragmentsAreText = frame.opcode == .text
            }
        case .continuation:
            guard var buffer = fragments else { return protocolError(context) }
            fragments = nil
            var data = frame.unmaskedData
            guard buffer.readableBytes + data.readableBytes <= maxMessageBytes else {
                connection.close(code: .messageTooLarge, reason: "message too large")
                return
            }
            buffer.writeBuffer(&data)
            if !frame.fin {
                fragments = buffer
            } else if fragmentsAreText {
                connection.received(buffer)
            }
        case .ping:
            guard frame.fin else { return protocolError(context) }
            // A peer that pings without reading gets no pongs queued up for it (RFC 6455 allows answering only
            // the latest ping); nor does a socket that is closing.
            guard context.channel.isWritable, !connection.isClosing else { return }
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .pong:
            break
        case .connectionClose:
            connection.peerClosed(frame.unmaskedData)
        default:
            protocolError(context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        connection.writabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        fragments = nil
        connection.channelClosed()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            // The peer closed its side of the TCP connection without a close frame (Hummingbird allows half
            // closure): it is gone.
            context.close(promise: nil)
        case is ChannelShouldQuiesceEvent:
            connection.close(code: .unknown(1012), reason: "server restarting")
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // NIO's protocol error handler, before this one, answers frame errors with a close frame and closes the
        // channel once it is written; anything else ends the socket here.
        if error is NIOWebSocketError { return }
        context.close(promise: nil)
    }

    private func protocolError(_ context: ChannelHandlerContext) {
        fragments = nil
        connection.close(code: .protocolError, reason: "protocol error")
    }
}
