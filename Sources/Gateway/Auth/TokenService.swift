import Foundation
import JWTKit
import Store

/// Issues, verifies and revokes the broker's JWTs (HS256 over the configured secret).
///
/// A token is valid while its signature checks, it has not expired and its `jti` is not in the store's
/// revocation list. Revocation lasts until the token would have expired.
package struct TokenService: Sendable {
    private let keys: JWTKeyCollection
    private let store: any Store
    /// How long an issued token lives.
    package let timeToLive: Duration

    /// Creates the service around a secret of at least 32 bytes.
    /// - Throws: ``ConfigurationError`` for a shorter secret (JWTKit asserts on short HMAC keys).
    package init(secret: String, timeToLive: Duration, store: any Store) async throws {
        guard secret.utf8.count >= 32 else {
            throw ConfigurationError(message: "BROKER_JWT_SECRET must be at least 32 bytes")
        }
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.keys = keys
        self.store = store
        self.timeToLive = timeToLive
    }

    /// Signs a new token for the user.
    package func issue(for user: User) async throws -> (token: String, claims: TokenClaims) {
        // Whole seconds: NumericDate claims are conventionally integers, and `expire` is unix seconds.
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let seconds = Double(timeToLive.components.seconds)
        let claims = TokenClaims(
            sub: user.id.description,
            exp: now.addingTimeInterval(seconds),
            iat: now,
            jti: UUID().uuidString
        )
        return (try await keys.sign(claims), claims)
    }

    /// The claims of a valid token.
    /// - Throws: ``APIError/unauthorized(_:)`` when the token is malformed, tampered with, expired or revoked.
    package func verify(_ token: String) async throws -> TokenClaims {
        let claims: TokenClaims
        do {
            claims = try await keys.verify(token, as: TokenClaims.self)
        } catch {
            throw APIError.unauthorized("invalid or expired token")
        }
        guard Int64(claims.sub.value) != nil else { throw APIError.unauthorized("invalid or expired token") }
        if try await store.isTokenRevoked(id: claims.jti.value) {
            throw APIError.unauthorized("invalid or expired token")
        }
        return claims
    }

    /// Revokes the token with these claims until it would have expired.
    package func revoke(_ claims: TokenClaims, of user: UserID) async throws {
        try await store.revokeToken(id: claims.jti.value, userID: user, expiresAt: Timestamp(claims.exp.value))
    }
}
