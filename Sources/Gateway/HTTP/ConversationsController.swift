import Broker
import Hummingbird
import Store

/// `POST /api/conversations` (get-or-create for the unordered pair), `GET /api/conversations`, and a
/// conversation's messages: `POST` and `GET /api/conversations/:id/messages`.
struct ConversationsController {
    let store: any Store
    let broker: BrokerRoot
    let configuration: GatewayConfiguration

    /// The longest accepted `client_id`.
    static let maxClientIDLength = 255

    func addProtectedRoutes(to group: RouterGroup<BrokerRequestContext>) {
        group.post("conversations", use: create)
        group.get("conversations", use: list)
        group.post("conversations/:id/messages", use: send)
        group.get("conversations/:id/messages", use: history)
    }

    @Sendable func create(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let caller = try context.requireIdentity().user
        let body = try await JSONValue.parse(request, limit: configuration.maxBodyBytes)
        var fields = FieldValidator(try body.requireObject("conversation"))
        let reference = fields.requiredReference("recipient_id")
        try fields.check()
        guard let reference else { throw APIError.internalError }
        let recipient = reference.map(UserID.init)
        guard recipient != caller.id else {
            throw APIError.validation(ValidationErrors("recipient_id", ValidationErrors.Message.yourself))
        }
        guard let recipient, try await store.user(id: recipient) != nil else {
            throw APIError.validation(ValidationErrors("recipient_id", ValidationErrors.Message.doesNotExist))
        }
        let (conversation, created) = try await store.conversation(between: caller.id, and: recipient)
        return try Payloads.response(
            Payloads.DataEnvelope(data: Payloads.ConversationBody(conversation, viewer: caller.id)),
            status: created ? .created : .ok
        )
    }

    @Sendable func list(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let caller = try context.requireIdentity().user
        let conversations = try await store.conversations(of: caller.id)
        return try Payloads.response(
            Payloads.DataEnvelope(data: conversations.map { Payloads.ConversationBody($0, viewer: caller.id) })
        )
    }

    @Sendable func send(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let caller = try context.requireIdentity().user
        let conversation = try await participantConversation(context: context, caller: caller.id)
        let body = try await JSONValue.parse(request, limit: configuration.maxBodyBytes)
        var fields = FieldValidator(try body.requireObject("message"))
        let content = fields.requiredContent("content", maxLength: configuration.maxMessageLength)
        let clientID = fields.optionalString("client_id", maxLength: Self.maxClientIDLength)
        try fields.check()
        guard let content else { throw APIError.internalError }
        let request = SendRequest(sender: caller.id, recipient: nil, content: content, clientID: clientID, socket: nil)
        let stored: StoredMessage
        do {
            stored = try await broker.send(request, in: conversation.id)
        } catch BrokerError.notParticipant {
            throw APIError.forbidden("not a participant")
        } catch {
            throw APIError.unavailable("unavailable; retry with the same client_id")
        }
        switch stored {
        case .created(let message):
            return try Payloads.response(Payloads.DataEnvelope(data: Payloads.MessageBody(message)), status: .created)
        case .existing(let message):
            return try Payloads.response(Payloads.DataEnvelope(data: Payloads.MessageBody(message)), status: .ok)
        }
    }

    @Sendable func history(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let caller = try context.requireIdentity().user
        let conversation = try await participantConversation(context: context, caller: caller.id)
        let limit = Int(min(try QueryParameters.positiveInteger("limit", in: request) ?? 50, 200))
        let before = try QueryParameters.idBound("before_id", in: request)
        let after = try QueryParameters.idBound("after_id", in: request)
        let page: HistoryPage
        switch (before, after) {
        case (.some, .some): throw APIError.badRequest("give before_id or after_id, not both")
        case (.some(let id), .none): page = .before(MessageID(id), limit: limit)
        case (.none, .some(let id)): page = .after(MessageID(id), limit: limit)
        case (.none, .none): page = .newest(limit: limit)
        }
        let (messages, hasMore) = try await store.messages(in: conversation.id, page: page)
        return try Payloads.response(Payloads.MessagePage(data: messages.map(Payloads.MessageBody.init), hasMore: hasMore))
    }

    /// The conversation named by `:id` if the caller takes part in it.
    /// - Throws: 404 for an id that does not exist (or is not a positive integer), 403 for a non-participant.
    private func participantConversation(context: BrokerRequestContext, caller: UserID) async throws -> Conversation {
        guard let raw = context.parameters.get("id"), let id = Int64(raw), id > 0,
            let conversation = try await store.conversation(id: ConversationID(id))
        else { throw APIError.notFound("conversation not found") }
        guard conversation.isParticipant(caller) else { throw APIError.forbidden("not a participant") }
        return conversation
    }
}
