import Foundation
import Synchronization
import Testing

/// A real SMTP server for the mail tests: `scripts/test-smtp-server.py` (aiosmtpd) run as a child process on a
/// loopback port, writing every session event to a spool file that the test reads.
///
/// Needs `python3` with `aiosmtpd` and the `openssl` CLI (`.ci/run` installs them). Without them a test fails
/// under `CI` and is skipped with a warning elsewhere, never silently.
final class SMTPTestServer: Sendable {
    /// What the server demands and refuses.
    struct Options: Sendable {
        /// Offer and require STARTTLS with this folder's `server.pem`/`server.key` (``makeCertificates()``).
        var certificates: URL?
        /// Require AUTH with this user and password.
        var auth: (user: String, password: String)?
        /// Answer every `RCPT TO` (`"rcpt"`) or `DATA` (`"data"`) with a 5xx.
        var reject: String?
        /// Offer AUTH LOGIN only (not PLAIN).
        var onlyLogin = false
    }

    struct ToolsMissing: Error, CustomStringConvertible {
        var description: String
    }

    let process: Process
    let spool: URL
    let port: Int
    private let output = OutputBuffer()

    static var script: URL {
        var folder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("scripts/test-smtp-server.py").path),
            folder.path != "/"
        {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("scripts/test-smtp-server.py")
    }

    /// Checks for python3 with aiosmtpd and for openssl; fails under CI, skips with a warning elsewhere.
    static func requireTools() throws {
        let python = try? run(["python3", "-c", "import aiosmtpd"])
        let openssl = try? run(["openssl", "version"])
        guard python?.status != 0 || openssl?.status != 0 else { return }
        let reason = "SMTP test needs python3 with aiosmtpd (python3 -m pip install aiosmtpd) and openssl; .ci/run installs them"
        if TestPostgres.isCI { throw ToolsMissing(description: reason) }
        Issue.record(Comment(rawValue: reason), severity: .warning)
        try Test.cancel(Comment(rawValue: reason))
    }

    /// A loopback port free right now (for a server that the test starts later).
    static func freePort() throws -> Int {
        let (status, output) = try run(["python3", script.path, "--free-port"])
        guard status == 0, let port = Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ToolsMissing(description: "cannot find a free port: \(output)")
        }
        return port
    }

    /// A fresh test CA (`ca.pem`) and a server certificate for localhost and 127.0.0.1 signed by it.
    static func makeCertificates() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-certs-\(UUID().uuidString)")
        let (status, output) = try run(["python3", script.path, "--make-certs", folder.path])
        guard status == 0 else { throw ToolsMissing(description: "cannot make test certificates: \(output)") }
        return folder
    }

    /// Starts the server on `port` and waits until it accepts connections.
    init(port: Int, options: Options = Options()) async throws {
        self.port = port
        spool = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-spool-\(UUID().uuidString)")
        var arguments = [Self.script.path, "--port", "\(port)", "--spool", spool.path]
        if let certificates = options.certificates {
            arguments += [
                "--tls-cert", certificates.appendingPathComponent("server.pem").path,
                "--tls-key", certificates.appendingPathComponent("server.key").path,
            ]
        }
        if let auth = options.auth { arguments += ["--auth", "\(auth.user):\(auth.password)"] }
        if let reject = options.reject { arguments += ["--reject", reject] }
        if options.onlyLogin { arguments.append("--only-login") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { output.text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        self.process = process
        try process.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while !output.text.withLock({ $0.contains("ready \(port)") }) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                process.terminate()
                throw ToolsMissing(description: "the SMTP test server did not start: \(output.text.withLock { $0 })")
            }
            try await Task.sleep(for: .milliseconds(20))  // polling a child's stdout
        }
    }

    /// Every event so far, in order.
    func events() -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: spool.appendingPathComponent("events.jsonl").path) else {
            return []
        }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    /// The messages accepted so far.
    func messages() -> [[String: Any]] { events().filter { $0["event"] as? String == "message" } }

    /// Waits until the events satisfy `done` (polling the child's spool file), and returns them.
    func waitForEvents(
        timeout: Duration = .seconds(20),
        _ done: ([[String: Any]]) -> Bool
    ) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let events = events()
            if done(events) || ContinuousClock.now >= deadline { return events }
            try await Task.sleep(for: .milliseconds(50))  // polling a child's spool file
        }
    }

    /// Stops the server (SIGTERM, then SIGKILL after five seconds) and removes its spool.
    func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }  // a child's exit
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: spool)
    }

    /// The decoded `text/plain` part of a received multipart message.
    static func textPart(of message: String) -> String? {
        guard let boundary = message.firstMatch(of: /boundary="([^"]+)"/)?.1 else { return nil }
        for part in message.components(separatedBy: "--\(boundary)") where part.contains("Content-Type: text/plain") {
            guard let split = part.range(of: "\r\n\r\n") else { continue }
            let base64 = part[split.upperBound...].filter { !$0.isWhitespace }
            return Data(base64Encoded: String(base64)).map { String(decoding: $0, as: UTF8.self) }
        }
        return nil
    }

    /// A header's value in a received message.
    static func header(_ name: String, of message: String) -> String? {
        let head = message.components(separatedBy: "\r\n\r\n").first ?? ""
        return head.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
            .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
    }

    /// The broker's stored mails (status, bodies, attempts) in id order, read from its SQLite file with
    /// Python's sqlite3 module (the end-to-end target links no SQLite of its own).
    static func storedMails(of broker: BrokerProcess) throws -> [[String: Any]] {
        let database = broker.workingDirectory.appendingPathComponent("data/broker.sqlite").path
        let program = """
            import json, sqlite3, sys
            rows = sqlite3.connect(sys.argv[1]).execute(
                "SELECT status, text_body, html_body, attempts FROM mails ORDER BY id").fetchall()
            print(json.dumps([dict(zip(["status", "text_body", "html_body", "attempts"], row)) for row in rows]))
            """
        let (status, output) = try run(["python3", "-c", program, database])
        guard status == 0 else { throw ToolsMissing(description: "cannot read \(database): \(output)") }
        return (try JSONSerialization.jsonObject(with: Data(output.utf8))) as? [[String: Any]] ?? []
    }

    /// Runs a command found on PATH and returns its status and output (stdout and stderr together).
    ///
    /// The output goes through a file, not a pipe: a broker or server that another test starts meanwhile
    /// inherits the open descriptors, and would hold a pipe open past this command's exit.
    @discardableResult
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-run-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
            throw ToolsMissing(description: "cannot create \(file.path)")
        }
        defer { try? FileManager.default.removeItem(at: file) }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        let data = FileManager.default.contents(atPath: file.path) ?? Data()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
