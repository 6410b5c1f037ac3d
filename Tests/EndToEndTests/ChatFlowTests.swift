import Foundation
import Testing

/// The contract's §3 over real sockets against the real executable, with both serializers.
@Suite(.timeLimit(.minutes(2)))
struct ChatFlowTests {
    static let versions = ["1.0.0", "2.0.0"]

    @Test(arguments: versions)
    func seedScenarioBothWaysThenBothInHistory(vsn: String) async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let conversation = try await chat.conversation(a, b)
            try await chat.withSockets([a, b], vsn: vsn) { sockets in
                let (sa, sb) = (sockets[0], sockets[1])
                let joinA = try await sa.joinRoom(joinRef: "11")
                let joinB = try await sb.joinRoom(joinRef: "22")
                #expect(joinA.status == "ok" && joinA.response.isEmpty && joinA.joinRef == "11")
                #expect(joinB.status == "ok")

                let ref = await sa.push("room:chat", "send_msg", sendPayload(to: b, conversation: conversation, text: "hi B"), joinRef: "11")
                let reply = try await sa.reply(to: ref)
                #expect(reply.status == "ok", "\(reply)")
                #expect(reply.joinRef == "11" && reply.topic == "room:chat")
                let sent = try #require(reply.message)
                #expect(Set(sent.keys) == ["id", "conversation_id", "sender_id", "content", "date", "client_id"])
                #expect(sent["content"] as? String == "hi B" && sent["sender_id"] as? Int == a.id)
                #expect(sent["client_id"] is NSNull)

                let push = try await sb.nextPush("receive_msg")
                #expect(push.joinRef == "22", "pushes carry the receiving socket's own join_ref")
                #expect(push.topic == "room:chat" && push.ref == nil)
                #expect(push.messageID == sent["id"] as? Int)
                #expect(push.message?["content"] as? String == "hi B")

                let back = await sb.push("room:chat", "send_msg", sendPayload(to: a, conversation: conversation, text: "hi A"), joinRef: "22")
                #expect(try await sb.reply(to: back).status == "ok")
                let toA = try await sa.nextPush("receive_msg")
                #expect(toA.joinRef == "11" && toA.message?["content"] as? String == "hi A")
                #expect(await sa.expectNone("receive_msg", within: .milliseconds(200)), "the sender gets no push of its own message")
            }
            let history = try await chat.history(conversation, as: b)
            #expect(history.compactMap { $0["content"] as? String } == ["hi B", "hi A"])
        }
    }

    @Test func heartbeatRepliesWithTheExactFrame() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            try await chat.withSockets([a], vsn: "2.0.0") { sockets in
                let ref = await sockets[0].push("phoenix", "heartbeat")
                let reply = try await sockets[0].reply(to: ref)
                #expect(reply.joinRef == nil && reply.topic == "phoenix" && reply.event == "phx_reply")
                #expect(reply.status == "ok" && reply.response.isEmpty)
            }
        }
    }

    /// Joins race a stream of messages to the joining user: the first `room:chat` frame each join sees is its
    /// reply, never a push (nor a presence frame).
    @Test func noPushArrivesBeforeItsJoinReply() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let ab = try await chat.conversation(a, b)
            try await chat.withSockets([a], vsn: "2.0.0") { senders in
                let sender = senders[0]
                _ = try await sender.joinRoom(joinRef: "1")
                for round in 0..<30 {
                    try await chat.withSockets([b], vsn: "2.0.0") { receivers in
                        let receiver = receivers[0]
                        // Messages in flight while the join is handled.
                        for index in 0..<20 {
                            await sender.push("room:chat", "send_msg", sendPayload(to: b, conversation: ab, text: "\(round).\(index)"), joinRef: "1")
                        }
                        let join = await receiver.push("room:chat", "phx_join", "{}", joinRef: "9")
                        for index in 20..<40 {
                            await sender.push("room:chat", "send_msg", sendPayload(to: b, conversation: ab, text: "\(round).\(index)"), joinRef: "1")
                        }
                        let first = try await receiver.receive()
                        #expect(first.event == "phx_reply" && first.ref == join, "round \(round): \(first)")
                        let second = try await receiver.receive()
                        #expect(second.event == "presence_state", "round \(round): \(second)")
                    }
                }
            }
        }
    }

    @Test(arguments: versions)
    func errorsReplyAndKeepTheSocketOpen(vsn: String) async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let c = try await chat.signUp("c@x.io")
            let bc = try await chat.conversation(b, c)
            let ab = try await chat.conversation(a, b)
            try await chat.withSockets([a], vsn: vsn) { sockets in
                let socket = sockets[0]
                let other = await socket.push("lobby:1", "phx_join", "{}", joinRef: "1")
                let otherReply = try await socket.reply(to: other)
                #expect(otherReply.status == "error" && otherReply.reason == "unmatched topic")
                // `errors` is always there, `{}` when no field is at fault (contract §3).
                #expect((otherReply.response["errors"] as? [String: Any])?.isEmpty == true, "\(otherReply)")
                let notJoined = await socket.push("room:chat", "send_msg", sendPayload(to: b, conversation: ab, text: "x"), joinRef: "9")
                #expect(try await socket.reply(to: notJoined).reason == "unmatched topic")
                _ = try await socket.joinRoom(joinRef: "5")
                let foreign = await socket.push("room:chat", "send_msg", sendPayload(to: c, conversation: bc, text: "x"), joinRef: "5")
                let foreignReply = try await socket.reply(to: foreign)
                #expect(foreignReply.status == "error" && foreignReply.reason == "not a participant")
                #expect((foreignReply.response["errors"] as? [String: Any])?.isEmpty == true, "\(foreignReply)")
                let missing = await socket.push("room:chat", "send_msg", sendPayload(to: b, conversation: 9999, text: "x"), joinRef: "5")
                #expect(try await socket.reply(to: missing).reason == "not a participant")
                let wrongPeer = await socket.push("room:chat", "send_msg", sendPayload(to: c, conversation: ab, text: "x"), joinRef: "5")
                #expect(try await socket.reply(to: wrongPeer).reason == "not a participant")
                let blank = await socket.push("room:chat", "send_msg", #"{"user":\#(b.id),"conv":\#(ab),"message":"  "}"#, joinRef: "5")
                let blankReply = try await socket.reply(to: blank)
                #expect(blankReply.reason == "invalid payload")
                #expect(blankReply.response["errors"] as? [String: [String]] == ["message": ["can't be blank"]])
                let mistyped = await socket.push("room:chat", "send_msg", #"{"user":"x","message":5}"#, joinRef: "5")
                let mistypedReply = try await socket.reply(to: mistyped)
                #expect(
                    mistypedReply.response["errors"] as? [String: [String]]
                        == ["user": ["is invalid"], "conv": ["can't be blank"], "message": ["is invalid"]]
                )
                let long = String(repeating: "y", count: 10_001)
                let tooLong = await socket.push("room:chat", "send_msg", sendPayload(to: b, conversation: ab, text: long), joinRef: "5")
                #expect(
                    try await socket.reply(to: tooLong).response["errors"] as? [String: [String]]
                        == ["message": ["should be at most 10000 character(s)"]]
                )
                let ok = await socket.push("room:chat", "send_msg", sendPayload(to: b, conversation: ab, text: "fine"), joinRef: "5")
                #expect(try await socket.reply(to: ok).status == "ok")
            }
            #expect(try await chat.history(bc, as: b).isEmpty)
            #expect(try await chat.history(ab, as: b).count == 1)
        }
    }

    @Test(arguments: versions)
    func garbageFramesNeverCrashTheServer(vsn: String) async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            try await chat.withSockets([a], vsn: vsn) { sockets in
                let socket = sockets[0]
                let garbage = [
                    "", "null", "[]", "{}", "[1,2,3]", "[null,null,null,null,null]", #"["1","2","room:chat","phx_join"]"#,
                    "{\"topic\":5}", "\u{0}\u{1}", String(repeating: "[", count: 5_000), "[\"a\",", "\"just a string\"",
                    #"{"join_ref":{},"ref":[],"topic":"room:chat","event":"phx_join","payload":{}}"#,
                    #"[{},[],"room:chat","phx_join",{}]"#, #"[null,"1","room:chat","send_msg","not an object"]"#,
                    #"[null,"1","phoenix","heartbeat",{}"#, "🙂🙂🙂", "1e999999",
                ]
                for text in garbage { await socket.sendRaw(text) }
                let ref = await socket.push("phoenix", "heartbeat")
                let reply = try await socket.reply(to: ref)
                #expect(reply.status == "ok")
            }
            #expect(try await chat.http.send(.GET, "/healthz").status == 200)
        }
    }

    @Test(arguments: versions)
    func multiDeviceTheSendersOtherSocketsGetThePushTheSendingOneDoesNot(vsn: String) async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let conversation = try await chat.conversation(a, b)
            try await chat.withSockets([a, a, b, b], vsn: vsn) { sockets in
                for (index, socket) in sockets.enumerated() { _ = try await socket.joinRoom(joinRef: "j\(index)") }
                let ref = await sockets[0].push("room:chat", "send_msg", sendPayload(to: b, conversation: conversation, text: "multi"), joinRef: "j0")
                let id = try #require(try await sockets[0].reply(to: ref).messageID)
                for (index, socket) in sockets.enumerated().dropFirst() {
                    let push = try await socket.nextPush("receive_msg")
                    #expect(push.messageID == id && push.joinRef == "j\(index)")
                }
                #expect(await sockets[0].expectNone("receive_msg", within: .milliseconds(300)))
            }
        }
    }

    @Test func fiveHundredMessagesSentWithoutAwaitingRepliesArriveInOrder() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let conversation = try await chat.conversation(a, b)
            try await chat.withSockets([a, b], vsn: "2.0.0") { sockets in
                _ = try await sockets[0].joinRoom(joinRef: "1")
                _ = try await sockets[1].joinRoom(joinRef: "2")
                var refs: [String] = []
                for index in 0..<500 {
                    refs.append(
                        await sockets[0].push(
                            "room:chat",
                            "send_msg",
                            sendPayload(to: b, conversation: conversation, text: "m\(index)"),
                            joinRef: "1"
                        )
                    )
                }
                var ids: [Int] = []
                for ref in refs {
                    let reply = try await sockets[0].reply(to: ref, timeout: .seconds(60))
                    #expect(reply.status == "ok")
                    ids.append(try #require(reply.messageID))
                }
                #expect(ids == ids.sorted() && Set(ids).count == 500)
                // Pipelined: the socket did not wait for each commit, so its sends shared conversation batches
                // (and so commits): fewer batches than messages.
                let metrics = String(decoding: try await chat.http.send(.GET, "/metrics").body, as: UTF8.self)
                let batches = metrics.split(separator: "\n").first { $0.hasPrefix("broker_conversation_batch_size_count") }
                let batchCount = batches.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 500
                #expect(batchCount < 500, "\(batches ?? "no batch metric")")
                var received: [String] = []
                for _ in 0..<500 {
                    received.append(try await sockets[1].nextPush("receive_msg", timeout: .seconds(60)).message?["content"] as? String ?? "")
                }
                #expect(received == (0..<500).map { "m\($0)" })
            }
        }
    }

    @Test func manyUsersSendingAtOnceEachRecipientSeesItsConversationInOrder() async throws {
        try await ChatFixture.run { chat in
            var pairs: [(ChatUser, ChatUser, Int)] = []
            for index in 0..<8 {
                let a = try await chat.signUp("a\(index)@x.io")
                let b = try await chat.signUp("b\(index)@x.io")
                pairs.append((a, b, try await chat.conversation(a, b)))
            }
            let users = pairs.flatMap { [$0.0, $0.1] }
            let captured = pairs
            try await chat.withSockets(users, vsn: "2.0.0") { sockets in
                for (index, socket) in sockets.enumerated() { _ = try await socket.joinRoom(joinRef: "\(index)") }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (pairIndex, pair) in captured.enumerated() {
                        let sender = sockets[pairIndex * 2]
                        let receiver = sockets[pairIndex * 2 + 1]
                        group.addTask {
                            var refs: [String] = []
                            for index in 0..<50 {
                                refs.append(
                                    await sender.push(
                                        "room:chat",
                                        "send_msg",
                                        sendPayload(to: pair.1, conversation: pair.2, text: "\(index)"),
                                        joinRef: "\(pairIndex * 2)"
                                    )
                                )
                            }
                            for ref in refs {
                                let reply = try await sender.reply(to: ref, timeout: .seconds(60))
                                #expect(reply.status == "ok")
                            }
                        }
                        group.addTask {
                            var got: [String] = []
                            for _ in 0..<50 {
                                got.append(try await receiver.nextPush("receive_msg", timeout: .seconds(60)).message?["content"] as? String ?? "")
                            }
                            #expect(got == (0..<50).map(String.init))
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }

    @Test(arguments: versions)
    func aDuplicateJoinClosesTheOldJoinAndPushesUseTheNewRef(vsn: String) async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let conversation = try await chat.conversation(a, b)
            try await chat.withSockets([a, b], vsn: vsn) { sockets in
                _ = try await sockets[0].joinRoom(joinRef: "1")
                _ = try await sockets[1].joinRoom(joinRef: "old")
                let again = try await sockets[1].joinRoom(joinRef: "new")
                #expect(again.status == "ok")
                let closed = try await sockets[1].first("phx_close") { $0.event == "phx_close" }
                #expect(closed.joinRef == "old" && closed.topic == "room:chat")
                let ref = await sockets[0].push("room:chat", "send_msg", sendPayload(to: b, conversation: conversation, text: "x"), joinRef: "1")
                _ = try await sockets[0].reply(to: ref)
                #expect(try await sockets[1].nextPush("receive_msg").joinRef == "new")
                #expect(await sockets[1].expectNone("receive_msg", within: .milliseconds(200)), "one push per message")
            }
        }
    }

    @Test func leaveRepliesOkAndStopsPushes() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let conversation = try await chat.conversation(a, b)
            try await chat.withSockets([a, b], vsn: "2.0.0") { sockets in
                _ = try await sockets[0].joinRoom(joinRef: "1")
                _ = try await sockets[1].joinRoom(joinRef: "2")
                let leave = await sockets[1].push("room:chat", "phx_leave", "{}", joinRef: "2")
                #expect(try await sockets[1].reply(to: leave).status == "ok")
                let ref = await sockets[0].push("room:chat", "send_msg", sendPayload(to: b, conversation: conversation, text: "x"), joinRef: "1")
                #expect(try await sockets[0].reply(to: ref).status == "ok")
                #expect(await sockets[1].expectNone("receive_msg", within: .milliseconds(300)))
            }
        }
    }

    @Test func resendsWithTheSameClientIDStoreAndPushOnce() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let conversation = try await chat.conversation(a, b)
            try await chat.withSockets([a, b], vsn: "2.0.0") { sockets in
                _ = try await sockets[0].joinRoom(joinRef: "1")
                _ = try await sockets[1].joinRoom(joinRef: "2")
                let payload = sendPayload(to: b, conversation: conversation, text: "once", clientID: "c-1")
                let first = await sockets[0].push("room:chat", "send_msg", payload, joinRef: "1")
                let second = await sockets[0].push("room:chat", "send_msg", payload, joinRef: "1")
                let id1 = try await sockets[0].reply(to: first).messageID
                let secondReply = try await sockets[0].reply(to: second)
                #expect(secondReply.status == "ok" && secondReply.messageID == id1)
                #expect(secondReply.message?["client_id"] as? String == "c-1")
                _ = try await sockets[1].nextPush("receive_msg")
                #expect(await sockets[1].expectNone("receive_msg", within: .milliseconds(300)))
            }
            #expect(try await chat.history(conversation, as: a).count == 1)
        }
    }

    @Test func anHTTPPostIsDeliveredLiveAndAResendIsNotPushed() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let conversation = try await chat.conversation(a, b)
            try await chat.withSockets([a, b], vsn: "2.0.0") { sockets in
                _ = try await sockets[0].joinRoom(joinRef: "1")
                _ = try await sockets[1].joinRoom(joinRef: "2")
                let body = #"{"message": {"content": "via http", "client_id": "h1"}}"#
                let first = try await chat.http.send(.POST, "/api/conversations/\(conversation)/messages", json: body, token: a.token)
                #expect(first.status == 201)
                let push = try await sockets[1].nextPush("receive_msg")
                #expect(push.message?["content"] as? String == "via http")
                #expect(try await sockets[0].nextPush("receive_msg").joinRef == "1", "the sender's sockets get it too")
                let again = try await chat.http.send(.POST, "/api/conversations/\(conversation)/messages", json: body, token: a.token)
                #expect(again.status == 200)
                #expect(await sockets[1].expectNone("receive_msg", within: .milliseconds(300)))
            }
        }
    }

    @Test func badTokensAndUnknownVersionsRefuseTheUpgrade() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            for query in ["", "?token=garbage", "?token=\(a.token)x", "?vsn=2.0.0"] {
                let refused = try await chat.http.send(.GET, "/socket/websocket\(query)")
                #expect(refused.status == 403, "\(query)")
            }
            #expect(try await chat.http.send(.GET, "/socket/websocket?token=\(a.token)&vsn=9").status == 400)
            // A real upgrade request is refused with the same statuses and the contract's error body.
            for query in ["", "?token=garbage", "?token=\(a.token)x", "?vsn=2.0.0"] {
                let refused = try RawUpgrade.attempt(port: chat.broker.port, target: "/socket/websocket\(query)")
                #expect(refused.status == 403, "\(query)")
                #expect(refused.body.contains(#""errors":{"detail":"#), "\(refused.body)")
            }
            let badVersion = try RawUpgrade.attempt(port: chat.broker.port, target: "/socket/websocket?token=\(a.token)&vsn=9")
            #expect(badVersion.status == 400)
            #expect(badVersion.body.contains(#""detail""#))
            #expect(try RawUpgrade.attempt(port: chat.broker.port, target: "/socket/elsewhere?token=\(a.token)").status == 404)
            #expect(try RawUpgrade.attempt(port: chat.broker.port, target: "/socket/websocket?token=\(a.token)", method: "POST").status == 405)
            let socket = PhoenixTestSocket(vsn: "2.0.0")
            await #expect(throws: (any Error).self) {
                try await socket.run(url: "ws://127.0.0.1:\(chat.broker.port)/socket/websocket?token=nope&vsn=2.0.0")
            }
            _ = try await chat.http.send(.POST, "/api/logout", token: a.token)
            #expect(try await chat.http.send(.GET, "/socket/websocket?token=\(a.token)&vsn=2.0.0").status == 403)
            #expect(try RawUpgrade.attempt(port: chat.broker.port, target: "/socket/websocket?token=\(a.token)&vsn=2.0.0").status == 403)
        }
    }

    @Test func framesOverTheLimitCloseWith1009AndIdleSocketsAreClosed() async throws {
        try await ChatFixture.run(environment: ["BROKER_MAX_FRAME_BYTES": "2048", "BROKER_IDLE_TIMEOUT": "3"]) { chat in
            let a = try await chat.signUp("a@x.io")
            try await chat.withSockets([a, a], vsn: "2.0.0") { sockets in
                _ = try await sockets[0].joinRoom()
                await sockets[0].push("phoenix", "heartbeat", #"{"pad":"\#(String(repeating: "x", count: 4_000))"}"#)
                #expect(try await sockets[0].waitForClose(timeout: .seconds(30)) == 1009)
                // The idle socket (it never spoke after joining) is closed by the sweep, with 1001 (going away).
                #expect(try await sockets[1].waitForClose(timeout: .seconds(30)) == 1001)
            }
            // WebSocket pings count as activity: a socket that only pings, 12 times as often as the timeout,
            // outlives it and gets a pong for each ping; once it stops, it is closed with 1001.
            let pinger = try await offThePool { try StalledReader(port: chat.broker.port, token: a.token) }
            for _ in 0..<10 {
                try pinger.sendPing()
                try await Task.sleep(for: .milliseconds(250))  // the client's pace
            }
            let pongs = try await offThePool {
                var pongs = 0
                let code = pinger.readUntilClose(timeout: .seconds(30), onFrame: { if $0 == 0xA { pongs += 1 } })
                return (code, pongs)
            }
            #expect(pongs.0 == 1001)
            #expect(pongs.1 == 10)
            // A message in fragments is reassembled; fragments adding up to more than the limit close with 1009.
            let fragmented = try await offThePool { try StalledReader(port: chat.broker.port, token: a.token) }
            try fragmented.sendFragmented([#"[null,"hb","phoe"#, #"nix","heartbeat","#, "{}]"])
            // The join's reply, presence_state, and the reassembled heartbeat's reply.
            #expect(try await offThePool { fragmented.readTextFrames(3, timeout: .seconds(30)) })
            try fragmented.sendFragmented([String(repeating: " ", count: 1_500), String(repeating: " ", count: 1_500)])
            let closed = try await offThePool {
                var texts = 0
                let code = fragmented.readUntilClose(timeout: .seconds(30), onFrame: { if $0 == 0x1 { texts += 1 } })
                return (code, texts)
            }
            #expect(closed.0 == 1009)
            #expect(closed.1 == 0, "nothing more than the three above")
            #expect(try await chat.http.send(.GET, "/healthz").status == 200)
        }
    }

    @Test func metricsCountConnectionsJoinsMessagesAndBatches() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let conversation = try await chat.conversation(a, b)
            try await chat.withSockets([a, b], vsn: "2.0.0") { sockets in
                _ = try await sockets[0].joinRoom(joinRef: "1")
                _ = try await sockets[1].joinRoom(joinRef: "2")
                for index in 0..<3 {
                    let ref = await sockets[0].push(
                        "room:chat",
                        "send_msg",
                        sendPayload(to: b, conversation: conversation, text: "\(index)"),
                        joinRef: "1"
                    )
                    _ = try await sockets[0].reply(to: ref)
                    _ = try await sockets[1].nextPush("receive_msg")
                }
                let bad = await sockets[0].push("room:chat", "send_msg", "{}", joinRef: "1")
                _ = try await sockets[0].reply(to: bad)
                let response = try await chat.http.send(.GET, "/metrics")
                #expect(response.status == 200)
                let text = String(decoding: response.body, as: UTF8.self)
                let lines = Set(text.split(separator: "\n").map(String.init))
                #expect(lines.contains("broker_connections 2.0"), "\(text)")
                #expect(lines.contains("broker_joins_total 2"))
                #expect(lines.contains("broker_messages_in_total 3"))
                #expect(lines.contains("broker_messages_delivered_total 3"))
                #expect(lines.contains(#"broker_errors_total{reason="invalid payload"} 1"#))
                #expect(text.contains("broker_store_batch_size"))
                #expect(text.contains("broker_store_commit_seconds"))
                #expect(!text.contains("a@x.io") && !text.contains(a.token))
            }
        }
    }
}
