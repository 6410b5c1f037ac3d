import Broker
import NIOCore
import Store
import Synchronization

/// A socket's `room:chat` join as its user actor sees it: pushes carry this join's own `join_ref`.
///
/// A join with `last_seen_id` starts *buffering*: it is attached to the user actor before the store is read,
/// so nothing committed during the read is missed; live pushes wait here until the replayed messages are
/// queued, then go out, minus the ones the replay already carried. So there is no gap and no duplicate.
///
/// A push can also arrive *after* going live for a message the replay carried: in a cluster, pushes come from
/// the store's feed, which may lag behind the read. Ids follow commit order, so every message from others with
/// an id up to the highest replayed one was visible to the read and replayed; live pushes of such messages are
/// dropped (the user's own messages, which recovery does not replay, are not), and so is anything up to the
/// join's `last_seen_id`, which the client has already.
final class RoomSubscription: SocketSink {
    private enum Mode {
        case buffering([EncodedPush])
        /// Live; pushes of others' messages with ids up to `floor` were replayed, and the client had every
        /// message up to `lastSeen` before it joined.
        case live(floor: MessageID?, lastSeen: MessageID?)
    }

    let connection: Connection
    let joinRef: String?
    private let mode: Mutex<Mode>
    private let bufferLimit: Int

    init(connection: Connection, joinRef: String?, buffering: Bool, bufferLimit: Int) {
        self.connection = connection
        self.joinRef = joinRef
        self.mode = Mutex(buffering ? .buffering([]) : .live(floor: nil, lastSeen: nil))
        self.bufferLimit = bufferLimit
    }

    var socketID: SocketID { connection.socketID }

    func enqueue(_ push: EncodedPush) -> Bool {
        let user = connection.user.id
        let forward = mode.withLock { mode -> Bool? in
            guard case .buffering(var pending) = mode else {
                if case .live(let floor, let lastSeen) = mode, let id = push.messageID {
                    if let lastSeen, id <= lastSeen { return nil }
                    if let floor, id <= floor, push.senderID != user { return nil }
                }
                return true
            }
            guard pending.count < bufferLimit else { return false }
            pending.append(push)
            mode = .buffering(pending)
            return nil
        }
        switch forward {
        case .some(true): return send(push)
        case .some(false):
            connection.close(code: .unknown(1013), reason: "outbound queue full")
            return false
        case .none: return true
        }
    }

    /// Ends buffering: queues the buffered pushes except those whose message was replayed, then goes live.
    /// - Parameters:
    ///   - replayed: the ids the replay carried.
    ///   - lastSeen: the join's `last_seen_id`: the client has every message up to it already.
    func goLive(skipping replayed: Set<MessageID>, lastSeen: MessageID) {
        mode.withLock { mode in
            guard case .buffering(let pending) = mode else { return }
            let floor = max(lastSeen, replayed.max() ?? lastSeen)
            for push in pending {
                if let id = push.messageID, replayed.contains(id) || id <= lastSeen { continue }
                _ = send(push)
            }
            mode = .live(floor: floor, lastSeen: lastSeen)
        }
    }

    private func send(_ push: EncodedPush) -> Bool {
        connection.enqueue(
            connection.serializer.encode(
                joinRef: joinRef, ref: nil, topic: PhoenixEvent.roomTopic, event: push.event, payload: push.payload
            )
        )
    }
}

/// A socket's join of `conversation:<id>`, for typing and read events.
final class ConversationSubscription: SocketSink {
    let connection: Connection
    let joinRef: String?
    let topic: String

    init(connection: Connection, joinRef: String?, topic: String) {
        self.connection = connection
        self.joinRef = joinRef
        self.topic = topic
    }

    var socketID: SocketID { connection.socketID }

    func enqueue(_ push: EncodedPush) -> Bool {
        connection.enqueue(
            connection.serializer.encode(joinRef: joinRef, ref: nil, topic: topic, event: push.event, payload: push.payload)
        )
    }
}
