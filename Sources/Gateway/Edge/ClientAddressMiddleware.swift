import HTTPTypes
import Hummingbird

/// Sets each request's client address (``BrokerRequestContext/clientAddress``): the socket peer, or for a peer
/// in ``TrustedProxies`` the address its forwarding headers name.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = BrokerRequestContext

    let proxies: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !proxies.isEmpty else { return try await next(request, context) }
        var context = context
        context.clientAddress = proxies.clientAddress(
            peer: context.remoteAddress?.ipAddress,
            forwardedFor: request.headers[values: .xForwardedFor],
            forwarded: request.headers[values: .forwarded]
        )
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    /// `X-Forwarded-For`.
    static let xForwardedFor = Self("X-Forwarded-For")!
    /// `Forwarded` (RFC 7239).
    static let forwarded = Self("Forwarded")!
}
