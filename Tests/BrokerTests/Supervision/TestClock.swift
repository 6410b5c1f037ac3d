import Store
import Synchronization

/// A clock that moves only when a test advances it, so that time-based logic such as
/// ``RestartIntensity`` is tested without sleeping (Hummingbird's MockClock).
final class TestClock: Clock, Sendable {
    /// An instant of a ``TestClock``: a duration since the clock was made.
    struct Instant: InstantProtocol {
        /// Time since the clock's origin.
        var offset: Duration

        /// The instant `duration` later.
        func advanced(by duration: Duration) -> Self {
            Self(offset: self.offset + duration)
        }

        /// The time from this instant to `other`.
        func duration(to other: Self) -> Duration {
            other.offset - self.offset
        }

        /// Orders instants by their offset.
        static func < (lhs: Self, rhs: Self) -> Bool {
            lhs.offset < rhs.offset
        }
    }

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Int: Sleeper] = [:]
        var nextSleeperID = 0
    }

    private let state = Locked(State())

    /// The current instant, which changes only through ``advance(by:)``.
    var now: Instant {
        self.state.withLock { $0.now }
    }

    /// The clock has no resolution of its own.
    var minimumResolution: Duration {
        .zero
    }

    /// Moves the clock forward and wakes the sleepers whose deadline has passed.
    func advance(by duration: Duration) {
        let due = self.state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let dueIDs = state.sleepers.filter { $0.value.deadline <= now }.map(\.key)
            return dueIDs.compactMap { state.sleepers.removeValue(forKey: $0)?.continuation }
        }
        for continuation in due {
            continuation.resume()
        }
    }

    /// Suspends until the clock has been advanced to `deadline`, or throws on cancellation.
    func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = self.state.withLock { state -> Int in
            defer { state.nextSleeperID += 1 }
            return state.nextSleeperID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Immediate { case resume, cancel }
                let immediate = self.state.withLock { state -> Immediate? in
                    if deadline <= state.now {
                        return .resume
                    }
                    if Task.isCancelled {
                        return .cancel
                    }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                switch immediate {
                case .resume:
                    continuation.resume()
                case .cancel:
                    continuation.resume(throwing: CancellationError())
                case nil:
                    break
                }
            }
        } onCancel: {
            let sleeper = self.state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }
}
