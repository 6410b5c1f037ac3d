import Hummingbird
import NIOCore
import Store

/// The local mailer's mailbox: `GET /api/sent_mails` (JSON) and `GET /sent_mails` (HTML preview).
/// Registered only when the local mailer is configured; otherwise both paths are 404.
struct SentMailsController {
    let store: any Store
    /// The most mails listed.
    static let limit = 500

    func addAPIRoutes(to group: RouterGroup<BrokerRequestContext>) {
        group.get("sent_mails", use: list)
    }

    func addPreviewRoute(to router: Router<BrokerRequestContext>) {
        router.get("sent_mails", use: preview)
    }

    @Sendable func list(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let mails = try await store.mails(limit: Self.limit)
        return try Payloads.response(Payloads.DataEnvelope(data: mails.map(Payloads.MailBody.init)))
    }

    @Sendable func preview(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let mails = try await store.mails(limit: Self.limit)
        var html = """
            <!doctype html><html><head><meta charset="utf-8"><title>Sent mails</title>
            <style>body{font-family:sans-serif;margin:2em}article{border:1px solid #ccc;padding:1em;margin:1em 0}
            .meta{color:#555;font-size:.9em}</style></head><body><h1>Sent mails (\(mails.count))</h1>
            """
        for mail in mails {
            html += "<article><h2>\(HTML.escape(mail.subject))</h2>"
            html += "<p class=\"meta\">#\(mail.id) from \(HTML.escape(mail.from)) to \(HTML.escape(mail.to)), "
            html += "\(mail.status.rawValue), \(mail.insertedAt.rfc3339)</p>\(mail.htmlBody)</article>"
        }
        html += "</body></html>"
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
