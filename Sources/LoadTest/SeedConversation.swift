/// One conversation of the seed file between users `a` and `b`.
struct SeedConversation: Codable, Sendable, Hashable {
    /// The conversation's id on the server.
    let id: Int64
    /// One participant's user id.
    let a: Int64
    /// The other participant's user id.
    let b: Int64
}
