/// The errors the store reports; the edges map each case to the contract's statuses and replies.
package enum StoreError: Error, Sendable, Hashable {
    /// Which unique rule a write broke.
    package enum UniqueField: String, Sendable {
        /// The email address is taken (compared case-insensitively).
        case email
    }

    /// A unique rule rejected the write.
    case uniqueViolation(UniqueField)
    /// A referenced row does not exist.
    case notFound
    /// The store cannot take the write now: the writer's intake is full, it is stopping, or the database is down.
    /// Safe to retry.
    case unavailable
    /// The database reported something unexpected; `operation` names what was being done (never the bound values).
    case failed(operation: String, message: String)
}
