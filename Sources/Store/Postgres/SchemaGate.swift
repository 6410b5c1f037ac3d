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
        /// Migrations have not finished; these callers wait, by ticket.
        case pending(waiting: [UInt64: CheckedContinuation<Void, any Error>], nextTicket: UInt64)
        /// The schema is up to date.
        case open
        /// The store stopped, or its migrations failed: every caller gets this error.
        case closed(StoreError)
    }

    /// The gate's state, behind an uncontended lock.
    private let state = Locked<State>(.pending(waiting: [:], nextTicket: 0))

    /// Creates a gate that holds callers back until ``open()``.
    init() {}

    /// Returns once the schema is up to date.
    /// - Throws: the error the gate was closed with, or ``StoreError/unavailable`` when the caller is
    ///   cancelled while waiting.
    func wait() async throws {
        let passed: Result<Void, StoreError>? = state.withLock { state in
            switch state {
            case .open: .success(())
            case .closed(let error): .failure(error)
            case .pending: nil
            }
        }
        if let passed { return try passed.get() }
        let ticket = state.withLock { state -> UInt64? in
            guard case .pending(let waiting, let next) = state else { return nil }
            state = .pending(waiting: waiting, nextTicket: next + 1)
            return next
        }
        guard let ticket else { return try await wait() }  // opened or closed meanwhile
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let passed: Result<Void, StoreError>? = state.withLock { state in
                    switch state {
                    case .open:
                        return .success(())
                    case .closed(let error):
                        return .failure(error)
                    case .pending(var waiting, let next):
                        if Task.isCancelled { return .failure(.unavailable) }
                        waiting[ticket] = continuation
                        state = .pending(waiting: waiting, nextTicket: next)
                        return nil
                    }
                }
                if let passed { continuation.resume(with: passed) }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard case .pending(var waiting, let next) = state else { return nil }
                let continuation = waiting.removeValue(forKey: ticket)
                state = .pending(waiting: waiting, nextTicket: next)
                return continuation
            }
            cancelled?.resume(throwing: StoreError.unavailable)
        }
    }

    /// Lets every caller through, waiting ones first.
    func open() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard case .pending(let waiting, _) = state else { return [] }
            state = .open
            return Array(waiting.values)
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Refuses every caller from now on with `error`, waiting ones included.
    func close(with error: StoreError) {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            let waiting: [CheckedContinuation<Void, any Error>]
            if case .pending(let list, _) = state { waiting = Array(list.values) } else { waiting = [] }
            state = .closed(error)
            return waiting
        }
        for continuation in waiting { continuation.resume(throwing: error) }
    }
}
