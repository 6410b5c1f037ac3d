import Foundation
import Testing

/// Issue 11's contract points and load-balancer behaviour, over the real binary: paging from `after_id=0`,
/// `does not exist` for integer recipients, upgrades on kept-alive connections, trusted proxies, browser
/// origins, and the local mailer kept off public addresses.
@Suite(.timeLimit(.minutes(3)))
struct DeploymentEdgeTests {
    @Test func afterIDZeroReadsFromTheStartAndBadBoundsAre400() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let ab = try await chat.conversation(a, b)
            var sent: [Int] = []
            for text in ["one", "two", "three"] {
                let response = try await chat.http.send(
                    .POST,
                    "/api/conversations/\(ab)/messages",
                    json: #"{"message": {"content": "\#(text)"}}"#,
                    token: a.token
                )
                sent.append(try #require((response.json["data"] as? [String: Any])?["id"] as? Int))
            }
            // The README's recovery flow reads from lastSeen = 0.
            let page = try await chat.http.send(.GET, "/api/conversations/\(ab)/messages?after_id=0&limit=2", token: b.token)
            #expect(page.status == 200)
            #expect((page.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == Array(sent.prefix(2)))
            #expect(page.json["has_more"] as? Bool == true)
            let all = try await chat.history(ab, as: b, query: "?after_id=0")
            #expect(all.compactMap { $0["id"] as? Int } == sent)
            let users = try await chat.http.send(.GET, "/api/users?after_id=0", token: a.token)
            #expect(users.status == 200)
            #expect((users.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [a.id, b.id])
            let beforeZero = try await chat.http.send(.GET, "/api/conversations/\(ab)/messages?before_id=0", token: b.token)
            #expect(beforeZero.status == 200 && (beforeZero.json["data"] as? [Any])?.isEmpty == true)
            for bad in ["after_id=-1", "after_id=x", "after_id=1.5", "after_id=", "before_id=-2"] {
                let history = try await chat.http.send(.GET, "/api/conversations/\(ab)/messages?\(bad)", token: b.token)
                #expect(history.status == 400, "\(bad)")
                #expect((history.json["errors"] as? [String: Any])?["detail"] is String, "\(bad)")
                if bad.hasPrefix("after_id") {
                    #expect(try await chat.http.send(.GET, "/api/users?\(bad)", token: a.token).status == 400, "\(bad)")
                }
            }
        }
    }

    /// PostgreSQL cannot store U+0000 in text; on either backend such a value is `is invalid`, and a send that
    /// holds one never reaches a commit batch, where it would fail other users' writes with it.
    @Test func textHoldingNULIsInvalidAndOtherSendsGoOn() async throws {
        try await ChatFixture.run { chat in
            let http = chat.http
            let nulName = try await http.send(
                .POST,
                "/api/users",
                json: #"{"user": {"name": "a\u0000b", "subname": "S", "email": "nul@x.io", "job": "J"}}"#
            )
            #expect(nulName.status == 422)
            #expect((nulName.json["errors"] as? [String: [String]])?["name"] == ["is invalid"])
            let login = try await http.send(.POST, "/api/login", json: #"{"creds": {"email": "a\u0000@x.io", "password": "p"}}"#)
            #expect(login.status == 401)
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let c = try await chat.signUp("c@x.io")
            let ab = try await chat.conversation(a, b)
            let bc = try await chat.conversation(b, c)
            // Bad sends from a, good ones from c at the same time: every good one is stored.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        let bad = try await http.send(
                            .POST,
                            "/api/conversations/\(ab)/messages",
                            json: #"{"message": {"content": "x\u0000\#(index)", "client_id": "ok-\#(index)"}}"#,
                            token: a.token
                        )
                        #expect(bad.status == 422)
                        let badClient = try await http.send(
                            .POST,
                            "/api/conversations/\(ab)/messages",
                            json: #"{"message": {"content": "x", "client_id": "c\u0000\#(index)"}}"#,
                            token: a.token
                        )
                        #expect(badClient.status == 422)
                    }
                    group.addTask {
                        let good = try await http.send(
                            .POST,
                            "/api/conversations/\(bc)/messages",
                            json: #"{"message": {"content": "fine \#(index)"}}"#,
                            token: c.token
                        )
                        #expect(good.status == 201)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await chat.history(bc, as: b).count == 20)
            #expect(try await chat.history(ab, as: b).isEmpty)
            try await chat.withSockets([a], vsn: "2.0.0") { sockets in
                _ = try await sockets[0].joinRoom(joinRef: "1")
                let ref = await sockets[0].push(
                    "room:chat",
                    "send_msg",
                    #"{"user":\#(b.id),"conv":\#(ab),"message":"x\u0000y"}"#,
                    joinRef: "1"
                )
                let reply = try await sockets[0].reply(to: ref)
                #expect(reply.status == "error" && reply.reason == "invalid payload")
            }
        }
    }

    @Test func anIntegerRecipientNamingNoUserDoesNotExist() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let cases = [
                ("0", "does not exist"), ("-4", "does not exist"), ("987654", "does not exist"),
                ("\"2\"", "is invalid"), ("1.5", "is invalid"), ("\(a.id)", "can't be yourself"),
            ]
            for (value, message) in cases {
                let response = try await chat.http.send(
                    .POST,
                    "/api/conversations",
                    json: #"{"conversation": {"recipient_id": \#(value)}}"#,
                    token: a.token
                )
                #expect(response.status == 422, "\(value)")
                #expect((response.json["errors"] as? [String: [String]]) == ["recipient_id": [message]], "\(value)")
            }
        }
    }

    @Test func anUpgradeOnAKeptAliveConnectionIsServedNeverRedirected() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            // A proxy's reused backend connection: two plain requests, then the upgrade.
            let connection = try RawHTTPConnection(port: chat.broker.port)
            try connection.sendRequest("GET", "/healthz")
            #expect(try await connection.response().status == 200)
            try connection.sendRequest("GET", "/api/users/me", headers: ["Authorization: Bearer \(a.token)"])
            #expect(try await connection.response().status == 200)
            try connection.sendUpgrade("/socket/websocket?token=\(a.token)&vsn=2.0.0")
            let switched = try await connection.response()
            #expect(switched.status == 101)
            #expect(switched.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            try connection.sendText(#"[null,"1","phoenix","heartbeat",{}]"#)
            let reply = try await connection.frame()
            #expect(reply.opcode == 1)
            #expect(reply.payload == #"[null,"1","phoenix","phx_reply",{"status":"ok","response":{}}]"#)
            try connection.sendText(#"["2","2","room:chat","phx_join",{}]"#)
            #expect(try await connection.frame().payload.contains(#""phx_reply",{"status":"ok""#))
            // A message sent over HTTP is pushed to this socket like to any other.
            let b = try await chat.signUp("b@x.io")
            let ab = try await chat.conversation(b, a)
            _ = try await chat.http.send(.POST, "/api/conversations/\(ab)/messages", json: #"{"message": {"content": "hi"}}"#, token: b.token)
            var push = try await connection.frame()
            while push.payload.contains("presence_") { push = try await connection.frame() }
            #expect(push.payload.hasPrefix(#"["2",null,"room:chat","receive_msg""#), "\(push.payload)")
            // The close handshake, then the server ends the connection.
            try connection.sendClose()
            #expect(try await connection.frame().opcode == 8)
            #expect(await connection.closedByServer())

            // Refused on a kept-alive connection: the contract's status and body, never a 3xx.
            for (target, status) in [
                ("/socket/websocket?token=nope&vsn=2.0.0", 403), ("/socket/websocket?token=\(a.token)&vsn=9.9.9", 400),
                ("/elsewhere", 404),
            ] {
                let reused = try RawHTTPConnection(port: chat.broker.port)
                try reused.sendRequest("GET", "/healthz")
                #expect(try await reused.response().status == 200)
                try reused.sendUpgrade(target)
                let refused = try await reused.response()
                #expect(refused.status == status, "\(target)")
                #expect(refused.headers["location"] == nil)
                #expect(refused.body.contains(#"{"errors":{"detail":"#), "\(refused.body)")
                #expect(await reused.closedByServer())
            }
        }
    }

    @Test func anUpgradeOnAKeptAliveConnectionWhileDrainingIs503() async throws {
        let broker = try await BrokerProcess()
        defer { broker.removeFiles() }
        let chat = ChatFixture(broker: broker)
        let a = try await chat.signUp("a@x.io")
        let connection = try RawHTTPConnection(port: broker.port)
        try connection.sendRequest("GET", "/healthz")
        #expect(try await connection.response().status == 200)
        broker.process.terminate()
        // The node answers /readyz 503 for at least a second before it closes its listener.
        let probe = try RawHTTPConnection(port: broker.port)
        var ready = 200
        while ready != 503 {
            try probe.sendRequest("GET", "/readyz")
            ready = try await probe.response().status
        }
        // Answered 503 while the node drains; once the drain's window is over (a busy machine may reach it
        // late) the node closes its idle connections instead. Never a 101, never a redirect.
        do {
            try connection.sendUpgrade("/socket/websocket?token=\(a.token)&vsn=2.0.0")
            let refused = try await connection.response()
            #expect(refused.status == 503)
            #expect(refused.body.contains(#"{"errors":{"detail":"#))
        } catch let error as POSIXError where error.code == .ECONNRESET || error.code == .EPIPE {
            // Closed by the node's shutdown before the request was answered.
        }
        _ = try await broker.terminate()
    }

    @Test func allowedOriginsRefuseUnlistedBrowserOriginsWith403() async throws {
        try await ChatFixture.run(environment: ["BROKER_ALLOWED_ORIGINS": "https://chat.example.com, //*.example.org"]) { chat in
            let a = try await chat.signUp("a@x.io")
            let target = "/socket/websocket?token=\(a.token)&vsn=2.0.0"
            let cases: [(String?, Int)] = [
                (nil, 101), ("https://chat.example.com", 101), ("https://chat.example.com:443", 101),
                ("http://a.example.org", 101), ("https://evil.example.com", 403), ("https://example.org", 403),
                ("http://chat.example.com", 403), ("null", 403),
            ]
            for (origin, status) in cases {
                for reuse in [false, true] {
                    let connection = try RawHTTPConnection(port: chat.broker.port)
                    if reuse {
                        try connection.sendRequest("GET", "/healthz")
                        #expect(try await connection.response().status == 200)
                    }
                    try connection.sendUpgrade(target, headers: origin.map { ["Origin: \($0)"] } ?? [])
                    let response = try await connection.response()
                    #expect(response.status == status, "\(origin ?? "no origin"), reused: \(reuse)")
                    if status == 403 { #expect(response.body.contains("origin not allowed")) }
                }
            }
        }
    }

    /// Login attempts from one client address past the burst are 429: the per-address limit shows which
    /// address the broker used.
    private func loginStatus(_ chat: ChatFixture, headers: [(String, String)]) async throws -> Int {
        try await chat.http.send(
            .POST,
            "/api/login",
            json: #"{"creds": {"email": "nobody@x.io", "password": "wrong-password"}}"#,
            headers: headers
        ).status
    }

    @Test func forwardingHeadersFromAnUntrustedPeerAreIgnored() async throws {
        try await ChatFixture.run(environment: ["BROKER_AUTH_RATE": "0.01", "BROKER_AUTH_BURST": "2"]) { chat in
            var statuses: [Int] = []
            for index in 0..<3 {
                statuses.append(
                    try await loginStatus(chat, headers: [("X-Forwarded-For", "203.0.113.\(index)"), ("Forwarded", "for=198.51.100.\(index)")])
                )
            }
            #expect(statuses == [401, 401, 429])
        }
    }

    @Test func aTrustedProxyNamesTheClientByTheRightmostUntrustedHop() async throws {
        try await ChatFixture.run(
            environment: ["BROKER_AUTH_RATE": "0.01", "BROKER_AUTH_BURST": "2", "BROKER_TRUSTED_PROXIES": "127.0.0.0/8, 10.0.0.0/8"]
        ) { chat in
            // Each forwarded client has its own bucket.
            for index in 0..<3 {
                #expect(try await loginStatus(chat, headers: [("X-Forwarded-For", "203.0.113.\(index)")]) == 401)
            }
            // A client forging entries on the left is still known by the hop the trusted proxies saw:
            // `forged, 198.51.100.7, 10.1.1.1` is 198.51.100.7 (10.1.1.1 is an inner proxy).
            var forged: [Int] = []
            for index in 0..<3 {
                forged.append(try await loginStatus(chat, headers: [("X-Forwarded-For", "192.0.2.\(index), 198.51.100.7, 10.1.1.1")]))
            }
            #expect(forged == [401, 401, 429])
            // `Forwarded` (RFC 7239) when there is no X-Forwarded-For, IPv6 with a port included.
            var viaForwarded: [Int] = []
            for _ in 0..<3 {
                viaForwarded.append(try await loginStatus(chat, headers: [("Forwarded", #"for="[2001:db8::1]:4711";proto=https"#)]))
            }
            #expect(viaForwarded == [401, 401, 429])
            #expect(try await loginStatus(chat, headers: [("Forwarded", "for=198.51.100.99")]) == 401)
            // No forwarding header: the peer itself.
            #expect(try await loginStatus(chat, headers: []) == 401)
        }
    }

    @Test func theLocalMailerRefusesANonLoopbackHostUnlessAllowed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let refused = try await Self.serve(in: directory, environment: ["BROKER_HOST": "0.0.0.0"])
        #expect(refused.status != 0)
        #expect(refused.output.contains("BROKER_MAILER=smtp"), "\(refused.output)")
        #expect(refused.output.contains("BROKER_LOCAL_MAILER_PUBLIC=true"), "\(refused.output)")
        let allowed = try await Self.serve(
            in: directory,
            environment: ["BROKER_HOST": "0.0.0.0", "BROKER_LOCAL_MAILER_PUBLIC": "true"]
        )
        #expect(allowed.status == nil, "\(allowed.output)")
        #expect(allowed.output.contains("broker listening on http://0.0.0.0:"), "\(allowed.output)")
        let loopback = try await Self.serve(in: directory, environment: ["BROKER_HOST": "127.0.0.5"])
        #expect(loopback.status == nil, "\(loopback.output)")
        let badFlag = try await Self.serve(in: directory, environment: ["BROKER_LOCAL_MAILER_PUBLIC": "yes"])
        #expect(badFlag.status != nil && badFlag.output.contains("BROKER_LOCAL_MAILER_PUBLIC must be true or false"))
    }

    /// Runs `broker serve` on port 0 until it listens (then stops it: status nil) or exits (its status), with
    /// its standard output and error.
    private static func serve(in directory: URL, environment: [String: String]) async throws -> (status: Int32?, output: String) {
        let process = Process()
        process.executableURL = BrokerProcess.executable
        process.arguments = ["serve"]
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BROKER_") }
        env["BROKER_PORT"] = "0"
        env["BROKER_BCRYPT_COST"] = "4"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = OutputBuffer()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { output.text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning, ContinuousClock.now < deadline, !output.text.withLock({ $0.contains("broker listening on") }) {
            try await Task.sleep(for: .milliseconds(20))  // polling a child's output
        }
        guard process.isRunning else {
            process.waitUntilExit()
            return (process.terminationStatus, output.text.withLock { $0 })
        }
        process.terminate()
        process.waitUntilExit()
        return (nil, output.text.withLock { $0 })
    }
}
