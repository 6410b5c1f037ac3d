import Foundation
import GRDB
import NIOConcurrencyHelpers

/// Copies the write-ahead log into the database file on a connection and thread of its own, so that the
/// writer never stalls on a checkpoint, and keeps the log from growing without end.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses the WAL's page limit, with `synchronous =
/// FULL` an fsync of the whole database file: one commit in thousands took 0.25–0.5 s on this project's VM, and
/// every send waited behind it (it alone set the p99). The writer's connection has the automatic checkpoint
/// turned off (``SQLiteStore``); this runs a passive checkpoint every ``interval``, which copies what it can
/// while the writer goes on appending to the log.
///
/// A passive checkpoint never lets the log start again from its beginning under steady traffic: SQLite rewinds
/// the log only when every frame has been copied and no reader still uses one, and with commits every few
/// milliseconds and reads (socket opens, recoveries) in between, that moment never comes. The soak found the log
/// at 3.5 GB after six minutes at 1,000 messages a second, its index (`-shm`) growing in the broker's memory
/// and every read slowing down. So once the log holds ``restartFrames`` frames, one `RESTART` checkpoint waits
/// (at most ``restartWait``, holding off the writer meanwhile) until the readers are done with the log, which
/// the next commit then rewinds; the writer's `journal_size_limit` truncates the file back to
/// ``SQLiteStore/journalSizeLimit``. The passive checkpoint just before has copied nearly every frame, so the
/// writer waits for the last few and an fsync, once every few seconds at most.
///
/// The store starts it in `run()` and stops it when the writer has stopped. Hand-written: GRDB offers the
/// checkpoint call, not a schedule for it.
final class SQLiteCheckpointer: Sendable {
    /// How often the log is copied.
    static let interval = 0.1
    /// The log's length, in frames (pages of 4 KiB), past which it is rewound: 64 MiB by default.
    let restartFrames: Int
    /// The longest a rewind waits for readers (and holds off the writer) before it gives up until the next tick.
    static let restartWait = 0.25
    private let queue: DatabaseQueue
    /// `true` once asked to stop.
    private let stopped = ConditionLock(value: false)
    /// Rewinds of the log done so far, for tests.
    private let restartCount = NIOLockedValueBox(0)

    /// A checkpointer of the database file at `path` (already in WAL mode) that rewinds the log past
    /// `restartFrames` frames.
    init(path: String, restartFrames: Int = 16_384) throws {
        var configuration = Configuration()
        configuration.label = "checkpointer"
        // How long a RESTART checkpoint may wait for the writer's lock and for readers to leave the log.
        configuration.busyMode = .timeout(Self.restartWait)
        self.restartFrames = restartFrames
        queue = try DatabaseQueue(path: path, configuration: configuration)
    }

    /// How many times the log was rewound.
    var restarts: Int { restartCount.withLockedValue { $0 } }

    /// Starts the checkpointer's thread.
    func start() {
        let thread = Thread { [self] in
            Thread.current.name = "checkpointer"
            while !stopped.lock(whenValue: true, timeoutSeconds: Self.interval) {
                checkpoint()
            }
            stopped.unlock()
        }
        thread.start()
    }

    /// One tick: a passive checkpoint, then a rewind if the log is long. A failed checkpoint (the database is
    /// busy or closing) is retried on the next tick.
    private func checkpoint() {
        try? queue.writeWithoutTransaction { db in
            let (frames, _) = try db.checkpoint(.passive)
            guard frames >= restartFrames else { return }
            _ = try db.checkpoint(.restart)
            restartCount.withLockedValue { $0 += 1 }
        }
    }

    /// Ends the thread after its current checkpoint.
    func stop() {
        stopped.lock()
        stopped.unlock(withValue: true)
    }
}
