import NIOCore

/// A fast reader for the frames this tool receives: a JSON scanner that reads just the fields of
/// ``InboundFrame`` and skips everything else without building it.
///
/// It returns `nil` for anything outside its fast path (malformed JSON, a needed string with escapes, a number
/// that is not an integer, nesting deeper than ``maxDepth``); ``InboundFrame/decode(_:)`` then asks
/// `JSONDecoder`, so the scanner never decides what a valid frame means on its own when it is unsure.
struct FrameScanner {
    /// Deepest nesting skipped (the frames of this protocol nest four deep).
    static let maxDepth = 64

    /// The frame's bytes.
    private let bytes: UnsafeRawBufferPointer
    /// The next byte to read.
    private var index = 0

    /// A scanner over `bytes`.
    private init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The frame in `buffer`'s readable bytes, or `nil` when it is not on the fast path.
    static func scan(_ buffer: ByteBuffer) -> InboundFrame? {
        buffer.withUnsafeReadableBytes { raw in
            var scanner = FrameScanner(bytes: raw)
            return scanner.frame()
        }
    }

    // MARK: - The frame's shape

    /// `[join_ref, ref, topic, event, payload]`, and nothing after it.
    private mutating func frame() -> InboundFrame? {
        guard consume(UInt8(ascii: "[")), let joinRef = optionalString(), consume(UInt8(ascii: ",")),
            let ref = optionalString(), consume(UInt8(ascii: ",")), let topic = string(), consume(UInt8(ascii: ",")),
            let event = string(), consume(UInt8(ascii: ",")), let payload = payload(), consume(UInt8(ascii: "]"))
        else { return nil }
        skipWhitespace()
        guard index == bytes.count else { return nil }
        return InboundFrame(joinRef: joinRef, ref: ref, topic: topic, event: event, payload: payload)
    }

    /// `{"status": …, "response": {…}, "message": {…}, …}`
    private mutating func payload() -> InboundPayload? {
        var status: String?
        var response: InboundResponse?
        var message: InboundMessage?
        let complete = members { scanner, key in
            switch key {
            case "status":
                guard let value = scanner.optionalString() else { return false }
                status = value
            case "response":
                guard let value = scanner.optionalObject({ $0.response() }) else { return false }
                response = value
            case "message":
                guard let value = scanner.optionalObject({ $0.message() }) else { return false }
                message = value
            default:
                return scanner.skipValue(depth: 1)
            }
            return true
        }
        return complete ? InboundPayload(status: status, response: response, message: message) : nil
    }

    /// `{"reason": …, "message": {…}, "recovered": N, "truncated": bool, …}`
    private mutating func response() -> InboundResponse? {
        var reason: String?
        var message: InboundMessage?
        var recovered: Int64?
        var truncated: Bool?
        let complete = members { scanner, key in
            switch key {
            case "reason":
                guard let value = scanner.optionalString() else { return false }
                reason = value
            case "message":
                guard let value = scanner.optionalObject({ $0.message() }) else { return false }
                message = value
            case "recovered":
                guard let value = scanner.optionalInteger() else { return false }
                recovered = value
            case "truncated":
                guard let value = scanner.optionalBool() else { return false }
                truncated = value
            default:
                return scanner.skipValue(depth: 2)
            }
            return true
        }
        return complete
            ? InboundResponse(reason: reason, message: message, recovered: recovered, truncated: truncated) : nil
    }

    /// `{"id": N, "sender_id": N, "content": "…", …}`
    private mutating func message() -> InboundMessage? {
        var id: Int64?
        var sender: Int64?
        var content: String?
        let complete = members { scanner, key in
            switch key {
            case "id":
                guard let value = scanner.optionalInteger() else { return false }
                id = value
            case "sender_id":
                guard let value = scanner.optionalInteger() else { return false }
                sender = value
            case "content":
                guard let value = scanner.optionalString() else { return false }
                content = value
            default:
                return scanner.skipValue(depth: 3)
            }
            return true
        }
        return complete ? InboundMessage(id: id, senderID: sender, content: content) : nil
    }

    // MARK: - JSON pieces

    /// Reads an object, calling `member` with each key (the scanner then at the value, which `member` must
    /// read or skip); `false` when the object is malformed or `member` refused a value.
    private mutating func members(_ member: (inout FrameScanner, String) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "{")) else { return false }
        if consume(UInt8(ascii: "}")) { return true }
        while true {
            guard let key = string(), consume(UInt8(ascii: ":")), member(&self, key) else { return false }
            if consume(UInt8(ascii: ",")) { continue }
            return consume(UInt8(ascii: "}"))
        }
    }

    /// An object read by `read`, or `null`: `.some(nil)` for null, `nil` when malformed.
    private mutating func optionalObject<Value>(_ read: (inout FrameScanner) -> Value?) -> Value?? {
        if consumeLiteral("null") { return .some(nil) }
        guard let value = read(&self) else { return nil }
        return .some(value)
    }

    /// A string or `null`: `.some(nil)` for null, `nil` when malformed or escaped.
    private mutating func optionalString() -> String?? {
        if consumeLiteral("null") { return .some(nil) }
        guard let value = string() else { return nil }
        return .some(value)
    }

    /// `true`, `false` or `null`: `.some(nil)` for null, `nil` for anything else.
    private mutating func optionalBool() -> Bool?? {
        if consumeLiteral("null") { return .some(nil) }
        if consumeLiteral("true") { return .some(true) }
        if consumeLiteral("false") { return .some(false) }
        return nil
    }

    /// An integer or `null`: `.some(nil)` for null, `nil` when malformed, fractional or out of range.
    private mutating func optionalInteger() -> Int64?? {
        if consumeLiteral("null") { return .some(nil) }
        skipWhitespace()
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
            return nil
        }
        guard index > start, let value = Int64(String(decoding: bytes[start..<index], as: UTF8.self)) else {
            return nil
        }
        return .some(value)
    }

    /// A string without escapes; `nil` when there is none here or it has escapes.
    private mutating func string() -> String? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                let value = String(decoding: bytes[start..<index], as: UTF8.self)
                index += 1
                return value
            case UInt8(ascii: "\\"):
                return nil
            default:
                index += 1
            }
        }
        return nil
    }

    /// Skips any value (escapes in strings included); `false` when malformed or nested deeper than
    /// ``maxDepth``.
    private mutating func skipValue(depth: Int) -> Bool {
        guard depth <= Self.maxDepth else { return false }
        skipWhitespace()
        guard index < bytes.count else { return false }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            index += 1
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    index += 1
                    return true
                case UInt8(ascii: "\\"):
                    index += 2
                default:
                    index += 1
                }
            }
            return false
        case UInt8(ascii: "{"):
            return members { scanner, _ in scanner.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            index += 1
            if consume(UInt8(ascii: "]")) { return true }
            while true {
                guard skipValue(depth: depth + 1) else { return false }
                if consume(UInt8(ascii: ",")) { continue }
                return consume(UInt8(ascii: "]"))
            }
        case UInt8(ascii: "t"):
            return consumeLiteral("true")
        case UInt8(ascii: "f"):
            return consumeLiteral("false")
        case UInt8(ascii: "n"):
            return consumeLiteral("null")
        default:
            let start = index
            while index < bytes.count, Self.isNumberByte(bytes[index]) { index += 1 }
            return index > start
        }
    }

    /// Skips whitespace, then consumes `byte` if it is next.
    private mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// Skips whitespace, then consumes `literal` (`true`, `false`, `null`) if it is next.
    private mutating func consumeLiteral(_ literal: StaticString) -> Bool {
        skipWhitespace()
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let matches = literal.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
        }
        if matches { index += count }
        return matches
    }

    /// Skips JSON whitespace.
    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
            default: return
            }
        }
    }

    /// Whether `byte` can be part of a JSON number.
    private static func isNumberByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."),
            UInt8(ascii: "e"), UInt8(ascii: "E"):
            true
        default:
            false
        }
    }
}
