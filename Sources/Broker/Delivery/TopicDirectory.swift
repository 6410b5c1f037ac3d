import Store

/// Joins of `conversation:<id>` topics on this node, for typing and read events: who joined, from which
/// socket. Events are forwarded to joins, never stored (read positions are stored by the edge first).
package actor TopicDirectory {
    private struct Join {
        var user: UserID
        var sink: any SocketSink
    }

    private var joins: [ConversationID: [SocketID: Join]] = [:]

    /// An empty directory.
    package init() {}

    /// Records a socket's join of a conversation's topic (replacing an earlier join of that socket).
    package func join(_ conversation: ConversationID, user: UserID, sink: any SocketSink) {
        joins[conversation, default: [:]][sink.socketID] = Join(user: user, sink: sink)
    }

    /// Forgets a socket's join.
    package func leave(_ conversation: ConversationID, socket: SocketID) {
        joins[conversation]?.removeValue(forKey: socket)
        if joins[conversation]?.isEmpty == true { joins.removeValue(forKey: conversation) }
    }

    /// Pushes to every join of the topic except `socket`, only to `users` when given.
    package func broadcast(
        _ push: EncodedPush,
        in conversation: ConversationID,
        except socket: SocketID,
        to users: Set<UserID>? = nil
    ) {
        guard let topic = joins[conversation] else { return }
        for (socketID, join) in topic where socketID != socket {
            if let users, !users.contains(join.user) { continue }
            _ = join.sink.enqueue(push)
        }
    }
}
