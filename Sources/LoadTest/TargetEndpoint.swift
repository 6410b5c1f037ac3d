import Foundation
import NIOCore

/// The broker under test: a loopback address and the WebSocket path derived from `--url`.
struct TargetEndpoint: Sendable {
    /// Where sockets connect.
    let address: SocketAddress
    /// The `Host` header of the upgrade request.
    let hostHeader: String
    /// The base URL as given (for reports).
    let baseURL: String

    /// Parses `--url` (`http://HOST:PORT` or `ws://HOST:PORT`, any path ignored) and refuses every host that is not
    /// in 127.0.0.0/8, `localhost` or `::1`.
    init(url text: String) throws {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased() else {
            throw LoadError.refusedAddress("\(text) is not a URL")
        }
        guard scheme == "http" || scheme == "ws" else {
            throw LoadError.refusedAddress("\(text): only http:// and ws:// are supported")
        }
        guard let host = url.host, !host.isEmpty else { throw LoadError.refusedAddress("\(text) has no host") }
        let port = url.port ?? 80
        guard (1...65_535).contains(port) else { throw LoadError.refusedAddress("\(text) has no usable port") }
        guard let address = LoopbackPolicy.resolve(host: host, port: port) else {
            throw LoadError.refusedAddress("\(host) is not a loopback address (127.0.0.0/8, localhost or ::1)")
        }
        self.address = address
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.hostHeader = bare.contains(":") ? "[\(bare)]:\(port)" : "\(bare):\(port)"
        self.baseURL = text
    }

    /// Whether sockets go to `::1` (source addresses are IPv4 only).
    var isIPv6: Bool {
        if case .v6 = address { return true }
        return false
    }

    /// The request target of the upgrade for `token` (Phoenix V2 serializer).
    func socketPath(token: String) -> String {
        "/socket/websocket?token=\(Self.percentEncoded(token))&vsn=2.0.0"
    }

    /// `ws://host:port/socket/websocket`, for reports.
    var webSocketURL: String { "ws://\(hostHeader)/socket/websocket" }

    /// `text` with every byte outside RFC 3986's unreserved set percent-encoded.
    static func percentEncoded(_ text: String) -> String {
        var encoded = ""
        encoded.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                encoded += String(format: "%%%02X", byte)
            }
        }
        return encoded
    }
}
