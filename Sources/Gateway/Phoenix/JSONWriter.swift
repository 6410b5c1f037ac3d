import NIOCore
import Store

/// Writes JSON straight into a `ByteBuffer`: the frames of the socket path are small and their shapes
/// known, so they are written without building intermediate dictionaries or going through `JSONEncoder`.
/// (Hand-written because no listed package writes JSON into a ByteBuffer; escaping follows RFC 8259.)
package enum JSONWriter {
    /// Writes a JSON string literal.
    package static func writeString(_ string: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        let utf8 = string.utf8
        // Fast path: nothing to escape.
        if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            buffer.writeString(string)
        } else {
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(hex[Int(byte >> 4)])
                    buffer.writeInteger(hex[Int(byte & 0x0F)])
                default: buffer.writeInteger(byte)
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// Writes a string or `null`.
    package static func writeOptionalString(_ string: String?, into buffer: inout ByteBuffer) {
        if let string { writeString(string, into: &buffer) } else { buffer.writeStaticString("null") }
    }

    /// Writes any JSON value.
    package static func write(_ value: JSONValue, into buffer: inout ByteBuffer) {
        switch value {
        case .null: buffer.writeStaticString("null")
        case .bool(let flag): buffer.writeString(flag ? "true" : "false")
        case .integer(let number): buffer.writeString(String(number))
        case .number(let number): buffer.writeString(number.isFinite ? String(number) : "null")
        case .string(let string): writeString(string, into: &buffer)
        case .array(let items):
            buffer.writeInteger(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                write(item, into: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "]"))
        case .object(let members):
            buffer.writeInteger(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                writeString(key, into: &buffer)
                buffer.writeInteger(UInt8(ascii: ":"))
                if let member = members[key] { write(member, into: &buffer) }
            }
            buffer.writeInteger(UInt8(ascii: "}"))
        }
    }

    /// Writes a message object: `{"id", "conversation_id", "sender_id", "content", "date", "client_id"}`.
    package static func writeMessage(_ message: Message, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"id\":")
        buffer.writeString(String(message.id.rawValue))
        buffer.writeStaticString(",\"conversation_id\":")
        buffer.writeString(String(message.conversationID.rawValue))
        buffer.writeStaticString(",\"sender_id\":")
        buffer.writeString(String(message.senderID.rawValue))
        buffer.writeStaticString(",\"content\":")
        writeString(message.content, into: &buffer)
        buffer.writeStaticString(",\"date\":")
        writeString(message.insertedAt.rfc3339, into: &buffer)
        buffer.writeStaticString(",\"client_id\":")
        writeOptionalString(message.clientID, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "}"))
    }
}
