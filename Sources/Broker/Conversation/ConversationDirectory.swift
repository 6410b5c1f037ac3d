import Logging
import Store
import Synchronization

/// The registry of active conversations: ``ConversationActor`` by conversation id, started on demand under a
/// dynamic supervisor, stopped by ``sweepIdle(olderThan:)``.
///
/// Get-or-start is atomic (this actor creates the handle without suspending in between), so there is never
/// more than one actor per conversation. A crashed actor is replaced by its supervisor's restart, which
/// registers the fresh instance here; until then lookups wait for that change (at most ``replacementWait``), then answer
/// ``BrokerError/unavailable``.
package actor ConversationDirectory {
    /// A child of the conversation supervisor: the conversation and which start of it this is.
    package struct ChildKey: Hashable, Sendable {
        /// The conversation.
        package var conversation: ConversationID
        /// Increments each time the conversation is started after an idle stop.
        package var serial: UInt64
    }

    private struct Entry {
        var key: ChildKey
        var actor: ConversationActor
    }

    /// The longest a lookup waits for a crashed actor's replacement. Generous: a loaded machine may take
    /// seconds to restart one, and the wait ends on the replacement itself, not on this deadline.
    static let replacementWait = Duration.seconds(5)

    private let makeActor: @Sendable (ConversationID) -> ConversationActor
    private var supervisor: DynamicSupervisor<ChildKey>?
    private var entries: [ConversationID: Entry] = [:]
    private var serial: UInt64 = 0
    /// Lookups waiting for a crashed or stopping actor's entry to change.
    private let changes = EntryChanges<ConversationID>()
    /// Children their supervisor gave up on, reported from its event callback (synchronous, so no hop): the
    /// next lookup or sweep forgets them.
    private nonisolated let givenUp = Locked<Set<ChildKey>>([])

    /// Creates a directory; `makeActor` builds a fresh actor for a conversation (on first use and on restart).
    package init(makeActor: @escaping @Sendable (ConversationID) -> ConversationActor) {
        self.makeActor = makeActor
    }

    /// Hands the directory the (new) supervisor its actors run under; the old one's actors are gone.
    package func adopt(_ supervisor: DynamicSupervisor<ChildKey>) {
        self.supervisor = supervisor
        entries.removeAll()
        changes.changed(nil)
    }

    /// The running actor of a conversation, started if needed.
    /// - Throws: ``BrokerError/unavailable`` while the conversation's actor restarts or the tree is down.
    package func actor(for id: ConversationID) async throws -> ConversationActor {
        let deadline = ContinuousClock.now + Self.replacementWait
        while let entry = entries[id] {
            if entry.actor.isRunning { return entry.actor }
            if givenUp.withLock({ $0.remove(entry.key) != nil }) {
                entries.removeValue(forKey: id)  // its supervisor gave up on it: start it afresh
                break
            }
            // Crashed (its supervisor is restarting it) or stopping: wait for the replacement (or the entry's
            // removal), not past the deadline.
            guard ContinuousClock.now < deadline, !Task.isCancelled else { throw BrokerError.unavailable }
            let ticket = changes.ticket(for: id)
            await changes.wait(ticket, until: deadline)
        }
        return try await start(id)
    }

    private func start(_ id: ConversationID) async throws -> ConversationActor {
        guard let supervisor else { throw BrokerError.unavailable }
        serial += 1
        let key = ChildKey(conversation: id, serial: serial)
        let actor = makeActor(id)
        entries[id] = Entry(key: key, actor: actor)
        let first = FirstStart(actor)
        let spec = ChildSpec<ChildKey>(id: key, restart: .transient, shutdown: .graceful(timeout: .seconds(5))) {
            [weak self, makeActor] in
            if let actor = first.take() { return actor }
            let fresh = makeActor(id)
            await self?.replace(key, with: fresh)
            return fresh
        }
        do {
            try await supervisor.startChild(spec)
        } catch {
            if entries[id]?.key == key {
                entries.removeValue(forKey: id)
                changes.changed(id)
            }
            throw BrokerError.unavailable
        }
        return actor
    }

    private func replace(_ key: ChildKey, with actor: ConversationActor) {
        guard let entry = entries[key.conversation], entry.key == key else { return }
        entries[key.conversation] = Entry(key: key, actor: actor)
        changes.changed(key.conversation)
    }

    /// Forgets a conversation its supervisor gave up on, so that the next send starts it afresh.
    package func forget(_ key: ChildKey) {
        if entries[key.conversation]?.key == key {
            entries.removeValue(forKey: key.conversation)
            changes.changed(key.conversation)
        }
    }

    /// Forgets a conversation its supervisor gave up on, from the supervisor's synchronous event callback:
    /// waiting lookups start it afresh, and the next sweep forgets it if nobody looked it up.
    package nonisolated func supervisorGaveUp(on key: ChildKey) {
        givenUp.withLock { _ = $0.insert(key) }
        changes.changed(key.conversation)
    }

    /// Stops the actors that have been idle since before `cutoff` and forgets them (and the ones their
    /// supervisor gave up on).
    /// - Returns: how many were stopped.
    @discardableResult
    package func sweepIdle(olderThan cutoff: ContinuousClock.Instant) async -> Int {
        var stopped = 0
        let gone = givenUp.withLock { keys in
            defer { keys.removeAll() }
            return keys
        }
        for key in gone { forget(key) }
        for (id, entry) in entries {
            guard await entry.actor.stopIfIdle(since: cutoff) else { continue }
            if entries[id]?.key == entry.key {
                entries.removeValue(forKey: id)
                changes.changed(id)
            }
            stopped += 1
        }
        return stopped
    }

    /// How many conversations have a live actor.
    package var activeCount: Int { entries.count }
}

/// The actor made before its child spec, handed out by the spec's first start only.
private final class FirstStart: Sendable {
    private let value: Locked<ConversationActor?>

    init(_ actor: ConversationActor) { value = Locked(actor) }

    func take() -> ConversationActor? {
        value.withLock { value in
            defer { value = nil }
            return value
        }
    }
}

/// One socket's cache of the conversation actors it sends to, as a Phoenix socket caches its channels' pids:
/// the directory is asked once per conversation, not once per message. A handle whose actor stopped (idle
/// sweep, crash) is never used; the directory is asked again.
///
/// While the directory is being asked, later sends of the socket to that conversation wait here and go to the
/// actor in their order once it is known, so a pipelining socket's sends keep their order.
package final class ConversationHandles: Sendable {
    /// A send waiting for its conversation's actor.
    typealias Waiting = (request: SendRequest, reply: ConversationActor.Reply)

    /// Where a send goes.
    enum Route {
        /// To this running actor.
        case actor(ConversationActor)
        /// Ask the directory; the caller then calls ``takeWaiting(_:found:)`` until it returns nothing.
        case lookUp
        /// A lookup is under way; the send waits for it.
        case waiting
    }

    private struct State {
        var actors: [ConversationID: ConversationActor] = [:]
        var lookups: [ConversationID: [Waiting]] = [:]
    }

    /// The most conversations remembered; past it the cache starts over (a socket rarely sends to many).
    private static let capacity = 64
    private let state = Locked(State())

    /// An empty cache.
    package init() {}

    /// Routes a send: to the cached running actor, or through a lookup (the first send starts it, later ones
    /// wait for it in order).
    func route(_ request: SendRequest, to id: ConversationID, reply: @escaping ConversationActor.Reply) -> Route {
        state.withLock { state in
            if state.lookups[id] != nil {
                state.lookups[id]?.append((request, reply))
                return .waiting
            }
            if let actor = state.actors[id], actor.isRunning { return .actor(actor) }
            state.lookups[id] = []
            return .lookUp
        }
    }

    /// Takes the sends that waited for a lookup, in order. When none are left the lookup ends: the actor
    /// (when found) is remembered and later sends go to it directly. Call until it returns nothing, submitting
    /// what it returns in between, so that no later send overtakes a waiting one.
    func takeWaiting(_ id: ConversationID, found actor: ConversationActor?) -> [Waiting] {
        state.withLock { state in
            let waiting = state.lookups[id] ?? []
            if !waiting.isEmpty {
                state.lookups[id] = []
                return waiting
            }
            state.lookups.removeValue(forKey: id)
            if let actor {
                if state.actors.count >= Self.capacity, state.actors[id] == nil { state.actors.removeAll() }
                state.actors[id] = actor
            }
            return []
        }
    }
}
