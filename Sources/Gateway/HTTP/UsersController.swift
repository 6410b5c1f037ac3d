import Broker
import Hummingbird
import Store

/// `POST /api/users` (registration), `GET /api/users` and `GET /api/users/me`.
struct UsersController {
    let store: any Store
    let hasher: PasswordHasher
    let limiter: AddressRateLimiter
    let configuration: GatewayConfiguration
    /// Told when a welcome mail was written, so that its mailer sends it at once.
    let broker: BrokerRoot

    /// The longest accepted name, subname, email or job.
    static let maxFieldLength = 255

    func addPublicRoutes(to group: RouterGroup<BrokerRequestContext>) {
        group.post("users", use: register)
    }

    func addProtectedRoutes(to group: RouterGroup<BrokerRequestContext>) {
        group.get("users", use: list)
        group.get("users/me", use: me)
    }

    @Sendable func register(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        if let wait = limiter.admit(context.clientAddressKey) { throw APIError.rateLimited(retryAfter: wait) }
        let body = try await JSONValue.parse(request, limit: configuration.maxBodyBytes)
        var fields = FieldValidator(try body.requireObject("user"))
        let name = fields.requiredString("name", maxLength: Self.maxFieldLength)
        let subname = fields.requiredString("subname", maxLength: Self.maxFieldLength)
        let email = fields.requiredString("email", maxLength: Self.maxFieldLength)
        let job = fields.requiredString("job", maxLength: Self.maxFieldLength)
        if let email, !Self.looksLikeEmail(email) {
            fields.add("email", ValidationErrors.Message.format)
        }
        try fields.check()
        guard let name, let subname, let email, let job else { throw APIError.internalError }
        if try await store.user(email: email) != nil {
            throw APIError.validation(ValidationErrors("email", ValidationErrors.Message.taken))
        }
        let password = PasswordGenerator.generate(length: 24)
        let hash = try await hasher.hash(password)
        let user = try await store.createUser(
            NewUser(name: name, subname: subname, email: email, job: job, passwordHash: hash),
            welcomeMail: WelcomeMail.make(to: email, name: name, password: password, from: configuration.mailFrom)
        )
        broker.mailWritten()
        return try Payloads.response(Payloads.UserBody(user, password: password), status: .created)
    }

    @Sendable func list(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        let limit = min(try QueryParameters.positiveInteger("limit", in: request) ?? 50, 200)
        let after = try QueryParameters.idBound("after_id", in: request).map(UserID.init)
        let users = try await store.users(after: after, limit: Int(limit))
        return try Payloads.response(Payloads.DataEnvelope(data: users.map { Payloads.UserBody($0) }))
    }

    @Sendable func me(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        return try Payloads.response(Payloads.DataEnvelope(data: Payloads.UserBody(identity.user)))
    }

    /// `local@domain.tld` with no spaces: one `@`, a non-empty local part, a dotted domain.
    static func looksLikeEmail(_ email: String) -> Bool {
        guard !email.contains(where: \.isWhitespace) else { return false }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty }
    }
}
