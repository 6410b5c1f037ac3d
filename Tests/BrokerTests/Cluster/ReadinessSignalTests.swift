import Testing

@testable import Broker

/// The listening flag a `room:chat` join waits for, instead of polling.
@Suite(.timeLimit(.minutes(1)))
struct ReadinessSignalTests {
    @Test func aWaitEndsWhenTheFlagIsSet() async {
        let signal = ReadinessSignal()
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await signal.wait(timeout: .seconds(30)) }
            signal.set(false)
            // The waiter may not be registered yet; setting the flag ends the wait either way.
            signal.set(true)
            #expect(await group.next() == true)
        }
        #expect(await signal.wait(timeout: .zero))
    }

    @Test func aWaitEndsOnItsTimeoutWhenTheFlagStaysClear() async {
        let signal = ReadinessSignal()
        #expect(await signal.wait(timeout: .milliseconds(20)) == false)
        #expect(!signal.isReady)
    }

    @Test func aCancelledWaitEnds() async {
        let signal = ReadinessSignal()
        let task = Task { await signal.wait(timeout: .seconds(30)) }
        task.cancel()
        #expect(await task.value == false)
    }
}
