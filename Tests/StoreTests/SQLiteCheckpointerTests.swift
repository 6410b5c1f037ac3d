import Foundation
import GRDB
import Testing

@testable import Store

/// The write-ahead log stays short under steady writes with reads in between (the soak found it at 3.5 GB after
/// six minutes when only passive checkpoints ran).
@Suite(.timeLimit(.minutes(2))) struct SQLiteCheckpointerTests {
    /// Commits `writes` rows of 2 KB one by one on the store's pool while a task reads all along, with a
    /// checkpointer that rewinds the log past `restartFrames` frames; returns the longest log file seen and
    /// the rewinds.
    private func drive(restartFrames: Int, writes: Int = 3_000) async throws -> (largestLog: Int, restarts: Int) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("checkpointer-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("broker.sqlite").path
        let pool = try SQLiteStore.openPool(path: path, sync: .normal)
        try await pool.write { db in try db.execute(sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)") }
        let checkpointer = try SQLiteCheckpointer(path: path, restartFrames: restartFrames)
        checkpointer.start()
        let reader = Task {
            while !Task.isCancelled {
                _ = try? await pool.read { db in try Int.fetchOne(db, sql: "SELECT max(id) FROM notes") }
            }
        }
        let body = String(repeating: "x", count: 2_000)
        var largest = 0
        for index in 0..<writes {
            try await pool.write { db in try db.execute(sql: "INSERT INTO notes (body) VALUES (?)", arguments: [body]) }
            if index % 50 == 0 {
                let size = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
                largest = max(largest, size ?? 0)
            }
        }
        reader.cancel()
        checkpointer.stop()
        try pool.close()
        return (largest, checkpointer.restarts)
    }

    @Test func theLogIsRewoundOnceLongUnderSteadyWritesAndReads() async throws {
        // 256 frames of 4 KiB: the log should never pass a few MiB (the rewind point plus 100 ms of writes).
        let (largest, restarts) = try await drive(restartFrames: 256)
        #expect(restarts > 0)
        #expect(largest < 8 << 20, "log file reached \(largest) bytes")
    }

    @Test func withPassiveCheckpointsAloneTheSameTrafficGrowsTheLog() async throws {
        // The control: the traffic above does starve passive checkpoints, so the bound above means something.
        let (largest, restarts) = try await drive(restartFrames: .max)
        #expect(restarts == 0)
        #expect(largest >= 8 << 20, "log file reached only \(largest) bytes")
    }
}
