import Foundation
import Testing

/// Contract §4's bounds on plain HTTP connections, over raw sockets against the real binary: slow heads get
/// 408, idle keep-alive connections are closed, oversized heads get 431, and `/healthz` answers throughout.
@Suite(.timeLimit(.minutes(3)))
struct SlowClientTests {
    @Test func halfSentHeadsAreAnswered408AndClosedWhileHealthzAnswers() async throws {
        try await ChatFixture.run(environment: ["BROKER_HTTP_HEAD_TIMEOUT": "2"]) { chat in
            let slow = try (0..<300).map { _ in try RawHTTPConnection(port: chat.broker.port) }
            for connection in slow { connection.sendRaw("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ") }
            // Served at once meanwhile, on fresh connections and on a kept-alive one.
            let kept = try RawHTTPConnection(port: chat.broker.port)
            for _ in 0..<5 {
                #expect(try await chat.http.send(.GET, "/healthz").status == 200)
                try kept.sendRequest("GET", "/healthz")
                #expect(try await kept.response().status == 200)
            }
            for connection in slow {
                let answer = try await connection.response()
                #expect(answer.status == 408)
                #expect(answer.body.contains(#"{"errors":{"detail":"#))
                #expect(await connection.closedByServer())
            }
            #expect(try await chat.http.send(.GET, "/healthz").status == 200)
        }
    }

    @Test func idleKeptAliveAndSilentConnectionsAreClosedBusyOnesAreNot() async throws {
        try await ChatFixture.run(environment: ["BROKER_HTTP_IDLE_TIMEOUT": "5"]) { chat in
            let a = try await chat.signUp("a@x.io")
            let silent = try RawHTTPConnection(port: chat.broker.port)
            let idle = try RawHTTPConnection(port: chat.broker.port)
            try idle.sendRequest("GET", "/healthz")
            #expect(try await idle.response().status == 200)
            // Requests every quarter second keep a connection open past the idle timeout (20 times as often).
            let busy = try RawHTTPConnection(port: chat.broker.port)
            for round in 0..<24 {
                try busy.sendRequest("GET", "/healthz")
                #expect(try #require(try? await busy.response(), "round \(round)").status == 200)
                try await Task.sleep(for: .milliseconds(250))  // the client's pace, not a wait for the server
            }
            #expect(await idle.closedByServer())
            #expect(await silent.closedByServer())
            // A WebSocket keeps its own idle rule (BROKER_IDLE_TIMEOUT): quiet for longer than the HTTP one,
            // opened on a fresh connection or on a kept-alive one, it stays open.
            let fresh = try RawHTTPConnection(port: chat.broker.port)
            try fresh.sendUpgrade("/socket/websocket?token=\(a.token)&vsn=2.0.0")
            #expect(try await fresh.response().status == 101)
            let reused = try RawHTTPConnection(port: chat.broker.port)
            try reused.sendRequest("GET", "/healthz")
            #expect(try await reused.response().status == 200)
            try reused.sendUpgrade("/socket/websocket?token=\(a.token)&vsn=2.0.0")
            #expect(try await reused.response().status == 101)
            try await Task.sleep(for: .seconds(7))  // longer than BROKER_HTTP_IDLE_TIMEOUT, on purpose
            for (name, socket) in [("fresh", fresh), ("reused", reused)] {
                try socket.sendText(#"[null,"1","phoenix","heartbeat",{}]"#)
                let reply = try #require(try? await socket.frame(), "\(name)")
                #expect(reply.payload.contains("phx_reply"), "\(name)")
            }
        }
    }

    @Test func headsOverTheLimitGet431AndAClose() async throws {
        try await ChatFixture.run { chat in
            // Just under the default 16,384 bytes: served.
            let fits = try RawHTTPConnection(port: chat.broker.port)
            try fits.sendRequest("GET", "/healthz", headers: ["X-Pad: " + String(repeating: "a", count: 16_000)])
            #expect(try await fits.response().status == 200)
            for (name, head) in [
                ("header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: \(String(repeating: "a", count: 17_000))\r\n\r\n"),
                ("request line", "GET /healthz?q=\(String(repeating: "a", count: 20_000)) HTTP/1.1\r\nHost: x\r\n\r\n"),
                ("2 MB", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: \(String(repeating: "a", count: 2_000_000))\r\n\r\n"),
            ] {
                let connection = try RawHTTPConnection(port: chat.broker.port)
                connection.sendRaw(head)  // the server may close before taking it all
                let answer = try await connection.response()
                #expect(answer.status == 431, "\(name)")
                #expect(answer.body.contains(#"{"errors":{"detail":"#), "\(name)")
                #expect(await connection.closedByServer(), "\(name)")
            }
            // On a kept-alive connection too, after a request was served.
            let kept = try RawHTTPConnection(port: chat.broker.port)
            try kept.sendRequest("GET", "/healthz")
            #expect(try await kept.response().status == 200)
            kept.sendRaw("GET /healthz HTTP/1.1\r\nX-Pad: \(String(repeating: "b", count: 17_000))\r\n\r\n")
            #expect(try await kept.response().status == 431)
            // Garbage instead of a request is closed, not held.
            let garbage = try RawHTTPConnection(port: chat.broker.port)
            garbage.sendRaw("\u{1}\u{2}NOT HTTP AT ALL\r\n\r\n")
            #expect(try await garbage.response().status == 400)
            #expect(await garbage.closedByServer())
            #expect(try await chat.http.send(.GET, "/healthz").status == 200)
        }
    }
}
