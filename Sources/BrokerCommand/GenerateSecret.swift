import ArgumentParser
import Gateway

/// `broker gen-secret`: prints one line of 64 random URL-safe characters, for `BROKER_JWT_SECRET`.
struct GenerateSecret: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gen-secret", abstract: "Print a new random secret.")

    func run() {
        print(PasswordGenerator.generate(length: 64))
    }
}
