/// One SMTP reply (RFC 5321 §4.2): a three-digit code and its text lines.
package struct SMTPReply: Sendable, Hashable {
    /// The reply code, 200...599.
    package var code: Int
    /// The text after the code of each line, in order.
    package var lines: [String]

    /// Creates a reply.
    package init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    /// 2xx and 3xx: the command was accepted (or the server waits for more, as after `DATA`).
    package var isPositive: Bool { (200..<400).contains(code) }
    /// 5xx: refused for good.
    package var isPermanentFailure: Bool { (500..<600).contains(code) }

    /// The reply for logs and errors: code and first line, shortened.
    package var summary: String {
        let text = "\(code) \(lines.first ?? "")"
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}

/// Assembles replies from the server's lines: `250-text` continues a reply, `250 text` (or a bare `250`)
/// ends it, and every line of one reply carries the same code. Pure; the client feeds it line by line.
package struct SMTPReplyParser: Sendable {
    private var code: Int?
    private var lines: [String] = []
    /// Lines of one reply at most (a bounded buffer against a misbehaving server).
    static let maxLines = 256

    /// Creates a parser between replies.
    package init() {}

    /// Takes one line (without its line ending).
    /// - Returns: the reply this line completed, or `nil` when more lines follow.
    /// - Throws: ``MailDeliveryError/transient(_:)`` for a line that is not part of a reply.
    package mutating func consume(_ line: String) throws -> SMTPReply? {
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, bytes[0..<3].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let lineCode = Int(String(decoding: bytes[0..<3], as: UTF8.self)), (200...599).contains(lineCode)
        else {
            throw MailDeliveryError.transient("malformed SMTP reply line")
        }
        if let code, code != lineCode {
            throw MailDeliveryError.transient("SMTP reply lines with different codes (\(code), \(lineCode))")
        }
        let separator: UInt8? = bytes.count > 3 ? bytes[3] : nil
        guard separator == nil || separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
            throw MailDeliveryError.transient("malformed SMTP reply line")
        }
        let text = bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : ""
        code = lineCode
        lines.append(text)
        if separator == UInt8(ascii: "-") {
            guard lines.count < Self.maxLines else { throw MailDeliveryError.transient("SMTP reply too long") }
            return nil
        }
        defer {
            code = nil
            lines = []
        }
        return SMTPReply(code: lineCode, lines: lines)
    }
}
