import NIOCore

/// The outbound side of one joined socket as the broker sees it: a bounded queue that never blocks.
///
/// Implemented by the Gateway's connection. `enqueue` must return at once: a shared actor never waits on one
/// socket.
package protocol SocketSink: AnyObject, Sendable {
    /// The socket.
    var socketID: SocketID { get }
    /// The event loop the socket's channel runs on: pushes for it are handed over there, one task per loop.
    var eventLoop: any EventLoop { get }
    /// Queues a push for the socket.
    /// - Returns: `false` when the socket's queue is full or it is closing; the sink then closes itself
    ///   (1013 for a full queue) and the caller forgets it.
    func enqueue(_ push: EncodedPush) -> Bool
}
