import Foundation
import Testing

/// A node that stops running for a while (SIGSTOP: a stalled VM, a debugger) without losing its connections.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ClusterFreezeTests {
    /// Node 1 is frozen past the node timeout while node 2 keeps storing; once resumed, node 1 finds its own
    /// beats did not come back, drops its lagging listener, catches up from the store, and its client gets
    /// every message exactly once, in order.
    @Test func aFrozenNodeCatchesUpOnceResumedAndItsClientsMissNothing() async throws {
        try await ClusterFixture.run { cluster in
            let a = try await cluster.chat(1).signUp("a@x.io")
            let b = try await cluster.chat(1).signUp("b@x.io")
            let ab = try await cluster.chat(1).conversation(a, b)
            try await cluster.withSockets([(1, a), (0, b)]) { sockets in
                let (sender, frozen) = (sockets[0], sockets[1])
                _ = try await sender.joinRoom(joinRef: "a")
                _ = try await frozen.joinRoom(joinRef: "b")
                _ = try await sender.nextPush("presence_diff")  // B came online
                var sent: [Int] = []
                func send(_ text: String) async throws {
                    let ref = await sender.push("room:chat", "send_msg", sendPayload(to: b, conversation: ab, text: text), joinRef: "a")
                    sent.append(try #require(try await sender.reply(to: ref, timeout: .seconds(30)).messageID))
                }
                for index in 0..<10 { try await send("before \(index)") }
                cluster.nodes[0].signal(SIGSTOP)
                let frozenAt = ContinuousClock.now
                for index in 0..<50 { try await send("frozen \(index)") }
                // The freeze itself, not a wait for readiness: past the node timeout (5 s) of both sides.
                try await Task.sleep(until: frozenAt + .seconds(7))
                cluster.nodes[0].signal(SIGCONT)
                for index in 0..<10 { try await send("after \(index)") }
                var seen: [Int] = []
                for _ in sent { seen.append(try #require(try await frozen.nextPush("receive_msg", timeout: .seconds(20)).messageID)) }
                #expect(seen == sent, "every message reached the frozen node's client once, in order")
                #expect(await frozen.expectNone("receive_msg", within: .seconds(1)), "and nothing twice")
            }
        }
    }
}
