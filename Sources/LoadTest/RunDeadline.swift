import Foundation
import Synchronization

/// The run's hard deadline: a watchdog, independent of Swift concurrency and of the event loops, ends the
/// process when it passes, whatever the process is doing; every loop of the run also checks it.
///
/// It starts generous enough for the connect phase (`--connect-timeout`) and is moved to "duration + grace +
/// 60 s from now" once the sockets are open.
final class RunDeadline: Sendable {
    /// Exit status of a process stopped by its deadline.
    static let exitStatus: Int32 = 3

    /// The deadline, monotonic nanoseconds.
    private let instant: Atomic<UInt64>
    /// Names the process in the message printed at the deadline.
    private let label: String

    /// A deadline at `instant` (monotonic nanoseconds), not yet watched.
    init(at instant: UInt64, label: String) {
        self.instant = Atomic(instant)
        self.label = label
    }

    /// The deadline, monotonic nanoseconds.
    var value: UInt64 { instant.load(ordering: .relaxed) }

    /// Whether the deadline has passed.
    var passed: Bool { MonotonicClock.now() >= value }

    /// Moves the deadline to `instant`.
    func move(to instant: UInt64) {
        self.instant.store(instant, ordering: .relaxed)
    }

    /// Starts the watchdog: a thread of its own that looks four times a second and exits the process once the
    /// deadline has passed.
    func arm() {
        let thread = Thread { [self] in
            while !passed { usleep(250_000) }
            FileHandle.standardError.write(Data("\n\(label): hard deadline reached, stopping\n".utf8))
            exit(Self.exitStatus)
        }
        thread.name = "broker-load.deadline"
        thread.start()
    }
}
