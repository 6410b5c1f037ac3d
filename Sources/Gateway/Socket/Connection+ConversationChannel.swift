import Broker
import NIOCore
import Store

/// The `conversation:<id>` channel: typing and read events between a conversation's participants.
extension Connection {
    /// Joins `conversation:<id>` if the user takes part in it, replacing an earlier join of this socket.
    func joinConversation(_ id: ConversationID, _ message: PhoenixMessage) async {
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
        let subscription = ConversationSubscription(connection: self, joinRef: message.joinRef, topic: message.topic)
        if let previous = joins.withLock({ $0.join(id, subscription) }) {
            enqueue(close(joinRef: previous.joinRef, topic: message.topic))
        }
        await broker.topics.join(id, user: user.id, sink: subscription)
        replyOK(message)
    }

    /// An event on a joined `conversation:<id>`: `typing`, `read` or `phx_leave`.
    func handleConversationEvent(_ id: ConversationID, _ message: PhoenixMessage) async {
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
            _ = joins.withLock { $0.leave(id) }
            await broker.topics.leave(id, socket: socketID)
            replyOK(message)
            enqueue(close(joinRef: message.joinRef, topic: message.topic))
        default:
            replyError(message, reason: ReplyReason.unmatchedEvent)
        }
    }

    /// Leaves every `conversation:<id>` joined.
    func leaveConversations() async {
        let joined = joins.withLock { joins in
            let ids = Array(joins.conversations.keys)
            for id in ids { _ = joins.leave(id) }
            return ids
        }
        for id in joined { await broker.topics.leave(id, socket: socketID) }
    }
}
