import Store

/// The registration mail, which carries the generated password (the only other place it is ever shown).
enum WelcomeMail {
    static func make(to email: String, name: String, password: String, from sender: String) -> NewMail {
        NewMail(
            to: email, from: sender, subject: "Welcome! Your password",
            textBody: "Hello \(name),\n\nyour account is ready. Sign in with this password:\n\n\(password)\n",
            htmlBody: "<p>Hello \(HTML.escape(name)),</p><p>your account is ready. Sign in with this password:</p>"
                + "<p><code>\(HTML.escape(password))</code></p>"
        )
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
