import ArgumentParser
import Gateway

/// `broker routes`: prints every HTTP route the router serves with the current settings (the development
/// mailbox's pages only with `BROKER_MAILER=local`), like `mix phx.routes`.
struct PrintRoutes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "routes", abstract: "Print every HTTP route.")

    func run() async throws {
        let settings = try Settings()
        print(Routes.table(of: try await servedRoutes(configuration: settings.gatewayConfiguration)))
    }
}
