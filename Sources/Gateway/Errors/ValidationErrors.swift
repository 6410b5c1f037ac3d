/// Field → messages, with Ecto's wording (contract §1), built up while validating one request.
package struct ValidationErrors: Sendable, Hashable {
    /// Ecto's messages, the only wordings the API uses.
    package enum Message {
        /// Missing, null, or blank after trimming.
        package static let blank = "can't be blank"
        /// Wrong JSON type.
        package static let invalid = "is invalid"
        /// Does not match the expected format.
        package static let format = "has invalid format"
        /// A unique value already in use.
        package static let taken = "has already been taken"
        /// References a row that does not exist.
        package static let doesNotExist = "does not exist"
        /// Points at the caller.
        package static let yourself = "can't be yourself"
        /// Longer than allowed.
        package static func tooLong(_ count: Int) -> String { "should be at most \(count) character(s)" }
    }

    /// Messages per field, in the order they were added.
    package private(set) var fields: [String: [String]] = [:]

    /// An empty set of errors.
    package init() {}

    /// A set with one message.
    package init(_ field: String, _ message: String) { add(field, message) }

    /// Whether no rule failed.
    package var isEmpty: Bool { fields.isEmpty }

    /// Adds a message for a field.
    package mutating func add(_ field: String, _ message: String) {
        fields[field, default: []].append(message)
    }
}
