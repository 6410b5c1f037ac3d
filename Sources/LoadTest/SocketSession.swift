import Synchronization

/// The little a socket shares between its channel handler (event loop) and the scheduler (sends): kept small,
/// since a process holds up to ~20,000 of them.
final class SocketSession: Sendable {
    /// The socket's index in its process's slice.
    let index: Int
    /// The signed-in user.
    let userID: Int64
    /// Sends written and not yet answered.
    let inflight = Atomic<Int>(0)
    /// One more than the highest send sequence acknowledged so far (0: none), to see replies out of order.
    let ackedThrough = Atomic<UInt64>(0)
    /// Set before this tool closes the socket, so the close is not counted as a drop.
    let closing = Atomic<Bool>(false)

    /// A session for socket `index` of `userID`.
    init(index: Int, userID: Int64) {
        self.index = index
        self.userID = userID
    }
}
