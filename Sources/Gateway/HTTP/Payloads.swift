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

    /// A conversation as seen by `viewer`: read positions are the viewer's and the other participant's.
    struct ConversationBody: Encodable {
        var conversation: Conversation
        var viewer: UserID

        init(_ conversation: Conversation, viewer: UserID) {
            self.conversation = conversation
            self.viewer = viewer
        }

        enum CodingKeys: String, CodingKey {
            case id, status
            case senderID = "sender_id"
            case recipientID = "recipient_id"
            case insertedAt = "inserted_at"
            case lastMessageID = "last_message_id"
            case lastReadID = "last_read_id"
            case peerLastReadID = "peer_last_read_id"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(conversation.id.rawValue, forKey: .id)
            try container.encode(conversation.senderID.rawValue, forKey: .senderID)
            try container.encode(conversation.recipientID.rawValue, forKey: .recipientID)
            try container.encode(conversation.status, forKey: .status)
            try container.encode(conversation.insertedAt.rfc3339, forKey: .insertedAt)
            try container.encode(conversation.lastMessageID?.rawValue, forKey: .lastMessageID)
            try container.encode(conversation.lastReadID(of: viewer)?.rawValue, forKey: .lastReadID)
            try container.encode(
                conversation.lastReadID(of: conversation.peer(of: viewer))?.rawValue,
                forKey: .peerLastReadID
            )
        }
    }

    /// A message on the wire; `client_id` is null when not given.
    struct MessageBody: Encodable {
        var message: Message

        init(_ message: Message) { self.message = message }

        enum CodingKeys: String, CodingKey {
            case id, content, date
            case conversationID = "conversation_id"
            case senderID = "sender_id"
            case clientID = "client_id"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(message.id.rawValue, forKey: .id)
            try container.encode(message.conversationID.rawValue, forKey: .conversationID)
            try container.encode(message.senderID.rawValue, forKey: .senderID)
            try container.encode(message.content, forKey: .content)
            try container.encode(message.insertedAt.rfc3339, forKey: .date)
            try container.encode(message.clientID, forKey: .clientID)
        }
    }

    /// A page of history: `{"data": [...], "has_more": bool}`.
    struct MessagePage: Encodable {
        var data: [MessageBody]
        var hasMore: Bool

        enum CodingKeys: String, CodingKey {
            case data
            case hasMore = "has_more"
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
