import Foundation
import Synchronization
import Testing

final class DrainResults: Sendable {
    let acknowledged = Mutex<[Int]>([])
    let codes = Mutex<[Int?]>([])
}

/// SIGTERM drains the node: 503 on /readyz, every socket closed with 1012, exit 0, nothing acknowledged lost.
@Suite(.timeLimit(.minutes(2)))
struct DrainTests {
    @Test func sigtermWithFiftyLiveSocketsClosesAllWith1012AndLosesNothing() async throws {
        let environment = [
            "BROKER_AUTH_RATE": "10000", "BROKER_AUTH_BURST": "10000", "BROKER_SEND_RATE": "100000",
            "BROKER_SEND_BURST": "100000", "BROKER_MAX_SOCKETS_PER_USER": "100",
        ]
        let broker = try await BrokerProcess(environment: environment)
        defer { broker.removeFiles() }
        let chat = ChatFixture(broker: broker)
        let a = try await chat.signUp("a@x.io")
        let b = try await chat.signUp("b@x.io")
        let ab = try await chat.conversation(a, b)
        let results = DrainResults()
        try await chat.withSockets(Array(repeating: a, count: 25) + Array(repeating: b, count: 25), vsn: "2.0.0") { sockets in
            for (index, socket) in sockets.enumerated() { _ = try await socket.joinRoom(joinRef: "\(index)") }
            var refs: [String] = []
            for index in 0..<100 {
                refs.append(await sockets[0].push("room:chat", "send_msg", sendPayload(to: b, conversation: ab, text: "\(index)"), joinRef: "0"))
            }
            for ref in refs.prefix(20) {
                let reply = try await sockets[0].reply(to: ref, timeout: .seconds(30))
                if reply.status == "ok", let id = reply.messageID { results.acknowledged.withLock { $0.append(id) } }
            }
            broker.process.terminate()
            for ref in refs.dropFirst(20) {
                if let reply = try? await sockets[0].reply(to: ref, timeout: .seconds(5)), reply.status == "ok", let id = reply.messageID {
                    results.acknowledged.withLock { $0.append(id) }
                }
            }
            let ready = try? await chat.http.send(.GET, "/readyz")
            #expect(ready?.status == 503, "draining answers /readyz with 503")
            for socket in sockets {
                let code = try await socket.waitForClose(timeout: .seconds(10))
                results.codes.withLock { $0.append(code) }
            }
        }
        let exitStatus = try await broker.terminate()
        let codes = results.codes.withLock { $0 }
        let acknowledged = results.acknowledged.withLock { $0 }
        #expect(codes.allSatisfy { $0 == 1012 }, "\(codes)")
        #expect(exitStatus == 0)
        #expect(acknowledged.count >= 20)
        let restarted = try await BrokerProcess(workingDirectory: broker.workingDirectory, environment: environment)
        let stored = Set(try await ChatFixture(broker: restarted).history(ab, as: a).compactMap { $0["id"] as? Int })
        #expect(Set(acknowledged).isSubset(of: stored))
        #expect(try await restarted.terminate() == 0)
    }
}
