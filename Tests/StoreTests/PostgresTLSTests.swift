import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing

@testable import Store

/// `sslmode` and `sslrootcert` against the test server, which accepts TLS and plain connections with a
/// certificate for `localhost` and 127.0.0.1 (scripts/pg-test-db): the store's pooled connections and its
/// cluster listener are encrypted, and verified, as the mode says, or not made at all.
@Suite(.timeLimit(.minutes(2)))
struct PostgresTLSTests {
    /// Which certificate authority a case trusts.
    enum Root: Sendable, CustomTestStringConvertible {
        /// The one that signed the server's certificate.
        case right
        /// An unrelated one.
        case wrong

        var testDescription: String { self == .right ? "right CA" : "wrong CA" }
    }

    /// A way to connect that succeeds.
    struct Connects: Sendable, CustomTestStringConvertible {
        var mode: PostgresLocation.SSLMode
        var root: Root?
        var host: String
        /// Whether the sessions are encrypted.
        var encrypted: Bool

        var testDescription: String { "\(mode.rawValue) \(root?.testDescription ?? "no CA") to \(host)" }
    }

    /// A way to connect that is refused, and what the refusal says.
    struct Refused: Sendable, CustomTestStringConvertible {
        var mode: PostgresLocation.SSLMode
        var root: Root
        var host: String
        /// Text the listener's error message contains.
        var says: String

        var testDescription: String { "\(mode.rawValue) \(root.testDescription) to \(host)" }
    }

    // MARK: Settings that are refused before any connection

    @Test func anUnusableRootCertificateStopsTheStoreAtStartUp() async throws {
        let missing = "/nonexistent/broker-ca.pem"
        let notPEM = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-ca-\(UUID().uuidString).pem")
        try Data("not a certificate\n".utf8).write(to: notPEM)
        defer { try? FileManager.default.removeItem(at: notPEM) }
        for (file, says) in [(missing, "sslrootcert \(missing) cannot be read"), (notPEM.path, "holds no PEM certificate")] {
            for mode in [PostgresLocation.SSLMode.prefer, .require, .verifyCA, .verifyFull] {
                let location = PostgresLocation(
                    host: "127.0.0.1",
                    port: 1,
                    username: "u",
                    password: "hunter2",
                    database: "d",
                    sslMode: mode,
                    sslRootCertificate: file
                )
                let configuration = StoreConfiguration(backend: .postgres(location))
                #expect {
                    try makeStore(for: configuration, logger: StoreFixture.logger)
                } throws: { error in
                    let message = (error as? ConfigurationError)?.message ?? ""
                    return message.contains(says) && !message.contains("hunter2")
                }
                await #expect(throws: ConfigurationError.self) {
                    try await migrateStore(for: configuration, logger: StoreFixture.logger)
                }
            }
        }
        // With sslmode=disable the file is not used (as with libpq), so it is not read either.
        let plain = PostgresLocation(
            host: "127.0.0.1",
            port: 1,
            username: "u",
            database: "d",
            sslMode: .disable,
            sslRootCertificate: missing
        )
        #expect(try PostgresTLS(for: plain).use == .disable)
    }

    @Test func modesMapToPostgresNIO() throws {
        func tls(_ mode: PostgresLocation.SSLMode, _ root: String? = nil) throws -> PostgresTLS {
            let location = PostgresLocation(host: "h", username: "u", database: "d", sslMode: mode, sslRootCertificate: root)
            return try PostgresTLS(for: location)
        }
        #expect(!(try tls(.disable).connectionTLS.isAllowed))
        for mode in [PostgresLocation.SSLMode.allow, .prefer] {
            #expect(try tls(mode).connectionTLS.isAllowed && !tls(mode).connectionTLS.isEnforced)
            #expect(try tls(mode).configuration?.certificateVerification == CertificateVerification.none)
        }
        #expect(try tls(.require).connectionTLS.isEnforced)
        #expect(try tls(.require).configuration?.certificateVerification == CertificateVerification.none)
        let system = PostgresLocation.systemTrustRoots
        #expect(try tls(.verifyFull, system).configuration?.certificateVerification == .fullVerification)
        #expect(try tls(.verifyFull, system).connectionTLS.isEnforced)
    }

    // MARK: Against the test server

    @Test(arguments: [
        Connects(mode: .disable, host: "127.0.0.1", encrypted: false),
        Connects(mode: .allow, host: "127.0.0.1", encrypted: true),
        Connects(mode: .prefer, host: "127.0.0.1", encrypted: true),
        Connects(mode: .require, host: "127.0.0.1", encrypted: true),
        // The certificate does not name 127.0.0.2: only verify-full checks that.
        Connects(mode: .require, root: .right, host: "127.0.0.2", encrypted: true),
        Connects(mode: .verifyCA, root: .right, host: "127.0.0.2", encrypted: true),
        Connects(mode: .verifyFull, root: .right, host: "localhost", encrypted: true),
        Connects(mode: .verifyFull, root: .right, host: "127.0.0.1", encrypted: true),
    ])
    func theStoreAndItsListenerConnectAsTheModeSays(_ way: Connects) async throws {
        let certificates = try TestCertificates.require()
        try await StoreFixture.with(.postgres) { fixture in
            let location = try certificates.location(fixture, way.mode, way.root, way.host)
            let store = try PostgresStore(
                location: location,
                configuration: StoreConfiguration(backend: .postgres(location), sync: .normal),
                logger: StoreFixture.logger(for: location),
                leaseTimeout: .seconds(30),
                maximumConnections: 2
            )
            try await StoreFixture.running(store) { _ in
                let own = try await store.fetch("ssl", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") { row in
                    try row.decode(Bool.self)
                }
                #expect(own == [way.encrypted], "the pool's session")
                #expect(try await Self.listenerSessions(of: store) == [way.encrypted], "the cluster listener's session")
            }
        }
    }

    @Test(arguments: [
        Refused(mode: .verifyFull, root: .wrong, host: "localhost", says: "CERTIFICATE_VERIFY_FAILED"),
        Refused(mode: .verifyCA, root: .wrong, host: "127.0.0.1", says: "CERTIFICATE_VERIFY_FAILED"),
        // As with libpq, a root certificate makes require check the chain too.
        Refused(mode: .require, root: .wrong, host: "127.0.0.1", says: "CERTIFICATE_VERIFY_FAILED"),
        Refused(mode: .verifyFull, root: .right, host: "127.0.0.2", says: "does not name the host"),
    ])
    func aCertificateThatDoesNotVerifyRefusesTheConnection(_ way: Refused) async throws {
        let certificates = try TestCertificates.require()
        try await StoreFixture.with(.postgres) { fixture in
            let location = try certificates.location(fixture, way.mode, way.root, way.host)
            let store = try PostgresStore(
                location: location,
                configuration: StoreConfiguration(backend: .postgres(location)),
                logger: StoreFixture.logger(for: location),
                leaseTimeout: .seconds(1),
                maximumConnections: 1
            )
            // The listener's single connection says why at once.
            await #expect {
                try await store.bus.listen(ready: {}, receive: { _ in })
            } throws: { error in
                guard case .failed(operation: "listen", let message)? = error as? StoreError else { return false }
                return message.hasPrefix("TLS handshake failed") && message.contains(way.says)
            }
            // The pool never falls back to a connection that is not verified: the store is unavailable.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await store.run() }  // ends with the failed migrations
                await #expect(throws: StoreError.unavailable) { try await store.ping() }
                group.cancelAll()
            }
        }
    }

    /// Whether each of the store's cluster listener sessions (found by its `application_name` in this
    /// database) is encrypted, seen from the store's pool while the listener listens.
    private static func listenerSessions(of store: PostgresStore) async throws -> [Bool] {
        let seen = Locked<[Bool]?>(nil)
        do {
            try await store.bus.listen(
                ready: {
                    let sessions = try await store.fetch(
                        "listener ssl",
                        """
                        SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid
                        WHERE a.application_name = \(PostgresClusterBus.listenerApplicationName)
                        AND a.datname = current_database()
                        """
                    ) { row in try row.decode(Bool.self) }
                    seen.withLock { $0 = sessions }
                    throw CancellationError()  // seen enough: stop listening
                },
                receive: { _ in }
            )
        } catch is CancellationError {}
        return try #require(seen.withLock { $0 })
    }
}

/// The certificate authorities scripts/pg-test-db made for the test server: `BROKER_TEST_POSTGRES_CA` signed
/// its certificate, `BROKER_TEST_POSTGRES_WRONG_CA` did not.
struct TestCertificates: Sendable {
    /// The PEM file of the authority that signed the server's certificate.
    var authority: String
    /// The PEM file of an unrelated authority.
    var wrongAuthority: String

    /// The files from the environment; skips the test case without them, or fails it when `CI` is set.
    static func require() throws -> TestCertificates {
        let environment = ProcessInfo.processInfo.environment
        guard let authority = environment["BROKER_TEST_POSTGRES_CA"], !authority.isEmpty,
            let wrong = environment["BROKER_TEST_POSTGRES_WRONG_CA"], !wrong.isEmpty
        else {
            if StoreBackend.isCI { throw NotConfigured() }
            let reason: Comment = "TLS case skipped: BROKER_TEST_POSTGRES_CA is not set (scripts/pg-test-db)"
            Issue.record(reason, severity: .warning)
            try Test.cancel(reason)
        }
        return TestCertificates(authority: authority, wrongAuthority: wrong)
    }

    /// The fixture's database with the given TLS settings, reached through `host`.
    func location(
        _ fixture: StoreFixture,
        _ mode: PostgresLocation.SSLMode,
        _ root: PostgresTLSTests.Root?,
        _ host: String
    ) throws -> PostgresLocation {
        guard case .postgres(var location) = fixture.location else { throw NotConfigured() }
        location.host = host
        location.sslMode = mode
        location.sslRootCertificate = root.map { $0 == .right ? authority : wrongAuthority }
        return location
    }

    /// Why a TLS case could not run.
    struct NotConfigured: Error, CustomStringConvertible {
        var description: String {
            "BROKER_TEST_POSTGRES_CA or BROKER_TEST_POSTGRES_WRONG_CA is not set but CI is: the TLS cases must run "
                + "in CI (start the server with scripts/pg-test-db)"
        }
    }
}
