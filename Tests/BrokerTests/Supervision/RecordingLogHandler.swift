import Logging
import Store
import Synchronization

/// A log handler that keeps every entry, so that a test can check what a supervisor reported.
struct RecordingLogHandler: LogHandler {
    /// One kept entry.
    struct Record: Sendable {
        /// The entry's level.
        var level: Logger.Level
        /// The entry's message.
        var message: String
        /// The handler's metadata merged with the entry's.
        var metadata: Logger.Metadata
    }

    /// Where the entries of every copy of the handler go.
    final class Store: Sendable {
        private let records = Locked<[Record]>([])

        /// Every entry logged so far, in order.
        var all: [Record] {
            self.records.withLock { $0 }
        }

        /// Keeps one entry.
        func append(_ record: Record) {
            self.records.withLock { $0.append(record) }
        }
    }

    /// Where entries go.
    let store: Store
    /// The handler's own metadata.
    var metadata: Logger.Metadata = [:]
    /// Everything is kept.
    var logLevel: Logger.Level = .trace

    /// Reads and writes one metadata value.
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    /// Keeps `event` in the store.
    func log(event: LogEvent) {
        self.store.append(
            Record(
                level: event.level,
                message: event.message.description,
                metadata: self.metadata.merging(event.metadata ?? [:]) { $1 }
            )
        )
    }

    /// A logger that writes into `store`.
    static func logger(into store: Store) -> Logger {
        Logger(label: "supervision-test") { _ in RecordingLogHandler(store: store) }
    }

    /// A logger that drops everything, for tests that do not check logs.
    static var silent: Logger {
        Logger(label: "supervision-test") { _ in SwiftLogNoOpLogHandler() }
    }
}
