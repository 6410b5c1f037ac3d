import Broker
import Testing

/// Collects a supervisor's events and lets a test wait for one, so that tests wait on what
/// happened instead of sleeping.
struct EventRecorder {
    /// How a child exited, without the error, so entries compare with `==`.
    enum ExitKind: Hashable, Sendable {
        /// ``ExitReason/normal``.
        case normal
        /// ``ExitReason/shutdown``.
        case shutdown
        /// ``ExitReason/abnormal(_:)``, whatever the error.
        case abnormal
    }

    /// A ``SupervisorEvent`` reduced to what tests compare.
    enum Entry: Hashable, Sendable, CustomStringConvertible {
        /// ``SupervisorEvent/childStarted(id:incarnation:)``.
        case started(String, Int)
        /// ``SupervisorEvent/childExited(id:incarnation:reason:)``.
        case exited(String, Int, ExitKind)
        /// ``SupervisorEvent/childStartFailed(id:error:)``.
        case startFailed(String)
        /// ``SupervisorEvent/restarting(id:reason:restartCount:)``.
        case restarting(String, count: Int)
        /// ``SupervisorEvent/escalated(id:)``.
        case escalated(String)
        case gaveUp(String)

        /// Reduces `event` to what tests compare.
        init(_ event: SupervisorEvent<String>) {
            switch event {
            case .childStarted(let id, let incarnation):
                self = .started(id, incarnation)
            case .childExited(let id, let incarnation, let reason):
                let kind: ExitKind
                switch reason {
                case .normal: kind = .normal
                case .shutdown: kind = .shutdown
                case .abnormal: kind = .abnormal
                }
                self = .exited(id, incarnation, kind)
            case .childStartFailed(let id, _):
                self = .startFailed(id)
            case .restarting(let id, _, let restartCount):
                self = .restarting(id, count: restartCount)
            case .escalated(let id):
                self = .escalated(id)
            case .gaveUp(let id):
                self = .gaveUp(id)
            }
        }

        /// A compact rendering for failure messages.
        var description: String {
            switch self {
            case .started(let id, let n): "started(\(id)#\(n))"
            case .exited(let id, let n, let kind): "exited(\(id)#\(n), \(kind))"
            case .startFailed(let id): "startFailed(\(id))"
            case .restarting(let id, let count): "restarting(\(id), count: \(count))"
            case .escalated(let id): "escalated(\(id))"
            case .gaveUp(let id): "gaveUp(\(id))"
            }
        }
    }

    /// Pass this to the supervisor as its observer.
    let onEvent: @Sendable (SupervisorEvent<String>) -> Void
    /// Every event consumed so far, in order.
    private(set) var log: [Entry] = []
    private var iterator: AsyncStream<SupervisorEvent<String>>.Iterator
    private let continuation: AsyncStream<SupervisorEvent<String>>.Continuation

    /// Creates a recorder with nothing recorded.
    init() {
        let (stream, continuation) = AsyncStream.makeStream(of: SupervisorEvent<String>.self)
        self.iterator = stream.makeAsyncIterator()
        self.continuation = continuation
        self.onEvent = { continuation.yield($0) }
    }

    /// Waits until `entry` has been observed `occurrence` times, counting earlier ones; fails
    /// the test if the stream ends first (the test was cancelled by its time limit).
    mutating func require(
        _ entry: Entry,
        occurrence: Int = 1,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        var seen = self.log.count { $0 == entry }
        if seen >= occurrence {
            return
        }
        while let event = await self.iterator.next() {
            let next = Entry(event)
            self.log.append(next)
            if next == entry {
                seen += 1
                if seen >= occurrence {
                    return
                }
            }
        }
        try #require(Bool(false), "never observed \(entry); saw \(self.log)", sourceLocation: sourceLocation)
    }

    /// Ends recording after the supervisor has returned, and gives every event it emitted.
    mutating func finish() async -> [Entry] {
        self.continuation.finish()
        while let event = await self.iterator.next() {
            self.log.append(Entry(event))
        }
        return self.log
    }
}
