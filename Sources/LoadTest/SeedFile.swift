import Foundation

/// The seed file made by `broker seed-load`: users with tokens and the conversations pairing them up.
///
/// `{"users": [{"id": 1, "token": "…"}], "conversations": [{"id": 1, "a": 1, "b": 2}]}`
struct SeedFile: Codable, Sendable {
    /// Every user, with a token.
    let users: [SeedUser]
    /// Conversations between two of those users.
    let conversations: [SeedConversation]

    /// The largest seed file read (a million users with their tokens is well under this).
    static let maxBytes = 512 * 1_048_576

    /// Reads and checks the seed file at `path`.
    static func load(path: String) throws -> SeedFile {
        let url = URL(fileURLWithPath: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        if let size = attributes[.size] as? NSNumber, size.intValue > maxBytes {
            throw LoadError.invalidSeed("\(path) is larger than \(maxBytes) bytes")
        }
        let data = try Data(contentsOf: url)
        let seed: SeedFile
        do {
            seed = try JSONDecoder().decode(SeedFile.self, from: data)
        } catch {
            throw LoadError.invalidSeed("\(path) is not a seed file: \(error)")
        }
        try seed.check()
        return seed
    }

    /// Refuses duplicate users, conversations of a user with themself and participants without a token.
    func check() throws {
        var ids = Set<Int64>()
        for user in users where !ids.insert(user.id).inserted {
            throw LoadError.invalidSeed("user \(user.id) appears twice")
        }
        for conversation in conversations {
            guard conversation.a != conversation.b else {
                throw LoadError.invalidSeed(
                    "conversation \(conversation.id) pairs user \(conversation.a) with themself"
                )
            }
            guard ids.contains(conversation.a), ids.contains(conversation.b) else {
                throw LoadError.invalidSeed("conversation \(conversation.id) names a user without a token")
            }
        }
    }
}
