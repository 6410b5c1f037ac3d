import Hummingbird
import NIOCore

/// A parsed JSON document, so request validation can tell "missing" from "wrong type" from "blank" and answer
/// with the contract's exact wording instead of a decoder's message.
package enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number that is a whole value within `Int64` (also `1.0` or `1e2`, see ``JSONScanner``).
    case integer(Int64)
    /// Any other number.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object; of duplicate keys the first is kept.
    case object([String: JSONValue])

    /// Parses bytes with ``JSONScanner`` (strict RFC 8259, the same scanner as the socket's frames).
    /// - Throws: ``APIError/badRequest(_:)`` for malformed JSON.
    package static func parse(_ buffer: ByteBuffer) throws -> JSONValue {
        do {
            return try JSONScanner.parse(buffer)
        } catch {
            throw APIError.badRequest("malformed JSON")
        }
    }

    /// Reads and parses a request body of at most `limit` bytes.
    /// - Throws: ``APIError/payloadTooLarge`` past the limit, ``APIError/badRequest(_:)`` for malformed JSON.
    package static func parse(_ request: Request, limit: Int) async throws -> JSONValue {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge
        }
        return try parse(buffer)
    }

    /// The member `key` of an object, or `nil` (also when this is not an object).
    package subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The object under `key` of this object.
    /// - Throws: ``APIError/badRequest(_:)`` when this is not an object or the member is missing or not an object.
    package func requireObject(_ key: String) throws -> JSONValue {
        guard case .object = self else { throw APIError.badRequest("expected a JSON object") }
        guard let member = self[key], case .object = member else {
            throw APIError.badRequest("expected a \"\(key)\" object")
        }
        return member
    }
}
