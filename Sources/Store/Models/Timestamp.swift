import Foundation

/// A point in time with microsecond precision, as the store keeps it (integer microseconds since 1970, UTC).
package struct Timestamp: Hashable, Comparable, Sendable {
    /// Microseconds since 1970-01-01T00:00:00Z.
    package var microseconds: Int64

    /// Wraps a count of microseconds since the Unix epoch.
    package init(microseconds: Int64) { self.microseconds = microseconds }

    /// The timestamp of a `Date`, truncated to microseconds.
    package init(_ date: Date) {
        self.microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
    }

    /// The current time.
    package static func now() -> Timestamp { Timestamp(Date()) }

    /// The same instant as a `Date`.
    package var date: Date { Date(timeIntervalSince1970: Double(microseconds) / 1_000_000) }

    /// Whole seconds since the Unix epoch.
    package var unixSeconds: Int64 { microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000 }

    /// RFC 3339 in UTC with exactly six fractional digits, the contract's time format:
    /// `2026-11-25T14:00:00.123456Z`.
    package var rfc3339: String {
        let seconds = unixSeconds
        let micros = microseconds - seconds * 1_000_000
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let fraction = String(micros)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + String(repeating: "0", count: 6 - fraction.count) + fraction + "Z"
    }

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.microseconds < rhs.microseconds }
}
