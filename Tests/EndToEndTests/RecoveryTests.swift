import Foundation
import Synchronization
import Testing

/// What a sending task shares with the test body.
final class SendProgress: Sendable {
    let sentIDs = Mutex<[Int]>([])
    let done = Atomic<Bool>(false)
    let received = Atomic<Int>(0)

    /// Sends `payload(n)` in batches of `batch` until `done` or `limit` messages, recording every acknowledged
    /// id, and never more than 300 ahead of what the receiver took (the recovery window is 1,000, so no
    /// rejoin is truncated).
    func keepSending(
        from sender: PhoenixTestSocket,
        joinRef: String,
        batch: Int,
        limit: Int,
        _ payload: @Sendable (Int) -> String
    ) async throws {
        var index = 0
        while !done.load(ordering: .relaxed), index < limit {
            while sentIDs.withLock({ $0.count }) - received.load(ordering: .relaxed) > 300 {
                try await Task.sleep(for: .milliseconds(1))  // waiting for the receiver to catch up
            }
            var refs: [String] = []
            for _ in 0..<batch {
                refs.append(await sender.push("room:chat", "send_msg", payload(index), joinRef: joinRef))
                index += 1
            }
            for ref in refs {
                if let id = try await sender.reply(to: ref, timeout: .seconds(30)).messageID {
                    sentIDs.withLock { $0.append(id) }
                }
            }
        }
    }
    /// After the senders stopped: takes `receiver`'s pushes of the join `joinRef` up to the last id sent, then
    /// checks that every sent id arrived exactly once, in order (`received` holds what arrived before).
    func expectEverySentIDOnce(
        at receiver: PhoenixTestSocket,
        joinRef: String,
        after received: [Int],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        var received = received
        var last = received.last ?? 0
        let final = sentIDs.withLock { $0.max() ?? 0 }
        while last < final {
            let push = try await receiver.first("tail", timeout: .seconds(30)) { $0.event == "receive_msg" && $0.joinRef == joinRef }
            let id = try #require(push.messageID)
            received.append(id)
            last = id
        }
        let sent = sentIDs.withLock { $0 }.sorted()
        #expect(
            received == sent,
            "gaps: \(Set(sent).subtracting(received).sorted().prefix(5)), duplicates: \(received.count - Set(received).count)",
            sourceLocation: sourceLocation
        )
    }
}

/// Recovery on rejoin with `last_seen_id`, and idempotent resends, over real sockets.
@Suite(.timeLimit(.minutes(3)))
struct RecoveryTests {
    @Test(arguments: ["1.0.0", "2.0.0"])
    func anOfflineRecipientRecoversExactlyTheMissedMessages(vsn: String) async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let c = try await chat.signUp("c@x.io")
            let ab = try await chat.conversation(a, b)
            let cb = try await chat.conversation(c, b)
            func post(_ user: ChatUser, _ conversation: Int, _ text: String) async throws -> Int {
                let response = try await chat.http.send(
                    .POST,
                    "/api/conversations/\(conversation)/messages",
                    json: #"{"message": {"content": "\#(text)"}}"#,
                    token: user.token
                )
                return try #require((response.json["data"] as? [String: Any])?["id"] as? Int)
            }
            let seen = try await post(a, ab, "seen")
            _ = try await post(b, ab, "own message, not recovered")
            let missed = [try await post(a, ab, "m1"), try await post(c, cb, "m2"), try await post(a, ab, "m3")]
            try await chat.withSockets([b, a], vsn: vsn) { sockets in
                let join = try await sockets[0].joinRoom(joinRef: "r1", payload: #"{"last_seen_id": \#(seen)}"#)
                #expect(join.status == "ok")
                #expect(join.response["recovered"] as? Int == 3 && join.response["truncated"] as? Bool == false)
                var got: [Int] = []
                for _ in 0..<3 {
                    let push = try await sockets[0].nextPush("receive_msg")
                    #expect(push.joinRef == "r1")
                    got.append(try #require(push.messageID))
                }
                #expect(got == missed)
                _ = try await sockets[1].joinRoom(joinRef: "a1")
                let ref = await sockets[1].push("room:chat", "send_msg", sendPayload(to: b, conversation: ab, text: "live"), joinRef: "a1")
                let live = try #require(try await sockets[1].reply(to: ref).messageID)
                #expect(try await sockets[0].nextPush("receive_msg").messageID == live)
                #expect(await sockets[0].expectNone("receive_msg", within: .milliseconds(200)))
            }
        }
    }

    @Test func recoveryIsCappedAtAThousandAndSaysTruncated() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let ab = try await chat.conversation(a, b)
            try await chat.withSockets([a], vsn: "2.0.0") { sockets in
                _ = try await sockets[0].joinRoom(joinRef: "1")
                var refs: [String] = []
                for index in 0..<1_005 {
                    refs.append(await sockets[0].push("room:chat", "send_msg", sendPayload(to: b, conversation: ab, text: "\(index)"), joinRef: "1"))
                }
                for ref in refs { _ = try await sockets[0].reply(to: ref, timeout: .seconds(60)) }
            }
            try await chat.withSockets([b], vsn: "2.0.0") { sockets in
                let join = try await sockets[0].joinRoom(joinRef: "1", payload: #"{"last_seen_id": 0}"#)
                #expect(join.response["recovered"] as? Int == 1_000 && join.response["truncated"] as? Bool == true)
                var ids: [Int] = []
                for _ in 0..<1_000 { ids.append(try #require(try await sockets[0].nextPush("receive_msg").messageID)) }
                #expect(ids == Array(1...1_000))
            }
        }
    }

    /// Twenty rounds: B rejoins with the last id it got while A keeps sending; B must see every message of A
    /// exactly once, in order.
    @Test func joinsDuringConcurrentSendsHaveNoGapAndNoDuplicate() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let ab = try await chat.conversation(a, b)
            let shared = SendProgress()
            try await chat.withSockets([a, b], vsn: "2.0.0") { sockets in
                let (sender, receiver) = (sockets[0], sockets[1])
                _ = try await sender.joinRoom(joinRef: "s")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try await shared.keepSending(from: sender, joinRef: "s", batch: 10, limit: 5_000) { index in
                            sendPayload(to: b, conversation: ab, text: "\(index)")
                        }
                    }
                    var received: [Int] = []
                    var last = 0
                    for round in 0..<20 {
                        let join = try await receiver.joinRoom(joinRef: "r\(round)", payload: #"{"last_seen_id": \#(last)}"#)
                        #expect(join.status == "ok")
                        // Take a few pushes of this join, then rejoin from the last id seen.
                        for _ in 0..<5 {
                            let push = try await receiver.first("push of r\(round)", timeout: .seconds(30)) {
                                $0.event == "receive_msg" && $0.joinRef == "r\(round)"
                            }
                            let id = try #require(push.messageID)
                            received.append(id)
                            shared.received.store(received.count, ordering: .relaxed)
                            last = id
                        }
                    }
                    shared.done.store(true, ordering: .relaxed)
                    try await group.waitForAll()
                    try await shared.expectEverySentIDOnce(at: receiver, joinRef: "r19", after: received)
                }
            }
        }
    }

    @Test func idempotentResendsRacingTheFirstAttemptStoreOne() async throws {
        try await ChatFixture.run { chat in
            let a = try await chat.signUp("a@x.io")
            let b = try await chat.signUp("b@x.io")
            let ab = try await chat.conversation(a, b)
            try await chat.withSockets([a, a, a], vsn: "2.0.0") { sockets in
                for (index, socket) in sockets.enumerated() { _ = try await socket.joinRoom(joinRef: "\(index)") }
                for round in 0..<10 {
                    let payload = sendPayload(to: b, conversation: ab, text: "once \(round)", clientID: "race-\(round)")
                    var refs: [(PhoenixTestSocket, String)] = []
                    for (index, socket) in sockets.enumerated() {
                        refs.append((socket, await socket.push("room:chat", "send_msg", payload, joinRef: "\(index)")))
                    }
                    let http = try await chat.http.send(
                        .POST,
                        "/api/conversations/\(ab)/messages",
                        json: #"{"message": {"content": "once \#(round)", "client_id": "race-\#(round)"}}"#,
                        token: a.token
                    )
                    var ids = Set<Int>()
                    for (socket, ref) in refs {
                        let reply = try await socket.reply(to: ref)
                        #expect(reply.status == "ok")
                        if let id = reply.messageID { ids.insert(id) }
                    }
                    if let id = (http.json["data"] as? [String: Any])?["id"] as? Int { ids.insert(id) }
                    #expect(ids.count == 1)
                }
            }
            #expect(try await chat.history(ab, as: b).count == 10)
        }
    }
}
