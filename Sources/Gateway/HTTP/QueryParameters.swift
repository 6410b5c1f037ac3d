import Hummingbird

/// Query-string parsing with the contract's paging rules (§2): `limit` is a positive integer; `after_id` and
/// `before_id` are non-negative integers (`after_id=0` reads from the very start, since every id is greater).
/// Anything else is a 400.
enum QueryParameters {
    /// The positive integer value of `name`, or `nil` when absent.
    /// - Throws: ``APIError/badRequest(_:)`` when present but not a positive integer.
    static func positiveInteger(_ name: String, in request: Request) throws -> Int64? {
        guard let raw = request.uri.queryParameters[Substring(name)] else { return nil }
        guard let value = Int64(raw), value > 0 else {
            throw APIError.badRequest("\(name) must be a positive integer")
        }
        return value
    }

    /// The non-negative integer value of `name` (an id bound, where 0 lies below every id), or `nil` when absent.
    /// - Throws: ``APIError/badRequest(_:)`` when present but not a non-negative integer.
    static func idBound(_ name: String, in request: Request) throws -> Int64? {
        guard let raw = request.uri.queryParameters[Substring(name)] else { return nil }
        guard let value = Int64(raw), value >= 0 else {
            throw APIError.badRequest("\(name) must be a non-negative integer")
        }
        return value
    }
}
