import Foundation
import Hummingbird
import NIOCore
import Store

/// The JSON shapes of the HTTP API (contract §2), with snake_case keys and explicit nulls.
enum Payloads {
    /// `{"data": …}`, the wrapper of every success body except registration.
    struct DataEnvelope<Value: Encodable>: Encodable {
        var data: Value
    }

    /// A user on the wire; `password` only in the registration answer.
    struct UserBody: Encodable {
        var id: Int64
        var name: String
        var subname: String
        var email: String
        var job: String
        var password: String?

        init(_ user: User, password: String? = nil) {
            self.id = user.id.rawValue
            self.name = user.name
            self.subname = user.subname
            self.email = user.email
            self.job = user.job
            self.password = password
        }
    }

    /// The login answer's `data`.
    struct LoginBody: Encodable {
        var user: UserBody
        var token: String
        var expire: Int64
    }

    /// A mail of the local mailer.
    struct MailBody: Encodable {
        var id: Int64
        var to: String
        var from: String
        var subject: String
        var textBody: String
        var htmlBody: String
        var status: String
        var insertedAt: String

        init(_ mail: Mail) {
            self.id = mail.id
            self.to = mail.to
            self.from = mail.from
            self.subject = mail.subject
            self.textBody = mail.textBody
            self.htmlBody = mail.htmlBody
            self.status = mail.status.rawValue
            self.insertedAt = mail.insertedAt.rfc3339
        }

        enum CodingKeys: String, CodingKey {
            case id, to, from, subject, status
            case textBody = "text_body"
            case htmlBody = "html_body"
            case insertedAt = "inserted_at"
        }
    }

    /// Encodes a value as a JSON response.
    static func response<Value: Encodable>(_ value: Value, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = try encoder.encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
