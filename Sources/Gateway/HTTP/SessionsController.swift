import Foundation
import Hummingbird
import Store

/// `POST /api/login` and `POST /api/logout`.
struct SessionsController {
    let store: any Store
    let hasher: PasswordHasher
    let tokens: TokenService
    let limiter: AddressRateLimiter
    let configuration: GatewayConfiguration
    /// Called after a logout revoked a token, so live sockets opened with it can be closed.
    let onRevoke: @Sendable (TokenClaims) async -> Void

    func addPublicRoutes(to group: RouterGroup<BrokerRequestContext>) {
        group.post("login", use: login)
    }

    func addProtectedRoutes(to group: RouterGroup<BrokerRequestContext>) {
        group.post("logout", use: logout)
    }

    @Sendable func login(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        if let wait = limiter.admit(context.clientAddressKey) { throw APIError.rateLimited(retryAfter: wait) }
        let body = try await JSONValue.parse(request, limit: configuration.maxBodyBytes)
        let creds = try body.requireObject("creds")
        guard case .string(let email) = creds["email"], case .string(let password) = creds["password"] else {
            throw APIError.badRequest("creds needs string email and password")
        }
        // The same work whether or not the address exists: an unknown address checks a decoy hash. No stored
        // address holds U+0000 (registration refuses it), and PostgreSQL would refuse the lookup.
        let user =
            FieldValidator.holdsNUL(email)
            ? nil : try await store.user(email: email.trimmingCharacters(in: .whitespacesAndNewlines))
        guard try await hasher.verify(password, against: user?.passwordHash), let user else {
            throw APIError.unauthorized("invalid email or password")
        }
        let (token, claims) = try await tokens.issue(for: user)
        var response = try Payloads.response(
            Payloads.DataEnvelope(
                data: Payloads.LoginBody(
                    user: Payloads.UserBody(user),
                    token: token,
                    expire: Int64(claims.exp.value.timeIntervalSince1970)
                )
            )
        )
        response.headers[.authorization] = "Bearer \(token)"
        return response
    }

    @Sendable func logout(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try await tokens.revoke(identity.token, of: identity.user.id)
        await onRevoke(identity.token)
        return Response(status: .noContent)
    }
}
