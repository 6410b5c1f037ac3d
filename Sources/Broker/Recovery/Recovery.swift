import Store

/// The messages a join with `last_seen_id` replays: every message with a greater id in the user's
/// conversations sent by others, ascending, the oldest ``limit`` at most.
package struct Recovery: Sendable {
    /// The most messages replayed by one join; when there are more, the client pages the history API for the
    /// rest (or rejoins with the last id it got).
    package static let limit = 1_000

    /// The replayed messages, ascending.
    package var messages: [Message]
    /// Whether more messages were missed than ``limit``.
    package var truncated: Bool

    /// Reads the missed messages of `user` after `lastSeen` from `store`.
    /// - Throws: the store's error.
    package static func read(for user: UserID, after lastSeen: MessageID, in store: any Store) async throws -> Recovery {
        var messages = try await store.missedMessages(for: user, after: lastSeen, limit: limit + 1)
        let truncated = messages.count > limit
        if truncated { messages.removeLast(messages.count - limit) }
        return Recovery(messages: messages, truncated: truncated)
    }
}
