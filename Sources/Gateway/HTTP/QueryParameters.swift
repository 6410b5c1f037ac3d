import Hummingbird

/// Query-string parsing with the contract's rule: a paging parameter that is not a positive integer is a 400.
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
}
