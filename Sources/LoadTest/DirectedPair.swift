/// One direction of a conversation: who sends (by socket index in the worker's slice) to whom.
struct DirectedPair: Sendable, Hashable {
    /// Index of the sending user's socket in ``WorkloadSlice/sockets``.
    let senderSocket: Int
    /// The recipient's user id (`user` of `send_msg`).
    let recipient: Int64
    /// The conversation (`conv` of `send_msg`).
    let conversation: Int64
}
