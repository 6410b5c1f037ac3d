import Logging
import ServiceLifecycle
import Synchronization

/// A static supervisor: runs a fixed list of children and restarts them the way OTP's
/// `supervisor` does, so that a crash costs one restart instead of the process.
///
/// It owns one task group; each child runs in a task of it, started in list order. When a
/// child exits, its ``RestartPolicy`` and ``ExitReason`` decide whether it is restarted
/// (OTP's `do_restart/3`), and the ``RestartStrategy`` decides which siblings are restarted
/// with it. Every restart is counted in a ``RestartIntensity`` window; past it the supervisor
/// stops all its children in reverse start order and throws
/// ``SupervisorError/intensityExceeded(child:)``, which its own supervisor sees as a crash.
///
/// It is a ServiceLifecycle `Service`, so it can be a child of the root `ServiceGroup`, and a
/// ``SupervisedChild``, so supervisors nest. On graceful shutdown, or when ``stop()`` is called,
/// it stops its children one at a time in reverse start order, each through `stop()` and then
/// cancellation after its timeout, and `run()` returns normally. Only a supervisor that is not
/// itself supervised listens to graceful shutdown: a nested one waits for its parent's `stop()`,
/// so that the whole tree stops in order.
///
/// ```swift
/// let root = Supervisor(
///     strategy: .restForOne,
///     children: [
///         ChildSpec(id: "directory", restart: .permanent) { try await ConversationDirectory(store: store) },
///         ChildSpec(id: "conversations", restart: .permanent, shutdown: .graceful(timeout: .seconds(30))) {
///             DynamicSupervisor<ConversationID>(logger: logger)
///         },
///     ],
///     logger: logger
/// )
/// let group = ServiceGroup(services: [writer, root, server], logger: logger)
/// try await group.run()
/// ```
///
/// - Important: `run()` may be called once. A parent that restarts a supervisor makes a fresh
///   one in its ``ChildSpec/start``.
package final class Supervisor<ID: Hashable & Sendable>: Service, SupervisedChild {
    private typealias Group = ThrowingDiscardingTaskGroup<any Error>

    private enum Event: Sendable {
        case childExited(id: ID, handle: ChildHandle, reason: ExitReason)
        case retryRestart(id: ID)
        case stop
    }

    private enum Status {
        case notRunning
        case running(ChildHandle)
        case restarting(lastError: any Error)
    }

    private struct Record {
        let spec: ChildSpec<ID>
        var incarnation = 0
        var status = Status.notRunning

        var handle: ChildHandle? {
            if case .running(let handle) = self.status {
                return handle
            }
            return nil
        }
    }

    private struct State {
        /// The children in start order; temporary children leave once they have ended.
        var records: [Record]
        var intensity: RestartIntensity<ContinuousClock>

        func index(of id: ID) -> Int? {
            self.records.firstIndex { $0.spec.id == id }
        }
    }

    private let strategy: RestartStrategy
    private let specs: [ChildSpec<ID>]
    private let maxRestarts: Int
    private let period: Duration
    private let logger: Logger
    private let onEvent: (@Sendable (SupervisorEvent<ID>) -> Void)?
    private let events: AsyncStream<Event>
    private let eventContinuation: AsyncStream<Event>.Continuation
    private let hasRun = Atomic<Bool>(false)
    private let clock = ContinuousClock()

    /// Creates a supervisor for `children`; nothing starts before ``run()``.
    ///
    /// - Parameters:
    ///   - strategy: Which siblings are restarted with a child that must be restarted.
    ///   - maxRestarts: The most restarts allowed within `period` before the supervisor gives
    ///     up; OTP's default is 1.
    ///   - period: The intensity window; OTP's default is five seconds.
    ///   - children: The children, in start order; shutdown runs in the reverse order.
    ///   - logger: Receives a warning for every restart and an error for failed starts and
    ///     escalations.
    ///   - onEvent: Observes every lifecycle event of the children, for tests and metrics. It
    ///     is called synchronously from the supervisor's tasks, so it must return quickly.
    package init(
        strategy: RestartStrategy = .oneForOne,
        maxRestarts: Int = 1,
        period: Duration = .seconds(5),
        children: [ChildSpec<ID>],
        logger: Logger,
        onEvent: (@Sendable (SupervisorEvent<ID>) -> Void)? = nil
    ) {
        self.strategy = strategy
        self.specs = children
        self.maxRestarts = maxRestarts
        self.period = period
        self.logger = logger
        self.onEvent = onEvent
        (self.events, self.eventContinuation) = AsyncStream.makeStream(of: Event.self)
    }

    /// Starts the children in order and supervises them until stopped, so that the supervisor's
    /// lifetime is this call.
    ///
    /// Returns normally after graceful shutdown, ``stop()`` or cancellation, once every child
    /// has ended.
    ///
    /// - Throws: ``SupervisorError/intensityExceeded(child:)`` when restarts exceed the
    ///   intensity, ``SupervisorError/startFailed(child:error:)`` when a child cannot be started
    ///   at first, ``SupervisorError/duplicateChild(child:)`` for two specs with one id, and
    ///   ``SupervisorError/alreadyRunning`` when called twice. In every case all children have
    ///   been stopped.
    package func run() async throws {
        guard self.hasRun.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else {
            throw SupervisorError<ID>.alreadyRunning
        }
        defer { self.eventContinuation.finish() }

        var seen = Set<ID>()
        for spec in self.specs where !seen.insert(spec.id).inserted {
            throw SupervisorError<ID>.duplicateChild(child: spec.id)
        }

        var state = State(
            records: self.specs.map { Record(spec: $0) },
            intensity: RestartIntensity(maxRestarts: self.maxRestarts, period: self.period)
        )
        let listensForShutdown = !SupervisionContext.isSupervised
        let eventContinuation = self.eventContinuation
        try await withThrowingDiscardingTaskGroup { group in
            if listensForShutdown {
                try await withGracefulShutdownHandler {
                    try await self.supervise(&state, in: &group)
                } onGracefulShutdown: {
                    eventContinuation.yield(.stop)
                }
            } else {
                try await self.supervise(&state, in: &group)
            }
        }
    }

    /// Asks the supervisor to stop its children in reverse start order and return from ``run()``.
    ///
    /// Returns at once; ``run()`` returns when the children have ended. A call before ``run()``
    /// makes it stop right after starting its children.
    package func stop() async {
        self.eventContinuation.yield(.stop)
    }

    // MARK: - Supervision loop

    private func supervise(_ state: inout State, in group: inout Group) async throws {
        for index in state.records.indices {
            do {
                try await self.startChild(at: index, in: &state, group: &group)
            } catch {
                let id = state.records[index].spec.id
                SupervisorReport.startFailed(id, error: error, logger: self.logger)
                self.onEvent?(.childStartFailed(id: id, error: error))
                await self.terminateAll(&state)
                throw SupervisorError<ID>.startFailed(child: id, error: error)
            }
        }

        for await event in self.events {
            switch event {
            case .stop:
                await self.terminateAll(&state)
                return

            case .childExited(let id, let handle, let reason):
                guard let index = state.index(of: id), state.records[index].handle === handle else {
                    // A child this loop stopped itself, or a stale incarnation.
                    continue
                }
                state.records[index].status = .notRunning
                let record = state.records[index]
                if record.spec.restart.shouldRestart(after: reason) {
                    try await self.restart(id, after: reason, in: &state, group: &group)
                } else {
                    SupervisorReport.exited(id, incarnation: record.incarnation, reason: reason, logger: self.logger)
                    if record.spec.restart == .temporary {
                        state.records.remove(at: index)
                    }
                }

            case .retryRestart(let id):
                guard let index = state.index(of: id),
                    case .restarting(let lastError) = state.records[index].status
                else {
                    continue
                }
                try await self.restart(id, after: .abnormal(lastError), in: &state, group: &group)
            }
        }

        // The stream ends only when this task is cancelled: the children are being cancelled too.
        await self.terminateAll(&state)
    }

    /// OTP's `restart/2`: count the restart, then restart under the strategy or escalate.
    private func restart(
        _ id: ID,
        after reason: ExitReason,
        in state: inout State,
        group: inout Group
    ) async throws {
        let decision = state.intensity.recordRestart(at: self.clock.now)
        let restartCount = state.intensity.restartsInPeriod
        guard case .restart = decision else {
            SupervisorReport.escalated(id, reason: reason, restartCount: restartCount, logger: self.logger)
            self.onEvent?(.escalated(id: id))
            await self.terminateAll(&state)
            throw SupervisorError<ID>.intensityExceeded(child: id)
        }
        SupervisorReport.restarting(id, reason: reason, restartCount: restartCount, kind: "\(id)", logger: self.logger)
        self.onEvent?(.restarting(id: id, reason: reason, restartCount: restartCount))

        guard let index = state.index(of: id) else {
            return
        }
        let affected: Range<Int>
        switch self.strategy {
        case .oneForOne:
            affected = index..<(index + 1)
        case .oneForAll:
            affected = state.records.startIndex..<state.records.endIndex
        case .restForOne:
            affected = index..<state.records.endIndex
        }
        let ids = state.records[affected].map(\.spec.id)
        await self.terminate(ids.reversed(), in: &state)

        for childID in ids {
            guard let childIndex = state.index(of: childID) else {
                // A temporary sibling that was stopped is not started again.
                continue
            }
            do {
                try await self.startChild(at: childIndex, in: &state, group: &group)
            } catch {
                // OTP's try_again_restart: leave the loop free to serve a stop, retry next turn.
                // Siblings after this one stay stopped; the retry restarts them too.
                SupervisorReport.startFailed(childID, error: error, logger: self.logger)
                self.onEvent?(.childStartFailed(id: childID, error: error))
                state.records[childIndex].status = .restarting(lastError: error)
                self.eventContinuation.yield(.retryRestart(id: childID))
                return
            }
        }
    }

    private func startChild(at index: Int, in state: inout State, group: inout Group) async throws {
        let spec = state.records[index].spec
        let child = try await spec.start()
        let incarnation = state.records[index].incarnation + 1
        let eventContinuation = self.eventContinuation
        let onEvent = self.onEvent
        let id = spec.id
        let handle = ChildHandle(incarnation: incarnation, child: child, shutdown: spec.shutdown) { handle, reason in
            onEvent?(.childExited(id: id, incarnation: incarnation, reason: reason))
            eventContinuation.yield(.childExited(id: id, handle: handle, reason: reason))
        }
        state.records[index].incarnation = incarnation
        state.records[index].status = .running(handle)
        onEvent?(.childStarted(id: id, incarnation: incarnation))
        group.addTask {
            await handle.run()
        }
    }

    /// Stops the running children among `ids`, one at a time in the given order; stopped
    /// temporary children leave the list (OTP's `terminate_children/2`).
    private func terminate(_ ids: some Sequence<ID>, in state: inout State) async {
        for id in ids {
            guard let index = state.index(of: id) else {
                continue
            }
            if let handle = state.records[index].handle {
                await handle.terminate()
            }
            if state.records[index].spec.restart == .temporary {
                state.records.remove(at: index)
            } else {
                state.records[index].status = .notRunning
            }
        }
    }

    private func terminateAll(_ state: inout State) async {
        await self.terminate(state.records.map(\.spec.id).reversed(), in: &state)
    }
}
