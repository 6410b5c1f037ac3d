import Hummingbird
import Store

/// Middleware of protected routes: checks `authorization: Bearer <token>` and puts the caller on the context;
/// anything else is a 401.
package struct BearerAuthenticator: RouterMiddleware {
    package typealias Context = BrokerRequestContext
    let tokens: TokenService
    let store: any Store

    /// Creates the middleware.
    package init(tokens: TokenService, store: any Store) {
        self.tokens = tokens
        self.store = store
    }

    package func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("missing bearer token")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw APIError.unauthorized("malformed authorization header")
        }
        var context = context
        context.identity = try await authenticate(token: String(parts[1]))
        return try await next(request, context)
    }

    /// The identity of a token, also used by the WebSocket upgrade.
    /// - Throws: ``APIError/unauthorized(_:)``.
    package func authenticate(token: String) async throws -> Identity {
        let claims = try await tokens.verify(token)
        guard let id = Int64(claims.sub.value), let user = try await store.user(id: UserID(id)) else {
            throw APIError.unauthorized("invalid or expired token")
        }
        return Identity(user: user, token: claims)
    }
}
