import Foundation
import Store

/// Builds the RFC 5322 message of an outbox mail and the bytes sent after `DATA`. Pure.
///
/// The message is `multipart/alternative` with a plain-text and an HTML part, both UTF-8 in base64 (lines of
/// 76 characters), so that no body line can be long, start with a dot or carry a bare CR or LF; headers are
/// ASCII, with non-ASCII subjects as RFC 2047 encoded words.
package enum SMTPMessage {
    /// The whole message, with CRLF line endings.
    /// - Parameters:
    ///   - date: the `Date` header's time.
    ///   - messageID: the `Message-ID` without angle brackets (`random@host`).
    ///   - boundary: the multipart boundary, which must not occur in the base64 parts (it contains `=_`,
    ///     which base64 never does).
    package static func build(_ mail: Mail, date: Timestamp, messageID: String, boundary: String) -> String {
        var lines = [
            "Date: \(rfc5322Date(date))",
            "From: \(headerSafe(mail.from))",
            "To: \(headerSafe(mail.to))",
            "Subject: \(encodedHeaderText(mail.subject))",
            "Message-ID: <\(headerSafe(messageID))>",
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "",
            "This is a multi-part message in MIME format.",
        ]
        for (type, body) in [("text/plain", mail.textBody), ("text/html", mail.htmlBody)] {
            lines += [
                "--\(boundary)",
                "Content-Type: \(type); charset=utf-8",
                "Content-Transfer-Encoding: base64",
                "",
                base64Lines(body),
            ]
        }
        lines.append("--\(boundary)--")
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// What follows `DATA`: the message with every line ending made CRLF, every line that starts with a dot
    /// given one more (RFC 5321 §4.5.2), and the terminating `.` line.
    package static func dataPayload(_ message: String) -> String {
        var out = ""
        out.reserveCapacity(message.utf8.count + 8)
        var lineStart = true
        var previousCR = false
        for scalar in message.unicodeScalars {
            switch scalar {
            case "\r":
                out += "\r\n"
                lineStart = true
                previousCR = true
                continue
            case "\n":
                if !previousCR { out += "\r\n" }
                lineStart = true
            default:
                if lineStart, scalar == "." { out += "." }
                out.unicodeScalars.append(scalar)
                lineStart = false
            }
            previousCR = false
        }
        if !lineStart { out += "\r\n" }
        return out + ".\r\n"
    }

    /// Header text as is when it is printable ASCII, else as RFC 2047 `=?UTF-8?B?…?=` encoded words (each at
    /// most 75 characters, never splitting a character), folded onto continuation lines.
    package static func encodedHeaderText(_ text: String) -> String {
        let clean = headerSafe(text)
        if clean.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }) { return clean }
        // 45 bytes of UTF-8 make 60 base64 characters, 72 with `=?UTF-8?B?` and `?=`.
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in clean {
            let bytes = Array(String(character).utf8)
            if !chunk.isEmpty, chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words.joined(separator: "\r\n ")
    }

    /// The RFC 5322 date-time in UTC: `Tue, 25 Nov 2026 14:00:00 +0000`.
    package static func rfc5322Date(_ time: Timestamp) -> String {
        let seconds = time.unixSeconds
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = ((days % 7) + 7 + 4) % 7  // 1970-01-01 was a Thursday
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[Int(weekday)]), \(two(day)) \(months[Int(month - 1)]) \(year) "
            + "\(two(secondOfDay / 3_600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) +0000"
    }

    /// The text's UTF-8 in base64, in CRLF-separated lines of 76 characters.
    static func base64Lines(_ text: String) -> String {
        let encoded = Array(Data(text.utf8).base64EncodedString().utf8)
        var lines: [String] = []
        var start = 0
        while start < encoded.count {
            let end = min(start + 76, encoded.count)
            lines.append(String(decoding: encoded[start..<end], as: UTF8.self))
            start = end
        }
        return lines.joined(separator: "\r\n")
    }

    /// The text with CR and LF removed, so that no value can end a header early and add one of its own.
    static func headerSafe(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" }.map(Character.init))
    }
}
