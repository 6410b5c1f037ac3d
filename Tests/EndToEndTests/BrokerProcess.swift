import Foundation
import Synchronization
import Testing

/// The real `broker` executable, started in its own temporary working folder on a free port.
///
/// Found beside the test bundle (SwiftPM builds every product into the same folder), or at
/// `BROKER_EXECUTABLE`.
final class BrokerProcess: Sendable {
    static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["BROKER_EXECUTABLE"] { return URL(fileURLWithPath: path) }
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var folder = me.deletingLastPathComponent()
        // The test binary can sit inside `brokerPackageTests.xctest/`; walk up to the build folder.
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("broker").path), folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("broker")
    }

    let process: Process
    let workingDirectory: URL
    private let output = OutputBuffer()
    let port: Int

    /// Starts `broker serve` with `environment` on port 0 and waits for its "listening" line.
    init(workingDirectory: URL? = nil, environment: [String: String] = [:], captureLog: Bool = false) async throws {
        let directory =
            workingDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.workingDirectory = directory
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = ["serve"]
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BROKER_") }
        env["BROKER_PORT"] = "0"
        env["BROKER_BCRYPT_COST"] = "4"
        env["BROKER_LOG_LEVEL"] = "warning"
        for (key, value) in environment { env[key] = value }
        if TestPostgres.everyBrokerOnPostgres, env["BROKER_DATABASE_URL"] == nil {
            // One database per working folder, so a broker restarted in the same folder finds its data.
            let name = "e2e_" + directory.lastPathComponent.lowercased().filter { $0.isLetter || $0.isNumber }
            env["BROKER_DATABASE_URL"] = try await TestPostgres.database(name, on: try TestPostgres.requireServer())
        }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        // The log, when a test reads it: standard error into `broker.log` in the working folder.
        if captureLog {
            let log = directory.appendingPathComponent("broker.log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: log)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        self.process = process
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { output.text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        var found: Int?
        while found == nil, ContinuousClock.now < deadline, process.isRunning {
            found = output.text.withLock { text in
                text.range(of: "broker listening on http://127.0.0.1:").flatMap { range in
                    Int(text[range.upperBound...].prefix { $0.isNumber })
                }
            }
            if found == nil { try await Task.sleep(for: .milliseconds(20)) }  // polling a child's stdout
        }
        guard let found else {
            process.terminate()
            throw BrokerProcessError.didNotStart(output.text.withLock { $0 })
        }
        self.port = found
        if env["BROKER_DATABASE_URL"]?.hasPrefix("postgres") == true {
            // On PostgreSQL a node also needs its cluster channel before it takes joins: wait for /readyz.
            while try await HTTP(base: baseURL).send(.GET, "/readyz").status != 200 {
                guard ContinuousClock.now < deadline, process.isRunning else { break }
                try await Task.sleep(for: .milliseconds(50))  // polling a server's readiness
            }
        }
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Sends SIGTERM and waits for the exit status.
    func terminate() async throws -> Int32 {
        process.terminate()
        return try await waitForExit()
    }

    /// Sends a signal (SIGSTOP, SIGCONT) without waiting for anything.
    func signal(_ signal: Int32) {
        Foundation.kill(process.processIdentifier, signal)
    }

    /// Sends SIGKILL and waits.
    func kill() async throws {
        Foundation.kill(process.processIdentifier, SIGKILL)
        _ = try await waitForExit()
    }

    private func waitForExit() async throws -> Int32 {
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw BrokerProcessError.didNotExit }
            try await Task.sleep(for: .milliseconds(20))  // waiting for a child process to exit
        }
        return process.terminationStatus
    }

    func removeFiles() { try? FileManager.default.removeItem(at: workingDirectory) }

    /// The log written so far (started with `captureLog`).
    var log: String {
        (try? String(contentsOf: workingDirectory.appendingPathComponent("broker.log"), encoding: .utf8)) ?? ""
    }

    /// Runs a one-shot subcommand and returns its exit status and standard output.
    static func runCommand(
        _ arguments: [String],
        in directory: URL,
        environment: [String: String] = [:]
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BROKER_") }
            .merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// The child's standard output so far, appended from the pipe's handler thread.
final class OutputBuffer: Sendable {
    let text = Mutex<String>("")
}

enum BrokerProcessError: Error {
    case didNotStart(String)
    case didNotExit
}
