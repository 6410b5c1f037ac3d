/// What a server offers in its reply to `EHLO` (RFC 5321 §4.1.1.1): the extension keywords of every line
/// after the first, with their parameters.
package struct SMTPCapabilities: Sendable, Hashable {
    /// Whether `STARTTLS` (RFC 3207) is offered.
    package var startTLS: Bool
    /// The `AUTH` mechanisms offered (RFC 4954), upper-cased; also read from the older `AUTH=` form.
    package var authMechanisms: Set<String>

    /// Reads the capabilities from an `EHLO` reply.
    package init(ehlo reply: SMTPReply) {
        var startTLS = false
        var mechanisms = Set<String>()
        for line in reply.lines.dropFirst() {
            let words = line.uppercased().split(whereSeparator: { $0 == " " || $0 == "=" }).map(String.init)
            guard let keyword = words.first else { continue }
            switch keyword {
            case "STARTTLS": startTLS = true
            case "AUTH": mechanisms.formUnion(words.dropFirst())
            default: break
            }
        }
        self.startTLS = startTLS
        self.authMechanisms = mechanisms
    }

    /// The mechanism to log in with: `PLAIN` (one round trip) when offered, else `LOGIN`; `nil` when neither.
    package var preferredAuthMechanism: SMTPAuthMechanism? {
        if authMechanisms.contains("PLAIN") { return .plain }
        if authMechanisms.contains("LOGIN") { return .login }
        return nil
    }
}

/// The `AUTH` mechanisms the client speaks.
package enum SMTPAuthMechanism: String, Sendable, Hashable {
    /// RFC 4616: `AUTH PLAIN <base64("\0user\0password")>`.
    case plain = "PLAIN"
    /// The widespread non-standard `AUTH LOGIN`: user and password each base64 on its own line.
    case login = "LOGIN"
}
