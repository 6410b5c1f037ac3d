import Foundation

/// Reads fields of a request object and collects Ecto-worded errors (contract §1) as it goes.
package struct FieldValidator {
    private let object: JSONValue
    /// The errors found so far.
    package private(set) var errors = ValidationErrors()

    /// Validates the members of `object`.
    package init(_ object: JSONValue) { self.object = object }

    /// A required string: trimmed, non-blank, at most `maxLength` characters; `nil` (with an error) otherwise.
    package mutating func requiredString(_ field: String, maxLength: Int) -> String? {
        requiredText(field, maxLength: maxLength, keepsWhitespace: false)
    }

    /// Message content: a non-blank string of at most `maxLength` characters, kept as sent (not trimmed).
    package mutating func requiredContent(_ field: String, maxLength: Int) -> String? {
        requiredText(field, maxLength: maxLength, keepsWhitespace: true)
    }

    private mutating func requiredText(_ field: String, maxLength: Int, keepsWhitespace: Bool) -> String? {
        switch object[field] {
        case .none, .some(.null):
            errors.add(field, ValidationErrors.Message.blank)
            return nil
        case .some(.string(let raw)) where Self.holdsNUL(raw):
            errors.add(field, ValidationErrors.Message.invalid)
            return nil
        case .some(.string(let raw)):
            let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty {
                errors.add(field, ValidationErrors.Message.blank)
                return nil
            }
            let value = keepsWhitespace ? raw : trimmed
            if value.count > maxLength {
                errors.add(field, ValidationErrors.Message.tooLong(maxLength))
                return nil
            }
            return value
        case .some:
            errors.add(field, ValidationErrors.Message.invalid)
            return nil
        }
    }

    /// An optional string of at most `maxLength` characters; `nil` when absent or null.
    package mutating func optionalString(_ field: String, maxLength: Int) -> String? {
        switch object[field] {
        case .none, .some(.null): return nil
        case .some(.string(let value)) where Self.holdsNUL(value):
            errors.add(field, ValidationErrors.Message.invalid)
            return nil
        case .some(.string(let value)):
            if value.count > maxLength {
                errors.add(field, ValidationErrors.Message.tooLong(maxLength))
                return nil
            }
            return value
        case .some:
            errors.add(field, ValidationErrors.Message.invalid)
            return nil
        }
    }

    /// A required positive integer id.
    package mutating func requiredID(_ field: String) -> Int64? {
        switch object[field] {
        case .none, .some(.null):
            errors.add(field, ValidationErrors.Message.blank)
            return nil
        case .some(.integer(let value)) where value > 0:
            return value
        case .some:
            errors.add(field, ValidationErrors.Message.invalid)
            return nil
        }
    }

    /// A required integer field that names a row: `nil` with `can't be blank` when missing or null, and `nil`
    /// with `is invalid` when not an integer. An integer that no row can have (0, negative, past 64 bits) is
    /// returned as `.some(nil)`, for the caller to answer `does not exist` (contract §2: only a non-integer is
    /// `is invalid`).
    package mutating func requiredReference(_ field: String) -> Int64?? {
        switch object[field] {
        case .none, .some(.null):
            errors.add(field, ValidationErrors.Message.blank)
            return nil
        case .some(.integer(let value)):
            return .some(value > 0 ? value : nil)
        case .some(.number(let value)) where value.isFinite && value == value.rounded():
            return .some(nil)  // an integer beyond 64 bits
        case .some:
            errors.add(field, ValidationErrors.Message.invalid)
            return nil
        }
    }

    /// Whether `text` holds U+0000, which PostgreSQL cannot store in text (SQLSTATE 22021): refused as `is
    /// invalid` on both backends, so that such a value never reaches a commit batch, where it would fail every
    /// other write of the batch with it.
    package static func holdsNUL(_ text: String) -> Bool {
        text.utf8.contains(0)
    }

    /// Adds a message for a field.
    package mutating func add(_ field: String, _ message: String) { errors.add(field, message) }

    /// Throws the collected errors, if any, as a 422.
    package func check() throws {
        if !errors.isEmpty { throw APIError.validation(errors) }
    }
}
