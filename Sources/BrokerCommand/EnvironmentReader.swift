import Store

/// Reads `BROKER_*` values with the contract's rules (§4): an empty value is unset; integers within a range,
/// positive numbers, booleans `true`/`false`. A value that cannot be used throws a ``ConfigurationError``
/// naming its variable.
struct EnvironmentReader {
    let environment: [String: String]

    /// The value of `key`, or `nil` when unset or empty.
    func string(_ key: String) -> String? {
        guard let value = environment[key], !value.isEmpty else { return nil }
        return value
    }

    /// An integer in `range`, or `fallback` when unset.
    func integer(_ key: String, _ fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let raw = string(key) else { return fallback }
        guard let value = Int(raw), range.contains(value) else {
            throw ConfigurationError(message: "\(key) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// A positive number, or `fallback` when unset.
    func number(_ key: String, _ fallback: Double) throws -> Double {
        guard let raw = string(key) else { return fallback }
        guard let value = Double(raw), value > 0 else {
            throw ConfigurationError(message: "\(key) must be a positive number")
        }
        return value
    }

    /// One of `allowed`, or `fallback` when unset.
    func choice(_ key: String, _ fallback: String, allowed: [String]) throws -> String {
        guard let raw = string(key) else { return fallback }
        guard allowed.contains(raw) else {
            throw ConfigurationError(message: "\(key) must be one of \(allowed.joined(separator: ", "))")
        }
        return raw
    }

    /// `true` or `false`, or `fallback` when unset.
    func boolean(_ key: String, _ fallback: Bool) throws -> Bool {
        switch string(key) {
        case nil: return fallback
        case "true": return true
        case "false": return false
        default: throw ConfigurationError(message: "\(key) must be true or false")
        }
    }
}
