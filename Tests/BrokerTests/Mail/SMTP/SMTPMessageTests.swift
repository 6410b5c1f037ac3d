import Foundation
import Testing

@testable import Broker
@testable import Store

struct SMTPMessageTests {
    let mail = Mail(
        id: 1,
        to: "ann@example.com",
        from: "broker@example.org",
        subject: "Welcome! Your password",
        textBody: "Hello Ann,\n\npassword:\n\nS3cret-pw\n",
        htmlBody: "<p>Hello Ann</p><p><code>S3cret-pw</code></p>",
        status: .pending,
        attempts: 0,
        insertedAt: Timestamp(microseconds: 0)
    )

    /// The decoded parts of a built message, by content type.
    func parts(of message: String, boundary: String) -> [String: String] {
        var parts: [String: String] = [:]
        for chunk in message.components(separatedBy: "--\(boundary)").dropFirst() {
            guard let split = chunk.range(of: "\r\n\r\n") else { continue }
            let headers = chunk[..<split.lowerBound]
            guard let type = headers.firstMatch(of: /Content-Type: ([a-z\/]+)/)?.1 else { continue }
            let base64 = chunk[split.upperBound...].replacingOccurrences(of: "\r\n", with: "")
            parts[String(type)] = Data(base64Encoded: base64).map { String(decoding: $0, as: UTF8.self) }
        }
        return parts
    }

    @Test func theMessageHasTheHeadersAndBothAlternatives() throws {
        let date = Timestamp(microseconds: 1_795_615_200_000_000)  // 2026-11-25T14:00:00Z, a Wednesday
        let message = SMTPMessage.build(mail, date: date, messageID: "abc@broker.example", boundary: "=_b1")
        let head = try #require(message.components(separatedBy: "\r\n\r\n").first).components(separatedBy: "\r\n")
        #expect(
            head == [
                "Date: Wed, 25 Nov 2026 14:00:00 +0000",
                "From: broker@example.org",
                "To: ann@example.com",
                "Subject: Welcome! Your password",
                "Message-ID: <abc@broker.example>",
                "MIME-Version: 1.0",
                "Content-Type: multipart/alternative; boundary=\"=_b1\"",
            ]
        )
        #expect(message.contains("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n"))
        #expect(message.hasSuffix("--=_b1--\r\n"))
        #expect(!message.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "CRLF line endings only")
        #expect(message.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
        let decoded = parts(of: message, boundary: "=_b1")
        #expect(decoded["text/plain"] == mail.textBody)
        #expect(decoded["text/html"] == mail.htmlBody)
    }

    @Test func nonASCIISubjectsAreEncodedWordsAndHeadersCannotBeInjected() throws {
        #expect(SMTPMessage.encodedHeaderText("Plain subject") == "Plain subject")
        let encoded = SMTPMessage.encodedHeaderText("Bienvenue, Zoë! Votre mot de passe — 🔑")
        let words = encoded.components(separatedBy: "\r\n ")
        #expect(words.allSatisfy { $0.hasPrefix("=?UTF-8?B?") && $0.hasSuffix("?=") && $0.count <= 75 })
        let decoded = words.map { word in
            Data(base64Encoded: String(word.dropFirst(10).dropLast(2))).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        }.joined()
        #expect(decoded == "Bienvenue, Zoë! Votre mot de passe — 🔑")
        let long = SMTPMessage.encodedHeaderText(String(repeating: "é", count: 100))
        #expect(long.components(separatedBy: "\r\n ").count > 1, "long text folds over several words")
        #expect(SMTPMessage.encodedHeaderText("Hi\r\nBcc: evil@example.com") == "HiBcc: evil@example.com")
    }

    @Test func dataIsDotStuffedCRLFNormalizedAndTerminated() {
        #expect(SMTPMessage.dataPayload("a\nb\r\nc\rd") == "a\r\nb\r\nc\r\nd\r\n.\r\n")
        #expect(SMTPMessage.dataPayload(".hidden\n..two\nmid.dot\n.") == "..hidden\r\n...two\r\nmid.dot\r\n..\r\n.\r\n")
        #expect(SMTPMessage.dataPayload("ends\r\n") == "ends\r\n.\r\n")
        #expect(SMTPMessage.dataPayload("") == ".\r\n")
    }

    @Test func datesFollowRFC5322() {
        #expect(SMTPMessage.rfc5322Date(Timestamp(microseconds: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(SMTPMessage.rfc5322Date(Timestamp(microseconds: 951_782_400_000_000)) == "Tue, 29 Feb 2000 00:00:00 +0000")
        #expect(SMTPMessage.rfc5322Date(Timestamp(microseconds: 4_102_444_799_999_999)) == "Thu, 31 Dec 2099 23:59:59 +0000")
    }
}
