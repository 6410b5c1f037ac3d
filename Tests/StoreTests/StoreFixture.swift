import Foundation
import Logging
import Testing

@testable import Store

/// A fresh SQLite store in a temporary folder, with its writer running for the duration of a test.
struct StoreFixture {
    let directory: URL
    var path: String { directory.appendingPathComponent("store.sqlite").path }

    init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
    }

    func open(sync: SyncMode = .normal) throws -> SQLiteStore {
        try SQLiteStore(
            path: path, configuration: StoreConfiguration(backend: .sqlite(path: path), sync: sync),
            logger: Logger(label: "test")
        )
    }

    /// Opens the store, runs its writer while `body` runs, then stops the writer.
    @discardableResult
    func withStore<T: Sendable>(
        sync: SyncMode = .normal, _ body: @Sendable (SQLiteStore) async throws -> T
    ) async throws -> T {
        let store = try open(sync: sync)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            do {
                let result = try await body(store)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

func newUser(_ email: String) -> NewUser {
    NewUser(name: "N", subname: "S", email: email, job: "J", passwordHash: "$2b$04$hash")
}

func mail(to email: String) -> NewMail {
    NewMail(to: email, from: "broker@localhost", subject: "Welcome", textBody: "pw", htmlBody: "<p>pw</p>")
}
