import Testing

@testable import Broker
@testable import Store

/// A seeded generator (SplitMix64), so that jittered delays are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct MailRetryPolicyTests {
    @Test func theCeilingDoublesFromTheBaseUpToTheCap() {
        let policy = MailRetryPolicy(base: .seconds(1), cap: .seconds(600))
        #expect((1...11).map { policy.ceiling(afterFailedAttempts: $0) } == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600].map { .seconds($0) })
        #expect(policy.ceiling(afterFailedAttempts: 10_000) == .seconds(600), "no overflow after many attempts")
    }

    @Test func delaysAreJitteredBetweenHalfAndAllOfTheCeiling() {
        let policy = MailRetryPolicy(base: .seconds(1), cap: .seconds(600))
        var generator = SeededGenerator(state: 42)
        for attempts in 1...20 {
            let ceiling = policy.ceiling(afterFailedAttempts: attempts)
            let delays = (0..<50).map { _ in policy.delay(afterFailedAttempts: attempts, using: &generator) }
            #expect(delays.allSatisfy { $0 >= ceiling / 2 && $0 <= ceiling })
            #expect(Set(delays).count > 1, "jittered")
        }
    }

    @Test func aMailIsGivenUpOnWhenItsNextAttemptWouldBePastTheRetryPeriod() {
        let policy = MailRetryPolicy(base: .seconds(60), cap: .seconds(600), retryPeriod: .seconds(3_600))
        var generator = SeededGenerator(state: 7)
        let inserted = Timestamp(microseconds: 1_000_000_000_000)
        let early = policy.decision(afterFailedAttempts: 1, insertedAt: inserted, now: inserted, using: &generator)
        guard case .retry(let at) = early else {
            Issue.record("expected a retry, got \(early)")
            return
        }
        #expect(at >= inserted.advanced(by: .seconds(30)) && at <= inserted.advanced(by: .seconds(60)))
        let late = policy.decision(
            afterFailedAttempts: 12,
            insertedAt: inserted,
            now: inserted.advanced(by: .seconds(3_400)),
            using: &generator
        )
        #expect(late == .failed, "300...600 s later is past the hour")
    }
}
