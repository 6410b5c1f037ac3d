import ArgumentParser
import Gateway

/// `broker routes`: prints every HTTP route, like `mix phx.routes`.
struct PrintRoutes: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "routes", abstract: "Print every HTTP route.")

    func run() {
        print(Routes.table)
    }
}
