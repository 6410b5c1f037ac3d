import Foundation
import Testing

/// Presence on `room:chat`, and typing and read on `conversation:<id>`.
@Suite(.timeLimit(.minutes(2)))
struct PresenceTests {
    @Test func partnersSeeJoinsOnceAndLeavesWhenTheLastDeviceLeaves() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let stranger = try await chat.signUp("s@x.io")
            _ = try await chat.conversation(a, b)
            try await chat.withSockets([a], vsn: "2.0.0") { watcher in
                _ = try await watcher[0].joinRoom(joinRef: "w")
                let empty = try await watcher[0].nextPush("presence_state")
                #expect(empty.payload.isEmpty, "nobody else online, never the user itself")
                try await chat.withSockets([b, b, stranger], vsn: "2.0.0") { devices in
                    _ = try await devices[2].joinRoom(joinRef: "s")
                    _ = try await devices[0].joinRoom(joinRef: "d0")
                    let state = try await devices[0].nextPush("presence_state")
                    #expect(Set(state.payload.keys) == [String(a.id)])
                    #expect(((state.payload[String(a.id)] as? [String: Any])?["online_at"] as? String)?.hasSuffix("Z") == true)
                    let joined = try await watcher[0].nextPush("presence_diff")
                    #expect(Set((joined.payload["joins"] as? [String: Any] ?? [:]).keys) == [String(b.id)])
                    #expect((joined.payload["leaves"] as? [String: Any])?.isEmpty == true)
                    _ = try await devices[1].joinRoom(joinRef: "d1")
                    #expect(await watcher[0].expectNone("presence_diff", within: .milliseconds(300)), "a second device causes no diff")
                    let leave = await devices[0].push("room:chat", "phx_leave", "{}", joinRef: "d0")
                    _ = try await devices[0].reply(to: leave)
                    #expect(await watcher[0].expectNone("presence_diff", within: .milliseconds(300)), "still online on the other device")
                    await devices[1].close()
                    let left = try await watcher[0].nextPush("presence_diff")
                    #expect(Set((left.payload["leaves"] as? [String: Any] ?? [:]).keys) == [String(b.id)])
                }
            }
        }
    }

    @Test func aClientThatGoesAwayWithoutACloseFrameLeavesAtOnce() async throws {
        try await ChatFixture.run(environment: ["BROKER_MAX_SOCKETS_PER_USER": "1"]) { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            _ = try await chat.conversation(a, b)
            try await chat.withSockets([a], vsn: "2.0.0") { watcher in
                _ = try await watcher[0].joinRoom(joinRef: "w")
                _ = try await watcher[0].nextPush("presence_state")
                let device = try StalledReader(port: chat.broker.port, token: b.token)
                let joined = try await watcher[0].nextPush("presence_diff")
                #expect(Set((joined.payload["joins"] as? [String: Any] ?? [:]).keys) == [String(b.id)])
                // A FIN with no close frame: the socket is closed, b goes offline, and its one allowed socket is
                // free again, long before any idle timeout.
                device.shutdownWriting()
                let left = try await watcher[0].nextPush("presence_diff", timeout: .seconds(5))
                #expect(Set((left.payload["leaves"] as? [String: Any] ?? [:]).keys) == [String(b.id)])
                try await Task.sleep(for: .milliseconds(200))
                _ = try StalledReader(port: chat.broker.port, token: b.token)
            }
        }
    }

    @Test func typingGoesToThePeerAndReadIsStoredAndForwarded() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let c = try await chat.signUp("c@x.io")
            let ab = try await chat.conversation(a, b)
            let sent = try await chat.http.send(
                .POST,
                "/api/conversations/\(ab)/messages",
                json: #"{"message": {"content": "read me"}}"#,
                token: a.token
            )
            let messageID = try #require((sent.json["data"] as? [String: Any])?["id"] as? Int)
            try await chat.withSockets([a, b, a, c], vsn: "2.0.0") { sockets in
                let topic = "conversation:\(ab)"
                for (index, socket) in sockets.prefix(3).enumerated() {
                    let ref = await socket.push(topic, "phx_join", "{}", joinRef: "t\(index)")
                    #expect(try await socket.reply(to: ref).status == "ok")
                }
                let outsider = await sockets[3].push(topic, "phx_join", "{}", joinRef: "x")
                #expect(try await sockets[3].reply(to: outsider).reason == "not a participant")

                await sockets[0].push(topic, "typing", "{}", joinRef: "t0")
                let typing = try await sockets[1].nextPush("typing")
                #expect(typing.topic == topic && typing.joinRef == "t1" && typing.payload["user"] as? Int == a.id)
                #expect(await sockets[2].expectNone("typing", within: .milliseconds(200)), "typing goes to the other participant only")

                let read = await sockets[1].push(topic, "read", #"{"message_id": \#(messageID)}"#, joinRef: "t1")
                #expect(try await sockets[1].reply(to: read).status == "ok")
                for socket in [sockets[0], sockets[2]] {
                    let forwarded = try await socket.nextPush("read")
                    #expect(forwarded.payload["user"] as? Int == b.id && forwarded.payload["message_id"] as? Int == messageID)
                }
                let backwards = await sockets[1].push(topic, "read", #"{"message_id": 1}"#, joinRef: "t1")
                #expect(try await sockets[1].reply(to: backwards).status == "ok")
            }
            let list = try await chat.http.send(.GET, "/api/conversations", token: b.token)
            let conversation = try #require((list.json["data"] as? [[String: Any]])?.first)
            #expect(conversation["last_read_id"] as? Int == messageID, "the read position never moves backwards")
            let forA = try await chat.http.send(.GET, "/api/conversations", token: a.token)
            #expect((forA.json["data"] as? [[String: Any]])?.first?["peer_last_read_id"] as? Int == messageID)
        }
    }
}
