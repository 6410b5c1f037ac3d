import Logging
import ServiceLifecycle
import Store
import Synchronization

/// A supervisor of children started on demand, one per user or conversation, restarted one for
/// one (OTP's `simple_one_for_one`, Elixir's `DynamicSupervisor`).
///
/// ``startChild(_:)`` and ``terminateChild(id:)`` may be called from any task while ``run()``
/// runs. New children reach `run()` through an event stream, which it drains into a discarding
/// task group (the postgres-nio `ConnectionPool.run()` pattern), so no unstructured task is
/// ever created. A crashed child is restarted alone under its ``RestartPolicy``; making its new
/// instance happens in the child's own task, so a slow restart never blocks the others.
///
/// Restarts are counted per child id, so that a crash-looping child is caught by its own limit
/// however many siblings it has, and against a global ceiling, so that many children failing
/// together (the store being down) are caught too. This departs from OTP, which counts all
/// children of a `simple_one_for_one` supervisor together. Past either limit the supervisor
/// stops all its children and throws ``SupervisorError/intensityExceeded(child:)``.
///
/// On graceful shutdown (when not itself supervised) or ``stop()``, all children are stopped
/// **concurrently**, as OTP's `terminate_dynamic_children/1` does, each through `stop()` and
/// then cancellation after its own timeout; `run()` then returns normally.
///
/// ```swift
/// let conversations = DynamicSupervisor<ConversationID>(logger: logger)
/// // run() is owned by the parent supervisor or the ServiceGroup.
/// try await conversations.startChild(
///     ChildSpec(id: conversationID) { try await ConversationActor.load(conversationID, from: store) }
/// )
/// ```
///
/// - Important: Starting a child whose id is already present throws
///   ``SupervisorError/duplicateChild(child:)``; it never returns the existing child. Callers
///   that need get-or-start semantics keep that map themselves (the directory does). `run()`
///   may be called once; a parent that restarts this supervisor makes a fresh one, so whoever
///   starts children must get the new instance (register it from ``ChildSpec/start``).
package final class DynamicSupervisor<ID: Hashable & Sendable>: Service, SupervisedChild {
    private typealias Group = ThrowingDiscardingTaskGroup<any Error>

    private enum Event: Sendable {
        case run(ChildHandle)
        case childExited(id: ID, handle: ChildHandle, reason: ExitReason)
        case restartFailed(id: ID, token: UInt64, error: any Error)
        case stop
    }

    private enum Phase {
        case idle
        case running
        case stopping
        case stopped
    }

    private enum Status {
        case starting
        case running(ChildHandle)
        case restarting
    }

    private struct Entry {
        let spec: ChildSpec<ID>
        /// Tells this entry from a later one with the same id.
        let token: UInt64
        var incarnation: Int
        var status: Status
        var intensity: RestartIntensity<ContinuousClock>

        var handle: ChildHandle? {
            if case .running(let handle) = self.status {
                return handle
            }
            return nil
        }
    }

    private struct State {
        var phase = Phase.idle
        var children: [ID: Entry] = [:]
        var intensity: RestartIntensity<ContinuousClock>
        var nextToken: UInt64 = 0
    }

    private enum ExitDecision {
        case ignore
        case remove(incarnation: Int)
        case restart(spec: ChildSpec<ID>, token: UInt64, restartCount: Int)
        case escalate(restartCount: Int)
        case giveUp(restartCount: Int)
    }

    /// What a child crashing past its own intensity (``maxRestartsPerChild`` in `period`) does.
    package enum ChildOverflow: Sendable {
        /// The supervisor stops every child and fails upward (OTP).
        case escalate
        /// The supervisor gives up on that child alone and keeps the others running; a failure shared by many
        /// children still escalates through the global ceiling. For children that are independent by nature,
        /// such as one conversation each.
        case removeChild
    }

    private let maxRestartsPerChild: Int
    private let childOverflow: ChildOverflow
    private let period: Duration
    private let logger: Logger
    private let onEvent: (@Sendable (SupervisorEvent<ID>) -> Void)?
    private let events: AsyncStream<Event>
    private let eventContinuation: AsyncStream<Event>.Continuation
    private let state: Locked<State>
    private let clock = ContinuousClock()

    /// Creates a dynamic supervisor with no children; children are started by
    /// ``startChild(_:)``.
    ///
    /// - Parameters:
    ///   - maxRestartsPerChild: The most restarts of one child id within `period`; OTP's
    ///     default intensity is 1.
    ///   - maxRestarts: The most restarts of all children together within `period`, the ceiling
    ///     that catches a failure shared by many children (the store being down).
    ///   - period: The intensity window of both limits.
    ///   - childOverflow: What a child past `maxRestartsPerChild` does (see ``ChildOverflow``).
    ///   - logger: Receives a warning for every restart and an error for failed restarts and
    ///     escalations.
    ///   - onEvent: Observes every lifecycle event of the children, for tests and metrics. It
    ///     is called synchronously from the supervisor's tasks, so it must return quickly.
    package init(
        maxRestartsPerChild: Int = 1,
        maxRestarts: Int = 100,
        period: Duration = .seconds(5),
        childOverflow: ChildOverflow = .escalate,
        logger: Logger,
        onEvent: (@Sendable (SupervisorEvent<ID>) -> Void)? = nil
    ) {
        self.maxRestartsPerChild = maxRestartsPerChild
        self.childOverflow = childOverflow
        self.period = period
        self.logger = logger
        self.onEvent = onEvent
        self.state = Locked(State(intensity: RestartIntensity(maxRestarts: maxRestarts, period: period)))
        (self.events, self.eventContinuation) = AsyncStream.makeStream(of: Event.self)
    }

    // MARK: - Children

    /// The ids of the children present, whether running, starting or being restarted, so that
    /// callers and tests can see what the supervisor holds.
    package var childIDs: Set<ID> {
        self.state.withLock { Set($0.children.keys) }
    }

    /// How many children are present, whether running, starting or being restarted.
    package var childCount: Int {
        self.state.withLock { $0.children.count }
    }

    /// Tells whether a child with `id` is present, whether running, starting or being restarted.
    package func hasChild(_ id: ID) -> Bool {
        self.state.withLock { $0.children[id] != nil }
    }

    /// Makes a child from `spec` and hands it to ``run()``, so that children come and go with
    /// the users and conversations they serve.
    ///
    /// `spec.start` runs in the caller's task, so a failed start is thrown here and is not a
    /// restart. A child started before ``run()`` is called begins running when it is.
    ///
    /// - Parameter spec: The child to start; its id must not be present.
    /// - Throws: ``SupervisorError/duplicateChild(child:)`` if a child with this id is present
    ///   (it is not returned), ``SupervisorError/notRunning`` once the supervisor is stopping,
    ///   ``SupervisorError/childNotFound(child:)`` if ``terminateChild(id:)`` removed it while it
    ///   was starting, or the error thrown by `spec.start`.
    package func startChild(_ spec: ChildSpec<ID>) async throws {
        let id = spec.id
        let maxRestartsPerChild = self.maxRestartsPerChild
        let period = self.period
        let token = try self.state.withLock { state throws(SupervisorError<ID>) -> UInt64 in
            switch state.phase {
            case .idle, .running:
                break
            case .stopping, .stopped:
                throw .notRunning
            }
            guard state.children[id] == nil else {
                throw .duplicateChild(child: id)
            }
            state.nextToken += 1
            state.children[id] = Entry(
                spec: spec,
                token: state.nextToken,
                incarnation: 0,
                status: .starting,
                intensity: RestartIntensity(maxRestarts: maxRestartsPerChild, period: period)
            )
            return state.nextToken
        }

        let child: any SupervisedChild
        do {
            child = try await spec.start()
        } catch {
            self.state.withLock { state in
                if state.children[id]?.token == token {
                    state.children[id] = nil
                }
            }
            throw error
        }

        let handle = try self.state.withLock { state throws(SupervisorError<ID>) -> ChildHandle in
            switch state.phase {
            case .idle, .running:
                break
            case .stopping, .stopped:
                throw .notRunning
            }
            guard var entry = state.children[id], entry.token == token else {
                throw .childNotFound(child: id)
            }
            entry.incarnation = 1
            let handle = self.makeHandle(id: id, incarnation: 1, child: child, shutdown: spec.shutdown)
            entry.status = .running(handle)
            state.children[id] = entry
            return handle
        }
        self.onEvent?(.childStarted(id: id, incarnation: 1))
        self.eventContinuation.yield(.run(handle))
    }

    /// Stops the child with `id` under its ``ShutdownPolicy`` and removes it without restarting
    /// it, so that an idle conversation can be let go (OTP's `terminate_child/2`).
    ///
    /// Returns once the child has ended. A child that is being started or restarted is removed
    /// and its new instance is never run.
    ///
    /// - Parameter id: The child to stop.
    /// - Throws: ``SupervisorError/childNotFound(child:)`` if no child with `id` is present.
    package func terminateChild(id: ID) async throws {
        let entry = try self.state.withLock { state throws(SupervisorError<ID>) -> Entry in
            guard let entry = state.children.removeValue(forKey: id) else {
                throw .childNotFound(child: id)
            }
            return entry
        }
        if let handle = entry.handle {
            await handle.terminate()
        }
    }

    // MARK: - Lifecycle

    /// Supervises the children until stopped, so that the supervisor's lifetime is this call.
    ///
    /// Returns normally after graceful shutdown, ``stop()`` or cancellation, once every child
    /// has ended.
    ///
    /// - Throws: ``SupervisorError/intensityExceeded(child:)`` when restarts of one child or of
    ///   all children exceed their limit, after all children have been stopped;
    ///   ``SupervisorError/alreadyRunning`` when called twice.
    package func run() async throws {
        try self.state.withLock { state throws(SupervisorError<ID>) in
            guard case .idle = state.phase else {
                throw .alreadyRunning
            }
            state.phase = .running
        }
        defer {
            self.state.withLock { state in
                state.phase = .stopped
                state.children.removeAll()
            }
            self.eventContinuation.finish()
        }

        let listensForShutdown = !SupervisionContext.isSupervised
        let eventContinuation = self.eventContinuation
        try await withThrowingDiscardingTaskGroup { group in
            if listensForShutdown {
                try await withGracefulShutdownHandler {
                    try await self.supervise(in: &group)
                } onGracefulShutdown: {
                    eventContinuation.yield(.stop)
                }
            } else {
                try await self.supervise(in: &group)
            }
        }
    }

    /// Asks the supervisor to stop all its children concurrently and return from ``run()``.
    ///
    /// Returns at once; ``run()`` returns when the children have ended.
    package func stop() async {
        self.eventContinuation.yield(.stop)
    }

    // MARK: - Supervision loop

    private func supervise(in group: inout Group) async throws {
        for await event in self.events {
            switch event {
            case .run(let handle):
                group.addTask {
                    await handle.run()
                }

            case .childExited(let id, let handle, let reason):
                try await self.childExited(id, handle: handle, reason: reason, group: &group)

            case .restartFailed(let id, let token, let error):
                try await self.restartFailed(id, token: token, error: error, group: &group)

            case .stop:
                await self.shutDown(group: &group)
                return
            }
        }
        // The stream ends only when this task is cancelled: the children are being cancelled too.
        await self.shutDown(group: &group)
    }

    private func childExited(_ id: ID, handle: ChildHandle, reason: ExitReason, group: inout Group) async throws {
        let now = self.clock.now
        let decision = self.state.withLock { state -> ExitDecision in
            guard case .running = state.phase, var entry = state.children[id], entry.handle === handle else {
                // Terminated on request, or stopped by shutdown: nothing to decide.
                return .ignore
            }
            guard entry.spec.restart.shouldRestart(after: reason) else {
                state.children[id] = nil
                return .remove(incarnation: entry.incarnation)
            }
            return Self.recordRestart(of: &entry, at: now, in: &state, childOverflow: childOverflow)
        }
        try await self.act(on: decision, id: id, reason: reason, group: &group)
    }

    private func restartFailed(_ id: ID, token: UInt64, error: any Error, group: inout Group) async throws {
        SupervisorReport.startFailed(id, error: error, logger: self.logger)
        self.onEvent?(.childStartFailed(id: id, error: error))
        let now = self.clock.now
        let decision = self.state.withLock { state -> ExitDecision in
            guard case .running = state.phase, var entry = state.children[id], entry.token == token,
                case .restarting = entry.status
            else {
                return .ignore
            }
            return Self.recordRestart(of: &entry, at: now, in: &state, childOverflow: childOverflow)
        }
        try await self.act(on: decision, id: id, reason: .abnormal(error), group: &group)
    }

    /// Counts a restart of `entry` against its own and the global intensity (OTP's
    /// `add_restart/1`, per child plus a ceiling).
    private static func recordRestart(
        of entry: inout Entry,
        at now: ContinuousClock.Instant,
        in state: inout State,
        childOverflow: ChildOverflow
    ) -> ExitDecision {
        let childDecision = entry.intensity.recordRestart(at: now)
        let restartCount = entry.intensity.restartsInPeriod
        if case .restart = childDecision {
        } else if childOverflow == .removeChild {
            state.children.removeValue(forKey: entry.spec.id)
            return .giveUp(restartCount: restartCount)
        }
        let globalDecision = state.intensity.recordRestart(at: now)
        guard case .restart = childDecision, case .restart = globalDecision else {
            state.children[entry.spec.id] = entry
            return .escalate(restartCount: restartCount)
        }
        entry.status = .restarting
        state.children[entry.spec.id] = entry
        return .restart(spec: entry.spec, token: entry.token, restartCount: restartCount)
    }

    private func act(on decision: ExitDecision, id: ID, reason: ExitReason, group: inout Group) async throws {
        switch decision {
        case .ignore:
            return
        case .remove(let incarnation):
            SupervisorReport.exited(id, incarnation: incarnation, reason: reason, logger: self.logger)
        case .restart(let spec, let token, let restartCount):
            SupervisorReport.restarting(id, reason: reason, restartCount: restartCount, kind: "dynamic", logger: self.logger)
            self.onEvent?(.restarting(id: id, reason: reason, restartCount: restartCount))
            group.addTask {
                await self.restartChild(spec, token: token)
            }
        case .giveUp(let restartCount):
            SupervisorReport.gaveUp(id, reason: reason, restartCount: restartCount, logger: self.logger)
            self.onEvent?(.gaveUp(id: id))
        case .escalate(let restartCount):
            SupervisorReport.escalated(id, reason: reason, restartCount: restartCount, logger: self.logger)
            self.onEvent?(.escalated(id: id))
            await self.shutDown(group: &group)
            throw SupervisorError<ID>.intensityExceeded(child: id)
        }
    }

    /// Makes a new instance of a crashed child and runs it, in the child's own task, so that a
    /// slow start does not hold up the loop (OTP's `try_again_restart` covers a failed start).
    private func restartChild(_ spec: ChildSpec<ID>, token: UInt64) async {
        let id = spec.id
        let child: any SupervisedChild
        do {
            child = try await spec.start()
        } catch {
            self.eventContinuation.yield(.restartFailed(id: id, token: token, error: error))
            return
        }
        let handle = self.state.withLock { state -> ChildHandle? in
            guard case .running = state.phase, var entry = state.children[id], entry.token == token,
                case .restarting = entry.status
            else {
                // Terminated or shut down while it was being made: it never runs.
                return nil
            }
            entry.incarnation += 1
            let handle = self.makeHandle(id: id, incarnation: entry.incarnation, child: child, shutdown: spec.shutdown)
            entry.status = .running(handle)
            state.children[id] = entry
            return handle
        }
        guard let handle else {
            return
        }
        self.onEvent?(.childStarted(id: id, incarnation: handle.incarnation))
        await handle.run()
    }

    private func makeHandle(
        id: ID,
        incarnation: Int,
        child: any SupervisedChild,
        shutdown: ShutdownPolicy
    ) -> ChildHandle {
        let onEvent = self.onEvent
        let eventContinuation = self.eventContinuation
        return ChildHandle(incarnation: incarnation, child: child, shutdown: shutdown) { handle, reason in
            onEvent?(.childExited(id: id, incarnation: incarnation, reason: reason))
            eventContinuation.yield(.childExited(id: id, handle: handle, reason: reason))
        }
    }

    /// Stops every child concurrently (OTP's `terminate_dynamic_children/1`), then cancels
    /// restarts still making their child.
    private func shutDown(group: inout Group) async {
        let handles = self.state.withLock { state -> [ChildHandle] in
            state.phase = .stopping
            let handles = state.children.values.compactMap(\.handle)
            state.children.removeAll()
            return handles
        }
        await withDiscardingTaskGroup { stopping in
            for handle in handles {
                stopping.addTask {
                    await handle.terminate()
                }
            }
        }
        group.cancelAll()
    }
}
