import Synchronization

/// Holds every store operation back until ``PostgresStore/run()`` has brought the schema up to date, and
/// refuses them once the store stopped.
///
/// `makeStore` must return without touching the network, and the migrations need the client's `run()`, so
/// they run at the start of the store's `run()`; an HTTP request served meanwhile (the server starts
/// alongside the store) waits here instead of failing on a missing table. Once open, passing costs one
/// uncontended lock.
final class SchemaGate: Sendable {
    /// Where the gate stands.
    private enum State {
        /// Migrations have not finished; these callers wait.
        case pending([CheckedContinuation<Void, any Error>])
        /// The schema is up to date.
        case open
        /// The store stopped, or its migrations failed: every caller gets this error.
        case closed(StoreError)
    }

    /// The gate's state, behind an uncontended lock.
    private let state = Mutex<State>(.pending([]))

    /// Creates a gate that holds callers back until ``open()``.
    init() {}

    /// Returns once the schema is up to date.
    /// - Throws: the error the gate was closed with.
    func wait() async throws {
        let passed: Result<Void, StoreError>? = state.withLock { state in
            switch state {
            case .open: .success(())
            case .closed(let error): .failure(error)
            case .pending: nil
            }
        }
        if let passed { return try passed.get() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let passed: Result<Void, StoreError>? = state.withLock { state in
                switch state {
                case .open:
                    return .success(())
                case .closed(let error):
                    return .failure(error)
                case .pending(var waiting):
                    waiting.append(continuation)
                    state = .pending(waiting)
                    return nil
                }
            }
            if let passed { continuation.resume(with: passed) }
        }
    }

    /// Lets every caller through, waiting ones first.
    func open() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard case .pending(let waiting) = state else { return [] }
            state = .open
            return waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Refuses every caller from now on with `error`, waiting ones included.
    func close(with error: StoreError) {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            let waiting: [CheckedContinuation<Void, any Error>]
            if case .pending(let list) = state { waiting = list } else { waiting = [] }
            state = .closed(error)
            return waiting
        }
        for continuation in waiting { continuation.resume(throwing: error) }
    }
}
