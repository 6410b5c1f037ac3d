import Foundation
import JWTKit

/// The claims of the broker's JWTs (HS256): who (`sub`, the user id), until when (`exp`), since when (`iat`),
/// and which token (`jti`, the key of revocation).
package struct TokenClaims: JWTPayload, Sendable {
    /// The user id, as a decimal string.
    package var sub: SubjectClaim
    /// Expiry.
    package var exp: ExpirationClaim
    /// Issue time.
    package var iat: IssuedAtClaim
    /// Unique token id.
    package var jti: IDClaim

    /// Creates claims.
    package init(sub: String, exp: Date, iat: Date, jti: String) {
        self.sub = SubjectClaim(value: sub)
        self.exp = ExpirationClaim(value: exp)
        self.iat = IssuedAtClaim(value: iat)
        self.jti = IDClaim(value: jti)
    }

    package func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}
