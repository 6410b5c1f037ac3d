import Foundation
import Store

/// A control event between nodes on the cluster channel (JSON, short keys: every byte counts against
/// NOTIFY's 8000-byte payload limit).
struct ClusterEvent: Codable, Sendable, Equatable {
    enum Kind: String, Codable, Sendable {
        /// A node (re)joined the channel: everyone answers with their `state`.
        case hello
        /// One part of a node's whole presence: `u` users; the part with `last` set completes it.
        case state
        /// A node is alive (every heartbeat interval).
        case beat
        /// Users came online on the node (`u`).
        case online = "on"
        /// Users went offline on the node (`u`, ids only).
        case offline = "off"
        /// A node leaves the service on purpose (shutdown): its users are offline now.
        case bye
        /// Close every socket opened with the session (token id) `s`: logout on another node.
        case logout
        /// Push `b` as event `e` to the joins of `conversation:<c>`, only to the users `r` when given.
        case topic
    }

    /// What happened.
    var k: Kind
    /// The origin node's instance id.
    var o: String
    /// The origin node's name (hello and bye; for logs).
    var n: String?
    /// Users with since when they are online, as `[id, microseconds]`, or `[id]` for offline.
    var u: [[Int64]]?
    /// Which part of a `state` this is, from 0.
    var p: Int?
    /// Whether this `state` part is the last.
    var last: Bool?
    /// A session (token id).
    var s: String?
    /// A conversation id.
    var c: Int64?
    /// A push event name.
    var e: String?
    /// A push payload (JSON text).
    var b: String?
    /// Users a topic push is limited to.
    var r: [Int64]?

    init(_ kind: Kind, origin: String) {
        self.k = kind
        self.o = origin
    }

    /// The event as the channel carries it.
    func encoded() -> String {
        let encoder = JSONEncoder()
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads an event; `nil` if it is not one.
    static func decode(_ text: String) -> ClusterEvent? {
        try? JSONDecoder().decode(ClusterEvent.self, from: Data(text.utf8))
    }

    /// Presence entries, split so that each event stays under `maxBytes` (an entry is at most ~40 bytes).
    static func chunks(of users: [(UserID, Timestamp)], maxBytes: Int) -> [[[Int64]]] {
        let perEvent = max(1, (maxBytes - 200) / 40)
        let entries = users.map { [$0.0.rawValue, $0.1.microseconds] }
        return stride(from: 0, to: entries.count, by: perEvent).map { Array(entries[$0..<min($0 + perEvent, entries.count)]) }
    }
}

/// What the bridge needs from the edge: closing sockets on behalf of another node.
package protocol ClusterSocketControl: AnyObject, Sendable {
    /// Closes every socket opened with the session (token id) `session` (logout on another node).
    func closeSockets(ofSession session: String)
    /// Closes every socket so that clients reconnect and recover with `last_seen_id`: this node missed more
    /// of the message feed than it can replay live.
    func closeSocketsForResync()
    /// The sessions (token ids) of this node's open sockets, for a check against logouts it may have missed.
    var openSessions: Set<String> { get }
}
