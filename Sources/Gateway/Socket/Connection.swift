import Broker
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Store
import Synchronization

/// One WebSocket: its Phoenix state (which topics are joined under which `join_ref`) and its bounded outbound
/// queue.
///
/// It owns two loops run by the socket's upgrade handler: the reader (decodes frames, answers them, hands
/// sends to the broker) and the writer (drains the outbound queue into the socket). Pushes from user actors
/// and replies share the queue, so a socket sees them in the order they were produced. A queue that fills up
/// closes the socket with 1013 instead of growing; other sockets are never slowed by it.
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
    private let configuration: SocketConfiguration
    private let maxMessageLength: Int
    private let logger: Logger
    /// What the writer sends: a frame, or a recovery replay encoded as it is written, so a replay of up to
    /// 1,000 messages takes one slot of the bounded queue and is paced by the socket itself.
    enum OutboundItem: Sendable {
        case frame(ByteBuffer)
        case replay(joinRef: String?, messages: [Message])
    }

    private let queue: AsyncStream<OutboundItem>.Continuation
    private let frames: AsyncStream<OutboundItem>
    private let closeRequest = Mutex<(code: WebSocketErrorCode, reason: String)?>(nil)
    private let closeRequestedAt = Atomic<UInt64>(0)
    private let channel: any Channel
    private let activity = Atomic<UInt64>(NIODeadline.now().uptimeNanoseconds)
    /// The `room:chat` join, read by the push path; written only by the reader loop.
    private let roomJoin = Mutex<RoomSubscription?>(nil)
    /// Joined `conversation:<id>` topics; touched only by the reader loop.
    private let conversationJoins = Mutex<[ConversationID: ConversationSubscription]>([:])
    /// The per-socket send rate limit; touched only by the reader loop.
    private let sendBucket: Mutex<TokenBucket<ContinuousClock.Instant>>

    init(
        user: User, token: TokenClaims, serializer: PhoenixSerializer, broker: BrokerRoot, store: any Store,
        channel: any Channel, configuration: SocketConfiguration, maxMessageLength: Int, logger: Logger
    ) {
        self.channel = channel
        self.user = user
        self.token = token
        self.serializer = serializer
        self.broker = broker
        self.store = store
        self.sendBucket = Mutex(TokenBucket(rate: configuration.sendRate, burst: configuration.sendBurst, now: .now))
        self.configuration = configuration
        self.maxMessageLength = maxMessageLength
        var logger = logger
        logger[metadataKey: "broker.user_id"] = "\(user.id)"
        self.logger = logger
        (frames, queue) = AsyncStream.makeStream(
            of: OutboundItem.self, bufferingPolicy: .bufferingOldest(configuration.outboundQueue)
        )
    }

    /// When the client last sent a frame.
    var lastActivity: NIODeadline { NIODeadline.uptimeNanoseconds(activity.load(ordering: .relaxed)) }

    // MARK: - Outbound

    /// Queues a frame.
    /// - Returns: `false` when the queue is full (the socket is then closed with 1013) or the socket is closing.
    @discardableResult
    func enqueue(_ frame: ByteBuffer) -> Bool {
        enqueue(item: .frame(frame))
    }

    @discardableResult
    private func enqueue(item: OutboundItem) -> Bool {
        switch queue.yield(item) {
        case .enqueued: return true
        case .dropped:
            GatewayMetrics.errors("outbound queue full").increment()
            close(code: .unknown(1013), reason: "outbound queue full")
            return false
        case .terminated: return false
        @unknown default: return false
        }
    }

    /// Asks the writer to close the socket with `code` after what is queued.
    func close(code: WebSocketErrorCode, reason: String) {
        let first = closeRequest.withLock { request -> Bool in
            guard request == nil else { return false }
            request = (code, reason)
            return true
        }
        if first {
            closeRequestedAt.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
            queue.finish()
        }
    }

    /// When a close was requested, if one was.
    var closeRequested: NIODeadline? {
        let raw = closeRequestedAt.load(ordering: .relaxed)
        return raw == 0 ? nil : NIODeadline.uptimeNanoseconds(raw)
    }

    /// Closes the TCP connection without the WebSocket closing handshake: for a peer that stopped reading, whose
    /// queued frames (and close frame) can never be written.
    func forceClose() {
        channel.close(mode: .all, promise: nil)
    }

    /// The writer loop: sends queued frames until the queue finishes, then closes with the requested code.
    func writeLoop(_ outbound: WebSocketOutboundWriter) async {
        do {
            for await item in frames {
                switch item {
                case .frame(let frame):
                    try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: frame)))
                case .replay(let joinRef, let messages):
                    for message in messages {
                        let frame = serializer.encode(
                            joinRef: joinRef, ref: nil, topic: PhoenixEvent.roomTopic, event: PhoenixEvent.receiveMessage,
                            payload: FrameEncoder.messagePayload(message)
                        )
                        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: frame)))
                    }
                }
            }
            if let request = closeRequest.withLock({ $0 }) {
                try await outbound.close(request.code, reason: request.reason)
            }
        } catch {
            logger.debug("socket write failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Inbound

    /// The reader loop: every message until the client closes or the socket is closed.
    func readLoop(_ inbound: WebSocketInboundStream) async {
        do {
            for try await message in inbound.messages(maxSize: configuration.maxFrameBytes) {
                activity.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
                guard case .text(let text) = message else { continue }
                await handle(ByteBuffer(string: text))
                if closeRequest.withLock({ $0 }) != nil { break }
            }
        } catch {
            close(code: .messageTooLarge, reason: "message too large")
        }
        await leaveRoom()
        await leaveConversations()
        close(code: .normalClosure, reason: "")
    }

    private func handle(_ text: ByteBuffer) async {
        let message: PhoenixMessage
        do {
            message = try serializer.decode(text)
        } catch {
            // Not a Phoenix frame: nothing to reply to (no ref can be read), the socket stays open.
            logger.debug("malformed frame ignored")
            return
        }
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
            if !missed.isEmpty { enqueue(item: .replay(joinRef: message.joinRef, messages: missed)) }
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

