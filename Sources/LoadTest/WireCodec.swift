import Foundation

/// JSON lines between the coordinator and its workers.
enum WireCodec {
    /// One value as a single line of JSON.
    static func line(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// One line of JSON back into a value; `nil` when it is not one.
    static func decode<Value: Decodable>(_ type: Value.Type, from line: String) -> Value? {
        try? JSONDecoder().decode(type, from: Data(line.utf8))
    }
}
