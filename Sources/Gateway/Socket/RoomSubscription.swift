import Broker
import NIOCore
import Store
import Synchronization

/// A socket's `room:chat` join as its user actor sees it: pushes carry this join's own `join_ref`, and pass
/// its ``RecoveryGate`` (no gap and no duplicate with a `last_seen_id` replay; nothing after leaving).
final class RoomSubscription: SocketSink, Joined {
    let connection: Connection
    let joinRef: String?
    private let gate: Locked<RecoveryGate>

    init(connection: Connection, joinRef: String?, buffering: Bool, bufferLimit: Int) {
        self.connection = connection
        self.joinRef = joinRef
        self.gate = Locked(RecoveryGate(user: connection.user.id, buffering: buffering, bufferLimit: bufferLimit))
    }

    var socketID: SocketID { connection.socketID }

    var eventLoop: any EventLoop { connection.eventLoop }

    /// Ends the join: nothing is pushed after this returns.
    func leave() {
        gate.withLock { $0.leave() }
    }

    func enqueue(_ push: EncodedPush) -> Bool {
        switch gate.withLock({ $0.admit(push) }) {
        case .forward: return send(push)
        case .hold: return true
        case .overflow:
            connection.close(code: .unknown(1013), reason: "outbound queue full")
            return false
        }
    }

    /// Ends buffering: queues the buffered pushes except those whose message was replayed, then goes live.
    /// - Parameters:
    ///   - replayed: the ids the replay carried.
    ///   - lastSeen: the join's `last_seen_id`: the client has every message up to it already.
    func goLive(skipping replayed: Set<MessageID>, lastSeen: MessageID) {
        // Under the gate's lock, so that no live push overtakes the buffered ones.
        gate.withLock { gate in
            for push in gate.goLive(skipping: replayed, lastSeen: lastSeen) { _ = send(push) }
        }
    }

    /// Ends the buffering of a join without `last_seen_id`: queues what arrived before its reply went out.
    func goLive() {
        gate.withLock { gate in
            for push in gate.goLive() { _ = send(push) }
        }
    }

    private func send(_ push: EncodedPush) -> Bool {
        connection.enqueue(
            connection.serializer.encode(
                joinRef: joinRef,
                ref: nil,
                topic: PhoenixEvent.roomTopic,
                event: push.event,
                payload: push.payload
            )
        )
    }
}

/// A socket's join of `conversation:<id>`, for typing and read events.
final class ConversationSubscription: SocketSink, Joined {
    let connection: Connection
    let joinRef: String?
    let topic: String

    init(connection: Connection, joinRef: String?, topic: String) {
        self.connection = connection
        self.joinRef = joinRef
        self.topic = topic
    }

    var socketID: SocketID { connection.socketID }

    var eventLoop: any EventLoop { connection.eventLoop }

    func enqueue(_ push: EncodedPush) -> Bool {
        connection.enqueue(
            connection.serializer.encode(joinRef: joinRef, ref: nil, topic: topic, event: push.event, payload: push.payload)
        )
    }
}
