/// A registered user as stored, including the password hash that never leaves the server.
package struct User: Hashable, Sendable {
    /// The user's id.
    package var id: UserID
    /// Given name.
    package var name: String
    /// Family name.
    package var subname: String
    /// The address as the user typed it; uniqueness is checked case-insensitively.
    package var email: String
    /// Job title.
    package var job: String
    /// A bcrypt hash of the generated password; never encoded to the wire.
    package var passwordHash: String
    /// When the user registered.
    package var insertedAt: Timestamp

    /// Creates a stored user value.
    package init(
        id: UserID,
        name: String,
        subname: String,
        email: String,
        job: String,
        passwordHash: String,
        insertedAt: Timestamp
    ) {
        self.id = id
        self.name = name
        self.subname = subname
        self.email = email
        self.job = job
        self.passwordHash = passwordHash
        self.insertedAt = insertedAt
    }
}

/// A registration to store: the validated fields and the hash of the generated password.
package struct NewUser: Sendable {
    /// Given name.
    package var name: String
    /// Family name.
    package var subname: String
    /// Email address, already validated.
    package var email: String
    /// Job title.
    package var job: String
    /// A bcrypt hash of the generated password.
    package var passwordHash: String

    /// Creates a registration.
    package init(name: String, subname: String, email: String, job: String, passwordHash: String) {
        self.name = name
        self.subname = subname
        self.email = email
        self.job = job
        self.passwordHash = passwordHash
    }

    /// The key that makes email addresses unique regardless of case.
    package var emailKey: String { Self.emailKey(email) }

    /// The case-insensitive lookup key of an address.
    package static func emailKey(_ email: String) -> String { email.lowercased() }
}
