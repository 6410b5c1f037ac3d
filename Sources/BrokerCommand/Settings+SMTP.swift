import Broker
import Foundation
import NIOCore
import Store

/// The SMTP mailer's settings (`BROKER_MAILER=smtp`), read apart from the others.
extension Settings {
    /// The mail settings of the environment: the server (only with `BROKER_MAILER=smtp`) and the sender.
    struct MailSettings: Sendable {
        /// `BROKER_SMTP_*`; `nil` with the local mailer.
        var smtp: SMTPConfiguration?
        /// `BROKER_SMTP_FROM` (or its older name `BROKER_MAIL_FROM`), default `broker@<host name>`.
        var from: String
        /// `BROKER_SMTP_RETRY_BASE` (milliseconds, undocumented tuning): the delay after a mail's first failed
        /// attempt, doubled after each further one (tests make it small).
        var retryBase: Duration
    }

    /// Reads the mail settings.
    /// - Throws: ``ConfigurationError`` naming the variable whose value cannot be used, or
    ///   `BROKER_SMTP_HOST` when the SMTP mailer has no server.
    static func mailSettings(mailer: String, environment: [String: String]) throws -> MailSettings {
        let read = EnvironmentReader(environment: environment)
        let hostName = ProcessInfo.processInfo.hostName
        let from = read.string("BROKER_SMTP_FROM") ?? read.string("BROKER_MAIL_FROM") ?? "broker@\(hostName)"
        let retryBase = Duration.milliseconds(try read.integer("BROKER_SMTP_RETRY_BASE", 1_000, range: 1...3_600_000))
        guard mailer == "smtp" else { return MailSettings(smtp: nil, from: from, retryBase: retryBase) }
        guard let host = read.string("BROKER_SMTP_HOST") else {
            throw ConfigurationError(message: "BROKER_SMTP_HOST must name the SMTP server when BROKER_MAILER=smtp")
        }
        var smtp = SMTPConfiguration(host: host)
        smtp.port = try read.integer("BROKER_SMTP_PORT", smtp.port, range: 1...65_535)
        smtp.username = read.string("BROKER_SMTP_USER")
        smtp.password = read.string("BROKER_SMTP_PASSWORD")
        if (smtp.username == nil) != (smtp.password == nil) {
            throw ConfigurationError(message: "BROKER_SMTP_USER and BROKER_SMTP_PASSWORD must be set together")
        }
        smtp.startTLS = try read.boolean("BROKER_SMTP_STARTTLS", smtp.startTLS)
        if let caFile = read.string("BROKER_SMTP_CA_FILE") {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw ConfigurationError(message: "BROKER_SMTP_CA_FILE cannot be read: \(caFile)")
            }
            smtp.caFile = caFile
        }
        smtp.timeout = .seconds(try read.integer("BROKER_SMTP_TIMEOUT", 30, range: 1...3_600))
        smtp.heloName = hostName
        return MailSettings(smtp: smtp, from: from, retryBase: retryBase)
    }

    /// The adapter of `BROKER_MAILER`: SMTP on the given loops, or the local mailer.
    /// - Throws: ``ConfigurationError`` when the TLS trust roots cannot be loaded.
    func mailAdapter(on group: any EventLoopGroup) throws -> any MailAdapter {
        guard let smtp = mail.smtp else { return LocalMailAdapter() }
        do {
            let client = try SMTPClient(configuration: smtp, group: group)
            return SMTPMailAdapter(client: client, messageIDHost: smtp.heloName)
        } catch {
            throw ConfigurationError(message: "BROKER_SMTP_CA_FILE cannot be used: \(error)")
        }
    }
}
