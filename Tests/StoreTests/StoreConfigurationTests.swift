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
                    PostgresLocation(
                        host: "db.internal",
                        port: 6543,
                        username: "broker",
                        password: "s@cret",
                        database: "chat",
                        sslMode: .disable
                    )
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
            "postgres://u:hunter2@h/chat?sslmode=bogus",  // unknown mode
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

    // MARK: TLS parameters

    @Test func sslModeDefaultsToPreferLikeLibpq() throws {
        let location = try PostgresLocation(url: "postgres://u@h/d")
        #expect(location.sslMode == .prefer && location.sslRootCertificate == nil)
        #expect(location.description == "postgres://u@h:5432/d")
    }

    @Test(arguments: [
        ("disable", PostgresLocation.SSLMode.disable), ("allow", .allow), ("prefer", .prefer), ("require", .require),
    ])
    func everyLibpqModeIsUnderstood(parameter: String, mode: PostgresLocation.SSLMode) throws {
        let plain = try PostgresLocation(url: "postgres://u:hunter2@h/d?sslmode=\(parameter)")
        #expect(plain.sslMode == mode && plain.sslRootCertificate == nil)
        let withRoot = try PostgresLocation(url: "postgres://u:hunter2@h/d?sslmode=\(parameter)&sslrootcert=/etc/ca.pem")
        #expect(withRoot.sslMode == mode && withRoot.sslRootCertificate == "/etc/ca.pem")
        #expect(!withRoot.description.contains("hunter2"))
    }

    @Test func verifyingModesNeedARootCertificate() throws {
        let full = try PostgresLocation(url: "postgres://u@db.internal/d?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem")
        #expect(full.sslMode == .verifyFull && full.sslRootCertificate == "/etc/ca.pem")
        #expect(full.description == "postgres://u@db.internal:5432/d?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        let ca = try PostgresLocation(url: "postgres://u@h/d?sslrootcert=ca.pem&sslmode=verify-ca")
        #expect(ca.sslMode == .verifyCA && ca.sslRootCertificate == "ca.pem")
        // A root certificate without a mode: prefer, verifying the chain (see SSLMode).
        #expect(try PostgresLocation(url: "postgres://u@h/d?sslrootcert=ca.pem").sslMode == .prefer)
        for mode in ["verify-ca", "verify-full"] {
            #expect {
                try PostgresLocation(url: "postgres://u:hunter2@h/d?sslmode=\(mode)")
            } throws: { error in
                let message = (error as? ConfigurationError)?.message ?? ""
                return message.contains("sslmode=\(mode)") && message.contains("sslrootcert") && !message.contains("hunter2")
            }
        }
    }

    @Test func systemTrustRootsMeanVerifyFull() throws {
        #expect(try PostgresLocation(url: "postgres://u@h/d?sslrootcert=system").sslMode == .verifyFull)
        #expect(try PostgresLocation(url: "postgres://u@h/d?sslmode=verify-full&sslrootcert=system").sslMode == .verifyFull)
        #expect {
            try PostgresLocation(url: "postgres://u@h/d?sslmode=require&sslrootcert=system")
        } throws: { error in
            (error as? ConfigurationError)?.message.contains("sslrootcert=system needs sslmode=verify-full") == true
        }
    }

    @Test func badTLSParametersAreNamed() throws {
        let cases: [(url: String, names: String)] = [
            (
                "postgres://u:hunter2@h/d?sslmode=verify",
                "sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full, not \"verify\""
            ),
            ("postgres://u:hunter2@h/d?sslmode=", "sslmode must be one of"),
            ("postgres://u:hunter2@h/d?sslmode=require&sslmode=disable", "sslmode is given twice"),
            ("postgres://u:hunter2@h/d?sslmode=require&sslrootcert=", "sslrootcert names no file"),
            ("postgres://u:hunter2@h/d?sslmode=require&sslcert=c.pem", "unknown parameter sslcert"),
        ]
        for (url, names) in cases {
            #expect {
                try StoreConfiguration(url: url)
            } throws: { error in
                let message = (error as? ConfigurationError)?.message ?? ""
                return message.contains(names) && !message.contains("hunter2")
            }
        }
    }
}
