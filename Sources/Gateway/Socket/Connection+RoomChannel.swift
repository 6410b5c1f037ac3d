import Broker
import NIOCore
import Store

/// The `room:chat` channel: joining (with `last_seen_id` recovery), leaving, and `send_msg`.
extension Connection {
    /// Joins `room:chat`, replacing an earlier join of this socket (`phx_close` with its `join_ref`).
    func joinRoom(_ message: PhoenixMessage) async {
        var lastSeen: MessageID?
        switch message.payload["last_seen_id"] {
        case .none, .some(.null): lastSeen = nil
        case .some(.integer(let id)) where id >= 0: lastSeen = MessageID(id)
        default:
            replyError(message, reason: ReplyReason.invalidPayload, errors: ValidationErrors("last_seen_id", ValidationErrors.Message.invalid))
            return
        }
        // Subscribe first, buffering, then read the store: nothing committed in between is missed, and no push
        // goes out before the join's reply (nor a presence diff before the presence state).
        GatewayMetrics.joins.increment()
        let subscription = RoomSubscription(
            connection: self,
            joinRef: message.joinRef,
            buffering: true,
            bufferLimit: configuration.outboundQueue
        )
        if let previous = joins.withLock({ $0.join(room: subscription) }) {
            // A second join of a joined topic closes the old join, as Phoenix does.
            previous.leave()
            await broker.leaveRoom(previous.socketID, for: user.id)
            enqueue(close(joinRef: previous.joinRef, topic: PhoenixEvent.roomTopic))
        }
        let presence: [(UserID, Timestamp)]
        var recovery: Recovery?
        do {
            presence = try await broker.joinRoom(subscription, for: user.id)
            if let lastSeen { recovery = try await Recovery.read(for: user.id, after: lastSeen, in: store) }
        } catch {
            await leaveRoom()
            replyError(message, reason: ReplyReason.unavailable)
            return
        }
        if let recovery {
            enqueue(
                serializer.reply(
                    to: message,
                    status: "ok",
                    response: .object([
                        "recovered": .integer(Int64(recovery.messages.count)), "truncated": .bool(recovery.truncated),
                    ])
                )
            )
            if !recovery.messages.isEmpty {
                enqueue(item: .replay(joinRef: message.joinRef, messages: recovery.messages[...]))
            }
        } else {
            replyOK(message)
        }
        enqueue(
            serializer.encode(
                joinRef: message.joinRef,
                ref: nil,
                topic: PhoenixEvent.roomTopic,
                event: PhoenixEvent.presenceState,
                payload: FrameEncoder.presenceState(presence)
            )
        )
        if let recovery, let lastSeen {
            subscription.goLive(skipping: Set(recovery.messages.map(\.id)), lastSeen: lastSeen)
        } else {
            subscription.goLive()
        }
    }

    /// Leaves `room:chat`, if joined: no push reaches the join after this.
    func leaveRoom() async {
        guard let subscription = joins.withLock({ $0.leaveRoom() }) else { return }
        subscription.leave()
        await broker.leaveRoom(subscription.socketID, for: user.id)
    }

    /// A `send_msg`: checked here, then handed to its conversation without waiting for the commit, so the
    /// socket goes on with its next frame (pipelining); the reply goes out when the commit lands. On the event
    /// loop, or on the inbound task when other messages waited ahead of it.
    func handle(sendMessage message: PhoenixMessage) {
        if sendBucket.withLock({ $0.take(now: .now) }) != nil {
            return replyError(message, reason: ReplyReason.rateLimited)
        }
        var fields = FieldValidator(message.payload)
        let recipient = fields.requiredID("user").map(UserID.init)
        let conversation = fields.requiredID("conv").map(ConversationID.init)
        let content = fields.requiredContent("message", maxLength: maxMessageLength)
        let clientID = fields.optionalString("client_id", maxLength: ConversationsController.maxClientIDLength)
        guard fields.errors.isEmpty, let recipient, let conversation, let content else {
            return replyError(message, reason: ReplyReason.invalidPayload, errors: fields.errors)
        }
        let request = SendRequest(
            sender: user.id,
            recipient: recipient,
            content: content,
            clientID: clientID,
            socket: socketID
        )
        sendsInFlight.add(1, ordering: .relaxed)
        broker.submit(request, in: conversation, handles: conversationHandles) { [self] result in
            sendsInFlight.subtract(1, ordering: .relaxed)
            switch result {
            case .success(let stored):
                var response = ByteBuffer()
                response.writeStaticString("{\"message\":")
                JSONWriter.writeMessage(stored.message, into: &response)
                response.writeInteger(UInt8(ascii: "}"))
                enqueue(serializer.reply(to: message, status: "ok", response: response))
            case .failure(.notParticipant):
                replyError(message, reason: ReplyReason.notParticipant)
            case .failure(.unavailable):
                replyError(message, reason: ReplyReason.unavailable)
            }
            resumeRoomWaiter()
        }
    }
}
