import Foundation
import Gateway

/// The decoder `JSONValue` used before `JSONScanner` (`JSONDecoder` trying each type in turn), as in
/// `Tests/GatewayTests/Phoenix/FoundationJSONValue.swift`: the reference the scanner is compared with.
package struct FoundationJSONValue: Decodable {
    /// The decoded value.
    package let value: JSONValue

    /// Decodes with `JSONDecoder`, or `nil` where it throws.
    package static func decode(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(FoundationJSONValue.self, from: Data(bytes)).value
    }

    /// Tries `null`, `String`, `Int64`, an object, `Bool`, `Double`, then an array, as `JSONValue` used to.
    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            value = .null
        } else if let string = try? container.decode(String.self) {
            value = .string(string)
        } else if let integer = try? container.decode(Int64.self) {
            value = .integer(integer)
        } else if let members = try? container.decode([String: FoundationJSONValue].self) {
            value = .object(members.mapValues(\.value))
        } else if let flag = try? container.decode(Bool.self) {
            value = .bool(flag)
        } else if let number = try? container.decode(Double.self) {
            value = .number(number)
        } else {
            value = .array(try container.decode([FoundationJSONValue].self).map(\.value))
        }
    }
}
