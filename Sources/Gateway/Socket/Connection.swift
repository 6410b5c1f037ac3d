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
    /// The signed-in user.
    let user: User
    /// The token the socket was opened with.
    let token: TokenClaims
    let serializer: PhoenixSerializer
    private let broker: BrokerRoot
    private let configuration: SocketConfiguration
    private let maxMessageLength: Int
    private let logger: Logger
    private let queue: AsyncStream<ByteBuffer>.Continuation
    private let frames: AsyncStream<ByteBuffer>
    private let closeRequest = Mutex<(code: WebSocketErrorCode, reason: String)?>(nil)
    private let activity = Atomic<UInt64>(NIODeadline.now().uptimeNanoseconds)
    /// The `room:chat` join, read by the push path; written only by the reader loop.
    private let roomJoin = Mutex<RoomSubscription?>(nil)

    init(
        user: User, token: TokenClaims, serializer: PhoenixSerializer, broker: BrokerRoot,
        configuration: SocketConfiguration, maxMessageLength: Int, logger: Logger
    ) {
        self.user = user
        self.token = token
        self.serializer = serializer
        self.broker = broker
        self.configuration = configuration
        self.maxMessageLength = maxMessageLength
        var logger = logger
        logger[metadataKey: "broker.user_id"] = "\(user.id)"
        self.logger = logger
        (frames, queue) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingOldest(configuration.outboundQueue))
    }

    /// When the client last sent a frame.
    var lastActivity: NIODeadline { NIODeadline.uptimeNanoseconds(activity.load(ordering: .relaxed)) }

    // MARK: - Outbound

    /// Queues a frame.
    /// - Returns: `false` when the queue is full (the socket is then closed with 1013) or the socket is closing.
    @discardableResult
    func enqueue(_ frame: ByteBuffer) -> Bool {
        switch queue.yield(frame) {
        case .enqueued: return true
        case .dropped:
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
        if first { queue.finish() }
    }

    /// The writer loop: sends queued frames until the queue finishes, then closes with the requested code.
    func writeLoop(_ outbound: WebSocketOutboundWriter) async {
        do {
            for await frame in frames {
                try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: frame)))
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
        case (_, PhoenixEvent.join):
            replyError(message, reason: ReplyReason.unmatchedTopic)
        case (PhoenixEvent.roomTopic, PhoenixEvent.leave) where isRoomJoin(message.joinRef):
            await leaveRoom()
            replyOK(message)
            enqueue(serializer.encode(joinRef: message.joinRef, ref: nil, topic: message.topic, event: PhoenixEvent.close, payload: ByteBuffer(string: "{}")))
        case (PhoenixEvent.roomTopic, PhoenixEvent.sendMessage) where isRoomJoin(message.joinRef):
            await send(message)
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
        let subscription = RoomSubscription(connection: self, joinRef: message.joinRef)
        roomJoin.withLock { $0 = subscription }
        await broker.users.attach(subscription, for: user.id)
        replyOK(message)
    }

    private func leaveRoom() async {
        guard let subscription = roomJoin.withLock({ join -> RoomSubscription? in
            defer { join = nil }
            return join
        }) else { return }
        await broker.users.detach(subscription.socketID, for: user.id)
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
            let stored = try await broker.send(request, in: conversation)
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
        var response: [String: JSONValue] = ["reason": .string(reason)]
        if let errors, !errors.isEmpty {
            response["errors"] = .object(errors.fields.mapValues { .array($0.map(JSONValue.string)) })
        }
        enqueue(serializer.reply(to: message, status: "error", response: .object(response)))
    }
}

/// A socket's `room:chat` join as its user actor sees it: pushes carry this join's own `join_ref`.
final class RoomSubscription: SocketSink {
    let connection: Connection
    let joinRef: String?

    init(connection: Connection, joinRef: String?) {
        self.connection = connection
        self.joinRef = joinRef
    }

    var socketID: SocketID { connection.socketID }

    func enqueue(_ push: EncodedPush) -> Bool {
        connection.enqueue(
            connection.serializer.encode(
                joinRef: joinRef, ref: nil, topic: PhoenixEvent.roomTopic, event: push.event, payload: push.payload
            )
        )
    }

    func closeForRestart() {
        connection.close(code: .unexpectedServerError, reason: "restarting")
    }
}
