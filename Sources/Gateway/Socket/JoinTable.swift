import Store

/// A join as the socket's ``JoinTable`` sees it.
protocol Joined {
    /// The `join_ref` the client joined with; frames of the join carry it.
    var joinRef: String? { get }
}

/// Which topics one socket has joined and under which `join_ref`, and where each frame goes: Phoenix's
/// per-socket channel table, as a pure state machine (no I/O, no awaits), so its rules are tested alone.
///
/// The rules (as Phoenix's): joining a topic already joined replaces the old join, which the connection
/// closes (`phx_close` with the old `join_ref`); a frame whose `join_ref` is not the topic's current one (a
/// stale join, or a topic not joined) is answered `unmatched topic`.
struct JoinTable<Room: Joined, Topic: Joined> {
    /// Where a frame goes.
    enum Route: Equatable {
        /// `phoenix` `heartbeat`.
        case heartbeat
        /// `phx_join` of `room:chat`.
        case joinRoom
        /// `phx_join` of `conversation:<id>`.
        case joinConversation(ConversationID)
        /// `phx_leave` of the current `room:chat` join.
        case leaveRoom
        /// `send_msg` on the current `room:chat` join.
        case send
        /// An event of `conversation:<id>` on its current join.
        case conversationEvent(ConversationID)
        /// Another event on the current `room:chat` join.
        case unmatchedEvent
        /// A topic this socket has not joined (or a stale `join_ref`), or a join of a topic that does not exist.
        case unmatchedTopic
    }

    /// The `room:chat` join.
    private(set) var room: Room?
    /// The `conversation:<id>` joins.
    private(set) var conversations: [ConversationID: Topic] = [:]

    /// No joins.
    init() {}

    /// Where a frame goes.
    func route(topic: String, event: String, joinRef: String?) -> Route {
        if topic == PhoenixEvent.phoenixTopic, event == PhoenixEvent.heartbeat { return .heartbeat }
        if topic == PhoenixEvent.roomTopic {
            if event == PhoenixEvent.join { return .joinRoom }
            guard let room, room.joinRef == joinRef else { return .unmatchedTopic }
            switch event {
            case PhoenixEvent.leave: return .leaveRoom
            case PhoenixEvent.sendMessage: return .send
            default: return .unmatchedEvent
            }
        }
        if topic.hasPrefix(PhoenixEvent.conversationTopicPrefix) {
            guard let id = Self.conversationID(of: topic) else { return .unmatchedTopic }
            if event == PhoenixEvent.join { return .joinConversation(id) }
            guard let join = conversations[id], join.joinRef == joinRef else { return .unmatchedTopic }
            return .conversationEvent(id)
        }
        return .unmatchedTopic
    }

    /// The conversation a `conversation:<id>` topic names, if the id is a positive integer.
    static func conversationID(of topic: String) -> ConversationID? {
        guard topic.hasPrefix(PhoenixEvent.conversationTopicPrefix) else { return nil }
        return Int64(topic.dropFirst(PhoenixEvent.conversationTopicPrefix.count)).flatMap {
            $0 > 0 ? ConversationID($0) : nil
        }
    }

    /// Records the `room:chat` join.
    /// - Returns: the join it replaces, which the connection leaves and closes.
    mutating func join(room new: Room) -> Room? {
        defer { room = new }
        return room
    }

    /// Forgets the `room:chat` join.
    /// - Returns: the join that was current, if any.
    mutating func leaveRoom() -> Room? {
        defer { room = nil }
        return room
    }

    /// Records a `conversation:<id>` join.
    /// - Returns: the join it replaces, which the connection closes.
    mutating func join(_ conversation: ConversationID, _ new: Topic) -> Topic? {
        conversations.updateValue(new, forKey: conversation)
    }

    /// Forgets a `conversation:<id>` join.
    mutating func leave(_ conversation: ConversationID) -> Topic? {
        conversations.removeValue(forKey: conversation)
    }
}

extension JoinTable: Sendable where Room: Sendable, Topic: Sendable {}
