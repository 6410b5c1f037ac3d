import Foundation
import Testing

@testable import Store

/// An indicative measure of one message batch's commit on PostgreSQL, straight through
/// ``PostgresStore/commitMessages(_:origin:in:)`` (no writer, so no commit window): the mean and percentiles
/// of `STORE_BENCH_BATCHES` sequential batches of one draft, then of 32 drafts (each batch must answer every
/// draft). The test command runs a short version (50 batches) as a check; measure with more:
///
///     STORE_BENCH_BATCHES=2000 swift test --skip-build --filter PostgresCommitLatencyTests
struct PostgresCommitLatencyTests {
    /// How many batches each size runs.
    private static let batches = Int(ProcessInfo.processInfo.environment["STORE_BENCH_BATCHES"] ?? "") ?? 50

    @Test func commitLatencyPerBatch() async throws {
        try await StoreFixture.with(.postgres) { fixture in
            let store = try #require(try fixture.open() as? PostgresStore)
            try await StoreFixture.running(store) { _ in
                let (a, _, conversation) = try await pair(in: store)
                for size in [1, 32] {
                    var samples: [Duration] = []
                    samples.reserveCapacity(Self.batches)
                    let clock = ContinuousClock()
                    for batch in 0..<Self.batches {
                        let drafts = (0..<size).map { index in
                            draft(conversation.id, from: a.id, "bench \(batch).\(index)", clientID: "b\(size)-\(batch)-\(index)")
                        }
                        let started = clock.now
                        let results = try await PostgresStore.commitMessages(drafts, origin: "bench", in: store.pool)
                        samples.append(clock.now - started)
                        #expect(results.count == size)
                    }
                    samples.sort()
                    let total = samples.reduce(Duration.zero, +)
                    func micros(_ duration: Duration) -> Int {
                        Int(duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000)
                    }
                    print(
                        "commitMessages, \(size) draft(s) per batch, \(Self.batches) batches: mean \(micros(total / Self.batches)) µs, "
                            + "p50 \(micros(samples[samples.count / 2])) µs, p99 \(micros(samples[samples.count * 99 / 100])) µs"
                    )
                }
            }
        }
    }
}
