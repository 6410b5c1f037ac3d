import Foundation
import Synchronization
import Testing

/// Two broker processes on one PostgreSQL database: users on different nodes chat as if on one.
@Suite(.timeLimit(.minutes(3)))
struct ClusterTests {
    @Test func messagesStoredOnOneNodeReachTheRecipientOnTheOther() async throws {
        try await ClusterFixture.run { cluster in
            let a = try await cluster.chat(0).signUp("a@x.io")
            let b = try await cluster.chat(1).signUp("b@x.io")
            let ab = try await cluster.chat(0).conversation(a, b)
            try await cluster.withSockets([(0, a), (1, b)]) { sockets in
                let (onOne, onTwo) = (sockets[0], sockets[1])
                _ = try await onOne.joinRoom(joinRef: "a")
                _ = try await onTwo.joinRoom(joinRef: "b")
                let ref = await onOne.push("room:chat", "send_msg", sendPayload(to: b, conversation: ab, text: "hi from one"), joinRef: "a")
                let sent = try #require(try await onOne.reply(to: ref).messageID)
                let pushed = try await onTwo.nextPush("receive_msg")
                #expect(pushed.messageID == sent && pushed.message?["content"] as? String == "hi from one")
                #expect(pushed.joinRef == "b")

                let back = await onTwo.push("room:chat", "send_msg", sendPayload(to: a, conversation: ab, text: "hi from two"), joinRef: "b")
                let answer = try #require(try await onTwo.reply(to: back).messageID)
                // A's socket gets B's message and never its own.
                #expect(try await onOne.nextPush("receive_msg").messageID == answer)

                let posted = try await cluster.chat(1).http.send(
                    .POST,
                    "/api/conversations/\(ab)/messages",
                    json: #"{"message": {"content": "over http on two"}}"#,
                    token: b.token
                )
                #expect(posted.status == 201)
                let postedID = try #require((posted.json["data"] as? [String: Any])?["id"] as? Int)
                #expect(try await onOne.nextPush("receive_msg").messageID == postedID)
                #expect(try await onTwo.nextPush("receive_msg").messageID == postedID, "B's own socket sees its HTTP post")

                // Too large for one notification (12,000 bytes): it travels as its id and is read from the store.
                let large = String(repeating: "é", count: 6_000)
                let big = await onOne.push("room:chat", "send_msg", sendPayload(to: b, conversation: ab, text: large), joinRef: "a")
                let bigID = try #require(try await onOne.reply(to: big).messageID)
                let arrived = try await onTwo.nextPush("receive_msg")
                #expect(arrived.messageID == bigID && arrived.message?["content"] as? String == large)
            }
        }
    }

    @Test func everyDeviceOfAUserGetsTheMessageWhicheverNodeItIsOn() async throws {
        try await ClusterFixture.run { cluster in
            let a = try await cluster.chat(0).signUp("a@x.io")
            let b = try await cluster.chat(0).signUp("b@x.io")
            let ab = try await cluster.chat(0).conversation(a, b)
            try await cluster.withSockets([(0, a), (1, a), (1, b), (0, b)]) { sockets in
                for (index, socket) in sockets.enumerated() { _ = try await socket.joinRoom(joinRef: "\(index)") }
                let ref = await sockets[0].push("room:chat", "send_msg", sendPayload(to: b, conversation: ab, text: "all devices"), joinRef: "0")
                let sent = try #require(try await sockets[0].reply(to: ref).messageID)
                for socket in sockets[1...] { #expect(try await socket.nextPush("receive_msg").messageID == sent) }
                // The sending socket is left out: the next push it sees is the reply from B's other node.
                let reply = await sockets[3].push("room:chat", "send_msg", sendPayload(to: a, conversation: ab, text: "back"), joinRef: "3")
                let answer = try #require(try await sockets[3].reply(to: reply).messageID)
                #expect(try await sockets[0].nextPush("receive_msg").messageID == answer)
                #expect(try await sockets[1].nextPush("receive_msg").messageID == answer)
                #expect(try await sockets[2].nextPush("receive_msg").messageID == answer)
            }
        }
    }

    @Test func presenceIsServiceWide() async throws {
        try await ClusterFixture.run { cluster in
            let a = try await cluster.chat(0).signUp("a@x.io")
            let b = try await cluster.chat(0).signUp("b@x.io")
            let ab = try await cluster.chat(0).conversation(a, b)
            try await cluster.withSockets([(0, a)]) { watcher in
                _ = try await watcher[0].joinRoom(joinRef: "w")
                #expect(try await watcher[0].nextPush("presence_state").payload.isEmpty)
                try await cluster.withSockets([(1, b), (0, b)]) { devices in
                    _ = try await devices[0].joinRoom(joinRef: "d0")
                    let state = try await devices[0].nextPush("presence_state")
                    #expect(Set(state.payload.keys) == [String(a.id)], "A, online on node 1, is online for B on node 2")
                    let joined = try await watcher[0].nextPush("presence_diff")
                    #expect(Set((joined.payload["joins"] as? [String: Any] ?? [:]).keys) == [String(b.id)])
                    _ = try await devices[1].joinRoom(joinRef: "d1")
                    #expect(
                        await watcher[0].expectNone("presence_diff", within: .milliseconds(500)),
                        "a second device on another node causes no diff"
                    )
                    await devices[0].close()
                    #expect(await watcher[0].expectNone("presence_diff", within: .milliseconds(500)), "still online on node 1")
                    await devices[1].close()
                    let left = try await watcher[0].nextPush("presence_diff")
                    #expect(Set((left.payload["leaves"] as? [String: Any] ?? [:]).keys) == [String(b.id)])
                }
                // Typing and read go across nodes too.
                try await cluster.withSockets([(1, b)]) { peer in
                    _ = try await peer[0].joinRoom(joinRef: "p")
                    let topic = "conversation:\(ab)"
                    _ = try await peer[0].reply(to: await peer[0].push(topic, "phx_join", "{}", joinRef: "c"))
                    _ = try await watcher[0].reply(to: await watcher[0].push(topic, "phx_join", "{}", joinRef: "c"))
                    _ = await watcher[0].push(topic, "typing", "{}", joinRef: "c")
                    let typing = try await peer[0].nextPush("typing")
                    #expect(typing.payload["user"] as? Int == a.id)
                }
            }
        }
    }

    @Test func logoutOnOneNodeClosesTheTokensSocketsOnEveryNode() async throws {
        try await ClusterFixture.run { cluster in
            let a = try await cluster.chat(0).signUp("a@x.io")
            let b = try await cluster.chat(0).signUp("b@x.io")
            try await cluster.withSockets([(1, a), (0, a), (1, b)]) { sockets in
                for socket in sockets { _ = try await socket.joinRoom() }
                #expect(try await cluster.chat(0).http.send(.POST, "/api/logout", token: a.token).status == 204)
                #expect(try await sockets[0].waitForClose(timeout: .seconds(10)) == 1008, "closed on the other node")
                #expect(try await sockets[1].waitForClose(timeout: .seconds(10)) == 1008)
                let heartbeat = await sockets[2].push("phoenix", "heartbeat")
                #expect(try await sockets[2].reply(to: heartbeat).status == "ok")
            }
            // And the token is refused on both nodes.
            #expect(try await cluster.chat(1).http.send(.GET, "/api/users/me", token: a.token).status == 401)
        }
    }

    /// Two senders, one per node, keep sending to B while B rejoins twenty times, alternating nodes, each time
    /// from the last id it saw: B sees every message exactly once, in id order.
    @Test func rejoinsAcrossNodesDuringSendsOnBothHaveNoGapAndNoDuplicate() async throws {
        try await ClusterFixture.run { cluster in
            let one = try await cluster.chat(0).signUp("one@x.io")
            let two = try await cluster.chat(1).signUp("two@x.io")
            let b = try await cluster.chat(0).signUp("b@x.io")
            let conversations = [try await cluster.chat(0).conversation(one, b), try await cluster.chat(1).conversation(two, b)]
            let shared = SendProgress()
            try await cluster.withSockets([(0, one), (1, two), (0, b), (1, b)]) { sockets in
                let senders = [sockets[0], sockets[1]]
                let receivers = [sockets[2], sockets[3]]
                for (index, sender) in senders.enumerated() { _ = try await sender.joinRoom(joinRef: "s\(index)") }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, sender) in senders.enumerated() {
                        let conversation = conversations[index]
                        group.addTask {
                            try await shared.keepSending(from: sender, joinRef: "s\(index)", batch: 5, limit: 3_000) { count in
                                sendPayload(to: b, conversation: conversation, text: "\(index)-\(count)")
                            }
                        }
                    }
                    var received: [Int] = []
                    var last = 0
                    for round in 0..<20 {
                        let receiver = receivers[round % 2]
                        let join = try await receiver.joinRoom(joinRef: "r\(round)", payload: #"{"last_seen_id": \#(last)}"#)
                        #expect(join.status == "ok")
                        for _ in 0..<6 {
                            let push = try await receiver.first("push of r\(round)", timeout: .seconds(30)) {
                                $0.event == "receive_msg" && $0.joinRef == "r\(round)"
                            }
                            let id = try #require(push.messageID)
                            received.append(id)
                            shared.received.store(received.count, ordering: .relaxed)
                            last = id
                        }
                        if round < 19 {
                            _ = try await receiver.reply(to: await receiver.push("room:chat", "phx_leave", "{}", joinRef: "r\(round)"))
                        }
                    }
                    shared.done.store(true, ordering: .relaxed)
                    try await group.waitForAll()
                    try await shared.expectEverySentIDOnce(at: receivers[1], joinRef: "r19", after: received)
                }
            }
        }
    }

    /// Node 1 is killed while A (on node 2) keeps sending to B (on node 1): B reconnects to node 2 and recovers
    /// every acknowledged message by `last_seen_id`; A sees B go offline when node 1 stops beating.
    @Test func whenANodeIsKilledItsClientsRecoverEverythingOnAnother() async throws {
        try await ClusterFixture.run { cluster in
            let a = try await cluster.chat(1).signUp("a@x.io")
            let b = try await cluster.chat(1).signUp("b@x.io")
            let ab = try await cluster.chat(1).conversation(a, b)
            let acknowledged = SendProgress()
            try await cluster.withSockets([(1, a), (0, b)]) { sockets in
                let (sender, victim) = (sockets[0], sockets[1])
                _ = try await sender.joinRoom(joinRef: "a")
                _ = try await victim.joinRoom(joinRef: "b")
                _ = try await sender.nextPush("presence_diff")  // B came online
                var seen: [Int] = []
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for index in 0..<400 {
                            let ref = await sender.push(
                                "room:chat",
                                "send_msg",
                                sendPayload(to: b, conversation: ab, text: "m\(index)"),
                                joinRef: "a"
                            )
                            if let id = try await sender.reply(to: ref, timeout: .seconds(30)).messageID {
                                acknowledged.sentIDs.withLock { $0.append(id) }
                            }
                            if index == 100 { try await cluster.nodes[0].kill() }
                        }
                    }
                    // B reads live until its node dies.
                    while let push = try? await victim.nextPush("receive_msg", timeout: .seconds(5)), let id = push.messageID {
                        seen.append(id)
                    }
                    try await group.waitForAll()
                }
                #expect(!seen.isEmpty && seen == seen.sorted())
                let liveIDs = seen
                let left = try await sender.nextPush("presence_diff", timeout: .seconds(20))
                #expect(Set((left.payload["leaves"] as? [String: Any] ?? [:]).keys) == [String(b.id)], "node 1 stopped beating")
                // B reconnects to node 2 and recovers from the last id it saw.
                try await cluster.withSockets([(1, b)]) { again in
                    let join = try await again[0].joinRoom(joinRef: "b2", payload: #"{"last_seen_id": \#(liveIDs.last ?? 0)}"#)
                    #expect(join.status == "ok")
                    let all = acknowledged.sentIDs.withLock { $0 }
                    let missing = all.filter { $0 > (liveIDs.last ?? 0) }
                    var recovered: [Int] = []
                    for _ in 0..<missing.count { recovered.append(try #require(try await again[0].nextPush("receive_msg").messageID)) }
                    #expect(recovered == missing)
                    #expect(Set(liveIDs + recovered) == Set(all), "every acknowledged message reached B exactly once")
                }
            }
        }
    }

    /// PostgreSQL stops under traffic: sends answer `unavailable`, `/readyz` answers 503 on both nodes, nothing
    /// acknowledged is lost, and both nodes recover by themselves when it is back (live delivery included).
    @Test func whenPostgreSQLStopsSendsAreUnavailableAndTheNodesRecoverByThemselves() async throws {
        let server = try await PrivatePostgres.start()
        do {
            try await outage(on: server)
        } catch {
            await server.remove()
            throw error
        }
        await server.remove()
    }

    private func outage(on server: PrivatePostgres) async throws {
        try await ClusterFixture.run(databaseURL: server.url) { cluster in
            let a = try await cluster.chat(0).signUp("a@x.io")
            let b = try await cluster.chat(1).signUp("b@x.io")
            let ab = try await cluster.chat(0).conversation(a, b)
            try await cluster.withSockets([(0, a), (1, b)]) { sockets in
                let (sender, receiver) = (sockets[0], sockets[1])
                _ = try await sender.joinRoom(joinRef: "a")
                _ = try await receiver.joinRoom(joinRef: "b")
                var acknowledged: [Int] = []
                var index = 0
                func send() async throws -> TestFrame {
                    index += 1
                    let ref = await sender.push("room:chat", "send_msg", sendPayload(to: b, conversation: ab, text: "m\(index)"), joinRef: "a")
                    let reply = try await sender.reply(to: ref, timeout: .seconds(30))
                    if let id = reply.messageID { acknowledged.append(id) }
                    return reply
                }
                for _ in 0..<20 { #expect(try await send().status == "ok") }

                try await server.halt()
                var unavailable = 0
                let outageEnds = ContinuousClock.now + .seconds(30)
                while unavailable < 3, ContinuousClock.now < outageEnds {
                    let reply = try await send()
                    if reply.status == "error" {
                        #expect(reply.reason == "unavailable")
                        unavailable += 1
                    }
                }
                #expect(unavailable == 3, "sends during the outage are answered unavailable")
                for node in cluster.nodes.all {
                    #expect(try await HTTP(base: node.baseURL).send(.GET, "/readyz").status == 503)
                }

                try await server.resume()
                for node in cluster.nodes.all { try await ClusterFixture.waitUntilReady(node, timeout: .seconds(60)) }
                var afterwards = 0
                let recoveryEnds = ContinuousClock.now + .seconds(30)
                while afterwards < 20, ContinuousClock.now < recoveryEnds {
                    if try await send().status == "ok" { afterwards += 1 }
                }
                #expect(afterwards == 20, "sends go through again without a restart")

                // B got every acknowledged message once, live or caught up after the outage.
                var received: [Int] = []
                while received.count < acknowledged.count {
                    received.append(try #require(try await receiver.nextPush("receive_msg", timeout: .seconds(20)).messageID))
                }
                #expect(received == acknowledged.sorted())
                let stored = try await cluster.chat(1).history(ab, as: b).compactMap { $0["id"] as? Int }
                #expect(Set(stored) == Set(acknowledged), "nothing acknowledged is lost")
            }
        }
    }
}
