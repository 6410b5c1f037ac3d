import Store

/// The exact-recovery rule of a `room:chat` join with `last_seen_id`, as a pure state machine: no gap and no
/// duplicate between the replay of missed messages and the live pushes.
///
/// The join is attached to its user's actor *before* the store is read (``Recovery``), so nothing committed
/// during the read is missed: while *buffering*, live pushes wait here. Once the replay is queued, the gate
/// goes live and releases the buffered pushes minus those the replay carried.
///
/// A push can also arrive *after* going live for a message the replay carried: in a cluster, pushes come from
/// the store's feed, which may lag behind the read. Ids follow commit order, so every message from others with
/// an id up to the highest replayed one was visible to the read and replayed; live pushes of such messages are
/// dropped (the user's own messages, which recovery does not replay, are not), and so is anything up to the
/// join's `last_seen_id`, which the client has already.
package struct RecoveryGate: Sendable {
    private enum Mode {
        case buffering([EncodedPush])
        /// Live; pushes of others' messages with ids up to `floor` were replayed, and the client had every
        /// message up to `lastSeen` before it joined.
        case live(floor: MessageID?, lastSeen: MessageID?)
        /// Left (or the socket closed): a fan-out holding a stale copy of the user's sinks pushes nothing more.
        case left
    }

    /// What to do with a push.
    package enum Admission: Equatable {
        /// Send it now.
        case forward
        /// Held (buffering), or dropped (replayed already, or the join is gone).
        case hold
        /// The buffer is full: the socket is too far behind (close it with 1013; it recovers on reconnect).
        case overflow
    }

    private var mode: Mode
    private let bufferLimit: Int
    /// The joining user: recovery replays only others' messages, so the user's own are never dropped.
    private let user: UserID

    /// A gate for `user`'s join: buffering (a join with `last_seen_id`) or live at once.
    package init(user: UserID, buffering: Bool, bufferLimit: Int) {
        self.user = user
        self.mode = buffering ? .buffering([]) : .live(floor: nil, lastSeen: nil)
        self.bufferLimit = bufferLimit
    }

    /// Decides about a live push.
    package mutating func admit(_ push: EncodedPush) -> Admission {
        switch mode {
        case .left:
            return .hold
        case .live(let floor, let lastSeen):
            if let id = push.messageID {
                if let lastSeen, id <= lastSeen { return .hold }
                if let floor, id <= floor, push.senderID != user { return .hold }
            }
            return .forward
        case .buffering(var pending):
            guard pending.count < bufferLimit else { return .overflow }
            pending.append(push)
            mode = .buffering(pending)
            return .hold
        }
    }

    /// Ends buffering.
    /// - Parameters:
    ///   - replayed: the ids the replay carried.
    ///   - lastSeen: the join's `last_seen_id`: the client has every message up to it already.
    /// - Returns: the buffered pushes to send now, in order: those the replay did not carry.
    package mutating func goLive(skipping replayed: Set<MessageID>, lastSeen: MessageID) -> [EncodedPush] {
        guard case .buffering(let pending) = mode else { return [] }
        mode = .live(floor: max(lastSeen, replayed.max() ?? lastSeen), lastSeen: lastSeen)
        return pending.filter { push in
            guard let id = push.messageID else { return true }
            return !replayed.contains(id) && id > lastSeen
        }
    }

    /// Ends the buffering of a join without `last_seen_id`, which only holds pushes until its reply is out.
    /// - Returns: the buffered pushes to send now, in order.
    package mutating func goLive() -> [EncodedPush] {
        guard case .buffering(let pending) = mode else { return [] }
        mode = .live(floor: nil, lastSeen: nil)
        return pending
    }

    /// The join is gone: nothing more passes.
    package mutating func leave() {
        mode = .left
    }
}
