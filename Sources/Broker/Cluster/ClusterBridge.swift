import DequeModule
import Logging
import NIOCore
import Store
import Synchronization

/// Joins this node to the other brokers on the same PostgreSQL database, through the store's
/// ``ClusterBus`` (`LISTEN`/`NOTIFY`): no cluster protocol of our own.
///
/// **Messages.** In a cluster every node, the storing one included, delivers its sockets' messages from the
/// message feed, which the store notifies inside each message transaction: it arrives in commit order, which
/// is id order service-wide (see ``ClusterBus``). So a socket sees its messages in id order whichever node
/// stored them, and a client's highest seen id is always a safe `last_seen_id`. The sending socket is left
/// out by the id it put in ``NewMessage/origin``. Messages too large for a notification come as ids and are
/// read from the store. While the channel is down nothing is received; when it is back the bridge reads
/// what it missed from the store (``ClusterBus/feed(after:limit:)``), and past ``Configuration/catchUpLimit``
/// it closes the node's sockets with 1012 instead, so that their clients recover by `last_seen_id`.
///
/// **Presence.** The bridge is the node's one judge of who is online service-wide: its own users
/// (from the ``LocalPresenceQueue``, in the user directory's order, announced as `on` / `off`) and every other node's,
/// learnt from their events and whole `state` (sent in answer to a `hello`, which a node sends whenever it
/// starts listening). A user's `presence_diff` goes to its partners on this node when the user's service-wide
/// state changes, and only then. Nodes beat every ``Configuration/heartbeat``; a node silent for
/// ``Configuration/nodeTimeout`` (killed, cut off) is dropped and its users go offline; a node that stops on
/// purpose says `bye`.
///
/// **Logout and topic events** (typing, read) are forwarded to the other nodes' sockets.
///
/// The bridge itself is long-lived (the edges hold it); its supervised child is ``ClusterBridgeRunner``, whose
/// every (re)start runs ``run()`` anew: listener, heartbeat and publisher loops.
package actor ClusterBridge {
    /// Timings and limits.
    package struct Configuration: Sendable {
        /// How often this node beats.
        package var heartbeat: Duration = .seconds(1)
        /// A node silent this long is gone; this node also reconnects its listener when its own beats stop
        /// coming back this long.
        package var nodeTimeout: Duration = .seconds(5)
        /// The most missed messages replayed live after the channel was down.
        package var catchUpLimit = 10_000

        /// The defaults.
        package init() {}
    }

    /// Another node as this one knows it.
    private struct RemoteNode {
        var name: String
        var lastBeat: ContinuousClock.Instant
        var users: [UserID: Timestamp] = [:]
        /// A `state` being assembled from its parts.
        var pendingState: [UserID: Timestamp]?
    }

    /// This process.
    package nonisolated let node: ClusterNode
    private let bus: any ClusterBus
    private let store: any Store
    private let users: UserDirectory
    private let topics: TopicDirectory
    private let encoder: any PushEncoder
    private let localPresence: LocalPresenceQueue
    private let logger: Logger
    private let configuration: Configuration
    private weak var sockets: (any ClusterSocketControl)?

    /// This node's online users.
    private var localUsers: [UserID: Timestamp] = [:]
    /// The other nodes, by instance id.
    private var remote: [String: RemoteNode] = [:]
    /// The highest message id delivered from the feed (or skipped as already known); `nil` before the
    /// first listen.
    private var lastDelivered: MessageID?
    /// Since when the listener is confirmed.
    private var listeningSince: ContinuousClock.Instant?
    /// When this node's own beat last came back.
    private var lastOwnBeat = ContinuousClock.now
    /// The listener's current attempt, to force a reconnect.
    private var currentListen: Task<Void, any Error>?
    /// Events waiting to be published, oldest first, with how often each was tried.
    private var outbox = Deque<(event: ClusterEvent, attempts: Int)>()
    /// Presence diffs waiting for the announcer: the user whose state changed and the push for its partners.
    private var announcements = Deque<(UserID, EncodedPush)>()
    private var announcerWakeUp: CheckedContinuation<Void, Never>?
    /// Senders waiting until this node has delivered their message from the feed (see ``waitUntilDelivered(_:)``).
    private var deliveryWaiters: [(id: MessageID, since: ContinuousClock.Instant, continuation: CheckedContinuation<Void, Never>)] = []
    /// Recent messages sent from this node's sockets, for leaving the sender out when they arrive by catch-up
    /// rather than by the feed (which carries the socket itself).
    private var recentOrigins: [MessageID: UInt64] = [:]
    private var recentOriginOrder = Deque<MessageID>()
    private var publisherWakeUp: CheckedContinuation<Void, Never>?
    /// A published event was lost: send the whole state again at the next beat.
    private var needsStateResend = false
    private var stopping = false
    private let listening = Atomic<Bool>(false)

    /// Creates the bridge (nothing runs until ``run()``).
    package init(
        bus: any ClusterBus, store: any Store, users: UserDirectory, topics: TopicDirectory, encoder: any PushEncoder,
        localPresence: LocalPresenceQueue, configuration: Configuration = Configuration(), logger: Logger
    ) {
        self.localPresence = localPresence
        self.node = bus.node
        self.bus = bus
        self.store = store
        self.users = users
        self.topics = topics
        self.encoder = encoder
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "broker.node"] = "\(bus.node)"
        self.logger = logger
    }

    /// Whether the channel is up: without it this node cannot see other nodes' messages, so it is not ready
    /// and takes no `room:chat` joins. Readable without a hop.
    package nonisolated var isListening: Bool { listening.load(ordering: .acquiring) }

    /// Sets who closes sockets for other nodes (the edge's connection registry).
    package func setSocketControl(_ control: any ClusterSocketControl) {
        sockets = control
    }

    // MARK: - Local events

    /// Applies this node's presence changes in the order the user directory made them.
    private func localPresenceLoop() async {
        while !Task.isCancelled {
            for change in await localPresence.next() {
                switch change {
                case .online(let user, let at): localOnline(user, at: at)
                case .offline(let user): localOffline(user)
                }
            }
        }
    }

    /// The user's first socket on this node joined: announces it, and tells the user's partners on this node
    /// if the user was offline service-wide.
    private func localOnline(_ user: UserID, at onlineAt: Timestamp) {
        let wasOnline = isOnlineAnywhere(user)
        localUsers[user] = onlineAt
        var event = ClusterEvent(.online, origin: node.instance)
        event.u = [[user.rawValue, onlineAt.microseconds]]
        enqueue(event)
        if !wasOnline { announce(joins: [(user, onlineAt)], leaves: []) }
    }

    /// The user's last socket on this node left: announces it, and tells the user's partners on this node if
    /// the user is now offline service-wide.
    private func localOffline(_ user: UserID) {
        guard localUsers.removeValue(forKey: user) != nil else { return }
        var event = ClusterEvent(.offline, origin: node.instance)
        event.u = [[user.rawValue]]
        enqueue(event)
        if !isOnlineAnywhere(user) { announce(joins: [], leaves: [(user, .now())]) }
    }

    /// Since when each of the users is online on another node (the earliest node), offline ones left out.
    package func remotePresence(of candidates: [UserID]) -> [(UserID, Timestamp)] {
        candidates.compactMap { user in
            let times = remote.values.compactMap { $0.users[user] }
            return times.min().map { (user, $0) }
        }
    }

    /// Asks the other nodes to close the session's sockets (this node closes its own).
    package func publishLogout(session: String) {
        var event = ClusterEvent(.logout, origin: node.instance)
        event.s = session
        enqueue(event)
    }

    /// Forwards a topic push (typing, read) to the other nodes' joins of the conversation.
    package func publishTopic(_ push: EncodedPush, in conversation: ConversationID, to recipients: Set<UserID>?) {
        var event = ClusterEvent(.topic, origin: node.instance)
        event.c = conversation.rawValue
        event.e = push.event
        event.b = push.payload.getString(at: push.payload.readerIndex, length: push.payload.readableBytes)
        event.r = recipients.map { $0.map(\.rawValue) }
        enqueue(event)  // an event over the size limit is refused by `publish` and dropped, like any lost typing event
    }

    // MARK: - Lifetime

    /// Runs the listener, the heartbeat and the publisher until ``stop()`` (after a `bye`) or cancellation.
    package func run() async {
        stopping = false
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listenLoop() }
            group.addTask { await self.heartbeatLoop() }
            group.addTask { await self.publishLoop() }
            group.addTask { await self.localPresenceLoop() }
            group.addTask { await self.announceLoop() }
            await group.next()  // the publisher ends first, on stop; the others run until cancelled
            group.cancelAll()
        }
        channelDown()
    }

    /// The channel is not (or no longer) listening: not ready, and senders stop waiting for the feed.
    private func channelDown() {
        listening.store(false, ordering: .releasing)
        listeningSince = nil
        releaseDeliveryWaiters()
    }

    /// Publishes what is queued and a `bye`, then ends ``run()``.
    package func stop() {
        stopping = true
        wakePublisher()
    }

    // MARK: - Listener

    private func listenLoop() async {
        var backoff = Duration.milliseconds(100)
        while !Task.isCancelled {
            let attempt = Task {
                try await self.bus.listen(ready: { try await self.listened() }, receive: { try await self.receive($0) })
            }
            currentListen = attempt
            let wasUp: Bool
            do {
                try await withTaskCancellationHandler {
                    try await attempt.value
                } onCancel: {
                    attempt.cancel()
                }
            } catch where !Task.isCancelled {
                logger.warning("cluster channel lost", metadata: ["error": "\(error)"])
            } catch {}
            wasUp = listeningSince != nil
            currentListen = nil
            channelDown()
            if wasUp { backoff = .milliseconds(100) }
            do { try await Task.sleep(for: backoff) } catch { return }
            backoff = min(backoff * 2, .seconds(2))
        }
    }

    /// The subscription is confirmed: catch up on the feed, then say hello with this node's whole state.
    private func listened() async throws {
        if let last = lastDelivered {
            var replayed = 0
            var after = last
            while true {
                let page = try await bus.feed(after: after, limit: 1_000)
                try await deliver(page, from: nil)
                replayed += page.count
                guard let tail = page.last, page.count == 1_000 else { break }
                after = tail.id
                if replayed >= configuration.catchUpLimit {
                    lastDelivered = try await bus.latestMessageID()
                    logger.warning("missed too much of the message feed; closing sockets so clients recover")
                    sockets?.closeSocketsForResync()
                    break
                }
            }
            if replayed > 0 { logger.notice("caught up on the message feed", metadata: ["messages": "\(replayed)"]) }
            try await closeSocketsOfMissedLogouts()
        } else {
            lastDelivered = try await bus.latestMessageID()
        }
        let now = ContinuousClock.now
        listeningSince = now
        lastOwnBeat = now
        listening.store(true, ordering: .releasing)
        logger.info("cluster channel listening")
        var hello = ClusterEvent(.hello, origin: node.instance)
        hello.n = node.name
        enqueue(hello)
        enqueueState()
    }

    /// A logout published while this node's channel was down never reached it: its open sockets' tokens are
    /// checked against the stored revocations when the channel is back.
    private func closeSocketsOfMissedLogouts() async throws {
        guard let sockets else { return }
        let revoked = try await store.revokedTokenIDs(among: Array(sockets.openSessions))
        for session in revoked { sockets.closeSockets(ofSession: session) }
        if !revoked.isEmpty {
            logger.notice("closed sockets of logouts missed while the channel was down", metadata: ["sessions": "\(revoked.count)"])
        }
    }

    private func receive(_ notification: ClusterNotification) async throws {
        switch notification {
        case .feed(let origin, let messages):
            try await deliver(messages, from: origin)
        case .control(let text):
            guard let event = ClusterEvent.decode(text) else {
                logger.warning("skipped a cluster event this version cannot read")
                return
            }
            await handle(event)
        }
    }

    /// Pushes feed messages not delivered yet, in order, to their participants' sockets on this node.
    /// Advances ``lastDelivered`` only once they are handed over (a failure to read large ones from the store
    /// throws, the listener reconnects and catches up from there).
    private func deliver(_ messages: [FeedMessage], from origin: String?) async throws {
        let floor = lastDelivered ?? MessageID(0)
        var fresh = messages.filter { $0.id > floor }
        guard let newest = fresh.last?.id else { return }
        let missing = fresh.filter { $0.message == nil }.map(\.id)
        if !missing.isEmpty {
            var loaded: [MessageID: Message] = [:]
            for message in try await store.messages(ids: missing) { loaded[message.id] = message }
            for index in fresh.indices where fresh[index].message == nil { fresh[index].message = loaded[fresh[index].id] }
        }
        let fromHere = origin == node.instance
        var perUser: [UserID: [(push: EncodedPush, except: SocketID?)]] = [:]
        for entry in fresh {
            guard let message = entry.message else { continue }
            let push = encoder.encodeReceive(message)
            // The feed names the sending socket; a message read back by catch-up does not, but this node
            // remembers its own recent sends.
            let socket = fromHere && entry.originSocket != 0 ? entry.originSocket : recentOrigins[entry.id]
            let except = socket.map { SocketID(rawValue: $0) }
            perUser[entry.senderID, default: []].append((push, except))
            if entry.recipientID != entry.senderID { perUser[entry.recipientID, default: []].append((push, except)) }
        }
        lastDelivered = newest
        for actor in await users.actors(for: Array(perUser.keys)) {
            if let items = perUser[actor.userID] { actor.deliver(items) }
        }
        releaseDeliveryWaiters()
    }

    // MARK: - Events from other nodes

    private func handle(_ event: ClusterEvent) async {
        guard event.o != node.instance else {
            if event.k == .beat { lastOwnBeat = .now }
            return
        }
        switch event.k {
        case .hello:
            touch(event.o, name: event.n)
            enqueueState()
        case .beat:
            if remote[event.o] == nil, let since = listeningSince, ContinuousClock.now - since > configuration.heartbeat * 2 {
                // A node this one dropped (or never heard say hello) is beating: ask everyone for their state.
                var hello = ClusterEvent(.hello, origin: node.instance)
                hello.n = node.name
                enqueue(hello)
            }
            touch(event.o, name: event.n)
        case .state:
            touch(event.o, name: event.n)
            var pending = event.p == 0 ? [:] : (remote[event.o]?.pendingState ?? [:])
            for entry in event.u ?? [] where entry.count == 2 { pending[UserID(entry[0])] = Timestamp(microseconds: entry[1]) }
            if event.last == true {
                remote[event.o]?.pendingState = nil
                replaceUsers(of: event.o, with: pending)
            } else {
                remote[event.o]?.pendingState = pending
            }
        case .online:
            touch(event.o, name: event.n)
            var joins: [(UserID, Timestamp)] = []
            for entry in event.u ?? [] where entry.count == 2 {
                let user = UserID(entry[0])
                let at = Timestamp(microseconds: entry[1])
                if !isOnlineAnywhere(user) { joins.append((user, at)) }
                remote[event.o]?.users[user] = at
            }
            announce(joins: joins, leaves: [])
        case .offline:
            touch(event.o, name: event.n)
            var leaves: [(UserID, Timestamp)] = []
            for entry in event.u ?? [] where !entry.isEmpty {
                let user = UserID(entry[0])
                guard remote[event.o]?.users.removeValue(forKey: user) != nil else { continue }
                if !isOnlineAnywhere(user) { leaves.append((user, .now())) }
            }
            announce(joins: [], leaves: leaves)
        case .bye:
            logger.info("node left the service", metadata: ["broker.peer": "\(event.n ?? event.o)"])
            dropNode(event.o)
        case .logout:
            if let session = event.s { sockets?.closeSockets(ofSession: session) }
        case .topic:
            guard let conversation = event.c, let name = event.e, let body = event.b else { return }
            let push = EncodedPush(event: name, payload: ByteBuffer(string: body))
            await topics.broadcast(
                push, in: ConversationID(conversation), except: SocketID(rawValue: 0), to: event.r.map { Set($0.map(UserID.init)) }
            )
        }
    }

    /// Records that a node is alive.
    private func touch(_ instance: String, name: String?) {
        if remote[instance] == nil {
            remote[instance] = RemoteNode(name: name ?? instance, lastBeat: .now)
            logger.info("node joined the service", metadata: ["broker.peer": "\(name ?? instance)"])
        } else {
            remote[instance]?.lastBeat = .now
            if let name { remote[instance]?.name = name }
        }
    }

    /// Sets a node's whole presence, telling partners here about every user whose service-wide state changed.
    private func replaceUsers(of instance: String, with users: [UserID: Timestamp]) {
        let old = remote[instance]?.users ?? [:]
        var wasOnline = Set<UserID>()
        for user in Set(old.keys).union(users.keys) where isOnlineAnywhere(user) { wasOnline.insert(user) }
        remote[instance]?.users = users
        var joins: [(UserID, Timestamp)] = []
        var leaves: [(UserID, Timestamp)] = []
        for (user, at) in users where !wasOnline.contains(user) { joins.append((user, at)) }
        for user in old.keys where users[user] == nil && !isOnlineAnywhere(user) { leaves.append((user, .now())) }
        announce(joins: joins, leaves: leaves)
    }

    /// Forgets a node; its users not online elsewhere are offline.
    private func dropNode(_ instance: String) {
        guard let gone = remote.removeValue(forKey: instance) else { return }
        let leaves = gone.users.keys.filter { !isOnlineAnywhere($0) }.map { ($0, Timestamp.now()) }
        announce(joins: [], leaves: leaves)
    }

    private func isOnlineAnywhere(_ user: UserID) -> Bool {
        localUsers[user] != nil || remote.values.contains { $0.users[user] != nil }
    }

    /// Queues `presence_diff`s for users whose service-wide state changed, for their partners on this node.
    /// The changes are decided here, in order; the partner look-ups (a store query each) run in the announcer
    /// loop, one change at a time, so neither the listener nor the heartbeat ever waits on them and partners
    /// see a user's diffs in the order they happened.
    private func announce(joins: [(UserID, Timestamp)], leaves: [(UserID, Timestamp)]) {
        for (user, at) in joins { announcements.append((user, encoder.encodePresenceDiff(joins: [(user, at)], leaves: []))) }
        for (user, at) in leaves { announcements.append((user, encoder.encodePresenceDiff(joins: [], leaves: [(user, at)]))) }
        if !announcements.isEmpty, let wake = announcerWakeUp {
            announcerWakeUp = nil
            wake.resume()
        }
    }

    /// Delivers queued presence diffs to the partners on this node, in order.
    private func announceLoop() async {
        while !Task.isCancelled {
            guard let (user, push) = announcements.popFirst() else {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { announcerWakeUp = $0 }
                } onCancel: {
                    Task { await self.wakeAnnouncer() }
                }
                continue
            }
            guard let conversations = try? await store.conversations(of: user) else { continue }
            let peers = conversations.map { $0.peer(of: user) }
            for actor in await users.actors(for: peers) { actor.deliver([(push, nil)]) }
        }
    }

    private func wakeAnnouncer() {
        if let wake = announcerWakeUp {
            announcerWakeUp = nil
            wake.resume()
        }
    }

    // MARK: - Heartbeat

    private func heartbeatLoop() async {
        while true {
            do { try await Task.sleep(for: configuration.heartbeat) } catch { return }
            expireSilentNodes()
            await beat()
        }
    }

    /// Publishes this node's beat directly, ahead of the outbox (a backlog there must not make this node look
    /// dead), and reconnects the listener when its own beats stop coming back.
    private func beat() async {
        guard let since = listeningSince else { return }
        let now = ContinuousClock.now
        if now - lastOwnBeat > configuration.nodeTimeout, now - since > configuration.nodeTimeout {
            logger.warning("own heartbeats stopped coming back; reconnecting the cluster channel")
            currentListen?.cancel()
            return
        }
        if needsStateResend {
            needsStateResend = false
            enqueueState()
        }
        releaseDeliveryWaiters(olderThan: now - configuration.nodeTimeout)
        var event = ClusterEvent(.beat, origin: node.instance)
        event.n = node.name
        try? await bus.publish(event.encoded())
    }

    /// Drops nodes silent for longer than the timeout (only while this node has been listening that long:
    /// its own outage is no evidence against the others).
    private func expireSilentNodes() {
        guard let since = listeningSince else { return }
        let now = ContinuousClock.now
        guard now - since > configuration.nodeTimeout else { return }
        for (instance, peer) in remote where now - peer.lastBeat > configuration.nodeTimeout {
            logger.warning("node stopped beating; its users are offline", metadata: ["broker.peer": "\(peer.name)"])
            dropNode(instance)
        }
    }

    // MARK: - Publisher

    private func enqueueState() {
        let parts = ClusterEvent.chunks(of: localUsers.map { ($0.key, $0.value) }, maxBytes: bus.maxControlBytes)
        let count = max(parts.count, 1)
        for index in 0..<count {
            var event = ClusterEvent(.state, origin: node.instance)
            event.n = node.name
            event.p = index
            event.u = parts.isEmpty ? [] : parts[index]
            event.last = index == count - 1
            enqueue(event)
        }
    }

    private func enqueue(_ event: ClusterEvent) {
        guard !stopping else { return }
        if outbox.count >= 100_000 {
            outbox.removeAll()  // the database is gone for long: the state goes again once it is back
            needsStateResend = true
        }
        outbox.append((event, 0))
        wakePublisher()
    }

    private func wakePublisher() {
        if let wake = publisherWakeUp {
            publisherWakeUp = nil
            wake.resume()
        }
    }

    /// Publishes queued events one at a time (so each node's events arrive in the order it made them),
    /// merging runs of `on` or `off` into one event; on stop, a last `bye`.
    private func publishLoop() async {
        while true {
            while outbox.isEmpty && !stopping && !Task.isCancelled {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { publisherWakeUp = $0 }
                } onCancel: {
                    Task { await self.wakePublisher() }
                }
            }
            if Task.isCancelled { return }
            guard var (event, attempts) = outbox.popFirst() else { break }  // stopping with nothing left
            if event.k == .online || event.k == .offline {
                while let next = outbox.first, next.event.k == event.k, (event.u?.count ?? 0) < 150 {
                    event.u = (event.u ?? []) + (next.event.u ?? [])
                    outbox.removeFirst()
                }
            }
            do {
                try await bus.publish(event.encoded())
            } catch {
                if Task.isCancelled { return }
                attempts += 1
                if event.k == .logout, attempts < 20 {
                    outbox.prepend((event, attempts))  // a logout must reach the other nodes: try again
                    try? await Task.sleep(for: .milliseconds(250))
                } else if event.k != .topic {
                    needsStateResend = true  // presence: the whole state goes again at the next beat
                }
            }
        }
        if listeningSince != nil {
            var bye = ClusterEvent(.bye, origin: node.instance)
            bye.n = node.name
            try? await bus.publish(bye.encoded())
        }
    }

    // MARK: - Senders waiting for the feed

    /// Waits until this node has pushed message `id` (and so every smaller id) from the feed, so that a
    /// sender's reply never gets ahead of the pushes of messages stored before it on other nodes: a client may
    /// then take the reply's id as seen. Returns at once when the channel is down (the reply must not wait for
    /// an outage), and after ``Configuration/nodeTimeout`` at the latest.
    package func waitUntilDelivered(_ id: MessageID, from socket: SocketID?) async {
        if let socket { rememberOrigin(id, socket) }
        guard listeningSince != nil, let last = lastDelivered, last < id else { return }
        await withCheckedContinuation { continuation in
            deliveryWaiters.append((id, .now, continuation))
        }
    }

    /// A conversation batch's version of ``waitUntilDelivered(_:from:)``, without suspending the caller: one
    /// hop for the whole batch. Remembers each message's sending socket, then runs `then` once this node has
    /// pushed the batch's highest id from the feed (or the wait ends as that method's does).
    package nonisolated func afterDelivery(
        of messages: [(id: MessageID, socket: SocketID?)], then: @escaping @Sendable () -> Void
    ) {
        Task {
            for (id, socket) in messages.dropLast() { if let socket { await rememberOrigin(id, socket) } }
            if let last = messages.last { await waitUntilDelivered(last.id, from: last.socket) }
            then()
        }
    }

    private func releaseDeliveryWaiters(olderThan cutoff: ContinuousClock.Instant? = nil) {
        guard !deliveryWaiters.isEmpty else { return }
        let last = lastDelivered ?? MessageID(0)
        var kept: [(id: MessageID, since: ContinuousClock.Instant, continuation: CheckedContinuation<Void, Never>)] = []
        for waiter in deliveryWaiters {
            let expired = cutoff.map { waiter.since < $0 } ?? false
            if waiter.id <= last || expired || listeningSince == nil {
                waiter.continuation.resume()
            } else {
                kept.append(waiter)
            }
        }
        deliveryWaiters = kept
    }

    private func rememberOrigin(_ id: MessageID, _ socket: SocketID) {
        recentOrigins[id] = socket.rawValue
        recentOriginOrder.append(id)
        while recentOriginOrder.count > 10_000, let oldest = recentOriginOrder.popFirst() {
            recentOrigins.removeValue(forKey: oldest)
        }
    }
}

/// The supervised child of the ``ClusterBridge``: every start runs the bridge's loops anew.
struct ClusterBridgeRunner: SupervisedChild {
    let bridge: ClusterBridge

    func run() async throws { await bridge.run() }
    func stop() async { await bridge.stop() }
}
