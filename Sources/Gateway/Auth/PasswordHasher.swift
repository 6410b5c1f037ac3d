import HummingbirdBcrypt
import NIOPosix

/// Slow salted password hashes (bcrypt from hummingbird-auth), computed on NIO's blocking thread pool so
/// they never stall the cooperative pool or an event loop.
package struct PasswordHasher: Sendable {
    /// The bcrypt cost (log2 rounds); tests lower it.
    package let cost: UInt8
    /// A hash of a random password at the same cost, checked when the email is unknown, so a failed login
    /// takes the same time whether the address exists or not.
    private let decoyHash: String

    /// Creates a hasher; computes its decoy hash once.
    package init(cost: UInt8) async throws {
        self.cost = cost
        let decoy = PasswordGenerator.generate()
        self.decoyHash = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(decoy, cost: cost) }
    }

    /// Hashes a password.
    package func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash`; with no hash (unknown user) it checks the decoy and answers false.
    package func verify(_ password: String, against hash: String?) async throws -> Bool {
        let target = hash ?? decoyHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: target) }
        return matches && hash != nil
    }
}
