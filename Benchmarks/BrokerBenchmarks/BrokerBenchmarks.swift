import Benchmark
import Broker
import Foundation
import Gateway
import Logging
import NIOCore
import Store

/// Micro-benchmarks of the hot paths: frame decode and encode for both serializers, one send through the actor
/// path, and a store batch commit. Built only with `BROKER_BENCHMARKS=1`; run with
/// `BROKER_BENCHMARKS=1 swift package benchmark --target BrokerBenchmarks`.
let benchmarks: @Sendable () -> Void = {
    let sendV2 = ByteBuffer(
        string: #"["1","42","room:chat","send_msg",{"user":2,"conv":1,"message":"hello there, how are you?","client_id":"c-42"}]"#
    )
    let sendV1 = ByteBuffer(
        string:
            #"{"join_ref":"1","ref":"42","topic":"room:chat","event":"send_msg","payload":{"user":2,"conv":1,"message":"hello there, how are you?","client_id":"c-42"}}"#
    )
    let message = Message(
        id: MessageID(123_456),
        conversationID: ConversationID(42),
        senderID: UserID(7),
        content: "hello there, how are you?",
        insertedAt: Timestamp.now(),
        clientID: "c-42"
    )
    let payload = FrameEncoder.messagePayload(message)

    Benchmark("decode send_msg v2", configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput])) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try? PhoenixSerializer.v2.decode(sendV2)) }
    }
    Benchmark("decode send_msg v1", configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput])) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try? PhoenixSerializer.v1.decode(sendV1)) }
    }
    Benchmark("encode receive_msg payload", configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput])) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(FrameEncoder.messagePayload(message)) }
    }
    Benchmark("encode push envelope v2", configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput])) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(PhoenixSerializer.v2.encode(joinRef: "7", ref: nil, topic: "room:chat", event: "receive_msg", payload: payload))
        }
    }
    Benchmark("encode push envelope v1", configuration: .init(metrics: [.wallClock, .mallocCountTotal, .throughput])) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(PhoenixSerializer.v1.encode(joinRef: "7", ref: nil, topic: "room:chat", event: "receive_msg", payload: payload))
        }
    }

    Benchmark(
        "send through the actor path (SQLite in /dev/shm, sync normal)",
        configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(5))
    ) { benchmark in
        try await withTree { root, sender, recipient, conversation in
            benchmark.startMeasurement()
            for index in benchmark.scaledIterations {
                _ = try await root.send(
                    SendRequest(sender: sender, recipient: recipient, content: "m\(index)", clientID: nil, socket: nil),
                    in: conversation
                )
            }
            benchmark.stopMeasurement()
        }
    }

    for sync in [SyncMode.full, .normal] {
        Benchmark(
            "store batch commit of 100 messages (sync \(sync.rawValue))",
            configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(5))
        ) { benchmark in
            try await withStore(sync: sync, directory: FileManager.default.temporaryDirectory.path) { store, conversation, sender in
                let drafts = (0..<100).map {
                    NewMessage(conversationID: conversation, senderID: sender, content: "batch \($0)", clientID: nil)
                }
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations { blackHole(try await store.insertMessages(drafts)) }
                benchmark.stopMeasurement()
            }
        }
    }
}

/// A store with two users in one conversation, its writer running during `body`.
func withStore(
    sync: SyncMode,
    directory: String,
    _ body: (any Store, ConversationID, UserID) async throws -> Void
) async throws {
    let path = "\(directory)/bench-\(UUID().uuidString).sqlite"
    defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
    let store = try makeStore(for: StoreConfiguration(backend: .sqlite(path: path), sync: sync), logger: Logger(label: "bench"))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await store.run() }
        defer { group.cancelAll() }
        let users = try await store.createUsersInBulk([
            NewUser(name: "a", subname: "a", email: "a@bench.io", job: "j", passwordHash: "h"),
            NewUser(name: "b", subname: "b", email: "b@bench.io", job: "j", passwordHash: "h"),
        ])
        let (conversation, _) = try await store.conversation(between: users[0].id, and: users[1].id)
        try await body(store, conversation.id, users[0].id)
    }
}

/// A running actor tree over a store in /dev/shm.
func withTree(_ body: (BrokerRoot, UserID, UserID, ConversationID) async throws -> Void) async throws {
    try await withStore(sync: .normal, directory: "/dev/shm") { store, conversation, sender in
        let root = BrokerRoot(
            store: store,
            mailAdapter: LocalMailAdapter(),
            encoder: FrameEncoder(),
            configuration: .init(),
            logger: Logger(label: "bench")
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await root.supervisor.run() }
            defer { group.cancelAll() }
            let peer = try await requireConversation(store, conversation).peer(of: sender)
            try await body(root, sender, peer, conversation)
        }
    }
}

/// The stored conversation, or an error.
func requireConversation(_ store: any Store, _ id: ConversationID) async throws -> Conversation {
    guard let conversation = try await store.conversation(id: id) else { throw StoreError.notFound }
    return conversation
}
