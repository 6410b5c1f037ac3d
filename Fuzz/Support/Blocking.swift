import Dispatch
import Synchronization

/// Runs async work to completion from libFuzzer's synchronous callback: the input is done (and its
/// invariants checked) before the next one starts.
package func runBlocking<Value: Sendable>(_ body: @escaping @Sendable () async -> Value) -> Value {
    let result = Mutex<Value?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        let value = await body()
        result.withLock { $0 = value }
        done.signal()
    }
    done.wait()
    return result.withLock { $0! }
}

/// Stops the fuzzer with a report when an invariant does not hold (a crash libFuzzer keeps the input of).
package func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}
