import ArgumentParser
import Logging
import Store

/// `broker migrate`: applies pending migrations to the configured database and exits.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations.")

    func run() async throws {
        let settings = try Settings()
        let applied = try await migrateStore(for: try settings.storeConfiguration(), logger: Logger(label: "broker.migrate"))
        print(applied.isEmpty ? "schema up to date" : "applied: \(applied.joined(separator: ", "))")
    }
}
