import NIOCore
import NIOWebSocket

/// The handler of an upgraded socket: joins `room:chat`, answers pings and closes, decodes text frames and
/// turns replies and pushes into ``WorkerStats`` updates. Keeps no per-message state: refs and message texts
/// carry what is needed.
final class LoadSocketHandler: ChannelInboundHandler {
    /// Frames from the server.
    typealias InboundIn = WebSocketFrame
    /// Frames to the server.
    typealias OutboundOut = WebSocketFrame

    /// The largest message reassembled from fragments.
    static let maxMessageBytes = 1 << 20

    /// The socket's shared state.
    private let session: SocketSession
    /// The process's counters.
    private let stats: WorkerStats
    /// The worker this socket belongs to (whose stamps it checks).
    private let workerIndex: Int
    /// Succeeded by the join's ok reply.
    private let joined: EventLoopPromise<Void>
    /// Whether the join reply is still awaited.
    private var joinPending = true
    /// Whether the join succeeded (so a close counts against the open sockets).
    private var joinedOK = false
    /// A fragmented text message being reassembled.
    private var fragments: ByteBuffer?
    /// Pushes still to come of the join's replay (its reply's `recovered`): they come right after the reply,
    /// before any live push.
    private var replayRemaining: Int64 = 0

    /// A handler for `session`'s socket.
    init(session: SocketSession, stats: WorkerStats, workerIndex: Int, joined: EventLoopPromise<Void>) {
        self.session = session
        self.stats = stats
        self.workerIndex = workerIndex
        self.joined = joined
    }

    /// Sends the join as soon as the socket is upgraded.
    func handlerAdded(context: ChannelHandlerContext) {
        let frame = FrameBuilder.join(lastSeenID: session.joinedAfter, allocator: context.channel.allocator)
        context.writeAndFlush(wrapOutboundOut(Self.textFrame(frame)), promise: nil)
    }

    /// One frame from the server.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text where frame.fin:
            handleText(frame.unmaskedData, context: context)
        case .text:
            fragments = frame.unmaskedData
        case .continuation:
            guard var partial = fragments else { return }
            var more = frame.unmaskedData
            guard partial.readableBytes + more.readableBytes <= Self.maxMessageBytes else {
                fragments = nil
                stats.closeReason("client: message too large")
                context.close(promise: nil)
                return
            }
            partial.writeBuffer(&more)
            if frame.fin {
                fragments = nil
                handleText(partial, context: context)
            } else {
                fragments = partial
            }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readInteger(as: UInt16.self).map(String.init) ?? "none"
            // A close this tool started needs no answer; the server's own close is echoed, then the socket closed.
            if !session.closing.load(ordering: .relaxed) {
                stats.closeReason("server close \(code)")
                var reply = context.channel.allocator.buffer(capacity: 2)
                reply.writeInteger(UInt16(1000))
                let close = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: reply)
                context.writeAndFlush(wrapOutboundOut(close), promise: nil)
            }
            context.close(promise: nil)
        default:
            break
        }
    }

    /// Counts a close this tool did not ask for as a drop, and fails a pending join.
    func channelInactive(context: ChannelHandlerContext) {
        if joinPending {
            joinPending = false
            joined.fail(ConnectFailure("closed before join reply"))
        } else if joinedOK {
            stats.socketClosed(byServer: !session.closing.load(ordering: .relaxed))
        }
        context.fireChannelInactive()
    }

    /// Socket errors close the socket.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if joinPending {
            joinPending = false
            joined.fail(ConnectFailure(classifying: error))
        } else if !session.closing.load(ordering: .relaxed) {
            stats.closeReason("error: \(ConnectFailure(classifying: error).reason)")
        }
        context.close(promise: nil)
    }

    // MARK: - Phoenix frames

    /// A complete text message.
    private func handleText(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        guard let frame = InboundFrame.decode(buffer) else {
            stats.unparsedFrame()
            return
        }
        switch frame.event {
        case "phx_reply":
            handleReply(frame, context: context)
        case "receive_msg":
            handlePush(frame)
        default:
            stats.otherEvent(frame.event)
        }
    }

    /// A reply to the join, a heartbeat or a send.
    private func handleReply(_ frame: InboundFrame, context: ChannelHandlerContext) {
        guard let ref = frame.ref, let kind = ref.utf8.first else {
            stats.otherEvent("phx_reply without ref")
            return
        }
        let ok = frame.payload.status == "ok"
        switch kind {
        case UInt8(ascii: "m"):
            guard let sequence = UInt64(ref.dropFirst()) else {
                stats.otherEvent("phx_reply to unknown ref")
                return
            }
            session.inflight.subtract(1, ordering: .relaxed)
            if ok {
                if sequence &+ 1 < session.ackedThrough.load(ordering: .relaxed) {
                    stats.repliedOutOfOrder()
                } else {
                    session.ackedThrough.store(sequence &+ 1, ordering: .relaxed)
                }
                let stamp = frame.payload.response?.message?.content.flatMap(MessageStamp.init(content:))
                let latency = stamp.map { Self.elapsed(since: $0.scheduled) }
                stats.replied(sequence: sequence, error: nil, latencyNanos: latency)
            } else {
                stats.replied(
                    sequence: sequence,
                    error: frame.payload.response?.reason ?? "no reason",
                    latencyNanos: nil
                )
            }
        case UInt8(ascii: "h"):
            stats.heartbeatReplied(ok: ok)
        default:
            guard joinPending, ref == FrameBuilder.joinReplyRef, frame.topic == "room:chat" else {
                stats.otherEvent("phx_reply to unknown ref")
                return
            }
            joinPending = false
            if ok {
                joinedOK = true
                if session.joinedAfter != nil {
                    let response = frame.payload.response
                    replayRemaining = max(0, response?.recovered ?? 0)
                    stats.rejoined(recovered: Int(replayRemaining), truncated: response?.truncated ?? false)
                }
                stats.socketJoined()
                joined.succeed()
            } else {
                joined.fail(ConnectFailure("join: \(frame.payload.response?.reason ?? "refused")"))
                context.close(promise: nil)
            }
        }
    }

    /// A `receive_msg` push.
    private func handlePush(_ frame: InboundFrame) {
        let now = MonotonicClock.now()
        let replayed = replayRemaining > 0
        if replayed { replayRemaining -= 1 }
        if let id = frame.payload.message?.id { session.saw(id) }
        guard let message = frame.payload.message, let content = message.content,
            let stamp = MessageStamp(content: content)
        else {
            stats.otherEvent("receive_msg not from this tool")
            return
        }
        guard stamp.worker == workerIndex else {
            stats.foreignPush()
            return
        }
        let latency = now > stamp.scheduled ? now - stamp.scheduled : 0
        stats.pushed(
            stamp,
            socketUser: session.userID,
            sender: message.senderID,
            latencyNanos: latency,
            replayed: replayed
        )
    }

    /// Nanoseconds from `instant` to now (zero for an instant in the future).
    private static func elapsed(since instant: UInt64) -> UInt64 {
        let now = MonotonicClock.now()
        return now > instant ? now - instant : 0
    }

    /// A masked, final text frame.
    static func textFrame(_ data: ByteBuffer) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: data)
    }
}
