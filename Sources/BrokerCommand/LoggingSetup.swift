import Logging

/// The only place that bootstraps logging, on standard error: swift-log's stream handler (`text`) or one JSON
/// object per line (`json`, ``JSONLogHandler``).
enum LoggingSetup {
    static func bootstrap(level: String, format: String) {
        let level = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            if format == "json" {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
