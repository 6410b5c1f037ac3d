import Hummingbird

/// What each HTTP route does, in one place: `broker routes` prints the router's own routes (``table(of:)``)
/// with these summaries, the error middleware consults it to answer 405 rather than 404 for a known path with
/// another method, and a test holds it equal to the router's routes and to the OpenAPI document's paths.
package enum Routes {
    /// One route: method, path template (`:name` marks a parameter) and what it does.
    package struct Route: Sendable, Hashable {
        /// HTTP method.
        package var method: String
        /// Path template, in the router's and OpenAPI's form (`{id}` marks a parameter).
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
            path: "/api/conversations/{id}/messages",
            summary: "send a message (participants; client_id makes resends idempotent)"
        ),
        Route(
            method: "GET",
            path: "/api/conversations/{id}/messages",
            summary: "history (?before_id=, ?after_id=, ?limit=), ascending"
        ),
        Route(method: "GET", path: "/api/sent_mails", summary: "mails sent by the local mailer (development)"),
        Route(method: "GET", path: "/sent_mails", summary: "HTML preview of the local mailer's mails"),
        Route(method: "GET", path: "/socket/websocket", summary: "Phoenix Channels WebSocket (?token=, ?vsn=)"),
        Route(method: "GET", path: "/healthz", summary: "process alive"),
        Route(method: "GET", path: "/readyz", summary: "store reachable and not draining"),
        Route(method: "GET", path: "/metrics", summary: "Prometheus metrics"),
        Route(method: "GET", path: "/api/openapi.json", summary: "this API's OpenAPI 3.1 document"),
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
            return zip(template, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }.map(\.method)
    }

    /// The table `broker routes` prints, aligned like `mix phx.routes`: the router's routes (`routes`, method and
    /// template), each with its summary here.
    package static func table(of routes: [(method: String, path: String)]) -> String {
        let methodWidth = routes.map(\.method.count).max() ?? 0
        let pathWidth = routes.map(\.path.count).max() ?? 0
        return routes.map { route in
            let summary = all.first { $0.method == route.method && $0.path == route.path }?.summary ?? ""
            return route.method.padding(toLength: methodWidth, withPad: " ", startingAt: 0) + "  "
                + route.path.padding(toLength: pathWidth, withPad: " ", startingAt: 0) + "  " + summary
        }.joined(separator: "\n")
    }
}

extension Router {
    /// The routes registered, as method and template (`{id}` for a parameter), in the router's order.
    package var routeList: [(method: String, path: String)] {
        routes.map { (method: $0.method.rawValue, path: $0.path.description) }
    }
}
