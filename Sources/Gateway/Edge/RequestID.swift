import HTTPTypes

/// `x-request-id`: taken from a trusted proxy's request when it is a sane token, generated otherwise, echoed in
/// the response and carried by every log line of the request.
package enum RequestID {
    /// The header.
    static let field = HTTPField.Name("x-request-id")!

    /// The id for a request: the proxy's (`forwarded`, from a trusted peer only) when it is 1–128 visible ASCII
    /// characters, else a new one.
    static func resolve(forwarded: String?, fromTrustedPeer trusted: Bool) -> String {
        if trusted, let forwarded, isSane(forwarded) { return forwarded }
        return generate()
    }

    /// 128 random bits as 32 hex digits.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Short and printable: anything else could forge log lines or bloat them.
    static func isSane(_ value: String) -> Bool {
        (1...128).contains(value.utf8.count) && value.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}
