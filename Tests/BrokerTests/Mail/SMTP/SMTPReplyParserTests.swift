import Testing

@testable import Broker

struct SMTPReplyParserTests {
    func parse(_ lines: [String]) throws -> [SMTPReply] {
        var parser = SMTPReplyParser()
        return try lines.compactMap { try parser.consume($0) }
    }

    @Test func aOneLineReply() throws {
        #expect(try parse(["220 mail.example.com ESMTP ready"]) == [SMTPReply(code: 220, lines: ["mail.example.com ESMTP ready"])])
        #expect(try parse(["250"]) == [SMTPReply(code: 250, lines: [""])], "a bare code ends a reply")
    }

    @Test func aMultiLineReplyEndsAtTheLineWithASpace() throws {
        let replies = try parse(["250-mail.example.com", "250-STARTTLS", "250-AUTH PLAIN LOGIN", "250 SIZE 1000", "354 go ahead"])
        #expect(
            replies == [
                SMTPReply(code: 250, lines: ["mail.example.com", "STARTTLS", "AUTH PLAIN LOGIN", "SIZE 1000"]),
                SMTPReply(code: 354, lines: ["go ahead"]),
            ]
        )
    }

    @Test func malformedLinesAndMixedCodesAreRejected() {
        for lines in [["hello"], ["25"], ["999 nope"], ["250x"], ["250-a", "251 b"], ["abc def"]] {
            #expect(throws: MailDeliveryError.self, "\(lines)") { try parse(lines) }
        }
    }

    @Test func replyClasses() {
        #expect(SMTPReply(code: 354, lines: []).isPositive)
        #expect(!SMTPReply(code: 451, lines: []).isPositive && !SMTPReply(code: 451, lines: []).isPermanentFailure)
        #expect(SMTPReply(code: 550, lines: ["no"]).isPermanentFailure)
        #expect(SMTPReply(code: 550, lines: ["no such user"]).summary == "550 no such user")
    }

    @Test func capabilitiesComeFromTheLinesAfterTheGreeting() {
        let ehlo = SMTPReply(code: 250, lines: ["mail.example.com greets you", "8BITMIME", "STARTTLS", "AUTH LOGIN PLAIN", "AUTH=CRAM-MD5"])
        let capabilities = SMTPCapabilities(ehlo: ehlo)
        #expect(capabilities.startTLS)
        #expect(capabilities.authMechanisms == ["LOGIN", "PLAIN", "CRAM-MD5"])
        #expect(capabilities.preferredAuthMechanism == .plain)
        #expect(SMTPCapabilities(ehlo: SMTPReply(code: 250, lines: ["x", "auth login"])).preferredAuthMechanism == .login)
        let bare = SMTPCapabilities(ehlo: SMTPReply(code: 250, lines: ["STARTTLS AUTH PLAIN"]))
        #expect(!bare.startTLS && bare.preferredAuthMechanism == nil, "the first line is the greeting, not an extension")
    }
}
