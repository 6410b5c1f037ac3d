import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a socket could not be opened, as a short reason to count failures by.
struct ConnectFailure: Error, Sendable, CustomStringConvertible {
    /// The reason (`http 403`, `connect: Connection refused`, `join: unmatched topic`, `setup timeout`, …).
    let reason: String

    /// A failure with `reason`.
    init(_ reason: String) {
        self.reason = reason
    }

    /// The reason of any error met while opening a socket.
    init(classifying error: any Error) {
        reason = Self.reason(for: error)
    }

    /// A short reason for `error`.
    private static func reason(for error: any Error) -> String {
        switch error {
        case let failure as ConnectFailure:
            failure.reason
        case let error as NIOConnectionError:
            error.connectionErrors.first.map { reason(for: $0.error) } ?? "connect: no address"
        case let error as IOError:
            "connect: \(errnoText(error.errnoCode))"
        case ChannelError.connectTimeout:
            "connect timeout"
        case let error as ChannelError:
            "channel: \(error)"
        case let error as NIOHTTPClientUpgradeError:
            "upgrade: \(error)"
        default:
            String(String(describing: error).prefix(80))
        }
    }

    /// The failure's reason.
    var description: String { reason }

    /// The text of an errno value.
    private static func errnoText(_ code: CInt) -> String {
        switch code {
        case ECONNREFUSED: "Connection refused"
        case ECONNRESET: "Connection reset"
        case EADDRNOTAVAIL: "Address not available"
        case EADDRINUSE: "Address in use"
        case EMFILE, ENFILE: "Too many open files"
        case ETIMEDOUT: "Timed out"
        default: "errno \(code)"
        }
    }
}
