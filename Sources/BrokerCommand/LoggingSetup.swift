import Logging

/// The only place that bootstraps logging: swift-log's stream handler on standard error.
enum LoggingSetup {
    static func bootstrap(level: String) {
        let level = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
