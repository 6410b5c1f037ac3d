import Foundation
import Synchronization
import Testing

/// What operators use: the access log and request ids, the metrics from start-up, the API document, and the
/// `healthcheck`, `--version`, `routes` and `backup` commands, over the real executable.
@Suite(.timeLimit(.minutes(3)))
struct OperationsTests {
    @Test func everySeriesIsThereAtZeroBeforeAnyTraffic() async throws {
        try await ChatFixture.run { chat in
            let scrape = try await chat.http.send(.GET, "/metrics")
            #expect(scrape.status == 200)
            let lines = Set(String(decoding: scrape.body, as: UTF8.self).split(separator: "\n").map(String.init))
            for line in [
                "broker_connections 0.0", "broker_joins_total 0", "broker_messages_in_total 0",
                "broker_messages_delivered_total 0", #"broker_errors_total{reason="slow consumer"} 0"#,
                #"broker_errors_total{reason="rate limited"} 0"#, "broker_mails_sent_total 0",
                #"broker_mails_failed_total{reason="rejected"} 0"#, #"broker_restarts_total{child_kind="mailer"} 0"#,
                #"broker_http_requests_total{method="POST",route="/api/login",status="2xx"} 0"#,
                #"broker_http_requests_total{method="GET",route="/api/conversations/{id}/messages",status="4xx"} 0"#,
                "broker_mail_outbox_depth 0.0", "broker_pg_notification_queue_usage 0.0",
            ] where !lines.contains(line) {
                Issue.record("missing: \(line)")
            }
            // The store's histograms, with the new buckets (the start-up's own writes may have counted already).
            for bucket in [
                #"broker_store_commit_seconds_bucket{le="0.00005"}"#, #"broker_store_commit_seconds_bucket{le="1.0"}"#,
                #"broker_store_batch_size_bucket{le="1.0"}"#, #"broker_store_batch_size_bucket{le="1024.0"}"#,
                #"broker_conversation_batch_size_bucket{le="1024.0"} 0"#,
            ] where !lines.contains(where: { $0.hasPrefix(bucket) }) {
                Issue.record("missing: \(bucket)")
            }
            for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_max_fds"] {
                let value = lines.first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
                #expect((value ?? 0) > 0, "\(name)")
            }
            let start = lines.first { $0.hasPrefix("process_start_time_seconds ") }.flatMap { Double($0.split(separator: " ")[1]) }
            #expect(abs((start ?? 0) - Date().timeIntervalSince1970) < 120)
            #expect(lines.contains { $0.hasPrefix("broker_build_info{") && $0.hasSuffix(" 1.0") })
            // After traffic, the request is counted under its route template and status class.
            let user = try await chat.signUp("m@x.io")
            #expect(try await chat.http.send(.GET, "/api/conversations/999/messages", token: user.token).status == 404)
            let after = String(decoding: try await chat.http.send(.GET, "/metrics").body, as: UTF8.self)
            #expect(after.contains(#"broker_http_requests_total{method="GET",route="/api/conversations/{id}/messages",status="4xx"} 1"#))
            #expect(after.contains(#"broker_http_requests_total{method="POST",route="/api/login",status="2xx"} 1"#))
            #expect(after.contains(#"broker_http_requests_total{method="GET",route="unmatched",status="4xx"} 0"#))
        }
    }

    @Test func aFullSessionLogsAccessLinesWithRequestIDsAndNoSecret() async throws {
        try await ChatFixture.run(environment: ["BROKER_LOG_FORMAT": "json", "BROKER_LOG_LEVEL": "debug"], captureLog: true) { chat in
            let http = chat.http
            let registered = try await http.send(
                .POST,
                "/api/users",
                json: #"{"user": {"name": "Ann", "subname": "Lee", "email": "ann@x.io", "job": "dev"}}"#
            )
            let password = try #require(registered.json["password"] as? String)
            let generatedID = try #require(registered.headers["x-request-id"])
            #expect(generatedID.count == 32)
            let login = try await http.send(
                .POST,
                "/api/login",
                json: #"{"creds": {"email": "ann@x.io", "password": "\#(password)"}}"#,
                // Not from a trusted proxy (none is configured): ignored, a new id is made.
                headers: [("x-request-id", "forged-by-client")]
            )
            #expect(login.headers["x-request-id"] != "forged-by-client")
            let token = try #require((login.json["data"] as? [String: Any])?["token"] as? String)
            let ann = ChatUser(id: try #require(registered.json["id"] as? Int), token: token)
            let bob = try await chat.signUp("bob@x.io")
            let conversation = try await chat.conversation(ann, bob)
            let secretText = "the-message-text-\(UUID().uuidString)"
            try await chat.withSockets([ann], vsn: "2.0.0") { sockets in
                _ = try await sockets[0].joinRoom(joinRef: "1")
                let ref = await sockets[0].push(
                    "room:chat",
                    "send_msg",
                    sendPayload(to: bob, conversation: conversation, text: secretText),
                    joinRef: "1"
                )
                _ = try await sockets[0].reply(to: ref)
            }
            #expect(try await http.send(.POST, "/api/logout", token: token).status == 204)
            // The socket's close line is written when its channel closes, just after the client's close.
            let deadline = ContinuousClock.now + .seconds(10)
            while !chat.broker.log.contains("socket closed"), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            let log = chat.broker.log
            let lines = log.split(separator: "\n").compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            }
            #expect(lines.count == log.split(separator: "\n").count, "every line is one JSON object")
            let access = lines.filter { $0["msg"] as? String == "http request" }
            let registration = try #require(access.first { $0["request_id"] as? String == generatedID })
            #expect(registration["method"] as? String == "POST")
            #expect(registration["path"] as? String == "/api/users")
            #expect(registration["status"] as? String == "201")
            #expect(registration["client"] as? String == "127.0.0.1")
            #expect(Double(registration["duration_ms"] as? String ?? "") != nil)
            #expect(access.contains { $0["path"] as? String == "/api/logout" && $0["status"] as? String == "204" })
            let opened = try #require(lines.first { $0["msg"] as? String == "socket opened" })
            #expect(opened["path"] as? String == "/socket/websocket" && opened["request_id"] != nil)
            #expect(lines.contains { $0["msg"] as? String == "socket closed" && $0["duration_ms"] != nil })
            for secret in [password, token, secretText] {
                #expect(!log.contains(secret), "the log holds a secret")
            }
            #expect(!log.contains("token="), "no query string is logged")
        }
    }

    @Test func aTrustedProxysRequestIDIsKeptAndEchoed() async throws {
        try await ChatFixture.run(environment: ["BROKER_TRUSTED_PROXIES": "127.0.0.1/32"]) { chat in
            let answer = try await chat.http.send(.GET, "/healthz", headers: [("x-request-id", "edge-4711")])
            #expect(answer.headers["x-request-id"] == "edge-4711")
            let unsafe = try await chat.http.send(.GET, "/healthz", headers: [("x-request-id", "a b")])
            #expect(unsafe.headers["x-request-id"]?.count == 32, "a value with a space is replaced")
        }
    }

    @Test func theAPIDocumentIsServedAndNamesEveryRouteOfTheRoutesCommand() async throws {
        try await ChatFixture.run { chat in
            let answer = try await chat.http.send(.GET, "/api/openapi.json")
            #expect(answer.status == 200)
            #expect(answer.headers["content-type"] == "application/json")
            #expect(answer.json["openapi"] as? String == "3.1.0")
            let paths = try #require(answer.json["paths"] as? [String: [String: Any]])
            let routes = try BrokerProcess.runCommand(["routes"], in: chat.broker.workingDirectory)
            #expect(routes.status == 0)
            let listed = routes.output.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 2).map(String.init) }
            #expect(listed.count >= 15)
            for route in listed {
                #expect(paths[route[1]]?[route[0].lowercased()] != nil, "\(route[0]) \(route[1]) is documented")
            }
        }
    }

    @Test func healthcheckVersionAndABackupTakenWhileServingRestores() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let version = try BrokerProcess.runCommand(["--version"], in: directory)
        #expect(version.status == 0)
        #expect(
            version.output.range(of: #"^\d+\.\d+\.\d+ \(commit [0-9a-f]{12}(-dirty)?\)\n$"#, options: .regularExpression) != nil,
            "\(version.output)"
        )
        let database = directory.appendingPathComponent("live.sqlite").path
        let secret = ["BROKER_JWT_SECRET": String(repeating: "s3cret-", count: 8)]
        let environment = secret.merging(["BROKER_DATABASE_URL": "sqlite://\(database)"]) { $1 }
        let backup = directory.appendingPathComponent("backup.sqlite").path
        let before = Mutex<(reader: ChatUser, conversation: Int, contents: [String])?>(nil)
        try await ChatFixture.run(environment: environment) { chat in
            let port = String(chat.broker.port)
            #expect(try BrokerProcess.runCommand(["healthcheck"], in: directory, environment: ["BROKER_PORT": port]).status == 0)
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let conversation = try await chat.conversation(a, b)
            for index in 0..<20 {
                let answer = try await chat.http.send(
                    .POST,
                    "/api/conversations/\(conversation)/messages",
                    json: #"{"message": {"content": "m\#(index)"}}"#,
                    token: a.token
                )
                #expect(answer.status == 201)
            }
            // Taken while the broker serves, with the broker's own configuration.
            let taken = try BrokerProcess.runCommand(["backup", backup], in: directory, environment: environment)
            #expect(taken.status == 0, "\(taken.output)")
            let again = try BrokerProcess.runCommand(["backup", backup], in: directory, environment: environment)
            #expect(again.status != 0, "a backup never overwrites a file")
            let contents = try await chat.history(conversation, as: b).compactMap { $0["content"] as? String }
            before.withLock { $0 = (b, conversation, contents) }
        }
        let kept = try #require(before.withLock { $0 })
        #expect(kept.contents == (0..<20).map { "m\($0)" })
        // Nothing listens there: unhealthy.
        #expect(try BrokerProcess.runCommand(["healthcheck"], in: directory, environment: ["BROKER_PORT": "1"]).status != 0)
        // Restored: a broker on the copy knows the users (and their tokens) and has every message.
        try await ChatFixture.run(environment: secret.merging(["BROKER_DATABASE_URL": "sqlite://\(backup)"]) { $1 }) { chat in
            let taken = try await chat.http.send(
                .POST,
                "/api/users",
                json: #"{"user": {"name": "N", "subname": "S", "email": "a@x.io", "job": "J"}}"#
            )
            #expect(taken.status == 422, "a@x.io exists in the copy")
            let contents = try await chat.history(kept.conversation, as: kept.reader).compactMap { $0["content"] as? String }
            #expect(contents == kept.contents)
        }
    }
}
