/// The id of a stored user; a distinct type so a user can never be passed where a conversation is meant.
package struct UserID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The database row id.
    package var rawValue: Int64
    /// Wraps a row id.
    package init(_ rawValue: Int64) { self.rawValue = rawValue }
    package init(from decoder: any Decoder) throws { self.rawValue = try decoder.singleValueContainer().decode(Int64.self) }
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    package var description: String { String(rawValue) }
}

/// The id of a stored conversation.
package struct ConversationID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The database row id.
    package var rawValue: Int64
    /// Wraps a row id.
    package init(_ rawValue: Int64) { self.rawValue = rawValue }
    package init(from decoder: any Decoder) throws { self.rawValue = try decoder.singleValueContainer().decode(Int64.self) }
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    package var description: String { String(rawValue) }
}

/// The id of a stored message; ids grow in commit order, and recovery by `last_seen_id` relies on it.
package struct MessageID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The database row id.
    package var rawValue: Int64
    /// Wraps a row id.
    package init(_ rawValue: Int64) { self.rawValue = rawValue }
    package init(from decoder: any Decoder) throws { self.rawValue = try decoder.singleValueContainer().decode(Int64.self) }
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    package var description: String { String(rawValue) }
}
