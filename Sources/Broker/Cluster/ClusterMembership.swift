import Store

/// Who is in the service and who is online where, as this node sees it: a pure state machine over an injected
/// clock, fed with this node's presence changes, the other nodes' events and the heartbeat's ticks, answering
/// with what to publish and which users' service-wide presence changed.
///
/// It owns no I/O: the ``ClusterBridge`` applies its answers (queues the events for the publisher, sends the
/// `presence_diff`s, reconnects the listener). Nodes beat every ``Configuration/heartbeat``; a node silent for
/// ``Configuration/nodeTimeout`` is dropped and its users go offline, but only once this node itself has been
/// listening that long (its own outage is no evidence against the others); a node that stops on purpose says
/// `bye`; a node that (re)starts listening says `hello`, and everyone answers with their whole `state`.
///
/// **Listener lag.** This node's own beats come back through the channel; the time since the last one is how
/// far its listener lags behind the notification queue. PostgreSQL keeps every notification until the slowest
/// listener has read it, so a listener that lags pins the queue for every node. ``checkListener(at:queueUsage:)``
/// tells the bridge to drop the connection (and catch up from the store) when the lag passes
/// ``Configuration/nodeTimeout``, or passes ``Configuration/lagThreshold`` while the queue is fuller than
/// ``Configuration/maxQueueUsage``.
struct ClusterMembership<C: Clock> where C.Duration == Duration {
    /// Timings and limits.
    struct Configuration: Sendable {
        /// How often this node beats.
        var heartbeat: Duration = .seconds(1)
        /// A node silent this long is gone; a listener whose own beats stop coming back this long reconnects.
        var nodeTimeout: Duration = .seconds(5)
        /// A listener whose own beats are this late lags: the queue's usage is then worth a look.
        var lagThreshold: Duration = .seconds(3)
        /// The share of PostgreSQL's notification queue (0 to 1) above which a lagging listener lets go.
        var maxQueueUsage = 0.25
    }

    /// Another node as this one knows it.
    struct RemoteNode {
        /// The operator's name for it, for logs.
        var name: String
        /// When it was last heard from.
        var lastBeat: C.Instant
        /// Its online users, with since when.
        var users: [UserID: Timestamp] = [:]
        /// A `state` being assembled from its parts.
        var pendingState: [UserID: Timestamp]?
    }

    /// One user's service-wide presence change, for the user's partners on this node.
    enum PresenceChange: Equatable {
        /// The user came online somewhere (online since then).
        case joined(UserID, Timestamp)
        /// The user is offline everywhere now.
        case left(UserID)
    }

    /// Something worth a log line.
    enum Notice: Equatable {
        /// A node was heard from for the first time (or again after it was dropped).
        case joined(name: String)
        /// A node said `bye`.
        case left(name: String)
        /// A node stopped beating and was dropped.
        case silent(name: String)
    }

    /// What the bridge does after a step, in this order: log, publish, announce.
    struct Effects: Equatable {
        /// Log lines.
        var notices: [Notice] = []
        /// Events to queue for the publisher, in order.
        var publish: [ClusterEvent] = []
        /// Whether to queue this node's whole state (after the events in ``publish``).
        var sendState = false
        /// Service-wide presence changes, in order.
        var presence: [PresenceChange] = []

        /// Whether there is nothing to do.
        var isEmpty: Bool { self == Effects() }
    }

    /// What the heartbeat does about the listener.
    enum ListenerVerdict: Equatable {
        /// Not listening: no beat.
        case idle
        /// Beat (and queue the whole state first when `sendState`).
        case beat(sendState: Bool)
        /// The listener lags past the bound: drop its connection and catch up from the store.
        case reconnect(Lag)
    }

    /// Why a listener is dropped.
    enum Lag: Equatable {
        /// Its own beats have not come back for ``Configuration/nodeTimeout``.
        case ownBeatsLost
        /// It lags past ``Configuration/lagThreshold`` while the queue is over ``Configuration/maxQueueUsage``.
        case queueFilling
    }

    // MARK: - Properties

    /// This node.
    let node: ClusterNode
    /// Timings.
    let configuration: Configuration
    /// This node's online users.
    private(set) var localUsers: [UserID: Timestamp] = [:]
    /// The other nodes, by instance id.
    private(set) var remote: [String: RemoteNode] = [:]
    /// Since when the listener is confirmed; `nil` while it is not.
    private(set) var listeningSince: C.Instant?
    /// When this node's own beat last came back.
    private(set) var lastOwnBeat: C.Instant
    /// A published presence event was lost: the whole state goes again at the next beat.
    private var needsStateResend = false

    // MARK: - Initialization

    /// A node that knows no other and has nobody online, not listening yet.
    init(node: ClusterNode, configuration: Configuration, now: C.Instant) {
        self.node = node
        self.configuration = configuration
        self.lastOwnBeat = now
    }

    // MARK: - This node

    /// The user's first socket on this node joined: announce it to the others, and to the user's partners here
    /// if the user was offline service-wide.
    mutating func localOnline(_ user: UserID, at onlineAt: Timestamp) -> Effects {
        let wasOnline = isOnlineAnywhere(user)
        localUsers[user] = onlineAt
        var event = ClusterEvent(.online, origin: node.instance)
        event.u = [[user.rawValue, onlineAt.microseconds]]
        return Effects(publish: [event], presence: wasOnline ? [] : [.joined(user, onlineAt)])
    }

    /// The user's last socket on this node left: announce it, and tell the partners here if the user is now
    /// offline service-wide. Nothing for a user not online here.
    mutating func localOffline(_ user: UserID) -> Effects {
        guard localUsers.removeValue(forKey: user) != nil else { return Effects() }
        var event = ClusterEvent(.offline, origin: node.instance)
        event.u = [[user.rawValue]]
        return Effects(publish: [event], presence: isOnlineAnywhere(user) ? [] : [.left(user)])
    }

    /// The listener is confirmed: say hello with the whole state.
    mutating func listened(at now: C.Instant) -> Effects {
        listeningSince = now
        lastOwnBeat = now
        return Effects(publish: [hello], sendState: true)
    }

    /// The listener is down.
    mutating func channelDown() {
        listeningSince = nil
    }

    /// A published presence event was lost (or the publisher's queue overflowed).
    mutating func presenceLost() {
        needsStateResend = true
    }

    /// Whether this node hears the others.
    var isListening: Bool { listeningSince != nil }

    // MARK: - Other nodes

    /// Since when each of the users is online on another node (the earliest), offline ones left out.
    func remotePresence(of candidates: [UserID]) -> [(UserID, Timestamp)] {
        candidates.compactMap { user in
            let times = remote.values.compactMap { $0.users[user] }
            return times.min().map { (user, $0) }
        }
    }

    /// Applies a membership or presence event (hello, beat, state, on, off, bye); other kinds change nothing.
    mutating func handle(_ event: ClusterEvent, at now: C.Instant) -> Effects {
        guard event.o != node.instance else {
            if event.k == .beat { lastOwnBeat = now }
            return Effects()
        }
        var effects = Effects()
        switch event.k {
        case .hello:
            touch(event.o, name: event.n, at: now, &effects)
            effects.sendState = true
        case .beat:
            if remote[event.o] == nil, let since = listeningSince, since.duration(to: now) > configuration.heartbeat * 2 {
                // A node this one dropped (or never heard say hello) is beating: ask everyone for their state.
                effects.publish.append(hello)
            }
            touch(event.o, name: event.n, at: now, &effects)
        case .state:
            touch(event.o, name: event.n, at: now, &effects)
            var pending = event.p == 0 ? [:] : (remote[event.o]?.pendingState ?? [:])
            for entry in event.u ?? [] where entry.count == 2 { pending[UserID(entry[0])] = Timestamp(microseconds: entry[1]) }
            if event.last == true {
                remote[event.o]?.pendingState = nil
                replaceUsers(of: event.o, with: pending, &effects)
            } else {
                remote[event.o]?.pendingState = pending
            }
        case .online:
            touch(event.o, name: event.n, at: now, &effects)
            for entry in event.u ?? [] where entry.count == 2 {
                let user = UserID(entry[0])
                let at = Timestamp(microseconds: entry[1])
                if !isOnlineAnywhere(user) { effects.presence.append(.joined(user, at)) }
                remote[event.o]?.users[user] = at
            }
        case .offline:
            touch(event.o, name: event.n, at: now, &effects)
            for entry in event.u ?? [] where !entry.isEmpty {
                let user = UserID(entry[0])
                guard remote[event.o]?.users.removeValue(forKey: user) != nil else { continue }
                if !isOnlineAnywhere(user) { effects.presence.append(.left(user)) }
            }
        case .bye:
            effects.notices.append(.left(name: event.n ?? event.o))
            dropNode(event.o, &effects)
        case .logout, .topic:
            break
        }
        return effects
    }

    // MARK: - Heartbeat

    /// Drops the nodes silent for longer than ``Configuration/nodeTimeout``, only while this node has been
    /// listening that long and its own beats come back: its own outage (or a freeze: a stopped process, a
    /// listener far behind) is no evidence against the others.
    mutating func expireSilentNodes(at now: C.Instant) -> Effects {
        var effects = Effects()
        guard let since = listeningSince, since.duration(to: now) > configuration.nodeTimeout,
            lastOwnBeat.duration(to: now) <= configuration.nodeTimeout
        else { return effects }
        for (instance, peer) in remote.sorted(by: { $0.key < $1.key })
        where peer.lastBeat.duration(to: now) > configuration.nodeTimeout {
            effects.notices.append(.silent(name: peer.name))
            dropNode(instance, &effects)
        }
        return effects
    }

    /// Whether the listener lags enough that the notification queue's usage is worth a look.
    func isLagging(at now: C.Instant) -> Bool {
        guard let since = listeningSince else { return false }
        return lastOwnBeat.duration(to: now) > configuration.lagThreshold
            && since.duration(to: now) > configuration.lagThreshold
    }

    /// The heartbeat's decision about the listener: beat, or drop a listener that lags past the bound.
    /// - Parameter queueUsage: PostgreSQL's `pg_notification_queue_usage()` when it was read (the bridge reads
    ///   it only while ``isLagging(at:)``).
    mutating func checkListener(at now: C.Instant, queueUsage: Double? = nil) -> ListenerVerdict {
        guard let since = listeningSince else { return .idle }
        let lag = lastOwnBeat.duration(to: now)
        if lag > configuration.nodeTimeout, since.duration(to: now) > configuration.nodeTimeout {
            return .reconnect(.ownBeatsLost)
        }
        if isLagging(at: now), let queueUsage, queueUsage > configuration.maxQueueUsage {
            return .reconnect(.queueFilling)
        }
        defer { needsStateResend = false }
        return .beat(sendState: needsStateResend)
    }

    /// This node's whole presence as `state` events, each under `maxBytes` (one, empty, when nobody is
    /// online here).
    func stateEvents(maxBytes: Int) -> [ClusterEvent] {
        let parts = ClusterEvent.chunks(of: localUsers.map { ($0.key, $0.value) }, maxBytes: maxBytes)
        let count = max(parts.count, 1)
        return (0..<count).map { index in
            var event = ClusterEvent(.state, origin: node.instance)
            event.n = node.name
            event.p = index
            event.u = parts.isEmpty ? [] : parts[index]
            event.last = index == count - 1
            return event
        }
    }

    /// This node's `beat`.
    var beat: ClusterEvent {
        var event = ClusterEvent(.beat, origin: node.instance)
        event.n = node.name
        return event
    }

    /// This node's `bye`.
    var bye: ClusterEvent {
        var event = ClusterEvent(.bye, origin: node.instance)
        event.n = node.name
        return event
    }

    // MARK: - Private

    /// This node's `hello`.
    private var hello: ClusterEvent {
        var event = ClusterEvent(.hello, origin: node.instance)
        event.n = node.name
        return event
    }

    /// Records that a node is alive.
    private mutating func touch(_ instance: String, name: String?, at now: C.Instant, _ effects: inout Effects) {
        if remote[instance] == nil {
            remote[instance] = RemoteNode(name: name ?? instance, lastBeat: now)
            effects.notices.append(.joined(name: name ?? instance))
        } else {
            remote[instance]?.lastBeat = now
            if let name { remote[instance]?.name = name }
        }
    }

    /// Sets a node's whole presence, noting every user whose service-wide state changed.
    private mutating func replaceUsers(of instance: String, with users: [UserID: Timestamp], _ effects: inout Effects) {
        let old = remote[instance]?.users ?? [:]
        var wasOnline = Set<UserID>()
        for user in Set(old.keys).union(users.keys) where isOnlineAnywhere(user) { wasOnline.insert(user) }
        remote[instance]?.users = users
        for (user, at) in users where !wasOnline.contains(user) { effects.presence.append(.joined(user, at)) }
        for user in old.keys where users[user] == nil && !isOnlineAnywhere(user) { effects.presence.append(.left(user)) }
    }

    /// Forgets a node; its users not online elsewhere are offline.
    private mutating func dropNode(_ instance: String, _ effects: inout Effects) {
        guard let gone = remote.removeValue(forKey: instance) else { return }
        for user in gone.users.keys where !isOnlineAnywhere(user) { effects.presence.append(.left(user)) }
    }

    private func isOnlineAnywhere(_ user: UserID) -> Bool {
        localUsers[user] != nil || remote.values.contains { $0.users[user] != nil }
    }
}
