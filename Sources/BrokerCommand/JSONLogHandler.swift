import Foundation
import Gateway
import Logging
import NIOCore

/// A swift-log handler writing one JSON object per line to standard error (`BROKER_LOG_FORMAT=json`), for log
/// shippers that parse JSON: `ts`, `level`, `logger`, `msg`, then the metadata's keys. Hand-written: no JSON
/// log handler is among the packages this project may use, and the object is small.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    // swift-log's own stream handler takes the same lock-free path: one write(2) per line, which the kernel
    // does not interleave with other lines of up to a pipe's buffer.
    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var line = ByteBuffer()
        line.reserveCapacity(256)
        line.writeString(#"{"ts":"#)
        JSONWriter.writeString(Self.timestamp(), into: &line)
        line.writeString(#","level":"#)
        JSONWriter.writeString(event.level.rawValue, into: &line)
        line.writeString(#","logger":"#)
        JSONWriter.writeString(label, into: &line)
        line.writeString(#","msg":"#)
        JSONWriter.writeString(event.message.description, into: &line)
        for key in merged.keys.sorted() where !Self.reserved.contains(key) {
            line.writeString(",")
            JSONWriter.writeString(key, into: &line)
            line.writeString(":")
            Self.write(merged[key]!, into: &line)
        }
        line.writeString("}\n")
        line.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Foundation.write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    /// Keys of the line itself, which metadata may not overwrite.
    private static let reserved: Set<String> = ["ts", "level", "logger", "msg"]

    private static func write(_ value: Logger.Metadata.Value, into line: inout ByteBuffer) {
        switch value {
        case .string(let string): JSONWriter.writeString(string, into: &line)
        case .stringConvertible(let convertible): JSONWriter.writeString(convertible.description, into: &line)
        case .array(let values):
            line.writeString("[")
            for (index, element) in values.enumerated() {
                if index > 0 { line.writeString(",") }
                write(element, into: &line)
            }
            line.writeString("]")
        case .dictionary(let dictionary):
            line.writeString("{")
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { line.writeString(",") }
                JSONWriter.writeString(key, into: &line)
                line.writeString(":")
                write(dictionary[key]!, into: &line)
            }
            line.writeString("}")
        }
    }

    /// Now in RFC 3339 with milliseconds, UTC.
    private static func timestamp() -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        var seconds = time_t(time.tv_sec)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int(time.tv_nsec) / 1_000_000
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            Int(parts.tm_year) + 1900,
            Int(parts.tm_mon) + 1,
            Int(parts.tm_mday),
            Int(parts.tm_hour),
            Int(parts.tm_min),
            Int(parts.tm_sec),
            millis
        )
    }
}
