import Testing

@testable import Store

/// Parsing of `BROKER_DATABASE_URL`.
@Suite struct StoreConfigurationTests {
    @Test func sqliteURLsNameAFile() throws {
        #expect(try StoreConfiguration(url: "sqlite://./data/broker.sqlite").backend == .sqlite(path: "./data/broker.sqlite"))
        #expect(try StoreConfiguration(url: "sqlite:///var/lib/b.sqlite").backend == .sqlite(path: "/var/lib/b.sqlite"))
        #expect(throws: ConfigurationError.self) { try StoreConfiguration(url: "sqlite://") }
    }

    @Test func postgresURLsNameServerUserAndDatabase() throws {
        let full = try StoreConfiguration(url: "postgres://broker:s%40cret@db.internal:6543/chat?sslmode=disable", sync: .normal)
        #expect(
            full.backend
                == .postgres(
                    PostgresLocation(host: "db.internal", port: 6543, username: "broker", password: "s@cret", database: "chat")
                )
        )
        #expect(full.sync == .normal)
        let short = try StoreConfiguration(url: "postgresql://app@127.0.0.1/app_db")
        #expect(short.backend == .postgres(PostgresLocation(host: "127.0.0.1", username: "app", database: "app_db")))
        let noDatabase = try PostgresLocation(url: "postgres://me@[::1]:5433")
        #expect(noDatabase == PostgresLocation(host: "::1", port: 5433, username: "me", database: "me"))
    }

    @Test func malformedPostgresURLsAreRefusedWithoutShowingThePassword() throws {
        for url in [
            "postgres://db.internal/chat",  // no user
            "postgres://u:hunter2@/chat",  // no host
            "postgres://u:hunter2@h/chat?sslmode=require",  // TLS is not built in
            "postgres://u:hunter2@h/chat?pool=3",  // unknown parameter
            "mysql://u:hunter2@h/chat",
        ] {
            #expect {
                try StoreConfiguration(url: url)
            } throws: { error in
                guard let error = error as? ConfigurationError else { return false }
                return !error.message.contains("hunter2")
            }
        }
        #expect(PostgresLocation(host: "h", username: "u", password: "hunter2", database: "d").description == "postgres://u:***@h:5432/d")
    }
}
