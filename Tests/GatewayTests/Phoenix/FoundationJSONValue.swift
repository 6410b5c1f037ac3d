import Foundation

@testable import Gateway

/// The decoder `JSONValue` used before ``JSONScanner``: `JSONDecoder` trying each type in turn. Kept only here, as
/// the reference the scanner's results are compared with, so replies such as `invalid payload` stay the same.
struct FoundationJSONValue: Decodable {
    /// The decoded value.
    let value: JSONValue

    /// Decodes with `JSONDecoder`, or `nil` where it throws.
    static func decode(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(FoundationJSONValue.self, from: Data(bytes)).value
    }

    /// Tries `null`, `String`, `Int64`, an object, `Bool`, `Double`, then an array, as `JSONValue` used to.
    init(from decoder: any Decoder) throws {
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
