import Broker
import DequeModule
import Logging
import NIOCore
import NIOWebSocket
import Store
import Synchronization

/// One WebSocket: its Phoenix state (which topics are joined under which `join_ref`) and its bounded outbound
/// queue.
///
/// It keeps no task while idle. ``SocketHandler`` hands it each text message on the channel's event loop;
/// heartbeats are answered there, everything else goes through a small inbound queue served by a task that
/// exists only while the queue has work, one message at a time, in order. Pushes from user actors and replies
/// share the outbound queue, so a socket sees them in the order they were produced; the queue is written to the
/// channel on its event loop while the channel is writable, and a queue that fills up because the peer stopped
/// reading closes the socket with 1013 instead of growing. Other sockets are never slowed by it.
final class Connection: Sendable {
    /// The socket's id, the key its user actor knows it by.
    let socketID = SocketID.next()
    /// The conversation actors this socket sends to, looked up once each.
    private let conversationHandles = ConversationHandles()
    /// The signed-in user.
    let user: User
    /// The token the socket was opened with.
    let token: TokenClaims
    let serializer: PhoenixSerializer
    private let broker: BrokerRoot
    private let store: any Store
    private let registry: ConnectionRegistry
    private let configuration: SocketConfiguration
    private let maxMessageLength: Int
    private let logger: Logger
    private let channel: any Channel

    /// What the socket writes: a frame, or a recovery replay encoded as it is written, so a replay of up to
    /// 1,000 messages takes one slot of the bounded queue and is paced by the socket itself.
    enum OutboundItem: Sendable {
        case frame(ByteBuffer)
        case replay(joinRef: String?, messages: ArraySlice<Message>)
    }

    private struct Outbound: Sendable {
        var queue = Deque<OutboundItem>()
        /// A drain is scheduled on the event loop or running.
        var drainScheduled = false
        /// The close asked for; nothing is queued after it.
        var closeRequest: (code: WebSocketErrorCode, reason: String)?
        var closeFrameSent = false
        /// The peer's close frame arrived.
        var peerClosed = false
        /// The channel is gone.
        var closed = false
        /// The inbound task, waiting for the queue to shrink before it handles the next message.
        var roomWaiter: CheckedContinuation<Void, Never>?

        /// Whether the inbound task may go on: the queue is short, or the socket is closing.
        func hasRoom(below threshold: Int) -> Bool {
            closed || closeRequest != nil || queue.count < threshold
        }
    }

    private enum InboundItem: Sendable {
        case message(PhoenixMessage)
        /// Leave every topic (the socket is closing).
        case leave
        /// Leave every topic and leave the registry (the channel is closed): the last item.
        case teardown
    }

    private struct Inbound: Sendable {
        var pending = Deque<InboundItem>()
        /// The task serving `pending` exists.
        var serving = false
        /// Reading from the channel is paused because `pending` is long.
        var readPaused = false
        var tornDown = false
    }

    private let outbound = Mutex(Outbound())
    private let inbound = Mutex(Inbound())
    private let closeRequestedAt = Atomic<UInt64>(0)
    private let activity = Atomic<UInt64>(NIODeadline.now().uptimeNanoseconds)
    /// The `room:chat` join, read by the push path; written only by the inbound task.
    private let roomJoin = Mutex<RoomSubscription?>(nil)
    /// Joined `conversation:<id>` topics; touched only by the inbound task.
    private let conversationJoins = Mutex<[ConversationID: ConversationSubscription]>([:])
    /// The per-socket send rate limit; touched only by the inbound task.
    private let sendBucket: Mutex<TokenBucket<ContinuousClock.Instant>>

    /// Inbound messages waiting beyond which the socket stops reading until the queue is short again.
    private static let inboundHighWater = 256
    private static let inboundLowWater = 64

    init(
        user: User, token: TokenClaims, serializer: PhoenixSerializer, broker: BrokerRoot, store: any Store,
        channel: any Channel, configuration: SocketConfiguration, maxMessageLength: Int, registry: ConnectionRegistry,
        logger: Logger
    ) {
        self.channel = channel
        self.user = user
        self.token = token
        self.serializer = serializer
        self.broker = broker
        self.store = store
        self.registry = registry
        self.sendBucket = Mutex(TokenBucket(rate: configuration.sendRate, burst: configuration.sendBurst, now: .now))
        self.configuration = configuration
        self.maxMessageLength = maxMessageLength
        var logger = logger
        logger[metadataKey: "broker.user_id"] = "\(user.id)"
        self.logger = logger
    }

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

    private enum Enqueued {
        case queued, scheduleDrain, full, refused
    }

    @discardableResult
    private func enqueue(item: OutboundItem) -> Bool {
        let outcome = outbound.withLock { state -> Enqueued in
            guard state.closeRequest == nil, !state.closed else { return .refused }
            guard state.queue.count < configuration.outboundQueue else { return .full }
            state.queue.append(item)
            if state.drainScheduled { return .queued }
            state.drainScheduled = true
            return .scheduleDrain
        }
        switch outcome {
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

    private enum DrainStep {
        case item(OutboundItem)
        case close(code: WebSocketErrorCode, reason: String, peerClosed: Bool)
        case stop
    }

    /// Writes the queue to the channel while it is writable, then the close frame if one was asked for and the
    /// queue is empty. On the event loop.
    private func drain() {
        var wrote = false
        defer { resumeRoomWaiter() }
        drainLoop: while true {
            let writable = channel.isWritable
            let step = outbound.withLock { state -> DrainStep in
                guard !state.closed else {
                    state.queue.removeAll()
                    state.drainScheduled = false
                    return .stop
                }
                guard writable else {
                    // Resumed by `writabilityChanged()`.
                    state.drainScheduled = false
                    return .stop
                }
                if let item = state.queue.popFirst() { return .item(item) }
                state.drainScheduled = false
                if let request = state.closeRequest, !state.closeFrameSent {
                    state.closeFrameSent = true
                    return .close(code: request.code, reason: request.reason, peerClosed: state.peerClosed)
                }
                return .stop
            }
            switch step {
            case .item(.frame(let frame)):
                channel.write(WebSocketFrame(fin: true, opcode: .text, data: frame), promise: nil)
                wrote = true
            case .item(.replay(let joinRef, var messages)):
                while let message = messages.first, channel.isWritable {
                    messages.removeFirst()
                    let frame = serializer.encode(
                        joinRef: joinRef, ref: nil, topic: PhoenixEvent.roomTopic, event: PhoenixEvent.receiveMessage,
                        payload: FrameEncoder.messagePayload(message)
                    )
                    channel.write(WebSocketFrame(fin: true, opcode: .text, data: frame), promise: nil)
                    wrote = true
                }
                if !messages.isEmpty {
                    outbound.withLock { $0.queue.prepend(.replay(joinRef: joinRef, messages: messages)) }
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

    /// Waits until the outbound queue has room (or the socket is closing).
    private func waitForRoom() async {
        let threshold = roomThreshold
        if outbound.withLock({ $0.hasRoom(below: threshold) }) { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = outbound.withLock { state -> Bool in
                if state.hasRoom(below: threshold) { return true }
                state.roomWaiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func resumeRoomWaiter() {
        let threshold = roomThreshold
        let waiter = outbound.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.roomWaiter != nil, state.hasRoom(below: threshold) else { return nil }
            defer { state.roomWaiter = nil }
            return state.roomWaiter
        }
        waiter?.resume()
    }

    /// The channel can take more: resumes writing. On the event loop.
    func writabilityChanged() {
        guard channel.isWritable else { return }
        let resume = outbound.withLock { state -> Bool in
            guard !state.drainScheduled, !state.closed else { return false }
            state.drainScheduled = true
            return true
        }
        if resume { drain() }
    }

    /// Asks for the socket to be closed with `code` after what is queued.
    func close(code: WebSocketErrorCode, reason: String) {
        let schedule = outbound.withLock { state -> Bool? in
            guard state.closeRequest == nil, !state.closed else { return nil }
            state.closeRequest = (code, reason)
            if state.drainScheduled { return false }
            state.drainScheduled = true
            return true
        }
        guard let schedule else { return }
        closeRequestedAt.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
        if schedule { scheduleDrain() }
        resumeRoomWaiter()
        submit(.leave)
    }

    /// A close was asked for, by either side, or the channel is gone.
    var isClosing: Bool { outbound.withLock { $0.closeRequest != nil || $0.closed } }

    /// When a close was requested, if one was.
    var closeRequested: NIODeadline? {
        let raw = closeRequestedAt.load(ordering: .relaxed)
        return raw == 0 ? nil : NIODeadline.uptimeNanoseconds(raw)
    }

    /// The peer's close frame: ends our own close, or answers the peer's with its code. On the event loop.
    func peerClosed(_ data: ByteBuffer) {
        let reply = Self.closeReply(to: data)
        let echo = outbound.withLock { state -> Bool in
            state.peerClosed = true
            if state.closeFrameSent { return false }
            state.queue.removeAll()
            state.closeFrameSent = true
            if state.closeRequest == nil { state.closeRequest = (reply, "") }
            return true
        }
        // The sweeper cuts the connection if the echo cannot be written (a peer that stopped reading).
        if closeRequestedAt.load(ordering: .relaxed) == 0 {
            closeRequestedAt.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
        }
        if echo {
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
    private static func closeReply(to data: ByteBuffer) -> WebSocketErrorCode {
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
        outbound.withLock { state in
            state.closed = true
            state.queue.removeAll()
        }
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

    private func submit(_ item: InboundItem) {
        enum Next { case none, serve, heartbeat, pauseReading }
        let next = inbound.withLock { state -> Next in
            guard !state.tornDown else { return .none }
            if case .teardown = item { state.tornDown = true }
            if case .message(let message) = item, !state.serving, state.pending.isEmpty,
                message.topic == PhoenixEvent.phoenixTopic, message.event == PhoenixEvent.heartbeat
            {
                // Nothing ahead of it: answered right here, without a task.
                return .heartbeat
            }
            state.pending.append(item)
            if !state.serving {
                state.serving = true
                return .serve
            }
            if state.pending.count >= Self.inboundHighWater, !state.readPaused {
                state.readPaused = true
                return .pauseReading
            }
            return .none
        }
        switch next {
        case .none: break
        case .serve: Task { await self.serve() }
        case .heartbeat:
            if case .message(let message) = item { replyOK(message) }
        case .pauseReading:
            channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
    }

    /// Serves the inbound queue until it is empty, one item at a time.
    private func serve() async {
        while true {
            let (item, resumeReading) = inbound.withLock { state -> (InboundItem?, Bool) in
                guard let item = state.pending.popFirst() else {
                    state.serving = false
                    return (nil, false)
                }
                if state.readPaused, state.pending.count <= Self.inboundLowWater {
                    state.readPaused = false
                    return (item, true)
                }
                return (item, false)
            }
            guard let item else { return }
            if resumeReading { channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in } }
            switch item {
            case .message(let message):
                await waitForRoom()
                if !isClosing { await handle(message) }
            case .leave:
                await leaveRoom()
                await leaveConversations()
            case .teardown:
                await leaveRoom()
                await leaveConversations()
                registry.remove(self)
            }
        }
    }

    private func handle(_ message: PhoenixMessage) async {
        switch (message.topic, message.event) {
        case (PhoenixEvent.phoenixTopic, PhoenixEvent.heartbeat):
            replyOK(message)
        case (PhoenixEvent.roomTopic, PhoenixEvent.join):
            await joinRoom(message)
        case (let topic, PhoenixEvent.join) where topic.hasPrefix(PhoenixEvent.conversationTopicPrefix):
            await joinConversation(message)
        case (_, PhoenixEvent.join):
            replyError(message, reason: ReplyReason.unmatchedTopic)
        case (let topic, _) where topic.hasPrefix(PhoenixEvent.conversationTopicPrefix):
            await handleConversationEvent(message)
        case (PhoenixEvent.roomTopic, PhoenixEvent.leave) where isRoomJoin(message.joinRef):
            await leaveRoom()
            replyOK(message)
            enqueue(serializer.encode(joinRef: message.joinRef, ref: nil, topic: message.topic, event: PhoenixEvent.close, payload: ByteBuffer(string: "{}")))
        case (PhoenixEvent.roomTopic, PhoenixEvent.sendMessage) where isRoomJoin(message.joinRef):
            let limited = sendBucket.withLock { $0.take(now: .now) } != nil
            if limited {
                replyError(message, reason: ReplyReason.rateLimited)
            } else {
                await send(message)
            }
        case (PhoenixEvent.roomTopic, _) where isRoomJoin(message.joinRef):
            replyError(message, reason: ReplyReason.unmatchedEvent)
        default:
            // A topic this socket has not joined (or a stale join_ref): Phoenix answers "unmatched topic".
            replyError(message, reason: ReplyReason.unmatchedTopic)
        }
    }

    private func isRoomJoin(_ joinRef: String?) -> Bool {
        roomJoin.withLock { $0 }.map { $0.joinRef == joinRef } ?? false
    }

    private func joinRoom(_ message: PhoenixMessage) async {
        var lastSeen: MessageID?
        switch message.payload["last_seen_id"] {
        case .none, .some(.null): lastSeen = nil
        case .some(.integer(let id)) where id >= 0: lastSeen = MessageID(id)
        default:
            replyError(message, reason: ReplyReason.invalidPayload, errors: ValidationErrors("last_seen_id", ValidationErrors.Message.invalid))
            return
        }
        if let previous = roomJoin.withLock({ $0 }) {
            // A second join of a joined topic closes the old join, as Phoenix does.
            await leaveRoom()
            enqueue(
                serializer.encode(
                    joinRef: previous.joinRef, ref: nil, topic: PhoenixEvent.roomTopic, event: PhoenixEvent.close,
                    payload: ByteBuffer(string: "{}")
                )
            )
        }
        // Subscribe first (buffering), then read the store: nothing committed in between is missed.
        GatewayMetrics.joins.increment()
        let subscription = RoomSubscription(
            connection: self, joinRef: message.joinRef, buffering: lastSeen != nil, bufferLimit: configuration.outboundQueue
        )
        roomJoin.withLock { $0 = subscription }
        let presence: [(UserID, Timestamp)]
        var missed: [Message] = []
        do {
            presence = try await broker.joinRoom(subscription, for: user.id)
            if let lastSeen {
                missed = try await store.missedMessages(for: user.id, after: lastSeen, limit: Self.recoveryLimit + 1)
            }
        } catch {
            await leaveRoom()
            replyError(message, reason: ReplyReason.unavailable)
            return
        }
        if lastSeen != nil {
            let truncated = missed.count > Self.recoveryLimit
            if truncated { missed.removeLast(missed.count - Self.recoveryLimit) }
            enqueue(
                serializer.reply(
                    to: message, status: "ok",
                    response: .object(["recovered": .integer(Int64(missed.count)), "truncated": .bool(truncated)])
                )
            )
            if !missed.isEmpty { enqueue(item: .replay(joinRef: message.joinRef, messages: missed[...])) }
            subscription.goLive(skipping: Set(missed.map(\.id)), lastSeen: lastSeen ?? MessageID(0))
        } else {
            replyOK(message)
        }
        enqueue(
            serializer.encode(
                joinRef: message.joinRef, ref: nil, topic: PhoenixEvent.roomTopic, event: PhoenixEvent.presenceState,
                payload: FrameEncoder.presenceState(presence)
            )
        )
    }

    /// The most messages replayed by one join with `last_seen_id`.
    static let recoveryLimit = 1_000

    private func leaveRoom() async {
        guard let subscription = roomJoin.withLock({ join -> RoomSubscription? in
            defer { join = nil }
            return join
        }) else { return }
        await broker.leaveRoom(subscription.socketID, for: user.id)
    }

    // MARK: - conversation:<id>

    private func conversationID(of topic: String) -> ConversationID? {
        Int64(topic.dropFirst(PhoenixEvent.conversationTopicPrefix.count)).flatMap { $0 > 0 ? ConversationID($0) : nil }
    }

    private func joinConversation(_ message: PhoenixMessage) async {
        guard let id = conversationID(of: message.topic) else {
            replyError(message, reason: ReplyReason.unmatchedTopic)
            return
        }
        let conversation: Conversation?
        do {
            conversation = try await store.conversation(id: id)
        } catch {
            replyError(message, reason: ReplyReason.unavailable)
            return
        }
        guard let conversation, conversation.isParticipant(user.id) else {
            replyError(message, reason: ReplyReason.notParticipant)
            return
        }
        if let previous = conversationJoins.withLock({ $0[id] }) {
            enqueue(serializer.encode(joinRef: previous.joinRef, ref: nil, topic: message.topic, event: PhoenixEvent.close, payload: ByteBuffer(string: "{}")))
        }
        let subscription = ConversationSubscription(connection: self, joinRef: message.joinRef, topic: message.topic)
        conversationJoins.withLock { $0[id] = subscription }
        await broker.topics.join(id, user: user.id, sink: subscription)
        replyOK(message)
    }

    private func handleConversationEvent(_ message: PhoenixMessage) async {
        guard let id = conversationID(of: message.topic),
            let subscription = conversationJoins.withLock({ $0[id] }), subscription.joinRef == message.joinRef
        else {
            replyError(message, reason: ReplyReason.unmatchedTopic)
            return
        }
        switch message.event {
        case PhoenixEvent.typing:
            var payload = ByteBuffer()
            payload.writeString("{\"user\":\(user.id.rawValue)}")
            // Typing goes to the other participant's joins only, and is not stored.
            let peers: Set<UserID> = (try? await store.conversation(id: id)).flatMap { $0 }.map { [$0.peer(of: user.id)] } ?? []
            await broker.broadcast(EncodedPush(event: PhoenixEvent.typing, payload: payload), in: id, except: socketID, to: peers)
        case PhoenixEvent.read:
            guard case .integer(let raw) = message.payload["message_id"], raw > 0 else {
                replyError(message, reason: ReplyReason.invalidPayload, errors: ValidationErrors("message_id", ValidationErrors.Message.invalid))
                return
            }
            do {
                let updated = try await store.markRead(id, by: user.id, upTo: MessageID(raw))
                let position = updated.lastReadID(of: user.id)?.rawValue ?? raw
                replyOK(message)
                var payload = ByteBuffer()
                payload.writeString("{\"user\":\(user.id.rawValue),\"message_id\":\(position)}")
                await broker.broadcast(EncodedPush(event: PhoenixEvent.read, payload: payload), in: id, except: socketID)
            } catch {
                replyError(message, reason: ReplyReason.unavailable)
            }
        case PhoenixEvent.leave:
            conversationJoins.withLock { _ = $0.removeValue(forKey: id) }
            await broker.topics.leave(id, socket: socketID)
            replyOK(message)
            enqueue(serializer.encode(joinRef: message.joinRef, ref: nil, topic: message.topic, event: PhoenixEvent.close, payload: ByteBuffer(string: "{}")))
        default:
            replyError(message, reason: ReplyReason.unmatchedEvent)
        }
    }

    private func leaveConversations() async {
        let joined = conversationJoins.withLock { joins in
            defer { joins.removeAll() }
            return Array(joins.keys)
        }
        for id in joined { await broker.topics.leave(id, socket: socketID) }
    }

    private func send(_ message: PhoenixMessage) async {
        var fields = FieldValidator(message.payload)
        let recipient = fields.requiredID("user").map(UserID.init)
        let conversation = fields.requiredID("conv").map(ConversationID.init)
        let content = fields.requiredContent("message", maxLength: maxMessageLength)
        let clientID = fields.optionalString("client_id", maxLength: ConversationsController.maxClientIDLength)
        guard fields.errors.isEmpty, let recipient, let conversation, let content else {
            replyError(message, reason: ReplyReason.invalidPayload, errors: fields.errors)
            return
        }
        let request = SendRequest(
            sender: user.id, recipient: recipient, content: content, clientID: clientID, socket: socketID
        )
        do {
            let stored = try await broker.send(request, in: conversation, handles: conversationHandles)
            var response = ByteBuffer()
            response.writeStaticString("{\"message\":")
            JSONWriter.writeMessage(stored.message, into: &response)
            response.writeInteger(UInt8(ascii: "}"))
            enqueue(serializer.reply(to: message, status: "ok", response: response))
        } catch BrokerError.notParticipant {
            replyError(message, reason: ReplyReason.notParticipant)
        } catch {
            replyError(message, reason: ReplyReason.unavailable)
        }
    }

    private func replyOK(_ message: PhoenixMessage) {
        enqueue(serializer.reply(to: message, status: "ok", response: ByteBuffer(string: "{}")))
    }

    private func replyError(_ message: PhoenixMessage, reason: String, errors: ValidationErrors? = nil) {
        GatewayMetrics.errors(reason).increment()
        var response: [String: JSONValue] = ["reason": .string(reason)]
        if let errors, !errors.isEmpty {
            response["errors"] = .object(errors.fields.mapValues { .array($0.map(JSONValue.string)) })
        }
        enqueue(serializer.reply(to: message, status: "error", response: .object(response)))
    }
}

