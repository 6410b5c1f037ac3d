/// One user of the seed file: its id and a valid token to open sockets with.
struct SeedUser: Codable, Sendable, Hashable {
    /// The user's id on the server.
    let id: Int64
    /// A JWT accepted by `GET /socket/websocket?token=…`.
    let token: String
}
