import Synchronization

#if BROKER_TSAN
import Foundation

/// The lock of every lock-guarded value in Store, Broker and Gateway.
///
/// Normally the standard library's `Mutex`. Under ThreadSanitizer (`BROKER_TSAN=1`, see `scripts/test`) it is
/// a `pthread_mutex_t`-based lock instead: on Linux `Mutex` waits on a futex, which ThreadSanitizer cannot
/// see, so it would report every access guarded by one as a race. Hand-written because no listed package has
/// a lock with `Mutex`'s API (`NIOLockedValueBox` has another).
package final class Locked<Value: ~Copyable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    /// Guards `value`.
    package init(_ value: consuming sending Value) {
        self.value = value
    }

    /// Runs `body` with the value, holding the lock.
    package func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
#else
/// The lock of every lock-guarded value in Store, Broker and Gateway: the standard library's `Mutex` (under
/// ThreadSanitizer, a lock it can see; see the `BROKER_TSAN` branch of this file).
package typealias Locked<Value: ~Copyable> = Synchronization.Mutex<Value>
#endif
