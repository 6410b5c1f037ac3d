import DequeModule
import Logging
import NIOCore
import Store
import Synchronization

/// One per active conversation: checks membership, stores the conversation's messages in order, and hands each
/// stored message to the participants' sockets in id order.
///
/// It runs on an event loop picked by its conversation id (see ``LoopRing``), and nothing on its send path
/// suspends: ``submit(_:reply:)`` queues a send with one `execute` on its loop (no thread switch when the
/// caller shares the loop); while no batch is with the store, the mailbox goes to the store's writer as one batch
/// (``Store/submitMessages(_:on:completion:)``), which joins the writer's next group commit and comes back to
/// this loop in one hop with the commit's other batches. Sends that arrive meanwhile wait for the next batch,
/// so one batch is with the store at a time and per-conversation order is the store's id order by
/// construction. After the commit it encodes each new message once, hands the pushes to the participants'
/// sockets (one task per socket loop; their sinks are cached until the ``UserDirectory``'s generation moves),
/// then answers each sender.
///
/// Its supervisor (``ConversationDirectory``'s dynamic supervisor) runs `run()`, which waits for the actor to
/// end. An unexpected store error is a crash: the waiting senders get ``BrokerError/unavailable``, `run()`
/// throws, and the supervisor starts a fresh actor, which reloads the conversation from the store. An actor
/// that was idle is stopped by the directory's sweep.
package actor ConversationActor: SupervisedChild {
    /// Answers one send, on the actor's loop: the stored message, or ``BrokerError``, or
    /// ``ConversationActorStopped`` when this instance ended before taking it (look the conversation up again).
    package typealias Reply = @Sendable (Result<StoredMessage, any Error>) -> Void

    private enum State {
        case running
        /// No new sends; ends once the batch with the store is answered.
        case stopping
        case stopped
        case crashed(any Error)
    }

    private struct Pending {
        var request: SendRequest
        var reply: Reply
    }

    /// The conversation.
    package nonisolated let id: ConversationID
    /// The loop the actor runs on.
    package nonisolated let eventLoop: any EventLoop
    private let store: any Store
    private let users: UserDirectory
    private let encoder: any PushEncoder
    private let logger: Logger
    private let mailboxCapacity: Int
    private let faults: FaultInjection?
    /// In a cluster, the bridge that delivers every node's messages from the store's feed, in commit order;
    /// `nil` on a node of one, where this actor pushes stored messages to the sockets itself.
    private let cluster: ClusterBridge?
    /// The conversation once loaded; `.some(nil)` when it does not exist.
    private var conversation: Conversation??
    private var loading = false
    /// Asks `run()`'s loader child to load the conversation.
    private nonisolated let loadRequests: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation) =
        AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    private var mailbox = Deque<Pending>()
    /// A batch is with the store.
    private var inFlight = false
    /// In a cluster, stored batches whose replies wait until this node pushed them from the feed, in order.
    private var awaitingFeed = Deque<(serial: UInt64, batch: [Pending], results: [Result<StoredMessage, StoreError>], ready: Bool)>()
    private var feedSerial: UInt64 = 0
    /// The participants' joined sockets on this node, as of a ``UserDirectory/generation``.
    private var recipients: (generation: UInt64, sinks: [any SocketSink])?
    private var state = State.running {
        didSet {
            if case .running = state {} else { running.store(false, ordering: .releasing) }
        }
    }
    private let running = Atomic<Bool>(true)
    /// `run()`, waiting for the end.
    private var ended: CheckedContinuation<Void, any Error>?
    private(set) var lastActivity = ContinuousClock.now

    /// Runs the actor's jobs on its event loop.
    package nonisolated var unownedExecutor: UnownedSerialExecutor {
        eventLoop.executor.asUnownedSerialExecutor()
    }

    /// Creates the actor; it loads its conversation on first use.
    package init(
        id: ConversationID,
        eventLoop: any EventLoop,
        store: any Store,
        users: UserDirectory,
        encoder: any PushEncoder,
        logger: Logger,
        mailboxCapacity: Int = 4_096,
        faults: FaultInjection? = nil,
        cluster: ClusterBridge? = nil
    ) {
        self.cluster = cluster
        self.id = id
        self.eventLoop = eventLoop
        self.store = store
        self.users = users
        self.encoder = encoder
        self.logger = logger
        self.mailboxCapacity = mailboxCapacity
        self.faults = faults
    }

    /// Whether this instance still takes sends (it stops when idle or crashed; callers then look up anew).
    /// Readable without a hop, so the directory can check it without suspending.
    package nonisolated var isRunning: Bool { running.load(ordering: .acquiring) }

    /// Queues a send from any thread without waiting; `reply` runs on the actor's loop after the commit.
    ///
    /// Always through the loop's task queue, even from the loop itself: a send handled inline could overtake
    /// an earlier one of the same socket still queued there from another thread (its inbound task), and the
    /// loop's queue is first in, first out. On the same loop this costs no thread switch.
    package nonisolated func submit(_ request: SendRequest, reply: @escaping Reply) {
        eventLoop.execute { self.assumeIsolated { $0.accept(request, reply) } }
    }

    /// Stores and delivers a message, answering after the commit.
    /// - Throws: ``BrokerError/notParticipant``, ``BrokerError/unavailable`` (mailbox full, store down),
    ///   or ``ConversationActorStopped`` when this instance ended.
    package nonisolated func send(_ request: SendRequest) async throws -> StoredMessage {
        try await withCheckedThrowingContinuation { continuation in
            submit(request) { continuation.resume(with: $0) }
        }
    }

    /// The actor's lifetime: returns once stopped and drained; throws (a crash) on an unexpected failure.
    package func run() async throws {
        switch state {
        case .stopped: return
        case .crashed(let error): throw error
        case .running, .stopping:
            // The loader is a child of `run()`, so it ends with the actor.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in self.loadRequests.stream { await self.loadConversation() }
                }
                defer { group.cancelAll() }
                try await withCheckedThrowingContinuation { ended = $0 }
            }
        }
    }

    /// Stops taking sends; queued ones are still processed, then `run()` returns.
    package func stop() {
        guard case .running = state else { return }
        state = .stopping
        finishIfDrained()
    }

    /// Stops if nothing happened since `cutoff`; used by the directory's idle sweep.
    /// - Returns: whether it stopped.
    package func stopIfIdle(since cutoff: ContinuousClock.Instant) -> Bool {
        guard mailbox.isEmpty, !inFlight, !loading, lastActivity < cutoff else { return false }
        stop()
        return true
    }

    private func accept(_ request: SendRequest, _ reply: @escaping Reply) {
        guard case .running = state else { return reply(.failure(ConversationActorStopped())) }
        guard mailbox.count < mailboxCapacity else { return reply(.failure(BrokerError.unavailable)) }
        lastActivity = .now
        mailbox.append(Pending(request: request, reply: reply))
        flush()
    }

    /// Hands the mailbox to the store as one batch, unless a batch is with it already.
    private func flush() {
        guard !inFlight, !loading, !mailbox.isEmpty else { return finishIfDrained() }
        guard let known = conversation else { return load() }
        let batch = mailbox
        mailbox.removeAll()
        var accepted: [Pending] = []
        accepted.reserveCapacity(batch.count)
        for pending in batch {
            if let conversation = known, Self.isValid(pending.request, in: conversation) {
                accepted.append(pending)
            } else {
                pending.reply(.failure(BrokerError.notParticipant))
            }
        }
        guard !accepted.isEmpty else { return finishIfDrained() }
        do {
            try faults?.check(conversation: id)
        } catch {
            return crash(accepted, error)
        }
        BrokerMetrics.messagesIn.increment(by: accepted.count)
        BrokerMetrics.conversationBatch.record(accepted.count)
        let drafts = accepted.map {
            NewMessage(
                conversationID: id,
                senderID: $0.request.sender,
                content: $0.request.content,
                clientID: $0.request.clientID,
                origin: $0.request.socket?.rawValue ?? 0
            )
        }
        inFlight = true
        store.submitMessages(drafts, on: eventLoop) { [self, accepted] result in
            assumeIsolated { $0.committed(accepted, result) }
        }
    }

    /// Has the conversation loaded (once per actor), then flushed, by `run()`'s loader child.
    private func load() {
        guard !loading else { return }
        loading = true
        loadRequests.continuation.yield()
    }

    /// Loads the conversation, then flushes.
    private func loadConversation() async {
        do {
            conversation = .some(try await store.conversation(id: id))
        } catch let error as StoreError where error == .unavailable {
            for pending in mailbox { pending.reply(.failure(BrokerError.unavailable)) }
            mailbox.removeAll()
        } catch {
            loading = false
            return crash([], error)
        }
        loading = false
        flush()
    }

    /// A batch came back from the store: push the new messages, answer the senders, then take the next batch.
    private func committed(_ batch: [Pending], _ result: Result<[Result<StoredMessage, StoreError>], StoreError>) {
        inFlight = false
        lastActivity = .now
        let results: [Result<StoredMessage, StoreError>]
        switch result {
        case .success(let outcomes):
            results = outcomes
        case .failure(.unavailable):
            for pending in batch { pending.reply(.failure(BrokerError.unavailable)) }
            return flush()
        case .failure(let error):
            return crash(batch, error)
        }
        if let cluster {
            // The bridge pushes from the feed; a reply waits until this node pushed its message, so that it
            // never runs ahead of messages stored before it on other nodes (one hop for the batch).
            let created = zip(batch, results).compactMap { pending, result -> (id: MessageID, socket: SocketID?)? in
                guard case .success(.created(let message)) = result else { return nil }
                return (message.id, pending.request.socket)
            }
            if !created.isEmpty || !awaitingFeed.isEmpty {
                // Answered in batch order, whichever wait ends first.
                feedSerial += 1
                let serial = feedSerial
                awaitingFeed.append((serial, batch, results, ready: created.isEmpty))
                if !created.isEmpty {
                    cluster.afterDelivery(of: created) { [self] in
                        eventLoop.execute { self.assumeIsolated { $0.fedThrough(serial) } }
                    }
                } else {
                    fedThrough(serial)
                }
                return flush()
            }
        } else {
            var pushes: [(push: EncodedPush, except: SocketID?)] = []
            for (pending, result) in zip(batch, results) {
                if case .success(.created(let message)) = result {
                    pushes.append((encoder.encodeReceive(message), pending.request.socket))
                }
            }
            if !pushes.isEmpty { deliver(pushes) }
        }
        Self.answer(batch, results)
        flush()
    }

    /// A batch's messages were pushed from the feed: answers it and every batch before it that is ready too.
    private func fedThrough(_ serial: UInt64) {
        if let index = awaitingFeed.firstIndex(where: { $0.serial == serial }) { awaitingFeed[index].ready = true }
        while let first = awaitingFeed.first, first.ready {
            awaitingFeed.removeFirst()
            Self.answer(first.batch, first.results)
        }
    }

    /// Answers each sender of a stored batch.
    private static func answer(_ batch: [Pending], _ results: [Result<StoredMessage, StoreError>]) {
        for (pending, result) in zip(batch, results) {
            switch result {
            case .success(let stored): pending.reply(.success(stored))
            case .failure(.notFound): pending.reply(.failure(BrokerError.notParticipant))
            case .failure: pending.reply(.failure(BrokerError.unavailable))
            }
        }
    }

    /// Hands the pushes to the participants' joined sockets on this node, one task per socket loop.
    private func deliver(_ pushes: [(push: EncodedPush, except: SocketID?)]) {
        guard case .some(.some(let conversation)) = conversation else { return }
        let generation = users.generation
        let sinks: [any SocketSink]
        if let recipients, recipients.generation == generation {
            sinks = recipients.sinks
        } else {
            sinks = users.sinks(of: [conversation.senderID, conversation.recipientID])
            recipients = (generation, sinks)
        }
        Fanout.send(pushes, to: sinks)
    }

    /// Ends `run()` once stopping with nothing left to answer.
    private func finishIfDrained() {
        guard case .stopping = state, mailbox.isEmpty, !inFlight, !loading else { return }
        state = .stopped
        ended?.resume()
        ended = nil
    }

    /// Sender and named recipient must be the conversation's two participants.
    private static func isValid(_ request: SendRequest, in conversation: Conversation) -> Bool {
        guard conversation.isParticipant(request.sender) else { return false }
        guard let recipient = request.recipient else { return true }
        return recipient == conversation.peer(of: request.sender)
    }

    /// Fails everyone waiting and refuses new sends: this instance is done, its supervisor restarts it.
    private func crash(_ batch: [Pending], _ error: any Error) {
        logger.warning(
            "conversation actor crashed",
            metadata: ["broker.conversation_id": "\(id)", "error": "\(String(reflecting: type(of: error)))"]
        )
        state = .crashed(error)
        for pending in batch { pending.reply(.failure(BrokerError.unavailable)) }
        for pending in mailbox { pending.reply(.failure(BrokerError.unavailable)) }
        mailbox.removeAll()
        ended?.resume(throwing: error)
        ended = nil
    }
}

/// Thrown by a ``ConversationActor`` that has ended: look the conversation up again.
package struct ConversationActorStopped: Error, Sendable {}
