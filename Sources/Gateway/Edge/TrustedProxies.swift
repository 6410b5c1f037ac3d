import Foundation
import NIOCore

/// `BROKER_TRUSTED_PROXIES`: the peers whose `X-Forwarded-For` or `Forwarded` header names the client.
///
/// For a request from a trusted peer, the client is the rightmost address of the forwarding chain that is not
/// itself a trusted proxy (each proxy appends the address it saw, so everything left of the first untrusted
/// hop may be forged). `X-Forwarded-For` is read when present, else the `for=` parameters of `Forwarded`
/// (RFC 7239). A request from any other peer is its socket peer, whatever its headers say.
///
/// Hand-written: neither Hummingbird nor NIO parses forwarding headers or CIDR lists.
package struct TrustedProxies: Sendable, Equatable {
    /// One network: an address and a prefix length, both as 16 bytes (IPv4 is held as `::ffff:a.b.c.d`).
    struct Network: Sendable, Equatable {
        let address: [UInt8]
        let prefixLength: Int

        func contains(_ candidate: [UInt8]) -> Bool {
            var remaining = prefixLength
            for index in 0..<16 where remaining > 0 {
                let bits = min(remaining, 8)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if address[index] & mask != candidate[index] & mask { return false }
                remaining -= bits
            }
            return true
        }
    }

    let networks: [Network]

    /// No trusted proxy: every request's client is its socket peer.
    package static let none = TrustedProxies(networks: [])

    private init(networks: [Network]) { self.networks = networks }

    /// Parses a comma-separated list of CIDRs (`10.0.0.0/8, ::1/128`); a bare address is a single host.
    /// - Throws: ``TrustedProxiesError`` naming the entry that is not a CIDR.
    package init(parsing list: String) throws(TrustedProxiesError) {
        var networks: [Network] = []
        for entry in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            let parts = entry.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let (bytes, isIPv4) = Self.parseAddress(String(parts[0])) else {
                throw TrustedProxiesError(entry: entry)
            }
            let width = isIPv4 ? 32 : 128
            var prefix = width
            if parts.count == 2 {
                guard let value = Int(parts[1]), (0...width).contains(value) else { throw TrustedProxiesError(entry: entry) }
                prefix = value
            }
            networks.append(Network(address: bytes, prefixLength: isIPv4 ? 96 + prefix : prefix))
        }
        self.networks = networks
    }

    /// Whether no proxy is trusted.
    package var isEmpty: Bool { networks.isEmpty }

    /// Whether `address` (textual IPv4 or IPv6) lies in a trusted network.
    package func trusts(_ address: String) -> Bool {
        guard !networks.isEmpty, let (bytes, _) = Self.parseAddress(address) else { return false }
        return networks.contains { $0.contains(bytes) }
    }

    /// The client address of a request from `peer` carrying these header values (every line of each header).
    package func clientAddress(peer: String?, forwardedFor: [String], forwarded: [String]) -> String? {
        guard let peer, trusts(peer) else { return peer }
        var chain = forwardedFor.flatMap { $0.split(separator: ",") }.map { Self.stripPort(String($0)) }
        if chain.isEmpty { chain = forwarded.flatMap(Self.forwardedForValues) }
        chain = chain.filter { !$0.isEmpty }
        guard !chain.isEmpty else { return peer }
        for hop in chain.reversed() where !trusts(hop) {
            return String(hop.prefix(64))  // a trusted proxy wrote it; bounded, since it becomes a map key
        }
        return String(chain[0].prefix(64))  // every hop is a trusted proxy: the first one seen
    }

    /// The `for=` values of one `Forwarded` header line, left to right.
    static func forwardedForValues(_ line: String) -> [String] {
        line.split(separator: ",").compactMap { element in
            for pair in element.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "for" else { continue }
                var value = parts[1].trimmingCharacters(in: .whitespaces)
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                return stripPort(value)
            }
            return nil
        }
    }

    /// `1.2.3.4:80` → `1.2.3.4`, `[::1]:80` → `::1`, `[::1]` → `::1`; anything else trimmed as is.
    static func stripPort(_ raw: String) -> String {
        let value = raw.trimmingCharacters(in: .whitespaces)
        if value.hasPrefix("["), let close = value.firstIndex(of: "]") {
            return String(value[value.index(after: value.startIndex)..<close])
        }
        if value.filter({ $0 == ":" }).count == 1, let colon = value.firstIndex(of: ":") {
            return String(value[..<colon])
        }
        return value
    }

    /// 16 bytes for an IPv4 (mapped) or IPv6 address in text, with whether it was IPv4.
    static func parseAddress(_ text: String) -> ([UInt8], Bool)? {
        if let address = try? SocketAddress(ipAddress: text, port: 0) {
            switch address {
            case .v4(let v4):
                let raw = UInt32(bigEndian: v4.address.sin_addr.s_addr)
                let bytes: [UInt8] = [
                    UInt8(raw >> 24), UInt8(truncatingIfNeeded: raw >> 16), UInt8(truncatingIfNeeded: raw >> 8), UInt8(truncatingIfNeeded: raw),
                ]
                return ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] + bytes, true)
            case .v6(let v6):
                var bytes = [UInt8](repeating: 0, count: 16)
                withUnsafeBytes(of: v6.address.sin6_addr) { raw in
                    for index in 0..<16 { bytes[index] = raw[index] }
                }
                return (bytes, false)
            case .unixDomainSocket:
                return nil
            }
        }
        return nil
    }
}

/// A `BROKER_TRUSTED_PROXIES` entry that is not an address or CIDR.
package struct TrustedProxiesError: Error, Sendable {
    /// The entry.
    package let entry: String
}
