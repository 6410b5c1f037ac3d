/// The limits of the WebSocket endpoint (contract §3 and §4).
package struct SocketConfiguration: Sendable {
    /// Largest message after reassembly; larger closes the socket with 1009.
    package var maxFrameBytes: Int = 65_536
    /// Frames queued per socket before it is closed with 1013.
    package var outboundQueue: Int = 1_024
    /// A socket silent this long is closed.
    package var idleTimeout: Duration = .seconds(60)
    /// Sends per second per socket.
    package var sendRate: Double = 50
    /// Burst of sends per socket.
    package var sendBurst: Int = 200
    /// Open sockets per user; the next upgrade is refused with 429.
    package var maxSocketsPerUser: Int = 32
    /// Browser origins that may open a socket (`BROKER_ALLOWED_ORIGINS`); empty allows all.
    package var allowedOrigins = AllowedOrigins.any

    /// The defaults.
    package init() {}
}
