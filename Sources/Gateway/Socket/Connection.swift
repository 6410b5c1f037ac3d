import Broker
import Logging
import NIOCore
import NIOWebSocket
import Store
import Synchronization

/// One WebSocket: what it has joined (``JoinTable``), its inbound queue (``InboundQueue``) and its bounded
/// outbound queue (``OutboundQueue``). The rules live in those three state machines; this type does their I/O.
/// The `room:chat` channel is in `Connection+RoomChannel.swift`, `conversation:<id>` in
/// `Connection+ConversationChannel.swift`.
///
/// It keeps no task while idle. ``SocketHandler`` hands it each text message on the channel's event loop;
/// heartbeats and sends are handled there (a send is handed to its conversation without waiting for the
/// commit, so several frames of one socket can share one commit); everything else goes through the inbound
/// queue, served by a task that exists only while the queue has work, one message at a time, in order. Pushes
/// and replies share the outbound queue, which is written to the channel on its event loop while the channel
/// is writable; a queue that fills up because the peer stopped reading closes the socket with 1013 instead of
/// growing. Other sockets are never slowed by it.
final class Connection: Sendable {
    /// The socket's id, the key its user actor knows it by.
    let socketID = SocketID.next()
    /// The conversation actors this socket sends to, looked up once each.
    let conversationHandles = ConversationHandles()
    /// The signed-in user.
    let user: User
    /// The token the socket was opened with.
    let token: TokenClaims
    let serializer: PhoenixSerializer
    let broker: BrokerRoot
    let store: any Store
    let configuration: SocketConfiguration
    let maxMessageLength: Int
    let logger: Logger
    private let registry: ConnectionRegistry
    private let channel: any Channel

    /// What the socket writes: a frame, or a recovery replay encoded as it is written, so a replay of up to
    /// 1,000 messages takes one slot of the bounded queue and is paced by the socket itself.
    enum OutboundItem: Sendable {
        case frame(ByteBuffer)
        case replay(joinRef: String?, messages: ArraySlice<Message>)
    }

    private struct Outbound: Sendable {
        var queue: OutboundQueue<OutboundItem, NIODeadline>
        /// The inbound task, waiting until the socket may handle its next message.
        var roomWaiter: CheckedContinuation<Void, Never>?
    }

    private let outbound: Locked<Outbound>
    private let inbound = Locked(InboundQueue<PhoenixMessage>())
    private let activity = Atomic<UInt64>(NIODeadline.now().uptimeNanoseconds)
    /// The topics joined; written only by the inbound task, read by the event loop's send path.
    let joins = Locked(JoinTable<RoomSubscription, ConversationSubscription>())
    /// The per-socket send rate limit.
    let sendBucket: Locked<TokenBucket<ContinuousClock.Instant>>
    /// Sends handed to conversations and not answered yet, at most ``maxSendsInFlight``: past it, frames
    /// wait in the inbound queue (which pauses reading when long) until replies come back.
    let sendsInFlight = Atomic<Int>(0)
    /// The most sends of one socket being stored at once (pipelining without an await between frames).
    static let maxSendsInFlight = 128

    init(
        user: User,
        token: TokenClaims,
        serializer: PhoenixSerializer,
        broker: BrokerRoot,
        store: any Store,
        channel: any Channel,
        configuration: SocketConfiguration,
        maxMessageLength: Int,
        registry: ConnectionRegistry,
        logger: Logger
    ) {
        self.channel = channel
        self.user = user
        self.token = token
        self.serializer = serializer
        self.broker = broker
        self.store = store
        self.registry = registry
        self.sendBucket = Locked(TokenBucket(rate: configuration.sendRate, burst: configuration.sendBurst, now: .now))
        self.configuration = configuration
        self.maxMessageLength = maxMessageLength
        self.outbound = Locked(Outbound(queue: OutboundQueue(limit: configuration.outboundQueue)))
        var logger = logger
        logger[metadataKey: "broker.user_id"] = "\(user.id)"
        self.logger = logger
    }

    /// The loop the socket's channel runs on.
    var eventLoop: any EventLoop { channel.eventLoop }

    /// When the client last sent a frame.
    var lastActivity: NIODeadline { NIODeadline.uptimeNanoseconds(activity.load(ordering: .relaxed)) }

    /// Notes a frame from the client.
    func touch() {
        activity.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
    }

    // MARK: - Outbound

    /// Queues a frame.
    /// - Returns: `false` when the queue is full (the socket is then closed with 1013) or the socket is closing.
    @discardableResult
    func enqueue(_ frame: ByteBuffer) -> Bool {
        enqueue(item: .frame(frame))
    }

    /// Queues a frame or a replay.
    @discardableResult
    func enqueue(item: OutboundItem) -> Bool {
        switch outbound.withLock({ $0.queue.enqueue(item) }) {
        case .queued: return true
        case .scheduleDrain:
            scheduleDrain()
            return true
        case .full:
            GatewayMetrics.errors("outbound queue full").increment()
            close(code: .unknown(1013), reason: "outbound queue full")
            return false
        case .refused: return false
        }
    }

    private func scheduleDrain() {
        channel.eventLoop.execute { self.drain() }
    }

    /// Writes the queue to the channel while it is writable, then the close frame if one was asked for and the
    /// queue is empty. On the event loop.
    private func drain() {
        var wrote = false
        defer { resumeRoomWaiter() }
        drainLoop: while true {
            let writable = channel.isWritable
            switch outbound.withLock({ $0.queue.nextDrainStep(writable: writable) }) {
            case .write(.frame(let frame)):
                channel.write(WebSocketFrame(fin: true, opcode: .text, data: frame), promise: nil)
                wrote = true
            case .write(.replay(let joinRef, var messages)):
                while let message = messages.first, channel.isWritable {
                    messages.removeFirst()
                    let frame = serializer.encode(
                        joinRef: joinRef,
                        ref: nil,
                        topic: PhoenixEvent.roomTopic,
                        event: PhoenixEvent.receiveMessage,
                        payload: FrameEncoder.messagePayload(message)
                    )
                    channel.write(WebSocketFrame(fin: true, opcode: .text, data: frame), promise: nil)
                    wrote = true
                }
                if !messages.isEmpty {
                    outbound.withLock { $0.queue.putBack(.replay(joinRef: joinRef, messages: messages)) }
                }
            case .close(let code, let reason, let peerClosed):
                let written = channel.writeAndFlush(closeFrame(code, reason: reason))
                // The handshake ends when the peer's close frame arrives (or the sweeper cuts a silent peer).
                if peerClosed { written.whenComplete { _ in self.channel.close(promise: nil) } }
                wrote = false
                break drainLoop
            case .stop:
                break drainLoop
            }
        }
        if wrote { channel.flush() }
    }

    /// The queue length at which the socket stops handling its own messages until the queue is half as long:
    /// a client that does not read its replies is not read either (as HTTP servers do), so its replies cannot
    /// fill the queue; pushes from others still can, and close a stalled reader with 1013.
    private var roomThreshold: Int { max(1, configuration.outboundQueue / 2) }

    /// Whether the socket may handle its next message (or it is closing): fewer than ``maxSendsInFlight`` of
    /// its sends are being stored, and its outbound queue has room for the replies of all of them (so its own
    /// pipelined sends can never overflow it).
    private func mayHandle(_ state: Outbound) -> Bool {
        let inFlight = sendsInFlight.load(ordering: .relaxed)
        return state.queue.isClosing
            || (inFlight < Self.maxSendsInFlight && state.queue.hasRoom(below: roomThreshold - inFlight))
    }

    /// Waits until the socket may handle its next message (see ``mayHandle(_:)``).
    private func waitForRoom() async {
        if outbound.withLock({ mayHandle($0) }) { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = outbound.withLock { state -> Bool in
                if mayHandle(state) { return true }
                state.roomWaiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Wakes the inbound task if it waits and the socket may handle its next message now.
    func resumeRoomWaiter() {
        let waiter = outbound.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.roomWaiter != nil, mayHandle(state) else { return nil }
            defer { state.roomWaiter = nil }
            return state.roomWaiter
        }
        waiter?.resume()
    }

    /// The channel can take more: resumes writing. On the event loop.
    func writabilityChanged() {
        guard channel.isWritable else { return }
        if outbound.withLock({ $0.queue.writabilityResumed() }) { drain() }
    }

    /// Asks for the socket to be closed with `code` after what is queued.
    func close(code: WebSocketErrorCode, reason: String) {
        switch outbound.withLock({ $0.queue.requestClose(code: code, reason: reason, at: .now()) }) {
        case .ignored: return
        case .recorded: break
        case .scheduleDrain: scheduleDrain()
        }
        resumeRoomWaiter()
        submit(.leave)
    }

    /// A close was asked for, by either side, or the channel is gone.
    var isClosing: Bool { outbound.withLock { $0.queue.isClosing } }

    /// When a close was requested, if one was.
    var closeRequested: NIODeadline? { outbound.withLock { $0.queue.closeRequestedAt } }

    /// The peer's close frame: ends our own close, or answers the peer's with its code. On the event loop.
    func peerClosed(_ data: ByteBuffer) {
        let reply = Self.closeReply(to: data)
        // The sweeper cuts the connection if the echo cannot be written (a peer that stopped reading).
        if outbound.withLock({ $0.queue.peerClosed(reply: reply, at: .now()) }) {
            channel.writeAndFlush(closeFrame(reply, reason: "")).whenComplete { _ in
                self.channel.close(promise: nil)
            }
        } else {
            channel.close(promise: nil)
        }
        resumeRoomWaiter()
        submit(.leave)
    }

    private func closeFrame(_ code: WebSocketErrorCode, reason: String) -> WebSocketFrame {
        var data = channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        data.writeString(reason)
        return WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
    }

    /// The code echoed to a peer's close frame: its own code when it is one a peer may send (RFC 6455 §7.4),
    /// 1000 when it sent none, 1002 for a malformed or reserved one.
    static func closeReply(to data: ByteBuffer) -> WebSocketErrorCode {
        var data = data
        guard data.readableBytes > 0 else { return .normalClosure }
        guard data.readableBytes >= 2, let raw = data.readInteger(as: UInt16.self) else { return .protocolError }
        switch raw {
        case 1000...1003, 1007...1011, 1012...1014, 3000...4999: return WebSocketErrorCode(codeNumber: Int(raw))
        default: return .protocolError
        }
    }

    /// Closes the TCP connection without the WebSocket closing handshake: for a peer that stopped reading, whose
    /// queued frames (and close frame) can never be written.
    func forceClose() {
        channel.close(mode: .all, promise: nil)
    }

    /// The channel is closed: drops what is queued, leaves every topic and the registry. On the event loop.
    func channelClosed() {
        outbound.withLock { $0.queue.closed() }
        resumeRoomWaiter()
        submit(.teardown)
    }

    // MARK: - Inbound

    /// A text message from the client. On the event loop.
    func received(_ text: ByteBuffer) {
        guard !isClosing else { return }
        let message: PhoenixMessage
        do {
            message = try serializer.decode(text)
        } catch {
            // Not a Phoenix frame: nothing to reply to (no ref can be read), the socket stays open.
            logger.debug("malformed frame ignored")
            return
        }
        submit(.message(message))
    }

    private func submit(_ item: InboundQueue<PhoenixMessage>.Item) {
        let next = inbound.withLock { queue in
            queue.submit(item) { message in
                // Heartbeats, and sends while the socket may take them, need no task.
                (message.topic == PhoenixEvent.phoenixTopic && message.event == PhoenixEvent.heartbeat)
                    || (message.topic == PhoenixEvent.roomTopic && message.event == PhoenixEvent.sendMessage
                        && outbound.withLock { mayHandle($0) })
            }
        }
        switch next {
        case .none: break
        case .handleInline:
            if case .message(let message) = item { handleInline(message) }
        case .startServing:
            // Unstructured on purpose, and short-lived: it drains this socket's bounded inbound queue and ends
            // when the queue is empty (the queue starts the next one); a socket closing ends it with `teardown`.
            Task { await self.serve() }
        case .pauseReading:
            channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
    }

    /// Serves the inbound queue until it is empty, one item at a time.
    private func serve() async {
        while let (item, resumeReading) = inbound.withLock({ $0.next() }) {
            if resumeReading { channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in } }
            switch item {
            case .message(let message):
                await waitForRoom()
                if !isClosing { await handle(message) }
            case .leave:
                await leaveAll()
            case .teardown:
                await leaveAll()
                registry.remove(self)
            }
        }
    }

    /// A message that needs no await, on the event loop: a heartbeat or a send.
    private func handleInline(_ message: PhoenixMessage) {
        switch route(message) {
        case .heartbeat: replyOK(message)
        case .send: handle(sendMessage: message)
        default: replyError(message, reason: ReplyReason.unmatchedTopic)
        }
    }

    private func route(_ message: PhoenixMessage) -> JoinTable<RoomSubscription, ConversationSubscription>.Route {
        joins.withLock { $0.route(topic: message.topic, event: message.event, joinRef: message.joinRef) }
    }

    private func handle(_ message: PhoenixMessage) async {
        switch route(message) {
        case .heartbeat: replyOK(message)
        case .joinRoom: await joinRoom(message)
        case .joinConversation(let id): await joinConversation(id, message)
        case .leaveRoom:
            await leaveRoom()
            replyOK(message)
            enqueue(close(joinRef: message.joinRef, topic: message.topic))
        case .send: handle(sendMessage: message)
        case .conversationEvent(let id): await handleConversationEvent(id, message)
        case .unmatchedEvent: replyError(message, reason: ReplyReason.unmatchedEvent)
        case .unmatchedTopic:
            // A topic this socket has not joined (or a stale join_ref): Phoenix answers "unmatched topic".
            replyError(message, reason: ReplyReason.unmatchedTopic)
        }
    }

    /// Leaves every topic (the socket is closing).
    private func leaveAll() async {
        await leaveRoom()
        await leaveConversations()
    }

    // MARK: - Replies

    /// A `phx_close` push ending the join `joinRef` of `topic`.
    func close(joinRef: String?, topic: String) -> ByteBuffer {
        serializer.encode(joinRef: joinRef, ref: nil, topic: topic, event: PhoenixEvent.close, payload: ByteBuffer(string: "{}"))
    }

    func replyOK(_ message: PhoenixMessage) {
        enqueue(serializer.reply(to: message, status: "ok", response: ByteBuffer(string: "{}")))
    }

    func replyError(_ message: PhoenixMessage, reason: String, errors: ValidationErrors? = nil) {
        GatewayMetrics.errors(reason).increment()
        // `errors` is always present (`{}` when no field is at fault), so clients read it unconditionally (§3).
        let fields = errors?.fields ?? [:]
        let response: [String: JSONValue] = [
            "reason": .string(reason), "errors": .object(fields.mapValues { .array($0.map(JSONValue.string)) }),
        ]
        enqueue(serializer.reply(to: message, status: "error", response: .object(response)))
    }
}
