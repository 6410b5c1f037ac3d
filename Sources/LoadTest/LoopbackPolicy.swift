import Foundation
import NIOCore

/// The only addresses this tool talks to or binds: 127.0.0.0/8, `localhost` and `::1`.
enum LoopbackPolicy {
    /// The four octets of a dotted-quad IPv4 address, or `nil` when `text` is not one.
    static func ipv4Octets(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), let value = UInt8(part) else { return nil }
            octets.append(value)
        }
        return octets
    }

    /// The socket address of a loopback host name or literal, or `nil` for anything else.
    static func resolve(host: String, port: Int) -> SocketAddress? {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare.lowercased() == "localhost" {
            return try? SocketAddress(ipAddress: "127.0.0.1", port: port)
        }
        if bare == "::1" || bare == "0:0:0:0:0:0:0:1" {
            return try? SocketAddress(ipAddress: "::1", port: port)
        }
        guard let octets = ipv4Octets(bare), octets[0] == 127 else { return nil }
        return try? SocketAddress(ipAddress: bare, port: port)
    }

    /// Parses `--source-addresses`: a comma-separated list of distinct IPv4 addresses in 127.0.0.0/8.
    static func sourceAddresses(_ list: String) throws -> [SocketAddress] {
        var seen = Set<String>()
        var addresses: [SocketAddress] = []
        for item in list.split(separator: ",") {
            let text = String(item).trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { continue }
            guard let octets = ipv4Octets(text), octets[0] == 127 else {
                throw LoadError.refusedAddress("source address \(text) is not in 127.0.0.0/8")
            }
            guard seen.insert(text).inserted else { continue }
            addresses.append(try SocketAddress(ipAddress: text, port: 0))
        }
        guard !addresses.isEmpty else { throw LoadError.refusedAddress("--source-addresses names no address") }
        guard addresses.count <= 1_024 else { throw LoadError.refusedAddress("more than 1,024 source addresses") }
        return addresses
    }
}
