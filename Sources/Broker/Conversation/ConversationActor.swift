import DequeModule
import Synchronization
import Logging
import Store

/// One per active conversation: checks membership, stores the conversation's messages in order, and hands each
/// stored message to the participants' user actors in id order.
///
/// Sends queue in a bounded mailbox; `run()` takes everything queued as one batch, stores it with one write
/// (consecutive ids, one transaction shared with other conversations' batches by the store's group commit),
/// then fans it out and answers each sender, only after the commit. So per-conversation order is the store's
/// id order by construction.
///
/// Its supervisor (``ConversationDirectory``'s dynamic supervisor) runs `run()`; an unexpected store error is a
/// crash: the waiting senders get ``BrokerError/unavailable`` and the supervisor starts a fresh actor, which
/// reloads the conversation from the store. An actor that was idle is stopped by the directory's sweep.
package actor ConversationActor: SupervisedChild {
    private enum State {
        case running
        case stopped
    }

    private struct Pending {
        var request: SendRequest
        var continuation: CheckedContinuation<StoredMessage, any Error>
    }

    /// The conversation.
    package let id: ConversationID
    private let store: any Store
    private let users: UserDirectory
    private let encoder: any PushEncoder
    private let logger: Logger
    private let mailboxCapacity: Int
    private let faults: FaultInjection?
    /// Whether this actor pushes stored messages to the user actors itself: on a node of one, yes; in a
    /// cluster, the ``ClusterBridge`` delivers every node's messages from the store's feed, in commit order.
    private let fansOut: Bool
    private var conversation: Conversation?
    private var mailbox = Deque<Pending>()
    private var wakeUp: CheckedContinuation<Void, Never>?
    private var state = State.running {
        didSet { running.store(state == .running, ordering: .releasing) }
    }
    private let running = Atomic<Bool>(true)
    private(set) var lastActivity = ContinuousClock.now

    /// Creates the actor; it loads its conversation on first use.
    package init(
        id: ConversationID, store: any Store, users: UserDirectory, encoder: any PushEncoder, logger: Logger,
        mailboxCapacity: Int = 4_096, faults: FaultInjection? = nil, fansOut: Bool = true
    ) {
        self.fansOut = fansOut
        self.id = id
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

    /// Stores and delivers a message, answering after the commit.
    /// - Throws: ``BrokerError/notParticipant``, ``BrokerError/unavailable`` (mailbox full, store down,
    ///   or this actor stopped: look it up again), or ``ConversationActorStopped`` when this instance ended.
    package func send(_ request: SendRequest) async throws -> StoredMessage {
        guard state == .running else { throw ConversationActorStopped() }
        guard mailbox.count < mailboxCapacity else { throw BrokerError.unavailable }
        lastActivity = .now
        return try await withCheckedThrowingContinuation { continuation in
            mailbox.append(Pending(request: request, continuation: continuation))
            if let wakeUp {
                self.wakeUp = nil
                wakeUp.resume()
            }
        }
    }

    /// The actor's lifetime: processes batches until stopped; throws (a crash) on an unexpected failure.
    package func run() async throws {
        while let batch = await nextBatch() {
            try await process(batch)
        }
    }

    /// Stops taking sends; queued ones are still processed, then `run()` returns.
    package func stop() {
        state = .stopped
        if let wakeUp {
            self.wakeUp = nil
            wakeUp.resume()
        }
    }

    /// Stops if nothing happened since `cutoff`; used by the directory's idle sweep.
    /// - Returns: whether it stopped.
    package func stopIfIdle(since cutoff: ContinuousClock.Instant) -> Bool {
        guard mailbox.isEmpty, lastActivity < cutoff else { return false }
        stop()
        return true
    }

    private func nextBatch() async -> [Pending]? {
        while mailbox.isEmpty {
            if state == .stopped { return nil }
            await withCheckedContinuation { wakeUp = $0 }
        }
        let batch = Array(mailbox)
        mailbox.removeAll()
        return batch
    }

    private func process(_ batch: [Pending]) async throws {
        let conversation: Conversation?
        do {
            conversation = try await loadConversation()
            try faults?.check(conversation: id)
        } catch let error as StoreError where error == .unavailable {
            for pending in batch { pending.continuation.resume(throwing: BrokerError.unavailable) }
            return
        } catch {
            crash(batch, error)
            throw error
        }
        var accepted: [Pending] = []
        for pending in batch {
            if let conversation, Self.isValid(pending.request, in: conversation) {
                accepted.append(pending)
            } else {
                pending.continuation.resume(throwing: BrokerError.notParticipant)
            }
        }
        guard let conversation, !accepted.isEmpty else { return }
        BrokerMetrics.messagesIn.increment(by: accepted.count)
        BrokerMetrics.conversationBatch.record(accepted.count)
        let drafts = accepted.map {
            NewMessage(
                conversationID: id, senderID: $0.request.sender, content: $0.request.content,
                clientID: $0.request.clientID, origin: $0.request.socket?.rawValue ?? 0
            )
        }
        let results: [Result<StoredMessage, StoreError>]
        do {
            results = try await store.insertMessages(drafts)
        } catch let error as StoreError where error == .unavailable {
            for pending in accepted { pending.continuation.resume(throwing: BrokerError.unavailable) }
            return
        } catch {
            crash(accepted, error)
            throw error
        }
        var pushes: [(push: EncodedPush, except: SocketID?)] = []
        for (pending, result) in zip(accepted, results) where fansOut {
            if case .success(.created(let message)) = result {
                pushes.append((encoder.encodeReceive(message), pending.request.socket))
            }
        }
        if !pushes.isEmpty {
            for user in await users.actors(for: [conversation.senderID, conversation.recipientID]) {
                await user.deliver(pushes)
            }
        }
        for (pending, result) in zip(accepted, results) {
            switch result {
            case .success(let stored): pending.continuation.resume(returning: stored)
            case .failure(.notFound): pending.continuation.resume(throwing: BrokerError.notParticipant)
            case .failure: pending.continuation.resume(throwing: BrokerError.unavailable)
            }
        }
        lastActivity = .now
    }

    private func loadConversation() async throws -> Conversation? {
        if let conversation { return conversation }
        let loaded = try await store.conversation(id: id)
        conversation = loaded
        return loaded
    }

    /// Sender and named recipient must be the conversation's two participants.
    private static func isValid(_ request: SendRequest, in conversation: Conversation) -> Bool {
        guard conversation.isParticipant(request.sender) else { return false }
        guard let recipient = request.recipient else { return true }
        return recipient == conversation.peer(of: request.sender)
    }

    /// Fails everyone waiting and refuses new sends: this instance is done, its supervisor restarts it.
    private func crash(_ batch: [Pending], _ error: any Error) {
        state = .stopped
        logger.warning(
            "conversation actor crashed",
            metadata: ["broker.conversation_id": "\(id)", "error": "\(String(reflecting: type(of: error)))"]
        )
        for pending in batch { pending.continuation.resume(throwing: BrokerError.unavailable) }
        for pending in mailbox { pending.continuation.resume(throwing: BrokerError.unavailable) }
        mailbox.removeAll()
    }
}

/// Thrown by a ``ConversationActor`` that has ended: look the conversation up again.
package struct ConversationActorStopped: Error, Sendable {}
