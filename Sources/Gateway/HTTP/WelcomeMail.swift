import Store

/// The registration mail, which carries the generated password (the only other place it is ever shown).
///
/// It is stored with a redacted copy of its bodies, which replaces them once a mailer that redacts (SMTP)
/// delivered it, so that no usable password stays in the database.
enum WelcomeMail {
    /// What stands for the password in the redacted copy.
    static let redactedPassword = "[redacted after delivery]"

    static func make(to email: String, name: String, password: String, from sender: String) -> NewMail {
        NewMail(
            to: email,
            from: sender,
            subject: "Welcome! Your password",
            textBody: textBody(name: name, password: password),
            htmlBody: htmlBody(name: name, password: password),
            redactedTextBody: textBody(name: name, password: redactedPassword),
            redactedHTMLBody: htmlBody(name: name, password: redactedPassword)
        )
    }

    private static func textBody(name: String, password: String) -> String {
        "Hello \(name),\n\nyour account is ready. Sign in with this password:\n\n\(password)\n"
    }

    private static func htmlBody(name: String, password: String) -> String {
        "<p>Hello \(HTML.escape(name)),</p><p>your account is ready. Sign in with this password:</p>"
            + "<p><code>\(HTML.escape(password))</code></p>"
    }
}

/// Escaping for the few HTML pages the server renders.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
