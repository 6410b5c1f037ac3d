import Foundation

/// The wire format of the cluster channel: a one-letter kind, then the body.
///
/// - `F{"o":"<instance>","m":[[id,conversation,sender,recipient,socket,inserted_at,"content",client_id|null],…]}`:
///   messages of one transaction; an entry of five numbers (no content) names a message too large to carry.
/// - `C<event>`: a node's control event, opaque here.
///
/// On PostgreSQL the feed is written inside the database, by the `broker_insert_messages` function (migration
/// `002_insert_messages_function`), because the ids it carries exist only there; that function packs the
/// payloads byte for byte as ``encodeFeed(origin:_:)`` does, which stays the format's reference (a test
/// compares the two). Hence the string escapes here are PostgreSQL's `to_json` escapes. Read with
/// `JSONDecoder` (off the commit path).
package enum FeedCodec {
    /// PostgreSQL refuses a `NOTIFY` payload of 8000 bytes or more; stay below with room to spare.
    package static let maxPayloadBytes = 7_900

    /// The feed notifications for one transaction's new messages: as few payloads as fit under
    /// ``maxPayloadBytes``, in id order. A message too large alone goes as its id.
    package static func encodeFeed(
        origin: String,
        _ entries: [(message: Message, recipient: UserID, socket: UInt64)]
    ) -> [String] {
        let head = "F{\"o\":\(quoted(origin)),\"m\":["
        let tail = "]}"
        var payloads: [String] = []
        var current = head
        var count = 0
        for entry in entries {
            let m = entry.message
            let numbers = "[\(m.id.rawValue),\(m.conversationID.rawValue),\(m.senderID.rawValue),\(entry.recipient.rawValue),\(entry.socket)"
            var item = numbers + ",\(m.insertedAt.microseconds),\(quoted(m.content)),\(m.clientID.map(quoted) ?? "null")]"
            if head.utf8.count + item.utf8.count + tail.utf8.count > maxPayloadBytes { item = numbers + "]" }
            if count > 0, current.utf8.count + 1 + item.utf8.count + tail.utf8.count > maxPayloadBytes {
                payloads.append(current + tail)
                current = head
                count = 0
            }
            if count > 0 { current += "," }
            current += item
            count += 1
        }
        if count > 0 { payloads.append(current + tail) }
        return payloads
    }

    /// A control event's payload.
    package static func encodeControl(_ event: String) -> String { "C" + event }

    /// Reads one payload; `nil` for one this version does not understand (it is logged and skipped).
    package static func decode(_ payload: String) -> ClusterNotification? {
        guard let kind = payload.first else { return nil }
        let body = payload.dropFirst()
        switch kind {
        case "C":
            return .control(String(body))
        case "F":
            guard let feed = try? JSONDecoder().decode(FeedPayload.self, from: Data(body.utf8)) else { return nil }
            return .feed(origin: feed.o, feed.m.map(\.message))
        default:
            return nil
        }
    }

    /// A JSON string literal, escaped exactly as PostgreSQL's `to_json(text)` escapes it.
    static func quoted(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }

    private struct FeedPayload: Decodable {
        var o: String
        var m: [Entry]
    }

    private struct Entry: Decodable {
        var message: FeedMessage

        init(from decoder: any Decoder) throws {
            var fields = try decoder.unkeyedContainer()
            let id = MessageID(try fields.decode(Int64.self))
            let conversation = ConversationID(try fields.decode(Int64.self))
            let sender = UserID(try fields.decode(Int64.self))
            let recipient = UserID(try fields.decode(Int64.self))
            let socket = try fields.decode(UInt64.self)
            var message: Message?
            if !fields.isAtEnd {
                let insertedAt = Timestamp(microseconds: try fields.decode(Int64.self))
                let content = try fields.decode(String.self)
                let clientID = try fields.decodeIfPresent(String.self)
                message = Message(
                    id: id,
                    conversationID: conversation,
                    senderID: sender,
                    content: content,
                    insertedAt: insertedAt,
                    clientID: clientID
                )
            }
            self.message = FeedMessage(
                id: id,
                conversationID: conversation,
                senderID: sender,
                recipientID: recipient,
                message: message,
                originSocket: socket
            )
        }
    }
}
