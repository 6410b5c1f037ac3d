import ArgumentParser
import Foundation
import Gateway
import Logging
import Store

/// `broker seed-load --users N --out FILE`: N users in ⌊N/2⌋ conversations with valid tokens, for load-test
/// harnesses. The users share one password hash (computed once) so seeding 100,000 takes seconds; their
/// addresses are `load-<run>-<i>@load.test`, so runs never collide.
struct SeedLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-load",
        abstract: "Create load-test users, conversations and tokens."
    )

    @Option(help: "How many users to create (at least 2).")
    var users: Int

    @Option(help: "Where to write the JSON seed file.")
    var out: String

    func validate() throws {
        guard (2...2_000_000).contains(users) else { throw ValidationError("--users must be in 2...2000000") }
    }

    func run() async throws {
        let settings = try Settings()
        let logger = Logger(label: "broker.seed-load")
        let store = try makeStore(for: try settings.storeConfiguration(), logger: logger)
        let tokens = try await TokenService(
            secret: try settings.resolveJWTSecret(),
            timeToLive: .seconds(settings.tokenTTL),
            store: store
        )
        let hash = try await PasswordHasher(cost: UInt8(settings.bcryptCost)).hash(PasswordGenerator.generate())
        let run = PasswordGenerator.generate(length: 8).lowercased()
        let count = users
        let started = ContinuousClock.now
        let (created, conversations) = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            defer { group.cancelAll() }
            var created: [User] = []
            created.reserveCapacity(count)
            let chunk = 10_000
            for start in stride(from: 0, to: count, by: chunk) {
                let batch = (start..<min(count, start + chunk)).map { index in
                    NewUser(
                        name: "Load",
                        subname: "User \(index)",
                        email: "load-\(run)-\(index)@load.test",
                        job: "load",
                        passwordHash: hash
                    )
                }
                created += try await store.createUsersInBulk(batch)
            }
            let pairs = stride(from: 0, to: created.count - 1, by: 2).map { (created[$0].id, created[$0 + 1].id) }
            var conversations: [Conversation] = []
            for start in stride(from: 0, to: pairs.count, by: chunk) {
                conversations += try await store.createConversationsInBulk(
                    Array(pairs[start..<min(pairs.count, start + chunk)]).map { (sender: $0.0, recipient: $0.1) }
                )
            }
            return (created, conversations)
        }
        var json = "{\"users\":["
        json.reserveCapacity(count * 300)
        for (index, user) in created.enumerated() {
            let token = try await tokens.issue(for: user).token
            json += (index > 0 ? "," : "") + "{\"id\":\(user.id.rawValue),\"token\":\"\(token)\"}"
        }
        json += "],\"conversations\":["
        json += conversations.enumerated().map { index, conversation in
            "{\"id\":\(conversation.id.rawValue),\"a\":\(conversation.senderID.rawValue),\"b\":\(conversation.recipientID.rawValue)}"
        }.joined(separator: ",")
        json += "]}\n"
        try Data(json.utf8).write(to: URL(fileURLWithPath: out))
        let seconds =
            Double((ContinuousClock.now - started).components.seconds)
            + Double((ContinuousClock.now - started).components.attoseconds) / 1e18
        print("seeded \(created.count) users and \(conversations.count) conversations into \(out) in \(String(format: "%.1f", seconds)) s")
    }
}
