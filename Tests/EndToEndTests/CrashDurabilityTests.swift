import Foundation
import Synchronization
import Testing

/// `kill -9` of the server while messages are being sent loses no acknowledged message.
@Suite(.timeLimit(.minutes(2)))
struct CrashDurabilityTests {
    final class Acks: Sendable {
        let list = Mutex<[(id: Int, content: String)]>([])
    }

    @Test(arguments: ["full", "normal"])
    func killNineDuringSendsLosesNoAcknowledgedMessage(sync: String) async throws {
        let environment = [
            "BROKER_SYNC": sync, "BROKER_AUTH_RATE": "10000", "BROKER_AUTH_BURST": "10000", "BROKER_SEND_RATE": "100000",
            "BROKER_SEND_BURST": "100000",
        ]
        let broker = try await BrokerProcess(environment: environment)
        defer { broker.removeFiles() }
        let chat = ChatFixture(broker: broker)
        let a = try await chat.signUp("a@x.io")
        let b = try await chat.signUp("b@x.io")
        let conversation = try await chat.conversation(a, b)
        let acks = Acks()
        let senders = 4
        await withThrowingTaskGroup(of: Void.self) { group in
            for sender in 0..<senders {
                let socket = PhoenixTestSocket(vsn: "2.0.0")
                group.addTask { try await socket.run(url: chat.socketURL(a, vsn: "2.0.0")) }
                group.addTask {
                    _ = try await socket.joinRoom(joinRef: "1")
                    // Pipelined sends, acknowledged one by one until the server dies under them.
                    var refs: [(String, String)] = []
                    for index in 0..<400 {
                        let content = "s\(sender)-\(index)"
                        refs.append(
                            (
                                await socket.push(
                                    "room:chat",
                                    "send_msg",
                                    sendPayload(to: b, conversation: conversation, text: content),
                                    joinRef: "1"
                                ), content
                            )
                        )
                    }
                    for (ref, content) in refs {
                        guard let reply = try? await socket.reply(to: ref, timeout: .seconds(5)) else { return }
                        if reply.status == "ok", let id = reply.messageID { acks.list.withLock { $0.append((id, content)) } }
                    }
                }
            }
            group.addTask {
                let deadline = ContinuousClock.now + .seconds(30)
                while acks.list.withLock({ $0.count }) < 200, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(5))  // waits for enough acknowledgements before the kill
                }
                try await broker.kill()
            }
            while let _ = try? await group.next() {}
        }
        let acknowledged = acks.list.withLock { $0 }
        #expect(acknowledged.count >= 200)

        let restarted = try await BrokerProcess(workingDirectory: broker.workingDirectory, environment: environment)
        let after = ChatFixture(broker: restarted)
        var stored: [Int: String] = [:]
        var query = "?limit=200"
        while true {
            let page = try await after.history(conversation, as: a, query: query)
            for message in page {
                if let id = message["id"] as? Int { stored[id] = message["content"] as? String }
            }
            guard let oldest = page.compactMap({ $0["id"] as? Int }).min(), oldest > 1 else { break }
            query = "?limit=200&before_id=\(oldest)"
        }
        let lost = acknowledged.filter { stored[$0.id] != $0.content }
        #expect(lost.isEmpty, "acknowledged but missing after restart: \(lost.prefix(5))")
        #expect(try await restarted.terminate() == 0)
    }
}
