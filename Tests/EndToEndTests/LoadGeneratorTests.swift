import Foundation
import Testing

/// `broker-load` against real brokers: a short pairs run must deliver every message exactly once, and sample the
/// servers it is given; with two URLs (two nodes of one service) each pair spans both nodes.
@Suite(.timeLimit(.minutes(3)))
struct LoadGeneratorTests {
    @Test func aPairsRunOnOneNodeDeliversEverythingAndSamplesTheServer() async throws {
        let directory = Self.folder("load")
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try BrokerProcess.runCommand(["seed-load", "--users", "40", "--out", "seed.json"], in: directory).status == 0)
        let broker = try await BrokerProcess(
            workingDirectory: directory,
            environment: ["BROKER_SEND_RATE": "1000", "BROKER_SEND_BURST": "1000"]
        )
        let pid = broker.process.processIdentifier
        let report = try Self.runLoad(
            [
                "--url", broker.baseURL, "--seed", "seed.json", "--mode", "pairs", "--rate", "200", "--duration", "2",
                "--json", "--server-pid", String(pid),
            ],
            in: directory
        )
        #expect(report.status == 0, "\(report.json)")
        let stage = try #require((report.json["stages"] as? [[String: Any]])?.first)
        #expect(stage["sent"] as? Int ?? 0 >= 300)
        #expect(stage["delivered"] as? Int == stage["sent"] as? Int)
        #expect(stage["lost"] as? Int == 0 && stage["duplicates"] as? Int == 0)
        let server = try #require(report.json["server"] as? [String: Any])
        #expect(server["pids"] as? [Int] == [Int(pid)])
        #expect((server["cpu_us_per_delivered_message"] as? Double ?? 0) > 0)
        #expect(try await broker.terminate() == 0)
    }

    @Test func aPairsRunOverTwoNodesDeliversEverythingAcrossThem() async throws {
        try await ClusterFixture.run { cluster in
            let directory = Self.folder("load-cluster")
            defer { try? FileManager.default.removeItem(at: directory) }
            let seeded = try BrokerProcess.runCommand(
                ["seed-load", "--users", "40", "--out", "seed.json"],
                in: directory,
                environment: ["BROKER_DATABASE_URL": cluster.databaseURL, "BROKER_JWT_SECRET": cluster.secret]
            )
            #expect(seeded.status == 0)
            let nodes = cluster.nodes.all
            let report = try Self.runLoad(
                [
                    "--url", nodes.map(\.baseURL).joined(separator: ","), "--seed", "seed.json", "--mode", "pairs",
                    "--rate", "100", "--duration", "2", "--json",
                ]
                    + nodes.flatMap { ["--server-pid", String($0.process.processIdentifier)] },
                in: directory
            )
            #expect(report.status == 0, "\(report.json)")
            let stage = try #require((report.json["stages"] as? [[String: Any]])?.first)
            #expect(stage["sent"] as? Int ?? 0 >= 150)
            #expect(stage["delivered"] as? Int == stage["sent"] as? Int)
            #expect(stage["lost"] as? Int == 0 && stage["duplicates"] as? Int == 0 && stage["misdelivered"] as? Int == 0)
            #expect((report.json["server"] as? [String: Any])?["pids"] as? [Int] == nodes.map { Int($0.process.processIdentifier) })
            // Both nodes held sockets (users with even ids on the first, odd on the second): 20 joins each.
            for node in nodes {
                let metrics = String(decoding: try await HTTP(base: node.baseURL).send(.GET, "/metrics").body, as: UTF8.self)
                let joins = metrics.split(separator: "\n").first { $0.hasPrefix("broker_joins_total ") }
                    .flatMap { Double($0.split(separator: " ").last ?? "") }
                #expect(joins == 20, "node \(node.baseURL)")
            }
        }
    }

    private static func folder(_ prefix: String) -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Runs `broker-load` (beside `broker`) with its output in a file, polling for its exit (it must not outlive
    /// the test), and decodes its `--json` line.
    private static func runLoad(_ arguments: [String], in directory: URL) throws -> (status: Int32, json: [String: Any]) {
        let process = Process()
        process.executableURL = BrokerProcess.executable.deletingLastPathComponent().appendingPathComponent("broker-load")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let outputFile = directory.appendingPathComponent("load.out")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputFile)
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(90)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning {
            process.terminate()
            throw BrokerProcessError.didNotExit
        }
        let text = try String(contentsOf: outputFile, encoding: .utf8)
        let line = text.split(separator: "\n").last.map(String.init) ?? ""
        let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        return (process.terminationStatus, json)
    }
}
