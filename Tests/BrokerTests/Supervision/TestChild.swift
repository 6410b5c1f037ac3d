import Broker

/// One incarnation of a test child: runs until a test command, a stop request or cancellation
/// ends it, and writes how it ended to its ``TestChildren`` journal.
final class TestChild: SupervisedChild {
    /// What a test or the supervisor tells the child.
    enum Command: Sendable {
        /// Throw ``InjectedFault`` from `run()`.
        case crash
        /// Return from `run()`.
        case exitNormally
        /// The supervisor's stop request, answered under the child's stop behavior.
        case stop
    }

    private let id: String
    private let incarnation: Int
    private let onStop: TestChildren.StopBehavior
    private let children: TestChildren
    private let commands: AsyncStream<Command>
    private let commandContinuation: AsyncStream<Command>.Continuation

    /// Creates incarnation `incarnation` of `id`, reporting to `children`.
    init(id: String, incarnation: Int, onStop: TestChildren.StopBehavior, children: TestChildren) {
        self.id = id
        self.incarnation = incarnation
        self.onStop = onStop
        self.children = children
        (self.commands, self.commandContinuation) = AsyncStream.makeStream(of: Command.self)
    }

    /// Hands a command to the running child.
    func send(_ command: Command) {
        self.commandContinuation.yield(command)
    }

    /// Runs until a command, a stop request or cancellation ends it.
    func run() async throws {
        self.children.markRunning(self.id, incarnation: self.incarnation)
        for await command in self.commands {
            switch command {
            case .crash:
                self.record(.crashed)
                throw InjectedFault(childID: self.id)
            case .exitNormally:
                self.record(.returned)
                return
            case .stop:
                switch self.onStop {
                case .exit:
                    self.record(.stopped)
                    return
                case .ignore:
                    continue
                case .exitAfter(let barrier):
                    if await barrier.wait() {
                        self.record(.stopped)
                        return
                    }
                }
            }
        }
        // The command stream ends only when this task is cancelled.
        self.record(.cancelled)
        throw CancellationError()
    }

    /// Notes the stop request and hands it to `run()`.
    func stop() async {
        self.children.record(.stopRequested(self.id, self.incarnation))
        if case .exitAfter(let barrier) = self.onStop {
            barrier.arrive()
        }
        self.send(.stop)
    }

    private func record(_ ending: TestChildren.Ending) {
        self.children.record(.ended(self.id, self.incarnation, ending))
    }
}
