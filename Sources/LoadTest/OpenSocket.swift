import NIOCore

/// A joined socket: its channel (for writes from any thread) and its shared session.
struct OpenSocket: Sendable {
    /// The session shared with the channel handler.
    let session: SocketSession
    /// The upgraded channel; writes take ``NIOWebSocket/WebSocketFrame``s.
    let channel: any Channel
}
