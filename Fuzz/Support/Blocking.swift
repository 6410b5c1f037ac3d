import Dispatch

/// Runs async work to completion from libFuzzer's synchronous callback: the input is done (and its
/// invariants checked) before the next one starts.
package func runBlocking<Value: Sendable>(_ body: @escaping @Sendable () async -> Value) -> Value {
    let box = ResultBox<Value>()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// Carries a result out of the task; the semaphore orders the write before the read.
private final class ResultBox<Value>: @unchecked Sendable {
    var value: Value?
}

/// Stops the fuzzer with a report when an invariant does not hold (a crash libFuzzer keeps the input of).
package func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant violated: \(message())") }
}
