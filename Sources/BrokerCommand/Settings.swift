import Foundation
import Gateway
import Store

/// Every `BROKER_*` setting with its default (contract §4); the README's configuration table lists the same.
struct Settings: Sendable {
    var host = "127.0.0.1"
    var port = 4000
    var databaseURL = "sqlite://./data/broker.sqlite"
    var dataDirectory = "./data"
    var jwtSecret: String?
    var tokenTTL = 604_800
    var mailer = "local"
    /// The sender and, with `BROKER_MAILER=smtp`, the server: see `Settings+SMTP.swift`.
    var mail = MailSettings(smtp: nil, from: "broker@localhost", retryBase: .seconds(1))
    var nodeName = ProcessInfo.processInfo.hostName
    var maxBodyBytes = 1_048_576
    var authRate = 10.0
    var authBurst = 20
    var maxMessageLength = 10_000
    var shutdownGrace = 25
    var maxFrameBytes = 65_536
    var outboundQueue = 1_024
    var idleTimeout = 60
    var sendRate = 50.0
    var sendBurst = 200
    var maxSocketsPerUser = 32
    var sync = SyncMode.full
    /// Microseconds a small store batch waits for more writes before it commits.
    var commitDelayMicroseconds = 1_000
    /// Event-loop threads for sockets and actors; `nil`: one per core (NIO's shared group).
    var eventLoops: Int?
    var bcryptCost = 12
    var logLevel = "info"
    var logFormat = "text"
    var localMailerPublic = false
    var httpHeadTimeout = 10
    var httpIdleTimeout = 60
    var maxHeaderBytes = 16_384
    var trustedProxies = TrustedProxies.none
    var allowedOrigins = AllowedOrigins.any

    /// Reads the settings from the environment.
    /// - Throws: ``ConfigurationError`` naming the variable whose value cannot be used.
    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let read = EnvironmentReader(environment: environment)
        host = read.string("BROKER_HOST") ?? host
        port = try read.integer("BROKER_PORT", port, range: 0...65_535)
        databaseURL = read.string("BROKER_DATABASE_URL") ?? databaseURL
        dataDirectory = read.string("BROKER_DATA_DIR") ?? dataDirectory
        jwtSecret = read.string("BROKER_JWT_SECRET")
        tokenTTL = try read.integer("BROKER_TOKEN_TTL", tokenTTL, range: 1...315_360_000)
        mailer = read.string("BROKER_MAILER") ?? mailer
        guard ["local", "smtp"].contains(mailer) else {
            throw ConfigurationError(message: "BROKER_MAILER must be local or smtp")
        }
        mail = try Self.mailSettings(mailer: mailer, environment: environment)
        nodeName = read.string("BROKER_NODE_NAME") ?? nodeName
        maxBodyBytes = try read.integer("BROKER_MAX_BODY_BYTES", maxBodyBytes, range: 1...1_073_741_824)
        authRate = try read.number("BROKER_AUTH_RATE", authRate)
        authBurst = try read.integer("BROKER_AUTH_BURST", authBurst, range: 1...1_000_000)
        maxMessageLength = try read.integer("BROKER_MAX_MESSAGE_LENGTH", maxMessageLength, range: 1...1_000_000)
        shutdownGrace = try read.integer("BROKER_SHUTDOWN_GRACE", shutdownGrace, range: 1...3_600)
        maxFrameBytes = try read.integer("BROKER_MAX_FRAME_BYTES", maxFrameBytes, range: 1_024...16_777_216)
        outboundQueue = try read.integer("BROKER_OUTBOUND_QUEUE", outboundQueue, range: 1...1_000_000)
        idleTimeout = try read.integer("BROKER_IDLE_TIMEOUT", idleTimeout, range: 1...86_400)
        sendRate = try read.number("BROKER_SEND_RATE", sendRate)
        sendBurst = try read.integer("BROKER_SEND_BURST", sendBurst, range: 1...10_000_000)
        maxSocketsPerUser = try read.integer("BROKER_MAX_SOCKETS_PER_USER", maxSocketsPerUser, range: 1...100_000)
        if let raw = read.string("BROKER_SYNC") {
            guard let mode = SyncMode(rawValue: raw) else {
                throw ConfigurationError(message: "BROKER_SYNC must be full or normal")
            }
            sync = mode
        }
        commitDelayMicroseconds = try read.integer("BROKER_COMMIT_DELAY_US", commitDelayMicroseconds, range: 0...100_000)
        if read.string("BROKER_EVENT_LOOPS") != nil { eventLoops = try read.integer("BROKER_EVENT_LOOPS", 1, range: 1...256) }
        bcryptCost = try read.integer("BROKER_BCRYPT_COST", bcryptCost, range: 4...31)
        logLevel = try read.choice(
            "BROKER_LOG_LEVEL",
            logLevel,
            allowed: ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        )
        logFormat = try read.choice("BROKER_LOG_FORMAT", logFormat, allowed: ["text", "json"])
        localMailerPublic = try read.boolean("BROKER_LOCAL_MAILER_PUBLIC", localMailerPublic)
        httpHeadTimeout = try read.integer("BROKER_HTTP_HEAD_TIMEOUT", httpHeadTimeout, range: 1...3_600)
        httpIdleTimeout = try read.integer("BROKER_HTTP_IDLE_TIMEOUT", httpIdleTimeout, range: 1...86_400)
        maxHeaderBytes = try read.integer("BROKER_MAX_HEADER_BYTES", maxHeaderBytes, range: 1_024...1_048_576)
        do {
            trustedProxies = try TrustedProxies(parsing: read.string("BROKER_TRUSTED_PROXIES") ?? "")
        } catch {
            throw ConfigurationError(
                message: "BROKER_TRUSTED_PROXIES: \(error.entry) is not an address or CIDR (e.g. 10.0.0.0/8, ::1/128)"
            )
        }
        do {
            allowedOrigins = try AllowedOrigins(parsing: read.string("BROKER_ALLOWED_ORIGINS") ?? "")
        } catch {
            throw ConfigurationError(
                message: "BROKER_ALLOWED_ORIGINS: \(error.entry) is not an origin (e.g. https://chat.example.com, //*.example.com)"
            )
        }
    }

    /// Refuses settings that would expose what only development may see: the local mailer's mailbox
    /// (`/api/sent_mails` lists every generated password, unauthenticated) on a non-loopback address.
    func checkDeployable() throws {
        if mailer == "local", !Self.isLoopback(host), !localMailerPublic {
            throw ConfigurationError(
                message: """
                    BROKER_MAILER=local serves every generated password at /api/sent_mails, and BROKER_HOST=\(host) \
                    is not a loopback address. Set BROKER_MAILER=smtp (with BROKER_SMTP_HOST) for real users, or \
                    BROKER_LOCAL_MAILER_PUBLIC=true to expose the development mailbox anyway.
                    """
            )
        }
    }

    /// Whether `host` only accepts connections from this machine: `localhost`, 127.0.0.0/8 or `::1`.
    static func isLoopback(_ host: String) -> Bool {
        if host.lowercased() == "localhost" { return true }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return (try? TrustedProxies(parsing: "127.0.0.0/8,::1/128"))?.trusts(bare) ?? false
    }

    /// The store's configuration.
    func storeConfiguration() throws -> StoreConfiguration {
        var configuration = try StoreConfiguration(url: databaseURL, sync: sync)
        configuration.node = ClusterNode(name: nodeName)
        configuration.commitDelay = .microseconds(commitDelayMicroseconds)
        return configuration
    }

    /// The edge's configuration.
    var gatewayConfiguration: GatewayConfiguration {
        var configuration = GatewayConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.maxBodyBytes = maxBodyBytes
        configuration.authRate = authRate
        configuration.authBurst = authBurst
        configuration.localMailer = mailer == "local"
        configuration.mailFrom = mail.from
        configuration.maxMessageLength = maxMessageLength
        configuration.socket.maxFrameBytes = maxFrameBytes
        configuration.socket.outboundQueue = outboundQueue
        configuration.socket.idleTimeout = .seconds(idleTimeout)
        configuration.socket.sendRate = sendRate
        configuration.socket.sendBurst = sendBurst
        configuration.socket.maxSocketsPerUser = maxSocketsPerUser
        configuration.socket.allowedOrigins = allowedOrigins
        configuration.trustedProxies = trustedProxies
        configuration.httpLimits.headTimeout = .seconds(Int64(httpHeadTimeout))
        configuration.httpLimits.idleTimeout = .seconds(Int64(httpIdleTimeout))
        configuration.httpLimits.maxHeadBytes = maxHeaderBytes
        return configuration
    }

    /// `BROKER_JWT_SECRET`, or the secret kept in the data folder, generated there (mode 0600) on first run.
    func resolveJWTSecret() throws -> String {
        if let jwtSecret { return jwtSecret }
        let manager = FileManager.default
        try manager.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let path = (dataDirectory as NSString).appendingPathComponent("jwt_secret")
        if let existing = manager.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }) {
            let secret = existing.trimmingCharacters(in: .whitespacesAndNewlines)
            if secret.utf8.count >= 32 { return secret }
        }
        let secret = PasswordGenerator.generate(length: 64)
        guard manager.createFile(atPath: path, contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw ConfigurationError(message: "cannot write the generated secret to \(path)")
        }
        return secret
    }
}
