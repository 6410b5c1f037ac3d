/// Where and how the SMTP client delivers (`BROKER_SMTP_*`).
package struct SMTPConfiguration: Sendable, Hashable {
    /// The server's host name or IP address.
    package var host: String
    /// The server's port: 587 (submission, with STARTTLS) by default; 465 means implicit TLS.
    package var port: Int = 587
    /// The user to log in as; no `AUTH` without it.
    package var username: String?
    /// The user's password.
    package var password: String?
    /// Whether to upgrade to TLS with `STARTTLS` before anything else (ignored on port 465, which is TLS from
    /// the first byte). When the server does not offer it, nothing is sent in clear: the attempt fails for now.
    package var startTLS: Bool = true
    /// A PEM file of trust roots to accept the server's certificate by, in addition to the system's.
    package var caFile: String?
    /// The limit on connecting and on waiting for each reply.
    package var timeout: Duration = .seconds(30)
    /// The name the client greets with (`EHLO`).
    package var heloName: String = "localhost"

    /// Creates the configuration of a server; the other settings keep their defaults.
    package init(host: String) {
        self.host = host
    }

    /// Whether the connection is TLS from the first byte (SMTPS, port 465).
    package var implicitTLS: Bool { port == 465 }
}
