import Foundation

/// `BROKER_ALLOWED_ORIGINS`: the browser origins that may open a socket, like Phoenix's `check_origin`.
///
/// Each entry is an origin (`https://chat.example.com`), optionally without scheme (`//chat.example.com`),
/// port (`https://example.com` then matches any port, as in Phoenix) or with a leading wildcard label
/// (`//*.example.com` matches every subdomain, not the bare domain). Empty allows every origin. An upgrade
/// without an `Origin` header (a native client) is always allowed; a browser always sends one.
package struct AllowedOrigins: Sendable, Equatable {
    struct Pattern: Sendable, Equatable {
        let scheme: String?
        let host: String
        let wildcard: Bool
        let port: Int?
    }

    let patterns: [Pattern]

    /// Every origin is allowed.
    package static let any = AllowedOrigins(patterns: [])

    private init(patterns: [Pattern]) { self.patterns = patterns }

    /// Parses a comma-separated list.
    /// - Throws: ``AllowedOriginsError`` naming an entry with no host.
    package init(parsing list: String) throws(AllowedOriginsError) {
        var patterns: [Pattern] = []
        for entry in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            guard let origin = Self.parse(entry), !origin.host.isEmpty else { throw AllowedOriginsError(entry: entry) }
            let wildcard = origin.host.hasPrefix("*.")
            patterns.append(
                Pattern(scheme: origin.scheme, host: wildcard ? String(origin.host.dropFirst(1)) : origin.host, wildcard: wildcard, port: origin.port)
            )
        }
        self.patterns = patterns
    }

    /// Whether every origin is allowed.
    package var allowsAll: Bool { patterns.isEmpty }

    /// Whether an upgrade with this `Origin` header (nil when absent) may proceed.
    package func allows(_ origin: String?) -> Bool {
        guard !patterns.isEmpty, let origin else { return true }
        guard let parsed = Self.parse(origin), let scheme = parsed.scheme, !parsed.host.isEmpty else { return false }
        return patterns.contains { pattern in
            if let wanted = pattern.scheme, wanted != scheme { return false }
            if pattern.wildcard {
                guard parsed.host.hasSuffix(pattern.host) else { return false }  // pattern.host is ".example.com"
            } else if parsed.host != pattern.host {
                return false
            }
            if let port = pattern.port, port != (parsed.port ?? Self.defaultPort(scheme)) { return false }
            return true
        }
    }

    static func defaultPort(_ scheme: String) -> Int? {
        switch scheme {
        case "http", "ws": 80
        case "https", "wss": 443
        default: nil
        }
    }

    /// `scheme://host:port` (scheme optional as `//host`), lowercased, without path; nil when malformed.
    static func parse(_ text: String) -> (scheme: String?, host: String, port: Int?)? {
        var rest = Substring(text.lowercased())
        var scheme: String?
        if let range = rest.range(of: "://") {
            scheme = String(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        } else if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
        }
        if let slash = rest.firstIndex(of: "/") {
            guard rest[slash...].allSatisfy({ $0 == "/" }) else { return nil }  // an origin has no path
            rest = rest[..<slash]
        }
        var port: Int?
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let value = Int(rest[rest.index(after: colon)...]), (0...65_535).contains(value) else { return nil }
            port = value
            rest = rest[..<colon]
        }
        guard !rest.contains(where: { $0 == " " || $0 == "@" }) else { return nil }
        return (scheme, String(rest), port)
    }
}

/// A `BROKER_ALLOWED_ORIGINS` entry that is not an origin.
package struct AllowedOriginsError: Error, Sendable {
    /// The entry.
    package let entry: String
}
