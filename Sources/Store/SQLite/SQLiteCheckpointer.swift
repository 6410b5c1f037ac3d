import Foundation
import GRDB
import NIOConcurrencyHelpers

/// Copies the write-ahead log into the database file on a connection and thread of its own, so that the
/// writer never stalls on a checkpoint.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses the WAL's page limit, with `synchronous =
/// FULL` an fsync of the whole database file: one commit in thousands took 0.25–0.5 s on this project's VM, and
/// every send waited behind it (it alone set the p99). The writer's connection has the automatic checkpoint
/// turned off (``SQLiteStore``); this runs a passive checkpoint every ``interval``, which copies what it can
/// while the writer goes on appending to the log.
///
/// The store starts it in `run()` and stops it when the writer has stopped. Hand-written: GRDB offers the
/// checkpoint call, not a schedule for it.
final class SQLiteCheckpointer: Sendable {
    /// How often the log is copied.
    static let interval = 0.1
    private let queue: DatabaseQueue
    /// `true` once asked to stop.
    private let stopped = ConditionLock(value: false)

    /// A checkpointer of the database file at `path` (already in WAL mode).
    init(path: String) throws {
        var configuration = Configuration()
        configuration.label = "checkpointer"
        queue = try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Starts the checkpointer's thread.
    func start() {
        let thread = Thread { [self] in
            Thread.current.name = "checkpointer"
            while !stopped.lock(whenValue: true, timeoutSeconds: Self.interval) {
                // A failed passive checkpoint (the database is busy or closing) is retried on the next tick.
                try? queue.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
            }
            stopped.unlock()
        }
        thread.start()
    }

    /// Ends the thread after its current checkpoint.
    func stop() {
        stopped.lock()
        stopped.unlock(withValue: true)
    }
}
