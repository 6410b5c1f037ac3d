/// The settings of the HTTP and WebSocket edge, read from `BROKER_*` by the executable.
package struct GatewayConfiguration: Sendable {
    /// Address to listen on.
    package var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks a free one.
    package var port: Int = 4000
    /// Largest accepted request body (413 beyond).
    package var maxBodyBytes: Int = 1_048_576
    /// Login and registration requests per second per client address.
    package var authRate: Double = 10
    /// Burst of login and registration requests per client address.
    package var authBurst: Int = 20
    /// Whether the local (development) mailer is on, which enables `/api/sent_mails` and `/sent_mails`.
    package var localMailer: Bool = true
    /// The sender address of the broker's mails.
    package var mailFrom: String = "broker@localhost"
    /// Longest message content in characters.
    package var maxMessageLength: Int = 10_000

    /// Peers whose forwarding headers name the client (`BROKER_TRUSTED_PROXIES`).
    package var trustedProxies = TrustedProxies.none

    /// Bounds on plain HTTP connections: head arrival time, idle keep-alive time, head size.
    package var httpLimits = HTTPConnectionGuard.Limits()

    /// WebSocket limits.
    package var socket = SocketConfiguration()

    /// The defaults of contract §4.
    package init() {}
}
