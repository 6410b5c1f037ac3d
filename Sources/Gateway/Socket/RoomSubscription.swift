import Broker
import NIOCore
import Store
import Synchronization

/// A socket's `room:chat` join as its user actor sees it: pushes carry this join's own `join_ref`.
///
/// A join with `last_seen_id` starts *buffering*: it is attached to the user actor before the store is read,
/// so nothing committed during the read is missed; live pushes wait here until the replayed messages are
/// queued, then go out, minus the ones the replay already carried. So there is no gap and no duplicate.
final class RoomSubscription: SocketSink {
    private enum Mode {
        case buffering([EncodedPush])
        case live
    }

    let connection: Connection
    let joinRef: String?
    private let mode: Mutex<Mode>
    private let bufferLimit: Int

    init(connection: Connection, joinRef: String?, buffering: Bool, bufferLimit: Int) {
        self.connection = connection
        self.joinRef = joinRef
        self.mode = Mutex(buffering ? .buffering([]) : .live)
        self.bufferLimit = bufferLimit
    }

    var socketID: SocketID { connection.socketID }

    func enqueue(_ push: EncodedPush) -> Bool {
        let forward = mode.withLock { mode -> Bool? in
            guard case .buffering(var pending) = mode else { return true }
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
    func goLive(skipping replayed: Set<MessageID>) {
        mode.withLock { mode in
            guard case .buffering(let pending) = mode else { return }
            for push in pending {
                if let id = push.messageID, replayed.contains(id) { continue }
                _ = send(push)
            }
            mode = .live
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
