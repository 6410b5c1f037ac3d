import Store

/// Who made a request: the user a valid token names, and that token's claims.
package struct Identity: Sendable {
    /// The signed-in user.
    package var user: User
    /// The token it signed in with.
    package var token: TokenClaims
}
