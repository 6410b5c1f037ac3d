import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// A minimal SMTP client (RFC 5321) on swift-nio, for the broker's own mails: one session per mail.
///
/// Hand-written because no SMTP package is in the package mirror this project builds from. It speaks
/// `EHLO` (multi-line replies), `STARTTLS` (RFC 3207, then `EHLO` again) or implicit TLS on port 465 through
/// swift-nio-ssl, `AUTH PLAIN` or `AUTH LOGIN` (whichever the server offers, `PLAIN` first), then `MAIL FROM`,
/// `RCPT TO`, `DATA` and `QUIT`. Connecting and every reply are bounded by the configured timeout.
///
/// Credentials are never sent in clear when TLS was asked for: a server that does not offer `STARTTLS`
/// fails the attempt. Failures are ``MailDeliveryError``s: a 5xx reply to the mail's own commands (`MAIL`,
/// `RCPT`, `DATA` and the message) is permanent; everything else (4xx, a 5xx to the session's set-up such as
/// `AUTH`, no connection, a timeout, TLS) is transient, since another attempt may succeed.
package struct SMTPClient: Sendable {
    private let configuration: SMTPConfiguration
    private let group: any EventLoopGroup
    private let tls: NIOSSLContext?

    /// Creates a client; loads the TLS trust roots at once, so a bad `caFile` shows at start-up.
    /// - Throws: what NIOSSL throws for trust roots it cannot load.
    package init(configuration: SMTPConfiguration, group: any EventLoopGroup) throws {
        self.configuration = configuration
        self.group = group
        if configuration.implicitTLS || configuration.startTLS {
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            if let caFile = configuration.caFile { tlsConfiguration.additionalTrustRoots = [.file(caFile)] }
            tls = try NIOSSLContext(configuration: tlsConfiguration)
        } else {
            tls = nil
        }
    }

    /// Delivers one message in one session.
    /// - Parameters:
    ///   - from: the envelope sender (`MAIL FROM`).
    ///   - to: the one recipient (`RCPT TO`).
    ///   - data: what follows `DATA`, dot-stuffed and terminated (``SMTPMessage/dataPayload(_:)``).
    /// - Throws: ``MailDeliveryError``, or `CancellationError`.
    package func send(from: String, to: String, data: String) async throws {
        for address in [from, to] where address.contains(where: { "\r\n<>".contains($0) }) || address.isEmpty {
            throw MailDeliveryError.permanent("address not usable in an SMTP envelope")
        }
        let channel: NIOAsyncChannel<String, ByteBuffer>
        do {
            channel = try await connect()
        } catch let error as MailDeliveryError {
            throw error
        } catch {
            throw MailDeliveryError.transient("cannot connect to \(configuration.host):\(configuration.port): \(error)")
        }
        try await channel.executeThenClose { inbound, outbound in
            var session = Session(
                configuration: configuration,
                channel: channel.channel,
                tls: tls,
                lines: inbound.makeAsyncIterator(),
                outbound: outbound
            )
            try await session.deliver(from: from, to: to, data: data)
        }
    }

    private func connect() async throws -> NIOAsyncChannel<String, ByteBuffer> {
        let implicit = configuration.implicitTLS ? tls : nil
        let serverName = Self.serverName(configuration.host)
        return try await ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(configuration.timeout))
            .connect(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let implicit {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: implicit, serverHostname: serverName)
                        )
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPLineDecoder()))
                    return try NIOAsyncChannel<String, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// The name to verify the certificate against and send in SNI; `nil` for an IP address, which NIOSSL then
    /// checks against the certificate's IP addresses.
    static func serverName(_ host: String) -> String? {
        (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
    }

    /// One session's state: the reply reader and the writer.
    private struct Session {
        let configuration: SMTPConfiguration
        let channel: any Channel
        let tls: NIOSSLContext?
        var lines: NIOAsyncChannelInboundStream<String>.AsyncIterator
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        var parser = SMTPReplyParser()

        mutating func deliver(from: String, to: String, data: String) async throws {
            try await expect(220, after: "greeting", mailLevel: false)
            var capabilities = try await ehlo()
            if configuration.startTLS, !configuration.implicitTLS {
                guard capabilities.startTLS else {
                    throw MailDeliveryError.transient(
                        "the server does not offer STARTTLS, and BROKER_SMTP_STARTTLS=true forbids going on in clear"
                    )
                }
                try await command("STARTTLS", expect: 220, mailLevel: false)
                try await startTLS()
                capabilities = try await ehlo()
            }
            if let username = configuration.username, let password = configuration.password {
                try await authenticate(username, password, capabilities)
            }
            try await command("MAIL FROM:<\(from)>", expect: 250, mailLevel: true)
            try await command("RCPT TO:<\(to)>", expect: 250, 251, mailLevel: true)
            try await command("DATA", expect: 354, mailLevel: true)
            try await send(data, name: "message")
            try await expect(250, after: "end of data", mailLevel: true)
            // Delivered: the server took the mail. The goodbye is a courtesy; its failure changes nothing.
            try? await send("QUIT\r\n", name: "QUIT")
            _ = try? await reply(after: "QUIT")
        }

        mutating func ehlo() async throws -> SMTPCapabilities {
            try await send("EHLO \(configuration.heloName)\r\n", name: "EHLO")
            let answer = try await reply(after: "EHLO")
            try check(answer, expected: [250], after: "EHLO", mailLevel: false)
            return SMTPCapabilities(ehlo: answer)
        }

        mutating func authenticate(_ username: String, _ password: String, _ capabilities: SMTPCapabilities) async throws {
            func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
            switch capabilities.preferredAuthMechanism {
            case .plain:
                try await command("AUTH PLAIN " + base64("\0\(username)\0\(password)"), name: "AUTH", expect: 235, mailLevel: false)
            case .login:
                try await command("AUTH LOGIN", expect: 334, mailLevel: false)
                try await command(base64(username), name: "AUTH", expect: 334, mailLevel: false)
                try await command(base64(password), name: "AUTH", expect: 235, mailLevel: false)
            case nil:
                throw MailDeliveryError.transient("the server offers neither AUTH PLAIN nor AUTH LOGIN")
            }
        }

        /// Puts TLS under the line decoder, right after the server's 220 to `STARTTLS` (it sends nothing more
        /// in clear); the next write waits for the handshake, whose failure the next read reports.
        func startTLS() async throws {
            guard let tls else { throw MailDeliveryError.transient("TLS is not configured") }
            let serverName = SMTPClient.serverName(configuration.host)
            let channel = channel
            do {
                try await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: tls, serverHostname: serverName),
                        position: .first
                    )
                }.get()
            } catch {
                throw MailDeliveryError.transient("cannot start TLS: \(error)")
            }
        }

        /// Sends a command line and checks its reply. `name` stands for the command in errors (so that `AUTH`
        /// arguments never appear in them).
        mutating func command(_ line: String, name: String? = nil, expect codes: Int..., mailLevel: Bool) async throws {
            let name = name ?? String(line.prefix { $0 != " " && $0 != ":" })
            try await send(line + "\r\n", name: name)
            try check(try await reply(after: name), expected: codes, after: name, mailLevel: mailLevel)
        }

        mutating func expect(_ code: Int, after step: String, mailLevel: Bool) async throws {
            try check(try await reply(after: step), expected: [code], after: step, mailLevel: mailLevel)
        }

        func check(_ reply: SMTPReply, expected: [Int], after step: String, mailLevel: Bool) throws {
            guard !expected.contains(reply.code) else { return }
            if reply.isPermanentFailure, mailLevel {
                throw MailDeliveryError.permanent("\(step): \(reply.summary)")
            }
            throw MailDeliveryError.transient("\(step): \(reply.summary)")
        }

        func send(_ text: String, name: String) async throws {
            do {
                try await outbound.write(ByteBuffer(string: text))
            } catch {
                throw MailDeliveryError.transient("\(name): cannot write: \(error)")
            }
        }

        /// The next whole reply, within the timeout: past it the channel is closed, which ends the read.
        mutating func reply(after step: String) async throws -> SMTPReply {
            let deadline = NIODeadline.now() + TimeAmount(configuration.timeout)
            let timer = channel.eventLoop.scheduleTask(deadline: deadline) { [channel] in channel.close(promise: nil) }
            defer { timer.cancel() }
            while true {
                let line: String?
                do {
                    line = try await lines.next()
                } catch let error as MailDeliveryError {
                    throw error
                } catch {
                    try Task.checkCancellation()
                    throw MailDeliveryError.transient("\(step): \(error)")
                }
                guard let line else {
                    try Task.checkCancellation()
                    if NIODeadline.now() >= deadline {
                        throw MailDeliveryError.transient("\(step): no reply within \(configuration.timeout)")
                    }
                    throw MailDeliveryError.transient("\(step): the server closed the connection")
                }
                if let reply = try parser.consume(line) { return reply }
            }
        }
    }
}
