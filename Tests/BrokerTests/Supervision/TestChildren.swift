import Broker
import Store
import Synchronization
import Testing

/// Makes test children and injects faults into them, so that supervision tests can crash,
/// end or stall a child on command and read what each incarnation went through.
///
/// Each spec's `start` makes a fresh ``TestChild``; commands go to the newest incarnation of an
/// id. Every start, stop request and end is written to ``journal`` in the order it happened.
final class TestChildren: Sendable {
    /// How a test child answers `stop()`.
    enum StopBehavior: Sendable {
        /// Returns from `run()` at once.
        case exit
        /// Keeps running until cancelled, like a child that ignores `stop()`.
        case ignore
        /// Returns once every party of the barrier has been asked to stop.
        case exitAfter(Barrier)
    }

    /// How an incarnation's `run()` ended.
    enum Ending: Equatable, Sendable {
        /// Returned after `stop()`.
        case stopped
        /// Returned on command, a normal exit.
        case returned
        /// Threw on command, a crash.
        case crashed
        /// Ended by cancellation.
        case cancelled
    }

    /// One line of the journal.
    enum Entry: Equatable, Sendable, CustomStringConvertible {
        /// Incarnation `n` of the child was made.
        case started(String, Int)
        /// `stop()` was called on incarnation `n`.
        case stopRequested(String, Int)
        /// Incarnation `n`'s `run()` ended.
        case ended(String, Int, Ending)

        /// A compact rendering for failure messages.
        var description: String {
            switch self {
            case .started(let id, let n): "started(\(id)#\(n))"
            case .stopRequested(let id, let n): "stopRequested(\(id)#\(n))"
            case .ended(let id, let n, let ending): "ended(\(id)#\(n), \(ending))"
            }
        }
    }

    private struct State {
        var current: [String: TestChild] = [:]
        var starts: [String: Int] = [:]
        var failingStarts: [String: Int] = [:]
        var journal: [Entry] = []
        var running: [String: Barrier] = [:]
    }

    private let state = Locked(State())

    /// Everything the children went through, in order.
    var journal: [Entry] {
        self.state.withLock { $0.journal }
    }

    /// The journal lines of one child, in order.
    func journal(of id: String) -> [Entry] {
        self.journal.filter { entry in
            switch entry {
            case .started(let childID, _), .stopRequested(let childID, _), .ended(let childID, _, _):
                childID == id
            }
        }
    }

    /// Makes a spec whose `start` makes a fresh test child for `id`.
    func spec(
        _ id: String,
        restart: RestartPolicy = .permanent,
        shutdown: ShutdownPolicy = .graceful(timeout: .seconds(20)),
        onStop: StopBehavior = .exit
    ) -> ChildSpec<String> {
        ChildSpec(id: id, restart: restart, shutdown: shutdown) { [self] in
            try self.makeChild(id, onStop: onStop)
        }
    }

    /// Makes the newest incarnation of `id` throw from `run()`.
    func crash(_ id: String) {
        self.send(.crash, to: id)
    }

    /// Makes the newest incarnation of `id` return from `run()` on its own.
    func exitNormally(_ id: String) {
        self.send(.exitNormally, to: id)
    }

    /// Makes the next `count` starts of `id` throw.
    func failStarts(of id: String, count: Int) {
        self.state.withLock { $0.failingStarts[id, default: 0] += count }
    }

    /// Waits until incarnation `incarnation` of each of `ids` has begun its `run()`, so that a
    /// test stops only children that are running (a child stopped before it ran never runs).
    func waitUntilRunning(
        _ ids: String...,
        incarnation: Int = 1,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        for id in ids {
            let isRunning = await self.runningBarrier(id, incarnation: incarnation).wait()
            try #require(isRunning, "\(id)#\(incarnation) never ran", sourceLocation: sourceLocation)
        }
    }

    /// Notes that an incarnation's `run()` has begun; used by the children.
    func markRunning(_ id: String, incarnation: Int) {
        self.runningBarrier(id, incarnation: incarnation).arrive()
    }

    /// Writes a journal line; used by the children.
    func record(_ entry: Entry) {
        self.state.withLock { $0.journal.append(entry) }
    }

    private func runningBarrier(_ id: String, incarnation: Int) -> Barrier {
        self.state.withLock { state in
            let key = "\(id)#\(incarnation)"
            if let barrier = state.running[key] {
                return barrier
            }
            let barrier = Barrier(parties: 1)
            state.running[key] = barrier
            return barrier
        }
    }

    private func send(_ command: TestChild.Command, to id: String) {
        let child = self.state.withLock { $0.current[id] }
        child?.send(command)
    }

    private func makeChild(_ id: String, onStop: StopBehavior) throws -> TestChild {
        try self.state.withLock { state throws(InjectedFault) -> TestChild in
            if let failing = state.failingStarts[id], failing > 0 {
                state.failingStarts[id] = failing - 1
                throw InjectedFault(childID: id)
            }
            let incarnation = state.starts[id, default: 0] + 1
            state.starts[id] = incarnation
            let child = TestChild(id: id, incarnation: incarnation, onStop: onStop, children: self)
            state.current[id] = child
            state.journal.append(.started(id, incarnation))
            return child
        }
    }
}
