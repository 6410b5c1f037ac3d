import Broker
import Testing

/// The sliding window of ``RestartIntensity``, with a manual clock and no I/O.
@Suite(.timeLimit(.minutes(1)))
struct RestartIntensityTests {
    @Test func allowsAtMostMaxRestartsWithinThePeriod() {
        let clock = TestClock()
        var intensity = RestartIntensity<TestClock>(maxRestarts: 3, period: .seconds(10))
        for _ in 0..<3 {
            #expect(intensity.recordRestart(at: clock.now) == .restart)
            clock.advance(by: .seconds(1))
        }
        #expect(intensity.recordRestart(at: clock.now) == .escalate)
        #expect(intensity.restartsInPeriod == 4)
    }

    @Test func forgetsRestartsOlderThanThePeriod() {
        let clock = TestClock()
        var intensity = RestartIntensity<TestClock>(maxRestarts: 1, period: .seconds(5))
        #expect(intensity.recordRestart(at: clock.now) == .restart)
        clock.advance(by: .seconds(6))
        #expect(intensity.recordRestart(at: clock.now) == .restart)
        #expect(intensity.restartsInPeriod == 1)
    }

    @Test func stillCountsARestartExactlyOnePeriodAgo() {
        let clock = TestClock()
        var intensity = RestartIntensity<TestClock>(maxRestarts: 1, period: .seconds(5))
        #expect(intensity.recordRestart(at: clock.now) == .restart)
        clock.advance(by: .seconds(5))
        #expect(intensity.recordRestart(at: clock.now) == .escalate)
    }

    @Test func slidesTheWindowInsteadOfResettingIt() {
        let clock = TestClock()
        var intensity = RestartIntensity<TestClock>(maxRestarts: 2, period: .seconds(10))
        #expect(intensity.recordRestart(at: clock.now) == .restart)  // t = 0
        clock.advance(by: .seconds(6))
        #expect(intensity.recordRestart(at: clock.now) == .restart)  // t = 6
        clock.advance(by: .seconds(5))
        #expect(intensity.recordRestart(at: clock.now) == .restart)  // t = 11: t = 0 has left
        #expect(intensity.restartsInPeriod == 2)
        clock.advance(by: .seconds(1))
        #expect(intensity.recordRestart(at: clock.now) == .escalate)  // t = 12: 6, 11 and 12
    }

    @Test func zeroIntensityEscalatesTheFirstRestart() {
        let clock = TestClock()
        var intensity = RestartIntensity<TestClock>(maxRestarts: 0, period: .seconds(5))
        #expect(intensity.recordRestart(at: clock.now) == .escalate)
    }

    @Test func keepsEscalatingWhileTheWindowIsFullAndRecoversAfterIt() {
        let clock = TestClock()
        var intensity = RestartIntensity<TestClock>(maxRestarts: 1, period: .seconds(5))
        #expect(intensity.recordRestart(at: clock.now) == .restart)
        for _ in 0..<10 {
            #expect(intensity.recordRestart(at: clock.now) == .escalate)
        }
        #expect(intensity.restartsInPeriod == 2)
        clock.advance(by: .seconds(6))
        #expect(intensity.recordRestart(at: clock.now) == .restart)
    }
}
