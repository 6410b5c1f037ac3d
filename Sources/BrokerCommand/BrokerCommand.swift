import ArgumentParser
import Gateway

/// The `broker` executable: `serve` (the default), `migrate`, `routes`, `gen-secret`, `seed-load`,
/// `healthcheck`, `backup`; `--version` prints the version and the commit.
@main
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "A realtime chat message broker speaking the Phoenix Channels protocol.",
        discussion: "Every setting is a BROKER_* environment variable; see the README's configuration table.",
        version: BuildInfo.description,
        subcommands: [
            Serve.self, Migrate.self, PrintRoutes.self, GenerateSecret.self, SeedLoad.self, Healthcheck.self, Backup.self,
        ],
        defaultSubcommand: Serve.self
    )
}
