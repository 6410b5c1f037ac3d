import ArgumentParser

/// The `broker` executable: `serve` (the default), `migrate`, `routes`, `gen-secret`.
@main
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "A realtime chat message broker speaking the Phoenix Channels protocol.",
        discussion: "Every setting is a BROKER_* environment variable; see the README's configuration table.",
        subcommands: [Serve.self, Migrate.self, PrintRoutes.self, GenerateSecret.self, SeedLoad.self],
        defaultSubcommand: Serve.self
    )
}
