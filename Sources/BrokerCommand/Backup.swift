import ArgumentParser
import Store

/// `broker backup FILE`: a consistent copy of the SQLite database, safe while the broker serves from it.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the SQLite database to FILE while the broker serves (SQLite's online backup).",
        discussion: "Restore: stop the broker, put FILE at the database's path (BROKER_DATABASE_URL), start it."
    )

    @Argument(help: "The new file to write; never overwritten.")
    var file: String

    func run() throws {
        let settings = try Settings()
        try backupStore(for: try settings.storeConfiguration(), to: file)
        print("backed up to \(file)")
    }
}
