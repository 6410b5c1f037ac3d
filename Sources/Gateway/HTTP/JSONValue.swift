import Foundation
import Hummingbird
import NIOCore

/// A parsed JSON document, so request validation can tell "missing" from "wrong type" from "blank" and answer
/// with the contract's exact wording instead of a decoder's message.
package enum JSONValue: Sendable, Hashable, Decodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Most likely first: every failed attempt throws (and allocates) a DecodingError, and frames are mostly
        // objects of strings and integers.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else {
            self = .array(try container.decode([JSONValue].self))
        }
    }

    /// Parses bytes.
    /// - Throws: ``APIError/badRequest(_:)`` for malformed JSON.
    package static func parse(_ buffer: ByteBuffer) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(buffer: buffer))
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
