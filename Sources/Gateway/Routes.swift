/// The HTTP route table in one place: what `broker routes` prints and what the error middleware consults to
/// answer 405 rather than 404 for a known path with another method.
package enum Routes {
    /// One route: method, path template (`:name` marks a parameter) and what it does.
    package struct Route: Sendable, Hashable {
        /// HTTP method.
        package var method: String
        /// Path template.
        package var path: String
        /// One line for operators.
        package var summary: String
    }

    /// Every route the server answers.
    package static let all: [Route] = [
        Route(method: "POST", path: "/api/users", summary: "register; answers the user with its generated password"),
        Route(method: "GET", path: "/api/users", summary: "list users (?limit=, ?after_id=)"),
        Route(method: "GET", path: "/api/users/me", summary: "the signed-in user"),
        Route(method: "POST", path: "/api/login", summary: "sign in; answers a JWT"),
        Route(method: "POST", path: "/api/logout", summary: "revoke the presented token"),
        Route(method: "POST", path: "/api/conversations", summary: "get or create the conversation with a user"),
        Route(method: "GET", path: "/api/conversations", summary: "the caller's conversations, newest activity first"),
        Route(
            method: "POST",
            path: "/api/conversations/:id/messages",
            summary: "send a message (participants; client_id makes resends idempotent)"
        ),
        Route(
            method: "GET",
            path: "/api/conversations/:id/messages",
            summary: "history (?before_id=, ?after_id=, ?limit=), ascending"
        ),
        Route(method: "GET", path: "/api/sent_mails", summary: "mails sent by the local mailer (development)"),
        Route(method: "GET", path: "/sent_mails", summary: "HTML preview of the local mailer's mails"),
        Route(method: "GET", path: "/socket/websocket", summary: "Phoenix Channels WebSocket (?token=, ?vsn=)"),
        Route(method: "GET", path: "/healthz", summary: "process alive"),
        Route(method: "GET", path: "/readyz", summary: "store reachable and not draining"),
        Route(method: "GET", path: "/metrics", summary: "Prometheus metrics"),
    ]

    /// The routes served with the given mailer: the sent-mail pages exist only with the local mailer.
    package static func served(localMailer: Bool) -> [Route] {
        localMailer ? all : all.filter { !$0.path.hasSuffix("sent_mails") }
    }

    /// The methods of the routes (of `routes`) whose template matches `path`.
    package static func methods(matching path: String, in routes: [Route] = all) -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return routes.filter { route in
            let template = route.path.split(separator: "/", omittingEmptySubsequences: true)
            guard template.count == segments.count else { return false }
            return zip(template, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
        }.map(\.method)
    }

    /// The table as `broker routes` prints it, aligned like `mix phx.routes`.
    package static var table: String {
        let methodWidth = all.map(\.method.count).max() ?? 0
        let pathWidth = all.map(\.path.count).max() ?? 0
        return all.map { route in
            route.method.padding(toLength: methodWidth, withPad: " ", startingAt: 0) + "  "
                + route.path.padding(toLength: pathWidth, withPad: " ", startingAt: 0) + "  " + route.summary
        }.joined(separator: "\n")
    }
}
